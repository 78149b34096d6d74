//! Google Cloud logins: a Google ID token for the workspace URL (the audience), plus a Google
//! access token in `X-Databricks-GCP-SA-Access-Token` (only needed by some account-level calls:
//! a failure to get it drops the header, as the official SDKs do).
//!
//! | `auth_type` | needs | tokens |
//! |---|---|---|
//! | `google-credentials` | `google_credentials` (`GOOGLE_CREDENTIALS`): a service account key, JSON or a file | a JWT signed with the key (RS256) exchanged at the key's `token_uri` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`: with `target_audience={host}` for the ID token, with the cloud-platform and compute `scope` for the access token |
//! | `google-id` | `google_service_account` (`DATABRICKS_GOOGLE_SERVICE_ACCOUNT`) and application default credentials | impersonation: `POST {iam}/v1/projects/-/serviceAccounts/{sa}:generateIdToken` (`{"audience": host, "includeEmail": true}`) and `:generateAccessToken` with the caller's Google token |
//!
//! Application default credentials (`google-id`'s caller): the key file `GOOGLE_APPLICATION_CREDENTIALS`
//! (service account or authorized user), else the metadata server
//! (`http://{GCE_METADATA_HOST or metadata.google.internal}/computeMetadata/v1/instance/service-accounts/default/token`,
//! `Metadata-Flavor: Google`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::token_source::{
    Refreshing, Token, TokenSource, auth_error, http_client, instant_of_unix, parse_token, send,
};
use super::workload::{Context, Extra, Method, WorkloadCredentials};
use super::{BoxFuture, CredentialsProvider};
use crate::error::Error;
use crate::secret::Secret;

/// The scopes of the service account access token.
pub const GCP_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/compute",
];
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const SA_TOKEN_HEADER: &str = "x-databricks-gcp-sa-access-token";

/// The fields of a Google credentials file this crate uses.
#[derive(Clone, Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

/// A service account key, ready to sign.
#[derive(Clone)]
struct ServiceAccount {
    email: String,
    key: Arc<jsonwebtoken::EncodingKey>,
    key_id: Option<String>,
    token_uri: String,
}

impl ServiceAccount {
    fn from_key_file(k: &KeyFile) -> Result<Self, Error> {
        let email = k
            .client_email
            .clone()
            .ok_or_else(|| Error::Config("the Google service account key has no client_email".to_owned()))?;
        let pem = k
            .private_key
            .as_deref()
            .ok_or_else(|| Error::Config("the Google service account key has no private_key".to_owned()))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
            Error::Config("the private_key of the Google service account key is not an RSA PEM key".to_owned())
        })?;
        Ok(Self {
            email,
            key: Arc::new(key),
            key_id: k.private_key_id.clone(),
            token_uri: k.token_uri.clone().unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
        })
    }

    /// A signed grant assertion with `extra` claims (`target_audience` or `scope`).
    fn assertion(&self, extra: serde_json::Value) -> Result<String, Error> {
        let now = chrono::Utc::now().timestamp();
        let mut claims = serde_json::json!({"iss": self.email, "aud": self.token_uri, "iat": now, "exp": now + 3600});
        if let (Some(c), serde_json::Value::Object(e)) = (claims.as_object_mut(), extra) {
            c.extend(e);
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|_| {
            auth_error(
                "cannot sign the Google grant assertion with the service account key",
                None,
            )
        })
    }
}

/// What a service account key grant asks for.
enum Grant {
    /// An ID token for this audience.
    IdToken(String),
    /// An access token with [`GCP_SCOPES`].
    AccessToken,
}

struct KeyGrant {
    http: reqwest::Client,
    account: ServiceAccount,
    grant: Grant,
}

/// `exp` of a JWT (not verified: only to know when to refresh our own token).
fn jwt_expiry(jwt: &str) -> Option<Instant> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_f64().map(instant_of_unix)
}

