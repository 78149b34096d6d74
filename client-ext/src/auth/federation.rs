//! OAuth token federation: an OIDC ID token (a JWT from GitHub Actions, Azure DevOps, a file or
//! a variable) exchanged at the workspace's token endpoint (RFC 8693) for a Databricks token.
//!
//! The exchange, as the official SDKs send it: `POST {token_endpoint}` (discovered from
//! `{host}/oidc/.well-known/oauth-authorization-server`, or `discovery_url`) with the form
//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `scope=all-apis`,
//! `subject_token_type=urn:ietf:params:oauth:token-type:jwt`, `subject_token=<JWT>`, and
//! `client_id` of the service principal when configured (workload identity federation; without
//! it, account-wide federation). The ID token is asked for the audience `token_audience`, else the
//! token endpoint. Each refresh gets a new ID token (a file is read again, GitHub asked again).
//!
//! | `auth_type` | needs | ID token |
//! |---|---|---|
//! | `env-oidc` | host, `DATABRICKS_OIDC_TOKEN` (or the variable `DATABRICKS_OIDC_TOKEN_ENV` names) | the variable |
//! | `file-oidc` | host, `oidc_token_filepath` | the file, re-read on every refresh |
//! | `github-oidc` | host, client id, `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN` | `GET {url}&audience={aud}` with `Authorization: Bearer {request token}`: `value` |
//! | `azure-devops-oidc` | host, client id, `SYSTEM_ACCESSTOKEN` and the pipeline's `SYSTEM_*` ids | `POST {collection}{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken?api-version=7.2-preview.1`: `oidcToken` |

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;

use super::token_source::{Refreshing, Token, TokenSource, auth_error, http_client, parse_token, send};
use super::workload::{Context, Method, WorkloadCredentials};
use super::{BoxFuture, CredentialsProvider};
use crate::config::Env;
use crate::error::Error;
use crate::secret::Secret;

/// The RFC 8693 grant type.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type of a JWT.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Where an OIDC ID token comes from.
pub(crate) trait IdTokenSource: Send + Sync {
    /// A (new) ID token for `audience` (sources with a fixed audience ignore it).
    fn id_token<'a>(&'a self, audience: &'a str) -> BoxFuture<'a, Result<Secret, Error>>;
}

/// `env-oidc`: a variable, read again on each refresh.
struct EnvIdToken {
    var: String,
    env: Arc<dyn Env>,
}

impl IdTokenSource for EnvIdToken {
    fn id_token<'a>(&'a self, _audience: &'a str) -> BoxFuture<'a, Result<Secret, Error>> {
        let token = self
            .env
            .var(&self.var)
            .map(Secret::from)
            .ok_or_else(|| auth_error(format!("env-oidc: the variable {} is not set", self.var), None));
        Box::pin(std::future::ready(token))
    }
}

/// `file-oidc`: a file, read again on each refresh.
struct FileIdToken {
    path: PathBuf,
}

impl IdTokenSource for FileIdToken {
    fn id_token<'a>(&'a self, _audience: &'a str) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let text = tokio::fs::read_to_string(&self.path)
                .await
                .map_err(|e| auth_error(format!("file-oidc: cannot read {}: {e}", self.path.display()), None))?;
            let token = text.trim();
            if token.is_empty() {
                return Err(auth_error(format!("file-oidc: {} is empty", self.path.display()), None));
            }
            Ok(Secret::from(token))
        })
    }
}

/// GitHub Actions' ID token request (`permissions: id-token: write`).
pub(crate) struct GithubIdToken {
    pub(crate) url: String,
    pub(crate) request_token: Secret,
    pub(crate) http: reqwest::Client,
}

#[derive(Deserialize)]
struct GithubAnswer {
    value: Option<String>,
}

