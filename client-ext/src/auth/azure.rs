//! Azure Databricks logins with Microsoft Entra ID tokens for the Azure Databricks application
//! (`2ff814a6-3304-4ab8-85cb-cd0e6f879c1d`).
//!
//! | `auth_type` | needs | token |
//! |---|---|---|
//! | `azure-client-secret` | `azure_client_id`, `azure_client_secret` (`ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`) | `POST {login}{tenant}/oauth2/token`: `grant_type=client_credentials&scope=all-apis&resource={app}&client_id=..&client_secret=..`; plus `X-Databricks-Azure-SP-Management-Token` (a token for the service management endpoint) |
//! | `github-oidc-azure` | `azure_client_id`, GitHub Actions' ID token request | the GitHub ID token (audience `api://AzureADTokenExchange`) as `client_assertion` |
//! | `azure-msi` | `azure_use_msi` (`ARM_USE_MSI=true`) | instance metadata `GET {msi}?api-version=2018-02-01&resource=..` with `Metadata: true`, or App Service's `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=..` with `X-IDENTITY-HEADER` |
//! | `azure-cli` | the `az` program on `PATH` | `az account get-access-token --resource .. --output json [--subscription ..] [--tenant ..]` |
//!
//! With `azure_workspace_resource_id` every request also carries
//! `X-Databricks-Azure-Workspace-Resource-Id`. The tenant is `azure_tenant_id`, else found as the
//! official SDKs do: the first path segment of the redirect of `{host}/aad/auth` (or, for
//! `github-oidc-azure`, of `{host}/oidc/oauth2/v2.0/authorize`). No secret is ever put on the
//! `az` command line.

use std::sync::Arc;
use std::time::Instant;

use super::token_source::{
    Refreshing, Token, TokenSource, auth_error, http_client, instant_of_unix, number, parse_token, post_form, send,
};
use super::workload::{Context, Extra, Method, WorkloadCredentials};
use super::{BoxFuture, CredentialsProvider};
use crate::error::Error;
use crate::secret::Secret;

/// The Entra ID application of Azure Databricks (the resource of its tokens).
pub const AZURE_DATABRICKS_APP_ID: &str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";
/// The instance metadata service's managed identity token endpoint.
pub const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// The audience of GitHub ID tokens that Entra ID exchanges.
pub const AZURE_AD_TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange";

/// An Azure cloud's endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureEnvironment {
    /// `PUBLIC`, `USGOVERNMENT` or `CHINA`.
    pub name: &'static str,
    /// Entra ID login, e.g. `https://login.microsoftonline.com/`.
    pub active_directory_endpoint: &'static str,
    /// The service management resource, e.g. `https://management.core.windows.net/`.
    pub service_management_endpoint: &'static str,
}

const ENVIRONMENTS: [AzureEnvironment; 3] = [
    AzureEnvironment {
        name: "PUBLIC",
        active_directory_endpoint: "https://login.microsoftonline.com/",
        service_management_endpoint: "https://management.core.windows.net/",
    },
    AzureEnvironment {
        name: "USGOVERNMENT",
        active_directory_endpoint: "https://login.microsoftonline.us/",
        service_management_endpoint: "https://management.core.usgovcloudapi.net/",
    },
    AzureEnvironment {
        name: "CHINA",
        active_directory_endpoint: "https://login.chinacloudapi.cn/",
        service_management_endpoint: "https://management.core.chinacloudapi.cn/",
    },
];

/// The environment named by `azure_environment`, else the one of the host's DNS zone.
pub(crate) fn environment(ctx: &Context) -> Result<&'static AzureEnvironment, Error> {
    if let Some(name) = ctx.setting("azure_environment") {
        let upper = name.to_ascii_uppercase();
        let upper = upper.trim_start_matches("AZURE").trim_start_matches('_');
        let wanted = match upper {
            "" | "PUBLIC" | "PUBLICCLOUD" => "PUBLIC",
            "USGOVERNMENT" | "USGOVERNMENTCLOUD" => "USGOVERNMENT",
            "CHINA" | "CHINACLOUD" => "CHINA",
            _ => {
                return Err(Error::Config(format!(
                    "unknown azure_environment {name:?} (known: PUBLIC, USGOVERNMENT, CHINA)"
                )));
            }
        };
        return Ok(ENVIRONMENTS
            .iter()
            .find(|e| e.name == wanted)
            .unwrap_or(&ENVIRONMENTS[0]));
    }
    let host = ctx.host.as_str();
    Ok(if host.ends_with(".databricks.azure.us") {
        &ENVIRONMENTS[1]
    } else if host.ends_with(".databricks.azure.cn") {
        &ENVIRONMENTS[2]
    } else {
        &ENVIRONMENTS[0]
    })
}

