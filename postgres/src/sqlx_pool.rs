//! The same credential machinery for `sqlx::PgPool` (feature `sqlx`).
//!
//! sqlx 0.8 opens every connection from the `PgConnectOptions` its pool holds and lets them be
//! replaced with `PgPool::set_connect_options`. [`PoolBuilder::build_sqlx`] resolves host and
//! user like [`PoolBuilder::build`], waits for the first credential, and keeps a task that puts
//! each new credential of the shared [`CredentialCache`] into the options, so new connections
//! always log in with a current token and no connect waits on the API.
//!
//! Idle connections are checked like the deadpool pool's (see [`crate::health`]), through
//! sqlx's `before_acquire` hook instead of `test_before_acquire` (which pings on *every*
//! acquire, a round trip on the hot path): a connection idle longer than
//! [`validate_after_idle`](PoolBuilder::validate_after_idle) (5 s), or idle across a failed
//! check of another connection, is pinged first and dropped if the ping fails.
//!
//! What only the deadpool [`Pool`](crate::Pool) does, because sqlx owns its connections and its
//! connect: noticing that a connection *in use* or idle ended with an error (sqlx exposes no
//! hook for it, so a connection killed while idle for less than the threshold, with no failed
//! check since, can be handed out once; its error then tells the caller to retry, and sqlx
//! drops it); retrying work on a lost connection ([`Pool::run_with_retry`](crate::Pool::run_with_retry));
//! retrying a login refused with `28P01` after a fresh mint, and retrying a waking compute
//! within the connect timeout (sqlx retries failed connects until its `acquire_timeout`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = lakebase_postgres::Pool::builder().build_sqlx().await?;
//! let (n,): (i32,) = sqlx::query_as("select 1").fetch_one(&*pool).await?;
//! # Ok(()) }
//! ```

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use crate::builder::{PoolBuilder, Resolved};
use crate::credential::CredentialCache;
use crate::error::Error;
use crate::health::{Eviction, Health, HealthStats};
use crate::metrics::PoolMetrics;
use crate::tls::{self, TlsMode};

/// A `sqlx::PgPool` whose connect options follow the shared credential. Derefs to the
/// `PgPool`; the follower task stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct SqlxPool {
    pool: sqlx::PgPool,
    credentials: CredentialCache,
    health: Arc<Health>,
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

    /// Idle connections checked and dropped so far (`connection_failures` counts failed checks
    /// only: sqlx does not show the pool other failures).
    pub fn health(&self) -> HealthStats {
        self.health.stats()
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
        let health = Arc::new(Health::new(self.validate_after_idle, None, PoolMetrics::default()));
        let pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .before_acquire(validate_idle(health.clone()))
            .max_connections(u32::try_from(self.max_size).unwrap_or(u32::MAX))
            .acquire_timeout(self.wait_timeout.unwrap_or(Duration::from_secs(3600)))
            .max_lifetime(self.max_lifetime)
            .connect_lazy_with(options.clone().password(first.token().expose()));
        let follower = tokio::spawn(follow(pool.clone(), options, credentials.clone())).abort_handle();
        Ok(SqlxPool {
            pool,
            credentials,
            health,
            _follower: std::sync::Arc::new(Follower(follower)),
        })
    }
}

/// The `before_acquire` hook: pings an idle connection when [`Health::needs_validation`]
/// says so; a failed or slow ping drops it (sqlx then tries another or opens one).
#[allow(clippy::type_complexity)]
fn validate_idle(
    health: Arc<Health>,
) -> impl for<'c> Fn(
    &'c mut sqlx::PgConnection,
    sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'c, Result<bool, sqlx::Error>>
+ Send
+ Sync
+ 'static {
    move |conn, meta| {
        let health = health.clone();
        Box::pin(async move {
            let now = Instant::now();
            if !health.needs_validation(now.checked_sub(meta.idle_for).unwrap_or(now)) {
                return Ok(true);
            }
            health.count_validation();
            match tokio::time::timeout(health.validation_timeout(), sqlx::Connection::ping(conn)).await {
                Ok(Ok(())) => Ok(true),
                _ => {
                    health.record_failure(None);
                    health.evict(Eviction::Validation);
                    Ok(false)
                }
            }
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
