//! Connection health: which errors mean a connection is gone, and when an idle connection is
//! checked with a round trip before it is handed out again.
//!
//! A pool that trusts `is_closed()` alone hands out connections the server closed while they
//! sat idle (a compute suspending or restarting, `pg_terminate_backend`, a session limit): the
//! client notices the close only when it next reads the socket. The pool's recycle hook
//! (`Health::check`, run by deadpool's `pre_recycle` for every idle connection it is about
//! to hand out) therefore validates an idle connection with an empty query when
//!
//! 1. **a connection-level failure was seen since it was last handed out** (any connection of
//!    the pool ended with an error, a validation failed, a connect attempt found the compute
//!    down, or [`Pool::run_with_retry`](crate::Pool::run_with_retry) saw a statement fail with
//!    one). Servers close sessions together (a suspend or restart closes them all, an operator
//!    kills them in batches), so one dead connection makes every connection idle across the
//!    failure suspect. The check is one atomic load and one comparison: a failure is a
//!    timestamp, a connection's "since" is deadpool's last hand-out time;
//! 2. **it was last handed out longer ago than the idle threshold**
//!    ([`DEFAULT_VALIDATE_AFTER_IDLE`], 5 s), which catches what no error announces (a peer
//!    gone without a FIN, a NAT or load balancer that forgot the flow).
//!
//! A busy pool hands each connection out again within milliseconds and sees no failures, so
//! its hot path does no round trip: one `is_closed()`, the lifetime check and two comparisons.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{ClientWrapper, HookError, Metrics};
use tokio_postgres::error::SqlState;

use crate::metrics::PoolMetrics;

/// An idle connection last handed out longer ago than this is checked with a round trip
/// before it is handed out again.
///
/// 5 seconds: far above the gap between two uses of a connection in a busy pool (so the hot
/// path never pays a round trip), far below anything the service or the network does to an
/// idle session (scale to zero after at least 60 s idle, NAT and load-balancer idle timeouts
/// of minutes, the 24 h idle limit). Closes that announce themselves (a FIN, a `57P01`) are
/// caught sooner by the failure rule of the [module docs](self); this threshold is for the
/// silent ones. A validation costs one round trip (about a millisecond in region), at most one
/// per connection per 5 s of idleness.
pub const DEFAULT_VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Longest a validation round trip may take before the connection is given up as dead.
pub const DEFAULT_VALIDATION_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `error` means the connection it happened on is gone (or going): SQLSTATE class
/// `08` (connection exception), `57P01` `admin_shutdown` (e.g. `pg_terminate_backend`),
/// `57P02` `crash_shutdown`, `57P03` `cannot_connect_now`, a closed connection, or an I/O error.
///
/// Such a connection is not reused, and work that failed with it may be retried on another
/// one (see [`Pool::run_with_retry`](crate::Pool::run_with_retry)).
pub fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        return code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<io::Error>().is_some() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Why an idle connection was not handed out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eviction {
    /// Its connection had already ended.
    Closed,
    /// Older than the pool's max lifetime.
    Lifetime,
    /// The validation round trip failed or timed out.
    Validation,
}

impl Eviction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Eviction::Closed => "closed",
            Eviction::Lifetime => "max_lifetime",
            Eviction::Validation => "validation_failed",
        }
    }
}

/// Failures seen and checks made, shared by the pool's hooks and connection tasks.
#[derive(Debug)]
pub(crate) struct Health {
    origin: Instant,
    /// Nanoseconds after `origin` of the latest connection-level failure, plus one; 0: none.
    last_failure: AtomicU64,
    validate_after_idle: Option<Duration>,
    validation_timeout: Duration,
    max_lifetime: Option<Duration>,
    failures: AtomicU64,
    validations: AtomicU64,
    evictions: AtomicU64,
    pub(crate) metrics: PoolMetrics,
}

impl Health {
    pub(crate) fn new(
        validate_after_idle: Option<Duration>,
        max_lifetime: Option<Duration>,
        metrics: PoolMetrics,
    ) -> Self {
        Health {
            origin: Instant::now(),
            last_failure: AtomicU64::new(0),
            validate_after_idle,
            validation_timeout: DEFAULT_VALIDATION_TIMEOUT,
            max_lifetime,
            failures: AtomicU64::new(0),
            validations: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            metrics,
        }
    }

