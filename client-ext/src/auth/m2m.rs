//! OAuth machine-to-machine (client credentials) authentication for service principals.
//!
//! 1. Discovery: `GET {host}/oidc/.well-known/oauth-authorization-server` (or the configured
//!    discovery URL) gives `token_endpoint`.
//! 2. `POST {token_endpoint}` with HTTP Basic `client_id:client_secret` and the form
//!    `grant_type=client_credentials&scope=all-apis` gives `{access_token, token_type,
//!    expires_in}`; the header is `{token_type} {access_token}`.
//!
//! The token is held by a [`RefreshingToken`]: refreshed ahead of expiry, 40 s before it at
//! the latest (like the official SDKs), one request however many callers wait. Failures
//! become [`Error::Auth`] with the server's status and message, never the secret.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::chain::missing;
use super::oidc::{self, ClientAuth, OidcEndpoints};
use super::{
    AuthConfig, AuthType, BoxFuture, Configured, CredentialsProvider, CredentialsStrategy, RefreshingToken, Token,
    TokenSource,
};
use crate::error::Error;
use crate::secret::Secret;

/// OAuth M2M credentials of a service principal.
pub struct OAuthM2mCredentials {
    holder: RefreshingToken<ClientCredentials>,
}

struct ClientCredentials {
    discovery_url: String,
    client_id: String,
    client_secret: Secret,
    scopes: String,
    http: reqwest::Client,
    endpoints: tokio::sync::OnceCell<OidcEndpoints>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthM2mCredentials")
            .field("discovery_url", &self.discovery_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OAuthM2mCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.holder.source().fmt(f)
    }
}

impl TokenSource for ClientCredentials {
    fn fetch<'a>(&'a self, _current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let endpoints = self
                .endpoints
                .get_or_try_init(|| oidc::discover(&self.http, &self.discovery_url))
                .await?;
            oidc::request_token(
                &self.http,
                &endpoints.token_endpoint,
                ClientAuth::Basic(&self.client_id, &self.client_secret),
                &[("grant_type", "client_credentials"), ("scope", &self.scopes)],
            )
            .await
            .map_err(|e| e.error)
        })
    }
}

impl OAuthM2mCredentials {
    /// Credentials for `host` (normalised, e.g. `https://x.cloud.databricks.com`); the
    /// discovery URL defaults to `{host}/oidc/.well-known/oauth-authorization-server`.
    pub fn new(
        host: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
        discovery_url: Option<String>,
        timeout: Duration,
    ) -> Result<Self, Error> {
        Self::with_scopes(
            host,
            client_id,
            client_secret,
            discovery_url,
            timeout,
            &["all-apis".to_owned()],
        )
    }

    /// Like [`new`](Self::new), asking for `scopes` (space separated on the wire).
    pub fn with_scopes(
        host: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
        discovery_url: Option<String>,
        timeout: Duration,
        scopes: &[String],
    ) -> Result<Self, Error> {
        Ok(Self {
            holder: RefreshingToken::new(ClientCredentials {
                discovery_url: discovery_url.unwrap_or_else(|| oidc::discovery_url(host)),
                client_id: client_id.into(),
                client_secret,
                scopes: scopes.join(" "),
                http: oidc::http_client(timeout)?,
                endpoints: tokio::sync::OnceCell::new(),
            }),
        })
    }
}

impl CredentialsProvider for OAuthM2mCredentials {
    fn auth_type(&self) -> &'static str {
        "oauth-m2m"
    }

    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>> {
        Box::pin(self.holder.header())
    }

    fn client_id(&self) -> Option<&str> {
        Some(&self.holder.source().client_id)
    }

    fn token(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(self.holder.token())
    }
}

/// The `oauth-m2m` strategy: applies when `host`, `client_id` and `client_secret` are set.
#[derive(Clone, Copy, Debug, Default)]
pub struct OAuthM2mStrategy;

impl CredentialsStrategy for OAuthM2mStrategy {
    fn auth_type(&self) -> AuthType {
        AuthType::OAuthM2m
    }

