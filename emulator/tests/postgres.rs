//! End-to-end tests of `--postgres` mode with a real PostgreSQL driver (tokio-postgres):
//! logins, branches as copies, roles and databases, compute lifecycle, TLS, cancel, and no
//! server outliving the emulator. Skipped (with a message) only where no PostgreSQL server
//! binaries exist; CI installs them.

mod common;

use std::time::Duration;

use common::T;
use lakebase_emulator::pg::process;
use lakebase_emulator::{Emulator, EmulatorBuilder};
use serde_json::{Value, json};
use tokio_postgres::{Client, NoTls};

const USER: &str = "alice@example.com";

/// An emulator in `--postgres` mode on a free port, or `None` when this machine has no
/// PostgreSQL server binaries.
async fn emulator(b: EmulatorBuilder) -> Option<T> {
    T::with_postgres(b, USER).await
}

fn builder() -> EmulatorBuilder {
    Emulator::builder()
}

async fn create(t: &T, path: &str, body: Value) -> Value {
    let (s, op) = t.post(path, body).await;
    assert_eq!(s, 200, "create {path}: {op}");
    t.finish(&op).await
}

async fn branch(t: &T, project: &str, id: &str, body: Value) -> Value {
    create(t, &format!("projects/{project}/branches?branch_id={id}"), body).await
}

async fn host(t: &T, endpoint: &str) -> String {
    let (s, v) = t.get(endpoint).await;
    assert_eq!(s, 200, "{v}");
    v["status"]["hosts"]["host"].as_str().expect("host").to_string()
}

async fn credential(t: &T, endpoint: &str) -> (String, Value) {
    let (s, v) = t.post("credentials", json!({"endpoint": endpoint})).await;
    assert_eq!(s, 200, "{v}");
    (v["token"].as_str().expect("token").to_string(), v)
}

fn primary(project: &str, branch: &str) -> String {
    format!("projects/{project}/branches/{branch}/endpoints/primary")
}

async fn connect(t: &T, host: &str, user: &str, password: &str, db: &str) -> Result<Client, tokio_postgres::Error> {
    let port = t.emu.pg_port().expect("postgres mode");
    let (client, conn) = tokio_postgres::Config::new()
        .host(host)
        .port(port)
        .user(user)
        .password(password)
        .dbname(db)
        .application_name("lakebase-e2e")
        .connect_timeout(Duration::from_secs(30))
        .connect(NoTls)
        .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Project `p`, and a session on its `databricks_postgres` as the creator.
async fn project_session(t: &T, p: &str) -> Client {
    create(t, &format!("projects?project_id={p}"), json!({})).await;
    let ep = primary(p, "production");
    let (token, _) = credential(t, &ep).await;
    connect(t, &host(t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .expect("login with a database credential")
}

/// The server's message of a database error (or the error itself).
fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

fn sqlstate(e: &tokio_postgres::Error) -> Option<String> {
    e.as_db_error().map(|d| d.code().code().to_string())
}

async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn a_project_is_a_database_owned_by_its_creator_with_databricks_superuser() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "owner").await;
    let row = c
        .query_one(
            "SELECT current_user::text, current_database()::text, \
             pg_has_role(current_user, 'databricks_superuser', 'MEMBER'), \
             (SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()), \
             (SELECT rolreplication FROM pg_roles WHERE rolname = current_user)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), USER);
    assert_eq!(row.get::<_, String>(1), "databricks_postgres");
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, String>(3), USER);
    assert!(row.get::<_, bool>(4));
    c.batch_execute("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1)")
        .await
        .unwrap();
    // The API lists the same role and database.
    let (_, roles) = t.get("projects/owner/branches/production/roles").await;
    assert_eq!(roles["roles"][0]["status"]["postgres_role"], json!(USER));
    let (_, dbs) = t.get("projects/owner/branches/production/databases").await;
    assert_eq!(
        dbs["databases"][0]["status"]["postgres_database"],
        json!("databricks_postgres")
    );
    let (_, me) = t.get_raw("/api/2.0/preview/scim/v2/Me").await;
    assert_eq!(me["userName"], json!(USER));
}

#[tokio::test]
async fn every_endpoint_has_its_own_loopback_host_and_startup_parameters_reach_the_server() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "hosts").await;
    branch(&t, "hosts", "dev", json!({"spec": {"no_expiry": true}})).await;
    let a = host(&t, &primary("hosts", "production")).await;
    let b = host(&t, &primary("hosts", "dev")).await;
    assert_ne!(a, b);
    for h in [&a, &b] {
        let ip: std::net::Ipv4Addr = h.parse().expect("an IPv4 literal");
        assert!(ip.is_loopback() && ip != std::net::Ipv4Addr::LOCALHOST, "{ip}");
    }
    let app: String = c
        .query_one(
            "SELECT application_name::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(app, "lakebase-e2e");
}

