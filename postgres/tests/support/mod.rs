//! An emulator with real PostgreSQL behind its endpoints, a client for it, and a project; and
//! pool builders wired to it. Tests skip (printing why) only when no PostgreSQL server
//! binaries are installed.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;
use lakebase::{Client, Config, EndpointName, PollingPolicy, ProjectName, types};
use lakebase_emulator::{Emulator, EmulatorBuilder};
use lakebase_postgres::{Pool, PoolBuilder};

/// The personal access token the test clients send.
pub const TOKEN: &str = "test-token";
/// The workspace user behind [`TOKEN`].
pub const USER: &str = "alice@example.com";

/// A running emulator in `--postgres` mode with one project.
pub struct Lab {
    pub emu: Emulator,
    pub client: Client,
    pub project: ProjectName,
    /// `projects/app/branches/production/endpoints/primary`.
    pub endpoint: EndpointName,
}

/// Starts a lab; `None` (after printing why) when PostgreSQL binaries are missing.
pub async fn lab(configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> Option<Lab> {
    if let Err(error) = lakebase_emulator::pg::Binaries::find(None) {
        eprintln!("SKIPPED: no PostgreSQL server binaries: {error}");
        return None;
    }
    let builder = Emulator::builder()
        .postgres(true)
        .pg_port(0)
        .user(USER)
        .op_latency(Duration::from_millis(5));
    let emu = configure(builder).start().await.expect("emulator starts");
    let client = client_for(&emu, Config::builder().token(TOKEN));
    let project = ProjectName::new("app").unwrap();
    client
        .create_project("app", types::Project::default())
        .await
        .expect("create project")
        .wait()
        .await
        .expect("project ready");
    let endpoint = project.branch("production").unwrap().endpoint("primary").unwrap();
    Some(Lab {
        emu,
        client,
        project,
        endpoint,
    })
}

/// A client of `emu` built from `config` (auth set by the caller), ignoring the real
/// environment.
pub fn client_for(emu: &Emulator, config: lakebase::config::ConfigBuilder) -> Client {
    let config = config
        .host(emu.base_url())
        .env(Arc::new(MapEnv::new()))
        .polling_policy(PollingPolicy::immediate())
        .build()
        .expect("config");
    Client::new(config).expect("client")
}

impl Lab {
    /// A pool builder for the production endpoint: this lab's client, port and CA, and an
    /// empty environment.
    pub fn pool(&self) -> PoolBuilder {
        Pool::builder()
            .client(self.client.clone())
            .endpoint(self.endpoint.to_string())
            .database("databricks_postgres")
            .port(self.emu.pg_port().expect("pg port"))
            .ca_cert_pem(self.emu.ca_cert_pem().expect("CA"))
            .env(Arc::new(MapEnv::new()))
    }

    /// Credentials minted by the emulator so far.
    pub fn mints(&self) -> u64 {
        self.emu.request_count("generate_database_credential")
    }

    /// The endpoint as the API describes it now.
    pub async fn endpoint_hosts(&self) -> types::EndpointHosts {
        self.client
            .get_endpoint(&self.endpoint)
            .await
            .unwrap()
            .status
            .unwrap()
            .hosts
            .unwrap()
    }
}
