//! Authentication: bearer tokens, host metadata discovery, the OAuth M2M
//! client-credentials flow, and the token endpoint of the U2M authorization server
//! ([`crate::oauth`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::errors::ApiError;
use crate::server::AppState;

/// Access tokens issued by the token endpoint: their expiry and the client id (the service
/// principal) they were issued to.
#[derive(Debug, Default)]
pub struct IssuedTokens(HashMap<String, (Instant, String)>);

impl IssuedTokens {
    /// Issues a new access token acting as `client_id` for `lifetime` (expired ones are dropped).
    pub(crate) fn issue(&mut self, client_id: String, lifetime: std::time::Duration) -> String {
        let token = format!("emu-oauth-{}", uuid::Uuid::new_v4().simple());
        let now = Instant::now();
        self.0.retain(|_, (exp, _)| *exp > now);
        self.0.insert(token.clone(), (now + lifetime, client_id));
        token
    }

    /// The client id of a valid issued token.
    fn identity(&self, token: &str, now: Instant) -> Option<&str> {
        self.0
            .get(token)
            .filter(|(exp, _)| now < *exp)
            .map(|(_, id)| id.as_str())
    }
}

/// The SCIM `User` of an identity, as `GET /api/2.0/preview/scim/v2/Me` answers it.
pub fn scim_user(identity: &str) -> serde_json::Value {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, identity.as_bytes())
        .as_u128()
        .to_string();
    let display = identity.split('@').next().unwrap_or(identity);
    json!({
        "id": id.chars().take(16).collect::<String>(),
        "userName": identity,
        "displayName": display,
        "active": true,
        "emails": [{"value": identity, "primary": true, "type": "work"}],
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    })
}

/// Prefixes of the access tokens this emulator issues: one that is no longer valid is
/// refused rather than taken for a personal access token.
const ISSUED_PREFIXES: &[&str] = &["emu-oauth-", "emu-u2m-"];

/// Checks the `Authorization: Bearer` header of an API request; returns the calling
/// identity: the client id for a token issued by the OAuth endpoint, else the PAT user.
pub fn check(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(value) = value else {
        return Err(ApiError::unauthenticated(
            "Missing Authorization header: a bearer token is required.",
        ));
    };
    let token = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthenticated("Invalid Authorization header: expected 'Bearer <token>'."))?;
    let issued = state
        .tokens
        .lock()
        .ok()
        .and_then(|t| t.identity(token, Instant::now()).map(str::to_string));
    if let Some(client_id) = issued {
        return Ok(client_id);
    }
    if ISSUED_PREFIXES.iter().any(|p| token.starts_with(p)) {
        return Err(ApiError::unauthenticated("Invalid access token: it has expired."));
    }
    match &state.token {
        Some(expected) if expected != token => Err(ApiError::unauthenticated("Invalid access token.")),
        _ => Ok(state.user.clone()),
    }
}

/// `GET /.well-known/databricks-config` (no auth): host metadata used by the SDKs.
pub async fn host_metadata(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({"oidc_endpoint": format!("{}/oidc", state.base_url), "workspace_id": state.workspace_id}))
}

/// `GET /oidc/.well-known/oauth-authorization-server` (no auth).
pub async fn oidc_discovery(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let b = &state.base_url;
    Json(json!({
        "issuer": format!("{b}/oidc"),
        "authorization_endpoint": format!("{b}/oidc/v1/authorize"),
        "token_endpoint": format!("{b}/oidc/v1/token"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", crate::federation::TOKEN_EXCHANGE_GRANT],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": ["all-apis", "sql", "offline_access"],
    }))
}

/// `GET /oidc/v1/authorize` (no auth): grants at once as the emulator's user.
pub async fn authorize(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>) -> Response {
    state.oauth.authorize(&query)
}

fn register(state: &AppState, token: &str, identity: String) {
    if let Ok(mut t) = state.tokens.lock() {
        let now = Instant::now();
        t.0.retain(|_, (exp, _)| *exp > now);
        t.0.insert(token.to_owned(), (now + state.m2m_token_lifetime, identity));
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    crate::oauth::error(status, error, description)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = STANDARD.decode(v.strip_prefix("Basic ")?.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `POST /oidc/v1/token`: `grant_type=client_credentials`, client credentials in HTTP Basic
/// auth or in the form.
pub async fn token(State(state): State<Arc<AppState>>, headers: HeaderMap, body: String) -> Response {
    let Ok(form) = serde_urlencoded::from_str::<HashMap<String, String>>(&body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Malformed form body.");
    };
    if form.get("grant_type").map(String::as_str) == Some(crate::federation::TOKEN_EXCHANGE_GRANT) {
        return crate::federation::token_exchange(&state, &form).await;
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return match state.oauth.token(&form, &headers, state.m2m_token_lifetime) {
            Ok(issued) => {
                register(&state, &issued.access_token, state.user.clone());
                ([(header::CACHE_CONTROL, "no-store")], Json(issued.body)).into_response()
            }
            Err(e) => e.into_response(),
        };
    }
    state.oauth.count("client_credentials");
    let creds = basic_credentials(&headers)
        .or_else(|| Some((form.get("client_id")?.clone(), form.get("client_secret")?.clone())));
    let ok = match (&creds, &state.m2m) {
        (Some((id, secret)), Some(m)) => *id == m.client_id && *secret == m.client_secret,
        (Some((id, secret)), None) => !id.is_empty() && !secret.is_empty(),
        (None, _) => false,
    };
    if !ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    let token = format!("emu-oauth-{}", uuid::Uuid::new_v4().simple());
    let lifetime = state.m2m_token_lifetime;
    let client_id = creds.as_ref().map(|(id, _)| id.clone()).unwrap_or_default();
    register(&state, &token, client_id);
    let scope = form.get("scope").cloned().unwrap_or_else(|| "all-apis".to_string());
    Json(json!({
        "access_token": token, "token_type": "Bearer", "expires_in": lifetime.as_secs(), "scope": scope,
    }))
    .into_response()
}
