//! [`Pool`]: a `deadpool_postgres::Pool` whose connections log in with the shared credential
//! and are never handed out dead twice in a row.

use std::sync::Arc;

use deadpool_postgres::{Object, Timeouts};
use futures::future::BoxFuture;
use lakebase::{Client, EndpointName};
use tokio_postgres::error::SqlState;

use crate::builder::PoolBuilder;
use crate::credential::CredentialCache;
use crate::error::Error;
use crate::health::{Health, HealthStats, is_connection_error};
use crate::tls::TlsMode;

/// A pool of Postgres connections to one Lakebase endpoint. Cheap to clone.
///
/// Connections are [`deadpool_postgres::Object`]s (deref to a `tokio_postgres::Client`), so
/// everything built for deadpool-postgres and tokio-postgres works with them. Every idle
/// connection is checked before it is handed out again (see [`crate::health`]): by
/// [`get`](Self::get), [`timeout_get`](Self::timeout_get), [`run_with_retry`](Self::run_with_retry)
/// and the deadpool pool of [`inner`](Self::inner) alike, since the check is deadpool's own
/// `pre_recycle` hook.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// // LAKEBASE_ENDPOINT=projects/my-app/branches/production/endpoints/primary
/// // PGDATABASE=databricks_postgres, plus DATABRICKS_HOST and credentials.
/// let pool = lakebase_postgres::Pool::from_env().await?;
/// let conn = pool.get().await?;
/// let row = conn.query_one("select 1 + 1", &[]).await?;
/// assert_eq!(row.get::<_, i32>(0), 2);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pool {
    pool: deadpool_postgres::Pool,
    info: Arc<PoolInfo>,
}

/// What the pool connects to, resolved at build time.
#[derive(Debug)]
pub(crate) struct PoolInfo {
    pub(crate) endpoint: EndpointName,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) database: String,
    pub(crate) user: String,
    pub(crate) read_only: bool,
    pub(crate) tls_mode: TlsMode,
    pub(crate) client: Client,
    pub(crate) credentials: CredentialCache,
    pub(crate) health: Arc<Health>,
    /// Registered while the pool lives.
    pub(crate) _gauges: crate::metrics::PoolGauges,
}

/// A snapshot of the pool's occupancy, with deadpool's field names
/// ([`deadpool_postgres::Status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// Most connections the pool opens.
    pub max_size: usize,
    /// Connections open now (available and in use).
    pub size: usize,
    /// Idle connections ready to be handed out.
    pub available: usize,
    /// `get()` calls waiting for a connection.
    pub waiting: usize,
}

/// Which failures [`Pool::run_with`] retries (once) besides a lost connection.
///
/// ```
/// let retry = lakebase_postgres::RetryOn::connection_errors().serialization_failures(true);
/// # let _ = retry;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryOn {
    serialization_failures: bool,
}

impl RetryOn {
    /// Only connection-level errors ([`crate::health::is_connection_error`]): the default.
    pub fn connection_errors() -> Self {
        RetryOn::default()
    }

    /// Also `40001` (`serialization_failure`), retried on the same connection. Ask for it only
    /// when the closure runs a whole transaction, which is what the server asks you to retry.
    pub fn serialization_failures(mut self, retry: bool) -> Self {
        self.serialization_failures = retry;
        self
    }
}

impl Pool {
    pub(crate) fn new(pool: deadpool_postgres::Pool, info: PoolInfo) -> Self {
        Pool {
            pool,
            info: Arc::new(info),
        }
    }

    /// A builder with nothing set (unset values come from the environment).
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// A pool configured entirely from the environment: `LAKEBASE_ENDPOINT`, `PGDATABASE`,
    /// optionally `PGHOST`, `PGPORT`, `PGUSER`, `PGSSLMODE`, and Databricks auth.
    pub async fn from_env() -> Result<Self, Error> {
        Self::builder().build().await
    }

    /// A connection: an idle one if any (checked first when it sat idle across a connection
    /// failure or for longer than the idle threshold, see [`crate::health`]), else a new one
    /// logged in with the cached credential. Waking computes, stale tokens and expired
    /// connections are handled here; see the crate docs.
    pub async fn get(&self) -> Result<Object, Error> {
        self.pool.get().await.map_err(Error::from_pool)
    }

    /// [`get`](Self::get) with other timeouts than the pool's for this one call.
    pub async fn timeout_get(&self, timeouts: &Timeouts) -> Result<Object, Error> {
        self.pool.timeout_get(timeouts).await.map_err(Error::from_pool)
    }

