//! HTTP server: shared state, router, the API entry point, request logging and the
//! `/_emulator/*` admin routes (faults, stats, CDF statuses).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::auth::{self, IssuedTokens};
use crate::config::{Config, FaultConfig, M2mCredentials};
use crate::dispatch::{self, Resolved};
use crate::errors::ApiError;
use crate::faults::{Fault, FaultEngine};
use crate::operations;
use crate::persist;
use crate::pg::effects::Gate;
use crate::pg::{PgError, PgRuntime};
use crate::query::Query;
use crate::resources::{Call, Ctx};
use crate::store::Store;

/// Prefix of every Postgres API path.
pub const API_PREFIX: &str = "/api/2.0/postgres/";

/// How many API requests the request log keeps (the oldest are forgotten first).
pub const REQUEST_LOG_CAP: usize = 100_000;

/// One API request as the emulator saw it: the request log lets tests assert the exact
/// sequence a client sent and what became of each request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoggedRequest {
    /// The SDK method name (`create_branch`, `get_operation`; `unknown` off the API).
    pub op: String,
    /// The URL path.
    pub path: String,
    /// The injected fault: `none`, `drop`, `lost_response`, `slow_lost_response`, `429`, `503`.
    pub fault: &'static str,
    /// The status the emulator answered, or would have answered had the answer not been
    /// lost; `None` when the request was dropped before it was handled.
    pub status: Option<u16>,
}

/// Settings that may change while the server runs.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Latency of long-running operations.
    pub op_latency: Duration,
    /// Reconciliation window of endpoint changes.
    pub reconcile: Duration,
    /// Default list page size.
    pub default_page_size: usize,
}

/// State shared by all requests.
#[derive(Debug)]
pub struct AppState {
    /// Resources and operations.
    pub store: Arc<Mutex<Store>>,
    /// The real-PostgreSQL layer (`--postgres`).
    pub pg: Option<Arc<PgRuntime>>,
    /// Identity behind personal access tokens.
    pub user: String,
    /// Where the state is kept across restarts (`--data-dir`).
    pub persist_path: Option<std::path::PathBuf>,
    /// Default and cap of database credential lifetimes.
    pub credential_ttl: Duration,
    /// Mutable settings.
    pub runtime: Mutex<Runtime>,
    /// Fault injection.
    pub faults: Mutex<FaultEngine>,
    /// OAuth tokens issued by the emulator.
    pub tokens: Mutex<IssuedTokens>,
    /// Requests per SDK method name (faulted ones included).
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// The last [`REQUEST_LOG_CAP`] API requests, oldest first.
    pub log: Mutex<VecDeque<LoggedRequest>>,
    /// Total HTTP requests received.
    pub total: AtomicU64,
    /// Fixed accepted token, if any.
    pub token: Option<String>,
    /// Whether the `/_emulator/*` admin routes ask for [`AppState::token`]: when the
    /// server is bound to anything but loopback.
    pub admin_needs_token: bool,
    /// Accepted client credentials, if restricted.
    pub m2m: Option<M2mCredentials>,
    /// Lifetime of issued OAuth tokens.
    pub m2m_token_lifetime: Duration,
    /// Trusted identity providers (token exchange and bearer JWTs).
    pub federation: crate::federation::Federation,
    /// Workspace id announced in host metadata.
    pub workspace_id: String,
    /// `http://host:port` of the server.
    pub base_url: String,
    /// Secret salt of page tokens.
    pub salt: u64,
    /// The OAuth U2M authorization server.
    pub oauth: crate::oauth::AuthorizationServer,
}

