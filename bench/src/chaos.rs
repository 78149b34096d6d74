//! `lakebase-bench chaos`: the chaos lifecycle (`bench/chaos/lifecycle.json`, 52 calls)
//! against an embedded emulator that injects 30 % faults — 429, 503, connections dropped
//! before handling, lost responses (applied, then the answer dropped), slow-then-lost
//! answers (held past the client's request timeout), and added latency — seeded.
//!
//! Operations finish at once and endpoints need no reconciling, so no call depends on
//! timing: the requests a client sends, and so the faults each meets, are the same on every
//! run of a seed. Each run starts a fresh emulator, walks the script, then switches the faults off and
//! takes a [snapshot] of every resource with a fault-free `lakebase` client. A run is
//! judged against a fault-free run of the same script: `duplicates` are resources it has
//! beyond the reference, `missing` the reference's it lacks, `calls_failed` the calls that
//! returned an error. With `--python`, the same script and faults are also run with the
//! official Python SDK (`bench/python/chaos.py`).
//!
//! The one error `lakebase` may show is the documented one: a create whose id the server
//! picks is not repeated after a lost answer ([`lakebase::Error::MaybeApplied`]); the script
//! then does what the error says — lists the collection and creates again only when the
//! resource is not there — and counts it in `maybe_applied`, not in `calls_failed`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakebase::config::MapEnv;
use lakebase::retry::ExponentialRetry;
use lakebase::{Client, Config, Error, FieldMask, PollingPolicy};
use lakebase_emulator::{Emulator, FaultConfig};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::report::Report;

/// The script both clients walk.
const SCRIPT: &str = include_str!("../chaos/lifecycle.json");

/// The Python side, next to this crate.
const PYTHON_RUNNER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/chaos.py");

/// How long a slow-then-lost answer is held; both clients time a request out after
/// [`REQUEST_TIMEOUT`], before it.
const SLOW_LOST: Duration = Duration::from_millis(1_500);

/// The per-request timeout of both clients in a chaos run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// What `chaos` runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Fault seeds; one run per seed and client.
    pub seeds: Vec<u64>,
    /// A Python interpreter with `databricks-sdk` installed: also run the official SDK.
    pub python: Option<PathBuf>,
}

/// The faults of a run: 30 % of requests in total.
pub fn faults(seed: u64) -> FaultConfig {
    FaultConfig {
        rate_429: 0.06,
        rate_503: 0.06,
        drop_rate: 0.06,
        lost_response_rate: 0.08,
        slow_lost_rate: 0.04,
        slow_lost_ms: SLOW_LOST.as_millis() as u64,
        retry_after_secs: 0,
        latency_ms: 0,
        latency_jitter_ms: 20,
        seed,
        ..FaultConfig::default()
    }
}

/// One call of the script (`bench/chaos/lifecycle.json`).
#[derive(Debug, Clone, serde::Deserialize)]
struct Step {
    op: String,
    name: Option<String>,
    parent: Option<String>,
    id: Option<String>,
    body: Option<Value>,
    mask: Option<Vec<String>>,
    endpoint: Option<String>,
    #[serde(default)]
    purge: bool,
    #[serde(default)]
    show_deleted: bool,
    #[serde(default)]
    replace_existing: bool,
}

#[derive(serde::Deserialize)]
struct Script {
    steps: Vec<Step>,
}

fn script() -> Result<Vec<Step>, String> {
    serde_json::from_str::<Script>(SCRIPT)
        .map(|s| s.steps)
        .map_err(|e| format!("bench/chaos/lifecycle.json: {e}"))
}

/// How one client's walk through the script went.
#[derive(Debug, Default)]
struct Walk {
    /// `op: error` of every call that failed.
    failed: Vec<String>,
    /// Creates answered with [`Error::MaybeApplied`] (settled by listing).
    maybe_applied: usize,
}

