//! Retries and error parsing against a scripted server: `Retry-After` (seconds and
//! HTTP-date), backoff, budget exhaustion, what is never retried, error bodies of every
//! shape, predicates, and transport failures. Sleeps are recorded, never slept.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use httpmock::MockServer;
use lakebase::error::{ErrorDetail, TransportErrorKind};
use lakebase::{Error, ErrorClass, ErrorCode, NoRetry, ProjectName, types};
use serde_json::json;
use support::{AttemptBudget, Reply, client, client_with, config, op_pending, script};

const OP: &str = "projects/my-app/operations/op-1";

fn project() -> ProjectName {
    ProjectName::new("my-app").unwrap()
}

fn spec_project() -> types::Project {
    types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some("Retried".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_even_for_post() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::json(
                429,
                json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}),
            )
            .header("Retry-After", "1"),
            Reply::ok(op_pending(OP)),
        ],
    )
    .await;
    let (client, sleeper) = client(&server);
    let op = client.create_project("my-app", spec_project()).await.unwrap();
    assert_eq!(op.name().as_str(), OP);
    mock.assert_calls_async(2).await;
    let (first, second) = (log.get(0), log.get(1));
    for r in [&first, &second] {
        r.assert_line("POST", "/api/2.0/postgres/projects", &[("project_id", "my-app")]);
        r.assert_std_headers(true, None);
    }
    assert_eq!(first.body, second.body, "the retry sends the same bytes");
    assert_eq!(first.json(), json!({"spec": {"display_name": "Retried"}}));
    // Retry-After 1 s + jitter (fixed at 0.5 of a second): in [1 s, 2 s).
    let slept = sleeper.recorded();
    assert_eq!(slept, [Duration::from_millis(1500)]);
    assert!(slept[0] >= Duration::from_secs(1) && slept[0] < Duration::from_secs(2));
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let server = MockServer::start_async().await;
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    let (mock, _) = script(
        &server,
        vec![
            Reply::raw(503, "").header("Retry-After", &date),
            Reply::ok(json!({"name": "projects/my-app", "project_id": "my-app"})),
        ],
    )
    .await;
    let (client, sleeper) = client(&server);
    let p = client.get_project(&project()).await.unwrap();
    assert_eq!(p.project_id.as_deref(), Some("my-app"));
    mock.assert_calls_async(2).await;
    // The date is ~4-5 s ahead (second granularity), plus 0.5 s jitter.
    let slept = sleeper.recorded();
    assert_eq!(slept.len(), 1);
    assert!(
        slept[0] >= Duration::from_millis(3500) && slept[0] <= Duration::from_millis(5500),
        "{slept:?}"
    );
}

#[tokio::test]
async fn a_503_without_retry_after_backs_off_then_succeeds() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::json(503, json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})),
            Reply::json(503, json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})),
            Reply::ok(json!({"name": "projects/my-app", "project_id": "my-app"})),
        ],
    )
    .await;
    let (client, sleeper) = client(&server);
    let p = client.get_project(&project()).await.unwrap();
    assert_eq!(p.name.as_deref(), Some("projects/my-app"));
    mock.assert_calls_async(3).await;
    // Full jitter fixed at 0.5 of the caps 1 s, 2 s.
    assert_eq!(sleeper.recorded(), [Duration::from_millis(500), Duration::from_secs(1)]);
    for r in log.requests() {
        r.assert_line("GET", "/api/2.0/postgres/projects/my-app", &[]);
        r.assert_std_headers(false, None);
    }
}

#[tokio::test]
async fn a_transient_message_on_a_500_is_retried() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::json(
                500,
                json!({"error_code": "INTERNAL_ERROR", "message": "Unexpected error: worker restarted"}),
            ),
            Reply::ok(json!({"name": "projects/my-app"})),
        ],
    )
    .await;
    let (client, sleeper) = client(&server);
    client.get_project(&project()).await.unwrap();
    mock.assert_calls_async(2).await;
    assert_eq!(sleeper.recorded().len(), 1);
}