/// Whether the workspace is on Azure (resource id set, or an Azure Databricks host).
pub(crate) fn is_azure(ctx: &Context) -> bool {
    ctx.setting("azure_workspace_resource_id").is_some()
        || [".azuredatabricks.net", ".databricks.azure.us", ".databricks.azure.cn"]
            .iter()
            .any(|z| ctx.host.ends_with(z))
}

/// The Entra ID login URL ending in `/` (`azure_login_endpoint` overrides the environment's).
fn login_endpoint(ctx: &Context) -> Result<String, Error> {
    let base = match ctx.setting("azure_login_endpoint") {
        Some(url) => url,
        None => environment(ctx)?.active_directory_endpoint.to_owned(),
    };
    Ok(if base.ends_with('/') { base } else { format!("{base}/") })
}

/// How the tenant is found when `azure_tenant_id` is not set.
#[derive(Clone, Copy)]
enum TenantDiscovery {
    /// `{host}/aad/auth` redirects to `{login}/{tenant}/oauth2/authorize…`.
    AadAuth,
    /// `{host}/oidc/oauth2/v2.0/authorize` redirects to `{login}{tenant}/oauth2/v2.0/authorize…`.
    OidcAuthorize,
}

/// The tenant id, configured or discovered (once).
struct Tenant {
    configured: Option<String>,
    host: String,
    discovery: TenantDiscovery,
    http: reqwest::Client,
    found: tokio::sync::OnceCell<String>,
}

impl Tenant {
    fn new(ctx: &Context, discovery: TenantDiscovery, http: reqwest::Client) -> Self {
        Self {
            configured: ctx.setting("azure_tenant_id"),
            host: ctx.host.to_owned(),
            discovery,
            http,
            found: tokio::sync::OnceCell::new(),
        }
    }

    async fn get(&self) -> Result<&str, Error> {
        if let Some(t) = &self.configured {
            return Ok(t);
        }
        self.found
            .get_or_try_init(|| async {
                let path = match self.discovery {
                    TenantDiscovery::AadAuth => "/aad/auth",
                    TenantDiscovery::OidcAuthorize => "/oidc/oauth2/v2.0/authorize",
                };
                let url = format!("{}{path}", self.host);
                let resp = self.http.get(&url).send().await.map_err(|e| {
                    auth_error(format!("Azure tenant discovery at {url} failed: {}", e.without_url()), None)
                })?;
                let location = resp
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .filter(|_| resp.status().is_redirection())
                    .ok_or_else(|| {
                        auth_error(
                            format!("Azure tenant discovery: {url} did not redirect to Entra ID; set azure_tenant_id (ARM_TENANT_ID)"),
                            Some(resp.status().as_u16()),
                        )
                    })?;
                let parsed = url::Url::parse(location)
                    .map_err(|_| auth_error("Azure tenant discovery: the redirect is not a URL", None))?;
                parsed
                    .path_segments()
                    .and_then(|mut s| s.find(|seg| !seg.is_empty()))
                    .map(str::to_owned)
                    .ok_or_else(|| auth_error("Azure tenant discovery: the redirect names no tenant", None))
            })
            .await
            .map(String::as_str)
    }
}

/// Client credentials at Entra ID (v1 endpoint) for one resource.
struct EntraClientCredentials {
    http: reqwest::Client,
    login: String,
    tenant: Arc<Tenant>,
    resource: String,
    client_id: String,
    credential: EntraCredential,
}

enum EntraCredential {
    Secret(Secret),
    /// A GitHub Actions ID token as the client assertion (fetched on each refresh).
    GithubAssertion(super::federation::GithubIdToken),
}

