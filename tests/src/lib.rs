//! Conformance harness of the `lakebase` client against recordings of the official
//! Databricks SDK for Python (`conformance/README.md`).
//!
//! Each module does one job:
//! * [`cassette`]: the cassette schema and the loader (built-in directories `cassettes`,
//!   `regressions` and `recorded`, plus `LAKEBASE_CASSETTES`);
//! * [`replay`]: the scripted HTTP server that answers and records requests;
//! * [`compare`]: request comparison;
//! * [`jsoncmp`]: semantic JSON equality with JSON-path differences;
//! * [`sdk_schema`]: what SDK 0.162.0 knows (messages, enums, method parameters);
//! * [`rules`]: the documented deliberate differences and how they are bridged;
//! * [`dispatch`]: cassette method and arguments → typed `lakebase` call;
//! * [`runner`]: one cassette end to end, with a readable report;
//! * [`summary`]: the per-operation pass/fail table.

#![warn(missing_docs)]

pub mod cassette;
pub mod compare;
pub mod dispatch;
pub mod jsoncmp;
pub mod replay;
pub mod rules;
pub mod runner;
pub mod sdk_schema;
pub mod summary;
