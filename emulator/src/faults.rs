//! Seeded, reproducible fault injection.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::FaultConfig;

/// What happens to one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Served normally.
    None,
    /// Connection closed without an answer.
    Drop,
    /// `429 REQUEST_LIMIT_EXCEEDED`.
    TooManyRequests,
    /// `503 TEMPORARILY_UNAVAILABLE`.
    Unavailable,
}

/// The fault decision for one request.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    /// Injected failure, if any.
    pub fault: Fault,
    /// Added latency.
    pub delay: Duration,
    /// Whether a long-running operation started by the request fails.
    pub fail_op: bool,
}

/// Draws fault decisions from a `StdRng` seeded by the configuration. Every decision
/// consumes exactly three draws, so the sequence only depends on the seed and the number
/// of requests.
#[derive(Debug)]
pub struct FaultEngine {
    cfg: FaultConfig,
    rng: StdRng,
}

impl FaultEngine {
    /// A new engine (re-seeded from `cfg.seed`).
    pub fn new(cfg: FaultConfig) -> Self {
        let rng = StdRng::seed_from_u64(cfg.seed);
        Self { cfg, rng }
    }

    /// Current configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.cfg
    }

    /// Decides the fate of the next request.
    pub fn decide(&mut self) -> Decision {
        let r: f64 = self.rng.random();
        let jitter: f64 = self.rng.random();
        let op: f64 = self.rng.random();
        let c = &self.cfg;
        let fault = if r < c.drop_rate {
            Fault::Drop
        } else if r < c.drop_rate + c.rate_429 {
            Fault::TooManyRequests
        } else if r < c.drop_rate + c.rate_429 + c.rate_503 {
            Fault::Unavailable
        } else {
            Fault::None
        };
        let extra = (jitter * c.latency_jitter_ms as f64) as u64;
        Decision {
            fault,
            delay: Duration::from_millis(c.latency_ms.saturating_add(extra)),
            fail_op: op < c.op_error_rate,
        }
    }
}