    /// Runs `work` on a connection and, if it fails with a connection-level error
    /// ([`is_connection_error`]: the session was killed, the compute restarted or suspended),
    /// drops that connection and runs `work` **once more** on a fresh one. Any other error (a
    /// constraint violation, a serialization failure, a syntax error) is returned at once;
    /// see [`run_with`](Self::run_with) to retry serialization failures too.
    ///
    /// **A retried statement may have committed.** The server can close a session after it
    /// committed a statement and before the reply reached the client; the retry then runs it
    /// a second time. Make retried work idempotent (`insert ... on conflict do nothing`, a
    /// client-chosen key, an upsert), or check for its effect first.
    ///
    /// `work` returns a boxed future (`Box::pin(async move { ... })`) so that the future of
    /// `run_with_retry` is `Send` whatever `work` borrows: it can run in `tokio::spawn` and in
    /// web handlers.
    ///
    /// ```no_run
    /// # async fn demo(pool: lakebase_postgres::Pool) -> Result<(), lakebase_postgres::Error> {
    /// let id = "order-42".to_owned();
    /// pool.run_with_retry(|conn| {
    ///     let id = id.clone();
    ///     Box::pin(async move {
    ///         conn.execute("insert into orders (id) values ($1) on conflict do nothing", &[&id]).await
    ///     })
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_with_retry<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: for<'c> FnMut(&'c Object) -> BoxFuture<'c, Result<T, tokio_postgres::Error>>,
    {
        self.run_with(RetryOn::connection_errors(), work).await
    }

    /// [`run_with_retry`](Self::run_with_retry), also retrying what `retry` names (once in all).
    pub async fn run_with<T, F>(&self, retry: RetryOn, mut work: F) -> Result<T, Error>
    where
        F: for<'c> FnMut(&'c Object) -> BoxFuture<'c, Result<T, tokio_postgres::Error>>,
    {
        let conn = self.get().await?;
        let error = match work(&conn).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if is_connection_error(&error) {
            tracing::debug!(error = %error, "connection lost: retrying once on a fresh connection");
            self.info.health.record_failure(error.code().map(SqlState::code));
            // Out of the pool for good: it is closed when dropped, never handed out again.
            drop(Object::take(conn));
            let conn = self.get().await?;
            return work(&conn).await.map_err(Error::Query);
        }
        if retry.serialization_failures && error.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE) {
            tracing::debug!("serialization failure: retrying once");
            return work(&conn).await.map_err(Error::Query);
        }
        Err(Error::Query(error))
    }

    /// Occupancy: max size, size, available, waiting.
    pub fn status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// What the pool did to keep dead connections out: failures seen, validations, evictions.
    pub fn health(&self) -> HealthStats {
        self.info.health.stats()
    }

    /// Closes the pool: waiting and later `get()`s fail with [`Error::Closed`], idle
    /// connections are closed, connections in use are closed when returned.
    pub fn close(&self) {
        self.pool.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// Changes the most connections the pool opens.
    pub fn resize(&self, max_size: usize) {
        self.pool.resize(max_size);
    }
    /// The credential cache; pass it to [`PoolBuilder::credentials`] to share it.
    pub fn credentials(&self) -> &CredentialCache {
        &self.info.credentials
    }

    /// The deadpool pool underneath, for APIs that take one. Its `get()` and `timeout_get()`
    /// run the same checks (they are its hooks) but return deadpool's errors, and it has no
    /// [`run_with_retry`](Self::run_with_retry).
    pub fn inner(&self) -> &deadpool_postgres::Pool {
        &self.pool
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &EndpointName {
        &self.info.endpoint
    }

    /// The host connections go to.
    pub fn host(&self) -> &str {
        &self.info.host
    }

    /// The port connections go to.
    pub fn port(&self) -> u16 {
        self.info.port
    }

    /// The database.
    pub fn database(&self) -> &str {
        &self.info.database
    }

    /// The Postgres user.
    pub fn user(&self) -> &str {
        &self.info.user
    }

    /// Whether the pool connects to the read-only host.
    pub fn is_read_only(&self) -> bool {
        self.info.read_only
    }

    /// The TLS mode.
    pub fn tls_mode(&self) -> TlsMode {
        self.info.tls_mode
    }

    /// The Lakebase client of the pool.
    pub fn client(&self) -> &Client {
        &self.info.client
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("endpoint", &self.info.endpoint.to_string())
            .field("host", &self.info.host)
            .field("port", &self.info.port)
            .field("database", &self.info.database)
            .field("user", &self.info.user)
            .field("read_only", &self.info.read_only)
            .field("tls_mode", &self.info.tls_mode)
            .field("status", &self.status())
            .field("health", &self.health())
            .field("credentials", &self.info.credentials)
            .finish()
    }
}
