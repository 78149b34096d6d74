//! Client configuration and Databricks unified authentication.
//!
//! Every setting is resolved in this order: explicit builder value, then environment variable,
//! then the profile of the Databricks configuration file (`~/.databrickscfg`):
//!
//! | setting | builder | environment | profile key |
//! |---|---|---|---|
//! | workspace URL | [`ConfigBuilder::host`] | `DATABRICKS_HOST` | `host` |
//! | personal access token | [`ConfigBuilder::token`] | `DATABRICKS_TOKEN` | `token` |
//! | OAuth client id / secret | [`ConfigBuilder::client_id`] / [`ConfigBuilder::client_secret`] | `DATABRICKS_CLIENT_ID` / `DATABRICKS_CLIENT_SECRET` | `client_id` / `client_secret` |
//! | workspace id (`X-Databricks-Workspace-Id`) | [`ConfigBuilder::workspace_id`] | `DATABRICKS_WORKSPACE_ID` | `workspace_id` |
//! | auth method ([`AuthType`]: `pat`, `oauth-m2m`, `external-browser`, `databricks-cli`, ...) | [`ConfigBuilder::auth_type`] | `DATABRICKS_AUTH_TYPE` | `auth_type` |
//! | Databricks CLI program | [`ConfigBuilder::setting`] | `DATABRICKS_CLI_PATH` | `databricks_cli_path` |
//! | OAuth scopes (default `all-apis`) | [`ConfigBuilder::setting`] | – | `scopes` |
//! | OAuth discovery URL | [`ConfigBuilder::discovery_url`] | `DATABRICKS_DISCOVERY_URL` | `discovery_url` |
//! | profile name | [`ConfigBuilder::profile`] | `DATABRICKS_CONFIG_PROFILE` | – |
//! | config file | [`ConfigBuilder::config_file`] | `DATABRICKS_CONFIG_FILE` | – |
//!
//! Every other setting of the official SDKs is read the same way, by the names of
//! [`ATTRIBUTES`]. The credentials come from the chain of
//! login methods described in [`crate::auth`]; [`Config::settings`] tells where each setting
//! came from. Like the official SDKs, the file is only read when a profile is named or when
//! neither a host nor any credential is set otherwise. Setting both a token and an OAuth
//! client without `auth_type` is an error. The host is normalised: `https://` is added when there is no
//! scheme, a path, a trailing `/` and the default port `:443` are dropped; plain `http://` is
//! only accepted for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`).
//!
//! ```
//! use lakebase::config::{Config, MapEnv};
//! use std::sync::Arc;
//!
//! let config = Config::builder()
//!     .host("my-workspace.cloud.databricks.com/")
//!     .token("dapi-123")
//!     .env(Arc::new(MapEnv::new())) // don't look at the real environment
//!     .build()?;
//! assert_eq!(config.host(), "https://my-workspace.cloud.databricks.com");
//! assert_eq!(config.auth_type(), "pat");
//! assert!(!format!("{config:?}").contains("dapi-123"));
//! # Ok::<(), lakebase::error::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::settings::{ATTRIBUTES, attribute};
use crate::auth::{
    AuthConfig, AuthType, CredentialsProvider, CredentialsStrategy, Settings, Source, chain, default_strategies,
    profile,
};
use crate::error::Error;
use crate::polling::PollingPolicy;
use crate::retry::{ExponentialRetry, RetryPolicy};
use crate::secret::Secret;
use crate::user_agent::{UserAgent, check_extra};

/// Default per-request HTTP timeout (like the official SDKs).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where configuration reads environment variables and the home directory from; replace it in
/// tests so they never touch the real environment.
pub trait Env: Send + Sync + fmt::Debug {
    /// The value of an environment variable (empty counts as unset).
    fn var(&self, key: &str) -> Option<String>;
    /// The user's home directory.
    fn home_dir(&self) -> Option<PathBuf>;
}

/// The process environment (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEnv;

impl Env for OsEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }

    fn home_dir(&self) -> Option<PathBuf> {
        std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    }
}

/// An in-memory environment (for tests). `Debug` shows variable names only.
#[derive(Clone, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
}

