//! The typed surface generated from `spec/postgres.openapi.yaml` by `lakebase-codegen`
//! (`cargo xtask regenerate`; never edited by hand):
//!
//! * `names.rs`: the resource-name types, re-exported from [`crate::names`];
//! * `calls.rs`: one call per operation on [`Client`](crate::Client) and its request
//!   builder, re-exported from the crate root;
//! * `mutations.rs`: what each mutating operation changes, read by [`crate::recovery`].

#[rustfmt::skip]
pub mod names;
#[rustfmt::skip]
mod calls;
#[rustfmt::skip]
pub(crate) mod mutations;

pub use calls::*;
