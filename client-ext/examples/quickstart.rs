//! The lakebase-rs quickstart: a project's whole lifecycle, with timings.
//!
//! With no `DATABRICKS_HOST` set it starts the built-in emulator on loopback, so it runs
//! anywhere; with `DATABRICKS_HOST` (and credentials) it runs against that workspace.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::time::Instant;

use lakebase::{Client, Config, FieldMask, ProjectName, types};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _emulator) = connect().await?;
    let project_id = format!("quickstart-{}", std::process::id());

    let started = Instant::now();
    println!("creating project {project_id} ...");
    let project = types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some("lakebase-rs quickstart".into()),
            pg_version: Some(17),
            ..Default::default()
        }),
        ..Default::default()
    };
    let operation = client.create_project(&project_id, project).await?;
    println!("  operation {} started; waiting", operation.name());
    let project = operation.wait().await?;
    let project_name: ProjectName = project.name.clone().unwrap_or_default().parse()?;
    println!("  created {project_name} in {:.2?}", started.elapsed());

    let step = Instant::now();
    let branch = client
        .create_branch(
            &project_name,
            "dev",
            types::Branch {
                spec: Some(types::BranchSpec {
                    no_expiry: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?
        .wait()
        .await?;
    let branch_name = project_name.branch("dev")?;
    println!(
        "created branch {} in {:.2?}",
        branch.name.unwrap_or_default(),
        step.elapsed()
    );

    let step = Instant::now();
    let endpoint = client
        .create_endpoint(
            &branch_name,
            "primary",
            types::Endpoint {
                spec: Some(types::EndpointSpec {
                    endpoint_type: Some(types::EndpointType::ReadWrite),
                    autoscaling_limit_min_cu: Some(0.5),
                    autoscaling_limit_max_cu: Some(2.0),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?
        .wait_until_settled()
        .await?;
    let endpoint_name = branch_name.endpoint("primary")?;
    let host = endpoint
        .status
        .and_then(|s| s.hosts)
        .and_then(|h| h.host)
        .unwrap_or_default();
    println!("created endpoint {endpoint_name} ({host}) in {:.2?}", step.elapsed());

    let branches = client.list_branches(&project_name).page_size(10).collect_all().await?;
    println!(
        "project has {} branches: {:?}",
        branches.len(),
        branches
            .iter()
            .filter_map(|b| b.branch_id.as_deref())
            .collect::<Vec<_>>()
    );

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

    let connection = client
        .connection_string(&endpoint_name, "databricks_postgres", Some("me@example.com"))
        .await?;
    println!("connection string (password hidden): {connection}");

    let step = Instant::now();
    client.delete_branch(&branch_name).await?.wait().await?;
    client.delete_project(&project_name).purge(true).await?.wait().await?;
    println!(
        "cleaned up in {:.2?}; whole lifecycle took {:.2?}",
        step.elapsed(),
        started.elapsed()
    );
    Ok(())
}

/// A client for `DATABRICKS_HOST` if set, else for a fresh local emulator (kept alive
/// by the returned guard).
async fn connect() -> Result<(Client, Option<lakebase_emulator::Emulator>), Box<dyn std::error::Error>> {
    if std::env::var_os("DATABRICKS_HOST").is_some() {
        let client = Client::from_env()?;
        println!("using workspace {}", client.host());
        return Ok((client, None));
    }
    let emulator = lakebase_emulator::Emulator::start().await?;
    println!(
        "no DATABRICKS_HOST: started the local emulator at {}",
        emulator.base_url()
    );
    let config = Config::builder()
        .host(emulator.base_url())
        .token("quickstart-token")
        .build()?;
    Ok((Client::new(config)?, Some(emulator)))
}
