//! Federation logins (`env-oidc`, `file-oidc`, `github-oidc`, `azure-devops-oidc`) end to end:
//! ID tokens from the test OIDC issuer, exchanged at the emulator's token endpoint, which checks
//! them against the issuer's JWKS and a federation policy.

use std::sync::Arc;
use std::time::Duration;

use lakebase::Client;
use lakebase::config::{Config, MapEnv};
use lakebase_emulator::test_idp::{AZURE_AD_TOKEN_EXCHANGE, REQUEST_TOKEN, TestIssuer};
use lakebase_emulator::{Emulator, FederationPolicy};

const SUB: &str = "repo:acme/app:ref:refs/heads/main";
const SP: &str = "0d3c6f0e-federated-sp";

struct Fixture {
    idp: TestIssuer,
    emu: Emulator,
}

/// An emulator trusting the issuer for `audience` (its token endpoint when `None`); its access
/// tokens live 30 s: inside the 40 s refresh leeway, so every call refreshes.
async fn fixture(audience: Option<&str>) -> Fixture {
    let idp = TestIssuer::start(SUB).await.unwrap();
    // The emulator's URL is only known once it listens: bind first, then point the policy at it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token_endpoint = format!("http://127.0.0.1:{port}/oidc/v1/token");
    let policy: FederationPolicy = format!(
        "issuer={},audience={},subject={SUB},client_id={SP}",
        idp.url(),
        audience.unwrap_or(&token_endpoint)
    )
    .parse()
    .unwrap();
    let emu = Emulator::builder()
        .bind(([127, 0, 0, 1], port).into())
        .token("dapi-not-used-here")
        .federation_policy(policy)
        .m2m_token_lifetime(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    Fixture { idp, emu }
}

/// The client and the auth type its configuration chose.
fn client(env: MapEnv) -> (Client, &'static str, String) {
    let config = Config::builder().env(Arc::new(env)).build().unwrap();
    let debug = format!("{config:?}");
    (Client::new(config.clone()).unwrap(), config.auth_type(), debug)
}

async fn assert_works_as_the_sp(client: &Client) {
    client.list_projects().collect_all().await.unwrap();
    assert_eq!(client.current_user().await.unwrap().user_name.as_deref(), Some(SP));
    assert_eq!(client.postgres_user(None).await.unwrap(), SP);
}

#[tokio::test]
async fn env_oidc_exchanges_the_variables_token() {
    let f = fixture(Some("sp-audience")).await;
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", f.emu.base_url())
        .with_var("DATABRICKS_CLIENT_ID", SP)
        .with_var("MY_JWT", f.idp.token(SUB, "sp-audience"))
        .with_var("DATABRICKS_OIDC_TOKEN_ENV", "MY_JWT")
        // client_id and oidc_token_env are settings of two methods: as in the official SDKs,
        // auth_type picks one
        .with_var("DATABRICKS_AUTH_TYPE", "env-oidc");
    let (c, auth_type, _) = client(env);
    assert_eq!(auth_type, "env-oidc");
    assert_works_as_the_sp(&c).await;
    // a token the policy does not accept: the emulator's invalid_grant names the check
    let env = MapEnv::new().with_var("DATABRICKS_HOST", f.emu.base_url()).with_var(
        "DATABRICKS_OIDC_TOKEN",
        f.idp.token("repo:evil/fork:ref:refs/heads/main", "sp-audience"),
    );
    let (c, _, _) = client(env);
    let e = c.list_projects().collect_all().await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("invalid_grant") && msg.contains("subject check failed"),
        "{msg}"
    );
}

