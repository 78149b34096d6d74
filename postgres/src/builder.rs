//! [`PoolBuilder`]: settings of a [`Pool`], explicit or from the environment the official
//! Node driver and Databricks Apps use.
//!
//! | setting | builder | environment | default |
//! |---|---|---|---|
//! | endpoint (resource name) | [`endpoint`](PoolBuilder::endpoint) | `LAKEBASE_ENDPOINT` | required |
//! | database | [`database`](PoolBuilder::database) | `PGDATABASE` | `databricks_postgres` |
//! | user | [`user`](PoolBuilder::user) | `PGUSER` | OAuth client id, else SCIM `Me` user name |
//! | host | [`host`](PoolBuilder::host) | `PGHOST` | the endpoint's `status.hosts.host` (`read_only_host` for [`read_only`](PoolBuilder::read_only)) |
//! | port | [`port`](PoolBuilder::port) | `PGPORT` | 5432 |
//! | application name | [`application_name`](PoolBuilder::application_name) | `PGAPPNAME` | `lakebase-rs/<version>` |
//! | TLS | [`tls_mode`](PoolBuilder::tls_mode), [`ca_cert_pem`](PoolBuilder::ca_cert_pem) | `PGSSLMODE`, `PGSSLROOTCERT` (a file) | verified TLS, system roots |
//! | Databricks auth | [`client`](PoolBuilder::client) | `DATABRICKS_HOST`, `DATABRICKS_TOKEN` / `DATABRICKS_CLIENT_ID` + `DATABRICKS_CLIENT_SECRET`, `~/.databrickscfg` | – |
//!
//! Explicit values win over the environment. Everything is checked before any request.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use lakebase::config::{Env, OsEnv};
use lakebase::{Client, Config, EndpointName};

use crate::connect::LakebaseConnect;
use crate::credential::{CredentialCache, DEFAULT_CREDENTIAL_TTL, RefreshPolicy};
use crate::error::Error;
use crate::health::{DEFAULT_VALIDATE_AFTER_IDLE, Health};
use crate::metrics::{PoolGauges, PoolMetrics};
use crate::pool::{Pool, PoolInfo};
use crate::tls::{self, TlsMode};

/// Database every Lakebase project has.
pub const DEFAULT_DATABASE: &str = "databricks_postgres";
/// Postgres port of Lakebase endpoints.
pub const DEFAULT_PORT: u16 = 5432;
/// Most connections open at once (like the official Node driver).
pub const DEFAULT_MAX_SIZE: usize = 10;
/// Time to open one connection, retries on a waking compute included.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time `get()` waits for a free slot when all connections are in use.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections older than this are closed when they come back to the pool's front
/// instead of being reused.
///
/// 30 minutes: the service closes sessions after 24 h idle and may close them after 3 days,
/// so a pool must recycle well before either; half an hour is what sqlx and HikariCP
/// default to, it spreads reconnects over time (each costs a login, never an API request:
/// the credential is cached), and it bounds how long a connection keeps backend memory,
/// session state and a compute that autoscaling or a restart has since replaced.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// What [`PoolBuilder::endpoint`] takes: an [`EndpointName`], or text parsed into one when
/// the pool is built.
pub trait IntoEndpointName {
    /// The name, or the text that is not yet parsed.
    fn into_endpoint_name(self) -> Result<EndpointName, String>;
}

impl IntoEndpointName for EndpointName {
    fn into_endpoint_name(self) -> Result<EndpointName, String> {
        Ok(self)
    }
}

impl IntoEndpointName for &EndpointName {
    fn into_endpoint_name(self) -> Result<EndpointName, String> {
        Ok(self.clone())
    }
}

impl IntoEndpointName for &str {
    fn into_endpoint_name(self) -> Result<EndpointName, String> {
        Err(self.to_owned())
    }
}

impl IntoEndpointName for String {
    fn into_endpoint_name(self) -> Result<EndpointName, String> {
        Err(self)
    }
}

impl IntoEndpointName for &String {
    fn into_endpoint_name(self) -> Result<EndpointName, String> {
        Err(self.clone())
    }
}

