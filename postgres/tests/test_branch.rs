//! End to end: a scoped test branch exists while its value lives and is gone after drop.

mod support;

use std::time::Duration;

use lakebase_postgres::TestBranch;
use support::lab;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_branch_has_a_working_pool_and_is_gone_after_drop() {
    let Some(lab) = lab(|b| b).await else { return };
    // Data in the parent shows up in the branch.
    let parent = lab.pool().build().await.unwrap();
    parent
        .get()
        .await
        .unwrap()
        .batch_execute("create table fruit (name text); insert into fruit values ('apple')")
        .await
        .unwrap();

    let branch = TestBranch::builder(lab.client.clone(), lab.project.clone())
        .ttl(Duration::from_secs(600))
        .pool(lab.pool())
        .create()
        .await
        .unwrap();
    let name = branch.name().clone();
    assert!(name.branch_id().starts_with("test-"), "{name}");
    assert_eq!(branch.endpoint().to_string(), format!("{name}/endpoints/primary"));
    // The service reports a branch's expiry in its status (reads carry no spec).
    let status = lab.client.get_branch(&name).await.unwrap().status.unwrap_or_default();
    assert!(status.expire_time.is_some(), "the branch has a TTL: {status:?}");

    let conn = branch.pool().get().await.unwrap();
    conn.batch_execute("insert into fruit values ('pear')").await.unwrap();
    let n: i64 = conn.query_one("select count(*) from fruit", &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
    drop(conn);
    let parent_count: i64 = parent
        .get()
        .await
        .unwrap()
        .query_one("select count(*) from fruit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(parent_count, 1, "the branch is a copy");

    drop(branch);
    let gone = lab.client.get_branch(&name).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[tokio::test]
async fn delete_removes_the_branch_on_any_runtime() {
    let Some(lab) = lab(|b| b).await else { return };
    let branch = TestBranch::builder(lab.client.clone(), lab.project.clone())
        .branch_id("scratch")
        .pool(lab.pool())
        .create()
        .await
        .unwrap();
    let name = branch.name().clone();
    let one: i32 = branch
        .pool()
        .get()
        .await
        .unwrap()
        .query_one("select 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
    branch.delete().await.unwrap();
    assert!(lab.client.get_branch(&name).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn run_deletes_the_branch_on_a_current_thread_runtime_even_when_the_test_panics() {
    let Some(lab) = lab(|b| b).await else { return };
    let builder = || {
        TestBranch::builder(lab.client.clone(), lab.project.clone())
            .pool(lab.pool())
            .ttl(Duration::from_secs(600))
    };
    let name = builder()
        .run(|branch| {
            Box::pin(async move {
                let one: i32 = branch
                    .pool()
                    .get()
                    .await
                    .unwrap()
                    .query_one("select 1", &[])
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(one, 1);
                branch.name().clone()
            })
        })
        .await
        .unwrap();
    assert!(
        lab.client.get_branch(&name).await.unwrap_err().is_not_found(),
        "{name} is gone"
    );

    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let record = seen.clone();
    let panicked = tokio::spawn(builder().run(move |branch| {
        *record.lock().unwrap() = Some(branch.name().clone());
        Box::pin(async { panic!("the test failed") })
    }))
    .await
    .unwrap_err();
    assert!(panicked.is_panic());
    let name = seen.lock().unwrap().clone().expect("the test ran");
    assert!(
        lab.client.get_branch(&name).await.unwrap_err().is_not_found(),
        "{name} is gone after the panic"
    );
}
