//! `lakebase ci pr-branch` in a simulated GitHub Actions job: no Databricks secret anywhere,
//! only the job's ID token request (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`, which
//! `permissions: id-token: write` provides), pointing at the test OIDC issuer; the emulator
//! trusts it through a federation policy.

mod common;

use std::time::Duration;

use common::Env;
use lakebase_emulator::test_idp::{REQUEST_TOKEN, TestIssuer};
use lakebase_emulator::{Emulator, FederationPolicy};

const SUB: &str = "repo:acme/shop:pull_request";
const SP: &str = "4b1f0c3e-ci-service-principal";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pr_branch_logs_in_through_github_oidc_with_no_secret() {
    let idp = TestIssuer::start(SUB).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let policy: FederationPolicy = format!(
        "issuer={},audience=http://127.0.0.1:{port}/oidc/v1/token,subject={SUB},client_id={SP}",
        idp.url()
    )
    .parse()
    .unwrap();
    let env = Env::with(
        Emulator::builder()
            .bind(([127, 0, 0, 1], port).into())
            .op_latency(Duration::ZERO)
            .federation_policy(policy),
    )
    .await;
    env.project("shop").await; // set up with the emulator's token, as an admin would
    let outputs = env.home.path().join("github_output");
    std::fs::write(&outputs, "").unwrap();
    let url = idp.github_request_url();
    let outputs_var = outputs.display().to_string();
    let run = env
        .run_with(
            &[
                "ci",
                "pr-branch",
                "--project",
                "shop",
                "--pr",
                "12",
                "--github-output",
                "-o",
                "json",
            ],
            &[
                ("DATABRICKS_TOKEN", ""), // no Databricks secret at all
                ("DATABRICKS_CLIENT_ID", SP),
                ("GITHUB_ACTIONS", "true"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN),
                ("GITHUB_OUTPUT", &outputs_var),
            ],
        )
        .await
        .expect(0);
    let json = run.json();
    assert_eq!(json["name"], "projects/shop/branches/pr-12", "{json}");
    assert_eq!(json["created"], true);
    assert!(!run.stdout.contains(REQUEST_TOKEN) && !run.stderr.contains(REQUEST_TOKEN));
    // GitHub was asked for an ID token for the workspace's token endpoint
    let github: Vec<_> = idp
        .requests()
        .into_iter()
        .filter(|r| r.path == "/github/token")
        .collect();
    assert!(!github.is_empty());
    assert!(
        github[0]
            .query
            .as_deref()
            .unwrap()
            .contains("audience=http%3A%2F%2F127.0.0.1"),
        "{github:?}"
    );
    // and the branch was created by the federated service principal's calls
    assert!(env.emu.request_count("create_branch") >= 1);
    // the same job without the ID token request has no credentials and says so
    let run = env
        .run_with(
            &["ci", "pr-branch", "--project", "shop", "--pr", "12", "-o", "json"],
            &[("DATABRICKS_TOKEN", ""), ("DATABRICKS_CLIENT_ID", SP)],
        )
        .await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("github-oidc"), "{run:?}");
}
