//! Retrying failed HTTP requests: what is retried ([`classify`]) and how long to wait
//! ([`RetryPolicy`], default [`ExponentialRetry`]).
//!
//! # What is retried
//!
//! | failure | verbs | why |
//! |---|---|---|
//! | HTTP 429, 503 | all, incl. POST/PATCH | the platform rejected the request before acting on it (official SDKs do the same) |
//! | error message in [`TRANSIENT_MESSAGES`] | all | the official SDKs' list of transient platform failures |
//! | connect error | all | the request provably never left the machine |
//! | timeout, other I/O error | GET, HEAD, OPTIONS, PUT, DELETE | the server may have acted on the request; repeating is safe for idempotent methods (RFC 9110 §9.2.2) |
//! | timeout, other I/O error of a mutation | per the recovery rules below | the request **may have been applied** (`ambiguous=true` in traces) |
//! | anything else (400, 401, 403, 404, 409, 500, 502, …) | – | not transient, or not known to be safe |
//!
//! # Recovery of mutations whose answer was lost
//!
//! A mutating request whose connection fails after it was sent (a timeout, a reset, a closed
//! connection; not a failed connect) may have been applied. What happens next depends on the
//! kind of operation, read from the spec by the code generator (HTTP method,
//! `x-lakebase-operation`, the created resource's id parameter and whether it is required):
//!
//! | operation kind | after an ambiguous attempt | a refusal of the repeat is settled by | traced `resolution` |
//! |---|---|---|---|
//! | create, id chosen by the caller (`create_project`, `create_branch`, `create_endpoint`, `create_role`/`create_database`/`create_cdf_config` **with** an id, `create_data_api`) | repeated | "already exists" (`ALREADY_EXISTS`, `RESOURCE_ALREADY_EXISTS`, or the service's 400 "… already exists" of roles and databases): the resource is read; if it **matches** what was sent, the call succeeds with a finished `Operation` holding it, otherwise the refusal stands | `exists_as_sent`, `exists_differently`, `unsettled` (the read failed) |
//! | delete | repeated | `404`: success (a finished `Operation`) | `already_deleted` |
//! | update with a mask | repeated as it is (same mask, same body: idempotent) | – | – |
//! | undelete | repeated | any 4xx but 429: the resource is read; found live, success | `already_undeleted` |
//! | POST without an operation (`generate_database_credential`, `reveal_role_password`) | repeated (no lasting effect) | – | – |
//! | create, id picked by the server (`create_role`/`create_database`/`create_cdf_config` **without** an id) | **not** repeated: a repeat could create a second resource | the call fails with [`Error::MaybeApplied`], which says the request may have been applied and names the collection to list | `not_repeated` |
//!
//! **Matches** means: every value the caller set in the body — each leaf of the sent JSON, a
//! scalar or an array, `null` and empty objects counting as unset — equals the read resource's
//! value at the same path or, for a path under `spec` the resource has no value at, at the same
//! path under `status` (reads echo the spec into the status). Numbers compare by value. Values
//! the resource shows nowhere (write-only input such as a branch's `ttl`) cannot be compared and
//! do not count against a match, nor do fields the server filled in (uid, times, states,
//! defaults). The `Operation` of a settled call is named `<resource>/operations/recovered` and
//! is already `done`: `wait()` returns at once, without polling.
//!
//! The official Python SDK repeats timed-out POSTs blindly: its own retried create then fails
//! with `ALREADY_EXISTS`, its retried delete with `NOT_FOUND`, and a create whose id the server
//! picks can be applied twice. This crate repeats only what it can settle.
//!
//! A `409` with "reconciliation" (an endpoint change right after another on the same branch)
//! is not retried here: the service does not document it as transient (the reference records
//! only that the Databricks CLI retries it for endpoint deletes), and it lasts as long as the
//! endpoint reconciles, far past a retry's backoff;
//! [`Operation::wait_until_settled`](crate::Operation::wait_until_settled) waits it out.
//!
//! # How long
//!
//! [`ExponentialRetry::default()`]: a **300 s budget** for the whole call (like the official
//! SDKs), delays drawn with **full jitter** from `[0, min(10 s, 1 s × 2^(n-1))]` (1, 2, 4, 8,
//! 10, 10 … s caps). The 10 s cap equals the Python SDK's cap on transient sleeps: after an
//! outage ends, a client is back within ~10 s, while the budget still allows ~50 attempts
//! (mean delay 5 s) — a 60 s cap would leave a recovered service idle for up to a minute and
//! make only a handful of attempts in the budget. A `Retry-After` (seconds or HTTP-date, or a
//! `RetryInfo` detail) replaces the backoff: sleep `Retry-After + [0, 1) s` (the jitter the
//! official SDK adds). Every delay is capped by the remaining budget: the last attempt happens at
//! the deadline at the latest, never one sleep after it; once the budget is spent the policy
//! answers [`RetryDecision::BudgetExhausted`] and the caller reports [`Error::Timeout`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ApiError, Error, TransportErrorKind};

