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

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::token_source::Refreshing;
use super::{BoxFuture, CredentialsProvider};
use crate::config::Env;
use crate::error::Error;
use crate::secret::Secret;

/// `(config key, environment variables, secret)` of every workload setting.
const KEYS: &[(&str, &[&str], bool)] = &[
    ("token_audience", &["DATABRICKS_TOKEN_AUDIENCE"], false),
    ("oidc_token_env", &["DATABRICKS_OIDC_TOKEN_ENV"], false),
    (
        "oidc_token_filepath",
        &["DATABRICKS_OIDC_TOKEN_FILEPATH", "DATABRICKS_OIDC_TOKEN_FILE"],
        false,
    ),
    ("azure_workspace_resource_id", &["DATABRICKS_AZURE_RESOURCE_ID"], false),
    ("azure_use_msi", &["ARM_USE_MSI"], false),
    ("azure_client_id", &["ARM_CLIENT_ID"], false),
    ("azure_client_secret", &["ARM_CLIENT_SECRET"], true),
    ("azure_tenant_id", &["ARM_TENANT_ID"], false),
    ("azure_environment", &["ARM_ENVIRONMENT"], false),
    ("google_credentials", &["GOOGLE_CREDENTIALS"], true),
    ("google_service_account", &["DATABRICKS_GOOGLE_SERVICE_ACCOUNT"], false),
    ("metadata_service_url", &["DATABRICKS_METADATA_SERVICE_URL"], true),
    ("azure_login_endpoint", &["LAKEBASE_AZURE_LOGIN_ENDPOINT"], false),
    ("azure_msi_endpoint", &["LAKEBASE_AZURE_MSI_ENDPOINT"], false),
    ("google_iam_endpoint", &["LAKEBASE_GOOGLE_IAM_ENDPOINT"], false),
];

/// The settings of the workload login methods (see the [module docs](self) for each key).
///
/// Values set here win over the environment, which wins over the profile.
///
/// ```
/// use lakebase::auth::workload::WorkloadSettings;
/// let s = WorkloadSettings::new().with("token_audience", "my-sp-audience")?.with("azure_client_secret", "shh")?;
/// assert!(!format!("{s:?}").contains("shh"));
/// assert!(WorkloadSettings::new().with("colour", "red").is_err());
/// # Ok::<(), lakebase::error::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct WorkloadSettings {
    values: BTreeMap<&'static str, Secret>,
}

impl fmt::Debug for WorkloadSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.values {
            if is_secret(k) {
                m.entry(k, &"***");
            } else {
                m.entry(k, &v.expose());
            }
        }
        m.finish()
    }
}

fn is_secret(key: &str) -> bool {
    KEYS.iter().any(|(k, _, secret)| *k == key && *secret)
}

impl WorkloadSettings {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (a config key of the table in the module docs); an unknown key is an error.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Result<Self, Error> {
        let (k, _, _) = KEYS.iter().find(|(k, _, _)| *k == key).ok_or_else(|| {
            Error::Config(format!(
                "unknown workload setting {key:?} (known: {})",
                KEYS.iter().map(|(k, _, _)| *k).collect::<Vec<_>>().join(", ")
            ))
        })?;
        self.values.insert(k, Secret::from(value.into()));
        Ok(self)
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(Secret::expose).filter(|v| !v.is_empty())
    }

    /// Fills unset keys from the environment, then from the profile section's keys.
    pub(crate) fn resolve(mut self, env: &dyn Env, profile: &BTreeMap<String, String>) -> Self {
        for (key, vars, _) in KEYS {
            if self.get(key).is_some() {
                continue;
            }
            let value = vars.iter().find_map(|v| env.var(v)).or_else(|| {
                profile
                    .get(*key)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| v.trim().to_owned())
            });
            if let Some(v) = value {
                self.values.insert(key, Secret::from(v));
            }
        }
        self
    }

    /// Whether any setting that selects a method is set (not the endpoint overrides).
    pub(crate) fn is_configured(&self) -> bool {
        self.values
            .keys()
            .any(|k| !k.ends_with("_endpoint") && *k != "azure_environment" && *k != "token_audience")
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }
}

/// Every key of a profile section (for the workload settings, which `profile` does not list).
pub(crate) fn profile_keys(path: &Path, profile: &str) -> BTreeMap<String, String> {
    ini::Ini::load_from_file(path)
        .ok()
        .and_then(|ini| {
            ini.section(Some(profile))
                .map(|s| s.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        })
        .unwrap_or_default()
}

/// What a method needs to know besides its own settings.
pub(crate) struct Context<'a> {
    pub(crate) host: &'a str,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) discovery_url: Option<&'a str>,
    pub(crate) settings: &'a WorkloadSettings,
    pub(crate) env: Arc<dyn Env>,
    pub(crate) timeout: Duration,
}

impl Context<'_> {
    pub(crate) fn var(&self, key: &str) -> Option<String> {
        self.env.var(key)
    }

    pub(crate) fn setting(&self, key: &str) -> Option<String> {
        self.settings.get(key).map(str::to_owned)
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
    pub(crate) configured: fn(&Context<'_>) -> bool,
    /// Its credentials; only called when configured or chosen by `auth_type`.
    pub(crate) build: fn(&Context<'_>) -> Result<Arc<dyn CredentialsProvider>, Error>,
}

/// The workload methods in the official Python SDK 0.162.0's order
/// (`DefaultCredentials` in `databricks/sdk/credentials_provider.py`), `azure-msi` (Go SDK
/// only) placed after `github-oidc-azure`. `pat`, `basic`, `oauth-m2m` and the person logins sit
/// between them in the full chain (see [`crate::auth`]).
pub(crate) fn methods() -> [Method; 11] {
    use super::{azure, gcp, metadata_service, oidc};
    [
        metadata_service::METHOD,
        oidc::ENV_OIDC,
        oidc::FILE_OIDC,
        oidc::GITHUB_OIDC,
        azure::CLIENT_SECRET,
        azure::GITHUB_OIDC_AZURE,
        azure::MSI,
        azure::CLI,
        oidc::AZURE_DEVOPS_OIDC,
        gcp::CREDENTIALS,
        gcp::ID,
    ]
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

/// A context for unit tests of the methods.
#[cfg(test)]
pub(crate) fn test_context<'a>(
    host: &'a str,
    client_id: Option<&'a str>,
    settings: &'a WorkloadSettings,
    env: crate::config::MapEnv,
) -> Context<'a> {
    Context {
        host,
        client_id,
        discovery_url: None,
        settings,
        env: Arc::new(env),
        timeout: Duration::from_secs(5),
    }
}