impl TokenSource for EntraClientCredentials {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let url = format!("{}{}/oauth2/token", self.login, self.tenant.get().await?);
            let what = format!("the Entra ID token request for {}", self.resource);
            match &self.credential {
                EntraCredential::Secret(secret) => {
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("scope", "all-apis"),
                        ("resource", self.resource.as_str()),
                        ("client_id", self.client_id.as_str()),
                        ("client_secret", secret.expose()),
                    ];
                    post_form(&self.http, &url, &form, &what).await
                }
                EntraCredential::GithubAssertion(github) => {
                    use super::federation::IdTokenSource;
                    let assertion = github.id_token(AZURE_AD_TOKEN_EXCHANGE).await?;
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("scope", "all-apis"),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("resource", self.resource.as_str()),
                        ("client_assertion", assertion.expose()),
                        ("client_id", self.client_id.as_str()),
                    ];
                    post_form(&self.http, &url, &form, &what).await
                }
            }
        })
    }
}

fn resource_id_header(ctx: &Context) -> Result<Option<Extra>, Error> {
    match ctx.setting("azure_workspace_resource_id") {
        Some(id) => Ok(Some(Extra::Fixed(
            http::HeaderName::from_static("x-databricks-azure-workspace-resource-id"),
            http::HeaderValue::from_str(&id)
                .map_err(|_| Error::Config("azure_workspace_resource_id is not a valid header value".to_owned()))?,
        ))),
        None => Ok(None),
    }
}

const MANAGEMENT_HEADER: &str = "x-databricks-azure-sp-management-token";

fn with_azure_headers(
    mut creds: WorkloadCredentials,
    ctx: &Context,
    management: Option<Refreshing>,
    optional: bool,
) -> Result<Arc<dyn CredentialsProvider>, Error> {
    if let Some(h) = resource_id_header(ctx)? {
        creds = creds.with_extra(h);
    }
    if let Some(token) = management {
        creds = creds.with_extra(Extra::Token {
            name: http::HeaderName::from_static(MANAGEMENT_HEADER),
            token,
            optional,
        });
    }
    Ok(Arc::new(creds.with_client_id(ctx.setting("azure_client_id"))))
}

fn client_secret(ctx: &Context) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let (Some(client_id), Some(secret)) = (ctx.setting("azure_client_id"), ctx.setting("azure_client_secret")) else {
        return Err(Error::Config(
            "auth_type azure-client-secret needs azure_client_id and azure_client_secret (ARM_CLIENT_ID, ARM_CLIENT_SECRET)"
                .to_owned(),
        ));
    };
    let http = http_client(ctx.timeout)?;
    let tenant = Arc::new(Tenant::new(ctx, TenantDiscovery::AadAuth, http.clone()));
    let login = login_endpoint(ctx)?;
    let source = |resource: &str| EntraClientCredentials {
        http: http.clone(),
        login: login.clone(),
        tenant: tenant.clone(),
        resource: resource.to_owned(),
        client_id: client_id.clone(),
        credential: EntraCredential::Secret(Secret::from(secret.clone())),
    };
    let inner = Refreshing::new(source(AZURE_DATABRICKS_APP_ID));
    let management = Refreshing::new(source(environment(ctx)?.service_management_endpoint));
    with_azure_headers(
        WorkloadCredentials::new("azure-client-secret", inner),
        ctx,
        Some(management),
        false,
    )
}

/// `azure-client-secret`.
pub(crate) const CLIENT_SECRET: Method = Method {
    name: "azure-client-secret",
    needs: "azure_client_id and azure_client_secret (ARM_CLIENT_ID, ARM_CLIENT_SECRET)",
    configured: |ctx| ctx.setting("azure_client_id").is_some() && ctx.setting("azure_client_secret").is_some(),
    build: client_secret,
};

