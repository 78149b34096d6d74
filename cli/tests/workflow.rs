//! The per-pull-request flow end to end against `lakebase-emulator --postgres`: `ci pr-branch`
//! twice, a migration through `connect`, `schema-diff`, `branch reset`, `branch delete` twice.

mod common;

use common::{Env, USER};
use serde_json::Value;

const PROJECT: &str = "shop";
const BRANCH: &str = "projects/shop/branches/pr-7";
const PARENT: &str = "projects/shop/branches/production";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_per_pull_request() {
    let Some(env) = Env::postgres().await else { return };
    env.project(PROJECT).await;
    let port = env.emu.pg_port().expect("postgres mode").to_string();
    let outputs = env.home.path().join("github_output");
    let outputs_var = outputs.display().to_string();

    // First run, under a simulated GitHub Actions runner: creates the branch, masks the
    // credential (workflow commands first on stdout, then the JSON), writes the outputs.
    let first = env
        .run_with(
            &[
                "ci",
                "pr-branch",
                "--project",
                PROJECT,
                "--pr",
                "7",
                "--github-output",
                "-o",
                "json",
            ],
            &[("GITHUB_OUTPUT", &outputs_var), ("GITHUB_ACTIONS", "true")],
        )
        .await
        .expect(0);
    let json = first.json();
    let host = json["host"].as_str().expect("host").to_string();
    assert!(host.starts_with("127.0.0."), "{json}");
    let written = std::fs::read_to_string(&outputs).unwrap();
    let url = written
        .lines()
        .find_map(|l| l.strip_prefix("database_url="))
        .expect("database_url output")
        .to_string();
    let token = url
        .strip_prefix("postgres://alice%40example.com:")
        .and_then(|rest| rest.split_once('@'))
        .map(|(token, _)| token.to_string())
        .expect("the URL carries the user and the credential");
    assert!(!token.is_empty());
    assert_eq!(
        url,
        format!("postgres://alice%40example.com:{token}@{host}:{port}/databricks_postgres?sslmode=require")
    );
    assert_eq!(
        json["database_url"],
        url.replace(&token, "***"),
        "stdout shows the URL redacted when it went to GITHUB_OUTPUT"
    );
    let expire_time = json["expire_time"].as_str().expect("expire_time").to_string();
    assert_eq!(json["name"], BRANCH);
    assert_eq!(json["project_id"], PROJECT);
    assert_eq!(json["branch_id"], "pr-7");
    assert_eq!(json["parent"], PARENT);
    assert_eq!(json["created"], true);
    assert_eq!(json["endpoint"], format!("{BRANCH}/endpoints/primary"));
    assert_eq!(json["database"], "databricks_postgres");
    assert_eq!(json["user"], USER);
    assert!(json["credential_expire_time"].is_string(), "{json}");
    assert_eq!(object_keys(&json).len(), 12, "{json}");
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", first.stdout);
    assert_eq!(lines[0], format!("::add-mask::{token}"));
    assert_eq!(lines[1], format!("::add-mask::{url}"));
    assert_eq!(
        written,
        format!(
            "branch=pr-7\nbranch_name={BRANCH}\nhost={host}\ndatabase_url={url}\ncreated=true\nexpire_time={expire_time}\n"
        )
    );
    assert_eq!(first.stderr, "");
    assert_eq!(env.emu.request_count("create_branch"), 1);

    // Second run, outside Actions with --github-output: stdout is exactly one JSON
    // document, and the credential is on neither stdout nor stderr (only in the file).
    std::fs::remove_file(&outputs).unwrap();
    let second = env
        .run_with(
            &[
                "ci",
                "pr-branch",
                "--project",
                PROJECT,
                "--pr",
                "7",
                "--github-output",
                "-o",
                "json",
            ],
            &[("GITHUB_OUTPUT", &outputs_var)],
        )
        .await
        .expect(0);
    let json2: Value = serde_json::from_str(&second.stdout).expect("stdout is one JSON document");
    let token2 = std::fs::read_to_string(&outputs)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("database_url="))
        .and_then(|u| u.strip_prefix("postgres://alice%40example.com:"))
        .and_then(|rest| rest.split_once('@'))
        .map(|(token, _)| token.to_string())
        .expect("the credential went to GITHUB_OUTPUT");
    assert!(!second.stdout.contains("::add-mask::"), "{}", second.stdout);
    assert!(
        !second.stdout.contains(&token2) && !second.stderr.contains(&token2),
        "{second:?}"
    );
    assert_eq!(second.stderr, "");
    assert_eq!(json2["created"], false);
    assert_eq!(json2["name"], BRANCH);
    assert_eq!(json2["parent"], PARENT);
    assert_eq!(json2["host"], host.as_str());
    assert!(
        json2["expire_time"].as_str().unwrap() >= expire_time.as_str(),
        "{json2}"
    );
    // Third run, under Actions without --github-output: the URL is the output, whole.
    let third = env
        .run_with(
            &["ci", "pr-branch", "--project", PROJECT, "--pr", "7", "-o", "json"],
            &[("GITHUB_ACTIONS", "true")],
        )
        .await
        .expect(0);
    assert_eq!(third.stdout.lines().count(), 1, "no mask lines without --github-output");
    let json3 = third.json();
    assert!(!json3["database_url"].as_str().unwrap().contains(":***@"), "{json3}");
    assert_eq!(env.emu.request_count("create_branch"), 1);
    assert_eq!(
        env.emu.request_count("update_branch"),
        2,
        "the second and third runs move the expiry"
    );

    // The branch list shows both branches.
    let list = env
        .run(&["branch", "list", PROJECT, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(list["project"], "projects/shop");
    let branches = list["branches"].as_array().unwrap();
    let pr = branches.iter().find(|b| b["name"] == BRANCH).expect("pr-7 listed");
    assert_eq!(pr["branch_id"], "pr-7");
    assert_eq!(pr["parent"], PARENT);
    assert_eq!(pr["state"], "READY");
    assert_eq!(pr["default"], false);
    assert_eq!(pr["protected"], false);
    assert_eq!(pr["deleted"], false);
    assert_eq!(pr["expire_time"], json3["expire_time"]);
    let production = branches
        .iter()
        .find(|b| b["name"] == PARENT)
        .expect("production listed");
    assert_eq!(production["default"], true);
    assert_eq!(production["expire_time"], Value::Null);
    assert_eq!(branches.len(), 2);

    // A migration through `connect`.
    let migrate = env
        .run(&[
            "connect",
            "shop/pr-7",
            "--",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE widgets (id integer PRIMARY KEY, name text NOT NULL)",
        ])
        .await
        .expect(0);
    assert_eq!(migrate.stdout, "CREATE TABLE\n");

    // schema-diff shows exactly that table and exits "different".
    let diff = env
        .run(&["schema-diff", "shop/pr-7", "-o", "json"])
        .await
        .expect(1)
        .json();
    assert_eq!(diff["branch"], BRANCH);
    assert_eq!(diff["base"], PARENT);
    assert_eq!(diff["database"], "databricks_postgres");
    assert_eq!(diff["different"], true);
    let text = diff["diff"].as_str().unwrap();
    assert!(text.starts_with(&format!("--- {PARENT}\n+++ {BRANCH}\n@@ ")), "{text}");
    let changes: Vec<&str> = text
        .lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert!(changes.iter().all(|l| l.starts_with('+')), "only additions: {text}");
    let added: String = changes.iter().map(|l| &l[1..]).collect::<Vec<_>>().join("\n");
    assert!(
        added.contains("CREATE TABLE public.widgets (\n    id integer NOT NULL,\n    name text NOT NULL\n);"),
        "{added}"
    );
    assert!(
        added.contains("ALTER TABLE ONLY public.widgets\n    ADD CONSTRAINT widgets_pkey PRIMARY KEY (id);"),
        "{added}"
    );
    assert!(!added.contains("OWNER TO") && !added.contains("--"), "{added}");
    let markdown = env
        .run(&[
            "schema-diff",
            "shop/pr-7",
            "--format",
            "markdown",
            "--base",
            "shop/production",
        ])
        .await
        .expect(1);
    assert!(
        markdown
            .stdout
            .starts_with("### Schema diff: `pr-7` vs `production` (database `databricks_postgres`)\n\n"),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown.stdout.contains(&format!("```diff\n{text}```\n")),
        "{}",
        markdown.stdout
    );

    // reset brings the parent's schema back.
    let reset = env
        .run(&["branch", "reset", "shop/pr-7", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(reset["name"], BRANCH);
    assert_eq!(reset["parent"], PARENT);
    assert_eq!(reset["endpoint"], format!("{BRANCH}/endpoints/primary"));
    assert_eq!(reset["previous_host"], host.as_str());
    let new_host = reset["host"].as_str().unwrap();
    assert_eq!(reset["host_changed"], new_host != host, "{reset}");
    assert_eq!(reset["expire_time"], json3["expire_time"], "reset keeps the expiry");
    let same = env
        .run(&["schema-diff", "shop/pr-7", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(same["different"], false);
    assert_eq!(same["diff"], "");
    let text = env.run(&["schema-diff", "shop/pr-7"]).await.expect(0);
    assert_eq!(
        text.stdout,
        format!("no schema differences between {BRANCH} and {PARENT}\n")
    );

    // delete twice: the second finds nothing and still succeeds.
    let gone = env
        .run(&[
            "branch",
            "delete",
            "shop/pr-7",
            "--allow-missing",
            "--purge",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(
        gone,
        serde_json::json!({"name": BRANCH, "deleted": true, "purged": true})
    );
    let again = env
        .run(&["branch", "delete", "shop/pr-7", "--allow-missing", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(
        again,
        serde_json::json!({"name": BRANCH, "deleted": false, "purged": false})
    );
    let missing = env.run(&["branch", "delete", "shop/pr-7"]).await.expect(3);
    assert_eq!(
        missing.stderr,
        format!("error: branch {BRANCH} does not exist (--allow-missing makes this a success)\n")
    );
}

fn object_keys(v: &Value) -> Vec<&String> {
    v.as_object().map(|o| o.keys().collect()).unwrap_or_default()
}