#[tokio::test]
async fn budget_exhaustion_is_a_timeout_wrapping_the_last_error() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::raw(503, ""); 10]).await;
    let policy = Arc::new(AttemptBudget {
        max_attempts: 4,
        delay: Duration::from_secs(2),
    });
    let (client, sleeper) = client_with(config(&server).retry_policy(policy));
    let err = client.get_project(&project()).await.unwrap_err();
    match &err {
        Error::Timeout {
            kind,
            attempts,
            last_error,
            ..
        } => {
            assert_eq!(kind, &lakebase::TimeoutKind::RetryBudget);
            assert_eq!(*attempts, 4, "attempts counts requests");
            let last = last_error.as_deref().expect("last error");
            let api = last.as_api_error().expect("an API error");
            assert_eq!(api.status, 503);
            assert_eq!(api.error_code, ErrorCode::TemporarilyUnavailable);
            assert_eq!(api.message, "Service Unavailable");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("(4 attempts); last error: TEMPORARILY_UNAVAILABLE (HTTP 503)"),
        "{err}"
    );
    mock.assert_calls_async(4).await;
    assert_eq!(sleeper.recorded(), [Duration::from_secs(2); 3]);
}

#[tokio::test]
async fn a_zero_budget_gives_up_after_one_attempt() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::raw(429, ""); 3]).await;
    let policy = Arc::new(lakebase::ExponentialRetry::default().with_budget(Duration::ZERO));
    let (client, sleeper) = client_with(config(&server).retry_policy(policy));
    let err = client.get_project(&project()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { attempts: 1, last_error: Some(e), .. } if e.status() == Some(429)),
        "{err:?}"
    );
    mock.assert_calls_async(1).await;
    assert!(sleeper.recorded().is_empty());
}

