//! Person logins against the emulator's authorization server: `external-browser` with a
//! headless "browser" (a `$BROWSER` program that follows the authorize redirect), its token
//! cache (hit, refresh after expiry, rotation, a refused refresh token), an abandoned login
//! (time-out, port freed), `databricks-cli` through a stand-in `databricks` on `PATH`, and
//! the chain's error when nothing fits.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lakebase::auth::u2m::cache::{CacheKey, TokenCache};
use lakebase::config::MapEnv;
use lakebase::{Client, Config, Error};
use lakebase_emulator::Emulator;

/// A headless browser: fetches the URL it is given, following the 302 to the redirect
/// (no proxy), and appends the URL it was given to `$1.log`.
const HEADLESS_BROWSER: &str = r#"#!/usr/bin/env python3
import sys, urllib.request
open(sys.argv[0] + ".log", "a").write(sys.argv[1] + "\n")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(opener.open(sys.argv[1], timeout=30).read().decode())
"#;

fn executable(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A free loopback port (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Person {
    home: tempfile::TempDir,
    browser: PathBuf,
    port: u16,
}

impl Person {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let browser = executable(home.path(), "headless-browser", HEADLESS_BROWSER);
        Self {
            home,
            browser,
            port: free_port(),
        }
    }

    fn env(&self, browser: &str) -> MapEnv {
        MapEnv::new()
            .with_home(self.home.path())
            .with_var("BROWSER", browser)
            .with_var("LAKEBASE_OAUTH_REDIRECT_PORT", self.port.to_string())
            .with_var("LAKEBASE_OAUTH_LOGIN_TIMEOUT", "20")
            .with_var("PATH", "/nonexistent")
    }

    fn client(&self, emu: &Emulator, browser: &str) -> Client {
        let config = Config::builder()
            .host(emu.base_url())
            .auth_type("external-browser")
            .env(Arc::new(self.env(browser)))
            .build()
            .unwrap();
        assert_eq!(config.auth_type(), "external-browser");
        Client::new(config).unwrap()
    }

    fn browser_visits(&self) -> Vec<String> {
        std::fs::read_to_string(self.browser.with_extension("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn cache(&self) -> TokenCache {
        TokenCache::in_home(self.home.path())
    }

    fn key(&self, emu: &Emulator) -> CacheKey {
        CacheKey::new(
            &emu.base_url(),
            "databricks-cli",
            &["all-apis".into(), "offline_access".into()],
        )
    }

    /// Moves the cached access token's expiry into the past.
    fn expire_cached_token(&self, emu: &Emulator) {
        let path = self.cache().path(&self.key(emu));
        let mut entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        entry["expiry"] = "2000-01-01T00:00:00Z".into();
        std::fs::write(&path, serde_json::to_vec(&entry).unwrap()).unwrap();
    }
}

fn count(emu: &Emulator, grant: &str) -> u64 {
    emu.oauth_grant_counts().get(grant).copied().unwrap_or(0)
}

#[tokio::test]
async fn browser_login_then_cache_then_refresh_with_rotation() {
    let emu = Emulator::start().await.unwrap();
    let person = Person::new();
    let browser = person.browser.to_str().unwrap().to_owned();

    // First login: the browser is sent to the authorize endpoint and follows its redirect.
    let me = person.client(&emu, &browser).current_user().await.unwrap();
    assert_eq!(me.user_name.as_deref(), Some("user@example.com"));
    let visits = person.browser_visits();
    assert_eq!(visits.len(), 1, "{visits:?}");
    let url = url::Url::parse(&visits[0]).unwrap();
    assert_eq!(url.path(), "/oidc/v1/authorize");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "databricks-cli");
    assert_eq!(q["redirect_uri"], format!("http://localhost:{}", person.port));
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "all-apis offline_access");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 16);
    assert_eq!((count(&emu, "authorize"), count(&emu, "authorization_code")), (1, 1));

    // The cache: one private file, holding no more than host, client, scopes and tokens.
    let cache_file = person.cache().path(&person.key(&emu));
    let mode = std::fs::metadata(&cache_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = person.cache().load(&person.key(&emu)).unwrap();

    // A second run, with a browser that fails if started: the cached token is used as is.
    let me = person.client(&emu, "/bin/false").current_user().await.unwrap();
    assert_eq!(me.user_name.as_deref(), Some("user@example.com"));
    assert_eq!(person.browser_visits().len(), 1);
    assert_eq!(count(&emu, "refresh_token"), 0);

    // After the access token expired: one refresh, a new refresh token (rotation).
    person.expire_cached_token(&emu);
    person.client(&emu, "/bin/false").current_user().await.unwrap();
    assert_eq!(count(&emu, "refresh_token"), 1);
    assert_eq!(count(&emu, "authorization_code"), 1);
    let second = person.cache().load(&person.key(&emu)).unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(
        second.refresh_token, first.refresh_token,
        "the refresh token was rotated"
    );
    assert!(second.expiry > first.expiry || second.expiry.is_some());

    // The old refresh token was used once: the server refuses it now.
    let resp = reqwest::Client::new()
        .post(format!("{}/oidc/v1/token", emu.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "databricks-cli"),
            ("refresh_token", first.refresh_token.as_ref().unwrap().expose()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_refused_refresh_token_says_to_log_in_again() {
    let emu = Emulator::start().await.unwrap();
    let person = Person::new();
    let browser = person.browser.to_str().unwrap().to_owned();
    person.client(&emu, &browser).current_user().await.unwrap();
    let refresh = person.cache().load(&person.key(&emu)).unwrap().refresh_token.unwrap();

    person.expire_cached_token(&emu);
    emu.revoke_refresh_tokens();
    let err = person.client(&emu, "/bin/false").current_user().await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(
        msg.contains(&format!("run `lakebase auth login --host {}`", emu.base_url())),
        "{msg}"
    );
    assert!(msg.contains("expired or was revoked"), "{msg}");
    assert!(!msg.contains(refresh.expose()) && !format!("{err:?}").contains(refresh.expose()));
    assert_eq!(person.browser_visits().len(), 1, "no browser is opened on its own");
}

#[tokio::test]
async fn an_abandoned_login_times_out_and_frees_the_port() {
    let emu = Emulator::start().await.unwrap();
    let person = Person::new();
    let env = person.env("/bin/true").with_var("LAKEBASE_OAUTH_LOGIN_TIMEOUT", "1");
    let config = Config::builder()
        .host(emu.base_url())
        .auth_type("external-browser")
        .env(Arc::new(env))
        .build()
        .unwrap();
    let err = Client::new(config).unwrap().current_user().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("not finished within 1s"), "{msg}");
    assert!(msg.contains(&format!("port {} is free again", person.port)), "{msg}");
    // the port really is free
    std::net::TcpListener::bind(("127.0.0.1", person.port)).unwrap();
    assert_eq!(count(&emu, "authorization_code"), 0);
}

#[tokio::test]
async fn databricks_cli_through_a_stand_in_on_path() {
    let emu = Emulator::builder().token("cli-issued-token").start().await.unwrap();
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("args.log");
    executable(
        bin.path(),
        "databricks",
        &format!(
            r#"#!/bin/sh
if [ "$1" = version ]; then echo '{{"Major":0,"Minor":250,"Patch":0}}'; exit 0; fi
echo "$@" >> {log}
echo '{{"access_token":"cli-issued-token","token_type":"Bearer","expiry":"2999-01-01T00:00:00Z"}}'
"#,
            log = log.display()
        ),
    );
    // Nothing but a host: the chain falls through to the CLI.
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", emu.base_url())
        .with_var("PATH", bin.path().to_str().unwrap());
    let config = Config::builder().env(Arc::new(env)).build().unwrap();
    assert_eq!(config.auth_type(), "databricks-cli");
    let credentials = config.credentials().clone();
    let client = Client::new(config).unwrap();
    let me = client.current_user().await.unwrap();
    assert_eq!(me.user_name.as_deref(), Some("user@example.com"));
    let token = credentials.token().await.unwrap();
    assert_eq!(token.access_token.expose(), "cli-issued-token");
    assert_eq!(token.expiry_rfc3339().as_deref(), Some("2999-01-01T00:00:00Z"));
    let args = std::fs::read_to_string(&log).unwrap();
    // one run, the token re-used until it expires; --host since no profile is named
    assert_eq!(args, format!("auth token --host {}\n", emu.base_url()));
}

#[test]
fn the_chain_error_lists_methods_and_sources() {
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", "https://h.example.com")
        .with_var("DATABRICKS_CLIENT_ID", "abc")
        .with_var("PATH", "/nonexistent");
    let err = Config::builder().env(Arc::new(env)).build().unwrap_err();
    let msg = err.to_string();
    for part in [
        "no credentials configured for https://h.example.com",
        "pat: no token (DATABRICKS_TOKEN)",
        "oauth-m2m: no client_secret (DATABRICKS_CLIENT_SECRET)",
        "external-browser: only used when auth_type is external-browser",
        "databricks-cli: the Databricks CLI (`databricks`) is not on PATH",
        "client_id (environment DATABRICKS_CLIENT_ID)",
        "host (environment DATABRICKS_HOST)",
    ] {
        assert!(msg.contains(part), "{part:?} not in:\n{msg}");
    }
    let err = Config::builder()
        .host("h.example.com")
        .auth_type("browser")
        .env(Arc::new(MapEnv::new()))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown auth_type \"browser\"; known: pat, basic"),
        "{err}"
    );
}