/// Builder of a [`Pool`]; see the [module docs](self) for every setting.
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    client: Option<Client>,
    endpoint: Option<Result<EndpointName, String>>,
    database: Option<String>,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    read_only: bool,
    tls_mode: Option<TlsMode>,
    ca_cert_pem: Option<String>,
    pub(crate) max_size: usize,
    connect_timeout: Duration,
    pub(crate) wait_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) validate_after_idle: Option<Duration>,
    credential_ttl: Duration,
    refresh: RefreshPolicy,
    credentials: Option<CredentialCache>,
    application_name: Option<String>,
    env: Arc<dyn Env>,
    #[cfg(feature = "otel")]
    meter: Option<opentelemetry::metrics::Meter>,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            client: None,
            endpoint: None,
            database: None,
            user: None,
            host: None,
            port: None,
            read_only: false,
            tls_mode: None,
            ca_cert_pem: None,
            max_size: DEFAULT_MAX_SIZE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Some(DEFAULT_WAIT_TIMEOUT),
            max_lifetime: Some(DEFAULT_MAX_LIFETIME),
            validate_after_idle: Some(DEFAULT_VALIDATE_AFTER_IDLE),
            credential_ttl: DEFAULT_CREDENTIAL_TTL,
            refresh: RefreshPolicy::default(),
            credentials: None,
            application_name: None,
            env: Arc::new(OsEnv),
            #[cfg(feature = "otel")]
            meter: None,
        }
    }
}

/// What [`PoolBuilder::build`] resolved before connecting: where and as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) endpoint: EndpointName,
    pub(crate) database: String,
    pub(crate) port: u16,
    pub(crate) tls_mode: TlsMode,
    pub(crate) ca_cert_pem: Option<String>,
}

/// Where and as whom, with the credential cache: everything but the pool itself.
pub(crate) struct Resolved {
    pub(crate) target: Target,
    pub(crate) client: Client,
    pub(crate) host: String,
    pub(crate) user: String,
    pub(crate) credentials: CredentialCache,
}

impl PoolBuilder {
    /// The Lakebase client minting credentials and discovering host and user (default:
    /// [`Client::new`] of a [`Config`] from the environment and `~/.databrickscfg`).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The endpoint: an [`EndpointName`] or its text, `projects/{p}/branches/{b}/endpoints/{e}`
    /// (text that does not parse fails [`build`](Self::build) with [`Error::Config`]).
    pub fn endpoint(mut self, endpoint: impl IntoEndpointName) -> Self {
        self.endpoint = Some(endpoint.into_endpoint_name());
        self
    }

    /// The database.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// The Postgres user: the Databricks identity the credential is issued to.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The host, instead of asking the endpoint.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The port (default 5432).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Connect to the endpoint's read-only host.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// TLS mode (default [`TlsMode::Require`], or `PGSSLMODE`).
    pub fn tls_mode(mut self, mode: TlsMode) -> Self {
        self.tls_mode = Some(mode);
        self
    }