impl MapEnv {
    /// An empty environment without home directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable.
    pub fn with_var(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Sets the home directory.
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }
}

impl fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapEnv")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .finish()
    }
}

impl Env for MapEnv {
    fn var(&self, key: &str) -> Option<String> {
        self.vars.get(key).filter(|v| !v.is_empty()).cloned()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.home.clone()
    }
}

/// Resolved client configuration. Build with [`Config::builder`] or [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    host: String,
    workspace_id: Option<String>,
    profile: Option<String>,
    timeout: Duration,
    retry_policy: Arc<dyn RetryPolicy>,
    polling_policy: PollingPolicy,
    credentials: Arc<dyn CredentialsProvider>,
    user_agent: UserAgent,
    settings: Settings,
    config_file: Option<PathBuf>,
}

impl Config {
    /// A builder with nothing set.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Configuration from the environment and the config file only.
    pub fn from_env() -> Result<Config, Error> {
        Self::builder().build()
    }

    /// Normalised workspace URL, e.g. `https://x.cloud.databricks.com` (no trailing `/`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Workspace id sent as `X-Databricks-Workspace-Id`, if configured.
    pub fn workspace_id(&self) -> Option<&str> {
        self.workspace_id.as_deref()
    }

    /// The config-file profile that was read, if any.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// Per-request HTTP timeout (default 60 s).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Retry policy of HTTP requests (default [`ExponentialRetry`]).
    pub fn retry_policy(&self) -> &Arc<dyn RetryPolicy> {
        &self.retry_policy
    }

    /// Polling policy of long-running operations (default [`PollingPolicy::default`]).
    pub fn polling_policy(&self) -> &PollingPolicy {
        &self.polling_policy
    }

    /// The credentials provider.
    pub fn credentials(&self) -> &Arc<dyn CredentialsProvider> {
        &self.credentials
    }

    /// The auth method in use (`"pat"`, `"oauth-m2m"`, or a custom provider's).
    pub fn auth_type(&self) -> &'static str {
        self.credentials.auth_type()
    }

    /// The `User-Agent` to send.
    pub fn user_agent(&self) -> &UserAgent {
        &self.user_agent
    }

    /// The resolved settings with their sources (`Debug` and [`Setting::display_value`]
    /// hide secrets).
    ///
    /// [`Setting::display_value`]: crate::auth::Setting::display_value
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The config file consulted (`~/.databrickscfg` unless `DATABRICKS_CONFIG_FILE` or the
    /// builder says otherwise), if a home directory or a path is known.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        self.config_file.as_deref()
    }
}

