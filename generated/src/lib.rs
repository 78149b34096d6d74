//! Raw bindings of the Lakebase Postgres API.
//!
//! Everything in `client.rs`, `enums.rs`, `required.rs` and `catalog.rs` is produced by
//! `lakebase-codegen` from `spec/postgres.openapi.yaml`; run `cargo xtask regenerate`
//! after changing either. The modules in this file are the small hand-written glue the
//! generated code refers to:
//!
//! * [`hooks`]: how the generated [`Client`] hands each request to an executor (auth,
//!   retries and tracing live in the `lakebase` crate);
//! * [`Duration`]: the wire form of protobuf durations (`"300s"`);
//! * [`Int64`]: 64-bit integers, accepted as JSON numbers or numeric strings;
//! * `open_enum!`: the shape of every enum (known values plus `Unknown(String)`);
//! * [`encode_path`]: how ids become path segments (quoted like the official SDKs do);
//! * [`decode_response`]: how 2xx bodies are decoded (UTF-8 checked once per body);
//! * `text`: how strings that are only parsed (durations, enum values) are read
//!   without copying them;
//! * `timestamp`: how `format: date-time` fields are read (the service's shape parsed
//!   directly, anything else by chrono);
//! * [`RequiredFields`], [`Page`] and [`OperationSpec`]: traits and types the generated
//!   tables implement.
//!
//! Most users want the `lakebase` crate instead, which wraps this one with typed names,
//! pagination streams, operation pollers and Databricks authentication.

mod decode;
mod duration;
pub mod hooks;
mod int64;
mod open_enum;
mod path;
#[doc(hidden)]
pub mod text;
#[doc(hidden)]
pub mod timestamp;

#[rustfmt::skip]
mod catalog;
#[rustfmt::skip]
#[allow(missing_docs)]
mod client;
#[rustfmt::skip]
pub mod enums;
#[rustfmt::skip]
mod required;

pub use catalog::{ID_RULES, OPERATIONS};
pub use client::*;
pub use decode::decode_response;
pub use duration::{Duration, DurationParseError};
pub use int64::Int64;
pub use path::encode_path;

/// Messages whose required fields can be checked before a request is sent.
///
/// Every generated field is optional so that responses never fail on a missing field;
/// what the spec marks required is checked with this trait instead.
pub trait RequiredFields {
    /// Appends the dotted paths of missing required fields, each prefixed with `prefix`.
    fn collect_missing(&self, prefix: &str, missing: &mut Vec<String>);

    /// The dotted paths of missing required fields (`spec.endpoint_type`, ...).
    fn missing_required_fields(&self) -> Vec<String> {
        let mut missing = Vec::new();
        self.collect_missing("", &mut missing);
        missing
    }
}

/// One page of a list operation, as named by the spec's `x-lakebase-pagination`.
pub trait Page {
    /// The listed resource.
    type Item;
    /// JSON field holding the items (`projects`, `branches`, ...).
    const ITEMS_FIELD: &'static str;
    /// Token of the next page; `None` or empty on the last page.
    fn next_page_token(&self) -> Option<&str>;
    /// The items of this page.
    fn into_items(self) -> Vec<Self::Item>;
}

/// The rule of one kind of id, from the spec: the documented `pattern` of its path
/// parameters and, where the service was observed to apply another, that one
/// (`x-lakebase-observed-pattern`). The client refuses only ids that break both; the
/// emulator applies the service's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRule {
    /// The path parameter, e.g. `database_id`.
    pub param: &'static str,
    /// The documented pattern (ECMAScript syntax, `u` flag, anchored).
    pub pattern: &'static str,
    /// The pattern the service was observed to apply, where it differs.
    pub observed_pattern: Option<&'static str>,
}

impl IdRule {
    /// Looks the rule of an id parameter up (`"database_id"`).
    pub fn find(param: &str) -> Option<&'static IdRule> {
        ID_RULES.iter().find(|r| r.param == param)
    }

    /// The rule the service applies: the observed pattern, else the documented one.
    pub fn service_pattern(&self) -> &'static str {
        self.observed_pattern.unwrap_or(self.pattern)
    }

    /// Whether the service accepts `id` (it matches [`service_pattern`](Self::service_pattern)).
    pub fn service_accepts(&self, id: &str) -> bool {
        pattern_matches(self.service_pattern(), id)
    }

    /// Whether `id` matches the documented pattern or the observed one: what a client
    /// must not refuse.
    pub fn may_be_valid(&self, id: &str) -> bool {
        pattern_matches(self.pattern, id) || self.observed_pattern.is_some_and(|o| pattern_matches(o, id))
    }
}

fn pattern_matches(pattern: &str, id: &str) -> bool {
    regress::Regex::with_flags(pattern, "u").is_ok_and(|r| r.find(id).is_some())
}

/// Description of one operation of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationSpec {
    /// `operationId`: the official SDK's method name, e.g. `create_branch`.
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template, one segment per id.
    pub path: &'static str,
    /// Resource family (the spec's tag).
    pub tag: &'static str,
    /// Names of the query parameters.
    pub query: &'static [&'static str],
    /// Schema of the JSON request body, if any.
    pub body: Option<&'static str>,
    /// What the operation returns.
    pub kind: OperationKind,
    /// Schema of the resource the operation addresses, lists or creates (the schema whose
    /// `x-lakebase-name-pattern` its path follows); `None` for an operation on no resource.
    pub resource: Option<&'static str>,
}

/// What an operation returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// The response message itself.
    Call,
    /// One page of a list.
    List {
        /// Field holding the items.
        items: &'static str,
        /// Schema of one item.
        item: &'static str,
        /// Schema of the page.
        page: &'static str,
    },
    /// A long-running `Operation`.
    LongRunning {
        /// Schema of the finished operation's `response` (`None`: nothing useful).
        result: Option<&'static str>,
        /// Schema of the operation's `metadata`.
        metadata: &'static str,
    },
}

impl OperationSpec {
    /// Looks an operation up by its `operationId`.
    pub fn find(id: &str) -> Option<&'static OperationSpec> {
        OPERATIONS.iter().find(|op| op.id == id)
    }

    /// Whether the operation answers with a long-running `Operation` (from the spec's
    /// `x-lakebase-operation`).
    pub fn is_long_running(&self) -> bool {
        matches!(self.kind, OperationKind::LongRunning { .. })
    }
}
