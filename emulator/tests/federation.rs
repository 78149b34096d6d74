//! OAuth token federation: RFC 8693 token exchange against trusted issuers' JWKS, and bearer
//! JWTs of trusted issuers accepted directly.

use lakebase_emulator::test_idp::TestIssuer;
use lakebase_emulator::{Emulator, FederationPolicy};
use serde_json::{Value, json};

const SUB: &str = "repo:acme/app:ref:refs/heads/main";
const AUD: &str = "https://workspace.example/oidc/v1/token";
const SP: &str = "7a3c9f2e-sp-client";

struct Fixture {
    idp: TestIssuer,
    emu: Emulator,
    http: reqwest::Client,
}

fn policy(issuer: &str, client_id: Option<&str>) -> FederationPolicy {
    let mut s = format!("issuer={issuer},audience={AUD},subject={SUB}");
    if let Some(c) = client_id {
        s.push_str(&format!(",client_id={c}"));
    }
    s.parse().unwrap()
}

async fn fixture() -> Fixture {
    let idp = TestIssuer::start(SUB).await.unwrap();
    let emu = Emulator::builder()
        .token("dapi-only-this")
        .federation_policy(policy(idp.url(), Some(SP)))
        .bearer_policy(policy(idp.url(), Some("entra-app")))
        .start()
        .await
        .unwrap();
    Fixture {
        idp,
        emu,
        http: reqwest::Client::new(),
    }
}

