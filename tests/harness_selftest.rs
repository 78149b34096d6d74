//! Tests of the harness itself: deliberately broken cassettes must fail, with a report
//! naming the cassette and the field.

use std::path::PathBuf;

use lakebase_conformance::cassette::{self, Cassette, Expect, builtin_dir};
use lakebase_conformance::compare::compare_request;
use lakebase_conformance::dispatch::dispatch;
use lakebase_conformance::replay::ReplayServer;
use lakebase_conformance::runner::{client_for, run_cassette};
use serde_json::{Value, json};

fn load(file: &str) -> Cassette {
    cassette::load_file(&builtin_dir().join(file)).expect("built-in cassette")
}

/// Runs `future` to completion on a fresh current-thread runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn must_fail(c: &Cassette, needles: &[&str]) -> String {
    let report = run_cassette(c, None).expect_err("a broken cassette must fail");
    assert!(
        report.contains(&format!("`{}`", c.id)),
        "report does not name the cassette:\n{report}"
    );
    for n in needles {
        assert!(report.contains(n), "report does not mention {n:?}:\n{report}");
    }
    report
}

#[test]
fn unbroken_cassette_passes() {
    run_cassette(&load("create_branch__call.json"), None).unwrap();
}

#[test]
fn changed_query_value_fails_naming_the_parameter() {
    let mut c = load("create_branch__call.json");
    c.exchanges[0].request.query[0].1 = "not-dev".into();
    must_fail(&c, &["exchange 0", "query `branch_id`", "\"not-dev\""]);
}

#[test]
fn changed_body_field_fails_naming_the_json_path() {
    let mut c = load("create_branch__call.json");
    let body = c.exchanges[0].request.body.as_object_mut().unwrap();
    body.insert(
        "spec".into(),
        json!({"is_protected": true, "source_branch": "projects/my-app/branches/elsewhere"}),
    );
    must_fail(&c, &["exchange 0", "body $.spec."]);
}

#[test]
fn changed_expected_result_fails_naming_the_json_path() {
    let mut c = load("get_project__basic.json");
    let Expect::Result(Value::Object(result)) = &mut c.expect else {
        panic!("result expected")
    };
    result.insert("uid".into(), json!("changed-uid"));
    must_fail(&c, &["result $.uid", "changed-uid"]);
}

#[test]
fn changed_expected_error_fails() {
    let mut c = load("get_project__not_found.json");
    let Expect::Error(e) = &mut c.expect else {
        panic!("error expected")
    };
    e.message = "something else".into();
    e.error_code = Some("RESOURCE_DOES_NOT_EXIST".into());
    must_fail(&c, &["error message", "error_code"]);
}

#[test]
fn extra_request_fails() {
    // Drop the last page: the client still follows the token and sends one request more.
    let mut c = load("list_branches__page_size.json");
    c.exchanges.pop();
    must_fail(&c, &["request count", "unexpected extra request"]);
}

#[test]
fn missing_request_fails() {
    let mut c = load("get_project__basic.json");
    let extra = c.exchanges[0].clone();
    c.exchanges.push(extra);
    must_fail(&c, &["request count", "was never sent"]);
}

#[test]
fn missing_header_expectation_fails() {
    let mut c = load("get_project__basic.json");
    c.exchanges[0]
        .request
        .headers
        .insert("X-Databricks-Workspace-Id".into(), "42".into());
    must_fail(&c, &["header `X-Databricks-Workspace-Id`"]);
}

#[test]
fn workspace_id_config_is_sent() {
    let mut c = load("get_project__basic.json");
    c.config.insert("workspace_id".into(), json!("1234567890"));
    c.exchanges[0]
        .request
        .headers
        .insert("X-Databricks-Workspace-Id".into(), "1234567890".into());
    run_cassette(&c, None).unwrap();
}

#[test]
fn unknown_argument_is_a_failure_not_a_skip() {
    let mut c = load("get_project__basic.json");
    c.args.insert("if_match".into(), json!("x"));
    must_fail(&c, &["if_match", "dispatcher"]);
}

#[test]
fn unknown_method_is_a_failure() {
    let mut c = load("get_project__basic.json");
    c.method = "get_something".into();
    must_fail(&c, &["unknown method `get_something`"]);
}

#[test]
fn sdk_timeouts_in_config_are_applied() {
    let mut c = load("get_project__retry_503.json");
    c.config.insert("http_timeout_seconds".into(), json!(30));
    c.config.insert("retry_timeout_seconds".into(), json!(600));
    run_cassette(&c, None).unwrap();
    // With no retry budget, the 503 is final: the recorded retry is never sent.
    c.config.insert("retry_timeout_seconds".into(), json!(0));
    must_fail(&c, &["expected 2 requests, got 1", "retry budget"]);
    c.config.insert("retry_timeout_seconds".into(), json!("soon"));
    must_fail(&c, &["config.retry_timeout_seconds: expected a number of seconds"]);
}

