//! Long-running operations against a scripted server: polling to a typed result, failed
//! and incomplete operations, transient and fatal poll errors, deadlines, resuming by
//! name, the progress stream and endpoints settling.

mod support;

use std::time::Duration;

use futures::TryStreamExt;
use httpmock::MockServer;
use lakebase::error::ErrorDetail;
use lakebase::{Client, Error, ErrorCode, Operation, OperationName, PollingPolicy, ProjectName, types};
use serde_json::json;
use support::{Reply, client, client_with, config, op_done, op_pending, script};

const API: &str = "/api/2.0/postgres";
/// A base64-like operation id with `+`, `/` and `=`: polled verbatim.
const OP: &str = "projects/my-app/operations/Ab+c/d==";

fn project_json() -> serde_json::Value {
    json!({
        "@type": "type.googleapis.com/databricks.postgres.v1.Project",
        "name": "projects/my-app", "project_id": "my-app", "uid": "proj-1",
        "spec": {"display_name": "My app", "pg_version": 17},
        "status": {"owner": "alice@example.com", "pg_version": 17}
    })
}

/// Starts `create_project("my-app")`: the call most poller tests begin with.
async fn create_my_app(client: &Client) -> Operation<types::Project, types::ProjectOperationMetadata> {
    client
        .create_project("my-app", types::Project::default())
        .await
        .expect("create_project")
}

fn assert_polls(log: &support::Log, from: usize, to: usize) {
    for i in from..to {
        let r = log.get(i);
        r.assert_line("GET", &format!("{API}/{OP}"), &[]);
        r.assert_std_headers(false, None);
    }
}

#[tokio::test]
async fn create_polls_until_done_and_returns_the_resource() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::ok(op_pending(OP)),
            Reply::ok(op_pending(OP)),
            Reply::ok(op_done(OP, project_json())),
        ],
    )
    .await;
    let (client, sleeper) = client(&server);
    let op = create_my_app(&client).await;
    assert!(!op.is_done());
    assert_eq!(op.name().as_str(), OP);
    let meta = op.metadata().unwrap().expect("metadata");
    assert_eq!(
        meta["@type"],
        "type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata"
    );
    let project = op.wait().await.unwrap();
    assert_eq!(project.name.as_deref(), Some("projects/my-app"));
    assert_eq!(project.uid.as_deref(), Some("proj-1"));
    assert_eq!(project.spec.unwrap().display_name.as_deref(), Some("My app"));
    assert_eq!(project.status.unwrap().owner.as_deref(), Some("alice@example.com"));
    mock.assert_calls_async(4).await;
    log.get(0)
        .assert_line("POST", &format!("{API}/projects"), &[("project_id", "my-app")]);
    assert_polls(&log, 1, 4);
    assert!(!log.get(1).path.contains('%'));
    // Immediate policy: zero delays are not even handed to the sleeper.
    assert!(
        sleeper.recorded().iter().all(|d| d.is_zero()),
        "{:?}",
        sleeper.recorded()
    );
}

#[tokio::test]
async fn default_policy_sleeps_through_the_injected_sleeper() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::ok(op_pending(OP)),
            Reply::ok(op_done(OP, project_json())),
        ],
    )
    .await;
    let (client, sleeper) = client_with(config(&server).polling_policy(PollingPolicy::default()));
    let op = create_my_app(&client).await;
    op.wait().await.unwrap();
    mock.assert_calls_async(3).await;
    // 1 s before the first poll, then the 1 s floor (almost no real time has passed).
    assert_eq!(sleeper.recorded(), [Duration::from_secs(1), Duration::from_secs(1)]);
}

