//! OAuth token federation: the workspace trusts external identity providers the way a
//! Databricks federation policy does.
//!
//! * **Token exchange** (RFC 8693) at `POST /oidc/v1/token`:
//!   `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`,
//!   `subject_token_type=urn:ietf:params:oauth:token-type:jwt`, `subject_token=<JWT>`, and
//!   optionally `client_id` (workload identity federation of one service principal). The JWT is
//!   granted only when its signature checks against its issuer's JWKS (found from
//!   `{issuer}/.well-known/openid-configuration`), and a policy given with
//!   `--federation-policy 'issuer=URL,audience=A,subject=S[,client_id=SP]'` matches its `iss`,
//!   `aud` and `sub` (and the requested `client_id`), and `exp`/`nbf` are live. The access token
//!   issued acts as the policy's service principal (its client id, which is also its Postgres
//!   user), or as the token's `sub` for a policy without `client_id`. Anything else is OAuth's
//!   `invalid_grant`, whose description names the check that failed.
//! * **Bearer tokens of an external issuer** (`--bearer-policy`, same syntax): an API request
//!   whose bearer token is a JWT of a trusted issuer is accepted directly after the same checks
//!   (Azure workspaces accept Entra ID tokens this way); a JWT of that issuer that fails them
//!   is answered `401` naming the check.
//!
//! Issuers are fetched over `https`, or plain `http` on loopback only.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::server::AppState;

/// The RFC 8693 grant type.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only subject token type accepted.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// One federation policy: which tokens of which issuer act as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederationPolicy {
    /// The `iss` the token must carry; its JWKS is found from
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// A value the token's `aud` must contain.
    pub audience: String,
    /// The `sub` the token must carry.
    pub subject: String,
    /// The service principal the token acts as (its client id); `None`: the token's `sub`.
    pub client_id: Option<String>,
}

impl FromStr for FederationPolicy {
    type Err = String;

    /// Parses `issuer=URL,audience=A,subject=S[,client_id=SP]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("federation policy part {part:?} is not key=value"))?;
            let k = k.trim();
            if !matches!(k, "issuer" | "audience" | "subject" | "client_id") {
                return Err(format!(
                    "unknown federation policy key {k:?} (known: issuer, audience, subject, client_id)"
                ));
            }
            if fields.insert(k, v.trim()).is_some() {
                return Err(format!("federation policy key {k:?} given twice"));
            }
        }
        let need = |k: &str| {
            fields
                .get(k)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string())
                .ok_or_else(|| {
                    format!("federation policy needs {k}=... (issuer=URL,audience=A,subject=S[,client_id=SP])")
                })
        };
        let issuer = need("issuer")?;
        check_fetchable(&issuer)?;
        Ok(Self {
            issuer,
            audience: need("audience")?,
            subject: need("subject")?,
            client_id: fields.get("client_id").filter(|v| !v.is_empty()).map(|v| v.to_string()),
        })
    }
}

/// `https://…`, or `http://` on a loopback host.
fn check_fetchable(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid issuer URL {url:?}: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("issuer URL {url:?} must be https, or http on loopback")),
    }
}

/// The trusted issuers and their cached key sets.
pub struct Federation {
    exchange: Vec<FederationPolicy>,
    bearer: Vec<FederationPolicy>,
    http: reqwest::Client,
    jwks: tokio::sync::Mutex<HashMap<String, Arc<JwkSet>>>,
}

impl fmt::Debug for Federation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Federation")
            .field("exchange", &self.exchange)
            .field("bearer", &self.bearer)
            .finish_non_exhaustive()
    }
}

/// Why a JWT was refused: the check that failed and a message naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `format`, `issuer`, `signature`, `audience`, `subject`, `client_id`, `exp` or `nbf`.
    pub check: &'static str,
    /// What was wrong (never the token itself).
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} check failed: {}", self.check, self.message)
    }
}

fn refuse(check: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        check,
        message: message.into(),
    }
}

