//! The emulator's OAuth authorization server for people (OAuth U2M, RFC 6749 + PKCE RFC 7636):
//!
//! - `GET /oidc/v1/authorize` checks `client_id`, a loopback `redirect_uri`,
//!   `response_type=code` and `code_challenge_method=S256`, and grants at once as the
//!   emulator's user: a `302` to the redirect with `code` and the `state` echoed (no login
//!   form, so a headless client can follow it). Errors about the client or the redirect are
//!   answered `400` (never redirected, RFC 6749 §4.1.2.1); the others go back to the redirect
//!   as `error=...`.
//! - `POST /oidc/v1/token` with `grant_type=authorization_code` (the `code_verifier` checked
//!   against the challenge; codes single-use, valid [`CODE_LIFETIME`]) or
//!   `grant_type=refresh_token` (rotation: every refresh token works once). Access tokens
//!   live the emulator's token lifetime (`--token-lifetime`) and act as the user on the API.
//!
//! Every grant is counted ([`AuthorizationServer::grant_counts`], `GET /_emulator/oauth`), so
//! tests can assert how many refreshes happened.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

/// How long an authorization code may be exchanged.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// The public client every Databricks CLI and SDK uses for U2M.
pub const DEFAULT_CLIENT_ID: &str = "databricks-cli";

/// Settings of the authorization server.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// Public client ids accepted by the authorize endpoint (default `databricks-cli`).
    pub client_ids: Vec<String>,
    /// How long a refresh token may be used (default 30 days).
    pub refresh_token_lifetime: Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            client_ids: vec![DEFAULT_CLIENT_ID.to_owned()],
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    expires: Instant,
}

struct RefreshGrant {
    client_id: String,
    scope: String,
    expires: Instant,
}

#[derive(Default)]
struct Grants {
    codes: HashMap<String, CodeGrant>,
    refresh: HashMap<String, RefreshGrant>,
    counts: BTreeMap<String, u64>,
}

/// Codes, refresh tokens and counts of the authorization server.
pub struct AuthorizationServer {
    config: OAuthConfig,
    grants: Mutex<Grants>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An OAuth error answer: `{"error", "error_description"}` with its RFC 6749 status.
pub fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn bad_request(code: &str, description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, description)
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Whether `uri` is an `http` redirect to this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else { return false };
    if url.scheme() != "http" || url.fragment().is_some() {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return bad_request("invalid_request", "redirect_uri is not a URL."),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// What a successful token request gives: the access token to register for `identity`.
pub struct Issued {
    /// The JSON answer.
    pub body: serde_json::Value,
    /// The access token.
    pub access_token: String,
}

impl AuthorizationServer {
    /// A server with `config`.
    pub fn new(config: OAuthConfig) -> Self {
        Self {
            config,
            grants: Mutex::new(Grants::default()),
        }
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.grants.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a token request by grant type (also the failed ones).
    pub fn count(&self, grant_type: &str) {
        *self.grants().counts.entry(grant_type.to_owned()).or_default() += 1;
    }

    /// Token requests received, by grant type (`authorization_code`, `refresh_token`,
    /// `client_credentials`), and `authorize` for authorization requests.
    pub fn grant_counts(&self) -> BTreeMap<String, u64> {
        self.grants().counts.clone()
    }

    /// Makes every refresh token issued so far unusable (as an expired or revoked session).
    pub fn revoke_refresh_tokens(&self) {
        self.grants().refresh.clear();
    }

    /// `GET /oidc/v1/authorize`.
    pub fn authorize(&self, query: &HashMap<String, String>) -> Response {
        self.count("authorize");
        let get = |k: &str| query.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let Some(client_id) = get("client_id") else {
            return bad_request("invalid_request", "client_id is required.");
        };
        if !self.config.client_ids.iter().any(|c| c == client_id) {
            return error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client_id.");
        }
        let Some(redirect_uri) = get("redirect_uri") else {
            return bad_request("invalid_request", "redirect_uri is required.");
        };
        if !is_loopback_redirect(redirect_uri) {
            return bad_request(
                "invalid_request",
                "redirect_uri must be an http URL on localhost or a loopback address.",
            );
        }
        let state = get("state").unwrap_or("");
        let fail = |code: &str, description: &str| {
            let mut params = vec![("error", code), ("error_description", description)];
            if !state.is_empty() {
                params.push(("state", state));
            }
            redirect_with(redirect_uri, &params)
        };
        if get("response_type") != Some("code") {
            return fail("unsupported_response_type", "response_type must be code.");
        }
        let Some(challenge) = get("code_challenge") else {
            return fail("invalid_request", "code_challenge is required (PKCE).");
        };
        if get("code_challenge_method") != Some("S256") {
            return fail("invalid_request", "code_challenge_method must be S256.");
        }
        if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).is_err() {
            return fail("invalid_request", "code_challenge is not a base64url SHA-256 digest.");
        }
        let code = random_token("emu-code-");
        self.grants().codes.insert(
            code.clone(),
            CodeGrant {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                challenge: challenge.to_owned(),
                scope: get("scope").unwrap_or("all-apis").to_owned(),
                expires: Instant::now() + CODE_LIFETIME,
            },
        );
        let mut params = vec![("code", code.as_str())];
        if !state.is_empty() {
            params.push(("state", state));
        }
        redirect_with(redirect_uri, &params)
    }

    fn issue(&self, grants: &mut Grants, client_id: &str, scope: &str, lifetime: Duration) -> Issued {
        let access_token = random_token("emu-u2m-");
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "scope": scope,
        });
        if scope.split(' ').any(|s| s == "offline_access") {
            let refresh = random_token("emu-refresh-");
            let now = Instant::now();
            grants.refresh.retain(|_, g| g.expires > now);
            grants.refresh.insert(
                refresh.clone(),
                RefreshGrant {
                    client_id: client_id.to_owned(),
                    scope: scope.to_owned(),
                    expires: now + self.config.refresh_token_lifetime,
                },
            );
            body["refresh_token"] = json!(refresh);
        }
        Issued { body, access_token }
    }

