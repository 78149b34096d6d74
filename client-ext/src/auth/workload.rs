//! Workload login: the settings of the federation, Azure, GCP and metadata-service methods, the
//! credentials they produce, and their place in the chain.
//!
//! Each setting has its official config key (`~/.databrickscfg`) and environment variable
//! (those of the official Python SDK 0.162.0, `databricks/sdk/config.py`). A few settings that
//! are not official (`LAKEBASE_*`) point an identity provider elsewhere: sovereign clouds, and
//! the loopback stand-ins of tests.
//!
//! | key | environment | used by |
//! |---|---|---|
//! | `token_audience` | `DATABRICKS_TOKEN_AUDIENCE` | federation: the `aud` asked of the identity provider |
//! | `oidc_token_env` | `DATABRICKS_OIDC_TOKEN_ENV` | `env-oidc`: the variable holding the JWT (default `DATABRICKS_OIDC_TOKEN`) |
//! | `oidc_token_filepath` | `DATABRICKS_OIDC_TOKEN_FILEPATH` (`DATABRICKS_OIDC_TOKEN_FILE`) | `file-oidc` |
//! | `azure_workspace_resource_id` | `DATABRICKS_AZURE_RESOURCE_ID` | Azure: `X-Databricks-Azure-Workspace-Resource-Id`, subscription |
//! | `azure_use_msi` | `ARM_USE_MSI` | `azure-msi` |
//! | `azure_client_id` / `azure_client_secret` / `azure_tenant_id` | `ARM_CLIENT_ID` / `ARM_CLIENT_SECRET` / `ARM_TENANT_ID` | Azure |
//! | `azure_environment` | `ARM_ENVIRONMENT` | `PUBLIC` (default), `USGOVERNMENT`, `CHINA` |
//! | `google_credentials` | `GOOGLE_CREDENTIALS` | `google-credentials`: a service account key, JSON or a file |
//! | `google_service_account` | `DATABRICKS_GOOGLE_SERVICE_ACCOUNT` | `google-id` |
//! | `metadata_service_url` | `DATABRICKS_METADATA_SERVICE_URL` | `metadata-service` |
//! | `azure_login_endpoint` | `LAKEBASE_AZURE_LOGIN_ENDPOINT` | Entra ID login URL (default the environment's) |
//! | `azure_msi_endpoint` | `LAKEBASE_AZURE_MSI_ENDPOINT` | instance metadata token URL (default `http://169.254.169.254/metadata/identity/oauth2/token`) |
//! | `google_iam_endpoint` | `LAKEBASE_GOOGLE_IAM_ENDPOINT` | IAM credentials API (default `https://iamcredentials.googleapis.com`) |
//!
//! Besides these, the methods read the variables their platforms set: `ACTIONS_ID_TOKEN_REQUEST_URL`
//! and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (GitHub Actions), `SYSTEM_ACCESSTOKEN`,
//! `SYSTEM_TEAMFOUNDATIONCOLLECTIONURI`, `SYSTEM_TEAMPROJECTID`, `SYSTEM_PLANID`, `SYSTEM_JOBID`,
//! `SYSTEM_HOSTTYPE` (Azure DevOps), `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` (App Service),
//! `GOOGLE_APPLICATION_CREDENTIALS` and `GCE_METADATA_HOST` (Google), and `PATH` (the `az` program).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::token_source::Refreshing;
use super::{AuthConfig, AuthType, BoxFuture, Configured, CredentialsProvider, CredentialsStrategy, Settings};
use crate::config::Env;
use crate::error::Error;

/// The settings that are not official, and their variables.
const OVERRIDES: [(&str, &str); 3] = [
    ("azure_login_endpoint", "LAKEBASE_AZURE_LOGIN_ENDPOINT"),
    ("azure_msi_endpoint", "LAKEBASE_AZURE_MSI_ENDPOINT"),
    ("google_iam_endpoint", "LAKEBASE_GOOGLE_IAM_ENDPOINT"),
];

/// What a method sees: the resolved settings (explicit, environment, profile), the host, the
/// environment and the timeout.
pub(crate) struct Context {
    pub(crate) host: String,
    pub(crate) client_id: Option<String>,
    pub(crate) discovery_url: Option<String>,
    settings: Settings,
    pub(crate) env: Arc<dyn Env>,
    pub(crate) timeout: Duration,
}

impl Context {
    /// The context of a chain's configuration.
    pub(crate) fn new(config: &AuthConfig) -> Self {
        Self {
            host: config.host.clone(),
            client_id: config.settings.get("client_id").map(str::to_owned),
            discovery_url: config.settings.get("discovery_url").map(str::to_owned),
            settings: config.settings.clone(),
            env: config.env.clone(),
            timeout: config.timeout,
        }
    }

