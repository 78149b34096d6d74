//! `lakebase-bench`: benchmarks of the `lakebase` client against any host.
//!
//! Prints one JSON line per scenario on stdout and a readable table on stderr. Without
//! `--host` it runs against an embedded emulator; pointed at `shared/bench/mock_server.py`
//! it configures that server through its `/__config` control plane and reads its counts
//! from `/__stats` (and puts its configuration back when done). On any other host what
//! needs configuring is skipped with a note.
//!
//! ```sh
//! cargo run --release -p lakebase-bench -- all                                   # embedded emulator
//! cargo run --release -p lakebase-bench -- all --host http://127.0.0.1:8765      # mock_server.py
//! ```

#![warn(missing_docs)]

mod chaos;
mod postgres;
mod report;
mod rss;
mod scenarios;
mod target;

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::report::Report;
use crate::target::{FaultKind, Target};

/// Command line.
#[derive(Parser)]
#[command(about = "Benchmarks of the lakebase client against any host of the Lakebase Postgres API")]
struct Cli {
    /// Base URL of the API; default: an embedded emulator.
    #[arg(long, global = true)]
    host: Option<String>,
    /// Bearer token.
    #[arg(long, global = true, default_value = "bench-token")]
    token: String,
    /// What to measure.
    #[command(subcommand)]
    scenario: Scenario,
}