#[tokio::test]
async fn a_branch_is_a_copy_and_writes_stay_on_their_side() {
    let Some(t) = emulator(builder()).await else { return };
    let parent = project_session(&t, "copies").await;
    parent
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)")
        .await
        .unwrap();
    let b = branch(&t, "copies", "dev", json!({"spec": {"ttl": "3600s"}})).await;
    assert_eq!(
        b["status"]["source_branch"],
        json!("projects/copies/branches/production")
    );
    let ep = primary("copies", "dev");
    let (token, _) = credential(&t, &ep).await;
    let child = connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
    assert_eq!(count(&child, "SELECT count(*) FROM t").await, 100);
    child.batch_execute("INSERT INTO t VALUES (1000)").await.unwrap();
    parent.batch_execute("DELETE FROM t WHERE id <= 50").await.unwrap();
    assert_eq!(count(&child, "SELECT count(*) FROM t").await, 101);
    assert_eq!(count(&parent, "SELECT count(*) FROM t").await, 50);
}

#[tokio::test]
async fn a_branch_made_while_the_parent_is_written_holds_a_consistent_prefix() {
    let Some(t) = emulator(builder()).await else { return };
    let parent = project_session(&t, "busy").await;
    parent
        .batch_execute("CREATE TABLE seq (n int PRIMARY KEY)")
        .await
        .unwrap();
    let writer = {
        let (token, _) = credential(&t, &primary("busy", "production")).await;
        let c = connect(
            &t,
            &host(&t, &primary("busy", "production")).await,
            USER,
            &token,
            "databricks_postgres",
        )
        .await
        .unwrap();
        tokio::spawn(async move {
            let mut n = 0i32;
            while n < 100_000 {
                n += 1;
                if c.execute("INSERT INTO seq VALUES ($1)", &[&n]).await.is_err() {
                    break;
                }
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    branch(&t, "busy", "snap", json!({"spec": {"no_expiry": true}})).await;
    let written = count(&parent, "SELECT count(*) FROM seq").await;
    writer.abort();
    let ep = primary("busy", "snap");
    let (token, _) = credential(&t, &ep).await;
    let child = connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
    let row = child
        .query_one("SELECT count(*), coalesce(max(n), 0)::bigint FROM seq", &[])
        .await
        .unwrap();
    let (rows, max): (i64, i64) = (row.get(0), row.get(1));
    assert!(rows > 0, "the branch saw none of the rows committed before it");
    assert_eq!(rows, max, "rows 1..={max} without gaps: a consistent prefix");
    assert!(rows <= written + 1, "{rows} > {written}");
}

#[tokio::test]
async fn logins_fail_with_28p01_for_a_wrong_password_a_foreign_identity_and_a_no_login_role() {
    let Some(t) = emulator(builder()).await else { return };
    project_session(&t, "auth").await;
    let ep = primary("auth", "production");
    let h = host(&t, &ep).await;
    let (token, _) = credential(&t, &ep).await;
    let e = connect(&t, &h, USER, "not-a-token", "databricks_postgres")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"));
    assert_eq!(
        message(&e),
        format!("password authentication failed for user \"{USER}\"")
    );
    let e = connect(&t, &h, "bob@example.com", &token, "databricks_postgres")
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&e).as_deref(),
        Some("28P01"),
        "a token logs in only its own identity"
    );
    create(
        &t,
        "projects/auth/branches/production/roles?role_id=readers",
        json!({"spec": {"postgres_role": "readers", "identity_type": "GROUP"}}),
    )
    .await;
    let e = connect(&t, &h, "readers", &token, "databricks_postgres")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"));
}

#[tokio::test]
async fn credentials_expire_at_login_but_open_sessions_keep_working() {
    let Some(t) = emulator(builder().credential_ttl(Duration::from_secs(2))).await else {
        return;
    };
    create(&t, "projects?project_id=ttl", json!({})).await;
    let ep = primary("ttl", "production");
    let h = host(&t, &ep).await;
    let (token, v) = credential(&t, &ep).await;
    let expire = chrono::DateTime::parse_from_rfc3339(v["expire_time"].as_str().unwrap()).unwrap();
    let ahead = expire.signed_duration_since(chrono::Utc::now()).num_milliseconds();
    assert!(
        (0..=2_500).contains(&ahead),
        "expire_time capped by credential_ttl: {ahead} ms"
    );
    let open = connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let e = connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"), "{e}");
    assert_eq!(
        count(&open, "SELECT 1::bigint").await,
        1,
        "a session opened before expiry lives on"
    );
    let (fresh, _) = credential(&t, &ep).await;
    connect(&t, &h, USER, &fresh, "databricks_postgres").await.unwrap();
}

#[tokio::test]
async fn roles_and_databases_of_the_api_are_real() {
    let Some(t) = emulator(builder()).await else { return };
    let admin = project_session(&t, "rd").await;
    let br = "projects/rd/branches/production";
    create(
        &t,
        &format!("{br}/roles?role_id=app-role"),
        json!({"spec": {"postgres_role": "app", "auth_method": "PG_PASSWORD_SCRAM_SHA_256",
                        "attributes": {"createdb": true}, "membership_roles": ["DATABRICKS_SUPERUSER"]}}),
    )
    .await;
    let row = admin
        .query_one(
            "SELECT rolcanlogin, rolcreatedb, rolcreaterole, pg_has_role('app', 'databricks_superuser', 'MEMBER') \
             FROM pg_roles WHERE rolname = 'app'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, bool>(0),
            row.get::<_, bool>(1),
            row.get::<_, bool>(2),
            row.get::<_, bool>(3)
        ),
        (true, true, false, true)
    );
    let (_, pw) = t.post(&format!("{br}/roles/app-role/password"), json!({})).await;
    let password = pw["password"].as_str().unwrap();
    let h = host(&t, &primary("rd", "production")).await;
    let as_app = connect(&t, &h, "app", password, "databricks_postgres").await.unwrap();
    assert_eq!(
        as_app
            .query_one("SELECT current_user::text", &[])
            .await
            .unwrap()
            .get::<_, String>(0),
        "app"
    );
    create(
        &t,
        &format!("{br}/databases?database_id=orders"),
        json!({"spec": {"postgres_database": "orders", "role": format!("{br}/roles/app-role")}}),
    )
    .await;
    let owner = "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1";
    let o: String = admin.query_one(owner, &[&"orders"]).await.unwrap().get(0);
    assert_eq!(o, "app");
    let db = connect(&t, &h, "app", password, "orders").await.unwrap();
    db.batch_execute("CREATE TABLE o (id int)").await.unwrap();
    drop(db);
    // Rename and re-own through update_database.
    let (s, op) = t
        .patch(
            &format!("{br}/databases/orders?update_mask=spec.postgres_database,spec.role"),
            json!({"spec": {"postgres_database": "orders_v2", "role": format!("{br}/roles/{}", role_id_of(&t, br, USER).await)}}),
        )
        .await;
    assert_eq!(s, 200, "{op}");
    t.finish(&op).await;
    let o: String = admin.query_one(owner, &[&"orders_v2"]).await.unwrap().get(0);
    assert_eq!(o, USER);
    // Delete the role, handing what it owns to the owner, then the database.
    let (s, op) = t
        .delete(&format!(
            "{br}/roles/app-role?reassign_owned_to={}",
            role_id_of(&t, br, USER).await
        ))
        .await;
    assert_eq!(s, 200, "{op}");
    t.finish(&op).await;
    assert_eq!(
        count(&admin, "SELECT count(*) FROM pg_roles WHERE rolname = 'app'").await,
        0
    );
    let (s, op) = t.delete(&format!("{br}/databases/orders")).await;
    assert_eq!(s, 200, "{op}");
    t.finish(&op).await;
    assert_eq!(
        count(&admin, "SELECT count(*) FROM pg_database WHERE datname LIKE 'orders%'").await,
        0
    );
}

async fn role_id_of(t: &T, branch: &str, pg_role: &str) -> String {
    let (_, v) = t.get(&format!("{branch}/roles")).await;
    v["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"]["postgres_role"] == json!(pg_role))
        .and_then(|r| r["role_id"].as_str())
        .expect("role")
        .to_string()
}