    /// Trust this CA (PEM) instead of the system roots, e.g. the emulator's.
    pub fn ca_cert_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_cert_pem = Some(pem.into());
        self
    }

    /// Most connections open at once (default 10).
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// Time to open one connection, retries included (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time `get()` waits for a free slot (default 30 s; `None` waits for ever).
    pub fn wait_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Connections older than this are not reused (default [`DEFAULT_MAX_LIFETIME`]; `None`
    /// keeps them until they break).
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Idle connections last handed out longer ago than this are checked with a round trip
    /// before reuse (default [`DEFAULT_VALIDATE_AFTER_IDLE`], 5 s; `Some(Duration::ZERO)`
    /// checks every reuse; `None` checks only after a connection failure). See
    /// [`crate::health`].
    pub fn validate_after_idle(mut self, idle: Option<Duration>) -> Self {
        self.validate_after_idle = idle;
        self
    }

    /// Lifetime asked for each credential (default and maximum 1 h; at least 300 s).
    pub fn credential_ttl(mut self, ttl: Duration) -> Self {
        self.credential_ttl = ttl;
        self
    }

    /// When credentials are refreshed (default [`RefreshPolicy::default`]).
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// Share this credential cache (another pool's, see [`Pool::credentials`]) instead of
    /// minting separately. It must be for the same endpoint and identity.
    pub fn credentials(mut self, cache: CredentialCache) -> Self {
        self.credentials = Some(cache);
        self
    }

    /// `application_name` of the sessions (default: `PGAPPNAME`, which Databricks Apps set,
    /// else `lakebase-rs/<version>`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// The sessions' `application_name`: see [`application_name`](Self::application_name).
    pub(crate) fn session_application_name(&self) -> String {
        crate::apps::application_name(self.application_name.as_deref(), self.env.as_ref())
    }

    /// Where `LAKEBASE_ENDPOINT`, `PG*` and the Databricks variables are read (default: the
    /// process environment).
    pub fn env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// Checks the settings and fills unset ones from the environment; nothing is sent.
    pub(crate) fn target(&self) -> Result<Target, Error> {
        let env = self.env.as_ref();
        let endpoint = match self.endpoint.clone().or_else(|| env.var("LAKEBASE_ENDPOINT").map(Err)) {
            Some(Ok(endpoint)) => endpoint,
            Some(Err(text)) => text
                .parse()
                .map_err(|e| Error::Config(format!("endpoint {text:?}: {e}")))?,
            None => {
                return Err(Error::Config(
                    "no endpoint: set it on the builder or LAKEBASE_ENDPOINT (projects/P/branches/B/endpoints/E)"
                        .to_owned(),
                ));
            }
        };
        let database = self
            .database
            .clone()
            .or_else(|| env.var("PGDATABASE"))
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let port = match (self.port, env.var("PGPORT")) {
            (Some(port), _) => port,
            (None, Some(port)) => port
                .trim()
                .parse()
                .map_err(|_| Error::Config(format!("PGPORT {port:?} is not a port number")))?,
            (None, None) => DEFAULT_PORT,
        };
        let tls_mode = match (self.tls_mode, env.var("PGSSLMODE")) {
            (Some(mode), _) => mode,
            (None, Some(mode)) => mode.parse()?,
            (None, None) => TlsMode::Require,
        };
        let ca_cert_pem = match (&self.ca_cert_pem, env.var("PGSSLROOTCERT")) {
            (Some(pem), _) => Some(pem.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| Error::Config(format!("PGSSLROOTCERT {path:?} cannot be read: {e}")))?,
            ),
            (None, None) => None,
        };
        if self.max_size == 0 {
            return Err(Error::Config("max_size must be at least 1".to_owned()));
        }
        if self.connect_timeout.is_zero() {
            return Err(Error::Config("connect_timeout must be positive".to_owned()));
        }
        if !(Duration::from_secs(300)..=Duration::from_secs(3600)).contains(&self.credential_ttl) {
            return Err(Error::Config(format!(
                "credential_ttl {:?} is outside what the service accepts (300 s to 1 h)",
                self.credential_ttl
            )));
        }
        if database.is_empty() {
            return Err(Error::Config("the database name is empty".to_owned()));
        }
        Ok(Target {
            endpoint,
            database,
            port,
            tls_mode,
            ca_cert_pem,
        })
    }

    /// Resolves host and user (concurrently, from the endpoint and the identity when not
    /// given), prepares TLS, and builds the pool. The first credential is requested in the
    /// background at once; no connection is opened until [`Pool::get`].
    pub async fn build(self) -> Result<Pool, Error> {
        let Resolved {
            target,
            client,
            host,
            user,
            credentials,
        } = self.resolve().await?;
        let tls = tls::connector(target.tls_mode, &host, target.ca_cert_pem.as_deref())?;
        let mut pg = tokio_postgres::Config::new();
        pg.host(&host)
            .port(target.port)
            .dbname(&target.database)
            .user(&user)
            .application_name(self.session_application_name())
            .ssl_mode(match tls {
                Some(_) => tokio_postgres::config::SslMode::Require,
                None => tokio_postgres::config::SslMode::Disable,
            });
        let health = Arc::new(Health::new(
            self.validate_after_idle,
            self.max_lifetime,
            self.pool_metrics(&target.endpoint),
        ));
        let connect = LakebaseConnect {
            credentials: credentials.clone(),
            tls,
            connect_timeout: self.connect_timeout,
            endpoint: target.endpoint.to_string(),
            health: health.clone(),
        };
        let manager = Manager::from_connect(
            pg,
            connect,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(self.max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(self.wait_timeout)
            // Our own retries are bounded by connect_timeout; this is the hard stop.
            .create_timeout(Some(self.connect_timeout + Duration::from_secs(1)))
            .recycle_timeout(Some(self.connect_timeout))
            .pre_recycle(recycle_check(health.clone()))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the pool: {e}")))?;
        let gauges = self.pool_gauges(&target.endpoint, &pool);
        Ok(Pool::new(
            pool,
            PoolInfo {
                endpoint: target.endpoint,
                host,
                port: target.port,
                database: target.database,
                user,
                read_only: self.read_only,
                tls_mode: target.tls_mode,
                client,
                credentials,
                health,
                _gauges: gauges,
            },
        ))
    }

    /// Checks the settings, then resolves host and user concurrently with the first
    /// credential request.
    pub(crate) async fn resolve(&self) -> Result<Resolved, Error> {
        let target = self.target()?;
        let env = self.env.clone();
        let client = match &self.client {
            Some(client) => client.clone(),
            None => Config::builder()
                .env(env.clone())
                .build()
                .and_then(Client::new)
                .map_err(|e| Error::api("configure the Lakebase client", e))?,
        };
        let credentials = self
            .credentials
            .clone()
            .unwrap_or_else(|| self.credential_cache(&client, &target.endpoint));
        credentials.prefetch();
        let explicit_host = self.host.clone().or_else(|| env.var("PGHOST"));
        if let Some(host) = &explicit_host {
            crate::apps::spawn_host_check(client.clone(), target.endpoint.clone(), host.clone());
        }
        let (host, user) = tokio::join!(self.resolve_host(&client, &target.endpoint, explicit_host), async {
            client
                .postgres_user_from(self.user.as_deref(), env.as_ref())
                .await
                .map_err(|e| Error::api("resolve the Postgres user", e))
        });
        Ok(Resolved {
            target,
            client,
            host: host?,
            user: user?,
            credentials,
        })
    }

    async fn resolve_host(
        &self,
        client: &Client,
        endpoint: &EndpointName,
        explicit: Option<String>,
    ) -> Result<String, Error> {
        if let Some(host) = explicit {
            return Ok(host);
        }
        let hosts = client
            .get_endpoint(endpoint)
            .await
            .map_err(|e| Error::api(format!("get endpoint {endpoint}"), e))?
            .status
            .and_then(|s| s.hosts)
            .unwrap_or_default();
        let (host, kind) = if self.read_only {
            (hosts.read_only_host, "read-only")
        } else {
            (hosts.host, "read-write")
        };
        host.filter(|h| !h.is_empty()).ok_or_else(|| Error::NoHost {
            endpoint: endpoint.to_string(),
            kind,
        })
    }
}

impl PoolBuilder {
    /// The meter of the pool's OpenTelemetry metrics (feature `otel`; default
    /// `opentelemetry::global::meter("lakebase-postgres")`). See `lakebase_postgres::otel`.
    #[cfg(feature = "otel")]
    pub fn meter(mut self, meter: opentelemetry::metrics::Meter) -> Self {
        self.meter = Some(meter);
        self
    }

    #[cfg(feature = "otel")]
    fn otel_meter(&self) -> opentelemetry::metrics::Meter {
        self.meter
            .clone()
            .unwrap_or_else(|| opentelemetry::global::meter(crate::otel::METER_NAME))
    }

    /// The instruments of a pool on `endpoint`.
    fn pool_metrics(&self, _endpoint: &EndpointName) -> PoolMetrics {
        PoolMetrics {
            #[cfg(feature = "otel")]
            otel: Some(crate::otel::Instruments::new(&self.otel_meter(), _endpoint.as_str())),
        }
    }

    /// The occupancy gauges of `pool`.
    fn pool_gauges(&self, _endpoint: &EndpointName, _pool: &deadpool_postgres::Pool) -> PoolGauges {
        PoolGauges {
            #[cfg(feature = "otel")]
            _otel: Some(crate::otel::Gauges::new(&self.otel_meter(), _endpoint.as_str(), _pool)),
        }
    }

    /// The pool's own credential cache (when none is shared in): minting for `endpoint`,
    /// each mint timed into `lakebase.token.refresh.duration` under `otel`.
    fn credential_cache(&self, client: &Client, endpoint: &EndpointName) -> CredentialCache {
        let minter = crate::credential::EndpointMinter::new(client.clone(), endpoint.clone(), self.credential_ttl);
        #[cfg(feature = "otel")]
        let minter = crate::otel::TimedMinter {
            inner: Arc::new(minter),
            instruments: crate::otel::Instruments::new(&self.otel_meter(), endpoint.as_str()),
        };
        CredentialCache::new(endpoint.to_string(), Arc::new(minter), self.refresh.clone())
    }
}

/// deadpool's `pre_recycle` hook: the lifetime and health check of every idle connection
/// about to be handed out ([`Health::check`]). deadpool's own recycling stays `Fast` (only
/// `is_closed()`): the round trip is made only when the check calls for one.
fn recycle_check(health: Arc<Health>) -> deadpool_postgres::Hook {
    deadpool_postgres::Hook::async_fn(move |client, metrics| {
        let health = health.clone();
        Box::pin(async move { health.check(client, metrics).await })
    })
}

#[cfg(test)]
mod tests;
