//! Micro-benchmarks of the client's hot paths: decoding a 100-item list page, parsing
//! resource names, building field masks.
//!
//! ```sh
//! cargo bench -p lakebase --bench hot_paths
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lakebase::{BranchName, FieldMask, types};
use serde_json::Value;

/// A realistic page: the first project of a recorded `list_projects` answer, 100 times.
fn page_of_100() -> String {
    let cassette: Value = serde_json::from_str(include_str!(
        "../../tests/conformance/cassettes/list_projects__page_size.json"
    ))
    .unwrap();
    let project = cassette["exchanges"][0]["response"]["body"]["projects"][0].clone();
    let projects: Vec<Value> = (0..100)
        .map(|i| {
            let mut p = project.clone();
            p["name"] = Value::String(format!("projects/p-{i:05}"));
            p
        })
        .collect();
    serde_json::json!({"projects": projects, "next_page_token": "dG9rZW4tMTAw"}).to_string()
}

fn decode_page(c: &mut Criterion) {
    let body = page_of_100();
    c.bench_function("decode ListProjectsResponse (100 items)", |b| {
        b.iter(|| serde_json::from_str::<types::ListProjectsResponse>(black_box(&body)).unwrap())
    });
}

fn parse_names(c: &mut Criterion) {
    c.bench_function("parse BranchName", |b| {
        b.iter(|| {
            black_box("projects/my-app/branches/development")
                .parse::<BranchName>()
                .unwrap()
        })
    });
    let project = lakebase::ProjectName::new("my-app").unwrap();
    c.bench_function("build BranchName from parent + id", |b| {
        b.iter(|| project.branch(black_box("development")).unwrap())
    });
}

fn field_masks(c: &mut Criterion) {
    c.bench_function("FieldMask::new (3 paths)", |b| {
        b.iter(|| {
            FieldMask::new(black_box([
                "spec.display_name",
                "spec.pg_version",
                "spec.history_retention_duration",
            ]))
            .unwrap()
        })
    });
}

criterion_group!(benches, decode_page, parse_names, field_masks);
criterion_main!(benches);
