//! What the pool reports as metrics: OpenTelemetry instruments under the `otel` feature
//! (see `otel`), nothing otherwise.

use std::time::Duration;

/// The pool's instruments; every method is a no-op without the `otel` feature (or before a
/// meter is set).
#[derive(Clone, Debug, Default)]
pub(crate) struct PoolMetrics {
    #[cfg(feature = "otel")]
    pub(crate) otel: Option<crate::otel::Instruments>,
}

/// The occupancy gauges of one pool, kept alive beside it (nothing without `otel`).
#[derive(Debug, Default)]
pub(crate) struct PoolGauges {
    #[cfg(feature = "otel")]
    pub(crate) _otel: Option<crate::otel::Gauges>,
}

impl PoolMetrics {
    /// A connection-level error, by SQLSTATE or kind.
    pub(crate) fn error(&self, _code: &str) {
        #[cfg(feature = "otel")]
        if let Some(otel) = &self.otel {
            otel.error(_code);
        }
    }

    /// An idle connection checked with a round trip.
    pub(crate) fn validation(&self) {
        #[cfg(feature = "otel")]
        if let Some(otel) = &self.otel {
            otel.validation();
        }
    }

    /// An idle connection dropped instead of reused, and why.
    pub(crate) fn eviction(&self, _reason: &'static str) {
        #[cfg(feature = "otel")]
        if let Some(otel) = &self.otel {
            otel.eviction(_reason);
        }
    }

    /// A new connection opened (`ok`) or given up, retries included.
    pub(crate) fn connect(&self, _duration: Duration, _ok: bool) {
        #[cfg(feature = "otel")]
        if let Some(otel) = &self.otel {
            otel.connect(_duration, _ok);
        }
    }
}
