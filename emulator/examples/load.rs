//! Bounded loopback load test of the emulator.
//!
//! `cargo run --release -p lakebase-emulator --example load -- [REQUESTS] [CONCURRENCY]`
//!
//! Starts an in-process emulator with 100 seeded projects, then issues REQUESTS
//! (default 20000) `get_project` calls and as many `list_projects` (page_size 20) calls
//! with CONCURRENCY (default 32) tasks each, stopping early after 30 s per phase, and
//! prints requests per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lakebase_emulator::Emulator;

const DEADLINE: Duration = Duration::from_secs(30);

async fn phase(name: &str, client: &reqwest::Client, urls: Arc<Vec<String>>, requests: usize, concurrency: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, urls, next, errors) = (client.clone(), urls.clone(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests || start.elapsed() > DEADLINE {
                    break;
                }
                let url = &urls[i % urls.len()];
                let ok = match client.get(url).bearer_auth("load").send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let done = next.load(Ordering::Relaxed).min(requests);
    println!(
        "{name:<14} {done:>7} requests, {concurrency} tasks, {elapsed:>6.2} s, {:>9.0} req/s, {} errors",
        done as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32).max(1);
    let emu = Emulator::start().await?;
    let names = emu.seed_projects(100)?;
    let base = emu.base_url();
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let gets: Vec<String> = names.iter().map(|n| format!("{base}/api/2.0/postgres/{n}")).collect();
    phase("get_project", &client, Arc::new(gets), requests, concurrency).await;
    let lists = vec![format!("{base}/api/2.0/postgres/projects?page_size=20")];
    phase("list_projects", &client, Arc::new(lists), requests, concurrency).await;
    emu.shutdown().await;
    Ok(())
}
