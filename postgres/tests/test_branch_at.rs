//! End to end: a test branch started from a point of its parent's history holds exactly the
//! rows committed before that point (by time and by LSN).

mod support;

use std::time::Duration;

use lakebase_postgres::TestBranch;
use support::lab;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_branch_starts_from_a_time_or_an_lsn_of_its_parent() {
    let Some(lab) = lab(|b| b).await else { return };
    let parent = lab.pool().build().await.unwrap();
    let conn = parent.get().await.unwrap();
    conn.batch_execute("create table fruit (name text); insert into fruit values ('apple')")
        .await
        .unwrap();
    let lsn: String = conn
        .query_one("select pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let time = chrono::Utc::now();
    conn.batch_execute("insert into fruit values ('pear')").await.unwrap();
    drop(conn);

    for branch in [
        TestBranch::builder(lab.client.clone(), lab.project.clone()).source_time(time),
        TestBranch::builder(lab.client.clone(), lab.project.clone()).source_lsn(lsn.clone()),
    ] {
        let branch = branch
            .ttl(Duration::from_secs(600))
            .pool(lab.pool())
            .create()
            .await
            .unwrap();
        let names: Vec<String> = branch
            .pool()
            .get()
            .await
            .unwrap()
            .query("select name from fruit order by name", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(names, ["apple"], "{}", branch.name());
    }
}
