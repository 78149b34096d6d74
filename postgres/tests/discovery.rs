//! End to end: a pool from nothing but the environment the official driver reads.

mod support;

use std::sync::Arc;

use lakebase::config::MapEnv;
use lakebase_postgres::Pool;
use support::{TOKEN, USER, lab};

#[tokio::test]
async fn host_and_user_are_discovered_from_lakebase_endpoint_and_pgdatabase() {
    let Some(lab) = lab(|b| b).await else { return };
    let ca = lab.emu.ca_cert_path().unwrap();
    // PGPORT and PGSSLROOTCERT only because the emulator listens on a free port with its own CA.
    let env = MapEnv::new()
        .with_var("LAKEBASE_ENDPOINT", lab.endpoint.to_string())
        .with_var("PGDATABASE", "databricks_postgres")
        .with_var("PGPORT", lab.emu.pg_port().unwrap().to_string())
        .with_var("PGSSLROOTCERT", ca.to_str().unwrap())
        .with_var("DATABRICKS_HOST", lab.emu.base_url())
        .with_var("DATABRICKS_TOKEN", TOKEN);
    let pool = Pool::builder().env(Arc::new(env)).build().await.unwrap();
    assert_eq!(lab.emu.request_count("get_endpoint"), 1, "one lookup of the host");
    assert_eq!(Some(pool.host()), lab.endpoint_hosts().await.host.as_deref());
    assert_eq!(pool.user(), USER);
    assert_eq!(pool.database(), "databricks_postgres");
    let conn = pool.get().await.unwrap();
    let row = conn
        .query_one("select current_user::text, current_database()::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), USER);
    assert_eq!(row.get::<_, String>(1), "databricks_postgres");
}

#[tokio::test]
async fn a_service_principal_logs_in_as_its_client_id() {
    let Some(lab) = lab(|b| b.m2m_credentials("sp-client-id", "sp-secret")).await else {
        return;
    };
    // The service principal needs a role: the project owner grants it one through the API.
    let role = lakebase::types::Role {
        spec: Some(lakebase::types::RoleRoleSpec {
            postgres_role: Some("sp-client-id".into()),
            identity_type: Some(lakebase::types::RoleIdentityType::ServicePrincipal),
            ..Default::default()
        }),
        ..Default::default()
    };
    let branch = lab.project.branch("production").unwrap();
    lab.client
        .create_role(&branch, role)
        .role_id("sp-role")
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let env = MapEnv::new()
        .with_var("LAKEBASE_ENDPOINT", lab.endpoint.to_string())
        .with_var("PGDATABASE", "databricks_postgres")
        .with_var("PGPORT", lab.emu.pg_port().unwrap().to_string())
        .with_var("PGSSLROOTCERT", lab.emu.ca_cert_path().unwrap().to_str().unwrap())
        .with_var("DATABRICKS_HOST", lab.emu.base_url())
        .with_var("DATABRICKS_CLIENT_ID", "sp-client-id")
        .with_var("DATABRICKS_CLIENT_SECRET", "sp-secret");
    let pool = Pool::builder().env(Arc::new(env)).build().await.unwrap();
    assert_eq!(pool.user(), "sp-client-id");
    let conn = pool.get().await.unwrap();
    let who: String = conn.query_one("select current_user::text", &[]).await.unwrap().get(0);
    assert_eq!(who, "sp-client-id");
}

#[tokio::test]
async fn a_read_only_pool_connects_to_the_read_only_host() {
    let Some(lab) = lab(|b| b).await else { return };
    let read_only_host = lab.endpoint_hosts().await.read_only_host;
    let pool = lab.pool().read_only(true).build().await;
    match (read_only_host, pool) {
        (Some(host), Ok(pool)) => {
            assert_eq!(pool.host(), host);
            let conn = pool.get().await.unwrap();
            let one: i32 = conn.query_one("select 1", &[]).await.unwrap().get(0);
            assert_eq!(one, 1);
        }
        (None, Err(lakebase_postgres::Error::NoHost { kind, .. })) => assert_eq!(kind, "read-only"),
        (host, pool) => panic!("read_only_host {host:?} but pool {pool:?}"),
    }
}
