//! The scenarios: each measures one thing users compare and returns a [`Report`].
//!
//! Counts (`requests`, `polls`, `retries`) come from the server when it keeps them (the
//! mock server's `/__stats`, the emulator's counters) and from the client otherwise;
//! every report says which in its notes when it matters.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use lakebase::retry::{RecordingSleeper, TokioSleeper};
use lakebase::{ProjectName, types};
use tokio::io::AsyncBufReadExt;

use crate::report::{Report, quantile};
use crate::rss::peak_rss_kib;
use crate::target::{FaultKind, Server, Target};

type Result<T> = std::result::Result<T, String>;

/// Streams every project with `page_size`, `runs` times: the median run's wall time and
/// items/s, the first run's wall time (the server's caches are cold then), and the
/// requests of one run as the server counted them.
///
/// Each run is followed by the floor, the same pages fetched with a bare reqwest client and
/// not decoded (interleaved, so both see the same load), and the list's cost is split per
/// page into transfer (the floor), decoding (the floor's bodies decoded into the same types
/// the client returns, the way it decodes them, no I/O) and the rest (the client's layers:
/// auth, headers, retries, recovery, pagination).
pub async fn list(target: &Target, n: usize, page_size: u32, runs: usize) -> Result<Report> {
    let mut report = Report::new("list");
    if target.prepare_projects(n).await?.is_none() {
        report.note("the host cannot be seeded: listing the projects it has");
    }
    let client = target.client()?;
    let http = reqwest::Client::new();
    let mut walls = Vec::with_capacity(runs);
    let mut raw = Vec::with_capacity(runs);
    let mut bodies = Vec::new();
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
        let started = Instant::now();
        bodies = raw_list(&http, target, page_size).await?;
        raw.push(started.elapsed().as_secs_f64());
    }
    let first = walls[0];
    walls.sort_by(f64::total_cmp);
    raw.sort_by(f64::total_cmp);
    let wall = quantile(&walls, 0.5);
    let raw_wall = quantile(&raw, 0.5);
    report
        .set("items", items)
        .set("page_size", page_size)
        .set("runs", walls.len())
        .set_f("wall_s", wall)
        .set_f("items_per_s", items as f64 / wall)
        .set_f("first_run_wall_s", first);
    match requests {
        Some(requests) => report.set("requests", requests),
        None => report.note("the host does not count requests: `requests` omitted"),
    };
    let decode = decode_time(&bodies, runs)?;
    let pages = bodies.len().max(1) as f64;
    report
        .set_f("raw_wall_s", raw_wall)
        .set_f("floor_ratio", wall / raw_wall)
        .set("pages", bodies.len())
        .set_f("page_ms", wall * 1000.0 / pages)
        .set_f("page_transfer_ms", raw_wall * 1000.0 / pages)
        .set_f("page_decode_ms", decode * 1000.0 / pages)
        .set_f("page_rest_ms", (wall - raw_wall - decode) * 1000.0 / pages);
    Ok(report)
}

/// Median time to decode all `bodies` as the client does (one UTF-8 check, then typed
/// decoding into `ListProjectsResponse`), over `runs` passes.
fn decode_time(bodies: &[bytes::Bytes], runs: usize) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        for body in bodies {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            let page: types::ListProjectsResponse = serde_json::from_str(text).map_err(|e| e.to_string())?;
            std::hint::black_box(page);
        }
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(quantile(&times, 0.5))
}

