//! Replays the checked-in fuzz corpora (`fuzz/corpus/<target>/`) through the fuzz targets'
//! bodies (`fuzz/src/lib.rs`), so every input the fuzzers kept is exercised by
//! `cargo test --workspace` on a stable toolchain, without libFuzzer.

#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::Path;

/// Runs `target` on every file of `fuzz/corpus/<name>`; fails when the corpus is empty.
fn replay(name: &str, target: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(name);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} holds no inputs", dir.display());
    for input in inputs {
        let data = std::fs::read(&input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let outcome = std::panic::catch_unwind(|| target(&data));
        assert!(outcome.is_ok(), "fuzz target {name} failed on {}", input.display());
    }
}

#[test]
fn names() {
    replay("names", targets::names);
}

#[test]
fn error_body() {
    replay("error_body", targets::error_body);
}

#[test]
fn wire_values() {
    replay("wire_values", targets::wire_values);
}

#[test]
fn field_mask() {
    replay("field_mask", targets::field_mask);
}

#[test]
fn emulator_api() {
    replay("emulator_api", targets::emulator_api);
}

#[test]
fn pg_frontend() {
    replay("pg_frontend", targets::pg_frontend);
}