impl AppState {
    /// State for a server reachable at `base_url`; starts the real-PostgreSQL layer when
    /// configured (inside a Tokio runtime), with the state kept in its data directory.
    pub fn new(cfg: &Config, base_url: String) -> Result<Self, PgError> {
        let persist_path = cfg
            .postgres
            .as_ref()
            .and_then(|pg| pg.data_dir.as_deref())
            .map(persist::path_in);
        let store = match &persist_path {
            Some(path) => persist::load(path).map_err(|e| PgError::Setup(format!("{}: {e}", path.display())))?,
            None => Store::default(),
        };
        let store = Arc::new(Mutex::new(store));
        let pg = match &cfg.postgres {
            Some(pg) => Some(PgRuntime::start(pg, store.clone())?),
            None => None,
        };
        if let Some(pg) = &pg {
            pg.resume()?;
        }
        Ok(Self {
            store,
            pg,
            persist_path,
            user: cfg.user.clone(),
            credential_ttl: cfg.credential_ttl,
            runtime: Mutex::new(Runtime {
                op_latency: cfg.op_latency,
                reconcile: cfg.reconcile,
                default_page_size: cfg.default_page_size.max(1),
            }),
            faults: Mutex::new(FaultEngine::new(cfg.faults.clone())),
            tokens: Mutex::new(IssuedTokens::default()),
            counts: Mutex::new(BTreeMap::new()),
            log: Mutex::new(VecDeque::new()),
            total: AtomicU64::new(0),
            token: cfg.token.clone(),
            admin_needs_token: !cfg.bind.ip().is_loopback(),
            m2m: cfg.m2m.clone(),
            m2m_token_lifetime: cfg.m2m_token_lifetime,
            federation: crate::federation::Federation::new(
                cfg.federation_policies.clone(),
                cfg.bearer_policies.clone(),
            ),
            workspace_id: cfg.workspace_id.clone(),
            base_url,
            salt: rand::random(),
            oauth: crate::oauth::AuthorizationServer::new(cfg.oauth.clone()),
        })
    }

    /// Adds a streaming CDF status for `postgres_table` under the CDF configuration named
    /// `config`; `None` when the state's lock is poisoned.
    pub fn add_cdf_status(&self, config: &str, postgres_table: &str) -> Option<Result<Value, ApiError>> {
        self.with_ctx(false, None, |ctx| {
            crate::resources::cdf::add_status(ctx, config, postgres_table)
        })
    }

    /// Appends a request to the log, forgetting the oldest beyond [`REQUEST_LOG_CAP`].
    fn record(&self, request: LoggedRequest) {
        if let Ok(mut log) = self.log.lock() {
            if log.len() == REQUEST_LOG_CAP {
                log.pop_front();
            }
            log.push_back(request);
        }
    }

    /// Runs `f` with a request context (store lock held, no faults) for `caller` (default:
    /// the PAT user). Work on the real databases that `f` decided is queued before the lock
    /// is released, and the operations `f` started wait for it.
    pub fn with_ctx<T>(&self, fail_op: bool, caller: Option<&str>, f: impl FnOnce(&mut Ctx<'_>) -> T) -> Option<T> {
        let rt = self.runtime.lock().ok()?.clone();
        let mut store = self.store.lock().ok()?;
        let mut ctx = Ctx {
            store: &mut store,
            now: chrono::Utc::now(),
            instant: Instant::now(),
            op_latency: rt.op_latency,
            reconcile: rt.reconcile,
            default_page_size: rt.default_page_size,
            salt: self.salt,
            fail_op,
            caller: caller.unwrap_or(&self.user).to_string(),
            credential_ttl: self.credential_ttl,
            pg: self.pg.clone(),
            effects: Vec::new(),
            ops_started: Vec::new(),
        };
        let out = f(&mut ctx);
        let effects = std::mem::take(&mut ctx.effects);
        let ops = std::mem::take(&mut ctx.ops_started);
        if let (Some(pg), false) = (&self.pg, effects.is_empty()) {
            let gate = Gate::default();
            for name in &ops {
                if let Some(op) = ctx.store.ops.get_mut(name) {
                    op.gate = Some(gate.clone());
                }
            }
            let project = ops
                .first()
                .map_or_else(|| "seed".to_string(), |o| crate::resources::op_root(o));
            pg.submit(&project, effects, gate);
        }
        Some(out)
    }
}

fn internal() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        "Internal emulator error.",
    )
}

/// A response whose body fails at once: the connection is closed without a complete answer.
fn dropped() -> Response {
    let stream = futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("injected drop")) });
    Response::new(Body::from_stream(stream))
}

