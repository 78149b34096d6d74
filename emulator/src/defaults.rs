//! Every default the emulator materialises when a request leaves a field out, in one place.
//!
//! Server defaults drift (`enable_pg_native_login` defaulted to `true` in March 2026 and to
//! `false` by May; the public recordings show `pg_version` 16): change them here, and the
//! row of the crate README's "Observed service behaviours" table that names them.

use std::time::Duration;

use serde_json::{Value, json};

/// Id of the branch every project is created with (its root branch).
pub const ROOT_BRANCH_ID: &str = "production";

/// Id of the read-write endpoint every branch gets implicitly.
pub const PRIMARY_ENDPOINT_ID: &str = "primary";

/// `status.pg_version` of a project created without `spec.pg_version`.
pub const PG_VERSION: u32 = 17;

/// `status.enable_pg_native_login` of a project created without it.
pub const ENABLE_PG_NATIVE_LOGIN: bool = false;

/// `status.history_retention_duration` of a project created without it (seven days).
pub const HISTORY_RETENTION: &str = "604800s";

/// `status.branch_logical_size_limit_bytes` of every project (8 TiB).
pub const BRANCH_LOGICAL_SIZE_LIMIT_BYTES: i64 = 8_796_093_022_208;

/// `status.logical_size_bytes` reported by every branch.
pub const BRANCH_LOGICAL_SIZE_BYTES: i64 = 31_457_280;

/// `status.default_endpoint_settings` of a project created without them: what every
/// endpoint of the project reports when its own spec leaves a setting out.
pub fn project_endpoint_settings() -> Value {
    json!({
        "autoscaling_limit_max_cu": 1.0,
        "autoscaling_limit_min_cu": 1.0,
        "suspend_timeout_duration": "86400s",
    })
}

/// Autoscaling limits `(min, max)` of an endpoint when neither its spec nor its project's
/// default endpoint settings give them.
pub const ENDPOINT_AUTOSCALING_CU: (f64, f64) = (0.5, 2.0);

/// Suspend timeout of an endpoint when neither its spec nor its project's default endpoint
/// settings give one (nor ask for `no_suspension`).
pub const ENDPOINT_SUSPEND_TIMEOUT: &str = "300s";

/// Time long-running operations take by default.
pub const OP_LATENCY: Duration = Duration::from_millis(200);

/// How long an endpoint keeps `status.pending_state` after its operation finished, by
/// default; meanwhile deleting or re-creating it answers 409. Long enough that a client
/// polling the operation with the official SDKs' one-second backoff still sees it (so clients
/// learn to wait for `pending_state` to clear), short next to the service's own.
pub const RECONCILE: Duration = Duration::from_secs(2);

/// Cloud region named in endpoint host names.
pub const REGION: &str = "us-east-1";
