//! The endpoint front end under load (`--postgres` mode): pgbench's TPC-B-like script with 50
//! clients through an endpoint finishes with no error. A 5-second run is part of the test
//! suite; the 60-second run is opt-in (`cargo test -p lakebase-emulator --test postgres_load
//! -- --ignored`). Skipped (with a message) only where no PostgreSQL server binaries exist.

mod common;

use common::T;
use lakebase_emulator::Emulator;
use serde_json::json;

const USER: &str = "alice@example.com";
const DB: &str = "databricks_postgres";
const ENDPOINT: &str = "projects/load/branches/production/endpoints/primary";
/// Concurrent pgbench clients; the backing server's `max_connections` (120) leaves room for
/// them, pgbench's own connection and the emulator's administration.
const CLIENTS: u32 = 50;

/// What one pgbench run reported.
#[derive(Debug)]
struct Outcome {
    transactions: u64,
    failed: u64,
    tps: f64,
}

/// The number after `prefix` on the line of pgbench's summary that starts with it.
fn figure(output: &str, prefix: &str) -> Option<f64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Initializes pgbench's tables at `scale` through the endpoint, then runs the default
/// script with [`CLIENTS`] clients for `seconds`. The password travels in the environment.
async fn pgbench(scale: u32, seconds: u32) -> Option<Outcome> {
    let t = T::with_postgres(Emulator::builder(), USER).await?;
    let (status, op) = t.post("projects?project_id=load", json!({})).await;
    assert_eq!(status, 200, "{op}");
    t.finish(&op).await;
    let (status, endpoint) = t.get(ENDPOINT).await;
    assert_eq!(status, 200, "{endpoint}");
    let host = endpoint["status"]["hosts"]["host"].as_str().expect("host").to_string();
    let (status, credential) = t.post("credentials", json!({"endpoint": ENDPOINT})).await;
    assert_eq!(status, 200, "{credential}");
    let token = credential["token"].as_str().expect("token").to_string();
    let bin = t.emu.postgres_bin_dir().expect("postgres mode").join("pgbench");
    let port = t.emu.pg_port().expect("postgres mode").to_string();
    let run = |args: Vec<String>| {
        tokio::process::Command::new(&bin)
            .args(["-h", &host, "-p", &port, "-U", USER])
            .args(args)
            .arg(DB)
            .env("PGPASSWORD", &token)
            .kill_on_drop(true)
            .output()
    };
    let init = run(vec!["-i".into(), "-q".into(), "-s".into(), scale.to_string()])
        .await
        .expect("pgbench -i");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let args = ["-c", &CLIENTS.to_string(), "-j", "2", "-T", &seconds.to_string()].map(String::from);
    let out = run(args.to_vec()).await.expect("pgbench");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "pgbench failed: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(
        figure(&stdout, "number of clients: "),
        Some(f64::from(CLIENTS)),
        "{stdout}"
    );
    let outcome = Outcome {
        transactions: figure(&stdout, "number of transactions actually processed: ").expect("transactions") as u64,
        failed: figure(&stdout, "number of failed transactions: ").expect("failed transactions") as u64,
        tps: figure(&stdout, "tps = ").expect("tps"),
    };
    eprintln!(
        "pgbench, {CLIENTS} clients, {seconds} s: {} transactions, {} failed, {:.0} tps",
        outcome.transactions, outcome.failed, outcome.tps
    );
    Some(outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_with_50_clients_for_5_seconds_has_no_error() {
    let Some(outcome) = pgbench(2, 5).await else { return };
    assert_eq!(outcome.failed, 0, "{outcome:?}");
    assert!(outcome.transactions > 0, "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a minute of pgbench; run it with --ignored"]
async fn pgbench_with_50_clients_for_60_seconds_has_no_error() {
    let Some(outcome) = pgbench(10, 60).await else { return };
    assert_eq!(outcome.failed, 0, "{outcome:?}");
    assert!(outcome.transactions > 0, "{outcome:?}");
}
