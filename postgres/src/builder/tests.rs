//! Settings from the builder and the environment, checked before any request.

use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;

use super::*;

fn with_env(vars: &[(&str, &str)]) -> PoolBuilder {
    let env = vars.iter().fold(MapEnv::new(), |env, (k, v)| env.with_var(*k, *v));
    PoolBuilder::default().env(Arc::new(env))
}

const ENDPOINT: &str = "projects/p/branches/b/endpoints/e";

#[test]
fn reads_the_official_driver_variables() {
    let target = with_env(&[
        ("LAKEBASE_ENDPOINT", ENDPOINT),
        ("PGDATABASE", "app"),
        ("PGPORT", "6543"),
        ("PGSSLMODE", "disable"),
    ])
    .target()
    .unwrap();
    assert_eq!(
        target,
        Target {
            endpoint: ENDPOINT.parse().unwrap(),
            database: "app".to_owned(),
            port: 6543,
            tls_mode: TlsMode::Disable,
            ca_cert_pem: None,
        }
    );
}

#[test]
fn defaults_without_environment() {
    let target = with_env(&[]).endpoint(ENDPOINT).target().unwrap();
    assert_eq!(target.database, "databricks_postgres");
    assert_eq!(target.port, 5432);
    assert_eq!(target.tls_mode, TlsMode::Require);
}

#[test]
fn explicit_values_win_over_the_environment() {
    let target = with_env(&[
        ("LAKEBASE_ENDPOINT", "projects/x/branches/y/endpoints/z"),
        ("PGDATABASE", "env_db"),
        ("PGPORT", "not a port"),
        ("PGSSLMODE", "bogus"),
    ])
    .endpoint(ENDPOINT)
    .database("mine")
    .port(5433)
    .tls_mode(TlsMode::Require)
    .ca_cert_pem("PEM")
    .target()
    .unwrap();
    assert_eq!(target.endpoint.to_string(), ENDPOINT);
    assert_eq!(target.database, "mine");
    assert_eq!(target.port, 5433);
    assert_eq!(target.ca_cert_pem.as_deref(), Some("PEM"));
}

#[test]
fn pgsslrootcert_is_read_from_its_file() {
    let dir = std::env::temp_dir().join(format!("lakebase-postgres-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let target = with_env(&[
        ("LAKEBASE_ENDPOINT", ENDPOINT),
        ("PGSSLROOTCERT", path.to_str().unwrap()),
    ])
    .target()
    .unwrap();
    assert_eq!(target.ca_cert_pem.as_deref(), Some("-----BEGIN CERTIFICATE-----\n"));
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = with_env(&[
        ("LAKEBASE_ENDPOINT", ENDPOINT),
        ("PGSSLROOTCERT", "/nonexistent/ca.pem"),
    ])
    .target();
    assert!(matches!(missing, Err(Error::Config(m)) if m.contains("PGSSLROOTCERT")));
}

fn config_error(builder: PoolBuilder) -> String {
    match builder.target() {
        Err(Error::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn bad_settings_are_config_errors_naming_the_setting() {
    assert!(config_error(with_env(&[])).contains("LAKEBASE_ENDPOINT"));
    assert!(config_error(with_env(&[("LAKEBASE_ENDPOINT", "projects/p")])).contains("\"projects/p\""));
    assert!(config_error(with_env(&[("LAKEBASE_ENDPOINT", ENDPOINT), ("PGPORT", "99999")])).contains("PGPORT"));
    assert!(config_error(with_env(&[("LAKEBASE_ENDPOINT", ENDPOINT), ("PGSSLMODE", "on")])).contains("PGSSLMODE"));
    let base = || with_env(&[("LAKEBASE_ENDPOINT", ENDPOINT)]);
    assert!(config_error(base().max_size(0)).contains("max_size"));
    assert!(config_error(base().connect_timeout(Duration::ZERO)).contains("connect_timeout"));
    assert!(config_error(base().credential_ttl(Duration::from_secs(60))).contains("300 s to 1 h"));
    assert!(config_error(base().credential_ttl(Duration::from_secs(7200))).contains("300 s to 1 h"));
    assert!(config_error(base().database("")).contains("database"));
}

#[tokio::test]
async fn build_fails_before_any_request_on_bad_settings() {
    // No client and no Databricks settings: the config error comes first, nothing is sent.
    let error = with_env(&[("LAKEBASE_ENDPOINT", ENDPOINT), ("PGPORT", "x")])
        .build()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Config(m) if m.contains("PGPORT")));
}