/// Runs the chaos scenario: one report per client and seed.
pub async fn run(settings: &Settings) -> Result<Vec<Report>, String> {
    let steps = script()?;
    let reference = {
        let emulator = start_emulator(FaultConfig::default()).await?;
        let walk = walk(&client(&emulator)?, &steps).await;
        if !walk.failed.is_empty() {
            return Err(format!("the fault-free run failed: {:?}", walk.failed));
        }
        snapshot(&client(&emulator)?).await?
    };
    // The lakebase runs side by side (each on its own emulator), the Python runs after.
    let ours = settings.seeds.iter().map(|&seed| {
        let (steps, reference) = (&steps, &reference);
        async move {
            let emulator = start_emulator(faults(seed)).await?;
            let started = Instant::now();
            let walk = walk(&client(&emulator)?, steps).await;
            judge("lakebase", Some(seed), &emulator, walk, started.elapsed(), reference).await
        }
    });
    let mut reports = futures::future::try_join_all(ours).await?;
    if let Some(python) = &settings.python {
        // The same script without faults: the Python walk reaches the reference state too.
        let emulator = start_emulator(FaultConfig::default()).await?;
        let started = Instant::now();
        let walk = python_walk(python, &emulator).await?;
        reports.push(
            judge(
                "databricks-sdk-py",
                None,
                &emulator,
                walk,
                started.elapsed(),
                &reference,
            )
            .await?,
        );
        for &seed in &settings.seeds {
            let emulator = start_emulator(faults(seed)).await?;
            let started = Instant::now();
            let walk = python_walk(python, &emulator).await?;
            reports.push(
                judge(
                    "databricks-sdk-py",
                    Some(seed),
                    &emulator,
                    walk,
                    started.elapsed(),
                    &reference,
                )
                .await?,
            );
        }
    }
    Ok(reports)
}

async fn start_emulator(faults: FaultConfig) -> Result<Emulator, String> {
    Emulator::builder()
        .op_latency(Duration::ZERO)
        .reconcile(Duration::ZERO)
        .faults(faults)
        .start()
        .await
        .map_err(|e| format!("emulator: {e}"))
}

/// A `lakebase` client with its defaults except for short waits: a request timeout of
/// [`REQUEST_TIMEOUT`], backoff from 50 ms up to 500 ms, polling every few ms.
fn client(emulator: &Emulator) -> Result<Client, String> {
    let config = Config::builder()
        .host(emulator.base_url())
        .token("chaos-token")
        .env(Arc::new(MapEnv::new()))
        .timeout(REQUEST_TIMEOUT)
        .retry_policy(Arc::new(
            ExponentialRetry::default()
                .with_initial(Duration::from_millis(50))
                .with_max(Duration::from_millis(500)),
        ))
        .polling_policy(
            PollingPolicy::default()
                .with_initial_delay(Duration::from_millis(5))
                .with_min_interval(Duration::from_millis(5))
                .with_max_interval(Duration::from_millis(25))
                .with_deadline(Some(Duration::from_secs(120))),
        )
        .build()
        .map_err(|e| e.to_string())?;
    Client::new(config).map_err(|e| e.to_string())
}

/// Switches the faults off, snapshots the state and compares it with the reference
/// (`seed` `None`: a run without faults).
async fn judge(
    client_name: &str,
    seed: Option<u64>,
    emulator: &Emulator,
    walk: Walk,
    wall: Duration,
    reference: &[String],
) -> Result<Report, String> {
    emulator.set_faults(FaultConfig::default());
    let log = emulator.request_log();
    let state = snapshot(&client(emulator)?).await?;
    let (duplicates, missing) = difference(&state, reference);
    let mut report = Report::new("chaos");
    report
        .set("client", client_name)
        .set("seed", seed)
        .set("steps", script()?.len())
        .set("calls_failed", walk.failed.len())
        .set("maybe_applied", walk.maybe_applied)
        .set("duplicates", duplicates.len())
        .set("missing", missing.len())
        .set("state_equal", duplicates.is_empty() && missing.is_empty())
        .set("resources", state.len())
        .set("requests", log.len())
        .set("faults_injected", log.iter().filter(|r| r.fault != "none").count())
        .set(
            "lost_answers",
            log.iter()
                .filter(|r| matches!(r.fault, "lost_response" | "slow_lost_response"))
                .count(),
        )
        .set_f("wall_s", wall.as_secs_f64());
    for failure in &walk.failed {
        report.note(format!("failed: {failure}"));
    }
    for line in &duplicates {
        report.note(format!("duplicate: {line}"));
    }
    for line in &missing {
        report.note(format!("missing: {line}"));
    }
    Ok(report)
}

/// Lines of `state` beyond `reference`, and lines of `reference` beyond `state`, counted
/// with multiplicity.
fn difference(state: &[String], reference: &[String]) -> (Vec<String>, Vec<String>) {
    let count = |lines: &[String]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for l in lines {
            *m.entry(l.clone()).or_default() += 1;
        }
        m
    };
    let (have, want) = (count(state), count(reference));
    let mut extra = Vec::new();
    let mut missing = Vec::new();
    for line in have.keys().chain(want.keys()) {
        let d = have.get(line).copied().unwrap_or(0) - want.get(line).copied().unwrap_or(0);
        if d > 0 && !extra.contains(line) {
            extra.extend(std::iter::repeat_n(line.clone(), d as usize));
        } else if d < 0 && !missing.contains(line) {
            missing.extend(std::iter::repeat_n(line.clone(), (-d) as usize));
        }
    }
    (extra, missing)
}

