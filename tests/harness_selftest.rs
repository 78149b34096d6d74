//! Tests of the harness itself: deliberately broken cassettes must fail, with a report
//! naming the cassette and the field.

use std::path::PathBuf;

use lakebase_conformance::cassette::{self, Cassette, Expect, builtin_dir};
use lakebase_conformance::compare::compare_request;
use lakebase_conformance::replay::ReplayServer;
use lakebase_conformance::runner::run_cassette;
use serde_json::{Value, json};

fn load(file: &str) -> Cassette {
    cassette::load_file(&builtin_dir().join(file)).expect("built-in cassette")
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
fn unknown_config_key_is_a_failure() {
    let mut c = load("get_project__basic.json");
    c.config.insert("account_id".into(), json!("a"));
    must_fail(&c, &["account_id"]);
}

#[test]
fn escaped_slash_in_path_fails() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = load("get_project__basic.json");
    runtime.block_on(async {
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
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
