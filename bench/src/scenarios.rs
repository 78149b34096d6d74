//! The scenarios: each measures one thing users compare and returns a [`Report`].

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use lakebase::{ProjectName, types};
use tokio::io::AsyncBufReadExt;

use crate::report::{Report, quantile};
use crate::rss::peak_rss_kib;
use crate::target::{Server, Target};

type Result<T> = std::result::Result<T, String>;

/// Streams every project with `page_size`, `runs` times; the median run's wall time and
/// items/s, the first run's wall time (cold server caches), and requests per run.
pub async fn list(target: &Target, n: usize, page_size: u32, runs: usize) -> Result<Report> {
    let mut report = Report::new("list");
    if target.prepare_projects(n).await?.is_none() {
        report.note("the server cannot be seeded: listing what it has");
    }
    let client = target.client()?;
    let mut walls = Vec::with_capacity(runs);
    let mut items = 0;
    let mut requests = None;
    for _ in 0..runs.max(1) {
        let before = target.requests().await;
        let started = Instant::now();
        items = count_items(&client, page_size).await?;
        walls.push(started.elapsed().as_secs_f64());
        if let (Some(before), Some(after)) = (before, target.requests().await) {
            requests = Some(after - before);
        }
    }
    let first = walls[0];
    walls.sort_by(f64::total_cmp);
    let wall = quantile(&walls, 0.5);
    report
        .set("items", items)
        .set("page_size", page_size)
        .set("runs", walls.len())
        .set_f("wall_s", wall)
        .set_f("items_per_s", items as f64 / wall)
        .set_f("first_run_wall_s", first);
    if let Some(requests) = requests {
        report.set("requests", requests);
    }
    Ok(report)
}

async fn count_items(client: &lakebase::Client, page_size: u32) -> Result<u64> {
    let items = client.list_projects().page_size(page_size).items();
    items
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .map_err(|e| e.to_string())
}

/// `count` sequential `get_project`: latency quantiles.
pub async fn get(target: &Target, count: usize) -> Result<Report> {
    let mut report = Report::new("get");
    let id = match target.prepare_projects(1).await? {
        Some(id) => id,
        None => {
            let client = target.client()?;
            let first = client
                .list_projects()
                .page_size(1)
                .pager()
                .first_page()
                .await
                .map_err(|e| e.to_string())?;
            let Some(id) = first.items.into_iter().find_map(|p| p.project_id) else {
                report.note("the workspace has no project to get");
                return Ok(report);
            };
            id
        }
    };
    let client = target.client()?;
    let name = ProjectName::new(&id).map_err(|e| e.to_string())?;
    client.get_project(&name).await.map_err(|e| e.to_string())?; // connection warm-up, not counted
    let mut samples = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let t = Instant::now();
        client.get_project(&name).await.map_err(|e| e.to_string())?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let wall = started.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    report
        .set("count", count)
        .set_f("wall_s", wall)
        .set_f("p50_ms", quantile(&samples, 0.5))
        .set_f("p90_ms", quantile(&samples, 0.9))
        .set_f("p99_ms", quantile(&samples, 0.99));
    Ok(report)
}

