//! # lakebase-emulator
//!
//! A local, stateful, wire-faithful stand-in for the Databricks Lakebase Autoscaling
//! Postgres API (`/api/2.0/postgres/`), for developing and testing without a workspace.
//!
//! ```no_run
//! # async fn demo() -> lakebase_emulator::Result<()> {
//! let emu = lakebase_emulator::Emulator::builder()
//!     .op_latency(std::time::Duration::from_millis(10))
//!     .start()
//!     .await?;
//! println!("{}", emu.base_url()); // http://127.0.0.1:PORT
//! # Ok(()) }
//! ```
//!
//! Behaviour notes (see the crate README in the report for the full list):
//! * state lives in memory, one `Mutex` over a JSON-object store;
//! * create/update/delete/undelete return operations that finish after the configured
//!   latency, meanwhile resources show pending states;
//! * soft-deleted projects/branches stay readable with `GET` (with `delete_time` /
//!   `status.delete_time` set, as in AIP-164), are hidden from lists unless
//!   `show_deleted=true`, cannot be updated (`INVALID_STATE`) and hide their children
//!   (`NOT_FOUND` on the deleted ancestor) until undeleted.

#![warn(missing_docs)]

mod auth;
mod config;
pub mod defaults;
mod dispatch;
mod errors;
mod faults;
pub mod federation;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod ids;
mod mask;
pub mod oauth;
mod operations;
mod paging;
mod persist;
pub mod pg;
mod query;
mod resources;
pub mod run_state;
mod server;
mod store;
pub mod test_idp;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{Config, DEFAULT_USER, FaultConfig, M2mCredentials, PgConfig};
pub use federation::FederationPolicy;
pub use server::LoggedRequest;

use server::AppState;

/// Errors of the embedding API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding or serving failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A seeding call was rejected (the message is the API error message).
    #[error("rejected: {0}")]
    Rejected(String),
    /// Internal state is unavailable (a lock was poisoned).
    #[error("emulator state unavailable")]
    Poisoned,
    /// The real-PostgreSQL mode could not start (binaries missing, port busy, ...).
    #[error("{0}")]
    Postgres(#[from] pg::PgError),
    /// The call needs `--postgres` mode.
    #[error("the emulator runs without real PostgreSQL (enable it with EmulatorBuilder::postgres)")]
    NoPostgres,
}

/// Result of the embedding API.
pub type Result<T> = std::result::Result<T, Error>;

/// A running emulator. Stops when dropped (or on [`Emulator::shutdown`]).
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Builder of an [`Emulator`]; see [`Config`] for the defaults.
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    config: Config,
}