/// Fetches every page of projects with plain reqwest and returns the bodies; the page
/// token is found by a byte search, nothing is decoded.
async fn raw_list(http: &reqwest::Client, target: &Target, page_size: u32) -> Result<Vec<bytes::Bytes>> {
    const KEY: &[u8] = b"\"next_page_token\":\"";
    let url = format!("{}/api/2.0/postgres/projects", target.host);
    let auth = format!("Bearer {}", target.token);
    let mut token: Option<String> = None;
    let mut bodies = Vec::new();
    loop {
        let mut query = vec![("page_size", page_size.to_string())];
        if let Some(token) = token.take() {
            query.push(("page_token", token));
        }
        let body = raw_get(http, &url, &auth, &query).await?;
        bodies.push(body.clone());
        let Some(at) = body.windows(KEY.len()).rposition(|w| w == KEY) else {
            return Ok(bodies);
        };
        let rest = &body[at + KEY.len()..];
        let end = rest.iter().position(|&b| b == b'"').ok_or("unterminated page token")?;
        if end == 0 {
            return Ok(bodies);
        }
        token = Some(String::from_utf8_lossy(&rest[..end]).into_owned());
    }
}

/// Streams every project without keeping any; the number of items.
async fn count_items(client: &lakebase::Client, page_size: u32) -> Result<u64> {
    let items = client.list_projects().page_size(page_size).items();
    items
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .map_err(|e| e.to_string())
}

/// `count` sequential `get_project` of one project, after one uncounted warm-up call
/// (connection set-up): latency quantiles.
pub async fn get(target: &Target, count: usize) -> Result<Report> {
    let mut report = Report::new("get");
    let Some(id) = target.any_project_id().await? else {
        report.note("the host has no project to get: skipped");
        return Ok(report);
    };
    let client = target.client()?;
    let name = ProjectName::new(&id).map_err(|e| e.to_string())?;
    client.get_project(&name).await.map_err(|e| e.to_string())?;
    let before = target.requests().await;
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
    if let (Some(before), Some(after)) = (before, target.requests().await) {
        report.set("requests", after - before);
    }
    // The floor: the same GET with a bare reqwest client (no auth provider, retries,
    // typed decoding), so `p50_ms - raw_p50_ms` is what the SDK's layers cost.
    let raw = raw_get_samples(target, &id, count).await?;
    report
        .set_f("raw_p50_ms", quantile(&raw, 0.5))
        .set_f("raw_p99_ms", quantile(&raw, 0.99));
    Ok(report)
}

/// One plain reqwest GET (no SDK layers): the body of a 2xx answer.
async fn raw_get(http: &reqwest::Client, url: &str, auth: &str, query: &[(&str, String)]) -> Result<bytes::Bytes> {
    let response = http
        .get(url)
        .query(query)
        .header("Authorization", auth)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}", response.status()));
    }
    response.bytes().await.map_err(|e| e.to_string())
}

/// Latencies (ms, sorted) of `count` plain reqwest GETs of project `id`, after a warm-up.
async fn raw_get_samples(target: &Target, id: &str, count: usize) -> Result<Vec<f64>> {
    let http = reqwest::Client::new();
    let url = format!("{}/api/2.0/postgres/projects/{id}", target.host);
    let auth = format!("Bearer {}", target.token);
    let fetch = || raw_get(&http, &url, &auth, &[]);
    fetch().await?;
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let t = Instant::now();
        fetch().await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples)
}