impl IdTokenSource for GithubIdToken {
    fn id_token<'a>(&'a self, audience: &'a str) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let mut url = url::Url::parse(&self.url)
                .map_err(|e| auth_error(format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}"), None))?;
            url.query_pairs_mut().append_pair("audience", audience);
            let request = self.http.get(url).header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.request_token.expose()),
            );
            let body = send(request, "the GitHub Actions ID token request").await?;
            serde_json::from_slice::<GithubAnswer>(&body)
                .ok()
                .and_then(|a| a.value)
                .filter(|v| !v.is_empty())
                .map(Secret::from)
                .ok_or_else(|| auth_error("the GitHub Actions ID token answer has no value", None))
        })
    }
}

/// Azure DevOps' pipeline ID token request.
struct AzureDevOpsIdToken {
    url: String,
    access_token: Secret,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzureDevOpsAnswer {
    oidc_token: Option<String>,
}

impl IdTokenSource for AzureDevOpsIdToken {
    fn id_token<'a>(&'a self, _audience: &'a str) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let request = self
                .http
                .post(&self.url)
                .header(
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", self.access_token.expose()),
                )
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::CONTENT_LENGTH, "0");
            let body = send(request, "the Azure DevOps OIDC token request").await?;
            serde_json::from_slice::<AzureDevOpsAnswer>(&body)
                .ok()
                .and_then(|a| a.oidc_token)
                .filter(|v| !v.is_empty())
                .map(Secret::from)
                .ok_or_else(|| auth_error("the Azure DevOps OIDC answer has no oidcToken", None))
        })
    }
}

/// The token exchange at the workspace's token endpoint.
struct TokenExchange {
    http: reqwest::Client,
    discovery_url: String,
    token_endpoint: tokio::sync::OnceCell<String>,
    audience: Option<String>,
    client_id: Option<String>,
    source: Box<dyn IdTokenSource>,
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: Option<String>,
}

impl TokenExchange {
    async fn endpoint(&self) -> Result<&str, Error> {
        self.token_endpoint
            .get_or_try_init(|| async {
                let what = format!("OAuth discovery at {}", self.discovery_url);
                let body = send(
                    self.http.get(&self.discovery_url).header("Accept", "application/json"),
                    &what,
                )
                .await?;
                serde_json::from_slice::<Discovery>(&body)
                    .ok()
                    .and_then(|d| d.token_endpoint)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| auth_error(format!("{what} returned no token_endpoint"), None))
            })
            .await
            .map(String::as_str)
    }
}

impl TokenSource for TokenExchange {
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let endpoint = self.endpoint().await?;
            let audience = self.audience.as_deref().unwrap_or(endpoint);
            let id_token = self.source.id_token(audience).await?;
            let mut form = vec![
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("scope", "all-apis"),
                ("subject_token_type", JWT_TOKEN_TYPE),
                ("subject_token", id_token.expose()),
            ];
            if let Some(id) = &self.client_id {
                form.push(("client_id", id));
            }
            let requested_at = Instant::now();
            let body = send(
                self.http
                    .post(endpoint)
                    .header("Accept", "application/json")
                    .form(&form),
                "the OAuth token exchange",
            )
            .await?;
            parse_token(&body, requested_at, "the OAuth token exchange")
        })
    }
}

/// Federation credentials with `source` for `ctx`.
fn exchange(
    ctx: &Context,
    auth_type: &'static str,
    source: Box<dyn IdTokenSource>,
) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let discovery_url = ctx
        .discovery_url
        .clone()
        .unwrap_or_else(|| format!("{}/oidc/.well-known/oauth-authorization-server", ctx.host));
    let client_id = ctx.client_id.clone();
    let source = TokenExchange {
        http: http_client(ctx.timeout)?,
        discovery_url,
        token_endpoint: tokio::sync::OnceCell::new(),
        audience: ctx.setting("token_audience"),
        client_id: client_id.clone(),
        source,
    };
    Ok(Arc::new(
        WorkloadCredentials::new(auth_type, Refreshing::new(source)).with_client_id(client_id),
    ))
}