#[tokio::test]
async fn a_suspended_compute_wakes_on_the_next_connection() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "wake").await;
    c.batch_execute("CREATE TABLE w (x int); INSERT INTO w VALUES (7)")
        .await
        .unwrap();
    drop(c);
    let ep = primary("wake", "production");
    t.emu.suspend_endpoint(&ep).await.unwrap();
    let (_, v) = t.get(&ep).await;
    assert_eq!(v["status"]["current_state"], json!("IDLE"));
    assert!(t.emu.postgres_pids().is_empty(), "no server runs while suspended");
    let (token, _) = credential(&t, &ep).await;
    let c = connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
    assert_eq!(count(&c, "SELECT x::bigint FROM w").await, 7);
    let (_, v) = t.get(&ep).await;
    assert_eq!(v["status"]["current_state"], json!("ACTIVE"));
}

#[tokio::test]
async fn disabled_and_deleted_endpoints_refuse_and_undelete_brings_the_rows_back() {
    let Some(t) = emulator(builder()).await else { return };
    project_session(&t, "life").await;
    branch(&t, "life", "dev", json!({"spec": {"no_expiry": true}})).await;
    let ep = primary("life", "dev");
    let h = host(&t, &ep).await;
    let (token, _) = credential(&t, &ep).await;
    let c = connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap();
    c.batch_execute("CREATE TABLE keep (x int); INSERT INTO keep VALUES (1)")
        .await
        .unwrap();
    // Disabled: a clear refusal.
    let (s, op) = t
        .patch(
            &format!("{ep}?update_mask=spec.disabled"),
            json!({"spec": {"disabled": true}}),
        )
        .await;
    assert_eq!(s, 200, "{op}");
    t.finish(&op).await;
    let e = connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap_err();
    assert!(message(&e).contains("is disabled"), "{e:?}");
    let (_, op) = t
        .patch(
            &format!("{ep}?update_mask=spec.disabled"),
            json!({"spec": {"disabled": false}}),
        )
        .await;
    t.finish(&op).await;
    connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap();
    // Soft delete: the host stops accepting connections; undelete: the rows are back.
    let (s, op) = t.delete("projects/life/branches/dev").await;
    assert_eq!(s, 200, "{op}");
    t.finish(&op).await;
    assert!(connect(&t, &h, USER, &token, "databricks_postgres").await.is_err());
    let (_, op) = t.post("projects/life/branches/dev/undelete", json!({})).await;
    t.finish(&op).await;
    let h2 = host(&t, &ep).await;
    let c = connect(&t, &h2, USER, &token, "databricks_postgres").await.unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM keep").await, 1);
    // Purge: gone for good.
    let (_, op) = t.delete("projects/life/branches/dev?purge=true").await;
    t.finish(&op).await;
    assert!(connect(&t, &h2, USER, &token, "databricks_postgres").await.is_err());
}