impl Federation {
    /// Federation with these token-exchange and bearer policies.
    pub fn new(exchange: Vec<FederationPolicy>, bearer: Vec<FederationPolicy>) -> Self {
        // reqwest is built without a crypto provider of its own (lakebase picks one by feature):
        // ring, the one the emulator's TLS uses, unless the program installed one first.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another thread installing one is fine: that one is used.
            #[allow(deprecated)]
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            exchange,
            bearer,
            http,
            jwks: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Checks a token exchange request's subject token; the identity it acts as.
    pub async fn exchange(&self, jwt: &str, client_id: Option<&str>) -> Result<String, Refusal> {
        self.verify(jwt, &self.exchange, client_id).await
    }

    /// The identity of a bearer token: `None` when it is not a JWT of an issuer trusted by a
    /// bearer policy (other checks apply), else the verdict of the same checks.
    pub async fn bearer(&self, token: &str) -> Option<Result<String, Refusal>> {
        if self.bearer.is_empty() {
            return None;
        }
        let claims = unverified_claims(token).ok()?;
        let iss = claims.get("iss")?.as_str()?;
        if !self.bearer.iter().any(|p| p.issuer == iss) {
            return None;
        }
        Some(self.verify(token, &self.bearer, None).await)
    }

    async fn verify(
        &self,
        jwt: &str,
        policies: &[FederationPolicy],
        client_id: Option<&str>,
    ) -> Result<String, Refusal> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| refuse("format", "the token is not a JWT"))?;
        let unverified = unverified_claims(jwt)?;
        let iss = unverified
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse("issuer", "the token has no iss claim"))?
            .to_string();
        let trusted: Vec<&FederationPolicy> = policies.iter().filter(|p| p.issuer == iss).collect();
        if trusted.is_empty() {
            return Err(refuse(
                "issuer",
                format!("no federation policy trusts the issuer {iss:?}"),
            ));
        }
        let key = self.key(&iss, header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .map_err(|e| {
                refuse(
                    "signature",
                    format!("the token's signature does not check against the JWKS of {iss:?} ({e})"),
                )
            })?
            .claims;
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let trusted: Vec<&FederationPolicy> = trusted
            .into_iter()
            .filter(|p| audiences.contains(&p.audience.as_str()))
            .collect();
        if trusted.is_empty() {
            return Err(refuse(
                "audience",
                format!("no federation policy of {iss:?} accepts the audience {audiences:?}"),
            ));
        }
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or_default();
        let trusted: Vec<&FederationPolicy> = trusted.into_iter().filter(|p| p.subject == sub).collect();
        if trusted.is_empty() {
            return Err(refuse(
                "subject",
                format!("no federation policy of {iss:?} accepts the subject {sub:?}"),
            ));
        }
        let policy = match client_id {
            Some(id) => trusted
                .into_iter()
                .find(|p| p.client_id.as_deref() == Some(id))
                .ok_or_else(|| {
                    refuse(
                        "client_id",
                        format!("no federation policy of service principal {id:?} accepts this token"),
                    )
                })?,
            None => trusted[0],
        };
        let now = chrono::Utc::now().timestamp();
        match claims.get("exp").and_then(Value::as_i64) {
            None => return Err(refuse("exp", "the token has no exp claim")),
            Some(exp) if exp <= now => {
                return Err(refuse("exp", format!("the token expired {} s ago", now - exp)));
            }
            Some(_) => {}
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
            && nbf > now
        {
            return Err(refuse(
                "nbf",
                format!("the token is not valid for another {} s", nbf - now),
            ));
        }
        Ok(policy.client_id.clone().unwrap_or_else(|| sub.to_string()))
    }

    /// The issuer's key `kid` (or its only key); the JWKS is fetched again once on a miss.
    async fn key(&self, iss: &str, kid: Option<&str>) -> Result<DecodingKey, Refusal> {
        let mut cache = self.jwks.lock().await;
        for fresh in [false, true] {
            if fresh || !cache.contains_key(iss) {
                let set = self.fetch_jwks(iss).await?;
                cache.insert(iss.to_string(), Arc::new(set));
            }
            let set = &cache[iss];
            let jwk = match kid {
                Some(kid) => set.find(kid),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            if let Some(jwk) = jwk {
                return DecodingKey::from_jwk(jwk)
                    .map_err(|e| refuse("signature", format!("the JWKS key of {iss:?} is unusable: {e}")));
            }
        }
        Err(refuse(
            "signature",
            format!("the JWKS of {iss:?} has no key {:?}", kid.unwrap_or("(no kid)")),
        ))
    }

    async fn fetch_jwks(&self, iss: &str) -> Result<JwkSet, Refusal> {
        let discovery = format!("{}/.well-known/openid-configuration", iss.trim_end_matches('/'));
        let doc: Value = self.get_json(&discovery).await?;
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse("signature", format!("{discovery} names no jwks_uri")))?;
        check_fetchable(jwks_uri).map_err(|e| refuse("signature", e))?;
        let set: Value = self.get_json(jwks_uri).await?;
        serde_json::from_value(set).map_err(|e| refuse("signature", format!("{jwks_uri} is not a JWKS: {e}")))
    }

    async fn get_json(&self, url: &str) -> Result<Value, Refusal> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| refuse("signature", format!("cannot fetch {url}: {}", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(refuse("signature", format!("{url} answered {}", resp.status())));
        }
        resp.json()
            .await
            .map_err(|e| refuse("signature", format!("{url} is not JSON: {}", e.without_url())))
    }
}

