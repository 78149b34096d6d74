//! One test per cassette, named by its id (`create_branch/call`), run with
//! `libtest-mimic`. `--summary` (stripped before libtest-mimic sees the arguments)
//! prints a table of passed/failed cassettes per operation after the run.
//!
//! Cassettes: `tests/conformance/cassettes`, `tests/conformance/regressions` and
//! `tests/conformance/recorded`, plus every `*.json` under the directories named by
//! `LAKEBASE_CASSETTES`.

use std::sync::Arc;

use lakebase_conformance::cassette::{self, CASSETTES_ENV};
use lakebase_conformance::rules::RULES;
use lakebase_conformance::runner::run_cassette;
use lakebase_conformance::summary::Summary;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let mut raw: Vec<String> = std::env::args().collect();
    let summary_requested = raw.iter().any(|a| a == "--summary");
    raw.retain(|a| a != "--summary");
    let args = Arguments::from_iter(raw);

    let summary = Arc::new(Summary::new());
    let trials: Vec<Trial> = cassette::load_all()
        .into_iter()
        .map(|loaded| {
            let summary = summary.clone();
            let operation = loaded.operation();
            let kind = operation_kind(&loaded.name);
            Trial::test(loaded.name.clone(), move || {
                let result = match &loaded.cassette {
                    Ok(c) => run_cassette(c, Some(&loaded.path)),
                    Err(e) => Err(format!("cassette `{}`: {e}", loaded.name)),
                };
                summary.record(&operation, result.is_ok());
                result.map_err(Failed::from)
            })
            .with_kind(kind)
        })
        .collect();

    let conclusion = libtest_mimic::run(&args, trials);
    if summary_requested {
        println!();
        println!("Conformance against databricks-sdk-py 0.162.0 recordings (extra cassettes: ${CASSETTES_ENV})");
        print!("{}", summary.table());
        println!("Deliberate differences applied (tests/src/rules.rs):");
        for rule in RULES {
            println!("  - {}", rule.name);
        }
    }
    conclusion.exit();
}

/// The `kind` shown by `--list`: the operation part of the id.
fn operation_kind(name: &str) -> String {
    name.split('/').next().unwrap_or("").to_string()
}
