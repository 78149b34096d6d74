//! `lakebase-emulator` binary: serves the emulated Lakebase Postgres API until Ctrl-C;
//! `lakebase-emulator env` prints the variables that point clients at a running one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use std::io::Write;

use clap::{Parser, Subcommand};
use lakebase_emulator::run_state::{self, RunState, StateFile};
use lakebase_emulator::{Emulator, FaultConfig};
use tracing_subscriber::EnvFilter;

/// Local emulator of the Databricks Lakebase Autoscaling Postgres API.
#[derive(Debug, Parser)]
#[command(name = "lakebase-emulator", version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// TCP port (0 = any free port).
    #[arg(long, default_value_t = 8080, env = "LAKEBASE_EMULATOR_PORT")]
    port: u16,
    /// Address to bind; loopback unless you pass e.g. 0.0.0.0 (then the /_emulator/* admin
    /// routes need --token).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Duration of long-running operations, in milliseconds.
    #[arg(long = "op-latency", value_name = "MS", default_value_t = 200)]
    op_latency_ms: u64,
    /// How long an endpoint keeps reconciling (pending_state set; deletes and re-creates
    /// answered 409) after its operation finished, in milliseconds.
    #[arg(long = "reconcile-ms", value_name = "MS", default_value_t = lakebase_emulator::defaults::RECONCILE.as_millis() as u64)]
    reconcile_ms: u64,
    /// Accept only this bearer token (default: any non-empty token); bound beyond loopback,
    /// the /_emulator/* admin routes need it too.
    #[arg(long, env = "LAKEBASE_EMULATOR_TOKEN")]
    token: Option<String>,
    /// OAuth M2M client id accepted by /oidc/v1/token (with --client-secret).
    #[arg(long, requires = "client_secret")]
    client_id: Option<String>,
    /// OAuth M2M client secret accepted by /oidc/v1/token.
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// Trust an identity provider for OAuth token exchange, as a workspace federation policy
    /// does: 'issuer=URL,audience=A,subject=S[,client_id=SP]' (repeatable).
    #[arg(long = "federation-policy", value_name = "POLICY")]
    federation_policy: Vec<lakebase_emulator::FederationPolicy>,
    /// Accept an identity provider's JWTs directly as bearer tokens after the same checks
    /// (e.g. Entra ID tokens on Azure workspaces): same syntax as --federation-policy (repeatable).
    #[arg(long = "bearer-policy", value_name = "POLICY")]
    bearer_policy: Vec<lakebase_emulator::FederationPolicy>,
    /// Lifetime of issued OAuth access tokens (M2M and U2M), in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: u64,
    /// Lifetime of issued OAuth refresh tokens (U2M), in seconds.
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    refresh_token_lifetime: u64,
    /// A further public OAuth client id accepted by /oidc/v1/authorize (besides databricks-cli).
    #[arg(long = "oauth-client-id")]
    oauth_client_ids: Vec<String>,
    /// Fraction of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// Fraction of API requests answered 503.
    #[arg(long, default_value_t = 0.0)]
    rate_503: f64,
    /// Fraction of API requests whose connection is dropped before they are handled.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Fraction of API requests that are applied, then whose answer is lost (connection closed).
    #[arg(long, default_value_t = 0.0)]
    lost_response_rate: f64,
    /// Fraction of API requests that are applied, whose answer is held for --slow-lost-ms, then lost.
    #[arg(long, default_value_t = 0.0)]
    slow_lost_rate: f64,
    /// How long a "slow then lost" answer is held before the connection is closed, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 61_000)]
    slow_lost_ms: u64,
    /// Fraction of long-running operations that fail.
    #[arg(long, default_value_t = 0.0)]
    op_error_rate: f64,
    /// Retry-After seconds on injected 429s.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency: u64,
    /// Extra random latency up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_jitter: u64,
    /// Seed of fault injection.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Workspace id announced in host metadata.
    #[arg(long, default_value = "1234567890123456")]
    workspace_id: String,
    /// Default list page size.
    #[arg(long, default_value_t = 50)]
    page_size: usize,
    /// Create this many ready projects at start.
    #[arg(long, default_value_t = 0)]
    seed_projects: usize,
    /// Serve real PostgreSQL behind every endpoint (needs PostgreSQL 15+ server binaries).
    #[arg(long)]
    postgres: bool,
    /// Port every endpoint's host listens on (0: a free port); implies --postgres.
    #[arg(long, value_name = "PORT")]
    pg_port: Option<u16>,
    /// Directory of the PostgreSQL server binaries (default: PATH, /usr/lib/postgresql/*/bin); implies --postgres.
    #[arg(long, value_name = "DIR")]
    pg_bin: Option<std::path::PathBuf>,
    /// Keep API state and databases here across restarts (default: a temporary directory); implies --postgres.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Refuse database sessions without TLS; implies --postgres.
    #[arg(long)]
    require_tls: bool,
    /// Suspend idle computes after this many seconds instead of their endpoints' suspend
    /// timeouts (for tests); implies --postgres.
    #[arg(long, value_name = "SECONDS")]
    suspend_after: Option<u64>,
    /// Keep this many seconds of history for every project instead of its
    /// history_retention_duration (for tests); implies --postgres.
    #[arg(long, value_name = "SECONDS")]
    history_retention: Option<u64>,
    /// Default and cap of database credential lifetimes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    credential_ttl: u64,
    /// The workspace user behind personal access tokens (its Postgres role name).
    #[arg(long, value_name = "EMAIL", default_value = lakebase_emulator::DEFAULT_USER)]
    user: String,
    /// Also write the `export` lines of `lakebase-emulator env` to this file (mode 0600) once
    /// started; `source` it, or `eval "$(cat PATH)"`.
    #[arg(long, value_name = "PATH")]
    env_file: Option<std::path::PathBuf>,
    /// Where running emulators leave the state `lakebase-emulator env` reads (default:
    /// $LAKEBASE_EMULATOR_STATE_DIR, $XDG_RUNTIME_DIR/lakebase-emulator, or
    /// <tmp>/lakebase-emulator-<uid>).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print `export DATABRICKS_HOST=.. DATABRICKS_TOKEN=.. PGPORT=.. PGSSLROOTCERT=..` for a
    /// running emulator: `eval "$(lakebase-emulator env)"`.
    Env {
        /// The API port of the emulator to pick when several run.
        #[arg(long)]
        port: Option<u16>,
        /// The state directory the emulators were started with.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<std::path::PathBuf>,
        /// Wait up to this many seconds for an emulator still starting (e.g. just put in the
        /// background with `&`).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait: u64,
    },
}

