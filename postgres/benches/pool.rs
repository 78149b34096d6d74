//! Benchmarks of the pool, each printed as one JSON line, each with its baseline from the
//! same run:
//!
//! 1. `warm_get_select1`: p50 of `pool.get()` + `select 1` on a warm pool, against the same
//!    query on one plain tokio-postgres connection held open (same emulator, same TLS); beside
//!    them, the pool as it was before idle validation (a bare deadpool-postgres pool recycling
//!    `Fast`) and one validating every reuse (`Verified`), all interleaved in the same run.
//! 2. `mints_per_hour`: credential requests per simulated hour at 200 new connections per
//!    minute (tokio's paused clock drives the real [`CredentialCache`] over three hours with
//!    one-hour tokens), against the official Node driver (one per ~58 min) and the documented
//!    psycopg pattern (one per connection).
//! 3. `cold_start`: from nothing to the first query's row (host discovery, user resolution,
//!    credential, TLS login), pool vs `Client::connection_string` + a plain tokio-postgres
//!    connect; median of several runs, each with a new client.
//!
//! ```sh
//! cargo bench -p lakebase-postgres --bench pool
//! ```
//! Needs the PostgreSQL server binaries (for the emulator); without them 1 and 3 are skipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lakebase::config::MapEnv;
use lakebase::{Client, Config, EndpointName};
use lakebase_emulator::Emulator;
use lakebase_postgres::credential::BoxFuture;
use lakebase_postgres::deadpool_postgres::{self, Manager, ManagerConfig, RecyclingMethod};
use lakebase_postgres::{CredentialCache, MintCredential, MintedCredential, Pool, RefreshPolicy};
use serde_json::json;

const WARM_ITERATIONS: usize = 5000;
const COLD_RUNS: usize = 7;

fn main() {
    mints_per_hour();
    if let Err(error) = lakebase_emulator::pg::Binaries::find(None) {
        println!("{}", json!({"bench": "warm_get_select1", "skipped": error.to_string()}));
        println!("{}", json!({"bench": "cold_start", "skipped": error.to_string()}));
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let lab = Lab::start().await;
        warm_get_select1(&lab).await;
        cold_start(&lab).await;
        lab.emu.shutdown().await;
    });
}

struct Lab {
    emu: Emulator,
    endpoint: EndpointName,
}

impl Lab {
    async fn start() -> Lab {
        let emu = Emulator::builder()
            .postgres(true)
            .pg_port(0)
            .start()
            .await
            .expect("emulator");
        let client = client(&emu);
        client
            .create_project("bench", Default::default())
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let endpoint = "projects/bench/branches/production/endpoints/primary".parse().unwrap();
        Lab { emu, endpoint }
    }

    fn pool(&self, client: Client) -> lakebase_postgres::PoolBuilder {
        Pool::builder()
            .client(client)
            .endpoint(self.endpoint.to_string())
            .port(self.emu.pg_port().unwrap())
            .ca_cert_pem(self.emu.ca_cert_pem().unwrap())
            .env(Arc::new(MapEnv::new()))
    }

    /// A plain tokio-postgres connection with a connection string from the API.
    async fn plain(&self, client: &Client) -> tokio_postgres::Client {
        let (config, tls) = self.plain_config(client).await;
        let (pg, connection) = config.connect(tls).await.unwrap();
        tokio::spawn(connection);
        pg
    }

    /// A bare deadpool-postgres pool of one connection on a connection string from the API,
    /// recycling with `method`: the pool as it was before idle validation (`Fast`), or
    /// validating every reuse (`Verified`).
    async fn deadpool(&self, client: &Client, method: RecyclingMethod) -> deadpool_postgres::Pool {
        let (config, tls) = self.plain_config(client).await;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: method,
            },
        );
        deadpool_postgres::Pool::builder(manager).max_size(1).build().unwrap()
    }

    async fn plain_config(
        &self,
        client: &Client,
    ) -> (tokio_postgres::Config, tokio_postgres_rustls::MakeRustlsConnect) {
        let url = client
            .connection_string(&self.endpoint, "databricks_postgres", None)
            .await
            .unwrap();
        // The URL says 5432; the emulator listens on a free port.
        let port = format!(":{}/", self.emu.pg_port().unwrap());
        let config: tokio_postgres::Config = url.expose().replace(":5432/", &port).parse().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(self.emu.ca_cert_pem().unwrap().as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(lakebase::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (config, tokio_postgres_rustls::MakeRustlsConnect::new(tls))
    }
}

fn client(emu: &Emulator) -> Client {
    let config = Config::builder()
        .host(emu.base_url())
        .token("bench-token")
        .env(Arc::new(MapEnv::new()))
        .build()
        .unwrap();
    Client::new(config).unwrap()
}

fn p50(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> f64 {
    (d.as_nanos() as f64 / 100.0).round() / 10.0
}

fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64 / 10.0).round() / 100.0
}