/// Substrings of error messages that the official SDKs treat as transient (`_base_client.py`).
pub const TRANSIENT_MESSAGES: &[&str] = &[
    "UnknownWorkerEnvironmentException",
    "does not have any associated worker environments",
    "There is no worker environment with id",
    "Unknown worker environment",
    "ClusterNotReadyException",
    "Unexpected error",
    "Please try again later or try a faster operation.",
    "RPC token bucket limit has been exceeded",
];

/// Whether an error message contains one of [`TRANSIENT_MESSAGES`].
pub fn is_transient_message(message: &str) -> bool {
    TRANSIENT_MESSAGES.iter().any(|m| message.contains(m))
}

/// Why a failure may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryReason {
    /// HTTP 429 or 503.
    Throttled,
    /// The error message is one of [`TRANSIENT_MESSAGES`].
    TransientMessage,
    /// The connection could not be established.
    Connect,
    /// The request timed out (idempotent methods, and mutations the recovery rules repeat).
    Timeout,
    /// Another I/O failure (idempotent methods, and mutations the recovery rules repeat).
    Io,
}

/// The verdict of [`classify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retryability {
    /// The failure is transient and the request safe to repeat.
    Retry(RetryReason),
    /// Do not repeat the request.
    DoNotRetry,
}

/// Whether a method may be repeated after a failure that may have reached the server.
fn is_idempotent(method: &http::Method) -> bool {
    use http::Method;
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT, Method::DELETE].contains(method)
}

/// Decides whether a failed request may be retried (rules in the [module docs](self)).
///
/// `status` is the HTTP status when a response arrived (`None` for transport failures);
/// `body_message` the parsed error message of that response.
///
/// ```
/// use lakebase::retry::{classify, RetryReason, Retryability};
/// use http::Method;
/// assert_eq!(classify(Some(429), &Method::POST, false, false, None), Retryability::Retry(RetryReason::Throttled));
/// assert_eq!(classify(Some(500), &Method::GET, false, false, Some("boom")), Retryability::DoNotRetry);
/// assert_eq!(classify(None, &Method::POST, false, true, None), Retryability::DoNotRetry);
/// assert_eq!(classify(None, &Method::GET, false, true, None), Retryability::Retry(RetryReason::Timeout));
/// ```
pub fn classify(
    status: Option<u16>,
    method: &http::Method,
    is_connect_error: bool,
    is_timeout: bool,
    body_message: Option<&str>,
) -> Retryability {
    use Retryability::{DoNotRetry, Retry};
    match status {
        Some(429 | 503) => Retry(RetryReason::Throttled),
        Some(s) if (200..300).contains(&s) => DoNotRetry,
        Some(_) if body_message.is_some_and(is_transient_message) => Retry(RetryReason::TransientMessage),
        Some(_) => DoNotRetry,
        None if is_connect_error => Retry(RetryReason::Connect),
        None if !is_idempotent(method) => DoNotRetry,
        None if is_timeout => Retry(RetryReason::Timeout),
        None => Retry(RetryReason::Io),
    }
}