#[test]
fn unknown_config_key_is_a_failure() {
    let mut c = load("get_project__basic.json");
    c.config.insert("account_id".into(), json!("a"));
    must_fail(&c, &["account_id"]);
}

#[test]
fn escaped_slash_in_path_fails() {
    let c = load("get_project__basic.json");
    block_on(async {
        let server = ReplayServer::start(vec![c.exchanges[0].response.clone()])
            .await
            .unwrap();
        let url = format!("{}/api/2.0/postgres/projects%2Fmy-app", server.base_url());
        let response = reqwest::Client::new()
            .get(url)
            .header("Accept", "application/json")
            .header("Authorization", "Bearer dapi-conformance-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let received = server.requests();
        assert_eq!(received.len(), 1);
        // The server records the raw bytes, not the decoded path.
        assert_eq!(received[0].path, "/api/2.0/postgres/projects%2Fmy-app");
        let mut expected = c.exchanges[0].request.clone();
        expected.path = "/api/2.0/postgres/projects/my-app".into();
        let diffs = compare_request(&expected, &received[0]);
        assert!(diffs.iter().any(|d| d.starts_with("path:")), "{diffs:?}");
        // An escaped unreserved character is only a spelling difference.
        let mut tilde = received[0].clone();
        tilde.path = "/api/2.0/postgres/projects/my%2Dapp".into();
        assert!(compare_request(&expected, &tilde).is_empty());
    });
}

#[test]
fn request_beyond_the_script_gets_an_error_status() {
    block_on(async {
        let server = ReplayServer::start(vec![]).await.unwrap();
        let response = reqwest::get(format!("{}/x?a=1", server.base_url())).await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            lakebase_conformance::replay::EXTRA_REQUEST_STATUS
        );
        let received = server.requests();
        assert!(received[0].beyond_script);
        assert_eq!(received[0].raw_query, "a=1");
    });
}