/// Creates a project whose operation takes `op_delay` and waits for it with
/// `Operation::wait` (the default polling policy, as a user would): how long after the
/// operation finished the wait noticed (`late_s`), and how many polls it made.
///
/// Against the mock server both come from its poll timeline (`/__stats`): `late_s` is
/// the first poll that saw the operation done minus the moment it became done. Elsewhere
/// `late_s` is measured on the client from the create call (so it includes that call's
/// round trip) and `polls` comes from the emulator's `get_operation` counter.
pub async fn wait(target: &Target, op_delay: Duration) -> Result<Report> {
    let mut report = Report::new("wait");
    report.set_f("op_delay_s", op_delay.as_secs_f64());
    if !target.set_op_delay(op_delay).await? {
        report.note("cannot set how long operations take on this host (and would create a real project): skipped");
        return Ok(report);
    }
    let client = target.client()?;
    let id = format!("bench-wait-{}", std::process::id());
    let polls_before = target.operation_polls();
    let started = Instant::now();
    let operation = client
        .create_project(&id, types::Project::default())
        .await
        .map_err(|e| e.to_string())?;
    let create_s = started.elapsed().as_secs_f64();
    let name = operation.name().to_string();
    operation.wait().await.map_err(|e| e.to_string())?;
    let wall = started.elapsed().as_secs_f64();
    let client_late = wall - op_delay.as_secs_f64();
    report
        .set_f("wall_s", wall)
        .set_f("create_call_s", create_s)
        .set_f("client_late_s", client_late);
    if target.is_mock() {
        let stats = target.mock_stats().await?;
        let op = &stats["operations"][&name];
        let polls = op["polls_s"].as_array().map(Vec::len);
        match (op["done_after_s"].as_f64(), op["first_done_poll_s"].as_f64(), polls) {
            (Some(done), Some(seen), Some(polls)) => {
                report.set_f("late_s", seen - done).set("polls", polls);
                report.set("poll_times_s", op["polls_s"].clone());
            }
            _ => return Err(format!("/__stats has no poll timeline for {name}: {op}")),
        }
    } else {
        report.set_f("late_s", client_late);
        report.note("late_s measured on the client from the create call (includes its round trip)");
        if let (Some(before), Some(after)) = (polls_before, target.operation_polls()) {
            report.set("polls", after - before);
        }
    }
    if let Server::Emulator(_) = target.server {
        // Leave the emulator's listing as it was: the next scenarios count its items.
        target.set_op_delay(Duration::ZERO).await?;
        let name = ProjectName::new(&id).map_err(|e| e.to_string())?;
        let _ = client.delete_project(&name).purge(true).await;
        target.set_op_delay(Duration::from_millis(200)).await?;
    }
    Ok(report)
}

/// The list scenario under injected faults (`kind` at `rate`, seeded): whether it
/// completes, how many retries it took, and the time each retry added beside the time
/// the retry policy asked to sleep (backoff, or `Retry-After` plus jitter).
pub async fn faults(target: &Target, n: usize, page_size: u32, rate: f64, kind: FaultKind) -> Result<Report> {
    let mut report = Report::new("faults");
    report.set("fault", kind.label()).set_f("fault_rate", rate);
    target.prepare_projects(n).await?;
    // Baseline without faults, same client settings, warm server caches.
    let baseline_started = Instant::now();
    let expected = count_items(&target.client()?, page_size).await?;
    let baseline = baseline_started.elapsed().as_secs_f64();
    if !target.set_faults(kind, rate).await? {
        report.note("cannot inject faults on this host: skipped");
        return Ok(report);
    }
    let sleeper = RecordingSleeper::around(Arc::new(TokioSleeper));
    let client = target.client_with(Arc::new(sleeper.clone()))?;
    let before = target.requests().await;
    let started = Instant::now();
    let outcome = count_items(&client, page_size).await;
    let wall = started.elapsed().as_secs_f64();
    let after = target.requests().await;
    let injected = target.injected_faults().await;
    target.set_faults(kind, 0.0).await?;
    let sleeps = sleeper.recorded();
    let retries = sleeps.len() as u64;
    let asked: f64 = sleeps.iter().map(Duration::as_secs_f64).sum();
    let per = |total: f64| if retries == 0 { 0.0 } else { total / retries as f64 };
    match outcome {
        Ok(items) => report.set("completed", items == expected).set("items", items),
        Err(e) => report.set("completed", false).note(format!("the listing failed: {e}")),
    };
    report
        .set_f("wall_s", wall)
        .set_f("baseline_wall_s", baseline)
        .set("retries", retries)
        .set_f("s_per_retry", per(wall - baseline))
        .set_f("asked_s_per_retry", per(asked));
    if let (Some(before), Some(after)) = (before, after) {
        report.set("requests", after - before);
    }
    if let Some(injected) = injected {
        report.set("faults_injected", injected);
    }
    Ok(report)
}