#[tokio::test]
async fn client_errors_and_plain_500s_are_not_retried() {
    let cases = [
        (
            400,
            json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"}),
            ErrorClass::BadRequest,
        ),
        (
            404,
            json!({"error_code": "NOT_FOUND", "message": "gone"}),
            ErrorClass::NotFound,
        ),
        (
            409,
            json!({"error_code": "RESOURCE_CONFLICT", "message": "reconciliation in progress"}),
            ErrorClass::ResourceConflict,
        ),
        (
            500,
            json!({"error_code": "INTERNAL_ERROR", "message": "boom"}),
            ErrorClass::InternalError,
        ),
    ];
    for (status, body, class) in cases {
        let server = MockServer::start_async().await;
        let (mock, _) = script(&server, vec![Reply::json(status, body.clone()), Reply::ok(json!({}))]).await;
        let (client, sleeper) = client(&server);
        // A POST and a GET: neither is retried.
        let err = client.create_project("my-app", spec_project()).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert_eq!(err.class(), class);
        assert_eq!(err.as_api_error().unwrap().message, body["message"].as_str().unwrap());
        mock.assert_calls_async(1).await;
        assert!(sleeper.recorded().is_empty());
        let server = MockServer::start_async().await;
        let (mock, _) = script(&server, vec![Reply::json(status, body.clone()), Reply::ok(json!({}))]).await;
        let (client, _) = support::client(&server);
        let err = client.get_project(&project()).await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn an_html_502_from_a_proxy_is_an_api_error() {
    let server = MockServer::start_async().await;
    let html = "<html><head><title>502 Bad Gateway</title></head><body>\n<pre>upstream connect error or disconnect/reset before headers</pre></body></html>";
    let (mock, _) = script(&server, vec![Reply::raw(502, html).header("content-type", "text/html")]).await;
    let (client, sleeper) = client(&server);
    let err = client.get_project(&project()).await.unwrap_err();
    let api = err
        .as_api_error()
        .unwrap_or_else(|| panic!("expected Api, got {err:?}"));
    assert_eq!(api.status, 502);
    assert_eq!(api.message, "upstream connect error or disconnect/reset before headers");
    assert_eq!(api.error_code.as_str(), "BAD_GATEWAY");
    assert_eq!(err.class(), ErrorClass::Other);
    assert_eq!(
        err.to_string(),
        "BAD_GATEWAY (HTTP 502): upstream connect error or disconnect/reset before headers"
    );
    mock.assert_calls_async(1).await;
    assert!(sleeper.recorded().is_empty());
}

#[tokio::test]
async fn an_empty_error_body_takes_the_http_reason() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::raw(404, "")]).await;
    let (client, _) = client(&server);
    let err = client.get_project(&project()).await.unwrap_err();
    let api = err.as_api_error().unwrap();
    assert_eq!(api.message, "Not Found");
    assert_eq!(api.error_code, ErrorCode::NotFound);
    assert!(err.is_not_found());
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn error_details_are_parsed() {
    let server = MockServer::start_async().await;
    let body = json!({
        "error_code": "ALREADY_EXISTS",
        "message": "Branch 'projects/my-app/branches/dev' already exists.",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RESOURCE_ALREADY_EXISTS",
             "domain": "databricks.com", "metadata": {"resource": "branch"}},
            {"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": "req-42", "serving_data": ""}
        ]
    });
    let (mock, _) = script(&server, vec![Reply::json(409, body)]).await;
    let (client, _) = client(&server);
    let err = client
        .create_branch(&project(), "dev", types::Branch::default())
        .await
        .unwrap_err();
    let api = err.as_api_error().unwrap();
    assert_eq!(api.status, 409);
    assert_eq!(api.error_code, ErrorCode::AlreadyExists);
    assert_eq!(api.request_id.as_deref(), Some("req-42"));
    match api.error_info() {
        Some(ErrorDetail::ErrorInfo {
            reason,
            domain,
            metadata,
        }) => {
            assert_eq!(reason, "RESOURCE_ALREADY_EXISTS");
            assert_eq!(domain, "databricks.com");
            assert_eq!(metadata.get("resource").map(String::as_str), Some("branch"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&api.details[1], ErrorDetail::RequestInfo { request_id, .. } if request_id == "req-42"));
    assert!(err.is_already_exists());
    assert!(!err.is_not_found());
    assert_eq!(err.class(), ErrorClass::ResourceConflict);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn predicates_on_real_responses() {
    type Case = (Reply, fn(&Error) -> bool, ErrorClass);
    let cases: Vec<Case> = vec![
        (
            Reply::json(404, json!({"error_code": "NOT_FOUND", "message": "x"})),
            Error::is_not_found,
            ErrorClass::NotFound,
        ),
        (
            Reply::json(400, json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "x"})),
            Error::is_not_found,
            ErrorClass::NotFound,
        ),
        (
            Reply::json(409, json!({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "x"})),
            Error::is_already_exists,
            ErrorClass::ResourceConflict,
        ),
        (
            Reply::json(400, json!({"error_code": "ALREADY_EXISTS", "message": "x"})),
            Error::is_already_exists,
            ErrorClass::ResourceConflict,
        ),
        (
            Reply::json(403, json!({"error_code": "PERMISSION_DENIED", "message": "x"})),
            Error::is_permission_denied,
            ErrorClass::PermissionDenied,
        ),
        (
            Reply::raw(401, ""),
            Error::is_unauthenticated,
            ErrorClass::Unauthenticated,
        ),
        (
            Reply::json(409, json!({"error_code": "INVALID_STATE", "message": "x"})),
            Error::is_bad_request,
            ErrorClass::BadRequest,
        ),
    ];
    for (reply, predicate, class) in cases {
        let server = MockServer::start_async().await;
        let (mock, _) = script(&server, vec![reply.clone()]).await;
        let (client, _) = client(&server);
        let err = client.get_project(&project()).await.unwrap_err();
        assert!(predicate(&err), "{reply:?} -> {err:?}");
        assert_eq!(err.class(), class, "{reply:?}");
        assert!(!err.is_retryable());
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn x_request_id_header_becomes_the_request_id() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::json(403, json!({"error_code": "PERMISSION_DENIED", "message": "no"}))
                .header("x-request-id", "hdr-7"),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let err = client.get_project(&project()).await.unwrap_err();
    assert_eq!(err.as_api_error().unwrap().request_id.as_deref(), Some("hdr-7"));
    assert!(err.is_permission_denied());
    mock.assert_calls_async(1).await;
}

/// A loopback port nobody listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let port = closed_port().await;
    let config = lakebase::Config::builder()
        .host(format!("http://127.0.0.1:{port}"))
        .token("t")
        .env(Arc::new(lakebase::config::MapEnv::new()))
        .retry_policy(Arc::new(NoRetry));
    let (client, _) = client_with(config);
    let err = client.get_project(&project()).await.unwrap_err();
    match &err {
        Error::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect, "{err}"),
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("Bearer"), "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_retried_within_the_budget() {
    let port = closed_port().await;
    let config = lakebase::Config::builder()
        .host(format!("http://127.0.0.1:{port}"))
        .token("t")
        .env(Arc::new(lakebase::config::MapEnv::new()))
        .retry_policy(Arc::new(AttemptBudget {
            max_attempts: 3,
            delay: Duration::from_millis(250),
        }));
    let (client, sleeper) = client_with(config);
    let err = client.get_project(&project()).await.unwrap_err();
    match &err {
        Error::Timeout {
            attempts,
            last_error: Some(last),
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(last.as_ref(), Error::Transport(t) if t.kind == TransportErrorKind::Connect),
                "{last:?}"
            );
        }
        other => panic!("expected Timeout wrapping a transport error, got {other:?}"),
    }
    assert_eq!(sleeper.recorded(), [Duration::from_millis(250); 2]);
}