    /// Notes a connection-level failure now: every connection idle across it is validated
    /// before its next hand-out. `code` is the SQLSTATE, if any, for the error metric.
    pub(crate) fn record_failure(&self, code: Option<&str>) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        self.last_failure.fetch_max(nanos, Ordering::AcqRel);
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.metrics.error(code.unwrap_or("connection_lost"));
    }

    /// Whether a connection-level failure was recorded at or after `instant`.
    fn failed_since(&self, instant: Instant) -> bool {
        let last = self.last_failure.load(Ordering::Acquire);
        if last == 0 {
            return false;
        }
        let since = instant.saturating_duration_since(self.origin).as_nanos();
        u128::from(last - 1) >= since
    }

    /// The pool's `pre_recycle` check of an idle connection about to be handed out; see the
    /// [module docs](self). An error drops the connection and deadpool moves on to the next
    /// idle one (or opens a new one).
    pub(crate) async fn check(&self, client: &mut ClientWrapper, metrics: &Metrics) -> Result<(), HookError> {
        if client.is_closed() {
            return Err(self.evict(Eviction::Closed));
        }
        if self.max_lifetime.is_some_and(|max| metrics.age() > max) {
            return Err(self.evict(Eviction::Lifetime));
        }
        if !self.needs_validation(metrics.recycled.unwrap_or(metrics.created)) {
            return Ok(());
        }
        self.count_validation();
        match tokio::time::timeout(self.validation_timeout, client.simple_query("")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                self.record_failure(error.code().map(SqlState::code));
                tracing::debug!(error = %error, "an idle connection failed its validation");
                Err(self.evict(Eviction::Validation))
            }
            Err(_) => {
                self.record_failure(Some("validation_timeout"));
                Err(self.evict(Eviction::Validation))
            }
        }
    }

    /// Whether a connection last used (handed out, or returned) at `last_used` must be checked
    /// with a round trip: a failure since, or idle longer than the threshold.
    pub(crate) fn needs_validation(&self, last_used: Instant) -> bool {
        self.validate_after_idle
            .is_some_and(|threshold| last_used.elapsed() > threshold)
            || self.failed_since(last_used)
    }

    /// The longest a validation round trip may take.
    #[cfg(feature = "sqlx")]
    pub(crate) fn validation_timeout(&self) -> Duration {
        self.validation_timeout
    }

    /// Counts a validation round trip about to be made.
    pub(crate) fn count_validation(&self) {
        self.validations.fetch_add(1, Ordering::Relaxed);
        self.metrics.validation();
    }

    /// Counts an eviction and says why, for deadpool's hook error.
    pub(crate) fn evict(&self, why: Eviction) -> HookError {
        self.evictions.fetch_add(1, Ordering::Relaxed);
        self.metrics.eviction(why.as_str());
        tracing::debug!(
            reason = why.as_str(),
            "an idle connection was dropped instead of reused"
        );
        HookError::message(why.as_str())
    }

    /// Counters so far.
    pub(crate) fn stats(&self) -> HealthStats {
        HealthStats {
            connection_failures: self.failures.load(Ordering::Relaxed),
            validations: self.validations.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

/// What the pool did to keep dead connections from being handed out (see [`crate::health`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthStats {
    /// Connection-level failures seen: connections that ended with an error, failed
    /// validations, connect attempts on a compute that was down, statements that failed with
    /// a connection error in [`Pool::run_with_retry`](crate::Pool::run_with_retry).
    pub connection_failures: u64,
    /// Idle connections checked with a round trip before being handed out.
    pub validations: u64,
    /// Idle connections dropped instead of handed out (closed, too old, failed validation).
    pub evictions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        Health::new(Some(DEFAULT_VALIDATE_AFTER_IDLE), None, PoolMetrics::default())
    }

    #[test]
    fn a_failure_marks_what_was_handed_out_before_it_and_nothing_after() {
        let health = health();
        let before = Instant::now();
        assert!(!health.failed_since(before), "no failure yet");
        std::thread::sleep(Duration::from_millis(2));
        health.record_failure(Some("57P01"));
        assert!(health.failed_since(before));
        std::thread::sleep(Duration::from_millis(2));
        assert!(!health.failed_since(Instant::now()));
        assert_eq!(health.stats().connection_failures, 1);
    }

    #[test]
    fn a_timeout_is_not_a_connection_error() {
        assert!(!is_connection_error(&tokio_postgres::Error::__private_api_timeout()));
    }
}