/// Creates a project whose operation takes `op_delay` and waits: how late the wait
/// returned after the operation finished, and how many polls it made.
pub async fn wait(target: &Target, op_delay: Duration) -> Result<Report> {
    let mut report = Report::new("wait");
    report.set_f("op_delay_s", op_delay.as_secs_f64());
    if !target.set_op_delay(op_delay).await? {
        report.note("cannot set the operation time on this server: skipped");
        return Ok(report);
    }
    let client = target.client()?;
    let id = format!("bench-wait-{}", std::process::id());
    let started = Instant::now();
    let operation = client
        .create_project(&id, types::Project::default())
        .await
        .map_err(|e| e.to_string())?;
    let name = operation.name().to_string();
    let mut polls = 0u32;
    let mut progress = std::pin::pin!(operation.progress());
    while let Some(state) = progress.try_next().await.map_err(|e| e.to_string())? {
        polls += 1;
        if state.done {
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    report
        .set_f("wall_s", wall)
        .set_f("late_s", wall - op_delay.as_secs_f64())
        .set("polls", polls);
    if matches!(target.server, Server::Mock) {
        // The server's own view: when the operation became done, and when a poll saw it.
        if let Ok(stats) = target.mock_stats().await {
            let op = &stats["operations"][&name];
            if let (Some(done), Some(seen)) = (op["done_after_s"].as_f64(), op["first_done_poll_s"].as_f64()) {
                report.set_f("server_late_s", seen - done);
            }
        }
    }
    let _ = client
        .delete_project(&ProjectName::new(&id).map_err(|e| e.to_string())?)
        .purge(true)
        .await;
    Ok(report)
}

/// The list scenario under injected 503s at `rate`: completion, retries, time per retry.
pub async fn faults(target: &Target, n: usize, page_size: u32, rate: f64) -> Result<Report> {
    let mut report = Report::new("faults");
    report.set_f("fault_rate", rate);
    target.prepare_projects(n).await?;
    let client = target.client()?;
    let baseline_started = Instant::now();
    count_items(&client, page_size).await?;
    let baseline = baseline_started.elapsed().as_secs_f64();
    if !target.set_fault_rate(rate).await? {
        report.note("cannot inject faults on this server: skipped");
        return Ok(report);
    }
    let before = target.requests().await.unwrap_or(0);
    let started = Instant::now();
    let items = count_items(&client, page_size).await?;
    let wall = started.elapsed().as_secs_f64();
    let requests = target.requests().await.unwrap_or(0) - before;
    let pages = (items as f64 / f64::from(page_size.max(1))).ceil() as u64;
    let retries = requests.saturating_sub(pages);
    target.set_fault_rate(0.0).await?;
    report
        .set("items", items)
        .set_f("wall_s", wall)
        .set_f("baseline_wall_s", baseline)
        .set("requests", requests)
        .set("retries", retries)
        .set_f(
            "s_per_retry",
            if retries == 0 {
                0.0
            } else {
                (wall - baseline) / retries as f64
            },
        );
    Ok(report)
}

/// Process start to first answered call, and the peak RSS of that process.
pub async fn cold(target: &Target) -> Result<Report> {
    let mut report = Report::new("cold");
    let Some(id) = target.prepare_projects(1).await? else {
        report.note("needs a project to get: skipped on this server");
        return Ok(report);
    };
    let out = child(target, &["child-get", &id]).await?;
    report.set_f("wall_s", out.0).set("peak_rss_kib", out.1);
    Ok(report)
}

/// Streams `n` items in a child process without keeping them: its peak RSS.
pub async fn memory(target: &Target, n: usize) -> Result<Report> {
    let mut report = Report::new("memory");
    report.set("n", n);
    if target.prepare_projects(n).await?.is_none() {
        report.note("the server cannot be seeded: streaming what it has");
    }
    let (wall, rss) = child(target, &["child-stream", "100"]).await?;
    report.set_f("wall_s", wall).set("peak_rss_kib", rss);
    Ok(report)
}

/// Runs this binary as a child doing `args`; returns the time from spawn to its answer
/// line and the peak RSS it reports.
async fn child(target: &Target, args: &[&str]) -> Result<(f64, u64)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut process = tokio::process::Command::new(exe)
        .args(["--host", &target.host, "--token", &target.token])
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = process.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the child printed nothing")?;
    let wall = started.elapsed().as_secs_f64();
    let status = process.wait().await.map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("the child failed: {status}"));
    }
    let rss = line
        .strip_prefix("rss_kib=")
        .and_then(|v| v.parse().ok())
        .ok_or(format!("unexpected child output {line:?}"))?;
    Ok((wall, rss))
}

/// Child side of `cold`: one `get_project`, then report.
pub async fn child_get(target: &Target, id: &str) -> Result<()> {
    let client = target.client()?;
    client
        .get_project(&ProjectName::new(id).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    println!("rss_kib={}", peak_rss_kib().unwrap_or(0));
    Ok(())
}

/// Child side of `memory`: stream everything, keep nothing.
pub async fn child_stream(target: &Target, page_size: u32) -> Result<()> {
    let client = target.client()?;
    count_items(&client, page_size).await?;
    println!("rss_kib={}", peak_rss_kib().unwrap_or(0));
    Ok(())
}

/// Time of code generation from the spec (library call, median of `runs`).
pub fn regen(runs: usize) -> Result<Report> {
    let spec_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(lakebase_codegen::SPEC_PATH);
    let spec = std::fs::read_to_string(&spec_path).map_err(|e| format!("{}: {e}", spec_path.display()))?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        lakebase_codegen::generate(&spec).map_err(|e| e.to_string())?;
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    let mut report = Report::new("regen");
    report
        .set("runs", samples.len())
        .set_f("wall_s", quantile(&samples, 0.5));
    Ok(report)
}
