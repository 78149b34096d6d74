//! lakebase-conformance
