#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakebase_fuzz::pg_frontend(data));
