//! OAuth machine-to-machine (client credentials) authentication for service principals.
//!
//! 1. Discovery: `GET {host}/oidc/.well-known/oauth-authorization-server` (or the configured
//!    discovery URL) gives `token_endpoint`.
//! 2. `POST {token_endpoint}` with HTTP Basic `client_id:client_secret` and the form
//!    `grant_type=client_credentials&scope=all-apis` gives `{access_token, token_type,
//!    expires_in}`; the header is `{token_type} {access_token}`.
//!
//! The token is cached and refreshed 40 s before it expires (like the official SDKs); concurrent
//! callers share one refresh (a `tokio` mutex is held while refreshing). Failures become
//! [`Error::Auth`] with the server's status and message, never the secret.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, CredentialsProvider, sensitive_header};
use crate::error::{AuthError, Error};
use crate::secret::Secret;

/// Tokens are treated as expired this long before their actual expiry.
const EXPIRY_LEEWAY: Duration = Duration::from_secs(40);

/// OAuth M2M credentials of a service principal.
pub struct OAuthM2mCredentials {
    discovery_url: String,
    client_id: String,
    client_secret: Secret,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    token_endpoint: Option<String>,
    token: Option<CachedToken>,
}

struct CachedToken {
    header: http::HeaderValue,
    /// `None`: the server gave no lifetime; valid until a request fails.
    expires_at: Option<Instant>,
}

impl CachedToken {
    fn is_fresh(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now + EXPIRY_LEEWAY < at)
    }
}

impl fmt::Debug for OAuthM2mCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthM2mCredentials")
            .field("discovery_url", &self.discovery_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// The message of an OAuth error response (`error_description`, `error`, or the standard
/// Databricks error body), without ever quoting a success payload.
fn oauth_error_message(body: &[u8], status: reqwest::StatusCode) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    match (field("error"), field("error_description").or_else(|| field("message"))) {
        (Some(code), Some(desc)) => format!("{code}: {desc}"),
        (None, Some(desc)) => desc,
        (Some(code), None) => code,
        (None, None) => status.canonical_reason().unwrap_or("request failed").to_owned(),
    }
}

fn auth_error(message: String, status: Option<u16>) -> Error {
    Error::Auth(AuthError { message, status })
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
        let http = crate::tls::http_client_builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the OAuth HTTP client: {e}")))?;
        Ok(Self {
            discovery_url: discovery_url.unwrap_or_else(|| {
                format!(
                    "{}/oidc/.well-known/oauth-authorization-server",
                    host.trim_end_matches('/')
                )
            }),
            client_id: client_id.into(),
            client_secret,
            http,
            state: tokio::sync::Mutex::new(State::default()),
        })
    }

    async fn discover(&self) -> Result<String, Error> {
        let url = &self.discovery_url;
        let resp = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                auth_error(
                    format!("OAuth discovery request to {url} failed: {}", e.without_url()),
                    None,
                )
            })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| {
            auth_error(
                format!("reading OAuth discovery response failed: {}", e.without_url()),
                None,
            )
        })?;
        if !status.is_success() {
            return Err(auth_error(
                format!(
                    "OAuth discovery at {url} failed: {}",
                    oauth_error_message(&body, status)
                ),
                Some(status.as_u16()),
            ));
        }
        serde_json::from_slice::<Discovery>(&body)
            .ok()
            .and_then(|d| d.token_endpoint)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_error(format!("OAuth discovery at {url} returned no token_endpoint"), None))
    }

    async fn fetch_token(&self, token_endpoint: &str) -> Result<CachedToken, Error> {
        let requested_at = Instant::now();
        let resp = self
            .http
            .post(token_endpoint)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header("Accept", "application/json")
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
            .send()
            .await
            .map_err(|e| {
                auth_error(
                    format!("OAuth token request to {token_endpoint} failed: {}", e.without_url()),
                    None,
                )
            })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| {
            auth_error(
                format!("reading OAuth token response failed: {}", e.without_url()),
                None,
            )
        })?;
        if !status.is_success() {
            return Err(auth_error(
                format!(
                    "OAuth token request for client {:?} failed: {}",
                    self.client_id,
                    oauth_error_message(&body, status)
                ),
                Some(status.as_u16()),
            ));
        }
        // Never quote the body here: it holds the token.
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| auth_error("OAuth token response is not the expected JSON".to_owned(), None))?;
        let access = token
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_error("OAuth token response has no access_token".to_owned(), None))?;
        let token_type = token
            .token_type
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Bearer".to_owned());
        let expires_in = match token.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let expires_at = expires_in
            .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
            .map(|d| requested_at + d);
        Ok(CachedToken {
            header: sensitive_header(&format!("{token_type} {access}"))?,
            expires_at,
        })
    }

    async fn header(&self) -> Result<http::HeaderValue, Error> {
        let mut state = self.state.lock().await;
        if let Some(token) = state.token.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(token.header.clone());
        }
        let endpoint = match &state.token_endpoint {
            Some(e) => e.clone(),
            None => {
                let e = self.discover().await?;
                state.token_endpoint = Some(e.clone());
                e
            }
        };
        let token = self.fetch_token(&endpoint).await?;
        let header = token.header.clone();
        state.token = Some(token);
        Ok(header)
    }
}

impl CredentialsProvider for OAuthM2mCredentials {
    fn auth_type(&self) -> &'static str {
        "oauth-m2m"
    }

    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>> {
        Box::pin(self.header())
    }

    fn client_id(&self) -> Option<&str> {
        Some(&self.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