async fn api(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let rest = path.strip_prefix(API_PREFIX).unwrap_or_default();
    let resolved = dispatch::resolve(&method, rest, path);
    let op = resolved.as_ref().map_or("unknown", Resolved::op_name).to_string();
    if let Ok(mut c) = state.counts.lock() {
        *c.entry(op.clone()).or_default() += 1;
    }
    let Ok((decision, slow_lost)) = state.faults.lock().map(|mut f| (f.decide(), f.config().slow_lost_ms)) else {
        return internal().into_response();
    };
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let answer = match decision.fault {
        Fault::Drop => None,
        Fault::TooManyRequests => {
            let secs = state.faults.lock().map(|f| f.config().retry_after_secs).unwrap_or(1);
            Some(ApiError::too_many_requests(secs).into_response())
        }
        Fault::Unavailable => Some(ApiError::unavailable().into_response()),
        Fault::None | Fault::LostResponse | Fault::SlowLostResponse => {
            Some(match crate::federation::check(&state, &headers).await {
                Ok(caller) => {
                    match resolved.and_then(|r| handle(&state, r, uri.query(), &body, decision.fail_op, &caller)) {
                        Ok(v) => Json(v).into_response(),
                        Err(e) => e.into_response(),
                    }
                }
                Err(e) => e.into_response(),
            })
        }
    };
    state.record(LoggedRequest {
        op,
        path: path.to_string(),
        fault: decision.fault.as_str(),
        status: answer.as_ref().map(|r| r.status().as_u16()),
    });
    match (decision.fault, answer) {
        (Fault::SlowLostResponse, _) => {
            tokio::time::sleep(Duration::from_millis(slow_lost)).await;
            dropped()
        }
        (Fault::LostResponse, _) | (_, None) => dropped(),
        (_, Some(answer)) => answer,
    }
}

pub(crate) fn handle(
    state: &AppState,
    resolved: Resolved,
    raw_query: Option<&str>,
    body: &[u8],
    fail_op: bool,
    caller: &str,
) -> Result<Value, ApiError> {
    match resolved {
        Resolved::Operation(name) => {
            let store = state.store.lock().map_err(|_| internal())?;
            let op = store
                .ops
                .get(&name)
                .ok_or_else(|| ApiError::not_found("Operation", &name))?;
            Ok(operations::render(op, Instant::now()))
        }
        Resolved::Method(op, handler, ids) => {
            let query = Query::parse(raw_query)?;
            let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("Invalid JSON body: {e}")))?
            };
            if !body.is_object() {
                return Err(ApiError::malformed("Request body must be a JSON object"));
            }
            let reads = op.method == "GET";
            let call = Call { op, ids, query, body };
            state
                .with_ctx(fail_op, Some(caller), |ctx| {
                    let out = handler(ctx, &call);
                    if let (false, Some(path)) = (reads, &state.persist_path)
                        && let Err(e) = persist::save(ctx.store, path)
                    {
                        tracing::error!(error = %e, path = %path.display(), "could not save the emulator state");
                    }
                    out
                })
                .unwrap_or_else(|| Err(internal()))
        }
    }
}

async fn log(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    state.total.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    resp
}

/// Guards the `/_emulator/*` admin routes of a server bound beyond loopback: they need the
/// emulator's own token (`--token`); without one configured they are closed.
async fn admin_auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !state.admin_needs_token {
        return next.run(req).await;
    }
    let Some(expected) = &state.token else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The admin routes of an emulator bound beyond loopback need its token: start it with --token.",
        )
        .into_response();
    };
    let sent = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if sent == Some(expected.as_str()) {
        next.run(req).await
    } else {
        ApiError::unauthenticated("The admin routes need the emulator's token as 'Authorization: Bearer <token>'.")
            .into_response()
    }
}

async fn get_faults(State(state): State<Arc<AppState>>) -> Response {
    match state.faults.lock() {
        Ok(f) => Json(f.config().clone()).into_response(),
        Err(_) => internal().into_response(),
    }
}

async fn put_faults(State(state): State<Arc<AppState>>, Json(cfg): Json<FaultConfig>) -> Response {
    match state.faults.lock() {
        Ok(mut f) => {
            *f = FaultEngine::new(cfg.clone());
            Json(cfg).into_response()
        }
        Err(_) => internal().into_response(),
    }
}

/// Body of `POST /_emulator/cdf-statuses`.
#[derive(serde::Deserialize)]
struct NewCdfStatus {
    /// Full name of an existing CDF configuration.
    cdf_config: String,
    /// The Postgres table whose change feed the status reports.
    postgres_table: String,
}

