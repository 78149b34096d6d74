//! [`AuthType`]: the names of the login methods, exactly as the official SDKs spell them.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

macro_rules! auth_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A login method, named as `auth_type` names it in `~/.databrickscfg`,
        /// `DATABRICKS_AUTH_TYPE` and the official SDKs.
        ///
        /// Open: more methods may be added; parsing an unknown name is an error that lists
        /// the known ones.
        ///
        /// ```
        /// use lakebase::auth::AuthType;
        /// let t: AuthType = "external-browser".parse()?;
        /// assert_eq!(t, AuthType::ExternalBrowser);
        /// assert_eq!(t.as_str(), "external-browser");
        /// let e = "browser".parse::<AuthType>().unwrap_err().to_string();
        /// assert!(e.contains("databricks-cli"), "{e}");
        /// # Ok::<(), lakebase::Error>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum AuthType {
            $($(#[$doc])* $variant,)*
        }

        impl AuthType {
            /// Every known method, in the official chain's order.
            pub const ALL: &'static [AuthType] = &[$(AuthType::$variant,)*];

            /// The official name, e.g. `"oauth-m2m"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuthType::$variant => $name,)*
                }
            }
        }
    };
}

auth_types! {
    /// Personal access token (`token`).
    Pat = "pat",
    /// Username and password.
    Basic = "basic",
    /// A local metadata service (`metadata_service_url`).
    MetadataService = "metadata-service",
    /// OAuth machine-to-machine: a service principal's `client_id` and `client_secret`.
    OAuthM2m = "oauth-m2m",
    /// OIDC token federation from an environment variable.
    EnvOidc = "env-oidc",
    /// OIDC token federation from a file (`oidc_token_filepath`).
    FileOidc = "file-oidc",
    /// OIDC token federation from GitHub Actions.
    GithubOidc = "github-oidc",
    /// Azure service principal with a client secret.
    AzureClientSecret = "azure-client-secret",
    /// GitHub Actions OIDC exchanged at Azure Entra ID.
    GithubOidcAzure = "github-oidc-azure",
    /// The Azure CLI's login.
    AzureCli = "azure-cli",
    /// Azure DevOps OIDC.
    AzureDevopsOidc = "azure-devops-oidc",
    /// OAuth user-to-machine in the browser, with a token cache.
    ExternalBrowser = "external-browser",
    /// The Databricks CLI's login (`databricks auth token`).
    DatabricksCli = "databricks-cli",
    /// Databricks Runtime OAuth.
    RuntimeOauth = "runtime-oauth",
    /// Databricks Runtime native credentials.
    Runtime = "runtime",
    /// Google service account credentials (`google_credentials`).
    GoogleCredentials = "google-credentials",
    /// Google ID token of an impersonated service account (`google_service_account`).
    GoogleId = "google-id",
    /// Model serving environment credentials.
    ModelServing = "model-serving",
    /// An Azure managed identity (the Go SDK's method; `azure_use_msi`).
    AzureMsi = "azure-msi",
}

impl AuthType {
    /// The known names, comma separated (for error messages).
    pub fn known_names() -> String {
        AuthType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        AuthType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown auth_type {wanted:?}; known: {}",
                    AuthType::known_names()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown() {
        for t in AuthType::ALL {
            assert_eq!(t.as_str().parse::<AuthType>().unwrap(), *t);
        }
        assert_eq!(AuthType::ALL.len(), 19);
        assert_eq!(" PAT ".parse::<AuthType>().unwrap(), AuthType::Pat);
        let e = "oauth".parse::<AuthType>().unwrap_err();
        assert!(matches!(e, Error::Config(_)));
        let msg = e.to_string();
        assert!(
            msg.contains("\"oauth\"") && msg.contains("oauth-m2m") && msg.contains("model-serving"),
            "{msg}"
        );
    }
}