/// Every resource, one line each with what the script set (names, and the values the
/// caller chose; databases by branch and Postgres name, since one's id is the server's).
async fn snapshot(client: &Client) -> Result<Vec<String>, String> {
    let e = |e: Error| format!("snapshot: {e}");
    let mut lines = Vec::new();
    for project in client.list_projects().show_deleted(true).await.map_err(e)? {
        let p = json(&project);
        lines.push(line("project", &p, &["/name", "/status/display_name", "/status/pg_version"]) + &deleted(&p));
        if !deleted(&p).is_empty() {
            continue;
        }
        let name: lakebase::ProjectName = text(&p, "/name")
            .parse()
            .map_err(|x: lakebase::NameError| x.to_string())?;
        for branch in client.list_branches(&name).show_deleted(true).await.map_err(e)? {
            let b = json(&branch);
            lines.push(line("branch", &b, &["/name"]) + &deleted(&b));
            if !deleted(&b).is_empty() {
                continue;
            }
            let branch: lakebase::BranchName = text(&b, "/name")
                .parse()
                .map_err(|x: lakebase::NameError| x.to_string())?;
            for endpoint in client.list_endpoints(&branch).await.map_err(e)? {
                let fields = ["/name", "/status/endpoint_type", "/status/autoscaling_limit_max_cu"];
                lines.push(line("endpoint", &json(&endpoint), &fields));
            }
            for role in client.list_roles(&branch).await.map_err(e)? {
                lines.push(line("role", &json(&role), &["/name", "/status/postgres_role"]));
            }
            for database in client.list_databases(&branch).await.map_err(e)? {
                let d = json(&database);
                lines.push(format!(
                    "database {branch} {}",
                    line("", &d, &["/status/postgres_database", "/status/role"])
                ));
            }
        }
    }
    lines.sort();
    Ok(lines)
}

fn json(resource: &impl serde::Serialize) -> Value {
    serde_json::to_value(resource).unwrap_or(Value::Null)
}

fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_string(),
        Some(other) => other.to_string(),
    }
}

fn line(kind: &str, v: &Value, fields: &[&str]) -> String {
    let values: Vec<String> = fields.iter().map(|f| text(v, f)).collect();
    format!("{kind} {}", values.join(" ")).trim().to_string()
}

fn deleted(v: &Value) -> String {
    if v.pointer("/status/delete_time").is_some_and(|t| !t.is_null()) {
        " (deleted)".to_string()
    } else {
        String::new()
    }
}

/// Walks the script with `lakebase`.
async fn walk(client: &Client, steps: &[Step]) -> Walk {
    let mut walk = Walk::default();
    for step in steps {
        match call(client, step).await {
            Ok(()) => {}
            Err(Error::MaybeApplied { .. }) => {
                walk.maybe_applied += 1;
                if let Err(error) = create_unless_listed(client, step).await {
                    walk.failed.push(format!("{}: {error}", step.op));
                }
            }
            Err(error) => walk.failed.push(format!("{}: {error}", step.op)),
        }
    }
    walk
}

fn parse<T: std::str::FromStr<Err = lakebase::NameError>>(value: &Option<String>) -> Result<T, Error> {
    Ok(value.as_deref().unwrap_or_default().parse::<T>()?)
}

fn body<T: DeserializeOwned + Default>(step: &Step) -> Result<T, Error> {
    match &step.body {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| Error::Config(format!("{}: body: {e}", step.op))),
    }
}

fn mask(step: &Step) -> Result<FieldMask, Error> {
    Ok(FieldMask::new(step.mask.clone().unwrap_or_default())?)
}

