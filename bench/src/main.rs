//! `lakebase-bench`: benchmarks of the `lakebase` client against any host.
//!
//! Prints one JSON line per scenario on stdout and a readable table on stderr. Without
//! `--host` it runs against an embedded emulator; pointed at `shared/bench/mock_server.py`
//! it configures that server through its `/__config` control plane.
//!
//! ```sh
//! cargo run --release -p lakebase-bench -- all                                   # embedded emulator
//! cargo run --release -p lakebase-bench -- all --host http://127.0.0.1:8765      # mock_server.py
//! ```

mod report;
mod rss;
mod scenarios;
mod target;

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::target::Target;

#[derive(Parser)]
#[command(about = "Benchmarks of the lakebase client against any host of the Lakebase Postgres API")]
struct Cli {
    /// Base URL of the API; default: an embedded emulator.
    #[arg(long, global = true)]
    host: Option<String>,
    /// Bearer token.
    #[arg(long, global = true, default_value = "bench-token")]
    token: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Stream all N projects.
    List {
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        #[arg(long, default_value_t = 100)]
        page_size: u32,
        /// Runs; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// C sequential get_project calls.
    Get {
        #[arg(long, default_value_t = 500)]
        count: usize,
    },
    /// Create a project whose operation takes D seconds, and wait.
    Wait {
        #[arg(long, default_value_t = 3.0)]
        op_delay: f64,
    },
    /// The list scenario under injected 503s.
    Faults {
        #[arg(long, default_value_t = 0.2)]
        rate: f64,
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        #[arg(long, default_value_t = 100)]
        page_size: u32,
    },
    /// Process start to first answered call, and peak RSS.
    Cold,
    /// Stream N items without keeping them; peak RSS.
    Memory {
        #[arg(long, default_value_t = 100_000)]
        n: usize,
    },
    /// Time of code generation from the spec.
    Regen {
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Every scenario with the defaults (memory at 10k and 100k).
    All,
    #[command(hide = true)]
    ChildGet { id: String },
    #[command(hide = true)]
    ChildStream { page_size: u32 },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
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
    let target = Target::connect(cli.host, cli.token).await?;
    match cli.scenario {
        Scenario::ChildGet { id } => return scenarios::child_get(&target, &id).await,
        Scenario::ChildStream { page_size } => return scenarios::child_stream(&target, page_size).await,
        _ => {}
    }
    eprintln!("target: {} ({})", target.host, target.kind());
    match cli.scenario {
        Scenario::List { n, page_size, runs } => scenarios::list(&target, n, page_size, runs).await?.emit(),
        Scenario::Get { count } => scenarios::get(&target, count).await?.emit(),
        Scenario::Wait { op_delay } => scenarios::wait(&target, secs(op_delay)?).await?.emit(),
        Scenario::Faults { rate, n, page_size } => scenarios::faults(&target, n, page_size, rate).await?.emit(),
        Scenario::Cold => scenarios::cold(&target).await?.emit(),
        Scenario::Memory { n } => scenarios::memory(&target, n).await?.emit(),
        Scenario::Regen { runs } => scenarios::regen(runs)?.emit(),
        Scenario::All => {
            scenarios::list(&target, 10_000, 100, 5).await?.emit();
            scenarios::get(&target, 500).await?.emit();
            scenarios::wait(&target, Duration::from_secs(3)).await?.emit();
            scenarios::faults(&target, 10_000, 100, 0.2).await?.emit();
            scenarios::cold(&target).await?.emit();
            scenarios::memory(&target, 10_000).await?.emit();
            scenarios::memory(&target, 100_000).await?.emit();
            scenarios::regen(5)?.emit();
        }
        Scenario::ChildGet { .. } | Scenario::ChildStream { .. } => {}
    }
    Ok(())
}

fn secs(value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{value} is not a duration in seconds"))
}