#[tokio::test]
async fn an_operation_done_with_error_is_operation_failed() {
    let server = MockServer::start_async().await;
    let failed = json!({
        "name": OP, "done": true,
        "error": {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": "history_retention_duration must be at least 172800s",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                          "reason": "BAD_RETENTION", "domain": "databricks.com", "metadata": {"k": "v"}}]
        }
    });
    let (mock, _) = script(&server, vec![Reply::ok(op_pending(OP)), Reply::ok(failed)]).await;
    let (client, _) = client(&server);
    let op = create_my_app(&client).await;
    let err = op.wait().await.unwrap_err();
    match &err {
        Error::OperationFailed {
            operation,
            error_code,
            message,
            details,
        } => {
            assert_eq!(operation, OP);
            assert_eq!(error_code, &Some(ErrorCode::InvalidParameterValue));
            assert_eq!(message, "history_retention_duration must be at least 172800s");
            assert!(
                matches!(&details[..], [ErrorDetail::ErrorInfo { reason, domain, .. }] if reason == "BAD_RETENTION" && domain == "databricks.com"),
                "{details:?}"
            );
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    assert!(err.is_bad_request());
    assert_eq!(
        err.to_string(),
        format!("operation {OP} failed: [INVALID_PARAMETER_VALUE] history_retention_duration must be at least 172800s")
    );
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn done_without_response_is_operation_incomplete() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![Reply::ok(op_pending(OP)), Reply::ok(json!({"name": OP, "done": true}))],
    )
    .await;
    let (client, _) = client(&server);
    let op = create_my_app(&client).await;
    let err = op.wait().await.unwrap_err();
    assert!(
        matches!(&err, Error::OperationIncomplete { operation } if operation == OP),
        "{err:?}"
    );
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn delete_returns_unit_and_still_requires_a_response() {
    let server = MockServer::start_async().await;
    let empty = json!({"@type": "type.googleapis.com/google.protobuf.Empty"});
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::ok(op_done(OP, empty)),
            Reply::ok(op_pending(OP)),
            Reply::ok(json!({"name": OP, "done": true})),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let name = ProjectName::new("my-app").unwrap();
    let op = client.delete_project(&name).purge(true).await.unwrap();
    let done: Result<(), Error> = op.wait().await;
    assert!(done.is_ok(), "{done:?}");
    let op = client.delete_project(&name).await.unwrap();
    let err = op.wait().await.unwrap_err();
    assert!(matches!(err, Error::OperationIncomplete { .. }), "{err:?}");
    mock.assert_calls_async(4).await;
    log.get(0)
        .assert_line("DELETE", &format!("{API}/projects/my-app"), &[("purge", "true")]);
    log.get(2).assert_line("DELETE", &format!("{API}/projects/my-app"), &[]);
    log.get(1).assert_line("GET", &format!("{API}/{OP}"), &[]);
    log.get(3).assert_line("GET", &format!("{API}/{OP}"), &[]);
}

#[tokio::test]
async fn a_503_while_polling_does_not_end_the_wait() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::json(
                503,
                json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"}),
            ),
            Reply::ok(op_pending(OP)),
            Reply::raw(503, ""),
            Reply::ok(op_done(OP, project_json())),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let op = create_my_app(&client).await;
    let project = op.wait().await.unwrap();
    assert_eq!(project.project_id.as_deref(), Some("my-app"));
    mock.assert_calls_async(5).await;
    assert_polls(&log, 1, 5);
}

#[tokio::test]
async fn the_poller_itself_survives_a_503_when_http_retries_are_off() {
    // Without HTTP retries, the poller itself keeps going after a 503.
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::raw(503, ""),
            Reply::ok(op_done(OP, project_json())),
        ],
    )
    .await;
    let (client, _) = client_with(config(&server).retry_policy(std::sync::Arc::new(lakebase::NoRetry)));
    let op = create_my_app(&client).await;
    assert_eq!(op.wait().await.unwrap().uid.as_deref(), Some("proj-1"));
    mock.assert_calls_async(3).await;
}

