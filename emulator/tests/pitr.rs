//! Point-in-time branches of `--postgres` mode, end to end with tokio-postgres: rows written
//! in batches with the time and LSN noted between them, branches at each point (by time and
//! by LSN), a branch of a branch, a dropped table brought back, refusals, history across a
//! restart on `--data-dir`, and pruning past the retention window. Skipped (with a message)
//! only where no PostgreSQL server binaries exist; CI installs them.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{T, assert_error};
use lakebase_emulator::{Emulator, EmulatorBuilder};
use serde_json::{Value, json};
use tokio_postgres::{Client, NoTls};

const USER: &str = "alice@example.com";

async fn emulator(b: EmulatorBuilder) -> Option<T> {
    T::with_postgres(b, USER).await
}

fn primary(project: &str, branch: &str) -> String {
    format!("projects/{project}/branches/{branch}/endpoints/primary")
}

/// A session on `databricks_postgres` of a branch's primary endpoint.
async fn session(t: &T, project: &str, branch: &str) -> Client {
    let ep = primary(project, branch);
    let (s, v) = t.get(&ep).await;
    assert_eq!(s, 200, "{v}");
    let host = v["status"]["hosts"]["host"].as_str().expect("host").to_string();
    let (s, cred) = t.post("credentials", json!({"endpoint": ep})).await;
    assert_eq!(s, 200, "{cred}");
    let (client, conn) = tokio_postgres::Config::new()
        .host(&host)
        .port(t.emu.pg_port().expect("postgres mode"))
        .user(USER)
        .password(cred["token"].as_str().expect("token"))
        .dbname("databricks_postgres")
        .connect_timeout(Duration::from_secs(60))
        .connect(NoTls)
        .await
        .expect("login");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

async fn create(t: &T, path: &str, body: Value) -> Value {
    let (s, op) = t.post(path, body).await;
    assert_eq!(s, 200, "create {path}: {op}");
    t.finish(&op).await
}

/// Creates branch `id` of `project` from `source` with extra spec fields; the branch.
async fn branch_at(t: &T, project: &str, id: &str, source: &str, at: Value) -> Value {
    let mut spec = json!({"no_expiry": true, "source_branch": format!("projects/{project}/branches/{source}")});
    for (k, v) in at.as_object().expect("fields") {
        spec[k] = v.clone();
    }
    create(
        t,
        &format!("projects/{project}/branches?branch_id={id}"),
        json!({"spec": spec}),
    )
    .await
}

async fn ids(c: &Client, table: &str) -> Vec<i32> {
    c.query(&format!("SELECT id FROM {table} ORDER BY id"), &[])
        .await
        .expect("select")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Inserts `ids` in one transaction, then notes the time and the WAL position.
async fn batch(c: &Client, ids: std::ops::RangeInclusive<i32>) -> (DateTime<Utc>, String) {
    let values: Vec<String> = ids.map(|i| format!("({i})")).collect();
    c.batch_execute(&format!("INSERT INTO t (id) VALUES {}", values.join(",")))
        .await
        .expect("insert");
    point(c).await
}

/// The time now and the session's `pg_current_wal_lsn()`.
async fn point(c: &Client) -> (DateTime<Utc>, String) {
    let lsn: String = c
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .expect("lsn")
        .get(0);
    (Utc::now(), lsn)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn lsn_value(l: &str) -> u64 {
    let (hi, lo) = l.split_once('/').expect("lsn");
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

#[tokio::test]
async fn branches_at_a_time_or_an_lsn_hold_exactly_the_batches_committed_before_it() {
    let Some(t) = emulator(Emulator::builder()).await else {
        return;
    };
    create(&t, "projects?project_id=pitr", json!({})).await;
    let c = session(&t, "pitr", "production").await;
    c.batch_execute("CREATE TABLE t (id int primary key)").await.unwrap();
    let (t1, l1) = batch(&c, 1..=3).await;
    let (t2, l2) = batch(&c, 4..=6).await;
    let (_, l3) = batch(&c, 7..=9).await;

    let cases = [
        ("at-t1", json!({"source_branch_time": ts(t1)}), vec![1, 2, 3]),
        ("at-l1", json!({"source_branch_lsn": l1}), vec![1, 2, 3]),
        ("at-t2", json!({"source_branch_time": ts(t2)}), (1..=6).collect()),
        ("at-l2", json!({"source_branch_lsn": l2}), (1..=6).collect()),
        ("at-l3", json!({"source_branch_lsn": l3}), (1..=9).collect()),
    ];
    for (id, at, want) in cases {
        let b = branch_at(&t, "pitr", id, "production", at.clone()).await;
        let got = ids(&session(&t, "pitr", id).await, "t").await;
        assert_eq!(got, want, "branch {id} at {at}");
        let point = b["status"]["source_branch_lsn"].as_str().expect("source_branch_lsn");
        if let Some(l) = at["source_branch_lsn"].as_str() {
            assert_eq!(point, l, "{b}");
        }
        if let Some(time) = at["source_branch_time"].as_str() {
            let reported: DateTime<Utc> = b["status"]["source_branch_time"].as_str().unwrap().parse().unwrap();
            let asked: DateTime<Utc> = time.parse().unwrap();
            assert!((reported - asked).num_milliseconds().abs() <= 1, "{b}");
        }
        // The child continues its parent's LSNs: never below its branch point.
        let (_, own) = point_of(&t, id).await;
        assert!(lsn_value(&own) >= lsn_value(point), "{id}: {own} < {point}");
    }
    // The parent is untouched.
    assert_eq!(ids(&c, "t").await, (1..=9).collect::<Vec<_>>());
}

async fn point_of(t: &T, branch: &str) -> (DateTime<Utc>, String) {
    point(&session(t, "pitr", branch).await).await
}

#[tokio::test]
async fn a_branch_of_a_branch_at_a_point_before_the_childs_own_writes() {
    let Some(t) = emulator(Emulator::builder()).await else {
        return;
    };
    create(&t, "projects?project_id=lineage", json!({})).await;
    let c = session(&t, "lineage", "production").await;
    c.batch_execute("CREATE TABLE t (id int primary key)").await.unwrap();
    batch(&c, 1..=3).await;
    create(
        &t,
        "projects/lineage/branches?branch_id=child",
        json!({"spec": {"no_expiry": true}}),
    )
    .await;
    let child = session(&t, "lineage", "child").await;
    let (before, before_lsn) = point(&child).await;
    let (_, after_lsn) = batch(&child, 10..=12).await;
    batch(&c, 4..=6).await;

    branch_at(
        &t,
        "lineage",
        "grandchild",
        "child",
        json!({"source_branch_time": ts(before)}),
    )
    .await;
    assert_eq!(
        ids(&session(&t, "lineage", "grandchild").await, "t").await,
        vec![1, 2, 3]
    );
    branch_at(
        &t,
        "lineage",
        "by-lsn",
        "child",
        json!({"source_branch_lsn": before_lsn}),
    )
    .await;
    assert_eq!(ids(&session(&t, "lineage", "by-lsn").await, "t").await, vec![1, 2, 3]);
    branch_at(&t, "lineage", "after", "child", json!({"source_branch_lsn": after_lsn})).await;
    assert_eq!(
        ids(&session(&t, "lineage", "after").await, "t").await,
        vec![1, 2, 3, 10, 11, 12]
    );
}

#[tokio::test]
async fn a_dropped_table_comes_back_from_a_point_before_the_drop() {
    let Some(t) = emulator(Emulator::builder()).await else {
        return;
    };
    create(&t, "projects?project_id=oops", json!({})).await;
    let c = session(&t, "oops", "production").await;
    c.batch_execute("CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1), (2)")
        .await
        .unwrap();
    let (before_drop, _) = point(&c).await;
    c.batch_execute("DROP TABLE t").await.unwrap();
    // The parent is suspended meanwhile: its history is archived when it stops.
    t.emu
        .suspend_endpoint(&primary("oops", "production"))
        .await
        .expect("suspend");
    branch_at(
        &t,
        "oops",
        "recovered",
        "production",
        json!({"source_branch_time": ts(before_drop)}),
    )
    .await;
    assert_eq!(ids(&session(&t, "oops", "recovered").await, "t").await, vec![1, 2]);
}

#[tokio::test]
async fn points_in_the_future_outside_the_window_before_the_branch_or_malformed_are_refused() {
    let Some(t) = emulator(Emulator::builder()).await else {
        return;
    };
    create(&t, "projects?project_id=refuse", json!({})).await;
    let c = session(&t, "refuse", "production").await;
    c.batch_execute("CREATE TABLE t (id int primary key)").await.unwrap();
    let path = "projects/refuse/branches?branch_id=nope";
    let refused = |at: Value| {
        let mut spec = json!({"no_expiry": true});
        for (k, v) in at.as_object().unwrap() {
            spec[k] = v.clone();
        }
        t.post(path, json!({"spec": spec}))
    };
    let now = Utc::now();
    let future = refused(json!({"source_branch_time": ts(now + chrono::Duration::minutes(5))})).await;
    assert!(
        assert_error(&future, 400, "INVALID_PARAMETER_VALUE").contains("in the future"),
        "{future:?}"
    );
    let old = refused(json!({"source_branch_time": ts(now - chrono::Duration::days(8))})).await;
    let m = assert_error(&old, 400, "INVALID_PARAMETER_VALUE");
    assert!(m.contains("outside the restore window") && m.contains("604800s"), "{m}");
    let early = refused(json!({"source_branch_time": ts(now - chrono::Duration::hours(1))})).await;
    assert!(
        assert_error(&early, 400, "INVALID_PARAMETER_VALUE").contains("before"),
        "{early:?}"
    );
    for bad in ["0/XYZ", "12345", "1/2/3", ""] {
        let r = refused(json!({"source_branch_lsn": bad})).await;
        assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    }
    let r = refused(json!({"source_branch_lsn": "0/1"})).await;
    assert!(
        assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("outside the restore window"),
        "{r:?}"
    );
    // Nothing was created by a refused request.
    let (s, _) = t.get("projects/refuse/branches/nope").await;
    assert_eq!(s, 404);
    // An LSN the branch has not written yet: the operation fails and says why.
    let (s, op) = refused(json!({"source_branch_lsn": "FF/0"})).await;
    assert_eq!(s, 200, "{op}");
    let done = t.wait(&op).await;
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ahead of the source branch"),
        "{done}"
    );
}

#[tokio::test]
async fn history_survives_a_restart_on_the_data_dir() {
    let Some(_) = emulator(Emulator::builder()).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let t1;
    {
        let t = emulator(Emulator::builder().data_dir(dir.path())).await.unwrap();
        create(&t, "projects?project_id=kept", json!({})).await;
        let c = session(&t, "kept", "production").await;
        c.batch_execute("CREATE TABLE t (id int primary key)").await.unwrap();
        t1 = batch(&c, 1..=3).await.0;
        batch(&c, 4..=6).await;
    }
    let t = emulator(Emulator::builder().data_dir(dir.path())).await.unwrap();
    let c = session(&t, "kept", "production").await;
    batch(&c, 7..=9).await;
    branch_at(
        &t,
        "kept",
        "before-restart",
        "production",
        json!({"source_branch_time": ts(t1)}),
    )
    .await;
    assert_eq!(
        ids(&session(&t, "kept", "before-restart").await, "t").await,
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn history_older_than_the_retention_window_is_pruned_and_refused() {
    let Some(_) = emulator(Emulator::builder()).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let window = Duration::from_secs(3);
    let t = emulator(Emulator::builder().data_dir(dir.path()).history_retention(window))
        .await
        .unwrap();
    create(&t, "projects?project_id=short", json!({})).await;
    let (_, root) = t.get("projects/short/branches/production").await;
    let uid = root["uid"].as_str().expect("uid").to_string();
    let c = session(&t, "short", "production").await;
    c.batch_execute("CREATE TABLE t (id int primary key)").await.unwrap();
    let (early, _) = batch(&c, 1..=3).await;
    let history = dir.path().join("history").join(&uid);
    let first_base = history.join("base").join("0.json");
    assert!(first_base.is_file(), "the branch starts with a base backup");
    // Written on, the branch gets newer base backups; the first one and the WAL before the
    // oldest one still needed go once they are older than the window.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut n = 10;
    while first_base.exists() {
        assert!(std::time::Instant::now() < deadline, "history was never pruned");
        c.batch_execute(&format!("INSERT INTO t VALUES ({n})")).await.unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let old = t
        .post(
            "projects/short/branches?branch_id=too-old",
            json!({"spec": {"no_expiry": true, "source_branch_time": ts(early)}}),
        )
        .await;
    assert!(
        assert_error(&old, 400, "INVALID_PARAMETER_VALUE").contains("outside the restore window"),
        "{old:?}"
    );
    let (recent, _) = point(&c).await;
    c.batch_execute("INSERT INTO t VALUES (1000)").await.unwrap();
    branch_at(
        &t,
        "short",
        "recent",
        "production",
        json!({"source_branch_time": ts(recent)}),
    )
    .await;
    let got = ids(&session(&t, "short", "recent").await, "t").await;
    assert!(got.starts_with(&[1, 2, 3]) && !got.contains(&1000), "{got:?}");
    assert_eq!(got.len(), 3 + (n - 10) as usize);
}
