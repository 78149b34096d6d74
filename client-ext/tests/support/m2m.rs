//! An OAuth M2M setup on a mock server: the discovery document, the token endpoint, and a
//! client configured with client credentials; plus the project these tests read.

use std::sync::Arc;

use httpmock::prelude::*;
use lakebase::config::MapEnv;
use lakebase::{Config, ProjectName};
use serde_json::json;

use super::Reply;

pub const CLIENT_ID: &str = "client-1";
pub const SECRET: &str = "s3cr3t-value";
/// base64("client-1:s3cr3t-value")
pub const BASIC: &str = "Basic Y2xpZW50LTE6czNjcjN0LXZhbHVl";

pub fn project() -> ProjectName {
    ProjectName::new("my-app").unwrap()
}

pub fn project_reply() -> Reply {
    Reply::ok(json!({"name": "projects/my-app", "project_id": "my-app"}))
}

pub fn m2m_config(server: &MockServer) -> lakebase::config::ConfigBuilder {
    Config::builder()
        .host(server.base_url())
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .env(Arc::new(MapEnv::new()))
        .polling_policy(lakebase::PollingPolicy::immediate())
}

pub async fn discovery(server: &MockServer) -> httpmock::Mock<'_> {
    let token_url = server.url("/oidc/v1/token");
    server
        .mock_async(|when, then| {
            when.method(GET).path("/oidc/.well-known/oauth-authorization-server");
            then.status(200)
                .json_body(json!({"issuer": server.url("/oidc"), "token_endpoint": token_url}));
        })
        .await
}

pub async fn token<'a>(server: &'a MockServer, access_token: &str, expires_in: u64) -> httpmock::Mock<'a> {
    let access_token = access_token.to_string();
    server
        .mock_async(move |when, then| {
            when.method(POST)
                .path("/oidc/v1/token")
                .header("authorization", BASIC)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&scope=all-apis");
            then.status(200).json_body(json!({
                "access_token": access_token, "token_type": "Bearer", "expires_in": expires_in
            }));
        })
        .await
}