impl TokenSource for KeyGrant {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let extra = match &self.grant {
                Grant::IdToken(aud) => serde_json::json!({"target_audience": aud}),
                Grant::AccessToken => serde_json::json!({"scope": GCP_SCOPES.join(" ")}),
            };
            let assertion = self.account.assertion(extra)?;
            let what = "the Google token request";
            let requested_at = Instant::now();
            let body = send(
                self.http
                    .post(&self.account.token_uri)
                    .header("Accept", "application/json")
                    .form(&[("grant_type", JWT_BEARER), ("assertion", assertion.as_str())]),
                what,
            )
            .await?;
            match &self.grant {
                Grant::AccessToken => parse_token(&body, requested_at, what),
                Grant::IdToken(_) => id_token_answer(&body, "id_token", requested_at),
            }
        })
    }
}

/// A token answer holding an ID token in `field`; it expires at its `exp` (else in 1 h).
fn id_token_answer(body: &[u8], field: &str, requested_at: Instant) -> Result<Token, Error> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| auth_error("the Google ID token answer is not JSON", None))?;
    let jwt = json
        .get(field)
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| auth_error(format!("the Google answer has no {field}"), None))?;
    Ok(Token {
        access_token: Secret::from(jwt),
        token_type: "Bearer".to_owned(),
        expires_at: Some(jwt_expiry(jwt).unwrap_or(requested_at + Duration::from_secs(3600))),
    })
}

fn read_key_file(value: &str) -> Result<KeyFile, Error> {
    let path = std::path::Path::new(value);
    let text = if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read the Google credentials file {}: {e}",
                path.display()
            ))
        })?
    } else {
        value.to_owned()
    };
    serde_json::from_str(&text).map_err(|_| {
        Error::Config(
            "google_credentials is neither a readable file nor the JSON of a Google credentials key".to_owned(),
        )
    })
}

fn credentials(ctx: &Context) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let value = ctx.setting("google_credentials").ok_or_else(|| {
        Error::Config("auth_type google-credentials needs google_credentials (GOOGLE_CREDENTIALS)".to_owned())
    })?;
    let account = ServiceAccount::from_key_file(&read_key_file(&value)?)?;
    let http = http_client(ctx.timeout)?;
    let id = KeyGrant {
        http: http.clone(),
        account: account.clone(),
        grant: Grant::IdToken(ctx.host.to_owned()),
    };
    let access = KeyGrant {
        http,
        account,
        grant: Grant::AccessToken,
    };
    Ok(Arc::new(
        WorkloadCredentials::new("google-credentials", Refreshing::new(id)).with_extra(Extra::Token {
            name: http::HeaderName::from_static(SA_TOKEN_HEADER),
            token: Refreshing::new(access),
            optional: true,
        }),
    ))
}

/// `google-credentials`.
pub(crate) const CREDENTIALS: Method = Method {
    name: "google-credentials",
    needs: "google_credentials (GOOGLE_CREDENTIALS)",
    configured: |ctx| ctx.setting("google_credentials").is_some(),
    build: credentials,
};

/// The caller's own Google access token (application default credentials).
enum Adc {
    ServiceAccount(KeyGrant),
    AuthorizedUser {
        http: reqwest::Client,
        token_uri: String,
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
    Metadata {
        http: reqwest::Client,
        url: String,
    },
}

impl TokenSource for Adc {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            match self {
                Adc::ServiceAccount(grant) => grant.fetch().await,
                Adc::AuthorizedUser {
                    http,
                    token_uri,
                    client_id,
                    client_secret,
                    refresh_token,
                } => {
                    let form = [
                        ("grant_type", "refresh_token"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", client_secret.expose()),
                        ("refresh_token", refresh_token.expose()),
                    ];
                    super::token_source::post_form(http, token_uri, &form, "the Google refresh token grant").await
                }
                Adc::Metadata { http, url } => {
                    let requested_at = Instant::now();
                    let what = "the Google metadata server token request";
                    let body = send(http.get(url).header("Metadata-Flavor", "Google"), what).await?;
                    parse_token(&body, requested_at, what)
                }
            }
        })
    }
}

