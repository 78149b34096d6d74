//! `lakebase auth` against the emulator's authorization server, from a clean HOME with no
//! token in the environment: `auth login` through a headless browser, `auth describe`,
//! `ci pr-branch` under that login, two `auth token` processes refreshing at once (one
//! refresh request), `auth profiles` and `auth logout`.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Env, USER};

/// Fetches the URL it is given, following the authorize redirect to the CLI's listener.
const HEADLESS_BROWSER: &str = r#"#!/usr/bin/env python3
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(sys.argv[1], timeout=30).read()
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_work_with_no_token_anywhere() {
    let env = Env::api_only().await;
    env.project("shop").await;
    let browser = env.home.path().join("headless-browser");
    std::fs::write(&browser, HEADLESS_BROWSER).unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = env.home.path().join(".databrickscfg");
    std::fs::write(&cfg, "# mine\n[other]\nhost = https://other.example.com\n").unwrap();
    let host = env.emu.base_url();
    let port = free_port().to_string();
    let browser = browser.display().to_string();
    let person = [
        ("DATABRICKS_TOKEN", ""),
        ("DATABRICKS_HOST", ""),
        ("BROWSER", browser.as_str()),
        ("LAKEBASE_OAUTH_REDIRECT_PORT", port.as_str()),
    ];

    let login = env
        .run_with(&["auth", "login", "--host", &host, "-o", "json"], &person)
        .await
        .expect(0);
    assert_eq!(login.json()["user"], USER);
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert_eq!(
        written,
        format!(
            "# mine\n[other]\nhost = https://other.example.com\n\n[DEFAULT]\nhost = {host}\nauth_type = external-browser\n"
        )
    );
    assert_eq!(std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600);

    let describe = env
        .run_with(&["auth", "describe", "-o", "json"], &person)
        .await
        .expect(0);
    let d = describe.json();
    assert_eq!(d["auth_type"], "external-browser");
    assert_eq!(d["user"], USER);
    assert_eq!(d["host"], host);
    assert_eq!(d["sources"]["host"]["source"], "profile");
    assert_eq!(d["sources"]["auth_type"]["value"], "external-browser");

    let pr = env
        .run_with(
            &["ci", "pr-branch", "--project", "shop", "--pr", "7", "-o", "json"],
            &person,
        )
        .await
        .expect(0);
    assert_eq!(pr.json()["name"], "projects/shop/branches/pr-7");

    // Expire the cached access token; two processes refresh at once: one refresh request.
    let dir = env.home.path().join(".config/lakebase/oauth");
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a cache entry");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    json["expiry"] = "2000-01-01T00:00:00Z".into();
    std::fs::write(&entry, serde_json::to_vec(&json).unwrap()).unwrap();
    let before = env.emu.oauth_grant_counts().get("refresh_token").copied().unwrap_or(0);
    let (a, b) = tokio::join!(
        env.run_with(&["auth", "token"], &person),
        env.run_with(&["auth", "token"], &person)
    );
    let (a, b) = (a.expect(0).json(), b.expect(0).json());
    assert_eq!(a["access_token"], b["access_token"], "both got the one new token");
    assert_ne!(a["access_token"], json["access_token"]);
    assert_eq!(a["token_type"], "Bearer");
    assert!(a["expiry"].as_str().is_some_and(|e| e.ends_with('Z')));
    let after = env.emu.oauth_grant_counts()["refresh_token"];
    assert_eq!(after - before, 1, "one refresh request for two processes");

    let profiles = env
        .run_with(&["auth", "profiles", "-o", "json"], &person)
        .await
        .expect(0);
    let list = profiles.json()["profiles"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let default = list.iter().find(|p| p["name"] == "DEFAULT").unwrap();
    assert_eq!(
        (default["auth_type"].as_str(), default["valid"].as_bool()),
        (Some("external-browser"), Some(true))
    );

    let out = env.run_with(&["auth", "logout", "-o", "json"], &person).await.expect(0);
    assert_eq!(out.json()["removed"], 1);
    // Logged out, with a browser that does nothing: a clear failure, not a hang.
    let failed = env
        .run_with(
            &["auth", "token"],
            &[
                ("DATABRICKS_TOKEN", ""),
                ("DATABRICKS_HOST", ""),
                ("BROWSER", "/bin/true"),
                ("LAKEBASE_OAUTH_REDIRECT_PORT", port.as_str()),
                ("LAKEBASE_OAUTH_LOGIN_TIMEOUT", "1"),
            ],
        )
        .await;
    assert_ne!(failed.code, 0);
    assert!(failed.stderr.contains("not finished within 1s"), "{}", failed.stderr);
}