/// `github-oidc-azure`.
pub(crate) const GITHUB_OIDC_AZURE: Method = Method {
    name: "github-oidc-azure",
    needs: "azure_client_id (ARM_CLIENT_ID) and GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL + _TOKEN",
    configured: |ctx| {
        ctx.setting("azure_client_id").is_some()
            && ctx.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").is_some()
            && ctx.var("ACTIONS_ID_TOKEN_REQUEST_URL").is_some()
    },
    build: |ctx| {
        let client_id = ctx.setting("azure_client_id").ok_or_else(|| {
            Error::Config("auth_type github-oidc-azure needs azure_client_id (ARM_CLIENT_ID)".to_owned())
        })?;
        let (Some(url), Some(request_token)) = (
            ctx.var("ACTIONS_ID_TOKEN_REQUEST_URL"),
            ctx.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) else {
            return Err(Error::Config(
                "auth_type github-oidc-azure needs ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN"
                    .to_owned(),
            ));
        };
        let http = http_client(ctx.timeout)?;
        let source = EntraClientCredentials {
            http: http.clone(),
            login: login_endpoint(ctx)?,
            tenant: Arc::new(Tenant::new(ctx, TenantDiscovery::OidcAuthorize, http.clone())),
            resource: AZURE_DATABRICKS_APP_ID.to_owned(),
            client_id,
            credential: EntraCredential::GithubAssertion(super::federation::GithubIdToken {
                url,
                request_token: Secret::from(request_token),
                http,
            }),
        };
        Ok(Arc::new(
            WorkloadCredentials::new("github-oidc-azure", Refreshing::new(source))
                .with_client_id(ctx.setting("azure_client_id")),
        ))
    },
};

/// A managed identity token from the instance metadata service or App Service.
struct ManagedIdentity {
    http: reqwest::Client,
    endpoint: MsiEndpoint,
    resource: String,
    client_id: Option<String>,
}

enum MsiEndpoint {
    Imds(String),
    AppService { url: String, header: Secret },
}

impl TokenSource for ManagedIdentity {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let mut query = vec![("resource", self.resource.as_str())];
            if let Some(id) = &self.client_id {
                query.push(("client_id", id));
            }
            let request = match &self.endpoint {
                MsiEndpoint::Imds(url) => {
                    query.insert(0, ("api-version", "2018-02-01"));
                    self.http.get(url).header("Metadata", "true").query(&query)
                }
                MsiEndpoint::AppService { url, header } => {
                    query.insert(0, ("api-version", "2019-08-01"));
                    self.http
                        .get(url)
                        .header("X-IDENTITY-HEADER", header.expose())
                        .query(&query)
                }
            };
            let what = format!("the managed identity token request for {}", self.resource);
            let requested_at = Instant::now();
            let body = send(request, &what).await?;
            parse_token(&body, requested_at, &what)
        })
    }
}

fn msi(ctx: &Context) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let http = http_client(ctx.timeout)?;
    let endpoint = || match (ctx.var("IDENTITY_ENDPOINT"), ctx.var("IDENTITY_HEADER")) {
        (Some(url), Some(header)) => MsiEndpoint::AppService {
            url,
            header: Secret::from(header),
        },
        _ => MsiEndpoint::Imds(
            ctx.setting("azure_msi_endpoint")
                .unwrap_or_else(|| IMDS_TOKEN_URL.to_owned()),
        ),
    };
    let source = |resource: &str| ManagedIdentity {
        http: http.clone(),
        endpoint: endpoint(),
        resource: resource.to_owned(),
        client_id: ctx.setting("azure_client_id"),
    };
    let inner = Refreshing::new(source(AZURE_DATABRICKS_APP_ID));
    let management = Refreshing::new(source(environment(ctx)?.service_management_endpoint));
    with_azure_headers(
        WorkloadCredentials::new("azure-msi", inner),
        ctx,
        Some(management),
        false,
    )
}

/// `azure-msi` (the Go SDK's; the Python SDK has none).
pub(crate) const MSI: Method = Method {
    name: "azure-msi",
    needs: "azure_use_msi (ARM_USE_MSI=true)",
    configured: |ctx| ctx.use_msi(),
    build: msi,
};

/// `az account get-access-token`, run again on each refresh.
struct AzureCli {
    program: std::path::PathBuf,
    path_var: Option<String>,
    resource: String,
    subscription: Option<String>,
    tenant: Option<String>,
}

