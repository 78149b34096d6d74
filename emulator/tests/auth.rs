//! Authentication: bearer tokens, host metadata, OAuth M2M.

mod common;

use std::time::Duration;

use common::{T, assert_error};
use lakebase_emulator::Emulator;
use serde_json::{Value, json};

async fn get_with(t: &T, auth: Option<&str>) -> (u16, Value) {
    let mut rb = t.http.get(format!("{}/api/2.0/postgres/projects", t.base));
    if let Some(a) = auth {
        rb = rb.header("Authorization", a);
    }
    let resp = rb.send().await.expect("send");
    let s = resp.status().as_u16();
    (s, resp.json().await.expect("json"))
}

#[tokio::test]
async fn missing_or_malformed_auth_is_401() {
    let t = T::new().await;
    assert_error(&get_with(&t, None).await, 401, "UNAUTHENTICATED");
    assert_error(&get_with(&t, Some("Bearer ")).await, 401, "UNAUTHENTICATED");
    assert_error(&get_with(&t, Some("Basic dXNlcjpwYXNz")).await, 401, "UNAUTHENTICATED");
    assert_eq!(get_with(&t, Some("Bearer anything")).await.0, 200);
}

#[tokio::test]
async fn fixed_token_rejects_others() {
    let t = T::with(Emulator::builder().token(common::TOKEN)).await;
    assert_eq!(t.get("projects").await.0, 200);
    assert_error(&get_with(&t, Some("Bearer wrong")).await, 401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn host_metadata_and_discovery() {
    let t = T::new().await;
    let meta: Value = t.get_unauthenticated("/.well-known/databricks-config").await;
    assert_eq!(meta["oidc_endpoint"], json!(format!("{}/oidc", t.base)));
    assert!(meta["workspace_id"].is_string());
    let disc: Value = t
        .get_unauthenticated("/oidc/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(disc["token_endpoint"], json!(format!("{}/oidc/v1/token", t.base)));
    assert!(disc["authorization_endpoint"].is_string() && disc["issuer"].is_string());
}

#[tokio::test]
async fn m2m_client_credentials_flow() {
    let t = T::with(
        Emulator::builder()
            .token("pat-only")
            .m2m_credentials("cid", "secret")
            .m2m_token_lifetime(Duration::from_secs(120)),
    )
    .await;
    let url = format!("{}/oidc/v1/token", t.base);
    let form = [("grant_type", "client_credentials"), ("scope", "all-apis")];
    let resp = t
        .http
        .post(&url)
        .basic_auth("cid", Some("secret"))
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let tok: Value = resp.json().await.expect("json");
    assert_eq!(tok["token_type"], json!("Bearer"));
    assert_eq!(tok["expires_in"], json!(120));
    let access = tok["access_token"].as_str().expect("token");
    assert_eq!(get_with(&t, Some(&format!("Bearer {access}"))).await.0, 200);
    // credentials in the form body work too
    let form2 = [
        ("grant_type", "client_credentials"),
        ("client_id", "cid"),
        ("client_secret", "secret"),
    ];
    assert_eq!(
        t.http
            .post(&url)
            .form(&form2)
            .send()
            .await
            .expect("send")
            .status()
            .as_u16(),
        200
    );
    // wrong secret, wrong grant
    let resp = t
        .http
        .post(&url)
        .basic_auth("cid", Some("nope"))
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["error"],
        json!("invalid_client")
    );
    let resp = t
        .http
        .post(&url)
        .basic_auth("cid", Some("secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    // tokens that were never issued are rejected
    assert_error(
        &get_with(&t, Some("Bearer emu-oauth-forged")).await,
        401,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn expired_m2m_tokens_are_rejected() {
    let t = T::with(Emulator::builder().token("pat-only").m2m_token_lifetime(Duration::ZERO)).await;
    let resp = t
        .http
        .post(format!("{}/oidc/v1/token", t.base))
        .basic_auth("any", Some("thing"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    let tok: Value = resp.json().await.expect("json");
    let access = tok["access_token"].as_str().expect("token");
    assert_error(
        &get_with(&t, Some(&format!("Bearer {access}"))).await,
        401,
        "UNAUTHENTICATED",
    );
}
