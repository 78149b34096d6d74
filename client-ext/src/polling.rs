//! [`PollingPolicy`]: when to poll a long-running operation, and for how long.
//!
//! # Default schedule
//!
//! The first poll happens **1 s** after waiting starts (the create/update call has just returned
//! a not-done operation: polling at once is almost always wasted). After that, the delay before
//! the next poll is
//!
//! ```text
//! delay = clamp(0.5 × elapsed × (1 + j), 1 s, 10 s)      j uniform in [-10 %, +10 %)
//! ```
//!
//! i.e. polls every second for the first 2 s, then the interval grows ~1.5× per poll, capped at
//! 10 s. The lateness (time between the operation finishing and the client seeing it) is thus at
//! most ~1 s for operations shorter than 2 s, at most ~55 % of the duration after that, and at
//! most 10 s for long ones, while the number of polls grows only logarithmically up to the cap.
//! Jitter only scales the proportional part, so the 1 s grid of the first seconds is exact:
//! a 3 s operation is seen at 3.0–3.1 s with 3 polls (the official Python SDK polls at 0, ~1.4,
//! ~3.8 s: 3 polls, ~0.8 s late). The trade-off: a fixed 1 s grid favours operations of whole
//! seconds (a 3.2 s one waits until ~4.6 s), and no schedule can promise small lateness for
//! every duration without polling a lot more. Callers with other needs pass their own policy.
//!
//! | operation | polls | lateness |   | operation | polls | lateness |
//! |---:|---:|---:|---|---:|---:|---:|
//! | 0.5 s | 1 | 0.50 s |   | 7.5 s | 6 | 2.62 s |
//! | 1 s | 1 | 0.00 s |   | 10 s | 6 | 0.12 s |
//! | 1.5 s | 2 | 0.50 s |   | 15 s | 7 | 0.19 s |
//! | 2 s | 2 | 0.00 s |   | 20 s | 8 | 2.78 s |
//! | 2.5 s | 3 | 0.50 s |   | 30 s | 9 | 2.78 s |
//! | 3 s | 3 | 0.00 s (≤ 0.10 s any jitter) |   | 45 s | 11 | 7.78 s |
//! | 3.2 s | 4 | 1.30 s |   | 60 s | 12 | 2.78 s |
//! | 4 s | 4 | 0.50 s |   | 120 s | 18 | 2.78 s |
//! | 5 s | 5 | 1.75 s |   | 600 s | 66 | 2.78 s |
//!
//! (Jitter at its midpoint; `cargo test -p lakebase polling::tests::schedule_table -- --nocapture`
//! prints this table with the jitter extremes too.)
//!
//! # Deadline
//!
//! Default **20 minutes**, the default of the Go SDK's waiters: far above the seconds to minutes
//! Lakebase operations take, yet a hung operation does not block a program forever (the Python
//! SDK waits forever by default). On expiry the waiter fails with
//! [`Error::Timeout`]; the operation keeps running server-side and
//! can be resumed by name. The last poll is scheduled at the deadline, never a sleep after it.
//!
//! # Errors while polling
//!
//! [`PollingPolicy::keep_polling_after`]: transient failures of a poll (429, 503, transient
//! messages, connect/timeout/I-O errors — the poll is a GET) keep the wait going; any other
//! error ends it.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::retry::{Jitter, RandomJitter, RetryableFailure};

/// When to poll a long-running operation (see the [module docs](self) for the defaults).
///
/// ```
/// use std::time::Duration;
/// use lakebase::polling::PollingPolicy;
///
/// let policy = PollingPolicy::default();
/// assert_eq!(policy.next_delay(0, Duration::ZERO), Some(Duration::from_secs(1)));
/// assert_eq!(policy.next_delay(5, Duration::from_secs(1200)), None); // deadline reached
///
/// let quick = PollingPolicy::default()
///     .with_deadline(Some(Duration::from_secs(60)))
///     .with_max_interval(Duration::from_secs(5));
/// assert!(quick.next_delay(20, Duration::from_secs(50)) <= Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Debug)]
pub struct PollingPolicy {
    initial_delay: Duration,
    min_interval: Duration,
    max_interval: Duration,
    growth: f64,
    jitter_fraction: f64,
    deadline: Option<Duration>,
    max_polls: Option<u32>,
    jitter: Arc<dyn Jitter>,
}

