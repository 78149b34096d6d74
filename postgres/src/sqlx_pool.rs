//! The same credential machinery for `sqlx::PgPool` (feature `sqlx`).
//!
//! sqlx 0.8 opens every connection from the `PgConnectOptions` its pool holds and lets them be
//! replaced with `PgPool::set_connect_options`. [`PoolBuilder::build_sqlx`] resolves host and
//! user like [`PoolBuilder::build`], waits for the first credential, and keeps a task that puts
//! each new credential of the shared [`CredentialCache`] into the options, so new connections
//! always log in with a current token and no connect waits on the API.
//!
//! What only the deadpool [`Pool`](crate::Pool) does, because sqlx owns its connect: retrying a
//! login refused with `28P01` after a fresh mint, and retrying a waking compute within the
//! connect timeout (sqlx retries failed connects until its `acquire_timeout`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = lakebase_postgres::Pool::builder().build_sqlx().await?;
//! let (n,): (i32,) = sqlx::query_as("select 1").fetch_one(&*pool).await?;
//! # Ok(()) }
//! ```

use std::ops::Deref;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use crate::builder::{PoolBuilder, Resolved};
use crate::credential::CredentialCache;
use crate::error::Error;
use crate::tls::{self, TlsMode};

/// A `sqlx::PgPool` whose connect options follow the shared credential. Derefs to the
/// `PgPool`; the follower task stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct SqlxPool {
    pool: sqlx::PgPool,
    credentials: CredentialCache,
    _follower: std::sync::Arc<Follower>,
}

#[derive(Debug)]
struct Follower(tokio::task::AbortHandle);

impl Drop for Follower {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqlxPool {
    /// The credential cache the connect options follow.
    pub fn credentials(&self) -> &CredentialCache {
        &self.credentials
    }

    /// The `PgPool` itself.
    pub fn inner(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

impl Deref for SqlxPool {
    type Target = sqlx::PgPool;

    fn deref(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

impl PoolBuilder {
    /// Like [`build`](Self::build), for sqlx: resolves host and user, waits for the first
    /// credential, and returns a lazily connecting `PgPool` that follows the credential.
    /// Pool size, wait timeout and max lifetime carry over; TLS is `verify-full`.
    pub async fn build_sqlx(self) -> Result<SqlxPool, Error> {
        let Resolved {
            target,
            host,
            user,
            credentials,
            ..
        } = self.resolve().await?;
        // Same rules as the deadpool pool: `disable` only for loopback, the CA must parse.
        tls::connector(target.tls_mode, &host, target.ca_cert_pem.as_deref())?;
        let mut options = PgConnectOptions::new()
            .host(&host)
            .port(target.port)
            .database(&target.database)
            .username(&user)
            .application_name(&self.session_application_name());
        options = match (target.tls_mode, target.ca_cert_pem) {
            (TlsMode::Disable, _) => options.ssl_mode(PgSslMode::Disable),
            (_, Some(pem)) => options
                .ssl_mode(PgSslMode::VerifyFull)
                .ssl_root_cert_from_pem(pem.into_bytes()),
            (_, None) => options.ssl_mode(PgSslMode::VerifyFull),
        };
        let first = credentials.get().await?;
        let pool = PgPoolOptions::new()
            .max_connections(u32::try_from(self.max_size).unwrap_or(u32::MAX))
            .acquire_timeout(self.wait_timeout.unwrap_or(Duration::from_secs(3600)))
            .max_lifetime(self.max_lifetime)
            .connect_lazy_with(options.clone().password(first.token().expose()));
        let follower = tokio::spawn(follow(pool.clone(), options, credentials.clone())).abort_handle();
        Ok(SqlxPool {
            pool,
            credentials,
            _follower: std::sync::Arc::new(Follower(follower)),
        })
    }
}

/// Puts every new credential into the pool's connect options.
async fn follow(pool: sqlx::PgPool, options: PgConnectOptions, credentials: CredentialCache) {
    let mut latest = credentials.subscribe();
    while latest.changed().await.is_ok() {
        if let Some(credential) = credentials.current() {
            pool.set_connect_options(options.clone().password(credential.token().expose()));
            tracing::debug!(
                credential = credential.id(),
                "sqlx connect options follow the new credential"
            );
        }
    }
}
