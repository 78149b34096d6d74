//! [`UserPools`]: one small pool per end user, for Databricks Apps that act on behalf of
//! their users, so Postgres sees the real user (`current_user`) and row-level security
//! policies apply to them.
//!
//! Databricks Apps forward the signed-in user's OAuth token in the
//! `x-forwarded-access-token` header. [`UserPools::get`] takes that token, asks the workspace
//! who it belongs to (SCIM `Me`, once per token), and hands back that user's [`Pool`]: logged
//! in as the user, with database credentials minted **with the user's token**. A user's newer
//! token replaces the older one for later mints. Pools are keyed by the user's identity,
//! bounded in number ([`max_users`](UserPoolsBuilder::max_users), least recently used
//! evicted first) and evicted after [`idle_timeout`](UserPoolsBuilder::idle_timeout)
//! without use; a pool still held by a request keeps working until dropped.
//!
//! ```no_run
//! use lakebase_postgres::{Pool, UserPools};
//!
//! # async fn demo(forwarded_token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! // Endpoint, database, host, port and TLS as for any pool (here: from the environment).
//! let pools = UserPools::builder(Pool::builder()).max_users(100).build()?;
//! let pool = pools.get(forwarded_token).await?; // this user's pool
//! let conn = pool.get().await?;
//! let me: String = conn.query_one("select current_user::text", &[]).await?.get(0);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use lakebase::config::{Env, MapEnv, OsEnv};
use lakebase::{Client, Config, EndpointName, Secret};
use tokio::time::Instant;

use crate::builder::PoolBuilder;
use crate::credential::{
    BoxFuture, CredentialCache, DEFAULT_CREDENTIAL_TTL, EndpointMinter, MintCredential, MintedCredential, RefreshPolicy,
};
use crate::error::Error;
use crate::pool::Pool;

/// Users with a pool at once, by default.
pub const DEFAULT_MAX_USERS: usize = 100;
/// Connections of one user's pool, by default.
pub const DEFAULT_MAX_SIZE_PER_USER: usize = 2;
/// A user's pool unused this long is closed, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Builder of [`UserPools`].
#[derive(Clone, Debug)]
pub struct UserPoolsBuilder {
    template: PoolBuilder,
    workspace: Option<String>,
    max_users: usize,
    max_size_per_user: usize,
    idle_timeout: Duration,
    credential_ttl: Duration,
    env: Arc<dyn Env>,
}

impl UserPoolsBuilder {
    /// The Databricks workspace the users' tokens are for (default: `DATABRICKS_HOST`).
    pub fn workspace(mut self, host: impl Into<String>) -> Self {
        self.workspace = Some(host.into());
        self
    }

    /// Most users with a pool at once (default [`DEFAULT_MAX_USERS`]); the least recently
    /// used user's pool is evicted to make room.
    pub fn max_users(mut self, max_users: usize) -> Self {
        self.max_users = max_users;
        self
    }

    /// Connections of each user's pool (default [`DEFAULT_MAX_SIZE_PER_USER`]).
    pub fn max_size_per_user(mut self, max_size: usize) -> Self {
        self.max_size_per_user = max_size;
        self
    }

    /// A user's pool unused this long is evicted (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Lifetime asked for each user's credentials (default and maximum 1 h).
    pub fn credential_ttl(mut self, ttl: Duration) -> Self {
        self.credential_ttl = ttl;
        self
    }

    /// Where `DATABRICKS_HOST` is read (default: the process environment).
    pub fn env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// Checks the settings (the template's included); nothing is sent.
    pub fn build(self) -> Result<UserPools, Error> {
        let endpoint = self.template.target()?.endpoint;
        let workspace = self
            .workspace
            .clone()
            .or_else(|| self.env.var("DATABRICKS_HOST"))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::Config("no workspace: set UserPools::workspace or DATABRICKS_HOST".to_owned()))?;
        if self.max_users == 0 || self.max_size_per_user == 0 {
            return Err(Error::Config(
                "max_users and max_size_per_user must be at least 1".to_owned(),
            ));
        }
        Ok(UserPools {
            shared: Arc::new(Shared {
                template: self.template.max_size(self.max_size_per_user),
                endpoint,
                workspace,
                max_users: self.max_users,
                idle_timeout: self.idle_timeout,
                credential_ttl: self.credential_ttl,
                users: Mutex::new(Users::default()),
            }),
        })
    }
}

/// One pool per end user, each logged in with credentials minted by that user's token; see
/// the [module docs](self). Cheap to clone (shared).
#[derive(Clone)]
pub struct UserPools {
    shared: Arc<Shared>,
}

struct Shared {
    template: PoolBuilder,
    endpoint: EndpointName,
    workspace: String,
    max_users: usize,
    idle_timeout: Duration,
    credential_ttl: Duration,
    users: Mutex<Users>,
}

/// The pools by identity, and which identity each known token belongs to.
#[derive(Default)]
struct Users {
    pools: HashMap<String, UserPool>,
    token_owner: HashMap<String, String>,
}

struct UserPool {
    pool: Pool,
    /// The client the user's credentials are minted with (its latest token).
    minting: Arc<RwLock<Client>>,
    token: String,
    last_used: Instant,
}

impl std::fmt::Debug for UserPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users = self.users();
        f.debug_struct("UserPools")
            .field("endpoint", &self.shared.endpoint.to_string())
            .field("users", &users)
            .field("max_users", &self.shared.max_users)
            .finish()
    }
}