#[tokio::test]
async fn snapshots_are_copies_and_points_outside_the_history_are_refused_clearly() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "snaps").await;
    c.batch_execute("CREATE TABLE s (x int); INSERT INTO s VALUES (1), (2)")
        .await
        .unwrap();
    create(
        &t,
        "projects/snaps/snapshots?snapshot_id=before",
        json!({"spec": {"source_branch": "projects/snaps/branches/production", "no_expiry": true}}),
    )
    .await;
    c.batch_execute("INSERT INTO s VALUES (3)").await.unwrap();
    branch(
        &t,
        "snaps",
        "restored",
        json!({"spec": {"source_snapshot": "projects/snaps/snapshots/before", "no_expiry": true}}),
    )
    .await;
    let ep = primary("snaps", "restored");
    let (token, _) = credential(&t, &ep).await;
    let r = connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
    assert_eq!(count(&r, "SELECT count(*) FROM s").await, 2);
    let (s, v) = t
        .post(
            "projects/snaps/branches?branch_id=past",
            json!({"spec": {"no_expiry": true, "source_branch_time": "2020-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("outside the restore window"),
        "{v}"
    );
}

#[tokio::test]
async fn read_only_endpoints_serve_sessions_that_cannot_write() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "ro").await;
    c.batch_execute("CREATE TABLE r (x int); INSERT INTO r VALUES (1)")
        .await
        .unwrap();
    create(
        &t,
        "projects/ro/branches/production/endpoints?endpoint_id=reader",
        json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}}),
    )
    .await;
    let ep = "projects/ro/branches/production/endpoints/reader";
    let (_, v) = t.get(ep).await;
    assert_eq!(v["status"]["hosts"]["host"], v["status"]["hosts"]["read_only_host"]);
    let (token, _) = credential(&t, ep).await;
    let r = connect(&t, &host(&t, ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
    assert_eq!(count(&r, "SELECT count(*) FROM r").await, 1);
    let e = r.batch_execute("INSERT INTO r VALUES (2)").await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("25006"), "read_only_sql_transaction: {e}");
}