impl Default for PollingPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            growth: 0.5,
            jitter_fraction: 0.1,
            deadline: Some(Duration::from_secs(20 * 60)),
            max_polls: None,
            jitter: Arc::new(RandomJitter),
        }
    }
}

impl PollingPolicy {
    /// Polls back to back without sleeping (for tests against fakes), with the default deadline.
    pub fn immediate() -> Self {
        Self {
            initial_delay: Duration::ZERO,
            min_interval: Duration::ZERO,
            max_interval: Duration::ZERO,
            growth: 0.0,
            jitter_fraction: 0.0,
            ..Self::default()
        }
    }

    /// Delay before the first poll (default 1 s; zero polls at once).
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Shortest interval between polls (default 1 s).
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// Longest interval between polls (default 10 s).
    pub fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// Interval as a fraction of the time waited so far (default 0.5, i.e. intervals grow
    /// ~1.5× per poll once above the minimum). Negative or non-finite values mean 0.
    pub fn with_growth(mut self, fraction: f64) -> Self {
        self.growth = if fraction.is_finite() { fraction.max(0.0) } else { 0.0 };
        self
    }

    /// Relative jitter of the growing part of the interval (default 0.1 = ±10 %), clamped to
    /// `[0, 1]`.
    pub fn with_jitter_fraction(mut self, fraction: f64) -> Self {
        self.jitter_fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Randomness source (default [`RandomJitter`]).
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Total time to wait for the operation (default 20 minutes; `None` = forever).
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Give up after this many polls (default: no limit).
    pub fn with_max_polls(mut self, max_polls: Option<u32>) -> Self {
        self.max_polls = max_polls;
        self
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// How long to sleep before the next poll, given the number of polls made so far and the
    /// time waited so far; `None` when the deadline (or the poll limit) is reached and the wait
    /// should fail with a timeout. Delays never extend past the deadline.
    pub fn next_delay(&self, polls_so_far: u32, elapsed: Duration) -> Option<Duration> {
        if self.max_polls.is_some_and(|max| polls_so_far >= max) {
            return None;
        }
        let remaining = match self.deadline {
            Some(deadline) => Some(deadline.checked_sub(elapsed).filter(|r| !r.is_zero())?),
            None => None,
        };
        let delay = if polls_so_far == 0 {
            self.initial_delay
        } else {
            let spread = self.jitter_fraction * (2.0 * self.jitter.unit() - 1.0);
            let proportional = elapsed.as_secs_f64() * self.growth * (1.0 + spread);
            let secs = proportional
                .min(self.max_interval.as_secs_f64())
                .max(self.min_interval.as_secs_f64());
            Duration::try_from_secs_f64(secs).unwrap_or(self.max_interval)
        };
        Some(remaining.map_or(delay, |r| delay.min(r)))
    }

    /// Whether a failed poll should be retried by polling again (transient failure) or end the
    /// wait (anything else).
    pub fn keep_polling_after(&self, error: &Error) -> bool {
        RetryableFailure::from_error(error, &http::Method::GET).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, TransportError, TransportErrorKind};
    use crate::retry::FixedJitter;

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// Polls made and lateness for an operation of `duration`, polls being instantaneous.
    fn simulate(policy: &PollingPolicy, duration: f64) -> Option<(u32, f64)> {
        let mut t = Duration::ZERO;
        let mut polls = 0;
        loop {
            t += policy.next_delay(polls, t)?;
            polls += 1;
            if t.as_secs_f64() >= duration - 1e-9 {
                return Some((polls, t.as_secs_f64() - duration));
            }
        }
    }

    fn with_jitter(j: f64) -> PollingPolicy {
        PollingPolicy::default().with_jitter(Arc::new(FixedJitter(j)))
    }

    #[test]
    fn schedule_table() {
        let durations = [
            0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.2, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0, 300.0, 600.0,
            1200.0,
        ];
        let policies = [with_jitter(0.5), with_jitter(0.0), with_jitter(0.999_999)];
        println!(
            "{:>9} | {:>14} | {:>14} | {:>14}",
            "operation", "mid jitter", "jitter -10%", "jitter +10%"
        );
        println!(
            "{:>9} | {:>5} {:>8} | {:>5} {:>8} | {:>5} {:>8}",
            "s", "polls", "late s", "polls", "late s", "polls", "late s"
        );
        for d in durations {
            let mut row = format!("{d:>9.1}");
            for p in &policies {
                let (polls, late) = simulate(p, d).expect("seen before the deadline");
                row += &format!(" | {polls:>5} {late:>8.2}");
                // Bounded lateness: ~1 s at first, then ≤ 55 % of the duration, ≤ the 10 s cap.
                assert!(late <= (0.55 * d).clamp(1.0, 10.0) + 1e-6, "{d}: {late}");
            }
            println!("{row}");
        }
        // The 3 s goal holds for every jitter value: ≤ 3 polls, seen ≤ 0.15 s late.
        for j in [0.0, 0.25, 0.5, 0.75, 0.999_999] {
            let (polls, late) = simulate(&with_jitter(j), 3.0).unwrap();
            assert!(polls <= 3 && late <= 0.15, "jitter {j}: {polls} polls, {late} late");
        }
        // And a minute-long operation costs about a dozen polls.
        assert!(simulate(&with_jitter(0.5), 60.0).unwrap().0 <= 13);
    }

    #[test]
    fn deadline_is_never_overrun() {
        let p = with_jitter(0.5).with_deadline(Some(S(30)));
        let mut t = Duration::ZERO;
        let mut polls = 0;
        while let Some(d) = p.next_delay(polls, t) {
            t += d;
            polls += 1;
        }
        assert_eq!(t, S(30), "last poll exactly at the deadline");
        assert_eq!(p.next_delay(3, S(31)), None);
        assert_eq!(p.deadline(), Some(S(30)));
        // no deadline: keeps going at the cap
        let forever = with_jitter(0.5).with_deadline(None);
        assert_eq!(forever.next_delay(500, S(1_000_000)), Some(S(10)));
    }

    #[test]
    fn builders_and_limits() {
        let p = with_jitter(0.5)
            .with_initial_delay(Duration::ZERO)
            .with_min_interval(Duration::from_millis(200))
            .with_max_interval(S(2))
            .with_growth(0.25)
            .with_jitter_fraction(5.0)
            .with_max_polls(Some(3));
        assert_eq!(p.next_delay(0, S(0)), Some(Duration::ZERO));
        assert_eq!(p.next_delay(1, S(0)), Some(Duration::from_millis(200)));
        assert_eq!(p.next_delay(2, S(4)), Some(S(1)));
        assert_eq!(p.next_delay(2, S(100)), Some(S(2)));
        assert_eq!(p.next_delay(3, S(1)), None);
        let p = with_jitter(0.5).with_growth(f64::NAN).with_jitter_fraction(f64::NAN);
        assert_eq!(p.next_delay(3, S(100)), Some(S(1)));
        let imm = PollingPolicy::immediate();
        assert_eq!(imm.next_delay(0, S(0)), Some(Duration::ZERO));
        assert_eq!(imm.next_delay(100, S(10)), Some(Duration::ZERO));
    }

    #[test]
    fn error_classification() {
        let p = PollingPolicy::default();
        let api = |status, body: &str| {
            Error::from(ApiError::from_response(
                status,
                "",
                &http::HeaderMap::new(),
                body.as_bytes(),
            ))
        };
        assert!(p.keep_polling_after(&api(429, "")));
        assert!(p.keep_polling_after(&api(503, "")));
        assert!(p.keep_polling_after(&api(500, r#"{"message":"Unexpected error"}"#)));
        assert!(!p.keep_polling_after(&api(500, r#"{"message":"boom"}"#)));
        assert!(!p.keep_polling_after(&api(404, "")));
        assert!(!p.keep_polling_after(&api(403, "")));
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Other,
        ] {
            assert!(p.keep_polling_after(&Error::Transport(TransportError::new(kind, "x"))));
        }
        assert!(!p.keep_polling_after(&Error::Config("x".into())));
    }
}
