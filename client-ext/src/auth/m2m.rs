//! auth m2m