impl Fixture {
    async fn exchange(&self, subject_token: &str, client_id: Option<&str>) -> (u16, Value) {
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("subject_token", subject_token),
            ("scope", "all-apis"),
        ];
        if let Some(c) = client_id {
            form.push(("client_id", c));
        }
        let resp = self
            .http
            .post(format!("{}/oidc/v1/token", self.emu.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn me(&self, bearer: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}/api/2.0/preview/scim/v2/Me", self.emu.base_url()))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn refused(&self, subject_token: &str, client_id: Option<&str>, check: &str) {
        let (status, body) = self.exchange(subject_token, client_id).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
        let desc = body["error_description"].as_str().unwrap();
        assert!(desc.contains(&format!("{check} check failed")), "{check}: {desc}");
        assert!(!desc.contains(subject_token), "the token is never echoed: {desc}");
    }
}

#[tokio::test]
async fn exchange_acts_as_the_policys_service_principal() {
    let f = fixture().await;
    let (status, body) = f.exchange(&f.idp.token(SUB, AUD), Some(SP)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "all-apis");
    let access = body["access_token"].as_str().unwrap();
    let (status, me) = f.me(access).await;
    assert_eq!(status, 200);
    assert_eq!(me["userName"], SP);
    // without a client_id (account-wide federation) the matching policy still decides
    let (status, body) = f.exchange(&f.idp.token(SUB, AUD), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(f.me(body["access_token"].as_str().unwrap()).await.1["userName"], SP);
    // the JWKS was found through the discovery document, and fetched once
    let paths: Vec<String> = f.idp.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/.well-known/openid-configuration", "/jwks"]);
}

#[tokio::test]
async fn exchange_refuses_each_failed_check() {
    let f = fixture().await;
    let now = chrono::Utc::now().timestamp();
    let good = json!({"sub": SUB, "aud": AUD, "exp": now + 300});
    let with = |patch: Value| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        c
    };
    f.refused(&f.idp.sign_with_rogue_key(good.clone()), Some(SP), "signature")
        .await;
    // a token whose signature part was swapped
    let real = f.idp.token(SUB, AUD);
    let other = f.idp.token(SUB, AUD);
    let (head, _) = real.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", other.rsplit_once('.').unwrap().1);
    f.refused(&forged, Some(SP), "signature").await;
    f.refused(
        &f.idp.sign(with(json!({"iss": "http://127.0.0.1:1/other"}))),
        Some(SP),
        "issuer",
    )
    .await;
    let stranger = TestIssuer::start(SUB).await.unwrap();
    f.refused(&stranger.token(SUB, AUD), Some(SP), "issuer").await;
    f.refused(&f.idp.token(SUB, "https://elsewhere/token"), Some(SP), "audience")
        .await;
    f.refused(&f.idp.token("repo:acme/app:pull_request", AUD), Some(SP), "subject")
        .await;
    f.refused(&f.idp.sign(with(json!({"exp": now - 5}))), Some(SP), "exp")
        .await;
    f.refused(&f.idp.sign(json!({"sub": SUB, "aud": AUD})), Some(SP), "exp")
        .await;
    f.refused(&f.idp.sign(with(json!({"nbf": now + 120}))), Some(SP), "nbf")
        .await;
    f.refused(&f.idp.token(SUB, AUD), Some("another-sp"), "client_id").await;
    f.refused("not-a-jwt", Some(SP), "format").await;
    // aud as a list containing the policy's audience is fine
    let (status, body) = f
        .exchange(&f.idp.sign(with(json!({"aud": ["x", AUD]}))), Some(SP))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn malformed_exchange_requests() {
    let f = fixture().await;
    let resp = f
        .http
        .post(format!("{}/oidc/v1/token", f.emu.base_url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("subject_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let resp = f
        .http
        .post(format!("{}/oidc/v1/token", f.emu.base_url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // no policy at all: every exchange is refused
    let emu = Emulator::start().await.unwrap();
    let idp = TestIssuer::start(SUB).await.unwrap();
    let resp = f
        .http
        .post(format!("{}/oidc/v1/token", emu.base_url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("subject_token", &idp.token(SUB, AUD)),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("issuer check failed")
    );
    assert!(idp.requests().is_empty(), "an untrusted issuer is never contacted");
}

#[tokio::test]
async fn bearer_jwts_of_a_trusted_issuer_go_through_the_same_checks() {
    let f = fixture().await;
    let (status, me) = f.me(&f.idp.token(SUB, AUD)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userName"], "entra-app");
    let (status, body) = f
        .me(&f
            .idp
            .sign_with_rogue_key(json!({"sub": SUB, "aud": AUD, "exp": 4102444800i64})))
        .await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("signature check failed"),
        "{body}"
    );
    let (status, body) = f.me(&f.idp.token(SUB, "wrong-aud")).await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("audience check failed"),
        "{body}"
    );
    // other bearer tokens keep the emulator's own rules
    assert_eq!(f.me("dapi-only-this").await.0, 200);
    assert_eq!(f.me("dapi-wrong").await.0, 401);
    let stranger = TestIssuer::start(SUB).await.unwrap();
    assert_eq!(f.me(&stranger.token(SUB, AUD)).await.0, 401);
}

#[tokio::test]
async fn github_and_azure_devops_endpoints_of_the_test_issuer() {
    let idp = TestIssuer::start(SUB).await.unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}&audience=aud-x", idp.github_request_url()))
        .bearer_auth(lakebase_emulator::test_idp::REQUEST_TOKEN)
        .send()
        .await
        .unwrap();
    let value: Value = resp.json().await.unwrap();
    assert!(value["value"].as_str().unwrap().split('.').count() == 3);
    let resp = http
        .get(idp.github_request_url())
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .post(format!(
            "{}proj/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken?api-version=7.2-preview.1",
            idp.azure_devops_collection_uri()
        ))
        .bearer_auth(lakebase_emulator::test_idp::REQUEST_TOKEN)
        .send()
        .await
        .unwrap();
    let value: Value = resp.json().await.unwrap();
    assert!(value["oidcToken"].is_string());
    let reqs = idp.requests();
    assert_eq!(reqs[0].query.as_deref(), Some("api-version=2.0&audience=aud-x"));
    assert_eq!(reqs[2].method, "POST");
}
