//! Personal access token authentication: `Authorization: Bearer <token>`.

use std::sync::Arc;

use super::chain::missing;
use super::{AuthConfig, AuthType, BoxFuture, Configured, CredentialsProvider, CredentialsStrategy, sensitive_header};
use crate::error::Error;
use crate::secret::Secret;

/// Personal access token credentials.
///
/// ```
/// use lakebase::auth::{CredentialsProvider, PatCredentials};
/// let pat = PatCredentials::new("dapi-123".into());
/// assert_eq!(pat.auth_type(), "pat");
/// assert!(!format!("{pat:?}").contains("dapi-123"));
/// ```
#[derive(Clone, Debug)]
pub struct PatCredentials {
    token: Secret,
}

impl PatCredentials {
    /// Credentials from a token.
    pub fn new(token: Secret) -> Self {
        Self { token }
    }
}

impl CredentialsProvider for PatCredentials {
    fn auth_type(&self) -> &'static str {
        "pat"
    }

    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>> {
        let header = sensitive_header(&format!("Bearer {}", self.token.expose()));
        Box::pin(std::future::ready(header))
    }
}

/// The `pat` strategy: applies when `host` and `token` are set.
#[derive(Clone, Copy, Debug, Default)]
pub struct PatStrategy;

impl CredentialsStrategy for PatStrategy {
    fn auth_type(&self) -> AuthType {
        AuthType::Pat
    }

    fn configure(&self, config: &AuthConfig) -> Result<Configured, Error> {
        match config.settings.secret("token") {
            Some(token) => Ok(Configured::Provider(Arc::new(PatCredentials::new(token)))),
            None => Ok(Configured::Skipped(missing(&["token"], config).unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bearer_header() {
        let pat = PatCredentials::new(Secret::from("dapi-conformance-token"));
        let h = pat.authorization().await.unwrap();
        assert_eq!(h.to_str().unwrap(), "Bearer dapi-conformance-token");
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains("dapi"));
        assert!(!format!("{pat:?}").contains("dapi"));
        let bad = PatCredentials::new(Secret::from("bad\ntoken-secret"));
        let e = bad.authorization().await.unwrap_err();
        assert!(!e.to_string().contains("token-secret"));
    }
}