/// A failure the caller may retry, as seen by a [`RetryPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryableFailure {
    /// Why it is retryable.
    pub reason: RetryReason,
    /// The server's requested delay (`Retry-After` header or `RetryInfo` detail).
    pub retry_after: Option<Duration>,
}

impl RetryableFailure {
    /// Classifies an [`Error`] of a request sent with `method`; `None` if it must not be retried.
    pub fn from_error(error: &Error, method: &http::Method) -> Option<RetryableFailure> {
        let verdict = match error {
            Error::Api(e) => return Self::from_api_error(e, method),
            Error::Transport(t) => classify(
                None,
                method,
                t.kind == TransportErrorKind::Connect,
                t.kind == TransportErrorKind::Timeout,
                None,
            ),
            _ => Retryability::DoNotRetry,
        };
        match verdict {
            Retryability::Retry(reason) => Some(RetryableFailure {
                reason,
                retry_after: None,
            }),
            Retryability::DoNotRetry => None,
        }
    }

    /// Classifies an error answer to a request sent with `method`; `None` if it must not be
    /// retried.
    pub fn from_api_error(error: &ApiError, method: &http::Method) -> Option<RetryableFailure> {
        match classify(Some(error.status), method, false, false, Some(&error.message)) {
            Retryability::Retry(reason) => Some(RetryableFailure {
                reason,
                retry_after: error.retry_after,
            }),
            Retryability::DoNotRetry => None,
        }
    }
}

/// What to do after a retryable failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep this long, then try again.
    Retry {
        /// The delay.
        after: Duration,
    },
    /// The retry budget is spent: fail with [`Error::Timeout`] wrapping the last error.
    BudgetExhausted,
    /// Don't retry: return the failure as it is.
    DoNotRetry,
}

/// Decides how long to wait before retrying a failed request.
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// Called after attempt number `attempt` (1-based) failed with a retryable `failure`,
    /// `elapsed` after the call started.
    fn on_failure(&self, attempt: u32, elapsed: Duration, failure: &RetryableFailure) -> RetryDecision;

    /// The total time budget of one call, if the policy has one.
    fn budget(&self) -> Option<Duration> {
        None
    }
}

/// A source of randomness in `[0, 1)` for jitter; replace it to make delays deterministic.
pub trait Jitter: Send + Sync + fmt::Debug {
    /// A value in `[0, 1)`.
    fn unit(&self) -> f64;
}

/// [`Jitter`] from the thread-local RNG of `rand`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn unit(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// [`Jitter`] that always returns the same value (clamped to `[0, 1)`): reproducible delays.
#[derive(Clone, Copy, Debug)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn unit(&self) -> f64 {
        self.0.clamp(0.0, 0.999_999)
    }
}

/// Exponential backoff with full jitter inside a total time budget (see the
/// [module docs](self) for the defaults and their rationale).
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use lakebase::retry::*;
///
/// let policy = ExponentialRetry::default()
///     .with_budget(Duration::from_secs(60))
///     .with_jitter(Arc::new(FixedJitter(0.5)));
/// let failure = RetryableFailure { reason: RetryReason::Connect, retry_after: None };
/// // 3rd failure: cap 1 s × 2² = 4 s, half of it with jitter 0.5.
/// assert_eq!(
///     policy.on_failure(3, Duration::from_secs(5), &failure),
///     RetryDecision::Retry { after: Duration::from_secs(2) }
/// );
/// assert_eq!(policy.on_failure(9, Duration::from_secs(60), &failure), RetryDecision::BudgetExhausted);
/// ```
#[derive(Clone, Debug)]
pub struct ExponentialRetry {
    budget: Duration,
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: Arc<dyn Jitter>,
}

impl Default for ExponentialRetry {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(300),
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: Arc::new(RandomJitter),
        }
    }
}

impl ExponentialRetry {
    /// Total time budget of a call (default 300 s).
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Backoff cap of the first retry (default 1 s).
    pub fn with_initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Largest backoff cap (default 10 s).
    pub fn with_max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Growth factor of the backoff cap (default 2; values below 1 are treated as 1).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// Randomness source (default [`RandomJitter`]).
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// The backoff cap before retry number `attempt` (1-based).
    fn backoff_cap(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(64) as i32;
        let secs = self.initial.as_secs_f64() * self.multiplier.powi(exp);
        let max = self.max.as_secs_f64();
        Duration::try_from_secs_f64(secs.min(max)).unwrap_or(self.max)
    }
}

