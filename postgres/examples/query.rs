//! The smallest use of the pool: one query.
//!
//! ```sh
//! # Against Lakebase (host and user are discovered):
//! LAKEBASE_ENDPOINT=projects/my-app/branches/production/endpoints/primary PGDATABASE=databricks_postgres \
//! DATABRICKS_HOST=https://my-workspace.cloud.databricks.com DATABRICKS_TOKEN=dapi... \
//!   cargo run -p lakebase-postgres --example query
//! # Without LAKEBASE_ENDPOINT: against a local emulator with real PostgreSQL (needs its server binaries).
//! cargo run -p lakebase-postgres --example query
//! # The same under faults (the JSON of lakebase_emulator::FaultConfig), e.g. lost answers:
//! LAKEBASE_EMULATOR_FAULTS='{"lost_response_rate": 0.2, "seed": 1}' cargo run -p lakebase-postgres --example query
//! ```

use lakebase_postgres::Pool;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (pool, _emulator) = if std::env::var_os("LAKEBASE_ENDPOINT").is_some() {
        (Pool::from_env().await?, None)
    } else {
        let (builder, emulator) = local_emulator().await?;
        (builder.build().await?, Some(emulator))
    };
    let conn = pool.get().await?;
    let row = conn.query_one("select current_user::text, version()", &[]).await?;
    println!("endpoint {}", pool.endpoint());
    println!("host     {}:{}", pool.host(), pool.port());
    println!("user     {}", row.get::<_, String>(0));
    println!("server   {}", row.get::<_, String>(1));
    println!("pool     {:?}", pool.status());
    Ok(())
}

/// A pool builder for the `primary` endpoint of a fresh project on a local emulator.
async fn local_emulator()
-> Result<(lakebase_postgres::PoolBuilder, lakebase_emulator::Emulator), Box<dyn std::error::Error>> {
    let mut emulator = lakebase_emulator::Emulator::builder().postgres(true).pg_port(0);
    if let Ok(faults) = std::env::var("LAKEBASE_EMULATOR_FAULTS") {
        emulator = emulator.faults(serde_json::from_str(&faults)?);
    }
    let emulator = emulator.start().await?;
    println!(
        "no LAKEBASE_ENDPOINT: using a local emulator at {}",
        emulator.base_url()
    );
    let config = lakebase::Config::builder()
        .host(emulator.base_url())
        .token("example-token")
        .env(std::sync::Arc::new(lakebase::config::MapEnv::new()))
        .build()?;
    let client = lakebase::Client::new(config)?;
    client
        .create_project("example", Default::default())
        .await?
        .wait()
        .await?;
    let builder = Pool::builder()
        .client(client)
        .endpoint("projects/example/branches/production/endpoints/primary")
        .port(emulator.pg_port().ok_or("no pg port")?)
        .ca_cert_pem(emulator.ca_cert_pem().ok_or("no CA")?)
        .env(std::sync::Arc::new(lakebase::config::MapEnv::new()));
    Ok((builder, emulator))
}