/// The token `env` hands out when the emulator accepts any (no `--token`).
const ANY_TOKEN: &str = "lakebase-emulator";

/// `lakebase-emulator env`: the running emulator's exports on stdout, or why there is none.
fn print_env(port: Option<u16>, state_dir: Option<std::path::PathBuf>, wait: Duration) -> ! {
    let dir = state_dir.unwrap_or_else(run_state::default_state_dir);
    let deadline = std::time::Instant::now() + wait;
    let mut found = run_state::find(&dir, port);
    // Several running is an answer too; only "none (yet)" is worth waiting for.
    while matches!(
        found,
        Err(run_state::FindError::NoneRunning(_) | run_state::FindError::NotOnPort { .. })
    ) && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
        found = run_state::find(&dir, port);
    }
    match found {
        Ok(state) => {
            let mut out = std::io::stdout();
            let ok = out.write_all(state.exports().as_bytes()).and_then(|()| out.flush());
            std::process::exit(if ok.is_ok() { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("lakebase-emulator env: {e}");
            std::process::exit(1)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let a = Args::parse();
    if let Some(Command::Env { port, state_dir, wait }) = a.command {
        print_env(port, state_dir, Duration::from_secs(wait));
    }
    let faults = FaultConfig {
        rate_429: a.rate_429,
        rate_503: a.rate_503,
        drop_rate: a.drop_rate,
        lost_response_rate: a.lost_response_rate,
        slow_lost_rate: a.slow_lost_rate,
        slow_lost_ms: a.slow_lost_ms,
        op_error_rate: a.op_error_rate,
        retry_after_secs: a.retry_after,
        latency_ms: a.latency,
        latency_jitter_ms: a.latency_jitter,
        seed: a.seed,
    };
    let mut b = Emulator::builder()
        .bind(SocketAddr::new(a.bind, a.port))
        .op_latency(Duration::from_millis(a.op_latency_ms))
        .reconcile(Duration::from_millis(a.reconcile_ms))
        .m2m_token_lifetime(Duration::from_secs(a.token_lifetime))
        .refresh_token_lifetime(Duration::from_secs(a.refresh_token_lifetime))
        .faults(faults)
        .default_page_size(a.page_size)
        .workspace_id(a.workspace_id)
        .user(a.user)
        .credential_ttl(Duration::from_secs(a.credential_ttl));
    if let Some(secs) = a.suspend_after {
        b = b.suspend_after(Duration::from_secs(secs));
    }
    if let Some(secs) = a.history_retention {
        b = b.history_retention(Duration::from_secs(secs));
    }
    if a.postgres || a.pg_port.is_some() || a.pg_bin.is_some() || a.data_dir.is_some() || a.require_tls {
        b = b
            .postgres(true)
            .pg_port(a.pg_port.unwrap_or(5432))
            .require_tls(a.require_tls);
        if let Some(dir) = a.pg_bin {
            b = b.pg_bin(dir);
        }
        if let Some(dir) = a.data_dir {
            b = b.data_dir(dir);
        }
    }
    let token = a.token.clone().unwrap_or_else(|| ANY_TOKEN.to_owned());
    for p in a.federation_policy {
        b = b.federation_policy(p);
    }
    for p in a.bearer_policy {
        b = b.bearer_policy(p);
    }
    if let Some(t) = a.token {
        b = b.token(t);
    }
    for id in a.oauth_client_ids {
        b = b.oauth_client_id(id);
    }
    if let (Some(id), Some(secret)) = (a.client_id, a.client_secret) {
        b = b.m2m_credentials(id, secret);
    }
    let emu = match b.start().await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("lakebase-emulator: {e}");
            std::process::exit(2);
        }
    };
    if a.seed_projects > 0 {
        let n = emu.seed_projects(a.seed_projects)?.len();
        tracing::info!("seeded {n} projects");
    }
    tracing::info!("lakebase emulator listening on {}", emu.base_url());
    let mut banner = format!("LAKEBASE_EMULATOR_URL={}\n", emu.base_url());
    if let (Some(port), Some(ca)) = (emu.pg_port(), emu.ca_cert_path()) {
        banner.push_str(&format!(
            "LAKEBASE_EMULATOR_PG_PORT={port}\nLAKEBASE_EMULATOR_CA={}\n",
            ca.display()
        ));
    }
    let state = RunState {
        host: emu.base_url(),
        token,
        pg_port: emu.pg_port(),
        ca_cert: emu.ca_cert_path(),
    };
    let state_dir = a.state_dir.unwrap_or_else(run_state::default_state_dir);
    // Kept until shutdown: dropping it removes the file.
    let _state_file = match StateFile::write(&state_dir, emu.addr().port(), &state) {
        Ok(file) => Some(file),
        Err(e) => {
            tracing::warn!(
                "`lakebase-emulator env` will not find this emulator: {}: {e}",
                state_dir.display()
            );
            None
        }
    };
    if let Some(path) = &a.env_file
        && let Err(e) = run_state::write_private(path, &state.exports())
    {
        eprintln!("lakebase-emulator: cannot write --env-file {}: {e}", path.display());
        emu.shutdown().await;
        std::process::exit(2);
    }
    // Whoever started us may have stopped reading our output: that is no reason to stop.
    let mut out = std::io::stdout();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    emu.shutdown().await;
    Ok(())
}