impl RetryPolicy for ExponentialRetry {
    fn on_failure(&self, attempt: u32, elapsed: Duration, failure: &RetryableFailure) -> RetryDecision {
        let Some(remaining) = self.budget.checked_sub(elapsed).filter(|r| !r.is_zero()) else {
            return RetryDecision::BudgetExhausted;
        };
        let unit = self.jitter.unit();
        let delay = match failure.retry_after {
            Some(server) => server.saturating_add(Duration::from_secs(1).mul_f64(unit)),
            None => self.backoff_cap(attempt).mul_f64(unit),
        };
        RetryDecision::Retry {
            after: delay.min(remaining),
        }
    }

    fn budget(&self) -> Option<Duration> {
        Some(self.budget)
    }
}

/// A policy that never retries (for tests, or callers with their own retry loop).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn on_failure(&self, _: u32, _: Duration, _: &RetryableFailure) -> RetryDecision {
        RetryDecision::DoNotRetry
    }
}

/// Something that can wait; replace it in tests to run retries and polls without real time.
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Time spent by a call that sleeps through a [`Sleeper`]: wall time, or the time the
/// sleeper was asked to sleep when that is larger. With the real sleeper the two agree;
/// with a sleeper that returns at once (tests), budgets and deadlines still run out after
/// the same number of attempts as they would in real time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stopwatch {
    started: std::time::Instant,
    slept: Duration,
}

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Stopwatch {
            started: std::time::Instant::now(),
            slept: Duration::ZERO,
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed().max(self.slept)
    }

    /// Sleeps through `sleeper` and counts the time.
    pub(crate) async fn sleep(&mut self, sleeper: &dyn Sleeper, duration: Duration) {
        sleeper.sleep(duration).await;
        self.slept += duration;
    }
}

/// [`Sleeper`] backed by `tokio::time::sleep` (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// [`Sleeper`] that records every requested duration and then returns at once (for tests), or,
/// built with [`RecordingSleeper::around`], sleeps through another sleeper (to measure what a
/// real run asked for). A test double: only with the `testing` feature.
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Debug, Default)]
pub struct RecordingSleeper {
    slept: Arc<std::sync::Mutex<Vec<Duration>>>,
    inner: Option<Arc<dyn Sleeper>>,
}

#[cfg(any(test, feature = "testing"))]
impl RecordingSleeper {
    /// A new recorder with nothing recorded, whose sleeps return at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new recorder with nothing recorded that sleeps through `inner`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use lakebase::retry::{RecordingSleeper, TokioSleeper};
    /// let sleeper = RecordingSleeper::around(Arc::new(TokioSleeper));
    /// assert!(sleeper.recorded().is_empty());
    /// ```
    pub fn around(inner: Arc<dyn Sleeper>) -> Self {
        Self {
            inner: Some(inner),
            ..Self::default()
        }
    }