/// Builder of [`Config`]; unset values come from the environment and the config file.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    explicit: Vec<(&'static str, Secret)>,
    profile: Option<String>,
    config_file: Option<PathBuf>,
    timeout: Option<Duration>,
    retry_policy: Option<Arc<dyn RetryPolicy>>,
    polling_policy: Option<PollingPolicy>,
    user_agent_extra: Vec<(String, String)>,
    credentials: Option<Arc<dyn CredentialsProvider>>,
    strategies: Option<Vec<Arc<dyn CredentialsStrategy>>>,
    unknown_settings: Vec<String>,
    env: Option<Arc<dyn Env>>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut explicit = Settings::new();
        for (k, v) in &self.explicit {
            explicit.fill(k, v.expose(), Source::Explicit);
        }
        f.debug_struct("ConfigBuilder")
            .field("settings", &explicit)
            .field("profile", &self.profile)
            .field("config_file", &self.config_file)
            .field("timeout", &self.timeout)
            .field("credentials", &self.credentials)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    fn put(mut self, key: &'static str, value: impl Into<Secret>) -> Self {
        self.explicit.retain(|(k, _)| *k != key);
        self.explicit.push((key, value.into()));
        self
    }

    /// Workspace URL (`https://…`, or a bare host name).
    pub fn host(self, host: impl Into<String>) -> Self {
        self.put("host", host.into())
    }

    /// Personal access token.
    pub fn token(self, token: impl Into<Secret>) -> Self {
        self.put("token", token)
    }

    /// OAuth client id of a service principal (or of a custom OAuth app for
    /// `external-browser`).
    pub fn client_id(self, client_id: impl Into<String>) -> Self {
        self.put("client_id", client_id.into())
    }

    /// OAuth client secret of a service principal.
    pub fn client_secret(self, secret: impl Into<Secret>) -> Self {
        self.put("client_secret", secret)
    }

    /// Workspace id, sent as `X-Databricks-Workspace-Id`.
    pub fn workspace_id(self, workspace_id: impl Into<String>) -> Self {
        self.put("workspace_id", workspace_id.into())
    }

    /// Config-file profile to read.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Config file path (default `~/.databrickscfg`).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Login method to use, by its official name (`pat`, `oauth-m2m`, `external-browser`,
    /// `databricks-cli`, ...; see [`AuthType`]). An unknown name fails [`build`](Self::build).
    pub fn auth_type(self, auth_type: impl Into<String>) -> Self {
        self.put("auth_type", auth_type.into())
    }

    /// OAuth discovery URL (default `{host}/oidc/.well-known/oauth-authorization-server`).
    pub fn discovery_url(self, url: impl Into<String>) -> Self {
        self.put("discovery_url", url.into())
    }

    /// Any setting of [`ATTRIBUTES`] by its config key
    /// (e.g. `databricks_cli_path`, `scopes`). Unknown keys fail [`build`](Self::build).
    pub fn setting(mut self, key: &str, value: impl Into<String>) -> Self {
        match attribute(key) {
            Some(a) => self.put(a.key, value.into()),
            None => {
                self.unknown_settings.push(key.to_owned());
                self
            }
        }
    }

    /// Per-request HTTP timeout (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry policy of HTTP requests.
    pub fn retry_policy(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Polling policy of long-running operations.
    pub fn polling_policy(mut self, policy: PollingPolicy) -> Self {
        self.polling_policy = Some(policy);
        self
    }

    /// Appends `key/value` to the User-Agent (validated by [`build`](Self::build)).
    pub fn user_agent_extra(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_agent_extra.push((key.into(), value.into()));
        self
    }

    /// Uses a custom credentials provider instead of the chain.
    pub fn credentials_provider(mut self, provider: Arc<dyn CredentialsProvider>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Replaces the chain of login methods (default [`default_strategies`]).
    pub fn strategies(mut self, strategies: Vec<Arc<dyn CredentialsStrategy>>) -> Self {
        self.strategies = Some(strategies);
        self
    }

    /// Environment to read (default: the process environment, [`OsEnv`]).
    pub fn env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = Some(env);
        self
    }

    /// The settings from explicit values and the environment, the profile named, and the
    /// config file, before the file is read.
    fn layered(&self, env: &dyn Env) -> Result<(Settings, Option<String>, Option<PathBuf>), Error> {
        if let Some(key) = self.unknown_settings.first() {
            return Err(Error::Config(format!("unknown setting {key:?}")));
        }
        let mut settings = Settings::new();
        for (k, v) in &self.explicit {
            settings.fill(k, v.expose(), Source::Explicit);
        }
        for a in ATTRIBUTES {
            for var in [a.env, a.env_alias].into_iter().flatten() {
                if let Some(v) = env.var(var) {
                    settings.fill(a.key, v, Source::Environment(var));
                }
            }
        }
        let profile = self.profile.clone().or_else(|| env.var("DATABRICKS_CONFIG_PROFILE"));
        let config_file = self
            .config_file
            .clone()
            .or_else(|| env.var("DATABRICKS_CONFIG_FILE").map(PathBuf::from))
            .or_else(|| env.home_dir().map(|h| h.join(".databrickscfg")));
        Ok((settings, profile, config_file))
    }

    /// Resolves the configuration (see the [module docs](self)).
    pub fn build(self) -> Result<Config, Error> {
        let env: Arc<dyn Env> = self.env.clone().unwrap_or_else(|| Arc::new(OsEnv));
        let (mut settings, named_profile, config_file) = self.layered(env.as_ref())?;

        let any_auth = !settings.auth_groups().is_empty();
        let mut profile_used = None;
        if named_profile.is_some() || (!settings.has("host") && !any_auth) {
            match &config_file {
                Some(path) => {
                    if let Some(p) = profile::load(path, named_profile.as_deref())? {
                        p.fill(&mut settings);
                        profile_used = Some(p.name);
                    }
                }
                None if named_profile.is_some() => {
                    return Err(Error::Config(
                        "a profile is named but there is no home directory to find ~/.databrickscfg; set DATABRICKS_CONFIG_FILE".to_owned(),
                    ));
                }
                None => {}
            }
        }

        let host_setting = settings.setting("host").cloned().ok_or_else(|| {
            Error::Config(
                "no host configured: set it on the builder, DATABRICKS_HOST, or in a ~/.databrickscfg profile"
                    .to_owned(),
            )
        })?;
        let host = normalize_host(host_setting.value().unwrap_or_default())?;
        settings.set("host", host.clone(), host_setting.source().clone());
        let auth_type = settings.get("auth_type").map(str::parse::<AuthType>).transpose()?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let auth_config = AuthConfig::new(host.clone(), settings.clone(), env.clone())
            .with_profile(named_profile)
            .with_auth_type(auth_type)
            .with_timeout(timeout);
        let credentials = match self.credentials {
            Some(c) => c,
            None => {
                let strategies = self.strategies.unwrap_or_else(default_strategies);
                chain::resolve(&strategies, &auth_config)?
            }
        };
        let mut user_agent = UserAgent::new(credentials.auth_type());
        for (k, v) in &self.user_agent_extra {
            check_extra(k, v)?;
            user_agent = user_agent.with_extra(k, v)?;
        }
        Ok(Config {
            host,
            workspace_id: settings.get("workspace_id").map(str::to_owned),
            profile: profile_used,
            timeout,
            retry_policy: self
                .retry_policy
                .unwrap_or_else(|| Arc::new(ExponentialRetry::default())),
            polling_policy: self.polling_policy.unwrap_or_default(),
            credentials,
            user_agent,
            settings,
            config_file,
        })
    }
}

