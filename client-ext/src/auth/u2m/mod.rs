//! `external-browser`: OAuth user-to-machine login in the browser, with a token cache.
//!
//! As in the official Python SDK, the method is only used when `auth_type` is
//! `external-browser`. The client is the public `databricks-cli` unless `client_id` (and
//! maybe `client_secret`) names a custom OAuth app; scopes are `scopes` (default `all-apis`)
//! plus `offline_access` for a refresh token (unless `disable_oauth_refresh_token`).
//!
//! A token is taken from the [`cache`] when there is one; an expired one is refreshed with
//! its refresh token under the entry's file lock (so concurrent processes make one refresh);
//! the refresh token the server sends back replaces the old one (rotation). With no cached
//! login, the browser login of [`login`] runs. A refresh token the server refuses (expired,
//! revoked, already used) is an error telling to run `lakebase auth login --host ...`; it
//! never opens a browser on its own.
//!
//! The redirect port (default 8020) and the login timeout (default 5 minutes) come from
//! `LAKEBASE_OAUTH_REDIRECT_PORT` and `LAKEBASE_OAUTH_LOGIN_TIMEOUT` (seconds), the browser
//! from `BROWSER`.

pub mod cache;
pub mod login;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use self::cache::{CacheKey, TokenCache};
use self::login::{LoginClient, LoginOptions};
use super::oidc::{self, ClientAuth, OidcEndpoints, auth_error};
use super::{
    AuthConfig, AuthType, BoxFuture, Configured, CredentialsProvider, CredentialsStrategy, RefreshingToken, Token,
    TokenSource,
};
use crate::config::Env;
use crate::error::Error;
use crate::secret::Secret;

/// The public OAuth client of the Databricks CLI and SDKs.
pub const DEFAULT_CLIENT_ID: &str = "databricks-cli";

/// The `external-browser` strategy.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExternalBrowserStrategy;

impl CredentialsStrategy for ExternalBrowserStrategy {
    fn auth_type(&self) -> AuthType {
        AuthType::ExternalBrowser
    }

    fn configure(&self, config: &AuthConfig) -> Result<Configured, Error> {
        if config.auth_type != Some(AuthType::ExternalBrowser) {
            return Ok(Configured::Skipped(
                "only used when auth_type is external-browser".to_owned(),
            ));
        }
        Ok(Configured::Provider(Arc::new(ExternalBrowserCredentials::new(config)?)))
    }
}

/// Login options from the environment (`LAKEBASE_OAUTH_REDIRECT_PORT`,
/// `LAKEBASE_OAUTH_LOGIN_TIMEOUT`, `BROWSER`).
pub fn login_options_from_env(env: &dyn Env) -> Result<LoginOptions, Error> {
    let mut o = LoginOptions::default().with_browser(env.var("BROWSER"));
    if let Some(p) = env.var("LAKEBASE_OAUTH_REDIRECT_PORT") {
        let port = p
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::Config(format!("LAKEBASE_OAUTH_REDIRECT_PORT {p:?} is not a port number")))?;
        o = o.with_redirect_port(port);
    }
    if let Some(t) = env.var("LAKEBASE_OAUTH_LOGIN_TIMEOUT") {
        let secs =
            t.trim().parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                Error::Config(format!("LAKEBASE_OAUTH_LOGIN_TIMEOUT {t:?} is not a number of seconds"))
            })?;
        o = o.with_timeout(Duration::from_secs(secs));
    }
    Ok(o)
}

/// OAuth U2M credentials: the cached login of a person, refreshed as needed.
#[derive(Debug)]
pub struct ExternalBrowserCredentials {
    holder: RefreshingToken<U2mSource>,
}

struct U2mSource {
    host: String,
    client_id: String,
    client_secret: Option<Secret>,
    scopes: Vec<String>,
    discovery_url: String,
    http: reqwest::Client,
    endpoints: tokio::sync::OnceCell<OidcEndpoints>,
    cache: TokenCache,
    key: CacheKey,
    options: LoginOptions,
}

impl std::fmt::Debug for U2mSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalBrowserCredentials")
            .field("host", &self.host)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scopes", &self.scopes)
            .field("cache", &self.cache.dir())
            .finish_non_exhaustive()
    }
}

/// Whether a failed refresh means the refresh token is no good (log in again).
fn refresh_refused(e: &oidc::TokenRequestError) -> bool {
    matches!(e.code.as_deref(), Some("invalid_grant" | "invalid_token")) || matches!(e.error.status(), Some(400 | 401))
}

impl ExternalBrowserCredentials {
    /// Credentials for `config`: its host, `client_id`/`client_secret` (default the public
    /// `databricks-cli`), scopes, discovery URL, and the cache in the home directory.
    pub fn new(config: &AuthConfig) -> Result<Self, Error> {
        let options = login_options_from_env(config.env.as_ref())?;
        let home = config.env.home_dir().ok_or_else(|| {
            Error::Config("external-browser needs a home directory for its token cache (set HOME)".to_owned())
        })?;
        Self::with_cache(config, TokenCache::in_home(&home), options)
    }