fn env_var_name(ctx: &Context) -> String {
    ctx.setting("oidc_token_env")
        .unwrap_or_else(|| "DATABRICKS_OIDC_TOKEN".to_owned())
}

/// `env-oidc`.
pub(crate) const ENV_OIDC: Method = Method {
    name: "env-oidc",
    needs: "an OIDC token in DATABRICKS_OIDC_TOKEN (or the variable DATABRICKS_OIDC_TOKEN_ENV names)",
    configured: |ctx| ctx.var(&env_var_name(ctx)).is_some(),
    build: |ctx| {
        let var = env_var_name(ctx);
        if ctx.var(&var).is_none() {
            return Err(Error::Config(format!(
                "auth_type env-oidc needs an OIDC token in {var}"
            )));
        }
        exchange(
            ctx,
            "env-oidc",
            Box::new(EnvIdToken {
                var,
                env: ctx.env.clone(),
            }),
        )
    },
};

/// `file-oidc`.
pub(crate) const FILE_OIDC: Method = Method {
    name: "file-oidc",
    needs: "oidc_token_filepath (DATABRICKS_OIDC_TOKEN_FILEPATH) naming a file",
    configured: |ctx| {
        ctx.setting("oidc_token_filepath")
            .is_some_and(|p| std::path::Path::new(&p).is_file())
    },
    build: |ctx| {
        let path = ctx.setting("oidc_token_filepath").ok_or_else(|| {
            Error::Config("auth_type file-oidc needs oidc_token_filepath (DATABRICKS_OIDC_TOKEN_FILEPATH)".to_owned())
        })?;
        exchange(ctx, "file-oidc", Box::new(FileIdToken { path: path.into() }))
    },
};

