//! Emulator configuration: operation latency, auth, fault injection, paging.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::pg::PgConfig;

/// The workspace user behind personal access tokens unless configured.
pub const DEFAULT_USER: &str = "user@example.com";

/// Fault-injection settings. All rates are probabilities in `[0, 1]`, drawn per API
/// request from a `StdRng` seeded with [`FaultConfig::seed`], so a given seed and request
/// sequence always produce the same faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Fraction of API requests answered `429 REQUEST_LIMIT_EXCEEDED` with `Retry-After`.
    pub rate_429: f64,
    /// Fraction of API requests answered `503 TEMPORARILY_UNAVAILABLE`.
    pub rate_503: f64,
    /// Fraction of API requests whose connection is closed without an answer, before the
    /// request is handled (nothing is applied).
    pub drop_rate: f64,
    /// Fraction of API requests that are applied, then whose connection is closed without an
    /// answer: the lost response of a proxy reset or a restart after the work was done.
    pub lost_response_rate: f64,
    /// Fraction of API requests that are applied, whose answer is held for
    /// [`slow_lost_ms`](Self::slow_lost_ms), then whose connection is closed without it: a
    /// response slower than the client's request timeout that never arrives.
    pub slow_lost_rate: f64,
    /// How long a "slow then lost" answer is held before the connection is closed, in
    /// milliseconds (default 61 000: past the 60 s request timeout of the official SDKs and
    /// of `lakebase`).
    pub slow_lost_ms: u64,
    /// Fraction of long-running operations that finish with an `error` instead of a result
    /// (the resource change is then not applied).
    pub op_error_rate: f64,
    /// Value of the `Retry-After` header (whole seconds) on injected 429s.
    pub retry_after_secs: u64,
    /// Fixed latency added to every API request, in milliseconds.
    pub latency_ms: u64,
    /// Extra uniformly distributed latency in `[0, latency_jitter_ms)` milliseconds.
    pub latency_jitter_ms: u64,
    /// Seed of the fault random number generator.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate_429: 0.0,
            rate_503: 0.0,
            drop_rate: 0.0,
            lost_response_rate: 0.0,
            slow_lost_rate: 0.0,
            slow_lost_ms: 61_000,
            op_error_rate: 0.0,
            retry_after_secs: 1,
            latency_ms: 0,
            latency_jitter_ms: 0,
            seed: 0,
        }
    }
}

/// OAuth machine-to-machine client credentials accepted by `POST /oidc/v1/token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M2mCredentials {
    /// Accepted `client_id`.
    pub client_id: String,
    /// Accepted `client_secret`.
    pub client_secret: String,
}

/// Complete emulator configuration (built by [`crate::EmulatorBuilder`]).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; default `127.0.0.1:0` (loopback, ephemeral port).
    pub bind: SocketAddr,
    /// Time a long-running operation takes before `done: true`.
    pub op_latency: Duration,
    /// How long an endpoint stays reconciling after its operation finished: its
    /// `status.pending_state` stays set, and deleting or (re-)creating endpoints of its
    /// branch answers `409` with "reconciliation" in the message.
    pub reconcile: Duration,
    /// When set, the only accepted personal access token (M2M-issued tokens are also accepted).
    /// When unset, any non-empty bearer token is accepted.
    pub token: Option<String>,
    /// Client credentials accepted by the OAuth token endpoint. When unset, any non-empty
    /// client id/secret pair is accepted.
    pub m2m: Option<M2mCredentials>,
    /// Lifetime of OAuth access tokens issued by the token endpoint.
    pub m2m_token_lifetime: Duration,
    /// Identity providers trusted for token exchange (`--federation-policy`).
    pub federation_policies: Vec<crate::FederationPolicy>,
    /// Identity providers whose JWTs are accepted directly as bearer tokens (`--bearer-policy`).
    pub bearer_policies: Vec<crate::FederationPolicy>,
    /// Fault injection.
    pub faults: FaultConfig,
    /// Page size used by list methods when the request gives none (or 0).
    pub default_page_size: usize,
    /// Workspace id announced by `/.well-known/databricks-config`.
    pub workspace_id: String,
    /// Real PostgreSQL behind every endpoint (`None`: the management API only).
    pub postgres: Option<PgConfig>,
    /// The workspace user behind personal access tokens (their Postgres role name).
    pub user: String,
    /// Default and cap of the lifetime of database credentials.
    pub credential_ttl: Duration,
    /// The OAuth U2M authorization server's settings.
    pub oauth: crate::oauth::OAuthConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            op_latency: crate::defaults::OP_LATENCY,
            reconcile: crate::defaults::RECONCILE,
            token: None,
            m2m: None,
            m2m_token_lifetime: Duration::from_secs(3600),
            federation_policies: Vec::new(),
            bearer_policies: Vec::new(),
            faults: FaultConfig::default(),
            default_page_size: 50,
            workspace_id: "1234567890123456".to_string(),
            postgres: None,
            user: DEFAULT_USER.to_string(),
            credential_ttl: Duration::from_secs(3600),
            oauth: crate::oauth::OAuthConfig::default(),
        }
    }
}