fn application_default(ctx: &Context, http: &reqwest::Client) -> Result<Adc, Error> {
    if let Some(path) = ctx.var("GOOGLE_APPLICATION_CREDENTIALS") {
        let k = read_key_file(&path)?;
        return match k.kind.as_deref() {
            Some("authorized_user") => Ok(Adc::AuthorizedUser {
                http: http.clone(),
                token_uri: k.token_uri.clone().unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
                client_id: k.client_id.clone().unwrap_or_default(),
                client_secret: Secret::from(k.client_secret.clone().unwrap_or_default()),
                refresh_token: Secret::from(k.refresh_token.clone().unwrap_or_default()),
            }),
            _ => Ok(Adc::ServiceAccount(KeyGrant {
                http: http.clone(),
                account: ServiceAccount::from_key_file(&k)?,
                grant: Grant::AccessToken,
            })),
        };
    }
    let host = ctx
        .var("GCE_METADATA_HOST")
        .unwrap_or_else(|| "metadata.google.internal".to_owned());
    Ok(Adc::Metadata {
        http: http.clone(),
        url: format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token"),
    })
}

/// Impersonation of a service account through the IAM credentials API.
struct Impersonated {
    http: reqwest::Client,
    caller: Arc<Refreshing>,
    url: String,
    body: serde_json::Value,
    id_token: bool,
}

impl TokenSource for Impersonated {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let caller = self.caller.token().await?;
            let requested_at = Instant::now();
            let what = "the Google service account impersonation";
            let body = send(
                self.http
                    .post(&self.url)
                    .header(
                        http::header::AUTHORIZATION,
                        format!("Bearer {}", caller.access_token.expose()),
                    )
                    .json(&self.body),
                what,
            )
            .await?;
            if self.id_token {
                return id_token_answer(&body, "token", requested_at);
            }
            let json: serde_json::Value =
                serde_json::from_slice(&body).map_err(|_| auth_error("the impersonation answer is not JSON", None))?;
            let access = json
                .get("accessToken")
                .and_then(|v| v.as_str())
                .ok_or_else(|| auth_error("the impersonation answer has no accessToken", None))?;
            let expires_at = json
                .get("expireTime")
                .and_then(|v| v.as_str())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| instant_of_unix(t.timestamp() as f64));
            Ok(Token {
                access_token: Secret::from(access),
                token_type: "Bearer".to_owned(),
                expires_at,
            })
        })
    }
}

fn id(ctx: &Context) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let sa = ctx.setting("google_service_account").ok_or_else(|| {
        Error::Config("auth_type google-id needs google_service_account (DATABRICKS_GOOGLE_SERVICE_ACCOUNT)".to_owned())
    })?;
    let http = http_client(ctx.timeout)?;
    let caller = Arc::new(Refreshing::new(application_default(ctx, &http)?));
    let iam = ctx
        .setting("google_iam_endpoint")
        .unwrap_or_else(|| "https://iamcredentials.googleapis.com".to_owned());
    let base = format!("{}/v1/projects/-/serviceAccounts/{sa}", iam.trim_end_matches('/'));
    let id = Impersonated {
        http: http.clone(),
        caller: caller.clone(),
        url: format!("{base}:generateIdToken"),
        body: serde_json::json!({"audience": ctx.host, "includeEmail": true}),
        id_token: true,
    };
    let access = Impersonated {
        http,
        caller,
        url: format!("{base}:generateAccessToken"),
        body: serde_json::json!({"scope": GCP_SCOPES, "lifetime": "3600s"}),
        id_token: false,
    };
    Ok(Arc::new(
        WorkloadCredentials::new("google-id", Refreshing::new(id)).with_extra(Extra::Token {
            name: http::HeaderName::from_static(SA_TOKEN_HEADER),
            token: Refreshing::new(access),
            optional: true,
        }),
    ))
}

/// `google-id`.
pub(crate) const ID: Method = Method {
    name: "google-id",
    needs: "google_service_account (DATABRICKS_GOOGLE_SERVICE_ACCOUNT)",
    configured: |ctx| ctx.setting("google_service_account").is_some(),
    build: id,
};

#[cfg(test)]
mod tests;