#[tokio::test]
async fn cancel_requests_reach_the_right_backend() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "cancel").await;
    let token = c.cancel_token();
    let slow = tokio::spawn(async move { c.batch_execute("SELECT pg_sleep(30)").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    token.cancel_query(NoTls).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .expect("the query ended well before 30 s")
        .unwrap()
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("57014"), "query_canceled: {e}");
}

#[tokio::test]
async fn tls_verifies_against_the_emulator_ca_and_require_tls_refuses_plaintext() {
    let Some(t) = emulator(builder().require_tls(true)).await else {
        return;
    };
    create(&t, "projects?project_id=tls", json!({})).await;
    let ep = primary("tls", "production");
    let h = host(&t, &ep).await;
    let (token, _) = credential(&t, &ep).await;
    let e = connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap_err();
    assert!(message(&e).contains("requires SSL"), "{e:?}");
    let pem = t.emu.ca_cert_pem().unwrap();
    let (_, served) = t.get_text("/_emulator/ca.pem").await;
    assert_eq!(served, pem);
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
        .unwrap();
    #[allow(deprecated)] // ring lacks post-quantum key exchange: irrelevant on loopback
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let (client, conn) = tokio_postgres::Config::new()
        .host(&h)
        .port(t.emu.pg_port().unwrap())
        .user(USER)
        .password(&token)
        .dbname("databricks_postgres")
        .ssl_mode(tokio_postgres::config::SslMode::Require)
        .connect(tls)
        .await
        .expect("verify-full against the emulator CA");
    tokio::spawn(conn);
    assert_eq!(count(&client, "SELECT 1::bigint").await, 1);
}

#[tokio::test]
async fn half_finished_handshakes_cost_nothing() {
    let Some(t) = emulator(builder()).await else { return };
    let c = project_session(&t, "abuse").await;
    let ep = primary("abuse", "production");
    let addr = format!("{}:{}", host(&t, &ep).await, t.emu.pg_port().unwrap());
    let backends = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'";
    let before = count(&c, backends).await;
    for i in 0..200 {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 0 {
            // A startup packet cut short, then gone.
            s.write_all(&[0, 0, 0, 40, 0, 3, 0, 0]).await.unwrap();
        }
        drop(s);
    }
    assert_eq!(count(&c, backends).await, before, "no backend was started for them");
    let (token, _) = credential(&t, &ep).await;
    connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
}

#[tokio::test]
async fn no_server_outlives_a_dropped_emulator() {
    let Some(t) = emulator(builder()).await else { return };
    project_session(&t, "orphans").await;
    branch(&t, "orphans", "dev", json!({"spec": {"no_expiry": true}})).await;
    let pids = t.emu.postgres_pids();
    assert!(pids.len() >= 2, "{pids:?}");
    drop(t);
    for pid in pids {
        assert!(!process::alive(pid), "postgres {pid} outlived the emulator");
    }
}

#[tokio::test]
async fn a_restart_on_the_data_dir_keeps_committed_rows_and_the_api_state() {
    let Some(_) = emulator(builder()).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let host_before;
    {
        let t = emulator(builder().data_dir(dir.path())).await.unwrap();
        let c = project_session(&t, "durable").await;
        c.batch_execute("CREATE TABLE d (x int); INSERT INTO d VALUES (42)")
            .await
            .unwrap();
        host_before = host(&t, &primary("durable", "production")).await;
    }
    let t = emulator(builder().data_dir(dir.path())).await.unwrap();
    let ep = primary("durable", "production");
    let (_, v) = t.get(&ep).await;
    assert_eq!(v["status"]["current_state"], json!("IDLE"), "{v}");
    let h = host(&t, &ep).await;
    assert_eq!(h, host_before, "the endpoint keeps its address when it is free");
    let (token, _) = credential(&t, &ep).await;
    let c = connect(&t, &h, USER, &token, "databricks_postgres").await.unwrap();
    assert_eq!(count(&c, "SELECT x::bigint FROM d").await, 42);
}

