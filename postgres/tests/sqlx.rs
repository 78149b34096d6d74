//! End to end, feature `sqlx`: a `sqlx::PgPool` that follows the shared credential.
#![cfg(feature = "sqlx")]

mod support;

use std::time::Duration;

use support::{USER, lab};

#[tokio::test]
async fn sqlx_connections_keep_logging_in_across_credential_expiries() {
    let ttl = Duration::from_secs(2);
    let Some(lab) = lab(|b| b.credential_ttl(ttl)).await else {
        return;
    };
    let pool = lab.pool().build_sqlx().await.unwrap();
    let mut first = pool.acquire().await.unwrap().detach();
    let (who,): (String,) = sqlx::query_as("select current_user::text")
        .fetch_one(&mut first)
        .await
        .unwrap();
    assert_eq!(who, USER);
    let mut sessions = Vec::new();
    let deadline = tokio::time::Instant::now() + 3 * ttl;
    while tokio::time::Instant::now() < deadline {
        // `detach` takes the connection out of the pool: the next acquire logs in anew.
        let mut conn = pool.acquire().await.expect("a new login succeeds").detach();
        let (one,): (i32,) = sqlx::query_as("select 1").fetch_one(&mut conn).await.unwrap();
        assert_eq!(one, 1);
        sessions.push(conn);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (one,): (i32,) = sqlx::query_as("select 1").fetch_one(&mut first).await.unwrap();
    assert_eq!(one, 1, "the first session outlived its token");
    let stats = pool.credentials().stats();
    assert!(stats.minted >= 3, "{stats:?}");
    assert_eq!(lab.mints(), stats.minted);
}

#[tokio::test]
async fn an_idle_sqlx_connection_is_checked_and_a_killed_one_is_not_handed_out() {
    let Some(lab) = lab(|b| b).await else { return };
    const N: usize = 3;
    // Every reuse is checked here (threshold zero): sqlx cannot tell the pool that a session
    // died, so the idle threshold is what catches it (see `sqlx_pool`).
    let pool = lab
        .pool()
        .application_name("sqlx-killed")
        .max_size(N)
        .validate_after_idle(Some(Duration::ZERO))
        .build_sqlx()
        .await
        .unwrap();
    let held = futures::future::join_all((0..N).map(|_| pool.acquire())).await;
    drop(held);
    let admin = lab.pool().application_name("admin").max_size(1).build().await.unwrap();
    let conn = admin.get().await.unwrap();
    let killed: Vec<i32> = conn
        .query(
            "with s as materialized (select pid from pg_stat_activity where application_name = 'sqlx-killed') \
             select pid from s where pg_terminate_backend(pid)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(killed.len(), N);
    // Poll until the server side of the kill is done.
    while conn
        .query_one("select count(*) from pg_stat_activity where pid = any($1)", &[&killed])
        .await
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (pid,): (i32,) = sqlx::query_as("select pg_backend_pid()")
        .fetch_one(&*pool)
        .await
        .expect("a live connection");
    assert!(!killed.contains(&pid));
    let health = pool.health();
    assert!(health.validations >= 1, "{health:?}");
    assert!(health.evictions >= 1, "{health:?}");
}