async fn warm_get_select1(lab: &Lab) {
    let client = client(&lab.emu);
    let pool = lab.pool(client.clone()).max_size(1).build().await.unwrap();
    let fast = lab.deadpool(&client, RecyclingMethod::Fast).await;
    let verified = lab.deadpool(&client, RecyclingMethod::Verified).await;
    let plain = lab.plain(&client).await;
    // Warm all up.
    for _ in 0..200 {
        pool.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        fast.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        verified.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        plain.query_one("select 1", &[]).await.unwrap();
    }
    let mut samples: [Vec<Duration>; 4] = Default::default();
    // Interleaved query by query, so load on the machine hits all alike.
    for _ in 0..WARM_ITERATIONS {
        let t = Instant::now();
        pool.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        samples[0].push(t.elapsed());

        let t = Instant::now();
        fast.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        samples[1].push(t.elapsed());

        let t = Instant::now();
        verified.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        samples[2].push(t.elapsed());

        let t = Instant::now();
        plain.query_one("select 1", &[]).await.unwrap();
        samples[3].push(t.elapsed());
    }
    let [pool_p50, fast_p50, verified_p50, plain_p50] = samples.map(|mut s| p50(&mut s));
    let ratio = |d: Duration| (d.as_secs_f64() / plain_p50.as_secs_f64() * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "bench": "warm_get_select1",
            "iterations": WARM_ITERATIONS,
            "plain_tokio_postgres_p50_us": micros(plain_p50),
            "pool_p50_us": micros(pool_p50),
            "ratio": ratio(pool_p50),
            "before_deadpool_fast_p50_us": micros(fast_p50),
            "before_ratio": ratio(fast_p50),
            "validate_every_get_p50_us": micros(verified_p50),
            "validate_every_get_ratio": ratio(verified_p50),
            "pool_validations": pool.health().validations,
            "credential_requests": lab.emu.request_count("generate_database_credential"),
        })
    );
}

/// One-hour tokens after 100 ms of latency; counts requests and notes when they were made.
#[derive(Debug, Default)]
struct HourTokens {
    requests: AtomicU64,
    times: std::sync::Mutex<Vec<tokio::time::Instant>>,
}

impl MintCredential for HourTokens {
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
        Box::pin(async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.times.lock().unwrap().push(tokio::time::Instant::now());
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(MintedCredential {
                token: "token".into(),
                expires_at: tokio::time::Instant::now() + Duration::from_secs(3600),
            })
        })
    }
}

/// Credential requests over `hours` simulated hours at `per_minute` new connections a
/// minute with one-hour tokens, on `policy`: how many, and the steady rate per hour (from
/// the median time between two requests).
fn simulate_mints(policy: RefreshPolicy, hours: u32, per_minute: u32) -> (u64, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let minter = Arc::new(HourTokens::default());
        let cache = CredentialCache::new("bench", minter.clone(), policy);
        let interval = Duration::from_secs(60) / per_minute;
        let end = tokio::time::Instant::now() + Duration::from_secs(3600) * hours;
        while tokio::time::Instant::now() < end {
            cache.get().await.unwrap();
            tokio::time::sleep(interval).await;
        }
        let times = minter.times.lock().unwrap().clone();
        let mut gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let per_hour = 3600.0 / p50(&mut gaps).as_secs_f64();
        (
            minter.requests.load(Ordering::Relaxed),
            (per_hour * 1000.0).round() / 1000.0,
        )
    })
}

fn mints_per_hour() {
    const HOURS: u32 = 24;
    const PER_MINUTE: u32 = 200;
    let (mints, per_hour) = simulate_mints(RefreshPolicy::default(), HOURS, PER_MINUTE);
    let node_margin = RefreshPolicy {
        refresh_ahead: Duration::from_secs(120),
        ..RefreshPolicy::default()
    };
    let (_, two_minutes_per_hour) = simulate_mints(node_margin, HOURS, PER_MINUTE);
    println!(
        "{}",
        json!({
            "bench": "mints_per_hour",
            "simulated_hours": HOURS,
            "new_connections_per_minute": PER_MINUTE,
            "connections": u64::from(HOURS * 60 * PER_MINUTE),
            "token_lifetime_s": 3600,
            "pool_mints": mints,
            "pool_mints_per_hour": per_hour,
            "pool_refresh_ahead_2min_mints_per_hour": two_minutes_per_hour,
            "node_driver_mints_per_hour": ((60.0_f64 / 58.0) * 1000.0).round() / 1000.0,
            "psycopg_pattern_mints_per_hour": PER_MINUTE * 60,
        })
    );
}

async fn cold_start(lab: &Lab) {
    let mut pooled = Vec::new();
    let mut direct = Vec::new();
    for _ in 0..COLD_RUNS {
        let t = Instant::now();
        let pool = lab.pool(client(&lab.emu)).build().await.unwrap();
        pool.get().await.unwrap().query_one("select 1", &[]).await.unwrap();
        pooled.push(t.elapsed());
        drop(pool);

        let t = Instant::now();
        let plain = lab.plain(&client(&lab.emu)).await;
        plain.query_one("select 1", &[]).await.unwrap();
        direct.push(t.elapsed());
    }
    println!(
        "{}",
        json!({
            "bench": "cold_start",
            "runs": COLD_RUNS,
            "pool_p50_ms": millis(p50(&mut pooled)),
            "connection_string_plus_tokio_postgres_p50_ms": millis(p50(&mut direct)),
        })
    );
}
