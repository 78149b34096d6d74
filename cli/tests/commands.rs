//! `connect`, `connection-string`, `api` and `completions` against the API-only emulator
//! (psql replaced by a script that reports what it was given).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{Env, TOKEN, USER};
use lakebase_emulator::Emulator;
use serde_json::{Value, json};

/// A stand-in psql that prints its arguments and the libpq environment it got.
fn fake_psql(dir: &std::path::Path) {
    let script = "#!/bin/sh\nfor a in \"$@\"; do echo \"arg=$a\"; done\nfor v in PGHOST PGPORT PGDATABASE PGUSER PGSSLMODE PGAPPNAME PGPASSWORD; do eval \"echo $v=\\$$v\"; done\nexit 7\n";
    let path = dir.join("psql");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

async fn production_host(env: &Env) -> String {
    let endpoint = env
        .run(&[
            "api",
            "get-endpoint",
            "projects/shop/branches/production/endpoints/primary",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    endpoint["status"]["hosts"]["host"].as_str().expect("host").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_passes_the_credential_through_the_environment_only() {
    let env = Env::api_only().await;
    env.project("shop").await;
    let host = production_host(&env).await;
    let bin = tempfile::tempdir().unwrap();
    fake_psql(bin.path());
    let run = env
        .run_with(
            &[
                "connect",
                "shop/production",
                "--database",
                "app",
                "--",
                "-c",
                "select 1",
                "--no-psqlrc",
            ],
            &[
                ("LAKEBASE_PG_BIN", &bin.path().display().to_string()),
                ("PGPORT", "6543"),
            ],
        )
        .await;
    assert_eq!(run.code, 7, "psql's exit code is passed on: {run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let password = lines
        .iter()
        .find_map(|l| l.strip_prefix("PGPASSWORD="))
        .expect("PGPASSWORD set");
    assert!(!password.is_empty() && password != TOKEN);
    assert_eq!(
        lines,
        vec![
            "arg=-c",
            "arg=select 1",
            "arg=--no-psqlrc",
            &format!("PGHOST={host}"),
            "PGPORT=6543",
            "PGDATABASE=app",
            &format!("PGUSER={USER}"),
            "PGSSLMODE=require",
            "PGAPPNAME=lakebase-cli",
            &format!("PGPASSWORD={password}"),
        ]
    );
    assert_eq!(env.emu.request_count("generate_database_credential"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_strings_in_three_formats() {
    let env = Env::api_only().await;
    env.project("shop").await;
    let host = production_host(&env).await;
    let json = env
        .run(&["connection-string", "shop/production", "--format", "json"])
        .await
        .expect(0)
        .json();
    let password = json["password"].as_str().unwrap().to_string();
    let url = format!("postgres://alice%40example.com:{password}@{host}:5432/databricks_postgres?sslmode=require");
    let expire_time = json["expire_time"].as_str().expect("expire_time").to_string();
    assert_eq!(
        json,
        json!({
            "branch": "projects/shop/branches/production",
            "endpoint": "projects/shop/branches/production/endpoints/primary",
            "host": host,
            "port": 5432,
            "database": "databricks_postgres",
            "user": USER,
            "password": password,
            "sslmode": "require",
            "url": url,
            "expire_time": expire_time,
        })
    );
    // -o json is the same object.
    let same = env
        .run(&["connection-string", "shop/production", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(same["url"].as_str().unwrap().split(':').count(), 4);

    let url_run = env.run(&["connection-string", "shop/production"]).await.expect(0);
    let line = url_run.stdout.trim_end();
    assert!(line.starts_with("postgres://alice%40example.com:"), "{line}");
    assert!(
        line.ends_with(&format!("@{host}:5432/databricks_postgres?sslmode=require")),
        "{line}"
    );

    let env_run = env
        .run(&["connection-string", "shop/production", "--format", "env", "-d", "app"])
        .await
        .expect(0);
    let lines: Vec<&str> = env_run.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", env_run.stdout);
    assert_eq!(lines[0], format!("export PGHOST='{host}'"));
    assert_eq!(lines[1], "export PGPORT='5432'");
    assert_eq!(lines[2], "export PGDATABASE='app'");
    assert_eq!(lines[3], format!("export PGUSER='{USER}'"));
    assert!(
        lines[4].starts_with("export PGPASSWORD='") && lines[4].len() > 21,
        "{}",
        lines[4]
    );
    assert_eq!(lines[5], "export PGSSLMODE='require'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_commands_send_json_and_wait() {
    let env = Env::with(Emulator::builder().op_latency(Duration::ZERO).default_page_size(1)).await;
    env.project("shop").await;
    let created = env
        .run(&[
            "api",
            "create-branch",
            "projects/shop",
            "dev",
            "-o",
            "json",
            "--json",
            r#"{"spec": {"source_branch": "projects/shop/branches/production", "no_expiry": true}}"#,
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(created["name"], "projects/shop/branches/dev");
    assert_eq!(created["status"]["source_branch"], "projects/shop/branches/production");

    // Lists follow every page (the emulator serves one item per page here).
    let list = env
        .run(&["api", "list-branches", "projects/shop", "-o", "json"])
        .await
        .expect(0)
        .json();
    let names: Vec<&str> = list["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{list}");
    assert!(names.contains(&"projects/shop/branches/dev") && names.contains(&"projects/shop/branches/production"));
    assert_eq!(object_len(&list), 1);
    assert_eq!(env.emu.request_count("list_branches"), 2);
    // --page-token: one page as the API sends it.
    let page = env
        .run(&[
            "api",
            "list-branches",
            "projects/shop",
            "--page-size",
            "1",
            "--page-token",
            "",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(page["branches"].as_array().unwrap().len(), 1);
    assert!(page["next_page_token"].is_string(), "{page}");

    // An update with the body from stdin is not possible here (stdin is null): from a file.
    let change = env.home.path().join("change.json");
    std::fs::write(&change, r#"{"spec": {"is_protected": true}}"#).unwrap();
    let updated = env
        .run(&[
            "api",
            "update-branch",
            "projects/shop/branches/dev",
            "--update-mask",
            "spec.is_protected",
            "--json",
            &format!("@{}", change.display()),
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(updated["status"]["is_protected"], true);

    // Refusals keep the API's status and code.
    let op = env
        .run(&[
            "api",
            "delete-branch",
            "projects/shop/branches/production",
            "--no-wait",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(op.code, 3, "the default branch cannot be deleted: {op:#?}");
    let protected = env
        .run(&["api", "delete-branch", "projects/shop/branches/dev", "-o", "json"])
        .await;
    assert_eq!(protected.code, 3);
    let error: Value = serde_json::from_str(protected.stderr.trim_end()).unwrap();
    assert_eq!(error["error"]["status"], 400);
    assert_eq!(error["error"]["error_code"], "INVALID_STATE");
    env.run(&[
        "api",
        "update-branch",
        "projects/shop/branches/dev",
        "--update-mask",
        "spec.is_protected",
        "--json",
        r#"{"spec": {"is_protected": false}}"#,
    ])
    .await
    .expect(0);
    // --no-wait prints the operation instead of its result.
    let op = env
        .run(&[
            "api",
            "delete-branch",
            "projects/shop/branches/dev",
            "--no-wait",
            "--purge",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert!(op["name"].as_str().unwrap().starts_with("projects/shop/"), "{op}");
    assert!(op.get("done").is_some(), "{op}");

    // A plain call: the credential, printed as the API returns it.
    let credential = env
        .run(&[
            "api",
            "generate-database-credential",
            "--json",
            r#"{"endpoint": "projects/shop/branches/production/endpoints/primary"}"#,
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert!(
        credential["token"].is_string() && credential["expire_time"].is_string(),
        "{credential}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_for_three_shells() {
    let env = Env::api_only().await;
    for (shell, marker) in [
        ("bash", "_lakebase()"),
        ("zsh", "#compdef lakebase"),
        ("fish", "complete -c lakebase"),
    ] {
        let run = env.run(&["completions", shell]).await.expect(0);
        assert!(run.stdout.contains(marker), "{shell}");
        assert!(run.stdout.contains("pr-branch"), "{shell}");
    }
    assert_eq!(env.emu.total_requests(), 0);
}

fn object_len(v: &Value) -> usize {
    v.as_object().map_or(0, |o| o.len())
}