/// Kills the emulator process when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the emulator binary with `args`; its base URL.
fn spawn_emulator(args: &[&str]) -> (KillOnDrop, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lakebase-emulator"))
        .args(["--postgres", "--port", "0", "--op-latency", "5", "--user", USER])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let emu = KillOnDrop(child);
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("LAKEBASE_EMULATOR_URL=").map(str::to_string))
        .expect("the emulator prints its URL");
    std::thread::spawn(move || lines.for_each(drop));
    (emu, base)
}

/// A minimal API client for an emulator process.
struct Remote {
    http: reqwest::Client,
    base: String,
}

impl Remote {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}/api/2.0/postgres/{path}", self.base))
            .bearer_auth("t");
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap().json().await.unwrap()
    }

    async fn create_project(&self, id: &str) {
        let op = self
            .call(
                reqwest::Method::POST,
                &format!("projects?project_id={id}"),
                Some(json!({})),
            )
            .await;
        for _ in 0..6000 {
            let v = self
                .call(reqwest::Method::GET, op["name"].as_str().unwrap(), None)
                .await;
            if v["done"] == json!(true) {
                assert!(v.get("error").is_none(), "{v}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("project {id} was never created");
    }

    async fn session(&self, project: &str, pg_port: u16) -> Client {
        let ep = primary(project, "production");
        let v = self.call(reqwest::Method::GET, &ep, None).await;
        let host = v["status"]["hosts"]["host"].as_str().unwrap().to_string();
        let cred = self
            .call(reqwest::Method::POST, "credentials", Some(json!({"endpoint": ep})))
            .await;
        let (client, conn) = tokio_postgres::Config::new()
            .host(&host)
            .port(pg_port)
            .user(USER)
            .password(cred["token"].as_str().unwrap())
            .dbname("databricks_postgres")
            .connect(NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }

    async fn postgres_pids(&self) -> Vec<u32> {
        let stats: Value = self
            .http
            .get(format!("{}/_emulator/stats", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["postgres_pids"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_u64)
            .map(|p| p as u32)
            .collect()
    }
}

#[tokio::test]
async fn a_killed_emulator_leaves_no_server_and_loses_no_committed_row() {
    if lakebase_emulator::pg::binaries::Binaries::find(None).is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let pg_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = pg_port.to_string();
    let (mut emu, base) = spawn_emulator(&["--pg-port", &port, "--data-dir", &data]);
    let api = Remote {
        http: reqwest::Client::new(),
        base,
    };
    api.create_project("killed").await;
    let c = api.session("killed", pg_port).await;
    c.batch_execute("CREATE TABLE committed (x int); INSERT INTO committed VALUES (1), (2), (3)")
        .await
        .unwrap();
    let pids = api.postgres_pids().await;
    assert!(!pids.is_empty(), "a server runs for the project");
    emu.0.kill().unwrap();
    let _ = emu.0.wait();
    let mut gone = false;
    for _ in 0..1000 {
        if pids.iter().all(|p| !process::alive(*p)) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "postgres {pids:?} outlived the killed emulator");
    let killed = emu.0.id();
    let leftovers = || {
        std::fs::read_dir("/tmp")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("lbe-{killed}-")))
            .count()
    };
    // The killed emulator could not remove its socket directory; the next emulator to start
    // sweeps it (this one, or one that a test running beside this one starts first).
    let (_emu, base) = spawn_emulator(&["--pg-port", &port, "--data-dir", &data]);
    assert_eq!(leftovers(), 0, "the next emulator sweeps what a killed one left");
    let api = Remote {
        http: reqwest::Client::new(),
        base,
    };
    let c = api.session("killed", pg_port).await;
    assert_eq!(count(&c, "SELECT count(*) FROM committed").await, 3);
}

#[tokio::test]
async fn a_service_principal_logs_in_as_its_client_id() {
    let Some(t) = emulator(builder().m2m_credentials("sp-app-7", "sp-secret")).await else {
        return;
    };
    let form: Value = t
        .http
        .post(format!("{}/oidc/v1/token", t.base))
        .basic_auth("sp-app-7", Some("sp-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = form["access_token"].as_str().unwrap().to_string();
    let api = |method: reqwest::Method, path: &str| {
        t.http
            .request(method, format!("{}/api/2.0/postgres/{path}", t.base))
            .bearer_auth(&bearer)
    };
    let op: Value = api(reqwest::Method::POST, "projects?project_id=sp")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t.finish(&op).await;
    let me: Value = t
        .http
        .get(format!("{}/api/2.0/preview/scim/v2/Me", t.base))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["userName"], json!("sp-app-7"));
    let ep = primary("sp", "production");
    let cred: Value = api(reqwest::Method::POST, "credentials")
        .json(&json!({"endpoint": ep}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = cred["token"].as_str().unwrap();
    let c = connect(&t, &host(&t, &ep).await, "sp-app-7", token, "databricks_postgres")
        .await
        .unwrap();
    let user: String = c.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
    assert_eq!(user, "sp-app-7");
    let e = connect(&t, &host(&t, &ep).await, USER, token, "databricks_postgres")
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&e).as_deref(),
        Some("28P01"),
        "the principal's token is not the PAT user's"
    );
}

#[tokio::test]
async fn gssapi_encryption_is_declined_and_startup_options_reach_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(t) = emulator(builder()).await else { return };
    create(&t, "projects?project_id=proto", json!({})).await;
    let ep = primary("proto", "production");
    let h = host(&t, &ep).await;
    let port = t.emu.pg_port().unwrap();
    let mut s = tokio::net::TcpStream::connect((h.as_str(), port)).await.unwrap();
    s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]).await.unwrap();
    let mut answer = [0u8; 1];
    s.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"N", "GSSENCRequest declined");
    s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await.unwrap();
    s.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"S", "then SSLRequest accepted");
    drop(s);
    let (token, _) = credential(&t, &ep).await;
    let (c, conn) = tokio_postgres::Config::new()
        .host(&h)
        .port(port)
        .user(USER)
        .password(&token)
        .dbname("databricks_postgres")
        .options("-c search_path=audit,public -c statement_timeout=1234")
        .connect(NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = c
        .query_one(
            "SELECT current_setting('search_path'), current_setting('statement_timeout')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "audit,public");
    assert_eq!(row.get::<_, String>(1), "1234ms");
}

#[tokio::test]
async fn an_idle_compute_suspends_by_itself_and_wakes_on_connect() {
    let Some(t) = emulator(builder().suspend_after(Duration::from_millis(500))).await else {
        return;
    };
    let c = project_session(&t, "idle").await;
    c.batch_execute("CREATE TABLE i (x int); INSERT INTO i VALUES (5)")
        .await
        .unwrap();
    let ep = primary("idle", "production");
    let (_, v) = t.get(&ep).await;
    assert_eq!(
        v["status"]["current_state"],
        json!("ACTIVE"),
        "an open session keeps it active"
    );
    drop(c);
    let mut state = json!(null);
    for _ in 0..500 {
        state = t.get(&ep).await.1["status"]["current_state"].clone();
        if state == json!("IDLE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, json!("IDLE"));
    assert!(t.emu.postgres_pids().is_empty());
    let (token, _) = credential(&t, &ep).await;
    let c = connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .unwrap();
    assert_eq!(count(&c, "SELECT x::bigint FROM i").await, 5);
}

/// Regression: a login that arrived while the project's database was still being created
/// failed ("compute did not start") instead of waiting for it, and the endpoint already
/// reported ACTIVE.
#[tokio::test]
async fn a_login_during_project_creation_waits_for_the_database() {
    let Some(t) = emulator(builder()).await else { return };
    let (s, op) = t.post("projects?project_id=early", json!({})).await;
    assert_eq!(s, 200, "{op}");
    let ep = primary("early", "production");
    let (_, v) = t.get(&ep).await;
    assert_ne!(
        v["status"]["current_state"],
        json!("ACTIVE"),
        "not active before its server runs: {v}"
    );
    let (token, _) = credential(&t, &ep).await;
    let c = connect(&t, &host(&t, &ep).await, USER, &token, "databricks_postgres")
        .await
        .expect("the login waits for the new database");
    assert_eq!(count(&c, "SELECT 1::bigint").await, 1);
    t.finish(&op).await;
    let (_, v) = t.get(&ep).await;
    assert_eq!(v["status"]["current_state"], json!("ACTIVE"));
}