#[tokio::test]
async fn a_404_while_polling_is_returned() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::json(
                404,
                json!({"error_code": "NOT_FOUND", "message": "operation not found"}),
            ),
            Reply::ok(op_done(OP, project_json())),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let op = create_my_app(&client).await;
    let err = op.wait().await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.as_api_error().unwrap().message, "operation not found");
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn the_deadline_gives_a_timeout() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(op_pending(OP)); 10]).await;
    let policy = PollingPolicy::immediate().with_max_polls(Some(3));
    let (client, _) = client_with(config(&server).polling_policy(policy));
    let op = create_my_app(&client).await;
    let err = op.wait().await.unwrap_err();
    match &err {
        Error::Timeout {
            kind,
            attempts,
            last_error,
            ..
        } => {
            assert_eq!(
                kind,
                &lakebase::TimeoutKind::OperationWait {
                    operation: OP.to_string()
                }
            );
            assert_eq!(*attempts, 3);
            assert!(last_error.is_none(), "{last_error:?}");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    mock.assert_calls_async(4).await;
}

#[tokio::test]
async fn a_zero_deadline_times_out_without_polling() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(op_pending(OP)); 3]).await;
    let policy = PollingPolicy::immediate().with_deadline(Some(Duration::ZERO));
    let (client, _) = client_with(config(&server).polling_policy(policy));
    let op = create_my_app(&client).await;
    let err = op.wait().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { attempts: 0, .. }), "{err:?}");
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn resume_operation_by_stored_name() {
    let server = MockServer::start_async().await;
    let branch = json!({"name": "projects/my-app/branches/dev", "branch_id": "dev"});
    let (mock, log) = script(&server, vec![Reply::ok(op_pending(OP)), Reply::ok(op_done(OP, branch))]).await;
    let (client, _) = client(&server);
    let stored: OperationName = OP.parse().unwrap();
    let op = client.resume_operation::<types::Branch, types::BranchOperationMetadata>(stored);
    assert_eq!(log.len(), 0, "nothing is sent until polled");
    let branch = op.wait().await.unwrap();
    assert_eq!(branch.branch_id.as_deref(), Some("dev"));
    mock.assert_calls_async(2).await;
    assert_polls(&log, 0, 2);
}

/// Regression: the service's base64-like ids can start or end with `/`, or hold `//`. Such a
/// name used to be refused as "malformed", so the create call failed although it had worked.
#[tokio::test]
async fn ids_with_empty_segments_are_polled_byte_for_byte() {
    for op in [
        "projects/my-app/operations//GN99b/F0m2Vm/7jwNHlww==",
        "projects/my-app/operations/ab//cd+=",
        "projects/my-app/operations/abc/",
    ] {
        let server = MockServer::start_async().await;
        let (mock, log) = script(
            &server,
            vec![Reply::ok(op_pending(op)), Reply::ok(op_done(op, project_json()))],
        )
        .await;
        let (client, _) = client(&server);
        let created = client
            .create_project("my-app", types::Project::default())
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(created.name().as_str(), op);
        let project = created.wait().await.unwrap();
        assert_eq!(project.uid.as_deref(), Some("proj-1"));
        mock.assert_calls_async(2).await;
        log.get(1).assert_line("GET", &format!("{API}/{op}"), &[]);
    }
}

