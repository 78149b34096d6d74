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
