//! The lakebase-rs quickstart: what Lakebase is for, end to end. It creates a project,
//! writes a table on `production`, branches `dev`, reads the same rows on `dev` with a real
//! Postgres driver logged in through the SDK's database credential, writes on `dev` only,
//! and cleans up — with timings.
//!
//! With no `DATABRICKS_HOST` it starts the built-in emulator with real PostgreSQL on
//! loopback, so it runs anywhere with the PostgreSQL server package installed (without it,
//! it walks the API only and says so). With `DATABRICKS_HOST` (and credentials) it runs
//! against that workspace.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! `LAKEBASE_EMULATOR_FAULTS` (the JSON of `lakebase_emulator::FaultConfig`) makes the local
//! emulator inject faults, to watch the client recover; every mutation here names its
//! resource, so even lost answers are settled:
//!
//! ```sh
//! LAKEBASE_EMULATOR_FAULTS='{"lost_response_rate": 0.2, "seed": 1}' cargo run --example quickstart
//! ```

use std::time::Instant;

use lakebase::{BranchName, Client, Config, EndpointName, FieldMask, types};
use lakebase_postgres::Pool;

/// Where the databases are: the workspace's (TLS against the system roots, port 5432) or the
/// local emulator's (its port and CA).
struct Databases {
    port: Option<u16>,
    ca_pem: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, databases, _emulator) = connect().await?;
    let project_id = format!("quickstart-{}", std::process::id());

    let started = Instant::now();
    println!("creating project {project_id} ...");
    let project = types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some("lakebase-rs quickstart".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let operation = client.create_project(&project_id, project).await?;
    println!("  operation {} started; waiting", operation.name());
    let project = operation.wait().await?;
    let project_name: lakebase::ProjectName = project.name.clone().unwrap_or_default().parse()?;
    println!("  created {project_name} in {:.2?}", started.elapsed());
    let production = project_name.branch("production")?;

    if let Some(db) = &databases {
        let step = Instant::now();
        let pool = pool(&client, db, primary_endpoint(&client, &production).await?).await?;
        let conn = pool.get().await?;
        conn.batch_execute(
            "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
             INSERT INTO notes VALUES (1, 'written on production'), (2, 'also on production');",
        )
        .await?;
        println!(
            "wrote table notes on production as {} at {}:{} in {:.2?}",
            pool.user(),
            pool.host(),
            pool.port(),
            step.elapsed()
        );
    }

    let step = Instant::now();
    let dev = client
        .create_branch(
            &project_name,
            "dev",
            types::Branch {
                spec: Some(types::BranchSpec {
                    ttl: Some(std::time::Duration::from_secs(3600).into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?
        .wait()
        .await?;
    let dev_name: BranchName = dev.name.clone().unwrap_or_default().parse()?;
    println!("created branch {dev_name} in {:.2?}", step.elapsed());

    if let Some(db) = &databases {
        let step = Instant::now();
        let endpoint = primary_endpoint(&client, &dev_name).await?;
        let pool = pool(&client, db, endpoint.clone()).await?;
        let conn = pool.get().await?;
        let rows = conn.query("SELECT id, body FROM notes ORDER BY id", &[]).await?;
        println!(
            "read {} rows on dev through {endpoint} in {:.2?}:",
            rows.len(),
            step.elapsed()
        );
        for row in &rows {
            println!("  {} | {}", row.get::<_, i32>(0), row.get::<_, String>(1));
        }
        conn.execute("INSERT INTO notes VALUES (3, 'only on dev')", &[]).await?;
        let on_dev: i64 = conn.query_one("SELECT count(*) FROM notes", &[]).await?.get(0);
        println!(
            "dev now has {on_dev} rows; production still has 2 (branches are copies); credentials minted: {}",
            pool.credentials().stats().minted
        );
    }

    let step = Instant::now();
    let change = types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some("lakebase-rs quickstart (renamed)".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .update_project(&project_name, change, &FieldMask::new(["spec.display_name"])?)
        .await?
        .wait()
        .await?;
    println!("renamed the project in {:.2?}", step.elapsed());

    let step = Instant::now();
    client.delete_branch(&dev_name).await?.wait().await?;
    client.delete_project(&project_name).purge(true).await?.wait().await?;
    println!(
        "cleaned up in {:.2?}; the whole walk took {:.2?}",
        step.elapsed(),
        started.elapsed()
    );
    Ok(())
}

/// The branch's read-write endpoint (every branch gets one, named `primary`).
async fn primary_endpoint(client: &Client, branch: &BranchName) -> Result<EndpointName, Box<dyn std::error::Error>> {
    let endpoints = client.list_endpoints(branch).collect_all().await?;
    let read_write = endpoints
        .iter()
        .find(|e| e.status.as_ref().and_then(|s| s.endpoint_type.as_ref()) == Some(&types::EndpointType::ReadWrite))
        .and_then(|e| e.name.clone())
        .ok_or_else(|| format!("{branch} has no read-write endpoint"))?;
    Ok(read_write.parse()?)
}

/// A pool on an endpoint's `databricks_postgres`; host and user are discovered, logins are
/// database credentials minted through the SDK.
async fn pool(client: &Client, db: &Databases, endpoint: EndpointName) -> Result<Pool, Box<dyn std::error::Error>> {
    let mut builder = Pool::builder()
        .client(client.clone())
        .endpoint(endpoint.to_string())
        .database("databricks_postgres")
        .max_size(2);
    if let Some(port) = db.port {
        builder = builder.port(port);
    }
    if let Some(ca) = &db.ca_pem {
        builder = builder.ca_cert_pem(ca.clone());
    }
    Ok(builder.build().await?)
}

/// A client for `DATABRICKS_HOST` if set, else for a fresh local emulator with real
/// PostgreSQL (kept alive by the returned guard); `None` databases when this machine has no
/// PostgreSQL server binaries.
async fn connect()
-> Result<(Client, Option<Databases>, Option<lakebase_emulator::Emulator>), Box<dyn std::error::Error>> {
    if std::env::var_os("DATABRICKS_HOST").is_some() {
        let client = Client::from_env()?;
        println!("using workspace {}", client.host());
        let databases = Databases {
            port: None,
            ca_pem: None,
        };
        return Ok((client, Some(databases), None));
    }
    let real_postgres = match lakebase_emulator::pg::binaries::Binaries::find(None) {
        Ok(_) => true,
        Err(e) => {
            println!("note: {e}\n      walking the API only (no databases)");
            false
        }
    };
    let mut builder = lakebase_emulator::Emulator::builder();
    if let Ok(faults) = std::env::var("LAKEBASE_EMULATOR_FAULTS") {
        builder = builder.faults(serde_json::from_str(&faults)?);
    }
    if real_postgres {
        builder = builder.postgres(true).pg_port(0);
    }
    let emulator = builder.start().await?;
    println!(
        "no DATABRICKS_HOST: started the local emulator at {}{}",
        emulator.base_url(),
        if real_postgres { " with real PostgreSQL" } else { "" }
    );
    let config = Config::builder()
        .host(emulator.base_url())
        .token("quickstart-token")
        .env(std::sync::Arc::new(lakebase::config::MapEnv::new()))
        .build()?;
    let databases = real_postgres.then(|| Databases {
        port: emulator.pg_port(),
        ca_pem: emulator.ca_cert_pem(),
    });
    Ok((Client::new(config)?, databases, Some(emulator)))
}
