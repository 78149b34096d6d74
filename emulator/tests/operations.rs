//! Long-running operation lifecycle: pending, done, errors, opaque names.

mod common;

use std::time::Duration;

use common::{T, assert_error};
use lakebase_emulator::{Emulator, FaultConfig};
use serde_json::json;

#[tokio::test]
async fn operation_is_pending_until_latency_elapses() {
    let t = T::with(Emulator::builder().op_latency(Duration::from_secs(3600))).await;
    let (s, op) = t.post("projects?project_id=slow", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(op["done"], json!(false));
    assert!(op.get("response").is_none());
    let (_, again) = t.get(op["name"].as_str().expect("name")).await;
    assert_eq!(again["done"], json!(false));
    assert_eq!(
        again["metadata"]["@type"],
        json!("type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata")
    );
    // resources are visible at once, in their pending state
    let (_, b) = t.get("projects/slow/branches/production").await;
    assert_eq!(
        (
            b["status"]["current_state"].clone(),
            b["status"]["pending_state"].clone()
        ),
        (json!("INIT"), json!("READY"))
    );
    let (_, e) = t.get("projects/slow/branches/production/endpoints/primary").await;
    assert_eq!(
        (
            e["status"]["current_state"].clone(),
            e["status"]["pending_state"].clone()
        ),
        (json!("INIT"), json!("ACTIVE"))
    );
}

#[tokio::test]
async fn operation_completes_after_latency() {
    let t = T::with(Emulator::builder().op_latency(Duration::from_millis(30))).await;
    let (_, op) = t.post("projects?project_id=p", json!({})).await;
    let done = t.wait(&op).await;
    assert_eq!(done["response"]["name"], json!("projects/p"));
    assert_eq!(
        done["response"]["@type"],
        json!("type.googleapis.com/databricks.postgres.v1.Project")
    );
    let (_, op) = t
        .post(
            "projects/p/branches?branch_id=dev",
            json!({"spec": {"no_expiry": true}}),
        )
        .await;
    t.wait(&op).await;
    let (_, b) = t.get("projects/p/branches/dev").await;
    assert_eq!(b["status"]["current_state"], json!("READY"));
    assert!(b["status"].get("pending_state").is_none());
    // delete operations finish with google.protobuf.Empty
    let (_, op) = t.delete("projects/p/branches/dev").await;
    let done = t.wait(&op).await;
    assert_eq!(
        done["response"],
        json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
    );
}

#[tokio::test]
async fn operation_names_are_opaque_and_fetched_verbatim() {
    let t = T::new().await;
    t.project("p").await;
    // find an operation name containing '+' or '/' after the operations/ prefix
    let mut special = None;
    for i in 0..200 {
        let (_, op) = t
            .post(
                &format!("projects/p/branches?branch_id=b{i}"),
                json!({"spec": {"no_expiry": true}}),
            )
            .await;
        let name = op["name"].as_str().expect("name").to_string();
        let id = name.trim_start_matches("projects/p/operations/");
        assert!(id.ends_with('='), "{name}");
        if id.contains('+') || id.contains('/') {
            special = Some(name);
            break;
        }
    }
    let name = special.expect("an operation name with + or /");
    let (s, v) = t.get(&name).await;
    assert_eq!(s, 200);
    assert_eq!(v["name"], json!(name));
    assert_eq!(v["done"], json!(true));
    // percent-encoded variants are not the same name
    let encoded = name.replace('+', "%2B").replace('=', "%3D");
    let tail = encoded.trim_start_matches("projects/p/operations/").replace('/', "%2F");
    let r = t.get(&format!("projects/p/operations/{tail}")).await;
    assert_error(&r, 404, "NOT_FOUND");
    // only GET is served on operation names
    let r = t.delete(&name).await;
    assert_error(&r, 404, "ENDPOINT_NOT_FOUND");
}

#[tokio::test]
async fn operations_can_fail_and_then_change_nothing() {
    let faults = FaultConfig {
        op_error_rate: 1.0,
        ..FaultConfig::default()
    };
    let t = T::with(Emulator::builder().op_latency(Duration::ZERO).faults(faults)).await;
    let (s, op) = t.post("projects?project_id=doomed", json!({})).await;
    assert_eq!(s, 200);
    let done = t.wait(&op).await;
    assert_eq!(done["error"]["error_code"], json!("INTERNAL_ERROR"));
    assert_eq!(done["error"]["message"], json!("Provisioning failed."));
    assert!(done.get("response").is_none());
    assert_error(&t.get("projects/doomed").await, 404, "NOT_FOUND");
}

#[tokio::test]
async fn runtime_latency_change_applies_to_new_operations() {
    let t = T::new().await;
    t.emu.set_op_latency(Duration::from_secs(3600));
    let (_, op) = t.post("projects?project_id=later", json!({})).await;
    assert_eq!(op["done"], json!(false));
    t.emu.set_op_latency(Duration::ZERO);
    let (_, op) = t.post("projects?project_id=now", json!({})).await;
    assert_eq!(op["done"], json!(true));
}
