//! OpenTelemetry metrics of the pool (feature `otel`), named and measured like the official
//! Node driver's (`@databricks/lakebase`): durations in milliseconds, counts in `1`.
//!
//! | instrument | kind | unit | attributes |
//! |---|---|---|---|
//! | `lakebase.token.refresh.duration` | histogram | ms | `outcome` (`ok`/`error`) |
//! | `lakebase.pool.connections.total` | gauge | 1 | |
//! | `lakebase.pool.connections.idle` | gauge | 1 | |
//! | `lakebase.pool.connections.waiting` | gauge | 1 | |
//! | `lakebase.pool.errors` | counter | 1 | `error.code` (SQLSTATE, or `connection_lost`, `validation_timeout`) |
//! | `lakebase.pool.connect.duration` | histogram | ms | `outcome` |
//! | `lakebase.pool.validations` | counter | 1 | |
//! | `lakebase.pool.evictions` | counter | 1 | `reason` (`closed`, `max_lifetime`, `validation_failed`) |
//!
//! Every instrument also carries `lakebase.endpoint` (the endpoint's resource name). No
//! attribute ever holds a token, a password or a host credential.
//!
//! The meter is `opentelemetry::global::meter("lakebase-postgres")` unless
//! [`PoolBuilder::meter`](crate::PoolBuilder::meter) gives one; without a global provider
//! installed, every instrument is a no-op.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, ObservableGauge};

use crate::credential::{BoxFuture, MintCredential, MintedCredential};

/// Name of the default meter.
pub const METER_NAME: &str = "lakebase-postgres";

/// The pool's instruments.
#[derive(Clone, Debug)]
pub(crate) struct Instruments {
    endpoint: KeyValue,
    errors: Counter<u64>,
    validations: Counter<u64>,
    evictions: Counter<u64>,
    connect: Histogram<f64>,
    token_refresh: Histogram<f64>,
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn outcome(ok: bool) -> KeyValue {
    KeyValue::new("outcome", if ok { "ok" } else { "error" })
}

impl Instruments {
    pub(crate) fn new(meter: &Meter, endpoint: &str) -> Self {
        Instruments {
            endpoint: KeyValue::new("lakebase.endpoint", endpoint.to_owned()),
            errors: meter
                .u64_counter("lakebase.pool.errors")
                .with_description("Connection-level pool errors by error code")
                .with_unit("1")
                .build(),
            validations: meter
                .u64_counter("lakebase.pool.validations")
                .with_description("Idle connections checked with a round trip before reuse")
                .with_unit("1")
                .build(),
            evictions: meter
                .u64_counter("lakebase.pool.evictions")
                .with_description("Idle connections dropped instead of reused, by reason")
                .with_unit("1")
                .build(),
            connect: meter
                .f64_histogram("lakebase.pool.connect.duration")
                .with_description("Duration of opening a connection, retries included")
                .with_unit("ms")
                .build(),
            token_refresh: meter
                .f64_histogram("lakebase.token.refresh.duration")
                .with_description("Duration of OAuth token refresh operations")
                .with_unit("ms")
                .build(),
        }
    }

    pub(crate) fn error(&self, code: &str) {
        self.errors.add(
            1,
            &[self.endpoint.clone(), KeyValue::new("error.code", code.to_owned())],
        );
    }

    pub(crate) fn validation(&self) {
        self.validations.add(1, std::slice::from_ref(&self.endpoint));
    }

    pub(crate) fn eviction(&self, reason: &'static str) {
        self.evictions
            .add(1, &[self.endpoint.clone(), KeyValue::new("reason", reason)]);
    }

    pub(crate) fn connect(&self, duration: Duration, ok: bool) {
        self.connect
            .record(millis(duration), &[self.endpoint.clone(), outcome(ok)]);
    }

    fn token_refresh(&self, duration: Duration, ok: bool) {
        self.token_refresh
            .record(millis(duration), &[self.endpoint.clone(), outcome(ok)]);
    }
}

/// The occupancy gauges; they read the pool while it lives and are unregistered when dropped.
#[derive(Debug)]
pub(crate) struct Gauges {
    _gauges: Vec<ObservableGauge<u64>>,
}

impl Gauges {
    pub(crate) fn new(meter: &Meter, endpoint: &str, pool: &deadpool_postgres::Pool) -> Self {
        let gauge = |name: &'static str, description: &'static str, read: fn(deadpool_postgres::Status) -> usize| {
            let pool = pool.weak();
            let endpoint = [KeyValue::new("lakebase.endpoint", endpoint.to_owned())];
            meter
                .u64_observable_gauge(name)
                .with_description(description)
                .with_unit("1")
                .with_callback(move |observer| {
                    if let Some(pool) = pool.upgrade() {
                        observer.observe(read(pool.status()) as u64, &endpoint);
                    }
                })
                .build()
        };
        Gauges {
            _gauges: vec![
                gauge(
                    "lakebase.pool.connections.total",
                    "Connections open (idle and in use)",
                    |s| s.size,
                ),
                gauge("lakebase.pool.connections.idle", "Idle connections", |s| s.available),
                gauge(
                    "lakebase.pool.connections.waiting",
                    "Callers waiting for a connection",
                    |s| s.waiting,
                ),
            ],
        }
    }
}

/// A minter whose every request is timed into `lakebase.token.refresh.duration`.
#[derive(Debug)]
pub(crate) struct TimedMinter {
    pub(crate) inner: Arc<dyn MintCredential>,
    pub(crate) instruments: Instruments,
}

impl MintCredential for TimedMinter {
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let minted = self.inner.mint().await;
            self.instruments.token_refresh(started.elapsed(), minted.is_ok());
            minted
        })
    }
}