impl EmulatorBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Address to bind (default `127.0.0.1:0`). Bound to anything but loopback, the
    /// `/_emulator/*` admin routes need the [`EmulatorBuilder::token`] (and are closed
    /// without one).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// Time long-running operations take (default [`defaults::OP_LATENCY`]).
    pub fn op_latency(mut self, latency: Duration) -> Self {
        self.config.op_latency = latency;
        self
    }

    /// How long an endpoint keeps reconciling after its operation finished (default
    /// [`defaults::RECONCILE`]): `status.pending_state` stays set, and deleting or
    /// (re-)creating endpoints of its branch meanwhile answers `409` "Endpoint reconciliation
    /// still in progress", as the service does. Zero turns the window off.
    pub fn reconcile(mut self, window: Duration) -> Self {
        self.config.reconcile = window;
        self
    }

    /// Accept only this personal access token (plus OAuth tokens the emulator issued).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.token = Some(token.into());
        self
    }

    /// Accept only these OAuth M2M client credentials at the token endpoint.
    pub fn m2m_credentials(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.config.m2m = Some(M2mCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        });
        self
    }

    /// Trusts an identity provider for token exchange (RFC 8693) at the token endpoint, as a
    /// workspace's federation policy does (see [`federation`]).
    pub fn federation_policy(mut self, policy: FederationPolicy) -> Self {
        self.config.federation_policies.push(policy);
        self
    }

    /// Accepts an identity provider's JWTs directly as bearer tokens on the API, after the
    /// same checks as a token exchange (see [`federation`]).
    pub fn bearer_policy(mut self, policy: FederationPolicy) -> Self {
        self.config.bearer_policies.push(policy);
        self
    }

    /// Public OAuth client ids accepted by `/oidc/v1/authorize` besides `databricks-cli`.
    pub fn oauth_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.config.oauth.client_ids.push(client_id.into());
        self
    }

    /// How long OAuth refresh tokens may be used (default 30 days).
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.oauth.refresh_token_lifetime = lifetime;
        self
    }

    /// Lifetime of issued OAuth access tokens (default 1 h).
    pub fn m2m_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.m2m_token_lifetime = lifetime;
        self
    }

    /// Fault injection settings.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.config.faults = faults;
        self
    }

    /// Default list page size (default 50).
    pub fn default_page_size(mut self, size: usize) -> Self {
        self.config.default_page_size = size;
        self
    }

    /// Workspace id announced by `/.well-known/databricks-config`.
    pub fn workspace_id(mut self, id: impl Into<String>) -> Self {
        self.config.workspace_id = id.into();
        self
    }

    /// Serves real PostgreSQL behind every endpoint (the binary's `--postgres`).
    pub fn postgres(mut self, on: bool) -> Self {
        self.config.postgres = on.then(|| self.config.postgres.take().unwrap_or_else(default_pg));
        self
    }

    /// Port every endpoint listens on (default 5432; 0: one free port chosen at start).
    /// Implies [`EmulatorBuilder::postgres`].
    pub fn pg_port(mut self, port: u16) -> Self {
        self.pg_config().port = port;
        self
    }

    /// Directory of the PostgreSQL server binaries (default: searched on `PATH` and in
    /// `/usr/lib/postgresql/*/bin`). Implies [`EmulatorBuilder::postgres`].
    pub fn pg_bin(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.pg_config().bin_dir = Some(dir.into());
        self
    }

    /// Keeps API state and databases in `dir` across restarts (default: a temporary
    /// directory removed on exit). Implies [`EmulatorBuilder::postgres`].
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.pg_config().data_dir = Some(dir.into());
        self
    }

    /// Refuses database sessions without TLS. Implies [`EmulatorBuilder::postgres`].
    pub fn require_tls(mut self, on: bool) -> Self {
        self.pg_config().require_tls = on;
        self
    }

    /// Suspends idle computes after `idle` instead of their endpoint's suspend timeout (the
    /// service's minimum, 60 s, is long for tests); endpoints with `no_suspension` never
    /// suspend. Implies [`EmulatorBuilder::postgres`].
    pub fn suspend_after(mut self, idle: Duration) -> Self {
        self.pg_config().suspend_after = Some(idle);
        self
    }

    /// Keeps `window` of history (WAL archive and base backups) for every project instead
    /// of its `history_retention_duration` (the service's minimum, 2 days, is long for tests
    /// of pruning): point-in-time branches further back are refused, older history removed.
    /// Implies [`EmulatorBuilder::postgres`].
    pub fn history_retention(mut self, window: Duration) -> Self {
        self.pg_config().history_retention = Some(window);
        self
    }

    /// The workspace user behind personal access tokens (default `user@example.com`).
    pub fn user(mut self, email: impl Into<String>) -> Self {
        self.config.user = email.into();
        self
    }

    /// Default and cap of database credential lifetimes (default one hour), so tests can
    /// watch credentials expire.
    pub fn credential_ttl(mut self, ttl: Duration) -> Self {
        self.config.credential_ttl = ttl;
        self
    }

    fn pg_config(&mut self) -> &mut PgConfig {
        self.config.postgres.get_or_insert_with(default_pg)
    }

    /// Binds and starts serving.
    pub async fn start(self) -> Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(self.config.bind).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState::new(&self.config, format!("http://{addr}"))?);
        let app = server::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("emulator server failed: {e}");
            }
        });
        Ok(Emulator {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

fn default_pg() -> PgConfig {
    PgConfig {
        port: 5432,
        ..PgConfig::default()
    }
}

impl Emulator {
    /// Starts an emulator with the default configuration on `127.0.0.1:0`.
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// A builder with the default configuration.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received for one SDK method name (e.g. `"get_project"`, `"get_operation"`),
    /// including requests answered with an injected fault.
    pub fn request_count(&self, method: &str) -> u64 {
        self.state
            .counts
            .lock()
            .ok()
            .and_then(|c| c.get(method).copied())
            .unwrap_or(0)
    }

    /// Requests per SDK method name (`"unknown"` for paths that are not API methods).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.state.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The API requests received, oldest first (the last 100 000), each
    /// with its injected fault and the status it was (or would have been) answered with:
    /// what tests assert exact request sequences on.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.state
            .log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// OAuth token requests received by grant type (`authorization_code`, `refresh_token`,
    /// `client_credentials`), and `authorize` for authorization requests.
    pub fn oauth_grant_counts(&self) -> BTreeMap<String, u64> {
        self.state.oauth.grant_counts()
    }

    /// Makes every OAuth refresh token issued so far unusable (an expired or revoked login).
    pub fn revoke_refresh_tokens(&self) {
        self.state.oauth.revoke_refresh_tokens();
    }

    /// Total HTTP requests received (all routes).
    pub fn total_requests(&self) -> u64 {
        self.state.total.load(Ordering::Relaxed)
    }

    /// Replaces the fault configuration (re-seeding the fault generator).
    pub fn set_faults(&self, faults: FaultConfig) {
        if let Ok(mut f) = self.state.faults.lock() {
            *f = faults::FaultEngine::new(faults);
        }
    }

    /// Current fault configuration.
    pub fn faults(&self) -> FaultConfig {
        self.state.faults.lock().map(|f| f.config().clone()).unwrap_or_default()
    }

    /// Changes the latency of operations started from now on.
    pub fn set_op_latency(&self, latency: Duration) {
        if let Ok(mut rt) = self.state.runtime.lock() {
            rt.op_latency = latency;
        }
    }

    /// Changes the reconciliation window of endpoint changes made from now on.
    pub fn set_reconcile(&self, window: Duration) {
        if let Ok(mut rt) = self.state.runtime.lock() {
            rt.reconcile = window;
        }
    }

    /// Creates `n` ready projects `seed-00000`, `seed-00001`, … (each with its `production`
    /// branch and `primary` endpoint) directly, without operations. Existing ones are skipped.
    /// Returns the names of the projects created.
    pub fn seed_projects(&self, n: usize) -> Result<Vec<String>> {
        self.state
            .with_ctx(false, None, |ctx| {
                let saved = ctx.op_latency;
                ctx.op_latency = Duration::ZERO;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let id = format!("seed-{i:05}");
                    if ctx.store.contains(&format!("projects/{id}")) {
                        continue;
                    }
                    let body = json!({"spec": {"display_name": format!("Seed project {i}")}});
                    resources::projects::insert(ctx, &id, &body).map_err(|e| Error::Rejected(e.message))?;
                    out.push(format!("projects/{id}"));
                }
                ctx.op_latency = saved;
                Ok(out)
            })
            .unwrap_or(Err(Error::Poisoned))
    }

    /// Adds a streaming CDF status for `postgres_table` under the existing CDF config
    /// `config` (e.g. `projects/p/branches/b/databases/d/cdf-configs/public`); CDF statuses
    /// are read-only in the API, so this is how tests make some exist.
    pub fn add_cdf_status(&self, config: &str, postgres_table: &str) -> Result<()> {
        match self.state.add_cdf_status(config, postgres_table) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(Error::Rejected(e.message)),
            None => Err(Error::Poisoned),
        }
    }

    /// The port every endpoint's host listens on (`--postgres` mode).
    pub fn pg_port(&self) -> Option<u16> {
        self.state.pg.as_ref().map(|pg| pg.port())
    }

    /// The certificate authority of the endpoints' TLS certificates, PEM (`--postgres` mode):
    /// give it to clients as `sslrootcert` for `sslmode=verify-full`.
    pub fn ca_cert_pem(&self) -> Option<String> {
        self.state.pg.as_ref().map(|pg| pg.ca_pem().to_string())
    }

    /// The file holding [`Emulator::ca_cert_pem`] (`--postgres` mode).
    pub fn ca_cert_path(&self) -> Option<std::path::PathBuf> {
        self.state.pg.as_ref().map(|pg| pg.ca_path().to_path_buf())
    }

    /// Suspends an endpoint's compute now, as its suspend timeout would (its `current_state`
    /// turns `IDLE`); the next connection wakes it.
    pub async fn suspend_endpoint(&self, endpoint: &str) -> Result<()> {
        let pg = self.state.pg.as_ref().ok_or(Error::NoPostgres)?;
        if pg.suspend_endpoint(endpoint).await {
            Ok(())
        } else {
            Err(Error::Rejected(format!("no endpoint {endpoint}")))
        }
    }

    /// Process ids of the PostgreSQL servers running now (`--postgres` mode).
    pub fn postgres_pids(&self) -> Vec<u32> {
        self.state.pg.as_ref().map(|pg| pg.server_pids()).unwrap_or_default()
    }

    /// The Unix socket directory of the PostgreSQL server behind an endpoint, which trusts
    /// the superuser `lakebase_admin` (for benchmarks comparing the endpoint with a direct
    /// connection; clients use the endpoint's host).
    pub fn backing_socket_dir(&self, endpoint: &str) -> Option<std::path::PathBuf> {
        self.state.pg.as_ref()?.backing_socket_dir(endpoint)
    }

    /// Directory of the PostgreSQL programs in use (`--postgres` mode).
    pub fn postgres_bin_dir(&self) -> Option<std::path::PathBuf> {
        self.state.pg.as_ref().map(|pg| pg.bin_dir().to_path_buf())
    }

    /// Directory of the PostgreSQL server logs (`--postgres` mode).
    pub fn postgres_log_dir(&self) -> Option<std::path::PathBuf> {
        self.state.pg.as_ref().map(|pg| pg.log_dir().to_path_buf())
    }

    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(pg) = &self.state.pg {
            pg.shutdown();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(pg) = &self.state.pg {
            pg.shutdown();
        }
    }
}
