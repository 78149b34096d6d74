//! Code generated from `spec/postgres.openapi.yaml` by `lakebase-codegen`
//! (`cargo xtask regenerate`; never edited by hand):
//!
//! * `api.rs`: the table of `lakebase api` commands, one entry per operation.

#[rustfmt::skip]
pub mod api;
