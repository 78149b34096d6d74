//! The bench binary runs its scenarios against the embedded emulator and prints JSON
//! lines with the documented keys (no timing is asserted).

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_lakebase-bench"))
        .args(args)
        .output()
        .expect("the bench runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn keys(line: &Value) -> Vec<&str> {
    line.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn list_streams_every_seeded_project() {
    let lines = run(&["list", "--n", "50", "--page-size", "20", "--runs", "1"]);
    assert_eq!(lines.len(), 1);
    let list = &lines[0];
    assert_eq!(list["scenario"], "list");
    assert_eq!(list["items"], 50);
    assert_eq!(list["requests"], 3, "50 items in pages of 20");
    for key in ["wall_s", "items_per_s", "page_size"] {
        assert!(keys(list).contains(&key), "{list}");
    }
    // The floor fetched the same pages, and the per-page split adds up.
    assert_eq!(list["pages"], 3, "{list}");
    let num = |key: &str| list[key].as_f64().unwrap_or_else(|| panic!("no {key}: {list}"));
    let parts = num("page_transfer_ms") + num("page_decode_ms") + num("page_rest_ms");
    assert!((num("page_ms") - parts).abs() < 0.001, "{list}");
    assert!(num("floor_ratio") > 0.0, "{list}");
}

#[test]
fn get_reports_latency_quantiles() {
    let lines = run(&["get", "--count", "5"]);
    assert_eq!(lines.len(), 1);
    let get = &lines[0];
    assert_eq!(get["scenario"], "get");
    assert_eq!(get["count"], 5);
    assert_eq!(get["requests"], 5, "one request per call, as the emulator counted");
    for key in ["wall_s", "p50_ms", "p90_ms", "p99_ms"] {
        assert!(get[key].is_number(), "{key} in {get}");
    }
    let (p50, p90, p99) = (
        get["p50_ms"].as_f64().unwrap(),
        get["p90_ms"].as_f64().unwrap(),
        get["p99_ms"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= p90 && p90 <= p99, "quantiles are ordered: {get}");
}

#[test]
fn cold_measures_a_child_process() {
    let lines = run(&["cold", "--runs", "1"]);
    let cold = &lines[0];
    assert_eq!(cold["scenario"], "cold");
    assert_eq!(cold["runs"], 1);
    assert!(cold["wall_s"].as_f64().unwrap() > 0.0, "{cold}");
    assert!(cold["peak_rss_kib"].as_u64().unwrap() > 0, "{cold}");
}