/// Normalises a workspace host: adds `https://`, drops path, trailing `/` and `:443`; rejects
/// `http://` except for loopback hosts.
pub fn normalize_host(host: &str) -> Result<String, Error> {
    let trimmed = host.trim();
    if trimmed.is_empty() {
        return Err(Error::Config("host is empty".to_owned()));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| Error::Config(format!("invalid host {trimmed:?}: {e}")))?;
    let host_str = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::Config(format!("invalid host {trimmed:?}: no host name")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host_str) => {}
        "http" => {
            return Err(Error::Config(format!(
                "plain http is only allowed for loopback hosts, not {trimmed:?}: use https"
            )));
        }
        other => {
            return Err(Error::Config(format!("invalid host {trimmed:?}: scheme {other:?}")));
        }
    }
    let port = match url.port() {
        Some(443) | None => String::new(),
        Some(p) => format!(":{p}"),
    };
    Ok(format!("{}://{host_str}{port}", url.scheme()))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PatCredentials;
    use std::io::Write;

    fn env() -> MapEnv {
        MapEnv::new()
    }

    fn build(b: ConfigBuilder, e: MapEnv) -> Result<Config, Error> {
        b.env(Arc::new(e)).build()
    }

    #[test]
    fn host_normalisation() {
        let cases: &[(&str, Option<&str>)] = &[
            ("x.cloud.databricks.com", Some("https://x.cloud.databricks.com")),
            (
                "https://x.cloud.databricks.com/",
                Some("https://x.cloud.databricks.com"),
            ),
            (
                "https://x.cloud.databricks.com:443",
                Some("https://x.cloud.databricks.com"),
            ),
            (
                "https://x.cloud.databricks.com:443/",
                Some("https://x.cloud.databricks.com"),
            ),
            (
                "https://X.Cloud.Databricks.com/some/path?q=1",
                Some("https://x.cloud.databricks.com"),
            ),
            ("https://x.com:8443", Some("https://x.com:8443")),
            ("  x.com  ", Some("https://x.com")),
            ("http://localhost:8080/", Some("http://localhost:8080")),
            ("http://127.0.0.1:1234", Some("http://127.0.0.1:1234")),
            ("http://127.1.2.3", Some("http://127.1.2.3")),
            ("http://[::1]:9000", Some("http://[::1]:9000")),
            ("http://localhost:443", Some("http://localhost")),
            ("http://x.cloud.databricks.com", None),
            ("http://10.0.0.1", None),
            ("ftp://x.com", None),
            ("", None),
            ("https://", None),
        ];
        for (input, expected) in cases {
            let got = normalize_host(input);
            match expected {
                Some(e) => assert_eq!(got.as_deref().ok(), Some(*e), "{input:?}: {got:?}"),
                None => assert!(matches!(got, Err(Error::Config(_))), "{input:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn explicit_beats_env() {
        let e = env()
            .with_var("DATABRICKS_HOST", "env.databricks.com")
            .with_var("DATABRICKS_TOKEN", "env-token")
            .with_var("DATABRICKS_WORKSPACE_ID", "42");
        let c = build(Config::builder().host("explicit.databricks.com"), e.clone()).unwrap();
        assert_eq!(c.host(), "https://explicit.databricks.com");
        assert_eq!(c.workspace_id(), Some("42"));
        assert_eq!(c.auth_type(), "pat");
        assert_eq!(c.timeout(), Duration::from_secs(60));
        let c = build(Config::builder().workspace_id("7").timeout(Duration::from_secs(5)), e).unwrap();
        assert_eq!(c.host(), "https://env.databricks.com");
        assert_eq!(c.workspace_id(), Some("7"));
        assert_eq!(c.timeout(), Duration::from_secs(5));
        assert_eq!(c.profile(), None);
    }

    #[tokio::test]
    async fn env_token_is_used() {
        let e = env()
            .with_var("DATABRICKS_HOST", "h.com")
            .with_var("DATABRICKS_TOKEN", "env-token");
        let c = build(Config::builder(), e).unwrap();
        let h = c.credentials().authorization().await.unwrap();
        assert_eq!(h.to_str().unwrap(), "Bearer env-token");
    }

    #[test]
    fn mixing_credentials() {
        let e = env()
            .with_var("DATABRICKS_HOST", "h.com")
            .with_var("DATABRICKS_TOKEN", "tok")
            .with_var("DATABRICKS_CLIENT_ID", "id")
            .with_var("DATABRICKS_CLIENT_SECRET", "client-secret-value");
        let err = build(Config::builder(), e.clone()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("oauth and pat"), "{msg}");
        assert!(!msg.contains("client-secret-value") && !msg.contains("tok "));
        let c = build(Config::builder().auth_type("oauth-m2m"), e.clone()).unwrap();
        assert_eq!(c.auth_type(), "oauth-m2m");
        assert!(c.user_agent().to_string().contains(" auth/oauth-m2m"));
        let c = build(Config::builder(), e.clone().with_var("DATABRICKS_AUTH_TYPE", "pat")).unwrap();
        assert_eq!(c.auth_type(), "pat");
        assert!(build(Config::builder().auth_type("azure-cli"), e).is_err());
        // incomplete
        let e = env()
            .with_var("DATABRICKS_HOST", "h.com")
            .with_var("DATABRICKS_CLIENT_ID", "id");
        assert!(
            build(Config::builder(), e.clone())
                .unwrap_err()
                .to_string()
                .contains("no client_secret (DATABRICKS_CLIENT_SECRET)")
        );
        assert!(build(Config::builder().auth_type("pat"), e).is_err());
        let err = build(Config::builder().host("h.com"), env()).unwrap_err();
        assert!(err.to_string().contains("no credentials"), "{err}");
        let err = build(Config::builder().token("t"), env()).unwrap_err();
        assert!(err.to_string().contains("no host"), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let e = env().with_var("DATABRICKS_CLIENT_SECRET", "env-secret-xyz");
        let b = Config::builder().host("h.com").client_id("id").env(Arc::new(e));
        let dbg_builder = format!("{b:?}");
        assert!(!dbg_builder.contains("env-secret-xyz"), "{dbg_builder}");
        let c = b.build().unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("env-secret-xyz"), "{dbg}");
        let b = Config::builder().host("h.com").token("dapi-very-secret");
        assert!(!format!("{b:?}").contains("dapi-very-secret"));
        let c = build(b, env()).unwrap();
        assert!(!format!("{c:?}").contains("dapi-very-secret"));
    }

    const CFG: &str = "\
[DEFAULT]
host = https://default.databricks.com
token = default-token

[sp]
host = sp.databricks.com
client_id = sp-id
client_secret = sp-secret
workspace_id = 99
";

    fn home_with_cfg(contents: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut f = std::fs::File::create(dir.path().join(".databrickscfg")).unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        dir
    }

    #[test]
    fn profile_file() {
        let home = home_with_cfg(CFG);
        let e = env().with_home(home.path());
        let c = build(Config::builder(), e.clone()).unwrap();
        assert_eq!(c.host(), "https://default.databricks.com");
        assert_eq!(c.profile(), Some("DEFAULT"));
        assert_eq!(c.auth_type(), "pat");

        let c = build(Config::builder().profile("sp"), e.clone()).unwrap();
        assert_eq!(c.host(), "https://sp.databricks.com");
        assert_eq!(c.workspace_id(), Some("99"));
        assert_eq!(c.auth_type(), "oauth-m2m");
        assert!(!format!("{c:?}").contains("sp-secret"));

        let c = build(Config::builder(), e.clone().with_var("DATABRICKS_CONFIG_PROFILE", "sp")).unwrap();
        assert_eq!(c.profile(), Some("sp"));
        // explicit values win over the named profile
        let c = build(Config::builder().profile("sp").host("other.com"), e.clone()).unwrap();
        assert_eq!(c.host(), "https://other.com");
        // host or credentials set elsewhere and no profile named: the file is not read
        let err = build(Config::builder().host("only-host.com"), e.clone()).unwrap_err();
        assert!(err.to_string().contains("no credentials"), "{err}");
        // unknown profile
        assert!(build(Config::builder().profile("nope"), e).is_err());
        // DATABRICKS_CONFIG_FILE
        let other = home_with_cfg("[DEFAULT]\nhost = file.databricks.com\ntoken = t\n");
        let e = env().with_var(
            "DATABRICKS_CONFIG_FILE",
            other.path().join(".databrickscfg").to_string_lossy().into_owned(),
        );
        assert_eq!(
            build(Config::builder(), e).unwrap().host(),
            "https://file.databricks.com"
        );
        // no home and a named profile
        assert!(build(Config::builder().profile("x"), env()).is_err());
    }

    #[test]
    fn policies_user_agent_and_custom_provider() {
        let c = build(
            Config::builder()
                .host("http://localhost:1234")
                .credentials_provider(Arc::new(PatCredentials::new("x".into())))
                .retry_policy(Arc::new(crate::retry::NoRetry))
                .polling_policy(PollingPolicy::immediate())
                .user_agent_extra("app", "1.0"),
            env(),
        )
        .unwrap();
        assert_eq!(c.retry_policy().budget(), None);
        assert_eq!(c.polling_policy().next_delay(0, Duration::ZERO), Some(Duration::ZERO));
        assert!(c.user_agent().to_string().ends_with("auth/pat app/1.0"));
        let err = build(
            Config::builder()
                .host("h.com")
                .token("t")
                .user_agent_extra("bad key", "1"),
            env(),
        );
        assert!(matches!(err, Err(Error::InvalidInput(_))));
        assert_eq!(OsEnv.var("LAKEBASE_SURELY_UNSET_VARIABLE_FOR_TEST"), None);
        assert!(format!("{:?}", env().with_var("DATABRICKS_TOKEN", "zzz-secret")).contains("DATABRICKS_TOKEN"));
        assert!(!format!("{:?}", env().with_var("DATABRICKS_TOKEN", "zzz-secret")).contains("zzz-secret"));
    }
}