    /// Like [`new`](Self::new) with a given cache and login options.
    pub fn with_cache(config: &AuthConfig, cache: TokenCache, options: LoginOptions) -> Result<Self, Error> {
        let s = &config.settings;
        let (client_id, client_secret) = match s.get("client_id") {
            Some(id) => (id.to_owned(), s.secret("client_secret")),
            None => (DEFAULT_CLIENT_ID.to_owned(), None),
        };
        let mut scopes = s.scopes();
        if !s.flag("disable_oauth_refresh_token") && !scopes.iter().any(|x| x == "offline_access") {
            scopes.push("offline_access".to_owned());
            scopes.sort();
        }
        let key = CacheKey::new(&config.host, &client_id, &scopes);
        Ok(Self {
            holder: RefreshingToken::new(U2mSource {
                host: config.host.clone(),
                client_id,
                client_secret,
                scopes,
                discovery_url: s
                    .get("discovery_url")
                    .map_or_else(|| oidc::discovery_url(&config.host), str::to_owned),
                http: oidc::http_client(config.timeout)?,
                endpoints: tokio::sync::OnceCell::new(),
                cache,
                key,
                options,
            }),
        })
    }

    /// Runs the browser login now (even with a cached login) and caches its token.
    pub async fn login(&self) -> Result<Token, Error> {
        let token = self.holder.source().browser_login().await?;
        self.holder.invalidate();
        Ok(token)
    }

    /// Drops every cached token of this host; how many entries there were.
    pub async fn logout(&self) -> Result<usize, Error> {
        let cache = self.holder.source().cache.clone();
        let host = self.holder.source().host.clone();
        self.holder.invalidate();
        blocking(move || cache.remove_host(&host)).await
    }

    /// The cached token, if any, without refreshing or logging in.
    pub async fn cached(&self) -> Result<Option<Token>, Error> {
        let src = self.holder.source();
        let (cache, key) = (src.cache.clone(), src.key.clone());
        blocking(move || Ok(cache.load(&key))).await
    }

    /// The cache file of this login.
    pub fn cache_path(&self) -> std::path::PathBuf {
        let src = self.holder.source();
        src.cache.path(&src.key)
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Config(format!("token cache task failed: {e}")))?
}

impl U2mSource {
    async fn endpoints(&self) -> Result<&OidcEndpoints, Error> {
        self.endpoints
            .get_or_try_init(|| oidc::discover(&self.http, &self.discovery_url))
            .await
    }

    fn login_hint(&self) -> String {
        format!("run `lakebase auth login --host {}`", self.host)
    }

    async fn browser_login(&self) -> Result<Token, Error> {
        let endpoints = self.endpoints().await?;
        let client = LoginClient {
            client_id: &self.client_id,
            client_secret: self.client_secret.as_ref(),
            scopes: &self.scopes,
        };
        let token = login::login(&self.http, endpoints, &client, &self.options).await?;
        let (cache, key, t) = (self.cache.clone(), self.key.clone(), token.clone());
        blocking(move || cache.store(&key, &t)).await?;
        Ok(token)
    }

    async fn refresh(&self, refresh_token: &Secret, previous: &Token) -> Result<Token, Error> {
        let endpoints = self.endpoints().await?;
        let auth = match &self.client_secret {
            Some(secret) => ClientAuth::Basic(&self.client_id, secret),
            None => ClientAuth::Public(&self.client_id),
        };
        let result = oidc::request_token(
            &self.http,
            &endpoints.token_endpoint,
            auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
        )
        .await;
        match result {
            Ok(mut token) => {
                // Rotation: keep the new refresh token; a server that sends none keeps the old.
                if token.refresh_token.is_none() {
                    token.refresh_token = previous.refresh_token.clone();
                }
                Ok(token)
            }
            Err(e) if refresh_refused(&e) => Err(auth_error(
                format!(
                    "the cached login for {} has expired or was revoked ({}): {}",
                    self.host,
                    match &e.error {
                        Error::Auth(a) => a.message.clone(),
                        other => other.to_string(),
                    },
                    self.login_hint()
                ),
                e.error.status(),
            )),
            Err(e) => Err(e.error),
        }
    }

    async fn fetch_token(&self, current: Option<&Token>) -> Result<Token, Error> {
        let (cache, key) = (self.cache.clone(), self.key.clone());
        // Held until this refresh is stored: another process waits, then finds the new token.
        let (lock, cached) = blocking(move || {
            let lock = cache.lock(&key)?;
            Ok((lock, cache.load(&key)))
        })
        .await?;
        let now = SystemTime::now();
        let Some(cached) = cached else {
            drop(lock);
            return self.browser_login().await;
        };
        let newer = current.is_none_or(|c| c.access_token != cached.access_token);
        if newer && !cached.is_expired(now) {
            return Ok(cached);
        }
        let Some(refresh_token) = cached.refresh_token.clone() else {
            return Err(auth_error(
                format!(
                    "the cached login for {} has expired and has no refresh token: {}",
                    self.host,
                    self.login_hint()
                ),
                None,
            ));
        };
        let token = self.refresh(&refresh_token, &cached).await?;
        let (cache, key, t) = (self.cache.clone(), self.key.clone(), token.clone());
        blocking(move || {
            let stored = cache.store(&key, &t);
            drop(lock);
            stored
        })
        .await?;
        Ok(token)
    }
}

impl TokenSource for U2mSource {
    fn fetch<'a>(&'a self, current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(self.fetch_token(current))
    }
}

impl CredentialsProvider for ExternalBrowserCredentials {
    fn auth_type(&self) -> &'static str {
        "external-browser"
    }

    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>> {
        Box::pin(self.holder.header())
    }

    fn token(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(self.holder.token())
    }
}
