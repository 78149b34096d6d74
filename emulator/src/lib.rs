//! lakebase-emulator