    /// The durations requested so far, in order.
    pub fn recorded(&self) -> Vec<Duration> {
        self.slept.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The sum of the durations requested so far (the virtual time spent sleeping).
    pub fn total(&self) -> Duration {
        self.recorded().iter().sum()
    }
}

#[cfg(any(test, feature = "testing"))]
impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        if let Ok(mut v) = self.slept.lock() {
            v.push(duration);
        }
        match &self.inner {
            Some(inner) => inner.sleep(duration),
            None => Box::pin(std::future::ready(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, TransportError};
    use http::{HeaderMap, HeaderValue, Method};
    use std::time::SystemTime;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn classify_table() {
        use RetryReason::*;
        use Retryability::*;
        let methods = [Method::GET, Method::POST, Method::PATCH, Method::DELETE];
        // (status, connect, timeout, message, expected for GET, POST, PATCH, DELETE)
        type Case<'a> = (Option<u16>, bool, bool, Option<&'a str>, [Retryability; 4]);
        let cases: &[Case] = &[
            (Some(429), false, false, None, [Retry(Throttled); 4]),
            (Some(503), false, false, Some("x"), [Retry(Throttled); 4]),
            (Some(500), false, false, Some("boom"), [DoNotRetry; 4]),
            (Some(400), false, false, Some("bad"), [DoNotRetry; 4]),
            (Some(502), false, false, None, [DoNotRetry; 4]),
            (Some(504), false, false, None, [DoNotRetry; 4]),
            (Some(404), false, false, None, [DoNotRetry; 4]),
            (Some(409), false, false, Some("reconciliation"), [DoNotRetry; 4]),
            (
                Some(500),
                false,
                false,
                Some("Unexpected error: x"),
                [Retry(TransientMessage); 4],
            ),
            (
                Some(400),
                false,
                false,
                Some("RPC token bucket limit has been exceeded"),
                [Retry(TransientMessage); 4],
            ),
            (Some(200), false, false, Some("Unexpected error"), [DoNotRetry; 4]),
            (None, true, false, None, [Retry(Connect); 4]),
            (None, true, true, None, [Retry(Connect); 4]),
            (
                None,
                false,
                true,
                None,
                [Retry(Timeout), DoNotRetry, DoNotRetry, Retry(Timeout)],
            ),
            (None, false, false, None, [Retry(Io), DoNotRetry, DoNotRetry, Retry(Io)]),
        ];
        for (status, connect, timeout, msg, expected) in cases {
            for (m, exp) in methods.iter().zip(expected) {
                assert_eq!(
                    classify(*status, m, *connect, *timeout, *msg),
                    *exp,
                    "{status:?} {m} connect={connect} timeout={timeout} {msg:?}"
                );
            }
        }
        for m in TRANSIENT_MESSAGES {
            assert!(is_transient_message(&format!("prefix {m} suffix")));
        }
        assert!(!is_transient_message("unexpected error")); // case-sensitive like the SDKs
    }

    #[test]
    fn failure_from_error() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let api = Error::from(ApiError::from_response(
            429,
            "Too Many Requests",
            &headers,
            br#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}"#,
        ));
        assert_eq!(
            RetryableFailure::from_error(&api, &Method::POST),
            Some(RetryableFailure {
                reason: RetryReason::Throttled,
                retry_after: Some(S(7))
            })
        );
        let e500 = Error::from(ApiError::from_response(500, "", &HeaderMap::new(), b""));
        assert_eq!(RetryableFailure::from_error(&e500, &Method::GET), None);
        let timeout = Error::Transport(TransportError::new(TransportErrorKind::Timeout, "t"));
        assert_eq!(RetryableFailure::from_error(&timeout, &Method::POST), None);
        assert!(RetryableFailure::from_error(&timeout, &Method::GET).is_some());
        let connect = Error::Transport(TransportError::new(TransportErrorKind::Connect, "c"));
        assert!(RetryableFailure::from_error(&connect, &Method::PATCH).is_some());
        assert_eq!(
            RetryableFailure::from_error(&Error::Config("x".into()), &Method::GET),
            None
        );
    }

    fn policy(jitter: f64) -> ExponentialRetry {
        ExponentialRetry::default().with_jitter(Arc::new(FixedJitter(jitter)))
    }

    fn backoff() -> RetryableFailure {
        RetryableFailure {
            reason: RetryReason::Connect,
            retry_after: None,
        }
    }