/// Process start to first answered call: spawns this binary `runs` times, each doing one
/// `get_project`, and times from spawn to its answer line. Reports the median, the
/// fastest run, and the largest peak RSS a child read from `/proc/self/status`.
pub async fn cold(target: &Target, runs: usize) -> Result<Report> {
    let mut report = Report::new("cold");
    let Some(id) = target.any_project_id().await? else {
        report.note("the host has no project to get: skipped");
        return Ok(report);
    };
    let (mut walls, mut client_ms, mut call_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut rss = 0;
    for _ in 0..runs.max(1) {
        let answer = child(target, &["child-get", &id]).await?;
        walls.push(answer.wall_s);
        rss = rss.max(answer.rss_kib);
        client_ms.push(answer.client_us.unwrap_or(0) as f64 / 1000.0);
        call_ms.push(answer.call_us.unwrap_or(0) as f64 / 1000.0);
    }
    for samples in [&mut walls, &mut client_ms, &mut call_ms] {
        samples.sort_by(f64::total_cmp);
    }
    report
        .set("runs", walls.len())
        .set_f("wall_s", quantile(&walls, 0.5))
        .set_f("min_wall_s", walls[0])
        .set_f("client_new_ms", quantile(&client_ms, 0.5))
        .set_f("first_call_ms", quantile(&call_ms, 0.5))
        .set("peak_rss_kib", rss);
    Ok(report)
}

/// Streams `n` items in a child process without keeping them: the child's peak RSS.
pub async fn memory(target: &Target, n: usize) -> Result<Report> {
    let mut report = Report::new("memory");
    report.set("n", n);
    if target.prepare_projects(n).await?.is_none() {
        report.note("the host cannot be seeded: streaming the projects it has");
    }
    let answer = child(target, &["child-stream", "--page-size", "100"]).await?;
    report
        .set("items", answer.items.unwrap_or(0))
        .set_f("wall_s", answer.wall_s)
        .set("peak_rss_kib", answer.rss_kib);
    Ok(report)
}

/// What a child process answered.
struct ChildAnswer {
    /// From spawn to the answer line.
    wall_s: f64,
    /// The child's peak RSS.
    rss_kib: u64,
    /// Items it streamed, if it streamed.
    items: Option<u64>,
    /// Time the child took to build its client (µs), if it said.
    client_us: Option<u64>,
    /// Time of the child's first call (µs), if it said.
    call_us: Option<u64>,
}

/// Runs this binary as a child doing `args` and reads its answer line
/// (`rss_kib=<n> [items=<n>]`).
async fn child(target: &Target, args: &[&str]) -> Result<ChildAnswer> {
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
    let wall_s = started.elapsed().as_secs_f64();
    let status = process.wait().await.map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("the child failed: {status}"));
    }
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok())
    };
    let rss_kib = field("rss_kib").ok_or(format!("unexpected child output {line:?}"))?;
    Ok(ChildAnswer {
        wall_s,
        rss_kib,
        items: field("items"),
        client_us: field("client_us"),
        call_us: field("call_us"),
    })
}

/// Child side of `cold`: one `get_project`, then the answer line.
/// The answer line also carries how long building the client (`client_us`) and the call
/// itself (`call_us`) took inside the child.
pub async fn child_get(target: &Target, id: &str) -> Result<()> {
    let t = Instant::now();
    let client = target.client()?;
    let client_us = t.elapsed().as_micros();
    let t = Instant::now();
    client
        .get_project(&ProjectName::new(id).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let call_us = t.elapsed().as_micros();
    println!(
        "rss_kib={} client_us={client_us} call_us={call_us}",
        peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

/// Child side of `memory`: stream everything, keep nothing, then the answer line.
pub async fn child_stream(target: &Target, page_size: u32) -> Result<()> {
    let client = target.client()?;
    let items = count_items(&client, page_size).await?;
    println!("rss_kib={} items={items}", peak_rss_kib().unwrap_or(0));
    Ok(())
}

/// Time of code generation from the spec (the library call, no process; median of `runs`).
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
        .set("spec_bytes", spec.len())
        .set_f("wall_s", quantile(&samples, 0.5))
        .set_f("min_wall_s", samples[0]);
    Ok(report)
}
