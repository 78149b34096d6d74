//! auth profile
