//! [`CredentialsStrategy`] (one per login method) and [`resolve`], which picks one.

use std::fmt;
use std::sync::Arc;

use super::{AuthConfig, AuthType, CredentialsProvider};
use crate::error::Error;

/// What a strategy says about the configuration it is given.
#[derive(Debug)]
pub enum Configured {
    /// The method applies: here are its credentials.
    Provider(Arc<dyn CredentialsProvider>),
    /// The method does not apply, and why (e.g. `"no token (DATABRICKS_TOKEN, token)"`).
    Skipped(String),
}

/// One login method of the chain.
///
/// `configure` must be cheap and must not block on the network: a method that needs a
/// request or a program run to get its token does it on the provider's first
/// [`authorization`](CredentialsProvider::authorization). An `Err` means the method applies
/// but is misconfigured; it ends the chain.
pub trait CredentialsStrategy: Send + Sync + fmt::Debug {
    /// The method's name.
    fn auth_type(&self) -> AuthType;

    /// Whether the method applies to `config`, and its credentials if so.
    fn configure(&self, config: &AuthConfig) -> Result<Configured, Error>;
}

/// The official SDKs' page on unified authentication, quoted by the "nothing fits" error.
pub const AUTH_DOCS: &str =
    "https://docs.databricks.com/en/dev-tools/auth.html#databricks-client-unified-authentication";

/// Picks the credentials of `config`: the `auth_type` asked for, else the first strategy
/// that applies (see the [module docs](super)).
///
/// # Errors
/// [`Error::Config`] when the `auth_type` asked for is not available or does not apply, when
/// settings of two methods are mixed without `auth_type`, or when no method applies (the
/// message lists each method tried, why it was skipped, and the source of each setting).
pub fn resolve(
    strategies: &[Arc<dyn CredentialsStrategy>],
    config: &AuthConfig,
) -> Result<Arc<dyn CredentialsProvider>, Error> {
    let sources = config.settings.describe_sources();
    if let Some(wanted) = config.auth_type {
        let strategy = strategies.iter().find(|s| s.auth_type() == wanted).ok_or_else(|| {
            let available: Vec<&str> = strategies.iter().map(|s| s.auth_type().as_str()).collect();
            Error::Config(format!(
                "auth_type {wanted} is not available in this version of lakebase (available: {})",
                available.join(", ")
            ))
        })?;
        return match strategy.configure(config) {
            Ok(Configured::Provider(p)) => Ok(p),
            Ok(Configured::Skipped(why)) => Err(Error::Config(format!(
                "auth_type {wanted} cannot be used for {}: {why}. Settings: {sources}",
                config.host
            ))),
            Err(e) => Err(prefixed(wanted, e)),
        };
    }
    let groups = config.settings.auth_groups();
    if groups.len() > 1 {
        return Err(Error::Config(format!(
            "more than one authorization method configured: {}; set auth_type to choose one. Settings: {sources}",
            groups.join(" and ")
        )));
    }
    let mut skipped = Vec::new();
    for strategy in strategies {
        match strategy.configure(config) {
            Ok(Configured::Provider(p)) => return Ok(p),
            Ok(Configured::Skipped(why)) => skipped.push(format!("  {}: {why}", strategy.auth_type())),
            Err(e) => return Err(prefixed(strategy.auth_type(), e)),
        }
    }
    Err(Error::Config(format!(
        "no credentials configured for {}: no login method applies. Tried, in order:\n{}\nSettings: {sources}.\nSee {AUTH_DOCS}",
        config.host,
        skipped.join("\n")
    )))
}

fn prefixed(auth_type: AuthType, e: Error) -> Error {
    match e {
        Error::Config(m) => Error::Config(format!("{auth_type}: {m}")),
        other => other,
    }
}

/// Why a strategy needing `keys` is skipped: `"no client_id (DATABRICKS_CLIENT_ID)"`.
pub fn missing(keys: &[&str], config: &AuthConfig) -> Option<String> {
    let absent: Vec<String> = keys
        .iter()
        .filter(|k| !config.settings.has(k))
        .map(|k| match super::settings::attribute(k).and_then(|a| a.env) {
            Some(env) => format!("{k} ({env})"),
            None => (*k).to_owned(),
        })
        .collect();
    (!absent.is_empty()).then(|| format!("no {}", absent.join(", no ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Settings, Source, default_strategies};
    use crate::config::MapEnv;

    fn config(settings: Settings, auth_type: Option<AuthType>) -> AuthConfig {
        // An empty PATH: the Databricks CLI is never found.
        let env = MapEnv::new().with_var("PATH", "/nonexistent-dir");
        AuthConfig::new("https://h.example.com", settings, Arc::new(env)).with_auth_type(auth_type)
    }

    #[test]
    fn nothing_fits_lists_every_method_and_source() {
        let mut s = Settings::new();
        s.fill("host", "h.example.com", Source::Environment("DATABRICKS_HOST"));
        s.fill(
            "client_id",
            "abc",
            Source::Profile {
                name: "dev".into(),
                file: "/x/.databrickscfg".into(),
            },
        );
        let e = resolve(&default_strategies(), &config(s, None)).unwrap_err();
        let msg = e.to_string();
        for part in [
            "no login method applies",
            "  pat: no token (DATABRICKS_TOKEN)",
            "  oauth-m2m: no client_secret (DATABRICKS_CLIENT_SECRET)",
            "  external-browser: only used when auth_type is external-browser",
            "  databricks-cli: ",
            "host (environment DATABRICKS_HOST)",
            "client_id (profile \"dev\" of /x/.databrickscfg)",
            AUTH_DOCS,
        ] {
            assert!(msg.contains(part), "{part:?} missing in:\n{msg}");
        }
    }

    #[test]
    fn auth_type_forces_one_method() {
        let mut s = Settings::new();
        s.fill("token", "dapi-secret-1", Source::Explicit);
        s.fill("client_id", "abc", Source::Explicit);
        let e = resolve(&default_strategies(), &config(s.clone(), None)).unwrap_err();
        assert!(e.to_string().contains("oauth and pat"), "{e}");
        let p = resolve(&default_strategies(), &config(s.clone(), Some(AuthType::Pat))).unwrap();
        assert_eq!(p.auth_type(), "pat");
        let e = resolve(&default_strategies(), &config(s.clone(), Some(AuthType::OAuthM2m))).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("auth_type oauth-m2m cannot be used") && msg.contains("client_secret"),
            "{msg}"
        );
        assert!(!msg.contains("dapi-secret-1"));
        let e = resolve(&default_strategies(), &config(s, Some(AuthType::Basic))).unwrap_err();
        assert!(e.to_string().contains("basic is not available"), "{e}");
    }
}
