//! [`Client`]: the entry point.

use std::sync::Arc;

use http::HeaderValue;

use crate::config::Config;
use crate::error::Error;
use crate::identity::Identity;
use crate::polling::PollingPolicy;
use crate::retry::{Sleeper, TokioSleeper};
use crate::transport::Executor;

/// A client of the Lakebase Postgres API. Cheap to clone; clones share the connection
/// pool and credentials.
///
/// ```no_run
/// # async fn demo() -> Result<(), lakebase::Error> {
/// use lakebase::{Client, Config, ProjectName};
/// let client = Client::new(Config::builder().host("https://my-workspace.cloud.databricks.com").token("dapi...").build()?)?;
/// let project = client.get_project(&ProjectName::new("my-app")?).await?;
/// println!("{:?}", project.status);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    raw: lakebase_generated::Client,
    polling: PollingPolicy,
    sleeper: Arc<dyn Sleeper>,
    host: String,
    identity: Identity,
}

impl Client {
    /// A client for the workspace and credentials of `config`.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_sleeper(config, Arc::new(TokioSleeper))
    }

    /// A client configured from the environment and `~/.databrickscfg`, the way the
    /// Databricks CLI and SDKs do (see [`Config::from_env`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::new(Config::from_env()?)
    }

    /// Like [`Client::new`], with the [`Sleeper`] used between retries and polls
    /// replaced (tests use one that returns at once).
    pub fn with_sleeper(config: Config, sleeper: Arc<dyn Sleeper>) -> Result<Self, Error> {
        let credentials = config.credentials().clone();
        let identity = Identity::new(credentials.client_id());
        let user_agent = config.user_agent().header_value();
        let workspace_id = match config.workspace_id() {
            Some(id) => Some(
                HeaderValue::from_str(id)
                    .map_err(|_| Error::Config(format!("workspace id {id:?} is not a valid header value")))?,
            ),
            None => None,
        };
        let mut auth_context = format!("host={}, auth_type={}", config.host(), credentials.auth_type());
        if let Some(id) = config.workspace_id() {
            auth_context.push_str(&format!(", workspace_id={id}"));
        }
        let executor = Executor {
            credentials,
            workspace_id,
            user_agent,
            retry: config.retry_policy().clone(),
            sleeper: sleeper.clone(),
            request_timeout: config.timeout(),
            auth_context: auth_context.into(),
        };
        let mut http = crate::tls::http_client_builder()
            .connect_timeout(config.timeout())
            .timeout(config.timeout());
        if config.host().starts_with("http://") {
            // Plain HTTP is only allowed to loopback hosts (the emulator, tests): skip loading
            // and parsing the OS trust store, a few milliseconds of every `Client::new`.
            http = http.tls_certs_only([]);
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let hooks = lakebase_generated::hooks::Hooks::with_executor(Arc::new(executor));
        let raw = lakebase_generated::Client::new_with_client(config.host(), http, hooks);
        Ok(Client {
            inner: Arc::new(Inner {
                raw,
                polling: config.polling_policy().clone(),
                sleeper,
                host: config.host().to_string(),
                identity,
            }),
        })
    }

    /// The generated client underneath, for anything this crate does not wrap. Its
    /// requests still go through authentication, retries and tracing.
    pub fn raw(&self) -> &lakebase_generated::Client {
        &self.inner.raw
    }

    /// The normalised workspace URL requests go to.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The policy [`Operation::wait`](crate::Operation::wait) uses.
    pub fn polling_policy(&self) -> &PollingPolicy {
        &self.inner.polling
    }

    pub(crate) fn sleeper(&self) -> &Arc<dyn Sleeper> {
        &self.inner.sleeper
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.inner.identity
    }
}
