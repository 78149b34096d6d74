//! `EndpointMinter`: the exact credential request, and how the server's expiry is read.

use std::sync::Arc;
use std::time::Duration;

use httpmock::prelude::*;
use lakebase::config::MapEnv;
use lakebase::{Client, Config, EndpointName};
use lakebase_postgres::{EndpointMinter, MintCredential};
use serde_json::json;

const ENDPOINT: &str = "projects/p/branches/b/endpoints/e";

fn minter(server: &MockServer, ttl: Duration) -> EndpointMinter {
    let config = Config::builder()
        .host(server.base_url())
        .token("t")
        .env(Arc::new(MapEnv::new()))
        .build()
        .unwrap();
    let endpoint: EndpointName = ENDPOINT.parse().unwrap();
    EndpointMinter::new(Client::new(config).unwrap(), endpoint, ttl)
}

async fn credential_mock<'a>(server: &'a MockServer, ttl: &str, reply: serde_json::Value) -> httpmock::Mock<'a> {
    let body = json!({"endpoint": ENDPOINT, "ttl": ttl});
    server
        .mock_async(move |when, then| {
            when.method(POST)
                .path("/api/2.0/postgres/credentials")
                .header("authorization", "Bearer t")
                .json_body(body);
            then.status(200).json_body(reply);
        })
        .await
}

#[tokio::test]
async fn asks_for_the_ttl_and_reads_the_expiry() {
    let server = MockServer::start_async().await;
    let expire = chrono::Utc::now() + chrono::Duration::minutes(30);
    let mock = credential_mock(
        &server,
        "600s",
        json!({"token": "tok", "expire_time": expire.to_rfc3339()}),
    )
    .await;
    let minted = minter(&server, Duration::from_secs(600)).mint().await.unwrap();
    mock.assert_async().await;
    assert_eq!(minted.token.expose(), "tok");
    // Asked for 600 s: a later expiry (a local clock behind the server's) is not trusted.
    let left = minted.expires_at - tokio::time::Instant::now();
    assert!(
        left <= Duration::from_secs(600) && left > Duration::from_secs(590),
        "{left:?}"
    );
}

#[tokio::test]
async fn an_expiry_sooner_than_asked_is_kept() {
    let server = MockServer::start_async().await;
    let expire = chrono::Utc::now() + chrono::Duration::minutes(5);
    let _mock = credential_mock(
        &server,
        "3600s",
        json!({"token": "tok", "expire_time": expire.to_rfc3339()}),
    )
    .await;
    let minted = minter(&server, Duration::from_secs(3600)).mint().await.unwrap();
    let left = minted.expires_at - tokio::time::Instant::now();
    assert!(
        left <= Duration::from_secs(300) && left > Duration::from_secs(290),
        "{left:?}"
    );
}

#[tokio::test]
async fn a_response_without_token_is_a_decode_error() {
    let server = MockServer::start_async().await;
    let _mock = credential_mock(&server, "3600s", json!({"expire_time": "2030-01-01T00:00:00Z"})).await;
    match minter(&server, Duration::from_secs(3600)).mint().await.unwrap_err() {
        lakebase::Error::Decode { what, message, .. } => {
            assert_eq!(what, "DatabaseCredential");
            assert!(message.contains("no token"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