    /// `grant_type=authorization_code` or `refresh_token`; `client_id` from the form or HTTP
    /// Basic. Returns the answer or the OAuth error.
    pub fn token(
        &self,
        form: &HashMap<String, String>,
        headers: &HeaderMap,
        lifetime: Duration,
    ) -> Result<Issued, Response> {
        let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
        self.count(grant_type);
        let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let client_id = basic_client_id(headers).or_else(|| get("client_id").map(str::to_owned));
        let Some(client_id) = client_id else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id is required.",
            ));
        };
        let mut grants = self.grants();
        let now = Instant::now();
        match grant_type {
            "authorization_code" => {
                let (Some(code), Some(verifier)) = (get("code"), get("code_verifier")) else {
                    return Err(bad_request("invalid_request", "code and code_verifier are required."));
                };
                // Single use: the code is gone whatever happens next.
                let Some(grant) = grants.codes.remove(code) else {
                    return Err(bad_request(
                        "invalid_grant",
                        "The authorization code is invalid or was already used.",
                    ));
                };
                if grant.expires <= now {
                    return Err(bad_request("invalid_grant", "The authorization code has expired."));
                }
                if grant.client_id != client_id {
                    return Err(bad_request("invalid_grant", "The code was issued to another client."));
                }
                if get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
                    return Err(bad_request(
                        "invalid_grant",
                        "redirect_uri does not match the authorization request.",
                    ));
                }
                let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if digest != grant.challenge {
                    return Err(bad_request(
                        "invalid_grant",
                        "PKCE verification failed: code_verifier does not match.",
                    ));
                }
                Ok(self.issue(&mut grants, &client_id, &grant.scope, lifetime))
            }
            "refresh_token" => {
                let Some(refresh) = get("refresh_token") else {
                    return Err(bad_request("invalid_request", "refresh_token is required."));
                };
                // Rotation: a refresh token works once.
                let Some(grant) = grants.refresh.remove(refresh) else {
                    return Err(bad_request(
                        "invalid_grant",
                        "Refresh token is invalid, expired or already used.",
                    ));
                };
                if grant.expires <= now {
                    return Err(bad_request("invalid_grant", "Refresh token has expired."));
                }
                if grant.client_id != client_id {
                    return Err(bad_request(
                        "invalid_grant",
                        "The refresh token was issued to another client.",
                    ));
                }
                Ok(self.issue(&mut grants, &client_id, &grant.scope, lifetime))
            }
            _ => Err(bad_request(
                "unsupported_grant_type",
                "Supported: authorization_code, refresh_token, client_credentials.",
            )),
        }
    }
}

fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = STANDARD.decode(v.strip_prefix("Basic ")?.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    Some(s.split_once(':').map_or(s.as_str(), |(id, _)| id).to_owned()).filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 appendix B
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn location(r: &Response) -> url::Url {
        url::Url::parse(r.headers()[header::LOCATION].to_str().unwrap()).unwrap()
    }

    fn param(u: &url::Url, k: &str) -> Option<String> {
        u.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned())
    }

    #[test]
    fn code_flow_with_pkce_and_rotation() {
        let s = AuthorizationServer::new(OAuthConfig::default());
        let authz = q(&[
            ("client_id", "databricks-cli"),
            ("redirect_uri", "http://localhost:8020"),
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "st-1"),
            ("scope", "all-apis offline_access"),
        ]);
        let r = s.authorize(&authz);
        assert_eq!(r.status(), StatusCode::FOUND);
        let loc = location(&r);
        assert_eq!(param(&loc, "state").as_deref(), Some("st-1"));
        let code = param(&loc, "code").unwrap();
        let h = HeaderMap::new();
        let mut form = q(&[
            ("grant_type", "authorization_code"),
            ("client_id", "databricks-cli"),
            ("code", &code),
            ("redirect_uri", "http://localhost:8020"),
            ("code_verifier", "wrong-verifier"),
        ]);
        let e = s.token(&form, &h, Duration::from_secs(60)).err().unwrap();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        // the code was burnt by the failed attempt
        form.insert("code_verifier".into(), VERIFIER.into());
        assert!(s.token(&form, &h, Duration::from_secs(60)).is_err());
        let code = param(&location(&s.authorize(&authz)), "code").unwrap();
        form.insert("code".into(), code);
        let issued = match s.token(&form, &h, Duration::from_secs(60)) {
            Ok(i) => i,
            Err(r) => panic!("{:?}", r.status()),
        };
        let refresh = issued.body["refresh_token"].as_str().unwrap().to_owned();
        let rf = q(&[
            ("grant_type", "refresh_token"),
            ("client_id", "databricks-cli"),
            ("refresh_token", &refresh),
        ]);
        let second = s.token(&rf, &h, Duration::from_secs(60)).ok().unwrap();
        assert_ne!(second.body["refresh_token"], issued.body["refresh_token"]);
        let reused = s.token(&rf, &h, Duration::from_secs(60)).err().unwrap();
        assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(s.grant_counts()["refresh_token"], 2);
        assert_eq!(s.grant_counts()["authorization_code"], 3);
    }

    #[test]
    fn authorize_checks() {
        let s = AuthorizationServer::new(OAuthConfig::default());
        let base = [
            ("client_id", "databricks-cli"),
            ("redirect_uri", "http://127.0.0.1:9999/cb"),
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ];
        let with = |k: &str, v: &str| {
            let mut m = q(&base);
            if v.is_empty() {
                m.remove(k);
            } else {
                m.insert(k.into(), v.into());
            }
            s.authorize(&m)
        };
        assert_eq!(with("client_id", "other").status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            with("redirect_uri", "https://evil.example.com/").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(with("redirect_uri", "").status(), StatusCode::BAD_REQUEST);
        for (k, v, err) in [
            ("code_challenge_method", "plain", "invalid_request"),
            ("code_challenge_method", "", "invalid_request"),
            ("code_challenge", "", "invalid_request"),
            ("response_type", "token", "unsupported_response_type"),
        ] {
            let r = with(k, v);
            assert_eq!(r.status(), StatusCode::FOUND, "{k}={v}");
            let loc = location(&r);
            assert_eq!(param(&loc, "error").as_deref(), Some(err), "{k}={v}");
            assert_eq!(param(&loc, "state").as_deref(), Some("xyz"));
        }
        assert!(is_loopback_redirect("http://[::1]:1/x"));
        assert!(!is_loopback_redirect("http://localhost.evil.com/"));
    }
}
