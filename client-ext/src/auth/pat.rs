//! auth pat