#[test]
fn extra_cassette_directories_are_loaded_recursively() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lakebase-cassettes-{}", std::process::id()));
    let nested = dir.join("a").join("b");
    std::fs::create_dir_all(&nested).unwrap();
    let mut c = load("get_project__basic.json");
    c.id = "get_project/from_extra_dir".into();
    std::fs::write(nested.join("x.json"), serde_json::to_string(&c).unwrap()).unwrap();
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    std::fs::write(dir.join("ignored.txt"), "not a cassette").unwrap();
    let loaded = cassette::load_dirs(std::slice::from_ref(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(loaded.len(), 2, "{loaded:?}");
    let good = loaded
        .iter()
        .find(|l| l.name == "get_project/from_extra_dir")
        .expect("nested cassette loaded");
    run_cassette(good.cassette.as_ref().unwrap(), Some(&good.path)).unwrap();
    let broken = loaded
        .iter()
        .find(|l| l.cassette.is_err())
        .expect("broken file kept as a failure");
    assert_eq!(broken.name, "broken");
}

// ---------------------------------------------------------------------------------------------
// Rule `client-side-validation`
// ---------------------------------------------------------------------------------------------

const RULE: &str = "`client-side-validation`";

/// A 400 the server gives for an invalid id, as the SDK records it.
fn refused_400(message: &str) -> Value {
    json!({
        "status": 400,
        "headers": {"Content-Type": "application/json"},
        "body": {"error_code": "INVALID_PARAMETER_VALUE", "message": message}
    })
}

fn expected_400(message: &str) -> Value {
    json!({"error": {
        "exception": "InvalidParameterValue",
        "exception_bases": ["BadRequest", "DatabricksError"],
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": message,
        "status": 400
    }})
}

/// The minimal cassette of the rule: `create_project` with an id our client refuses, one
/// request, the server's 400, the SDK's `InvalidParameterValue`.
fn invalid_project_id() -> Cassette {
    let message = "Invalid project_id 'Rec_App': must be 1-63 characters";
    cassette::parse(
        &json!({
            "id": "create_project/selftest_invalid_id",
            "method": "create_project",
            "args": {"project_id": "Rec_App", "project": {}},
            "exchanges": [{
                "request": {
                    "method": "POST",
                    "path": "/api/2.0/postgres/projects",
                    "raw_query": "project_id=Rec_App",
                    "query": [["project_id", "Rec_App"]],
                    "headers": {
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                        "Authorization": "Bearer dapi-conformance-token"
                    },
                    "body": {}
                },
                "response": refused_400(message)
            }],
            "expect": expected_400(message)
        })
        .to_string(),
    )
    .expect("a valid cassette")
}

#[test]
fn client_side_validation_accepts_a_400_for_an_invalid_id() {
    run_cassette(&invalid_project_id(), None).unwrap();
}

#[test]
fn client_side_validation_accepts_a_name_and_a_mask_refused_by_the_dispatcher() {
    // The name is refused while the dispatcher parses it (`NameError`), the mask while it
    // builds the `FieldMask` (`FieldMaskError`): both are call outcomes, not harness errors.
    let mut c = load("get_project__basic.json");
    c.id = "get_project/selftest_invalid_name".into();
    // Parsing a full name checks its structure (ids are checked when built from parts).
    c.args.insert("name".into(), json!("projects/"));
    c.exchanges[0].response = serde_json::from_value(refused_400("Invalid project name 'projects/'")).unwrap();
    c.expect = serde_json::from_value(expected_400("Invalid project name 'projects/'")).unwrap();
    run_cassette(&c, None).unwrap();

    let mut c = invalid_project_id();
    c.id = "update_project/selftest_empty_mask".into();
    c.method = "update_project".into();
    c.args = serde_json::from_value(json!({
        "name": "projects/my-app", "project": {"spec": {"display_name": "x"}}, "update_mask": ""
    }))
    .unwrap();
    run_cassette(&c, None).unwrap();
}

#[test]
fn client_side_validation_rejects_input_the_server_accepted() {
    let mut c = invalid_project_id();
    let operation = json!({"name": "projects/rec-app/operations/op1", "done": false});
    c.exchanges[0].response = serde_json::from_value(json!({
        "status": 200, "headers": {"Content-Type": "application/json"}, "body": operation
    }))
    .unwrap();
    c.expect = Expect::Result(operation);
    must_fail(
        &c,
        &["our client refused input the server accepted", RULE, "request count"],
    );
}

#[test]
fn client_side_validation_rejects_two_exchanges() {
    let mut c = invalid_project_id();
    c.exchanges.push(c.exchanges[0].clone());
    must_fail(&c, &["the cassette has 2 exchanges", RULE]);
}

#[test]
fn client_side_validation_rejects_another_error_code() {
    let mut c = invalid_project_id();
    let Expect::Error(e) = &mut c.expect else {
        panic!("error expected")
    };
    e.error_code = Some("NOT_FOUND".into());
    e.exception = "NotFound".into();
    c.exchanges[0].response.body["error_code"] = json!("NOT_FOUND");
    must_fail(&c, &["error_code NOT_FOUND", "is not a `BadRequest`", RULE]);
}

#[test]
fn client_side_validation_rejects_a_response_other_than_400() {
    // The expected error says 400 but the recorded response is a 404: not the rule's case.
    let mut c = invalid_project_id();
    c.exchanges[0].response.status = 404;
    must_fail(&c, &["status 404, not 400", RULE]);
}

#[test]
fn refused_argument_is_an_outcome_with_nothing_sent() {
    block_on(async {
        let server = ReplayServer::start(vec![]).await.unwrap();
        let c = load("get_project__basic.json");
        let client = client_for(&c, server.base_url()).unwrap();
        for (method, args) in [
            ("get_project", json!({"name": "projects/"})),
            ("get_branch", json!({"name": "projects/my-app"})),
            (
                "update_branch",
                json!({"name": "projects/p/branches/b", "branch": {}, "update_mask": "spec. x"}),
            ),
            (
                "create_synced_table",
                json!({"synced_table": {}, "synced_table_id": "orders"}),
            ),
        ] {
            let args = args.as_object().unwrap();
            let outcome = dispatch(&client, method, args, false)
                .await
                .expect("not a harness error");
            assert!(
                matches!(outcome, Err(lakebase::Error::InvalidInput(_))),
                "{method}: {outcome:?}"
            );
        }
        assert!(server.requests().is_empty(), "{:?}", server.requests());
    });
}

#[test]
fn structural_problem_is_not_hidden_by_a_refused_name() {
    // The name is refused by our client, but `update_mask` is not even a string: the
    // cassette is broken, which must be reported as such, not as a call outcome.
    let mut c = invalid_project_id();
    c.method = "update_project".into();
    c.args = serde_json::from_value(json!({
        "name": "projects/", "project": {}, "update_mask": 7
    }))
    .unwrap();
    must_fail(
        &c,
        &[
            "dispatcher cannot run this cassette",
            "update_mask",
            "expected a string",
        ],
    );
}