/// The claims of a JWT, signature not checked (only to pick the issuer's policies and key).
fn unverified_claims(jwt: &str) -> Result<Value, Refusal> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| refuse("format", "the token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| refuse("format", "the token's payload is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| refuse("format", "the token's payload is not JSON"))
}

fn invalid_grant(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

/// The token endpoint's answer to a token exchange request (`form` is its decoded body).
pub async fn token_exchange(state: &AppState, form: &HashMap<String, String>) -> Response {
    if form.get("subject_token_type").map(String::as_str) != Some(JWT_TOKEN_TYPE) {
        return invalid_grant(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("subject_token_type must be {JWT_TOKEN_TYPE}."),
        );
    }
    let Some(jwt) = form.get("subject_token").filter(|t| !t.is_empty()) else {
        return invalid_grant(StatusCode::BAD_REQUEST, "invalid_request", "subject_token is required.");
    };
    let client_id = form.get("client_id").map(String::as_str).filter(|c| !c.is_empty());
    let identity = match state.federation.exchange(jwt, client_id).await {
        Ok(identity) => identity,
        Err(refusal) => {
            tracing::info!(check = refusal.check, "token exchange refused: {refusal}");
            return invalid_grant(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                &format!("Token exchange refused: {refusal}."),
            );
        }
    };
    let lifetime = state.m2m_token_lifetime;
    let token = match state.tokens.lock() {
        Ok(mut tokens) => tokens.issue(identity, lifetime),
        Err(_) => {
            return invalid_grant(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Token store unavailable.",
            );
        }
    };
    let scope = form.get("scope").cloned().unwrap_or_else(|| "all-apis".to_string());
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "scope": scope,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }))
    .into_response()
}

/// The calling identity of an API request: a bearer JWT of an issuer trusted by a bearer
/// policy goes through the federation checks; every other request through the emulator's token check (`auth::check`).
pub async fn check(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(token) = bearer
        && let Some(verdict) = state.federation.bearer(token).await
    {
        return verdict.map_err(|refusal| ApiError::unauthenticated(format!("Invalid access token: {refusal}.")));
    }
    crate::auth::check(state, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies() {
        let p: FederationPolicy =
            "issuer=http://127.0.0.1:9/x, audience=aud-1,subject=repo:o/r:ref:refs/heads/main,client_id=sp-1"
                .parse()
                .unwrap();
        assert_eq!(p.issuer, "http://127.0.0.1:9/x");
        assert_eq!(p.audience, "aud-1");
        assert_eq!(p.subject, "repo:o/r:ref:refs/heads/main");
        assert_eq!(p.client_id.as_deref(), Some("sp-1"));
        let p: FederationPolicy = "issuer=https://token.actions.githubusercontent.com,audience=a,subject=s"
            .parse()
            .unwrap();
        assert_eq!(p.client_id, None);
        for (bad, says) in [
            ("issuer=http://example.com,audience=a,subject=s", "loopback"),
            ("issuer=http://127.0.0.1,audience=a", "subject"),
            ("issuer=http://127.0.0.1,audience=a,subject=s,colour=red", "unknown"),
            ("issuer=http://127.0.0.1,audience=a,audience=b,subject=s", "twice"),
            ("issuer", "key=value"),
        ] {
            let e = bad.parse::<FederationPolicy>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn unverified_claims_of_garbage() {
        assert_eq!(unverified_claims("abc").unwrap_err().check, "format");
        assert_eq!(unverified_claims("a.!!!.c").unwrap_err().check, "format");
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"x"}"#);
        assert_eq!(unverified_claims(&format!("h.{payload}.s")).unwrap()["iss"], "x");
    }
}
