//! Credentials: how the `Authorization` header of each request is obtained.
//!
//! Supported (Databricks unified auth, reference §12): personal access tokens ([`pat`]) and
//! OAuth machine-to-machine with a service principal ([`m2m`]). Profiles of `~/.databrickscfg`
//! are read by [`profile`]. [`crate::config::Config`] picks the provider.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::Error;

pub mod azure;
pub mod gcp;
pub mod m2m;
pub mod metadata_service;
pub mod oidc;
pub mod pat;
pub mod profile;
pub mod token_source;
pub mod workload;

pub use m2m::OAuthM2mCredentials;
pub use pat::PatCredentials;

/// A boxed, `Send` future (keeps [`CredentialsProvider`] dyn-compatible).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Produces the `Authorization` header value for requests.
///
/// Implementations must keep secrets out of `Debug`.
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// Short name of the method, used in the User-Agent: `"pat"`, `"oauth-m2m"`.
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
}

/// Builds a sensitive header value; the error never quotes the value.
pub(crate) fn sensitive_header(value: &str) -> Result<http::HeaderValue, Error> {
    let mut header = http::HeaderValue::from_str(value)
        .map_err(|_| Error::Config("credential contains characters not allowed in an HTTP header".to_owned()))?;
    header.set_sensitive(true);
    Ok(header)
}
