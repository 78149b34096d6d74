//! A stand-in OpenID Connect identity provider on loopback, for tests of workload login.
//!
//! [`TestIssuer`] signs JWTs with its own RSA key (RS256, a test-only key checked in beside this
//! file: never trust it anywhere) and serves what federation and the clients need:
//!
//! | route | what |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | `issuer`, `jwks_uri` |
//! | `GET /jwks` | its public key |
//! | `GET /github/token?api-version=2.0&audience=A` | GitHub Actions' ID-token request (`Authorization: Bearer <request token>`): `{"value": JWT}` |
//! | `POST /ado/{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken` | Azure DevOps' (`Bearer <SYSTEM_ACCESSTOKEN>`): `{"oidcToken": JWT}` with `aud=api://AzureADTokenExchange` |
//!
//! Every request is recorded ([`TestIssuer::requests`]) so tests assert what was sent.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use lakebase_emulator::test_idp::TestIssuer;
//! let idp = TestIssuer::start("repo:acme/app:ref:refs/heads/main").await?;
//! let jwt = idp.token("repo:acme/app:ref:refs/heads/main", "my-audience");
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// PEM (PKCS#8) of the issuer's test-only signing key.
pub const ISSUER_KEY_PEM: &str = include_str!("test_idp/issuer.pem");
/// The issuer's public key as JWK `n`/`e`.
const ISSUER_JWK: &str = include_str!("test_idp/issuer.jwk.json");
/// PEM of a second key the JWKS does not list (tokens signed with it have a bad signature).
pub const ROGUE_KEY_PEM: &str = include_str!("test_idp/rogue.pem");
/// The key id of the issuer's key.
pub const KEY_ID: &str = "lakebase-test-key-1";
/// The fixed audience of Azure DevOps OIDC tokens.
pub const AZURE_AD_TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange";
/// The request token the GitHub and Azure DevOps endpoints want (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`,
/// `SYSTEM_ACCESSTOKEN`).
pub const REQUEST_TOKEN: &str = "test-idp-request-token";

/// A request the issuer received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
}

struct IdpState {
    base_url: String,
    subject: String,
    lifetime: Mutex<Duration>,
    requests: Mutex<Vec<IdpRequest>>,
}

/// A running test OIDC issuer on `127.0.0.1`; stops when dropped.
pub struct TestIssuer {
    addr: SocketAddr,
    state: Arc<IdpState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer").field("url", &self.state.base_url).finish()
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIssuer {
    /// Starts on a free loopback port; the GitHub and Azure DevOps endpoints issue tokens for
    /// `subject`, valid for 10 minutes (see [`set_lifetime`](Self::set_lifetime)).
    pub async fn start(subject: &str) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), subject).await
    }

    /// Starts on `addr` (port 0: a free one).
    pub async fn start_on(addr: SocketAddr, subject: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(IdpState {
            base_url: format!("http://{addr}"),
            subject: subject.to_string(),
            lifetime: Mutex::new(Duration::from_secs(600)),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/github/token", get(github))
            .route("/ado/{*rest}", post(azure_devops))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, state, task })
    }

    /// The issuer URL (`iss` of its tokens), `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.state.base_url
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` for GitHub Actions' token request (clients append
    /// `&audience=...`).
    pub fn github_request_url(&self) -> String {
        format!("{}/github/token?api-version=2.0", self.url())
    }

    /// `SYSTEM_TEAMFOUNDATIONCOLLECTIONURI` of Azure DevOps' token request (ends with `/`).
    pub fn azure_devops_collection_uri(&self) -> String {
        format!("{}/ado/", self.url())
    }

    /// Lifetime of the tokens the endpoints issue from now on.
    pub fn set_lifetime(&self, lifetime: Duration) {
        if let Ok(mut l) = self.state.lifetime.lock() {
            *l = lifetime;
        }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<IdpRequest> {
        self.state.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// A token of this issuer for `sub` and `aud`, valid for the current lifetime.
    pub fn token(&self, sub: &str, aud: &str) -> String {
        self.state.mint(sub, aud)
    }

    /// A token with these claims (merged over `iss`, `iat`), signed by the issuer's key.
    pub fn sign(&self, claims: Value) -> String {
        sign(ISSUER_KEY_PEM, &self.state.with_defaults(claims))
    }

    /// A token with these claims signed by a key the JWKS does not list (but naming the
    /// issuer's key id): its signature does not check.
    pub fn sign_with_rogue_key(&self, claims: Value) -> String {
        sign(ROGUE_KEY_PEM, &self.state.with_defaults(claims))
    }
}

impl IdpState {
    fn with_defaults(&self, claims: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        let mut all =
            json!({"iss": self.base_url, "iat": now, "nbf": now - 1, "jti": uuid::Uuid::new_v4().to_string()});
        if let (Some(all), Value::Object(extra)) = (all.as_object_mut(), claims) {
            all.extend(extra);
        }
        all
    }

    fn mint(&self, sub: &str, aud: &str) -> String {
        let lifetime = self.lifetime.lock().map(|l| *l).unwrap_or(Duration::from_secs(600));
        let exp = chrono::Utc::now().timestamp() + lifetime.as_secs() as i64;
        sign(
            ISSUER_KEY_PEM,
            &self.with_defaults(json!({"sub": sub, "aud": aud, "exp": exp})),
        )
    }

    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap) {
        let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        if let Ok(mut r) = self.requests.lock() {
            r.push(IdpRequest {
                method: method.to_string(),
                path: uri.path().to_string(),
                query: uri.query().map(str::to_string),
                authorization: h("authorization"),
                content_type: h("content-type"),
            });
        }
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {REQUEST_TOKEN}"))
    }
}

fn sign(pem: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KEY_ID.to_string());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the checked-in test key is valid PEM");
    jsonwebtoken::encode(&header, claims, &key).expect("signing with a valid RSA key")
}

async fn discovery(State(s): State<Arc<IdpState>>, method: Method, uri: Uri, headers: HeaderMap) -> Json<Value> {
    s.record(&method, &uri, &headers);
    Json(json!({
        "issuer": s.base_url,
        "jwks_uri": format!("{}/jwks", s.base_url),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
    }))
}

async fn jwks(State(s): State<Arc<IdpState>>, method: Method, uri: Uri, headers: HeaderMap) -> Json<Value> {
    s.record(&method, &uri, &headers);
    let ne: Value = serde_json::from_str(ISSUER_JWK).unwrap_or_default();
    Json(json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID, "n": ne["n"], "e": ne["e"]}]}))
}

#[derive(serde::Deserialize)]
struct GithubQuery {
    audience: Option<String>,
}

async fn github(
    State(s): State<Arc<IdpState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<GithubQuery>,
) -> Response {
    s.record(&method, &uri, &headers);
    if !s.authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "bad request token"}))).into_response();
    }
    let aud = q
        .audience
        .unwrap_or_else(|| "https://github.com/test-owner".to_string());
    Json(json!({"count": 1, "value": s.mint(&s.subject, &aud)})).into_response()
}

async fn azure_devops(State(s): State<Arc<IdpState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    s.record(&method, &uri, &headers);
    if !s.authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "bad access token"}))).into_response();
    }
    if !uri.path().ends_with("/oidctoken") {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(json!({"oidcToken": s.mint(&s.subject, AZURE_AD_TOKEN_EXCHANGE)})).into_response()
}