    pub(crate) fn var(&self, key: &str) -> Option<String> {
        self.env.var(key)
    }

    /// A setting's value (secrets included: only for the wire).
    pub(crate) fn setting(&self, key: &str) -> Option<String> {
        if let Some((_, var)) = OVERRIDES.iter().find(|(k, _)| *k == key) {
            return self.var(var);
        }
        self.settings
            .get(key)
            .map(str::to_owned)
            .or_else(|| self.settings.secret(key).map(|s| s.expose().to_owned()))
            .filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn use_msi(&self) -> bool {
        self.settings.flag("azure_use_msi")
    }
}

/// A workload login method: its official name, whether it is configured, and its credentials.
pub(crate) struct Method {
    /// The official `auth_type`.
    pub(crate) name: &'static str,
    /// Whether the settings and environment it needs are present (checked without I/O beyond
    /// looking at files, as `Config::build` is synchronous).
    pub(crate) configured: fn(&Context) -> bool,
    /// What it needs, for the chain's "skipped" line.
    pub(crate) needs: &'static str,
    /// Its credentials; only called when configured or chosen by `auth_type`.
    pub(crate) build: fn(&Context) -> Result<Arc<dyn CredentialsProvider>, Error>,
}

/// A workload [`Method`] as a strategy of the chain.
pub(crate) struct WorkloadStrategy(pub(crate) Method);

impl fmt::Debug for WorkloadStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkloadStrategy").field(&self.0.name).finish()
    }
}

impl CredentialsStrategy for WorkloadStrategy {
    fn auth_type(&self) -> AuthType {
        self.0.name.parse().unwrap_or(AuthType::ModelServing)
    }

    fn configure(&self, config: &AuthConfig) -> Result<Configured, Error> {
        let ctx = Context::new(config);
        // Named by auth_type: build it, so its own error says what is missing.
        if config.auth_type == Some(self.auth_type()) || (self.0.configured)(&ctx) {
            return (self.0.build)(&ctx).map(Configured::Provider);
        }
        Ok(Configured::Skipped(format!("needs {}", self.0.needs)))
    }
}

/// An extra header sent beside `Authorization`.
pub(crate) enum Extra {
    /// A fixed value.
    Fixed(http::HeaderName, http::HeaderValue),
    /// A refreshed token's bare access token; `optional`: a failure drops the header.
    Token {
        name: http::HeaderName,
        token: Refreshing,
        optional: bool,
    },
}

/// The credentials of a workload method: a refreshed token for `Authorization`, and extra
/// headers (Azure's service-management token, GCP's service account token).
pub struct WorkloadCredentials {
    auth_type: &'static str,
    token: Refreshing,
    extra: Vec<Extra>,
    client_id: Option<String>,
}

impl fmt::Debug for WorkloadCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadCredentials")
            .field("auth_type", &self.auth_type)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl WorkloadCredentials {
    pub(crate) fn new(auth_type: &'static str, token: Refreshing) -> Self {
        Self {
            auth_type,
            token,
            extra: Vec::new(),
            client_id: None,
        }
    }

    pub(crate) fn with_extra(mut self, extra: Extra) -> Self {
        self.extra.push(extra);
        self
    }

    pub(crate) fn with_client_id(mut self, client_id: Option<String>) -> Self {
        self.client_id = client_id;
        self
    }
}

impl CredentialsProvider for WorkloadCredentials {
    fn auth_type(&self) -> &'static str {
        self.auth_type
    }

    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>> {
        Box::pin(async move { self.token.token().await?.header() })
    }

    fn extra_headers(&self) -> BoxFuture<'_, Result<Vec<(http::HeaderName, http::HeaderValue)>, Error>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for e in &self.extra {
                match e {
                    Extra::Fixed(name, value) => out.push((name.clone(), value.clone())),
                    Extra::Token { name, token, optional } => match token.token().await {
                        Ok(t) => out.push((name.clone(), super::sensitive_header(t.access_token.expose())?)),
                        Err(e) if *optional => tracing::warn!("{name} not sent: {e}"),
                        Err(e) => return Err(e),
                    },
                }
            }
            Ok(out)
        })
    }

    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

/// A context for unit tests of the methods: `settings` given explicitly.
#[cfg(test)]
pub(crate) fn test_context(
    host: &str,
    client_id: Option<&str>,
    settings: &[(&str, &str)],
    env: crate::config::MapEnv,
) -> Context {
    let mut s = Settings::new();
    for (k, v) in settings {
        s.fill(k, *v, crate::auth::Source::Explicit);
    }
    Context {
        host: host.to_owned(),
        client_id: client_id.map(str::to_owned),
        discovery_url: None,
        settings: s,
        env: Arc::new(env),
        timeout: Duration::from_secs(5),
    }
}
