//! Lists everything in a workspace as a tree: projects → branches → endpoints, roles and
//! databases, with the lazy list streams.
//!
//! With `DATABRICKS_HOST` (and credentials) set it walks that workspace; without, it starts
//! the local emulator seeded with a few projects, so it runs anywhere:
//!
//! ```sh
//! cargo run --example list_everything
//! ```

use std::pin::pin;

use futures::TryStreamExt;
use lakebase::{BranchName, Client, Config, ProjectName};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _emulator) = connect().await?;
    let mut projects = pin!(client.list_projects().page_size(50).items());
    let mut count = 0;
    while let Some(project) = projects.try_next().await? {
        count += 1;
        let name: ProjectName = project.name.clone().unwrap_or_default().parse()?;
        let display = project
            .status
            .as_ref()
            .and_then(|s| s.display_name.clone())
            .unwrap_or_default();
        println!("{name}  {display:?}");
        let mut branches = pin!(client.list_branches(&name).page_size(50).items());
        while let Some(branch) = branches.try_next().await? {
            let branch_name: BranchName = branch.name.clone().unwrap_or_default().parse()?;
            let state = branch
                .status
                .as_ref()
                .and_then(|s| s.current_state.as_ref())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            println!("└── branch {}  {state}", branch_name.branch_id());
            print_children(&client, &branch_name).await?;
        }
    }
    println!("{count} projects");
    Ok(())
}

async fn print_children(client: &Client, branch: &BranchName) -> Result<(), lakebase::Error> {
    let mut endpoints = pin!(client.list_endpoints(branch).items());
    while let Some(e) = endpoints.try_next().await? {
        let host = e
            .status
            .and_then(|s| s.hosts)
            .and_then(|h| h.host)
            .unwrap_or_else(|| "(no host yet)".into());
        println!("    ├── endpoint {}  {host}", e.endpoint_id.unwrap_or_default());
    }
    let mut roles = pin!(client.list_roles(branch).items());
    while let Some(r) = roles.try_next().await? {
        println!("    ├── role {}", r.role_id.unwrap_or_default());
    }
    let mut databases = pin!(client.list_databases(branch).items());
    while let Some(d) = databases.try_next().await? {
        println!("    ├── database {}", d.database_id.unwrap_or_default());
    }
    Ok(())
}

/// A client for `DATABRICKS_HOST` if set, else for a local emulator seeded with a few
/// projects (kept alive by the returned guard).
async fn connect() -> Result<(Client, Option<lakebase_emulator::Emulator>), Box<dyn std::error::Error>> {
    if std::env::var_os("DATABRICKS_HOST").is_some() {
        let client = Client::from_env()?;
        println!("workspace {}", client.host());
        return Ok((client, None));
    }
    let emulator = lakebase_emulator::Emulator::start().await?;
    emulator.seed_projects(3)?;
    println!(
        "no DATABRICKS_HOST: listing a local emulator at {}",
        emulator.base_url()
    );
    let config = Config::builder()
        .host(emulator.base_url())
        .token("example-token")
        // Only the emulator: ignore any credentials in the environment or ~/.databrickscfg.
        .env(std::sync::Arc::new(lakebase::config::MapEnv::new()))
        .build()?;
    Ok((Client::new(config)?, Some(emulator)))
}