/// The default budget is counted in the time the sleeper was asked to sleep, so it runs
/// out after the same attempts as in real time even when sleeps return at once, and the
/// last sleep ends at the deadline, not one sleep after it.
#[tokio::test]
async fn the_default_budget_is_enforced_in_slept_time() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::raw(503, "").header("Retry-After", "60"); 10]).await;
    let policy =
        Arc::new(lakebase::ExponentialRetry::default().with_jitter(Arc::new(lakebase::retry::FixedJitter(0.5))));
    let (client, sleeper) = client_with(config(&server).retry_policy(policy));
    let err = client.get_project(&project()).await.unwrap_err();
    assert!(matches!(&err, Error::Timeout { attempts: 6, .. }), "{err:?}");
    // Five sleeps of Retry-After 60 s + 0.5 s jitter would pass 300 s: the fifth is cut
    // to what is left of the budget.
    let recorded = sleeper.recorded();
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[..4], [Duration::from_millis(60_500); 4]);
    assert_eq!(sleeper.total(), Duration::from_secs(300));
    mock.assert_calls_async(6).await;
}

#[tokio::test]
async fn a_per_call_retry_policy_replaces_the_clients() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![Reply::raw(503, ""), Reply::ok(json!({"name": "projects/p"}))],
    )
    .await;
    let (client, sleeper) = client(&server);
    let err = client
        .get_project(&project())
        .with_retry_policy(NoRetry)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    mock.assert_calls_async(1).await;
    assert!(sleeper.recorded().is_empty());
    // The next call uses the client's policy again: the 503 above is behind it, one call.
    let got = client.get_project(&project()).await.unwrap();
    assert_eq!(got.name.as_deref(), Some("projects/p"));
}

#[tokio::test]
async fn a_per_call_timeout_ends_the_call_with_a_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method("GET");
            then.status(200)
                .json_body(json!({"name": "projects/p"}))
                .delay(Duration::from_secs(5));
        })
        .await;
    let (client, _) = client(&server);
    let err = client
        .get_project(&project())
        .timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Timeout {
                kind: lakebase::TimeoutKind::Call,
                last_error: None,
                ..
            }
        ),
        "{err:?}"
    );
}