fn github_vars(ctx: &Context) -> Option<(String, Secret)> {
    Some((
        ctx.var("ACTIONS_ID_TOKEN_REQUEST_URL")?,
        Secret::from(ctx.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")?),
    ))
}

/// `github-oidc`.
pub(crate) const GITHUB_OIDC: Method = Method {
    name: "github-oidc",
    needs: "client_id (DATABRICKS_CLIENT_ID) and ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN (GitHub Actions, permissions: id-token: write)",
    configured: |ctx| ctx.client_id.is_some() && github_vars(ctx).is_some(),
    build: |ctx| {
        let (url, request_token) = github_vars(ctx).ok_or_else(|| {
            Error::Config("auth_type github-oidc needs ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (a GitHub Actions job with permissions: id-token: write)".to_owned())
        })?;
        if ctx.client_id.is_none() {
            return Err(Error::Config(
                "auth_type github-oidc needs the service principal's client id (DATABRICKS_CLIENT_ID)".to_owned(),
            ));
        }
        let source = GithubIdToken {
            url,
            request_token,
            http: http_client(ctx.timeout)?,
        };
        exchange(ctx, "github-oidc", Box::new(source))
    },
};

const AZURE_DEVOPS_VARS: [&str; 6] = [
    "SYSTEM_ACCESSTOKEN",
    "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
    "SYSTEM_TEAMPROJECTID",
    "SYSTEM_PLANID",
    "SYSTEM_JOBID",
    "SYSTEM_HOSTTYPE",
];

/// `azure-devops-oidc`.
pub(crate) const AZURE_DEVOPS_OIDC: Method = Method {
    name: "azure-devops-oidc",
    needs: "client_id (DATABRICKS_CLIENT_ID) and SYSTEM_ACCESSTOKEN with the pipeline's SYSTEM_* variables",
    configured: |ctx| ctx.client_id.is_some() && AZURE_DEVOPS_VARS.iter().all(|v| ctx.var(v).is_some()),
    build: |ctx| {
        let missing: Vec<&str> = AZURE_DEVOPS_VARS
            .iter()
            .copied()
            .filter(|v| ctx.var(v).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Config(format!(
                "auth_type azure-devops-oidc: missing environment variables {} (SYSTEM_ACCESSTOKEN must be mapped into the pipeline step's env)",
                missing.join(", ")
            )));
        }
        if ctx.client_id.is_none() {
            return Err(Error::Config(
                "auth_type azure-devops-oidc needs the service principal's client id (DATABRICKS_CLIENT_ID)".to_owned(),
            ));
        }
        let v = |k: &str| ctx.var(k).unwrap_or_default();
        let url = format!(
            "{}{}/_apis/distributedtask/hubs/{}/plans/{}/jobs/{}/oidctoken?api-version=7.2-preview.1",
            v("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"),
            v("SYSTEM_TEAMPROJECTID"),
            v("SYSTEM_HOSTTYPE"),
            v("SYSTEM_PLANID"),
            v("SYSTEM_JOBID"),
        );
        let source = AzureDevOpsIdToken {
            url,
            access_token: Secret::from(v("SYSTEM_ACCESSTOKEN")),
            http: http_client(ctx.timeout)?,
        };
        exchange(ctx, "azure-devops-oidc", Box::new(source))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::workload::test_context;
    use crate::config::MapEnv;
    use httpmock::prelude::*;

    #[tokio::test]
    async fn the_exact_exchange_request_and_a_refresh_before_expiry() {
        let server = MockServer::start_async().await;
        let token_url = server.url("/oidc/v1/token");
        let discovery = server.mock(|when, then| {
            when.method(GET).path("/oidc/.well-known/oauth-authorization-server");
            then.status(200)
                .json_body(serde_json::json!({"token_endpoint": token_url}));
        });
        let exchange = server.mock(|when, then| {
            when.method(POST)
                .path("/oidc/v1/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&scope=all-apis\
                     &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&subject_token=jwt.from.env\
                     &client_id=sp-1",
                );
            // 30 s: inside the 40 s leeway, so the next call exchanges again
            then.status(200)
                .json_body(serde_json::json!({"access_token": "dbx-tok", "token_type": "Bearer", "expires_in": 30}));
        });
        let ctx = test_context(
            &server.base_url(),
            Some("sp-1"),
            &[],
            MapEnv::new().with_var("DATABRICKS_OIDC_TOKEN", "jwt.from.env"),
        );
        assert!((ENV_OIDC.configured)(&ctx));
        let creds = (ENV_OIDC.build)(&ctx).unwrap();
        assert_eq!(creds.auth_type(), "env-oidc");
        assert_eq!(creds.client_id(), Some("sp-1"));
        assert_eq!(creds.authorization().await.unwrap().to_str().unwrap(), "Bearer dbx-tok");
        creds.authorization().await.unwrap();
        exchange.assert_calls(2);
        discovery.assert_calls(1);
        assert!(!format!("{creds:?}").contains("jwt.from.env"));
    }

    #[tokio::test]
    async fn the_exchange_error_keeps_the_servers_words_not_the_token() {
        let server = MockServer::start_async().await;
        let token_url = server.url("/oidc/v1/token");
        server.mock(|when, then| {
            when.method(GET).path("/oidc/.well-known/oauth-authorization-server");
            then.status(200)
                .json_body(serde_json::json!({"token_endpoint": token_url}));
        });
        server.mock(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(400)
                .json_body(serde_json::json!({"error": "invalid_grant", "error_description": "exp check failed"}));
        });
        let ctx = test_context(
            &server.base_url(),
            None,
            &[("token_audience", "aud")],
            MapEnv::new().with_var("DATABRICKS_OIDC_TOKEN", "secret.jwt.value"),
        );
        let e = (ENV_OIDC.build)(&ctx).unwrap().authorization().await.unwrap_err();
        assert_eq!(e.status(), Some(400));
        let msg = e.to_string();
        assert!(msg.contains("invalid_grant: exp check failed"), "{msg}");
        assert!(!msg.contains("secret.jwt.value") && !format!("{e:?}").contains("secret.jwt.value"));
    }
}
