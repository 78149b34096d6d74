//! Authentication end to end: PAT, OAuth M2M (discovery, token request, caching,
//! refresh, failures), secrets kept out of `Debug`/`Display`, and configuration from an
//! injected environment and from a `~/.databrickscfg` profile.

mod support;

use std::sync::Arc;

use httpmock::prelude::*;
use lakebase::config::MapEnv;
use lakebase::{Client, Config, Error};
use serde_json::json;
use support::m2m::{CLIENT_ID, SECRET, discovery, m2m_config, project, project_reply, token};
use support::{Reply, client_with, script};

#[tokio::test]
async fn pat_is_sent_as_a_bearer_token() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![project_reply()]).await;
    let config = Config::builder()
        .host(server.base_url())
        .token("dapi-abc123")
        .env(Arc::new(MapEnv::new()));
    let (client, _) = client_with(config);
    client.get_project(&project()).await.unwrap();
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    assert_eq!(req.header("authorization"), Some("Bearer dapi-abc123"));
    assert!(req.header("user-agent").unwrap().contains(" auth/pat"));
}

#[tokio::test]
async fn oauth_m2m_end_to_end_with_a_cached_token() {
    let server = MockServer::start_async().await;
    let disc = discovery(&server).await;
    let tok = token(&server, "m2m-access-1", 3600).await;
    let (api, log) = script(&server, vec![project_reply(), project_reply(), project_reply()]).await;
    let (client, _) = client_with(m2m_config(&server));
    for _ in 0..3 {
        let p = client.get_project(&project()).await.unwrap();
        assert_eq!(p.project_id.as_deref(), Some("my-app"));
    }
    disc.assert_calls_async(1).await;
    tok.assert_calls_async(1).await;
    api.assert_calls_async(3).await;
    for req in log.requests() {
        req.assert_line("GET", "/api/2.0/postgres/projects/my-app", &[]);
        assert_eq!(req.header("authorization"), Some("Bearer m2m-access-1"));
        assert!(req.header("user-agent").unwrap().contains(" auth/oauth-m2m"), "{req:?}");
    }
    let debug = format!("{client:?}");
    assert!(!debug.contains(SECRET) && !debug.contains("m2m-access-1"), "{debug}");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed() {
    let server = MockServer::start_async().await;
    let disc = discovery(&server).await;
    // 30 s is inside the 40 s expiry leeway: the token is stale at once.
    let tok = token(&server, "short-lived", 30).await;
    let (api, log) = script(&server, vec![project_reply(), project_reply()]).await;
    let (client, _) = client_with(m2m_config(&server));
    client.get_project(&project()).await.unwrap();
    client.get_project(&project()).await.unwrap();
    disc.assert_calls_async(1).await;
    tok.assert_calls_async(2).await;
    api.assert_calls_async(2).await;
    assert!(
        log.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer short-lived"))
    );
}

#[tokio::test]
async fn a_failing_token_endpoint_is_an_auth_error_without_the_secret() {
    let server = MockServer::start_async().await;
    discovery(&server).await;
    let tok = server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(401).json_body(json!({
                "error": "invalid_client", "error_description": "Client authentication failed"
            }));
        })
        .await;
    let (api, _) = script(&server, vec![project_reply()]).await;
    let (client, _) = client_with(m2m_config(&server));
    let err = client.get_project(&project()).await.unwrap_err();
    match &err {
        Error::Auth(a) => {
            assert_eq!(a.status, Some(401));
            assert!(
                a.message.contains("invalid_client: Client authentication failed"),
                "{}",
                a.message
            );
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    assert!(err.is_unauthenticated());
    for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("Y2xpZW50LTE6"), "{text}");
    }
    tok.assert_calls_async(1).await;
    api.assert_calls_async(0).await;
}

#[tokio::test]
async fn debug_output_never_shows_credentials() {
    let server = MockServer::start_async().await;
    let pat = Config::builder()
        .host(server.base_url())
        .token("dapi-very-secret-token")
        .workspace_id("42")
        .env(Arc::new(MapEnv::new()))
        .build()
        .unwrap();
    let pat_client = Client::new(pat.clone()).unwrap();
    let m2m = m2m_config(&server).build().unwrap();
    let m2m_client = Client::new(m2m.clone()).unwrap();
    for text in [
        format!("{pat:?}"),
        format!("{pat:#?}"),
        format!("{pat_client:?}"),
        format!("{pat_client:#?}"),
    ] {
        assert!(!text.contains("dapi-very-secret-token"), "{text}");
    }
    for text in [format!("{m2m:?}"), format!("{m2m_client:#?}")] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains(CLIENT_ID), "the client id is not secret: {text}");
    }
    assert_eq!(pat.auth_type(), "pat");
    assert_eq!(m2m.auth_type(), "oauth-m2m");
}

