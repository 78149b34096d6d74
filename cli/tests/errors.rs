//! Bad input prints one clear line on stderr, nothing on stdout, and the documented exit code
//! (2 usage, 3 API or network, 4 timeout, 5 tool); in JSON mode the line is a JSON object.

mod common;

use std::time::Duration;

use common::Env;
use lakebase_emulator::Emulator;
use serde_json::json;

/// Asserts exit code, empty stdout and exactly `line` on stderr.
fn one_line(run: common::Run, code: i32, line: &str) {
    assert_eq!(run.code, code, "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(run.stderr, format!("{line}\n"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_branch_ids_are_usage_errors() {
    let env = Env::api_only().await;
    one_line(
        env.run(&["branch", "ensure", "shop/Feature_1"]).await,
        2,
        r#"error: invalid branch "shop/Feature_1": invalid branch_id "Feature_1": must match ^[a-z][a-z0-9-]{0,62}$"#,
    );
    one_line(
        env.run(&["branch", "delete", "shop"]).await,
        2,
        r#"error: invalid branch "shop": expected <project>/<branch>, e.g. my-app/dev"#,
    );
    one_line(
        env.run(&["ci", "pr-branch", "--project", "shop", "--pr", "abc"]).await,
        2,
        r#"error: --pr "abc" is not a pull request number (a positive integer)"#,
    );
    one_line(
        env.run(&["api", "get-branch", "projects/shop/endpoints/x"]).await,
        2,
        r#"error: invalid branch name "projects/shop/endpoints/x": malformed resource name "projects/shop/endpoints/x": expected projects/{project_id}/branches/{branch_id}"#,
    );
    assert_eq!(env.emu.total_requests(), 0, "nothing reached the API");

    // clap's own usage errors exit 2 as well.
    let run = env.run(&["branch", "ensure"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: the following required arguments were not provided"),
        "{run:#?}"
    );
    let run = env
        .run(&["branch", "ensure", "shop/dev", "--ttl", "3d", "--no-expiry"])
        .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot be used with"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_profile_is_a_usage_error() {
    let env = Env::api_only().await;
    let config = env.home.path().join(".databrickscfg");
    std::fs::write(
        &config,
        "[DEFAULT]\nhost = https://example.cloud.databricks.com\ntoken = x\n",
    )
    .unwrap();
    one_line(
        env.run_with(
            &["branch", "list", "shop", "--profile", "staging"],
            &[("DATABRICKS_HOST", ""), ("DATABRICKS_TOKEN", "")],
        )
        .await,
        2,
        &format!(
            "error: configuration error: profile \"staging\" not found in config file {}",
            config.display()
        ),
    );
    // JSON mode: the same failure as one JSON object.
    let run = env
        .run_with(
            &["branch", "list", "shop", "--profile", "staging", "-o", "json"],
            &[("DATABRICKS_HOST", ""), ("DATABRICKS_TOKEN", "")],
        )
        .await;
    assert_eq!(run.code, 2);
    let error: serde_json::Value = serde_json::from_str(run.stderr.trim_end()).unwrap();
    assert_eq!(
        error,
        json!({"error": {
            "exit_code": 2,
            "kind": "usage",
            "message": format!("configuration error: profile \"staging\" not found in config file {}", config.display()),
            "status": null,
            "error_code": null,
        }})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_host_is_an_api_error() {
    let env = Env::api_only().await;
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = env
        .run_with(
            &["branch", "list", "shop", "--retry-budget", "0s"],
            &[("DATABRICKS_HOST", &format!("http://127.0.0.1:{port}"))],
        )
        .await;
    assert_eq!(run.code, 3, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot reach http://127.0.0.1:{port}: connect error: ")),
        "{run:#?}"
    );
    assert!(run.stderr.contains("Connection refused"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parents_must_exist_and_match() {
    let env = Env::api_only().await;
    env.project("shop").await;
    one_line(
        env.run(&["branch", "ensure", "shop/dev", "--from", "staging"]).await,
        3,
        "error: parent branch projects/shop/branches/staging does not exist",
    );
    assert_eq!(env.emu.request_count("create_branch"), 0);

    let created = env
        .run(&[
            "branch",
            "ensure",
            "shop/staging",
            "--from",
            "production",
            "--no-expiry",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(created["created"], true);
    assert_eq!(created["expire_time"], serde_json::Value::Null);
    env.run(&["branch", "ensure", "shop/dev", "--from", "staging"])
        .await
        .expect(0);
    one_line(
        env.run(&["branch", "ensure", "shop/dev", "--from", "production"]).await,
        3,
        "error: branch projects/shop/branches/dev exists with parent projects/shop/branches/staging instead of projects/shop/branches/production; delete it or choose another branch id",
    );
    // A project that does not exist: the API's answer, status and code kept.
    let run = env.run(&["branch", "list", "nowhere", "-o", "json"]).await;
    assert_eq!(run.code, 3);
    let error: serde_json::Value = serde_json::from_str(run.stderr.trim_end()).unwrap();
    assert_eq!(error["error"]["status"], 404);
    assert_eq!(error["error"]["error_code"], "NOT_FOUND");
    assert_eq!(error["error"]["kind"], "api");
    // Resetting a branch that other branches were made from is refused before anything changes.
    one_line(
        env.run(&["branch", "reset", "shop/staging"]).await,
        3,
        "error: projects/shop/branches/staging is the parent of projects/shop/branches/dev; reset would orphan them",
    );
    assert_eq!(env.emu.request_count("delete_branch"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_deleted_branch_id_is_explained() {
    let env = Env::api_only().await;
    env.project("shop").await;
    env.run(&["branch", "ensure", "shop/dev"]).await.expect(0);
    env.run(&["branch", "delete", "shop/dev"]).await.expect(0);
    let again = env
        .run(&["branch", "delete", "shop/dev", "--allow-missing", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(
        again,
        json!({"name": "projects/shop/branches/dev", "deleted": false, "purged": false})
    );
    one_line(
        env.run(&["branch", "delete", "shop/dev"]).await,
        3,
        "error: branch projects/shop/branches/dev is already deleted (--allow-missing makes this a success)",
    );
    assert_eq!(env.emu.request_count("delete_branch"), 1);
    one_line(
        env.run(&["branch", "ensure", "shop/dev"]).await,
        3,
        "error: branch projects/shop/branches/dev was deleted without --purge and its id is still taken; restore it with `lakebase api undelete-branch projects/shop/branches/dev` or purge it with `lakebase api delete-branch projects/shop/branches/dev --purge`",
    );
    one_line(
        env.run(&["branch", "reset", "shop/dev"]).await,
        3,
        "error: branch projects/shop/branches/dev was deleted without --purge and its id is still taken; restore it with `lakebase api undelete-branch projects/shop/branches/dev` or purge it with `lakebase api delete-branch projects/shop/branches/dev --purge`",
    );
    assert_eq!(
        env.emu.request_count("create_branch"),
        1,
        "nothing created after the delete"
    );
    let listed = env
        .run(&["branch", "list", "shop", "--show-deleted", "-o", "json"])
        .await
        .expect(0)
        .json();
    let dev = listed["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["branch_id"] == "dev")
        .expect("listed with --show-deleted");
    assert_eq!(dev["deleted"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_end_at_the_timeout() {
    let env = Env::with(Emulator::builder().op_latency(Duration::from_secs(30))).await;
    let run = env
        .run(&["api", "create-project", "slow", "--timeout", "1s", "--json", "{}"])
        .await;
    assert_eq!(run.code, 4, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.starts_with("error: timed out after"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_psql_is_a_tool_error() {
    let env = Env::api_only().await;
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().display().to_string();
    one_line(
        env.run_with(&["connect", "shop/dev"], &[("LAKEBASE_PG_BIN", &dir)])
            .await,
        5,
        &format!("error: psql not found in LAKEBASE_PG_BIN ({dir}/psql)"),
    );
}
