//! The workspace's OAuth endpoints and token requests, shared by the OAuth login methods.
//!
//! Discovery: `GET {host}/oidc/.well-known/oauth-authorization-server` (or the configured
//! `discovery_url`) gives `authorization_endpoint` and `token_endpoint`. Token requests are
//! form posts (RFC 6749 §4); failures become [`Error::Auth`] with the server's status and
//! OAuth error, never a secret and never a success body (it holds the token).

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::Token;
use crate::error::{AuthError, Error};
use crate::secret::Secret;

/// The OAuth endpoints of a workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OidcEndpoints {
    /// Where the browser is sent to log in (`None` when the server lists none).
    pub authorization_endpoint: Option<String>,
    /// Where codes, refresh tokens and client credentials are exchanged for tokens.
    pub token_endpoint: String,
}

/// The default discovery URL of `host`.
pub fn discovery_url(host: &str) -> String {
    format!(
        "{}/oidc/.well-known/oauth-authorization-server",
        host.trim_end_matches('/')
    )
}

/// An HTTP client for OAuth requests.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the OAuth HTTP client: {e}")))
}

pub(crate) fn auth_error(message: String, status: Option<u16>) -> Error {
    Error::Auth(AuthError { message, status })
}

/// The message of an OAuth error response (`error: error_description`, or the standard
/// Databricks error body), without ever quoting a success payload.
pub fn oauth_error_message(body: &[u8], status: reqwest::StatusCode) -> String {
    let (code, desc) = oauth_error_parts(body);
    match (code, desc) {
        (Some(code), Some(desc)) => format!("{code}: {desc}"),
        (None, Some(desc)) => desc,
        (Some(code), None) => code,
        (None, None) => status.canonical_reason().unwrap_or("request failed").to_owned(),
    }
}

/// `error` and `error_description` (or `message`) of an OAuth error body.
pub fn oauth_error_parts(body: &[u8]) -> (Option<String>, Option<String>) {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    (field("error"), field("error_description").or_else(|| field("message")))
}

#[derive(Deserialize)]
struct Discovery {
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

/// Fetches the endpoints from a discovery URL.
pub async fn discover(http: &reqwest::Client, url: &str) -> Result<OidcEndpoints, Error> {
    let resp = http
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
    let d: Discovery = serde_json::from_slice(&body)
        .map_err(|_| auth_error(format!("OAuth discovery at {url} is not the expected JSON"), None))?;
    let token_endpoint = d
        .token_endpoint
        .filter(|t| !t.is_empty())
        .ok_or_else(|| auth_error(format!("OAuth discovery at {url} returned no token_endpoint"), None))?;
    Ok(OidcEndpoints {
        authorization_endpoint: d.authorization_endpoint.filter(|a| !a.is_empty()),
        token_endpoint,
    })
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
}

/// A failed token request: the HTTP status and the OAuth `error` code, if any.
#[derive(Debug)]
pub struct TokenRequestError {
    /// The error to return.
    pub error: Error,
    /// The OAuth error code (`invalid_grant`, ...), if the server gave one.
    pub code: Option<String>,
}

/// Client authentication of a token request.
#[derive(Clone, Copy, Debug)]
pub enum ClientAuth<'a> {
    /// HTTP Basic `client_id:client_secret` (confidential clients).
    Basic(&'a str, &'a Secret),
    /// `client_id` in the form (public clients, e.g. `databricks-cli`).
    Public(&'a str),
}

/// Posts a token request; `what` names it in errors (`"OAuth token request"`).
pub async fn request_token(
    http: &reqwest::Client,
    token_endpoint: &str,
    client: ClientAuth<'_>,
    form: &[(&str, &str)],
) -> Result<Token, TokenRequestError> {
    let plain = |error| TokenRequestError { error, code: None };
    let requested_at = SystemTime::now();
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut req = http.post(token_endpoint).header("Accept", "application/json");
    let client_id = match client {
        ClientAuth::Basic(id, secret) => {
            req = req.basic_auth(id, Some(secret.expose()));
            id
        }
        ClientAuth::Public(id) => {
            fields.push(("client_id", id));
            id
        }
    };
    let resp = req.form(&fields).send().await.map_err(|e| {
        plain(auth_error(
            format!("OAuth token request to {token_endpoint} failed: {}", e.without_url()),
            None,
        ))
    })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| {
        plain(auth_error(
            format!("reading OAuth token response failed: {}", e.without_url()),
            None,
        ))
    })?;
    if !status.is_success() {
        let (code, _) = oauth_error_parts(&body);
        return Err(TokenRequestError {
            error: auth_error(
                format!(
                    "OAuth token request for client {client_id:?} failed: {}",
                    oauth_error_message(&body, status)
                ),
                Some(status.as_u16()),
            ),
            code,
        });
    }
    // Never quote the body here: it holds the token.
    let token: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
        plain(auth_error(
            "OAuth token response is not the expected JSON".to_owned(),
            None,
        ))
    })?;
    let access = token
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| plain(auth_error("OAuth token response has no access_token".to_owned(), None)))?;
    let expires_in = match token.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let expiry = expires_in
        .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
        .map(|d| requested_at + d);
    let token = Token::new(Secret::from(access), token.token_type.as_deref().unwrap_or(""), expiry)
        .with_refresh_token(token.refresh_token.filter(|r| !r.is_empty()).map(Secret::from));
    // Fail early on a token that cannot go into a header.
    token.header().map_err(plain)?;
    Ok(token)
}
