//! auth mod
