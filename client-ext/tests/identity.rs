//! `Client::current_user` (SCIM `Me`, cached per client) and the Postgres user resolution
//! shared by `connection_string` and the `lakebase-postgres` pool: explicit > `PGUSER` >
//! OAuth M2M client id > SCIM `Me`.

mod support;

use httpmock::MockServer;
use lakebase::config::MapEnv;
use lakebase::{EndpointName, Error};
use serde_json::json;
use support::m2m::{CLIENT_ID, discovery, m2m_config};
use support::{Reply, client, client_with, script, script_under};

const ME: &str = "/api/2.0/preview/scim/v2/Me";

fn me_body() -> serde_json::Value {
    json!({
        "id": "123", "userName": "alice@example.com", "displayName": "Alice", "active": true,
        "emails": [{"value": "alice@example.com", "primary": true, "type": "work"}],
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "groups": [{"value": "g1"}]
    })
}

#[tokio::test]
async fn current_user_reads_scim_me_once_per_client() {
    let server = MockServer::start_async().await;
    let (mock, log) = script_under(&server, ME, vec![Reply::ok(me_body())]).await;
    let (client, _) = client(&server);
    let clone = client.clone();
    let (a, b) = tokio::join!(client.current_user(), clone.current_user());
    let me = a.unwrap();
    assert_eq!(me, b.unwrap());
    assert_eq!(me.user_name.as_deref(), Some("alice@example.com"));
    assert_eq!(me.id.as_deref(), Some("123"));
    assert_eq!(me.display_name.as_deref(), Some("Alice"));
    assert_eq!(me.active, Some(true));
    assert_eq!(me.emails[0].value.as_deref(), Some("alice@example.com"));
    assert_eq!(me.emails[0].primary, Some(true));
    client.current_user().await.unwrap();
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line("GET", ME, &[]);
    req.assert_std_headers(false, None);
}

#[tokio::test]
async fn current_user_failure_keeps_status_and_is_not_cached() {
    let server = MockServer::start_async().await;
    let denied = Reply::json(
        403,
        json!({"error_code": "PERMISSION_DENIED", "message": "no scim for you"}),
    );
    let (mock, _) = script_under(&server, ME, vec![denied, Reply::ok(me_body())]).await;
    let (client, _) = client(&server);
    match client.current_user().await.unwrap_err() {
        Error::Api(api) => {
            assert_eq!(api.status, 403);
            assert_eq!(api.message, "no scim for you");
            assert!(api.auth_context.as_deref().unwrap().contains("auth_type=pat"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        client.current_user().await.unwrap().user_name.as_deref(),
        Some("alice@example.com")
    );
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn postgres_user_prefers_explicit_then_pguser_then_scim() {
    let server = MockServer::start_async().await;
    let (mock, _) = script_under(&server, ME, vec![Reply::ok(me_body())]).await;
    let (client, _) = client(&server);
    let pguser = MapEnv::new().with_var("PGUSER", "bob");
    let empty = MapEnv::new();
    assert_eq!(
        client.postgres_user_from(Some("carol"), &pguser).await.unwrap(),
        "carol"
    );
    assert_eq!(client.postgres_user_from(None, &pguser).await.unwrap(), "bob");
    mock.assert_calls_async(0).await;
    assert_eq!(
        client.postgres_user_from(None, &empty).await.unwrap(),
        "alice@example.com"
    );
    mock.assert_calls_async(1).await;
    assert!(matches!(
        client.postgres_user_from(Some(""), &empty).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn postgres_user_of_a_service_principal_is_its_client_id_without_a_request() {
    let server = MockServer::start_async().await;
    let (mock, _) = script_under(&server, ME, vec![Reply::ok(me_body())]).await;
    let _discovery = discovery(&server).await;
    let (client, _) = client_with(m2m_config(&server));
    assert_eq!(
        client.postgres_user_from(None, &MapEnv::new()).await.unwrap(),
        CLIENT_ID
    );
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn postgres_user_without_user_name_is_a_decode_error() {
    let server = MockServer::start_async().await;
    let (_mock, _) = script_under(&server, ME, vec![Reply::ok(json!({"id": "1"}))]).await;
    let (client, _) = client(&server);
    match client.postgres_user_from(None, &MapEnv::new()).await.unwrap_err() {
        Error::Decode { what, message, .. } => {
            assert_eq!(what, "CurrentUser");
            assert!(message.contains("userName"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn connection_string_resolves_the_user_when_none_is_given() {
    let server = MockServer::start_async().await;
    let endpoint: EndpointName = "projects/p/branches/b/endpoints/e".parse().unwrap();
    let endpoint_body = json!({"name": endpoint.to_string(), "status": {"hosts": {"host": "ep-1.example.com"}}});
    let credential = json!({"token": "tok-1", "expire_time": "2030-01-01T00:00:00Z"});
    let (_api, log) = script(&server, vec![Reply::ok(endpoint_body), Reply::ok(credential)]).await;
    let (_me, me_log) = script_under(&server, ME, vec![Reply::ok(me_body())]).await;
    let (client, _) = client(&server);
    let url = client.connection_string(&endpoint, "db", None).await.unwrap();
    assert_eq!(
        url.to_string(),
        "postgres://alice%40example.com:***@ep-1.example.com:5432/db?sslmode=require"
    );
    assert_eq!(me_log.len(), 1);
    assert_eq!(log.len(), 2);
    log.get(0)
        .assert_line("GET", "/api/2.0/postgres/projects/p/branches/b/endpoints/e", &[]);
    log.get(1).assert_line("POST", "/api/2.0/postgres/credentials", &[]);
}
