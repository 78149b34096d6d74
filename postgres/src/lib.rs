//! # lakebase-postgres
//!
//! A Postgres connection pool for Databricks Lakebase whose logins never expire under it.
//!
//! Lakebase logs you in with an OAuth **database credential** as the password, valid one hour
//! at most and checked only at login. This crate gives you a standard
//! [`deadpool_postgres::Pool`] (through [`Pool`]; [`Pool::inner`] is the deadpool pool) that
//!
//! * **finds its target**: the host from the endpoint (`status.hosts.host`, or
//!   `read_only_host`), the user from `PGUSER`, the OAuth client id or the workspace's SCIM
//!   `Me` ([`lakebase::Client::postgres_user`]);
//! * **shares one credential** ([`CredentialCache`]) among all connections, minted by one
//!   request however many connections open at once, and refreshed in the background before
//!   it expires, so `get()` never waits on the Databricks API in steady state;
//! * **heals logins**: a token refused with `28P01` is replaced and the login retried once;
//!   a compute waking from scale-to-zero (connection refused, `57P03`) is retried with
//!   backoff within the connect timeout;
//! * **never hands out a dead connection twice in a row**: after any connection-level failure
//!   the idle connections are validated before reuse, and so is one idle longer than
//!   [`DEFAULT_VALIDATE_AFTER_IDLE`] ([`health`]); [`Pool::run_with_retry`] runs work again
//!   once on a fresh connection when the first one was lost;
//! * **recycles** connections older than [`DEFAULT_MAX_LIFETIME`] (30 min);
//! * **verifies TLS** with rustls ([`TlsMode`]);
//! * **traces** credential mints (`lakebase.credential.mint`) and connects
//!   (`lakebase.connect`) with endpoint, user, attempts and outcome, never the token.
//!
//! ```no_run
//! use lakebase_postgres::Pool;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::builder()
//!     .client(lakebase::Client::from_env()?)
//!     .endpoint("projects/my-app/branches/production/endpoints/primary")
//!     .database("databricks_postgres")
//!     .build()
//!     .await?;
//! let conn = pool.get().await?;
//! let n: i64 = conn.query_one("select count(*) from pg_tables", &[]).await?.get(0);
//! println!("{n} tables; pool {:?}", pool.status());
//! # Ok(()) }
//! ```
//!
//! With the `sqlx` feature, `PoolBuilder::build_sqlx` gives a `sqlx::PgPool` on the same
//! credential machinery (see `sqlx_pool`).
//!
//! For Databricks Apps acting on behalf of their users, [`UserPools`] keeps one pool per
//! user, logged in with credentials minted by that user's forwarded token, so row-level
//! security sees the real user; `PGAPPNAME` names the sessions and a `PGHOST` that is not
//! the endpoint's is warned about ([`apps`]).
//!
//! For tests, [`TestBranch`] creates a branch with a TTL, hands back a pool on it, and
//! deletes it on drop.

#![warn(missing_docs)]

pub mod apps;
pub mod builder;
mod connect;
pub mod credential;
pub mod error;
pub mod health;
mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
pub mod pool;
#[cfg(feature = "sqlx")]
pub mod sqlx_pool;
pub mod test_branch;
pub mod tls;
pub mod user_pools;

pub use builder::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_SIZE, DEFAULT_PORT,
    DEFAULT_WAIT_TIMEOUT, IntoEndpointName, PoolBuilder,
};
pub use credential::{
    CachedState, Credential, CredentialCache, CredentialError, CredentialStats, EndpointMinter, MintCredential,
    MintedCredential, RefreshPolicy,
};
pub use error::{Error, TimeoutKind};
pub use health::{DEFAULT_VALIDATE_AFTER_IDLE, HealthStats, is_connection_error};
pub use pool::{Pool, PoolStatus, RetryOn};
#[cfg(feature = "sqlx")]
pub use sqlx_pool::SqlxPool;
pub use test_branch::{TestBranch, TestBranchBuilder};
pub use tls::TlsMode;
pub use user_pools::{UserPools, UserPoolsBuilder};

pub use deadpool_postgres;
pub use tokio_postgres;