    #[test]
    fn exponential_full_jitter() {
        // jitter ~1: delays at the caps 1, 2, 4, 8, 10, 10 s
        let p = policy(0.999_999);
        let caps: Vec<u64> = (1..=7)
            .map(|n| match p.on_failure(n, S(0), &backoff()) {
                RetryDecision::Retry { after } => after.as_secs_f64().round() as u64,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(caps, [1, 2, 4, 8, 10, 10, 10]);
        // jitter 0: full jitter may retry immediately
        assert_eq!(
            policy(0.0).on_failure(4, S(0), &backoff()),
            RetryDecision::Retry { after: S(0) }
        );
        // huge attempt numbers don't overflow
        assert_eq!(
            policy(0.5).on_failure(u32::MAX, S(0), &backoff()),
            RetryDecision::Retry { after: S(5) }
        );
        let custom = policy(0.5).with_initial(S(2)).with_max(S(60)).with_multiplier(3.0);
        assert_eq!(
            custom.on_failure(3, S(0), &backoff()),
            RetryDecision::Retry { after: S(9) }
        );
        assert_eq!(
            policy(0.5).with_multiplier(f64::NAN).on_failure(9, S(0), &backoff()),
            RetryDecision::Retry {
                after: Duration::from_millis(500)
            }
        );
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let p = policy(0.25);
        let seconds = RetryableFailure {
            reason: RetryReason::Throttled,
            retry_after: Some(S(30)),
        };
        assert_eq!(
            p.on_failure(1, S(0), &seconds),
            RetryDecision::Retry {
                after: Duration::from_millis(30_250)
            }
        );
        // HTTP-date, as parsed into the ApiError
        let now = SystemTime::now();
        let date = httpdate::fmt_http_date(now + S(42));
        let ra = crate::error::parse_retry_after(&date, now).unwrap();
        assert!(ra <= S(42) && ra >= S(41), "{ra:?}");
        let dated = RetryableFailure {
            reason: RetryReason::Throttled,
            retry_after: Some(ra),
        };
        match p.on_failure(1, S(0), &dated) {
            RetryDecision::Retry { after } => assert!(after >= S(41) && after <= S(43)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn budget_caps_and_exhaustion() {
        let p = policy(0.999_999);
        // Retry-After longer than the remaining budget: sleep only up to the deadline.
        let throttled = RetryableFailure {
            reason: RetryReason::Throttled,
            retry_after: Some(S(120)),
        };
        assert_eq!(
            p.on_failure(3, S(290), &throttled),
            RetryDecision::Retry { after: S(10) }
        );
        // Backoff longer than the remaining budget: same.
        assert_eq!(
            p.on_failure(9, Duration::from_millis(299_500), &backoff()),
            RetryDecision::Retry {
                after: Duration::from_millis(500)
            }
        );
        // At or past the deadline: give up, no further sleep.
        assert_eq!(p.on_failure(10, S(300), &backoff()), RetryDecision::BudgetExhausted);
        assert_eq!(p.on_failure(10, S(301), &throttled), RetryDecision::BudgetExhausted);
        assert_eq!(p.budget(), Some(S(300)));
    }

    #[test]
    fn simulated_call_never_sleeps_past_the_deadline() {
        // Each attempt takes 3 s and fails; total virtual time must end exactly at the budget.
        let p = policy(0.999_999).with_budget(S(60));
        let mut elapsed = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            elapsed += S(3);
            match p.on_failure(attempt, elapsed, &backoff()) {
                RetryDecision::Retry { after } => elapsed += after,
                RetryDecision::BudgetExhausted => break,
                RetryDecision::DoNotRetry => panic!(),
            }
        }
        // The last sleep ends at 60 s; the last attempt (3 s) ends at 63 s, then we give up.
        assert!(elapsed <= S(63), "{elapsed:?}");
        assert!(attempt >= 5);
    }

    #[test]
    fn no_retry() {
        let t = RetryableFailure {
            reason: RetryReason::Throttled,
            retry_after: None,
        };
        assert_eq!(NoRetry.on_failure(1, S(0), &t), RetryDecision::DoNotRetry);
        assert_eq!(NoRetry.budget(), None);
    }

    #[tokio::test]
    async fn sleepers() {
        let s = RecordingSleeper::new();
        s.sleep(S(3)).await;
        s.sleep(Duration::from_millis(500)).await;
        assert_eq!(s.recorded(), vec![S(3), Duration::from_millis(500)]);
        assert_eq!(s.total(), Duration::from_millis(3500));
        let start = tokio::time::Instant::now();
        TokioSleeper.sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(RandomJitter.unit() < 1.0);
    }
}
