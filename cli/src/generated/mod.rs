//! Code generated from the spec by `cargo xtask regenerate`; never edited by hand.

pub mod api;
