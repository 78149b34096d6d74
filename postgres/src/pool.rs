//! [`Pool`]: a `deadpool_postgres::Pool` whose connections log in with the shared credential.

use std::ops::Deref;
use std::sync::Arc;

use lakebase::{Client, EndpointName};

use crate::builder::PoolBuilder;
use crate::credential::CredentialCache;
use crate::error::Error;
use crate::tls::TlsMode;

/// A pool of Postgres connections to one Lakebase endpoint. Cheap to clone.
///
/// It derefs to [`deadpool_postgres::Pool`], so everything built for deadpool-postgres and
/// tokio-postgres works with it; [`get`](Self::get) is deadpool's `get` with typed errors.
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
}

/// A snapshot of the pool's occupancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Most connections the pool opens.
    pub max_size: usize,
    /// Connections open now (idle and in use).
    pub size: usize,
    /// Idle connections ready to be handed out.
    pub idle: usize,
    /// `get()` calls waiting for a connection.
    pub waiting: usize,
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

    /// A connection: an idle one if any (no request, no login), else a new one logged in
    /// with the cached credential. Waking computes, stale tokens and expired connections
    /// are handled here; see the crate docs.
    pub async fn get(&self) -> Result<deadpool_postgres::Object, Error> {
        self.pool.get().await.map_err(Error::from_pool)
    }

    /// Occupancy: size, idle, waiting.
    pub fn status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    /// The credential cache; pass it to [`PoolBuilder::credentials`] to share it.
    pub fn credentials(&self) -> &CredentialCache {
        &self.info.credentials
    }

    /// The deadpool pool underneath.
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

impl Deref for Pool {
    type Target = deadpool_postgres::Pool;

    fn deref(&self) -> &Self::Target {
        &self.pool
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
            .field("credentials", &self.info.credentials)
            .finish()
    }
}