#[tokio::test]
async fn progress_yields_each_state_and_ends_on_done() {
    let server = MockServer::start_async().await;
    let with_progress = |done: bool, step: u32| {
        let mut v = op_pending(OP);
        v["done"] = json!(done);
        v["metadata"]["step"] = json!(step);
        if done {
            v["response"] = project_json();
        }
        v
    };
    let (mock, _) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::ok(with_progress(false, 1)),
            Reply::ok(with_progress(false, 2)),
            Reply::ok(with_progress(true, 3)),
            Reply::ok(with_progress(true, 4)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let op = create_my_app(&client).await;
    let states: Vec<_> = op.progress().try_collect().await.unwrap();
    let seen: Vec<(bool, u64)> = states
        .iter()
        .map(|s| (s.done, s.metadata.as_ref().unwrap()["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(seen, [(false, 1), (false, 2), (true, 3)]);
    assert_eq!(states[2].raw.response.as_ref().unwrap()["uid"], "proj-1");
    mock.assert_calls_async(4).await;
}

#[tokio::test]
async fn wait_until_settled_reads_the_endpoint_until_pending_state_clears() {
    let server = MockServer::start_async().await;
    let endpoint = |pending: Option<&str>| {
        let mut status = json!({"current_state": "INIT", "hosts": {"host": "ep-1.example.com"}});
        if let Some(p) = pending {
            status["pending_state"] = json!(p);
        } else {
            status["current_state"] = json!("ACTIVE");
        }
        json!({"name": "projects/my-app/branches/dev/endpoints/primary", "endpoint_id": "primary", "status": status})
    };
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(op_pending(OP)),
            Reply::ok(op_done(OP, endpoint(Some("ACTIVE")))),
            Reply::ok(endpoint(Some("ACTIVE"))),
            Reply::ok(endpoint(None)),
            Reply::ok(endpoint(None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let branch = ProjectName::new("my-app").unwrap().branch("dev").unwrap();
    let spec = types::EndpointSpec {
        endpoint_type: Some(types::EndpointType::ReadWrite),
        ..Default::default()
    };
    let ep = client
        .create_endpoint(
            &branch,
            "primary",
            types::Endpoint {
                spec: Some(spec),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .wait_until_settled()
        .await
        .unwrap();
    let status = ep.status.unwrap();
    assert_eq!(status.pending_state, None);
    assert_eq!(status.current_state.unwrap().as_str(), "ACTIVE");
    mock.assert_calls_async(4).await;
    log.get(0).assert_line(
        "POST",
        &format!("{API}/projects/my-app/branches/dev/endpoints"),
        &[("endpoint_id", "primary")],
    );
    assert_eq!(
        log.get(0).json(),
        json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_WRITE"}})
    );
    log.get(1).assert_line("GET", &format!("{API}/{OP}"), &[]);
    for i in 2..4 {
        log.get(i).assert_line(
            "GET",
            &format!("{API}/projects/my-app/branches/dev/endpoints/primary"),
            &[],
        );
        log.get(i).assert_std_headers(false, None);
    }
}

#[tokio::test]
async fn a_server_answering_503_forever_times_the_wait_out_at_its_deadline() {
    // Polling owns its retries: each poll is one request, so the client's 300 s retry
    // budget never runs inside a poll and the wait ends at its deadline (the virtual time
    // slept), not up to a retry budget later.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method("POST").path(format!("{API}/projects"));
            then.status(200).json_body(op_pending(OP));
        })
        .await;
    let polls = server
        .mock_async(|when, then| {
            when.method("GET").path(format!("{API}/{OP}"));
            then.status(503)
                .json_body(json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"}));
        })
        .await;
    let deadline = Duration::from_secs(20 * 60);
    let policy = PollingPolicy::default()
        .with_jitter_fraction(0.0)
        .with_deadline(Some(deadline));
    let (client, sleeper) = client_with(config(&server).polling_policy(policy));
    let op = create_my_app(&client).await;
    let err = op.wait().await.unwrap_err();
    let Error::Timeout {
        kind,
        attempts,
        last_error,
        ..
    } = &err
    else {
        panic!("expected Timeout, got {err:?}");
    };
    assert_eq!(
        kind,
        &lakebase::TimeoutKind::OperationWait {
            operation: OP.to_string()
        }
    );
    assert_eq!(last_error.as_ref().and_then(|e| e.status()), Some(503));
    assert_eq!(polls.calls_async().await, *attempts as usize, "one request per poll");
    let request_timeout = Duration::from_secs(60);
    assert!(
        sleeper.total() <= deadline + request_timeout,
        "waited {:?} against a deadline of {deadline:?}",
        sleeper.total()
    );
    assert!(
        sleeper.total() >= deadline - Duration::from_secs(60),
        "{:?}",
        sleeper.total()
    );
}

#[tokio::test]
async fn a_per_call_polling_policy_replaces_the_clients() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(op_pending(OP)); 10]).await;
    let (client, _) = client(&server);
    let op = client
        .create_project("my-app", types::Project::default())
        .with_polling_policy(PollingPolicy::immediate().with_max_polls(Some(2)))
        .await
        .unwrap();
    let err = op.wait().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
    mock.assert_calls_async(3).await;
}