impl AzureCli {
    async fn run(&self, args: &[&str]) -> Result<serde_json::Value, Error> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
        if let Some(p) = &self.path_var {
            cmd.env("PATH", p);
        }
        let out = cmd
            .output()
            .await
            .map_err(|e| auth_error(format!("azure-cli: cannot run {}: {e}", self.program.display()), None))?;
        if !out.status.success() {
            // az's own message (it holds no token: the token is only on stdout of a success)
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(auth_error(
                format!("azure-cli: `az {}` failed: {line}", args[..2].join(" ")),
                None,
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|_| auth_error("azure-cli: the output of az is not JSON", None))
    }

    async fn uses_managed_identity(&self) -> bool {
        match self.run(&["account", "show", "--output", "json"]).await {
            Ok(account) => {
                let user = &account["user"];
                user["type"] == "servicePrincipal"
                    && matches!(
                        user["name"].as_str(),
                        Some("systemAssignedIdentity" | "userAssignedIdentity")
                    )
            }
            Err(_) => false,
        }
    }

    async fn token(&self, subscription: Option<&str>) -> Result<Token, Error> {
        let mut args = vec![
            "account",
            "get-access-token",
            "--resource",
            &self.resource,
            "--output",
            "json",
        ];
        if let Some(s) = subscription {
            args.extend(["--subscription", s]);
        }
        if let Some(t) = &self.tenant
            && !self.uses_managed_identity().await
        {
            args.extend(["--tenant", t]);
        }
        let it = self.run(&args).await?;
        let field = |k: &str| it.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
        let access =
            field("accessToken").ok_or_else(|| auth_error("azure-cli: no accessToken in the output of az", None))?;
        let expires_at = match it.get("expires_on").and_then(number) {
            Some(unix) => Some(instant_of_unix(unix)),
            None => field("expiresOn").and_then(parse_local_time).map(instant_of_unix),
        };
        Ok(Token {
            access_token: Secret::from(access),
            token_type: field("tokenType").unwrap_or("Bearer").to_owned(),
            expires_at,
        })
    }
}

/// `expiresOn` of older `az` versions: local time `2024-01-01 12:00:00.000000`.
fn parse_local_time(s: &str) -> Option<f64> {
    use chrono::TimeZone;
    let s = s.trim_end_matches('Z');
    let s = s.split('.').next()?;
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())?;
    chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp() as f64)
}

impl TokenSource for AzureCli {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            // A token for the subscription of the workspace, else (no access to the
            // subscription itself) a resource-only one, as the official SDKs do.
            if let Some(s) = &self.subscription
                && let Ok(t) = self.token(Some(s)).await
            {
                return Ok(t);
            }
            self.token(None).await
        })
    }
}

/// `az` on `PATH` (the environment's), if there.
fn find_az(ctx: &Context) -> Option<std::path::PathBuf> {
    let path = ctx.var("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("az")).find(|p| p.is_file())
}

fn cli(ctx: &Context) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let program = find_az(ctx).ok_or_else(|| {
        Error::Config(
            "auth_type azure-cli: the az program is not on PATH (install the Azure CLI and run `az login`)".to_owned(),
        )
    })?;
    let subscription = ctx
        .setting("azure_workspace_resource_id")
        .and_then(|r| r.split('/').nth(2).filter(|s| !s.is_empty()).map(str::to_owned));
    let source = |resource: &str| AzureCli {
        program: program.clone(),
        path_var: ctx.var("PATH"),
        resource: resource.to_owned(),
        subscription: subscription.clone(),
        tenant: ctx.setting("azure_tenant_id"),
    };
    let inner = Refreshing::new(source(AZURE_DATABRICKS_APP_ID));
    // The service management token is sent when az can give one; a person's `az login` often
    // cannot, which is no error (the official SDKs drop the header then).
    let management = Refreshing::new(source(environment(ctx)?.service_management_endpoint));
    with_azure_headers(
        WorkloadCredentials::new("azure-cli", inner),
        ctx,
        Some(management),
        true,
    )
}

/// `azure-cli`.
pub(crate) const CLI: Method = Method {
    name: "azure-cli",
    needs: "an Azure workspace and the az program on PATH",
    configured: |ctx| is_azure(ctx) && find_az(ctx).is_some(),
    build: cli,
};

#[cfg(test)]
mod tests;