    fn configure(&self, config: &AuthConfig) -> Result<Configured, Error> {
        if let Some(why) = missing(&["client_id", "client_secret"], config) {
            return Ok(Configured::Skipped(why));
        }
        let s = &config.settings;
        let (Some(id), Some(secret)) = (s.get("client_id"), s.secret("client_secret")) else {
            return Ok(Configured::Skipped("no client_id".to_owned()));
        };
        Ok(Configured::Provider(Arc::new(OAuthM2mCredentials::with_scopes(
            &config.host,
            id,
            secret,
            s.get("discovery_url").map(str::to_owned),
            config.timeout,
            &s.scopes(),
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthError;
    use httpmock::prelude::*;
    use std::sync::Arc;

    const SECRET: &str = "s3cr3t-value";
    // base64("client-1:s3cr3t-value")
    const BASIC: &str = "Basic Y2xpZW50LTE6czNjcjN0LXZhbHVl";

    fn creds(server: &MockServer) -> OAuthM2mCredentials {
        OAuthM2mCredentials::new(
            &server.base_url(),
            "client-1",
            Secret::from(SECRET),
            None,
            Duration::from_secs(5),
        )
        .unwrap()
    }

    fn discovery(server: &MockServer) -> httpmock::Mock<'_> {
        let token_url = server.url("/oidc/v1/token");
        server.mock(|when, then| {
            when.method(GET).path("/oidc/.well-known/oauth-authorization-server");
            then.status(200).json_body(serde_json::json!({
                "issuer": "x", "token_endpoint": token_url
            }));
        })
    }

    fn token(server: &MockServer, expires_in: u64) -> httpmock::Mock<'_> {
        server.mock(|when, then| {
            when.method(POST)
                .path("/oidc/v1/token")
                .header("authorization", BASIC)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&scope=all-apis");
            then.status(200).json_body(serde_json::json!({
                "access_token": "tok-abc", "token_type": "Bearer", "expires_in": expires_in
            }));
        })
    }

    #[tokio::test]
    async fn discovers_fetches_and_caches() {
        let server = MockServer::start_async().await;
        let disc = discovery(&server);
        let tok = token(&server, 3600);
        let c = creds(&server);
        assert_eq!(c.auth_type(), "oauth-m2m");
        let h = c.authorization().await.unwrap();
        assert_eq!(h.to_str().unwrap(), "Bearer tok-abc");
        assert!(h.is_sensitive());
        // within the lifetime: no new request
        c.authorization().await.unwrap();
        disc.assert_calls(1);
        tok.assert_calls(1);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(SECRET) && !dbg.contains("tok-abc"), "{dbg}");
    }

    #[tokio::test]
    async fn refreshes_when_expiring() {
        let server = MockServer::start_async().await;
        let disc = discovery(&server);
        // 30 s < the 40 s leeway: stale at once, every call refreshes (discovery is cached).
        let tok = token(&server, 30);
        let c = creds(&server);
        c.authorization().await.unwrap();
        c.authorization().await.unwrap();
        tok.assert_calls(2);
        disc.assert_calls(1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_refresh() {
        let server = MockServer::start_async().await;
        discovery(&server);
        let tok = token(&server, 3600);
        let c = Arc::new(creds(&server));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.authorization().await.map(|h| h.to_str().map(str::to_owned)) })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().unwrap(), "Bearer tok-abc");
        }
        tok.assert_calls(1);
    }

    #[tokio::test]
    async fn token_errors_carry_status_not_secret() {
        let server = MockServer::start_async().await;
        discovery(&server);
        server.mock(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(401).json_body(serde_json::json!({
                "error": "invalid_client", "error_description": "Client authentication failed"
            }));
        });
        let e = creds(&server).authorization().await.unwrap_err();
        assert_eq!(e.status(), Some(401));
        assert!(e.is_unauthenticated());
        let msg = e.to_string();
        assert!(msg.contains("invalid_client: Client authentication failed"), "{msg}");
        assert!(!msg.contains(SECRET) && !format!("{e:?}").contains(SECRET));
    }

    #[tokio::test]
    async fn discovery_errors_and_explicit_url() {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(GET).path("/oidc/.well-known/oauth-authorization-server");
            then.status(404).body("");
        });
        let e = creds(&server).authorization().await.unwrap_err();
        assert!(matches!(&e, Error::Auth(AuthError { status: Some(404), .. })), "{e}");

        let custom = server.mock(|when, then| {
            when.method(GET).path("/custom/discovery");
            then.status(200).json_body(serde_json::json!({"issuer": "x"}));
        });
        let c = OAuthM2mCredentials::new(
            &server.base_url(),
            "client-1",
            Secret::from(SECRET),
            Some(server.url("/custom/discovery")),
            Duration::from_secs(5),
        )
        .unwrap();
        let e = c.authorization().await.unwrap_err();
        assert!(e.to_string().contains("no token_endpoint"), "{e}");
        custom.assert_calls(1);
    }

    #[tokio::test]
    async fn malformed_token_response_does_not_echo_body() {
        let server = MockServer::start_async().await;
        discovery(&server);
        server.mock(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(200).body("{\"access_token\": \"leaky-token\", ");
        });
        let e = creds(&server).authorization().await.unwrap_err();
        assert!(!e.to_string().contains("leaky-token"));
        assert!(matches!(e, Error::Auth(_)));
    }
}
