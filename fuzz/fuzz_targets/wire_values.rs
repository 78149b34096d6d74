#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakebase_fuzz::wire_values(data));
