//! Tests of the Azure logins.
