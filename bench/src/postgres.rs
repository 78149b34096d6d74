//! Figures of the emulator's real-PostgreSQL mode (`--postgres`), on an embedded emulator:
//! project creation, branch creation by parent size (running and suspended parent), wake
//! from suspend to first query, pgbench select-only through an endpoint beside the same
//! server reached directly, and memory per idle and per suspended endpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use lakebase_emulator::Emulator;
use serde_json::{Value, json};

use crate::report::Report;

const USER: &str = "bench@example.com";
const DB: &str = "databricks_postgres";

/// Settings of the scenario.
pub struct Settings {
    /// Parent sizes to branch, in MB.
    pub sizes_mb: Vec<u64>,
    /// Seconds of each pgbench run.
    pub pgbench_secs: u64,
    /// pgbench clients.
    pub clients: u32,
}

/// A tiny API client over the emulator (raw JSON, so the figures do not depend on the SDK).
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, format!("{}/api/2.0/postgres/{path}", self.base))
            .bearer_auth("bench");
        if !body.is_null() {
            request = request.json(&body);
        }
        let resp = request.send().await.map_err(|e| e.to_string())?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.map_err(|e| e.to_string())?;
        if ok { Ok(v) } else { Err(format!("{path}: {v}")) }
    }

    /// Starts an operation and waits until it is done.
    async fn run(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, String> {
        let op = self.call(method, path, body).await?;
        let name = op["name"].as_str().ok_or("no operation")?.to_string();
        loop {
            let v = self.call(reqwest::Method::GET, &name, Value::Null).await?;
            if v["done"] == json!(true) {
                return match v.get("error") {
                    Some(e) => Err(format!("{name}: {e}")),
                    None => Ok(v["response"].clone()),
                };
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn host(&self, endpoint: &str) -> Result<String, String> {
        let v = self.call(reqwest::Method::GET, endpoint, Value::Null).await?;
        v["status"]["hosts"]["host"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "no host".into())
    }

    async fn token(&self, endpoint: &str) -> Result<String, String> {
        let v = self
            .call(reqwest::Method::POST, "credentials", json!({"endpoint": endpoint}))
            .await?;
        v["token"].as_str().map(str::to_string).ok_or_else(|| "no token".into())
    }
}

fn primary(project: &str, branch: &str) -> String {
    format!("projects/{project}/branches/{branch}/endpoints/primary")
}

async fn connect(host: &str, port: u16, password: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::Config::new()
        .host(host)
        .port(port)
        .user(USER)
        .password(password)
        .dbname(DB)
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(client)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs every figure; one report each.
pub async fn run(settings: &Settings) -> Result<Vec<Report>, String> {
    let emu = Emulator::builder()
        .postgres(true)
        .pg_port(0)
        .user(USER)
        .op_latency(Duration::ZERO)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let api = Api {
        http: reqwest::Client::new(),
        base: emu.base_url(),
    };
    let port = emu.pg_port().ok_or("no postgres port")?;
    let mut reports = vec![project_create(&api).await?];
    for size in &settings.sizes_mb {
        reports.push(branch_create(&emu, &api, port, *size).await?);
    }
    reports.push(wake(&emu, &api, port).await?);
    reports.push(pgbench(&emu, &api, port, settings).await?);
    reports.push(memory(&emu, &api).await?);
    Ok(reports)
}

async fn project_create(api: &Api) -> Result<Report, String> {
    let mut times = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        api.run(reqwest::Method::POST, &format!("projects?project_id=p{i}"), json!({}))
            .await?;
        times.push(ms(t.elapsed()));
    }
    let mut r = Report::new("pg_project_create");
    r.set_f("first_ms", times[0])
        .set_f("median_ms", median(times[1..].to_vec()));
    r.note("first includes the one-off initdb of the template every project is copied from");
    Ok(r)
}

async fn branch_create(emu: &Emulator, api: &Api, port: u16, size_mb: u64) -> Result<Report, String> {
    let project = format!("size-{size_mb}");
    api.run(
        reqwest::Method::POST,
        &format!("projects?project_id={project}"),
        json!({}),
    )
    .await?;
    let ep = primary(&project, "production");
    let c = connect(&api.host(&ep).await?, port, &api.token(&ep).await?).await?;
    let rows = size_mb * 1024 * 1024 / 1_100;
    c.batch_execute(&format!(
        "CREATE TABLE fill AS SELECT g, repeat(md5(g::text), 31) AS pad FROM generate_series(1, {rows}) g"
    ))
    .await
    .map_err(|e| e.to_string())?;
    let bytes: i64 = c
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    drop(c);
    let body = json!({"spec": {"no_expiry": true}});
    let t = Instant::now();
    api.run(
        reqwest::Method::POST,
        &format!("projects/{project}/branches?branch_id=running"),
        body.clone(),
    )
    .await?;
    let running = ms(t.elapsed());
    emu.suspend_endpoint(&ep).await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    api.run(
        reqwest::Method::POST,
        &format!("projects/{project}/branches?branch_id=suspended"),
        body,
    )
    .await?;
    let suspended = ms(t.elapsed());
    let mut r = Report::new("pg_branch_create");
    r.set("parent_mb", size_mb)
        .set_f("parent_db_mb", bytes as f64 / 1_048_576.0)
        .set_f("running_parent_ms", running)
        .set_f("suspended_parent_ms", suspended);
    r.note("create_branch until its operation is done: data copied and the branch's primary compute started");
    Ok(r)
}

async fn wake(emu: &Emulator, api: &Api, port: u16) -> Result<Report, String> {
    let ep = primary("p1", "production");
    let host = api.host(&ep).await?;
    let token = api.token(&ep).await?;
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let c = connect(&host, port, &token).await?;
        c.simple_query("SELECT 1").await.map_err(|e| e.to_string())?;
        warm.push(ms(t.elapsed()));
        drop(c);
        emu.suspend_endpoint(&ep).await.map_err(|e| e.to_string())?;
        let t = Instant::now();
        let c = connect(&host, port, &token).await?;
        c.simple_query("SELECT 1").await.map_err(|e| e.to_string())?;
        cold.push(ms(t.elapsed()));
    }
    let mut r = Report::new("pg_wake");
    r.set_f("suspended_connect_query_ms", median(cold))
        .set_f("running_connect_query_ms", median(warm));
    Ok(r)
}

async fn pgbench(emu: &Emulator, api: &Api, port: u16, s: &Settings) -> Result<Report, String> {
    let ep = primary("p2", "production");
    let host = api.host(&ep).await?;
    let token = api.token(&ep).await?;
    let bin = emu.postgres_bin_dir().ok_or("no binaries")?.join("pgbench");
    let socket = emu.backing_socket_dir(&ep).ok_or("no backing socket")?;
    let port_s = port.to_string();
    let via_endpoint = ["-h", host.as_str(), "-p", port_s.as_str(), "-U", USER];
    let socket_s = socket.display().to_string();
    let direct = ["-h", socket_s.as_str(), "-p", "5432", "-U", "lakebase_admin"];
    pgbench_run(&bin, &via_endpoint, &token, "prefer", &["-i", "-s", "10", "-q", DB]).await?;
    let clients = s.clients.to_string();
    let secs = s.pgbench_secs.to_string();
    let args = ["-S", "-n", "-c", clients.as_str(), "-j", "2", "-T", secs.as_str(), DB];
    let mut proxy_tps = Vec::new();
    let mut plain_tps = Vec::new();
    let mut direct_tps = Vec::new();
    for _ in 0..2 {
        direct_tps.push(tps(&pgbench_run(&bin, &direct, "", "disable", &args).await?)?);
        proxy_tps.push(tps(&pgbench_run(&bin, &via_endpoint, &token, "require", &args).await?)?);
        plain_tps.push(tps(&pgbench_run(&bin, &via_endpoint, &token, "disable", &args).await?)?);
    }
    let (p, d, plain) = (median(proxy_tps), median(direct_tps), median(plain_tps));
    let mut r = Report::new("pg_pgbench_select_only");
    r.set("clients", s.clients)
        .set("seconds", s.pgbench_secs)
        .set_f("endpoint_tps", p)
        .set_f("direct_tps", d)
        .set_f("ratio", p / d)
        .set_f("endpoint_plain_tps", plain)
        .set_f("plain_ratio", plain / d);
    r.note("scale 10; endpoint = TCP to the endpoint address through the front end, TLS (sslmode=require, as the service asks); endpoint_plain = the same without TLS (the relay alone); direct = the backing server's Unix socket; runs alternate, best of two each");
    Ok(r)
}

async fn pgbench_run(
    bin: &Path,
    conn: &[&str],
    password: &str,
    sslmode: &str,
    args: &[&str],
) -> Result<String, String> {
    let out = tokio::process::Command::new(bin)
        .args(conn)
        .args(args)
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", sslmode)
        .output()
        .await
        .map_err(|e| format!("pgbench: {e}"))?;
    if !out.status.success() {
        return Err(format!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tps(output: &str) -> Result<f64, String> {
    output
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no tps in pgbench output: {output}"))
}

async fn memory(emu: &Emulator, api: &Api) -> Result<Report, String> {
    api.run(reqwest::Method::POST, "projects?project_id=mem", json!({}))
        .await?;
    let ep = primary("mem", "production");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before: Vec<u32> = emu.postgres_pids();
    let socket = emu.backing_socket_dir(&ep).ok_or("no backing socket")?;
    let postmaster = before
        .iter()
        .copied()
        .find(|pid| command_line(*pid).contains(&socket.display().to_string()))
        .ok_or("no server for the new project")?;
    let idle = family(postmaster);
    let idle_kib: u64 = idle.iter().copied().filter_map(pss_kib).sum();
    emu.suspend_endpoint(&ep).await.map_err(|e| e.to_string())?;
    let suspended = family(postmaster).len();
    let mut r = Report::new("pg_memory");
    r.set("idle_endpoint_pss_kib", idle_kib)
        .set("idle_endpoint_processes", idle.len())
        .set("suspended_endpoint_processes", suspended)
        .set("suspended_endpoint_pss_kib", 0);
    r.note("PSS of the server and its children (shared_buffers 32MB, mostly untouched); a suspended endpoint keeps only its listener socket in the emulator");
    Ok(r)
}

fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// A process and its children.
fn family(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if std::fs::metadata(format!("/proc/{pid}")).is_err() {
        return out;
    }
    out.push(pid);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap_or_default();
        let ppid = status
            .lines()
            .find(|l| l.starts_with("PPid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

fn pss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