/// Adds a streaming CDF status under an existing CDF configuration (the service creates them
/// as tables stream; the emulator has no tables, so tests and recorders add them here).
async fn add_cdf_status(State(state): State<Arc<AppState>>, Json(new): Json<NewCdfStatus>) -> Response {
    match state.add_cdf_status(&new.cdf_config, &new.postgres_table) {
        Some(Ok(status)) => Json(status).into_response(),
        Some(Err(e)) => e.into_response(),
        None => internal().into_response(),
    }
}

/// `GET /api/2.0/preview/scim/v2/Me`: the calling identity, as the workspace answers it.
async fn scim_me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match crate::federation::check(&state, &headers).await {
        Ok(identity) => Json(auth::scim_user(&identity)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /_emulator/ca.pem`: the certificate authority of the endpoints' TLS certificates.
async fn ca_pem(State(state): State<Arc<AppState>>) -> Response {
    match &state.pg {
        Some(pg) => (
            [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
            pg.ca_pem().to_string(),
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The emulator runs without --postgres: no TLS.",
        )
        .into_response(),
    }
}

/// Body of `POST /_emulator/suspend`.
#[derive(serde::Deserialize)]
struct Suspend {
    /// Endpoint name.
    endpoint: String,
}

/// `POST /_emulator/suspend {"endpoint": ...}`: suspends an endpoint's compute now.
async fn suspend(State(state): State<Arc<AppState>>, Json(req): Json<Suspend>) -> Response {
    let Some(pg) = &state.pg else {
        return ApiError::invalid("The emulator runs without --postgres: no computes to suspend.").into_response();
    };
    if pg.suspend_endpoint(&req.endpoint).await {
        Json(json!({})).into_response()
    } else {
        ApiError::not_found("Endpoint", &req.endpoint).into_response()
    }
}

/// `GET /_emulator/oauth`: token requests by grant type (and `authorize` requests).
async fn oauth_stats(State(state): State<Arc<AppState>>) -> Response {
    Json(json!({"grants": state.oauth.grant_counts()})).into_response()
}

/// `POST /_emulator/oauth/revoke`: every refresh token issued so far stops working.
async fn oauth_revoke(State(state): State<Arc<AppState>>) -> Response {
    state.oauth.revoke_refresh_tokens();
    Json(json!({})).into_response()
}

async fn stats(State(state): State<Arc<AppState>>) -> Response {
    let counts = state.counts.lock().map(|c| c.clone()).unwrap_or_default();
    let pids = state.pg.as_ref().map(|pg| pg.server_pids()).unwrap_or_default();
    Json(json!({"total": state.total.load(Ordering::Relaxed), "by_method": counts, "postgres_pids": pids}))
        .into_response()
}

/// `GET /_emulator/requests`: the request log, oldest first.
async fn requests(State(state): State<Arc<AppState>>) -> Response {
    let log: Vec<LoggedRequest> = state
        .log
        .lock()
        .map(|l| l.iter().cloned().collect())
        .unwrap_or_default();
    Json(log).into_response()
}

async fn fallback(method: Method, uri: Uri) -> Response {
    ApiError::no_route(method.as_str(), uri.path()).into_response()
}

/// The application router.
pub fn router(state: Arc<AppState>) -> Router {
    let admin = Router::new()
        .route("/_emulator/faults", get(get_faults).put(put_faults))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/cdf-statuses", post(add_cdf_status))
        .route("/_emulator/ca.pem", get(ca_pem))
        .route("/_emulator/suspend", post(suspend))
        .route("/_emulator/oauth", get(oauth_stats))
        .route("/_emulator/oauth/revoke", post(oauth_revoke))
        .route_layer(middleware::from_fn_with_state(state.clone(), admin_auth));
    Router::new()
        .route("/api/2.0/postgres/{*rest}", any(api))
        .route("/.well-known/databricks-config", get(auth::host_metadata))
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(auth::oidc_discovery),
        )
        .route("/oidc/v1/token", post(auth::token))
        .route("/oidc/v1/authorize", get(auth::authorize))
        .merge(admin)
        .route("/api/2.0/preview/scim/v2/Me", get(scim_me))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), log))
        .with_state(state)
}
