//! `branch ensure` on a branch without a read-write endpoint creates one (the emulator gives
//! every branch one, so this runs against a mock workspace) and reports its host; the exact
//! requests are asserted.

use httpmock::prelude::*;
use serde_json::json;

const BRANCH: &str = "projects/shop/branches/dev";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_creates_the_missing_read_write_endpoint() {
    let server = MockServer::start_async().await;
    let endpoint = json!({
        "name": format!("{BRANCH}/endpoints/primary"),
        "endpoint_id": "primary",
        "status": {
            "endpoint_type": "ENDPOINT_TYPE_READ_WRITE",
            "current_state": "ACTIVE",
            "hosts": {"host": "ep-primary.example.com"},
        },
    });
    let operation = json!({
        "name": format!("{BRANCH}/operations/op-1"),
        "done": true,
        "response": endpoint,
    });
    let get_branch = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/api/2.0/postgres/{BRANCH}"));
            then.status(200).json_body(json!({
                "name": BRANCH,
                "status": {
                    "source_branch": "projects/shop/branches/production",
                    "current_state": "READY",
                    "expire_time": "2030-01-01T00:00:00Z",
                },
            }));
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/api/2.0/postgres/{BRANCH}/endpoints"));
            then.status(200).json_body(json!({"endpoints": []}));
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/api/2.0/postgres/{BRANCH}/endpoints"))
                .query_param("endpoint_id", "primary")
                .header("authorization", "Bearer dapi-mock")
                .json_body(json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_WRITE"}}));
            then.status(200).json_body(operation.clone());
        })
        .await;
    let poll = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/2.0/postgres/{BRANCH}/operations/op-1"));
            then.status(200).json_body(operation.clone());
        })
        .await;
    let settled = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/2.0/postgres/{BRANCH}/endpoints/primary"));
            then.status(200).json_body(endpoint.clone());
        })
        .await;

    let base = server.base_url();
    let home = tempfile::tempdir().unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_lakebase"))
            .args(["branch", "ensure", "shop/dev", "-o", "json"])
            .env_clear()
            .env("HOME", home.path())
            .env("DATABRICKS_HOST", base)
            .env("DATABRICKS_TOKEN", "dapi-mock")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json,
        json!({
            "name": BRANCH,
            "project_id": "shop",
            "branch_id": "dev",
            "parent": "projects/shop/branches/production",
            "created": false,
            "endpoint": format!("{BRANCH}/endpoints/primary"),
            "host": "ep-primary.example.com",
            "expire_time": "2030-01-01T00:00:00Z",
        })
    );
    get_branch.assert_calls_async(1).await;
    list.assert_calls_async(1).await;
    create.assert_calls_async(1).await;
    assert!(poll.calls_async().await >= 1);
    assert!(settled.calls_async().await >= 1);
}