#[tokio::test]
async fn file_oidc_rereads_the_file_on_every_refresh() {
    let f = fixture(Some("sp-audience")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.jwt");
    std::fs::write(&path, format!("{}\n", f.idp.token(SUB, "sp-audience"))).unwrap();
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", f.emu.base_url())
        .with_var("DATABRICKS_CLIENT_ID", SP)
        .with_var("DATABRICKS_OIDC_TOKEN_FILEPATH", path.to_string_lossy())
        .with_var("DATABRICKS_AUTH_TYPE", "file-oidc");
    let (c, auth_type, _) = client(env);
    assert_eq!(auth_type, "file-oidc");
    assert_works_as_the_sp(&c).await;
    // The access token (30 s) is inside the leeway: the next call exchanges again, with what
    // the file holds now.
    std::fs::write(&path, f.idp.token(SUB, "another-audience")).unwrap();
    let e = c.list_projects().collect_all().await.unwrap_err();
    assert!(e.to_string().contains("audience check failed"), "{e}");
    std::fs::write(&path, f.idp.token(SUB, "sp-audience")).unwrap();
    c.list_projects().collect_all().await.unwrap();
}

#[tokio::test]
async fn github_oidc_asks_github_for_the_token_endpoint_audience_and_refreshes() {
    let f = fixture(None).await;
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", f.emu.base_url())
        .with_var("DATABRICKS_CLIENT_ID", SP)
        .with_var("ACTIONS_ID_TOKEN_REQUEST_URL", f.idp.github_request_url())
        .with_var("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN);
    let (c, auth_type, debug) = client(env);
    assert_eq!(auth_type, "github-oidc");
    assert!(!debug.contains(REQUEST_TOKEN), "{debug}");
    assert_works_as_the_sp(&c).await;
    let github: Vec<_> = f
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.path == "/github/token")
        .collect();
    assert!(!github.is_empty());
    let audience = url::form_urlencoded::byte_serialize(format!("{}/oidc/v1/token", f.emu.base_url()).as_bytes())
        .collect::<String>();
    for r in &github {
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.query.as_deref(),
            Some(format!("api-version=2.0&audience={audience}").as_str())
        );
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {REQUEST_TOKEN}").as_str())
        );
    }
    // each refresh (the 30 s access token is stale at once) asks GitHub for a new ID token
    let before = github.len();
    c.list_projects().collect_all().await.unwrap();
    let after = f.idp.requests().iter().filter(|r| r.path == "/github/token").count();
    assert_eq!(after, before + 1);
}

#[tokio::test]
async fn azure_devops_oidc_posts_to_the_pipelines_token_url() {
    let f = fixture(Some(AZURE_AD_TOKEN_EXCHANGE)).await;
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", f.emu.base_url())
        .with_var("DATABRICKS_CLIENT_ID", SP)
        .with_var("SYSTEM_ACCESSTOKEN", REQUEST_TOKEN)
        .with_var(
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
            f.idp.azure_devops_collection_uri(),
        )
        .with_var("SYSTEM_TEAMPROJECTID", "proj-1")
        .with_var("SYSTEM_PLANID", "plan-2")
        .with_var("SYSTEM_JOBID", "job-3")
        .with_var("SYSTEM_HOSTTYPE", "build");
    let (c, auth_type, _) = client(env);
    assert_eq!(auth_type, "azure-devops-oidc");
    assert_works_as_the_sp(&c).await;
    let ado = f
        .idp
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/ado/"))
        .unwrap();
    assert_eq!(ado.method, "POST");
    assert_eq!(
        ado.path,
        "/ado/proj-1/_apis/distributedtask/hubs/build/plans/plan-2/jobs/job-3/oidctoken"
    );
    assert_eq!(ado.query.as_deref(), Some("api-version=7.2-preview.1"));
    assert_eq!(ado.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        ado.authorization.as_deref(),
        Some(format!("Bearer {REQUEST_TOKEN}").as_str())
    );
}

#[tokio::test]
async fn explicit_auth_type_and_its_errors() {
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", "https://ws.example.com")
        .with_var("DATABRICKS_AUTH_TYPE", "github-oidc");
    let e = Config::builder().env(Arc::new(env)).build().unwrap_err();
    assert!(e.to_string().contains("ACTIONS_ID_TOKEN_REQUEST_URL"), "{e}");
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", "https://ws.example.com")
        .with_var("DATABRICKS_AUTH_TYPE", "azure-devops-oidc")
        .with_var("DATABRICKS_CLIENT_ID", SP)
        .with_var("SYSTEM_ACCESSTOKEN", "secret-system-token");
    let e = Config::builder().env(Arc::new(env)).build().unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("SYSTEM_PLANID") && !msg.contains("secret-system-token"),
        "{msg}"
    );
    let env = MapEnv::new()
        .with_var("DATABRICKS_HOST", "https://ws.example.com")
        .with_var("DATABRICKS_AUTH_TYPE", "no-such-method");
    let e = Config::builder().env(Arc::new(env)).build().unwrap_err();
    assert!(e.to_string().contains("env-oidc, file-oidc"), "{e}");
}