#[tokio::test]
async fn config_from_an_injected_environment() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![project_reply()]).await;
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", server.base_url())
        .with_var("DATABRICKS_TOKEN", "env-token")
        .with_var("DATABRICKS_WORKSPACE_ID", "777");
    let (client, _) = client_with(Config::builder().env(Arc::new(env)));
    assert_eq!(client.host(), server.base_url());
    client.get_project(&project()).await.unwrap();
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    assert_eq!(req.header("authorization"), Some("Bearer env-token"));
    assert_eq!(req.header("x-databricks-workspace-id"), Some("777"));
}

#[tokio::test]
async fn config_from_a_databrickscfg_profile() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![project_reply(), project_reply()]).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".databrickscfg"),
        format!(
            "[DEFAULT]\nhost = {url}\ntoken = file-default-token\n\n[staging]\nhost = {url}/\ntoken = file-staging-token\nworkspace_id = 99\n",
            url = server.base_url()
        ),
    )
    .unwrap();
    let env = MapEnv::new().with_home(home.path());
    let config = Config::builder().env(Arc::new(env.clone())).build().unwrap();
    assert_eq!(config.profile(), Some("DEFAULT"));
    assert_eq!(config.workspace_id(), None);
    let client = Client::new(config).unwrap();
    client.get_project(&project()).await.unwrap();

    let staging = env.with_var("DATABRICKS_CONFIG_PROFILE", "staging");
    let config = Config::builder().env(Arc::new(staging)).build().unwrap();
    assert_eq!(config.profile(), Some("staging"));
    assert_eq!(config.host(), server.base_url(), "trailing '/' normalised away");
    let client = Client::new(config).unwrap();
    client.get_project(&project()).await.unwrap();

    mock.assert_calls_async(2).await;
    assert_eq!(log.get(0).header("authorization"), Some("Bearer file-default-token"));
    assert_eq!(log.get(0).header("x-databricks-workspace-id"), None);
    assert_eq!(log.get(1).header("authorization"), Some("Bearer file-staging-token"));
    assert_eq!(log.get(1).header("x-databricks-workspace-id"), Some("99"));
}

#[tokio::test]
async fn no_credentials_is_a_config_error() {
    let env = MapEnv::new().with_var("DATABRICKS_HOST", "https://x.cloud.databricks.com");
    let err = Config::builder().env(Arc::new(env)).build().unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("no credentials")),
        "{err:?}"
    );
}

/// 401 and 403 errors say what the client authenticated as (host, auth type, workspace id),
/// like the official SDK's config summary, without any credential; other errors do not.
#[tokio::test]
async fn auth_failures_name_the_host_and_auth_type_but_no_secret() {
    let server = MockServer::start_async().await;
    let (_, _) = script(
        &server,
        vec![
            Reply::json(
                403,
                json!({"error_code": "PERMISSION_DENIED", "message": "No MANAGE on my-app."}),
            ),
            Reply::json(404, json!({"error_code": "NOT_FOUND", "message": "gone"})),
        ],
    )
    .await;
    let config = Config::builder()
        .host(server.base_url())
        .token("dapi-pat-secret")
        .workspace_id("42")
        .env(Arc::new(MapEnv::new()));
    let (client, _) = client_with(config);

    let denied = client.get_project(&project()).await.unwrap_err();
    let api = denied.as_api_error().unwrap();
    assert_eq!(
        api.message, "No MANAGE on my-app.",
        "the server's message is kept as sent"
    );
    let context = format!("host={}, auth_type=pat, workspace_id=42", server.base_url());
    assert_eq!(api.auth_context.as_deref(), Some(context.as_str()));
    assert_eq!(
        denied.to_string(),
        format!("PERMISSION_DENIED (HTTP 403): No MANAGE on my-app.. Config: {context}")
    );
    assert!(!format!("{denied:?}").contains("dapi-pat-secret"));

    let missing = client.get_project(&project()).await.unwrap_err();
    assert_eq!(missing.as_api_error().unwrap().auth_context, None);
    assert_eq!(missing.to_string(), "NOT_FOUND (HTTP 404): gone");
}