/// The scenarios.
#[derive(Subcommand)]
enum Scenario {
    /// Stream all N projects: wall time, items/s, requests.
    List {
        /// Projects to seed and list.
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        /// Page size asked for.
        #[arg(long, default_value_t = 100)]
        page_size: u32,
        /// Runs; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// C sequential get_project calls: latency quantiles.
    Get {
        /// Calls.
        #[arg(long, default_value_t = 500)]
        count: usize,
    },
    /// Create a project whose operation takes D seconds and wait: lateness and polls.
    Wait {
        /// Seconds the operation takes.
        #[arg(long, default_value_t = 3.0)]
        op_delay: f64,
    },
    /// The list scenario under injected faults: completion, retries, time per retry.
    Faults {
        /// Fraction of requests that fail.
        #[arg(long, default_value_t = 0.2)]
        rate: f64,
        /// Which failures.
        #[arg(long, value_enum, default_value_t = FaultKind::Unavailable)]
        kind: FaultKind,
        /// Projects to seed and list.
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        /// Page size asked for.
        #[arg(long, default_value_t = 100)]
        page_size: u32,
    },
    /// Process start to first answered call, and that process's peak RSS.
    Cold {
        /// Child processes; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Stream N items without keeping them, in a child process: its peak RSS.
    Memory {
        /// Projects to seed and stream.
        #[arg(long, default_value_t = 100_000)]
        n: usize,
    },
    /// Time of code generation from the spec (library call).
    Regen {
        /// Runs; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The emulator's real-PostgreSQL mode (an embedded emulator; --host is ignored): project
    /// and branch creation, wake from suspend, pgbench through an endpoint vs direct, memory.
    Postgres {
        /// Parent sizes to branch, in MB.
        #[arg(long, value_delimiter = ',', default_value = "1,100,1000")]
        sizes_mb: Vec<u64>,
        /// Seconds of each pgbench run.
        #[arg(long, default_value_t = 10)]
        pgbench_secs: u64,
        /// pgbench clients.
        #[arg(long, default_value_t = 8)]
        clients: u32,
    },
    /// The 52-call chaos lifecycle (bench/chaos/lifecycle.json) against an embedded emulator
    /// injecting 30 % faults (429, 503, drops, lost and slow-then-lost answers, latency), one
    /// run per seed: calls failed, duplicates and missing resources against a fault-free run;
    /// with --python, the official Python SDK beside (--host is ignored).
    Chaos {
        /// Fault seeds.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        seeds: Vec<u64>,
        /// A Python interpreter with databricks-sdk installed: run the official SDK too.
        #[arg(long)]
        python: Option<std::path::PathBuf>,
    },
    /// Every scenario with its defaults (memory at 10k and 100k), then a comparison table.
    All,
    /// Child of `cold`: one get_project, then `rss_kib=<n>` on stdout.
    #[command(hide = true)]
    ChildGet {
        /// Project id.
        id: String,
    },
    /// Child of `memory`: stream every project, then `rss_kib=<n> items=<n>` on stdout.
    #[command(hide = true)]
    ChildStream {
        /// Page size asked for.
        #[arg(long, default_value_t = 100)]
        page_size: u32,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The bare reqwest clients (the floors) use lakebase's crypto provider too.
    lakebase::tls::install_default_provider();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lakebase-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    // Children measure their own start-up: no probing of the host, nothing printed but
    // the answer line.
    match &cli.scenario {
        Scenario::ChildGet { id } => {
            let target = Target::unprobed(cli.host.ok_or("--host is required")?, cli.token);
            return scenarios::child_get(&target, id).await;
        }
        Scenario::ChildStream { page_size } => {
            let target = Target::unprobed(cli.host.ok_or("--host is required")?, cli.token);
            return scenarios::child_stream(&target, *page_size).await;
        }
        Scenario::Postgres {
            sizes_mb,
            pgbench_secs,
            clients,
        } => {
            let settings = postgres::Settings {
                sizes_mb: sizes_mb.clone(),
                pgbench_secs: *pgbench_secs,
                clients: *clients,
            };
            for report in postgres::run(&settings).await? {
                report.emit();
            }
            return Ok(());
        }
        Scenario::Chaos { seeds, python } => {
            let settings = chaos::Settings {
                seeds: seeds.clone(),
                python: python.clone(),
            };
            for report in chaos::run(&settings).await? {
                report.emit();
            }
            return Ok(());
        }
        _ => {}
    }
    let target = Target::connect(cli.host, cli.token).await?;
    eprintln!("target: {} ({})", target.host, target.kind());
    let result = run_scenario(&target, cli.scenario).await;
    let restored = target.restore().await;
    result.and(restored)
}

async fn run_scenario(target: &Target, scenario: Scenario) -> Result<(), String> {
    let report = match scenario {
        Scenario::List { n, page_size, runs } => scenarios::list(target, n, page_size, runs).await?,
        Scenario::Get { count } => scenarios::get(target, count).await?,
        Scenario::Wait { op_delay } => scenarios::wait(target, secs(op_delay)?).await?,
        Scenario::Faults {
            rate,
            kind,
            n,
            page_size,
        } => scenarios::faults(target, n, page_size, rate, kind).await?,
        Scenario::Cold { runs } => scenarios::cold(target, runs).await?,
        Scenario::Memory { n } => scenarios::memory(target, n).await?,
        Scenario::Regen { runs } => scenarios::regen(runs)?,
        Scenario::All => {
            let mut reports: Vec<Report> = Vec::new();
            let mut keep = |report: Report| {
                report.emit();
                reports.push(report);
            };
            keep(scenarios::list(target, 10_000, 100, 5).await?);
            keep(scenarios::get(target, 500).await?);
            keep(scenarios::wait(target, Duration::from_secs(3)).await?);
            keep(scenarios::faults(target, 10_000, 100, 0.2, FaultKind::Unavailable).await?);
            keep(scenarios::cold(target, 5).await?);
            keep(scenarios::memory(target, 10_000).await?);
            keep(scenarios::memory(target, 100_000).await?);
            keep(scenarios::regen(5)?);
            report::summary(&reports, target.is_mock());
            return Ok(());
        }
        Scenario::ChildGet { .. }
        | Scenario::ChildStream { .. }
        | Scenario::Postgres { .. }
        | Scenario::Chaos { .. } => {
            unreachable!("handled before connecting")
        }
    };
    report.emit();
    Ok(())
}

fn secs(value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{value} is not a duration in seconds"))
}