impl UserPools {
    /// A builder: `template` gives endpoint, database, host, port, TLS and timeouts of every
    /// user's pool (its client and user are replaced by each user's).
    pub fn builder(template: PoolBuilder) -> UserPoolsBuilder {
        UserPoolsBuilder {
            template,
            workspace: None,
            max_users: DEFAULT_MAX_USERS,
            max_size_per_user: DEFAULT_MAX_SIZE_PER_USER,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            credential_ttl: DEFAULT_CREDENTIAL_TTL,
            env: Arc::new(OsEnv),
        }
    }

    /// The pool of the user whose OAuth token this is (e.g. the `x-forwarded-access-token`
    /// header of a Databricks App request), created on first use. An unknown token is
    /// resolved to its user with one SCIM `Me` request; a token the workspace refuses is an
    /// error, and nothing is cached for it.
    pub async fn get(&self, user_token: &str) -> Result<Pool, Error> {
        let token = user_token.trim();
        if token.is_empty() {
            return Err(Error::Config("the user's token is empty".to_owned()));
        }
        if let Some(pool) = self.known(token) {
            return Ok(pool);
        }
        let client = self.client_for(token)?;
        let identity = client
            .current_user()
            .await
            .map_err(|e| Error::api("resolve the user of a forwarded token", e))?
            .user_name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| Error::Config("the workspace named no user for the forwarded token".to_owned()))?;
        if let Some(pool) = self.adopt_token(&identity, token, &client) {
            return Ok(pool);
        }
        let minting = Arc::new(RwLock::new(client.clone()));
        let minter = UserMinter {
            client: minting.clone(),
            endpoint: self.shared.endpoint.clone(),
            ttl: self.shared.credential_ttl,
        };
        let credentials = CredentialCache::new(
            self.shared.endpoint.to_string(),
            Arc::new(minter),
            RefreshPolicy::default(),
        );
        let pool = self
            .shared
            .template
            .clone()
            .client(client.clone())
            .user(identity.clone())
            .credentials(credentials)
            .build()
            .await?;
        Ok(self.insert(identity, token, pool, minting, &client))
    }

    /// Identities with a pool now, sorted.
    pub fn users(&self) -> Vec<String> {
        let users = self.shared.users.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = users.pools.keys().cloned().collect();
        names.sort();
        names
    }

    /// Evicts the pools unused for longer than the idle timeout (also done on every
    /// [`get`](Self::get)); returns how many.
    pub fn evict_idle(&self) -> usize {
        let mut users = self.shared.users.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let idle: Vec<String> = users
            .pools
            .iter()
            .filter(|(_, p)| now.duration_since(p.last_used) > self.shared.idle_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for identity in &idle {
            users.remove(identity);
        }
        idle.len()
    }

    /// The pool of an already known token, marked used.
    fn known(&self, token: &str) -> Option<Pool> {
        self.evict_idle();
        let mut users = self.shared.users.lock().unwrap_or_else(|e| e.into_inner());
        let identity = users.token_owner.get(token)?.clone();
        let entry = users.pools.get_mut(&identity)?;
        entry.last_used = Instant::now();
        Some(entry.pool.clone())
    }

    /// When `identity` already has a pool: its credentials are minted with `token` from now
    /// on (a refreshed user token); the pool.
    fn adopt_token(&self, identity: &str, token: &str, client: &Client) -> Option<Pool> {
        let mut users = self.shared.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.pools.get_mut(identity)?;
        *entry.minting.write().unwrap_or_else(|e| e.into_inner()) = client.clone();
        let old = std::mem::replace(&mut entry.token, token.to_owned());
        entry.last_used = Instant::now();
        let pool = entry.pool.clone();
        users.token_owner.remove(&old);
        users.token_owner.insert(token.to_owned(), identity.to_owned());
        Some(pool)
    }

    /// Keeps a new pool (or, when another task made one for the same user meanwhile, that
    /// one), evicting the least recently used user when full.
    fn insert(&self, identity: String, token: &str, pool: Pool, minting: Arc<RwLock<Client>>, client: &Client) -> Pool {
        if let Some(existing) = self.adopt_token(&identity, token, client) {
            return existing;
        }
        let mut users = self.shared.users.lock().unwrap_or_else(|e| e.into_inner());
        while users.pools.len() >= self.shared.max_users {
            let Some(oldest) = users
                .pools
                .iter()
                .min_by_key(|(_, p)| p.last_used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            users.remove(&oldest);
        }
        users.token_owner.insert(token.to_owned(), identity.clone());
        users.pools.insert(
            identity,
            UserPool {
                pool: pool.clone(),
                minting,
                token: token.to_owned(),
                last_used: Instant::now(),
            },
        );
        pool
    }

    /// A client of the workspace authenticated by the user's token alone (no environment).
    fn client_for(&self, token: &str) -> Result<Client, Error> {
        Config::builder()
            .host(self.shared.workspace.clone())
            .token(Secret::new(token))
            .env(Arc::new(MapEnv::new()))
            .build()
            .and_then(Client::new)
            .map_err(|e| Error::api("configure a client for the user's token", e))
    }
}

impl Users {
    /// Forgets a user's pool: its connections close once no request holds the pool.
    fn remove(&mut self, identity: &str) {
        if let Some(entry) = self.pools.remove(identity) {
            self.token_owner.remove(&entry.token);
        }
    }
}

/// Mints with the user's latest token.
#[derive(Debug)]
struct UserMinter {
    client: Arc<RwLock<Client>>,
    endpoint: EndpointName,
    ttl: Duration,
}

impl MintCredential for UserMinter {
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
        let client = self.client.read().unwrap_or_else(|e| e.into_inner()).clone();
        let minter = EndpointMinter::new(client, self.endpoint.clone(), self.ttl);
        Box::pin(async move { minter.mint().await })
    }
}
