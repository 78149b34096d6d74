//! `metadata-service`: a token from a local Databricks metadata service (the one the Databricks
//! extension for VS Code runs), at `DATABRICKS_METADATA_SERVICE_URL`.
//!
//! `GET {url}` with `X-Databricks-Metadata-Version: 1` and `X-Databricks-Host: {host}` answers
//! `{access_token, token_type, expires_on}` (`expires_on`: Unix seconds). The URL must be
//! `https`, or `http` on a loopback host: the token is never sent anywhere else in clear text.

use std::sync::Arc;
use std::time::Duration;

use super::token_source::{Refreshing, Token, TokenSource, auth_error, http_client, instant_of_unix, number, send};
use super::workload::{Context, Method, WorkloadCredentials};
use super::{BoxFuture, CredentialsProvider};
use crate::error::Error;
use crate::secret::Secret;

/// The metadata service's protocol version.
pub const VERSION: &str = "1";

struct MetadataService {
    url: url::Url,
    host: String,
    http: reqwest::Client,
}

impl TokenSource for MetadataService {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let what = "the metadata service token request";
            let request = self
                .http
                .get(self.url.clone())
                .header("X-Databricks-Metadata-Version", VERSION)
                .header("X-Databricks-Host", &self.host);
            let body = send(request, what).await?;
            let json: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|_| auth_error("the metadata service answer is not JSON", None))?;
            let field = |k: &str| json.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
            let access =
                field("access_token").ok_or_else(|| auth_error("the metadata service returned no token", None))?;
            let token_type =
                field("token_type").ok_or_else(|| auth_error("the metadata service returned no token type", None))?;
            let expires_on = json
                .get("expires_on")
                .and_then(number)
                .ok_or_else(|| auth_error("the metadata service returned an invalid expiry", None))?;
            Ok(Token {
                access_token: Secret::from(access),
                token_type: token_type.to_owned(),
                expires_at: Some(instant_of_unix(expires_on)),
            })
        })
    }
}

/// The URL, checked: `https`, or `http` on loopback.
fn checked_url(raw: &str) -> Result<url::Url, Error> {
    let url = url::Url::parse(raw).map_err(|e| Error::Config(format!("metadata_service_url is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(Error::Config(
            "metadata_service_url must be https, or http on a loopback host (the token would travel in clear text)"
                .to_owned(),
        )),
    }
}

fn build(ctx: &Context) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let raw = ctx.setting("metadata_service_url").ok_or_else(|| {
        Error::Config(
            "auth_type metadata-service needs metadata_service_url (DATABRICKS_METADATA_SERVICE_URL)".to_owned(),
        )
    })?;
    let source = MetadataService {
        url: checked_url(&raw)?,
        host: ctx.host.clone(),
        http: http_client(ctx.timeout.min(Duration::from_secs(10)))?,
    };
    Ok(Arc::new(WorkloadCredentials::new(
        "metadata-service",
        Refreshing::new(source),
    )))
}

/// `metadata-service`.
pub(crate) const METHOD: Method = Method {
    name: "metadata-service",
    needs: "metadata_service_url (DATABRICKS_METADATA_SERVICE_URL)",
    configured: |ctx| ctx.setting("metadata_service_url").is_some(),
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::workload::test_context;
    use crate::config::MapEnv;
    use httpmock::prelude::*;

    #[tokio::test]
    async fn sends_the_version_and_host_headers_and_refreshes_before_expiry() {
        let server = MockServer::start_async().await;
        let soon = chrono::Utc::now().timestamp() + 30; // inside the 40 s leeway
        let mock = server.mock(|when, then| {
            when.method(GET)
                .path("/metadata/token")
                .header("X-Databricks-Metadata-Version", "1")
                .header("X-Databricks-Host", "https://ws.example.com");
            then.status(200)
                .json_body(serde_json::json!({"access_token": "md-tok", "token_type": "Bearer", "expires_on": soon}));
        });
        let url = server.url("/metadata/token");
        let ctx = test_context(
            "https://ws.example.com",
            None,
            &[("metadata_service_url", &url)],
            MapEnv::new(),
        );
        assert!((METHOD.configured)(&ctx));
        let creds = build(&ctx).unwrap();
        assert_eq!(creds.auth_type(), "metadata-service");
        assert_eq!(creds.authorization().await.unwrap().to_str().unwrap(), "Bearer md-tok");
        creds.authorization().await.unwrap();
        mock.assert_calls(2);
        assert!(!format!("{creds:?}").contains("md-tok"));
    }

    #[test]
    fn refuses_clear_text_off_loopback() {
        assert!(checked_url("http://127.0.0.1:9/x").is_ok());
        assert!(checked_url("http://localhost:9/x").is_ok());
        assert!(checked_url("https://md.example.com/x").is_ok());
        let e = checked_url("http://md.example.com/x").unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        assert!(checked_url("http://169.254.169.254/x").is_err());
    }
}
