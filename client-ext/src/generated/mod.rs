//! The typed surface generated from `spec/postgres.openapi.yaml` by `lakebase-codegen`
//! (`cargo xtask regenerate`; never edited by hand):
//!
//! * `names.rs`: the resource-name types, re-exported from [`crate::names`];
//! * `calls.rs`: one call per operation on [`Client`](crate::Client) and its request
//!   builder, re-exported from the crate root.

#[rustfmt::skip]
pub mod names;
#[rustfmt::skip]
mod calls;

pub use calls::*;
