//! Gets an endpoint's host and a fresh database credential, and prints a `postgres://`
//! connection string (password hidden unless `--show-password` is given).
//!
//! ```sh
//! cargo run --example connect                      # local emulator
//! DATABRICKS_HOST=... DATABRICKS_TOKEN=... \
//!   cargo run --example connect -- projects/my-app/branches/production/endpoints/primary databricks_postgres me@example.com
//! ```

use lakebase::{Client, Config, EndpointName};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_password = args.iter().any(|a| a == "--show-password");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (client, _emulator, default_endpoint) = connect().await?;
    let endpoint: EndpointName = match positional.first() {
        Some(name) => name.parse()?,
        None => default_endpoint.ok_or("pass an endpoint name: projects/P/branches/B/endpoints/E")?,
    };
    let database = positional.get(1).map(|s| s.as_str()).unwrap_or("databricks_postgres");
    let user = positional.get(2).map(|s| s.as_str());

    let url = client.connection_string(&endpoint, database, user).await?;
    println!("endpoint {endpoint}");
    println!("host     {}", url.host());
    if show_password {
        println!("{}", url.expose());
    } else {
        println!("{url}");
    }
    Ok(())
}

/// A client for `DATABRICKS_HOST` if set, else for a local emulator with one seeded
/// project, whose `primary` endpoint is the default.
async fn connect()
-> Result<(Client, Option<lakebase_emulator::Emulator>, Option<EndpointName>), Box<dyn std::error::Error>> {
    if std::env::var_os("DATABRICKS_HOST").is_some() {
        return Ok((Client::from_env()?, None, None));
    }
    let emulator = lakebase_emulator::Emulator::start().await?;
    let projects = emulator.seed_projects(1)?;
    println!("no DATABRICKS_HOST: using a local emulator at {}", emulator.base_url());
    let config = Config::builder()
        .host(emulator.base_url())
        .token("example-token")
        // Only the emulator: ignore any credentials in the environment or ~/.databrickscfg.
        .env(std::sync::Arc::new(lakebase::config::MapEnv::new()))
        .build()?;
    let endpoint: EndpointName = format!("{}/branches/production/endpoints/primary", projects[0]).parse()?;
    Ok((Client::new(config)?, Some(emulator), Some(endpoint)))
}
