//! Tests of the GCP logins.
