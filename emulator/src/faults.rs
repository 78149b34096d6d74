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
    /// Connection closed without an answer, before the request is handled.
    Drop,
    /// The request is handled, then the connection closed without its answer.
    LostResponse,
    /// The request is handled, its answer held for the configured time, then the connection
    /// closed without it.
    SlowLostResponse,
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
/// of requests. The faults added later (lost responses) take the part of the first draw
/// after the older ones, so a configuration without them keeps its sequence.
#[derive(Debug)]
pub struct FaultEngine {
    cfg: FaultConfig,
    rng: StdRng,
}

impl Fault {
    /// The fault's name in the request log (`none`, `drop`, `lost_response`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Drop => "drop",
            Fault::LostResponse => "lost_response",
            Fault::SlowLostResponse => "slow_lost_response",
            Fault::TooManyRequests => "429",
            Fault::Unavailable => "503",
        }
    }
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
        } else if r < c.drop_rate + c.rate_429 + c.rate_503 + c.lost_response_rate {
            Fault::LostResponse
        } else if r < c.drop_rate + c.rate_429 + c.rate_503 + c.lost_response_rate + c.slow_lost_rate {
            Fault::SlowLostResponse
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
