//! Credentials: how the `Authorization` header of each request is obtained.
//!
//! # The credentials chain
//!
//! Like the official SDKs ("Databricks client unified authentication"), a [`Config`] is
//! given credentials by a chain of login methods, each a [`CredentialsStrategy`]. When
//! `auth_type` is set (builder, `DATABRICKS_AUTH_TYPE`, or the profile's `auth_type`) only that
//! method is tried and its failure is the error. Otherwise the methods are tried in order and
//! the first that applies wins; when none does, one error lists every method tried, why it was
//! skipped, and where each setting came from (never a value of a secret).
//!
//! The order is the official Python SDK 0.162.0's (`DefaultCredentials` in
//! `databricks/sdk/credentials_provider.py`); the methods this crate implements are in bold,
//! the others are recognised names ([`AuthType`]) that slot in as further strategies:
//!
//! 1. **`pat`**: a personal access token ([`pat`]);
//! 2. `basic`, 3. **`metadata-service`** ([`metadata_service`]);
//! 4. **`oauth-m2m`**: a service principal's client id and secret ([`m2m`]);
//! 5. **`env-oidc`**, 6. **`file-oidc`**, 7. **`github-oidc`**: token federation ([`federation`]);
//!    8. **`azure-client-secret`**, 9. **`github-oidc-azure`**, then **`azure-msi`** (the Go
//!    SDK's; the Python SDK has none), 10. **`azure-cli`** ([`azure`]);
//!    11. **`azure-devops-oidc`** ([`federation`]);
//! 12. **`external-browser`**: OAuth U2M in the browser, only when named by `auth_type`
//!     (as in the Python SDK), with an on-disk token cache ([`u2m`]);
//! 13. **`databricks-cli`**: the token of `databricks auth token` ([`cli`]);
//! 14. `runtime-oauth`, 15. `runtime`, 16. **`google-credentials`**, 17. **`google-id`**
//!     ([`gcp`]), 18. `model-serving`.
//!
//! [`default_strategies`] is that list; [`Config`](crate::Config) resolves it with
//! [`chain::resolve`]. Strategies share [`RefreshingToken`]: a cached token refreshed ahead
//! of its expiry by exactly one request, however many callers wait.
//!
//! [`Config`]: crate::config::Config

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Error;

pub mod auth_type;
pub mod azure;
pub mod chain;
pub mod cli;
pub mod federation;
pub mod gcp;
pub mod m2m;
pub mod metadata_service;
pub mod oidc;
pub mod pat;
pub mod profile;
pub mod settings;
pub mod token;
pub mod token_source;
pub mod u2m;
pub mod workload;

pub use auth_type::AuthType;
pub use chain::{Configured, CredentialsStrategy};
pub use m2m::OAuthM2mCredentials;
pub use pat::PatCredentials;
pub use settings::{AuthConfig, Setting, Settings, Source};
pub use token::{RefreshingToken, Token, TokenSource};

/// A boxed, `Send` future (keeps [`CredentialsProvider`] dyn-compatible).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Produces the `Authorization` header value for requests.
///
/// Implementations must keep secrets out of `Debug`.
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// Short name of the method, used in the User-Agent: `"pat"`, `"oauth-m2m"`, ...
    fn auth_type(&self) -> &'static str;

    /// The header value (marked sensitive), refreshing credentials if needed.
    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>>;

    /// Headers sent beside `Authorization` (Azure's service-management token and workspace
    /// resource id, GCP's service account token); none by default.
    fn extra_headers(&self) -> BoxFuture<'_, Result<Vec<(http::HeaderName, http::HeaderValue)>, Error>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// The OAuth client id when authenticating as a service principal (its Postgres user name).
    fn client_id(&self) -> Option<&str> {
        None
    }

    /// The current token with its expiry (what `lakebase auth token` prints). The default
    /// splits the [`authorization`](Self::authorization) header and knows no expiry.
    fn token(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(async move {
            let header = self.authorization().await?;
            let value = header
                .to_str()
                .map_err(|_| Error::Config("the credential is not a printable token".to_owned()))?;
            let (token_type, access) = value.split_once(' ').unwrap_or(("Bearer", value));
            Ok(Token::new(access.to_owned().into(), token_type, None))
        })
    }
}

/// The strategies of the default chain, in the official Python SDK 0.162.0's order (see the
/// [module docs](self)).
pub fn default_strategies() -> Vec<Arc<dyn CredentialsStrategy>> {
    use workload::WorkloadStrategy as W;
    vec![
        Arc::new(pat::PatStrategy),
        Arc::new(W(metadata_service::METHOD)),
        Arc::new(m2m::OAuthM2mStrategy),
        Arc::new(W(federation::ENV_OIDC)),
        Arc::new(W(federation::FILE_OIDC)),
        Arc::new(W(federation::GITHUB_OIDC)),
        Arc::new(W(azure::CLIENT_SECRET)),
        Arc::new(W(azure::GITHUB_OIDC_AZURE)),
        Arc::new(W(azure::MSI)),
        Arc::new(W(azure::CLI)),
        Arc::new(W(federation::AZURE_DEVOPS_OIDC)),
        Arc::new(u2m::ExternalBrowserStrategy),
        Arc::new(cli::DatabricksCliStrategy),
        Arc::new(W(gcp::CREDENTIALS)),
        Arc::new(W(gcp::ID)),
    ]
}

/// Builds a sensitive header value; the error never quotes the value.
pub(crate) fn sensitive_header(value: &str) -> Result<http::HeaderValue, Error> {
    let mut header = http::HeaderValue::from_str(value)
        .map_err(|_| Error::Config("credential contains characters not allowed in an HTTP header".to_owned()))?;
    header.set_sensitive(true);
    Ok(header)
}
