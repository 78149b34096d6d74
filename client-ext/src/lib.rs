//! lakebase (temporary lib.rs of the client-ext helper modules)
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod error;
pub mod field_mask;
pub mod names;
pub mod polling;
pub mod retry;
pub mod secret;
pub mod user_agent;