/// One call of the script, waited for when it starts an operation.
async fn call(client: &Client, s: &Step) -> Result<(), Error> {
    let id = s.id.clone().unwrap_or_default();
    match s.op.as_str() {
        "create_project" => {
            client.create_project(&id, body(s)?).await?.wait().await?;
        }
        "get_project" => {
            client.get_project(&parse(&s.name)?).await?;
        }
        "list_projects" => {
            client.list_projects().show_deleted(s.show_deleted).await?;
        }
        "update_project" => {
            client
                .update_project(&parse(&s.name)?, body(s)?, &mask(s)?)
                .await?
                .wait()
                .await?;
        }
        "delete_project" => {
            client
                .delete_project(&parse(&s.name)?)
                .purge(s.purge)
                .await?
                .wait()
                .await?
        }
        "undelete_project" => client.undelete_project(&parse(&s.name)?).await?.wait().await?,
        "create_branch" => {
            client
                .create_branch(&parse(&s.parent)?, &id, body(s)?)
                .await?
                .wait()
                .await?;
        }
        "get_branch" => {
            client.get_branch(&parse(&s.name)?).await?;
        }
        "list_branches" => {
            client
                .list_branches(&parse(&s.parent)?)
                .show_deleted(s.show_deleted)
                .await?;
        }
        "delete_branch" => {
            client
                .delete_branch(&parse(&s.name)?)
                .purge(s.purge)
                .await?
                .wait()
                .await?
        }
        "undelete_branch" => client.undelete_branch(&parse(&s.name)?).await?.wait().await?,
        "create_endpoint" => {
            client
                .create_endpoint(&parse(&s.parent)?, &id, body(s)?)
                .replace_existing(s.replace_existing)
                .await?
                .wait()
                .await?;
        }
        "get_endpoint" => {
            client.get_endpoint(&parse(&s.name)?).await?;
        }
        "list_endpoints" => {
            client.list_endpoints(&parse(&s.parent)?).await?;
        }
        "update_endpoint" => {
            client
                .update_endpoint(&parse(&s.name)?, body(s)?, &mask(s)?)
                .await?
                .wait()
                .await?;
        }
        "delete_endpoint" => client.delete_endpoint(&parse(&s.name)?).await?.wait().await?,
        "create_role" => {
            let mut create = client.create_role(&parse(&s.parent)?, body(s)?);
            if let Some(id) = &s.id {
                create = create.role_id(id);
            }
            create.await?.wait().await?;
        }
        "get_role" => {
            client.get_role(&parse(&s.name)?).await?;
        }
        "list_roles" => {
            client.list_roles(&parse(&s.parent)?).await?;
        }
        "delete_role" => client.delete_role(&parse(&s.name)?).await?.wait().await?,
        "reveal_role_password" => {
            client.reveal_role_password(&parse(&s.name)?).await?;
        }
        "create_database" => {
            let mut create = client.create_database(&parse(&s.parent)?, body(s)?);
            if let Some(id) = &s.id {
                create = create.database_id(id);
            }
            create.await?.wait().await?;
        }
        "get_database" => {
            client.get_database(&parse(&s.name)?).await?;
        }
        "list_databases" => {
            client.list_databases(&parse(&s.parent)?).await?;
        }
        "delete_database" => client.delete_database(&parse(&s.name)?).await?.wait().await?,
        "generate_database_credential" => {
            client.generate_database_credential(&parse(&s.endpoint)?).await?;
        }
        other => return Err(Error::Config(format!("the chaos script has an unknown call {other}"))),
    }
    Ok(())
}

/// What [`Error::MaybeApplied`] asks for: list the collection, create again only when the
/// resource is not there (databases and roles are told apart by their Postgres names).
async fn create_unless_listed(client: &Client, s: &Step) -> Result<(), Error> {
    let parent: lakebase::BranchName = parse(&s.parent)?;
    let sent = s.body.clone().unwrap_or(Value::Null);
    let there = match s.op.as_str() {
        "create_database" => {
            let wanted = text(&sent, "/spec/postgres_database");
            client
                .list_databases(&parent)
                .await?
                .iter()
                .any(|d| text(&json(d), "/status/postgres_database") == wanted)
        }
        "create_role" => {
            let wanted = text(&sent, "/spec/postgres_role");
            client
                .list_roles(&parent)
                .await?
                .iter()
                .any(|r| text(&json(r), "/status/postgres_role") == wanted)
        }
        other => return Err(Error::Config(format!("{other} cannot be settled by listing"))),
    };
    if there {
        return Ok(());
    }
    match Box::pin(call(client, s)).await {
        Err(Error::MaybeApplied { .. }) => Box::pin(create_unless_listed(client, s)).await,
        other => other,
    }
}

/// Walks the script with the official Python SDK (`bench/python/chaos.py`), against
/// `emulator`.
async fn python_walk(python: &PathBuf, emulator: &Emulator) -> Result<Walk, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/chaos/lifecycle.json");
    let out = tokio::process::Command::new(python)
        .arg(PYTHON_RUNNER)
        .arg(emulator.base_url())
        .arg(script)
        .arg(REQUEST_TIMEOUT.as_secs().to_string())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "bench/python/chaos.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let result: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "bench/python/chaos.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let failed = result["failed"]
        .as_array()
        .map(|a| a.iter().map(|f| f.as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default();
    Ok(Walk {
        failed,
        maybe_applied: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_has_52_calls_each_known() {
        let steps = script().unwrap();
        assert_eq!(steps.len(), 52);
        assert!(steps.iter().all(|s| s.op.contains('_')));
    }

    #[test]
    fn differences_count_multiplicity() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (extra, missing) = difference(&s(&["a", "b", "b", "c"]), &s(&["a", "b", "d"]));
        assert_eq!(extra, s(&["b", "c"]));
        assert_eq!(missing, s(&["d"]));
    }
}
