//! The configuration settings login methods read, and where each came from.
//!
//! [`ATTRIBUTES`] is the one table of settings: the official config key (as in
//! `~/.databrickscfg`), its environment variable, whether it is a secret, and the group of
//! login methods it configures (two groups set at once without `auth_type` is an error, as in
//! the official SDKs). New login methods add their rows here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::AuthType;
use crate::config::Env;
use crate::secret::Secret;

/// One configuration setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attribute {
    /// The config-file key, e.g. `client_id`.
    pub key: &'static str,
    /// The environment variable, e.g. `DATABRICKS_CLIENT_ID`.
    pub env: Option<&'static str>,
    /// Whether the value is a secret (never printed).
    pub sensitive: bool,
    /// The login-method group it configures (`"pat"`, `"oauth"`, ...), if any.
    pub auth: Option<&'static str>,
    /// An older environment variable still read when `env` is unset.
    pub env_alias: Option<&'static str>,
}

const fn attr(key: &'static str, env: Option<&'static str>, sensitive: bool, auth: Option<&'static str>) -> Attribute {
    Attribute {
        key,
        env,
        sensitive,
        auth,
        env_alias: None,
    }
}

/// Every setting, with the official names (Python SDK 0.162.0 `databricks/sdk/config.py`).
pub const ATTRIBUTES: &[Attribute] = &[
    attr("host", Some("DATABRICKS_HOST"), false, None),
    attr("account_id", Some("DATABRICKS_ACCOUNT_ID"), false, None),
    attr("workspace_id", Some("DATABRICKS_WORKSPACE_ID"), false, None),
    attr("token", Some("DATABRICKS_TOKEN"), true, Some("pat")),
    attr("username", Some("DATABRICKS_USERNAME"), false, Some("basic")),
    attr("password", Some("DATABRICKS_PASSWORD"), true, Some("basic")),
    attr("client_id", Some("DATABRICKS_CLIENT_ID"), false, Some("oauth")),
    attr("client_secret", Some("DATABRICKS_CLIENT_SECRET"), true, Some("oauth")),
    attr("auth_type", Some("DATABRICKS_AUTH_TYPE"), false, None),
    attr("discovery_url", Some("DATABRICKS_DISCOVERY_URL"), false, None),
    attr("scopes", None, false, None),
    attr("databricks_cli_path", Some("DATABRICKS_CLI_PATH"), false, None),
    attr(
        "disable_oauth_refresh_token",
        Some("DATABRICKS_DISABLE_OAUTH_REFRESH_TOKEN"),
        false,
        None,
    ),
    attr(
        "metadata_service_url",
        Some("DATABRICKS_METADATA_SERVICE_URL"),
        true,
        Some("metadata-service"),
    ),
    attr("token_audience", Some("DATABRICKS_TOKEN_AUDIENCE"), false, None),
    attr(
        "oidc_token_env",
        Some("DATABRICKS_OIDC_TOKEN_ENV"),
        false,
        Some("env-oidc"),
    ),
    Attribute {
        env_alias: Some("DATABRICKS_OIDC_TOKEN_FILE"),
        ..attr(
            "oidc_token_filepath",
            Some("DATABRICKS_OIDC_TOKEN_FILEPATH"),
            false,
            Some("file-oidc"),
        )
    },
    attr(
        "google_service_account",
        Some("DATABRICKS_GOOGLE_SERVICE_ACCOUNT"),
        false,
        Some("google"),
    ),
    attr("google_credentials", Some("GOOGLE_CREDENTIALS"), true, Some("google")),
    attr(
        "azure_workspace_resource_id",
        Some("DATABRICKS_AZURE_RESOURCE_ID"),
        false,
        Some("azure"),
    ),
    attr("azure_use_msi", Some("ARM_USE_MSI"), false, Some("azure")),
    attr("azure_client_secret", Some("ARM_CLIENT_SECRET"), true, Some("azure")),
    attr("azure_client_id", Some("ARM_CLIENT_ID"), false, Some("azure")),
    attr("azure_tenant_id", Some("ARM_TENANT_ID"), false, Some("azure")),
    attr("azure_environment", Some("ARM_ENVIRONMENT"), false, None),
];

/// The attribute of a config key.
pub fn attribute(key: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| a.key == key)
}

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Set in code (the [`ConfigBuilder`](crate::config::ConfigBuilder), a CLI flag).
    Explicit,
    /// An environment variable.
    Environment(&'static str),
    /// A profile of a config file.
    Profile {
        /// The profile (section) name.
        name: String,
        /// The file.
        file: PathBuf,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit => f.write_str("explicit"),
            Source::Environment(var) => write!(f, "environment {var}"),
            Source::Profile { name, file } => write!(f, "profile {name:?} of {}", file.display()),
        }
    }
}

impl Source {
    /// `"explicit"`, `"environment"` or `"profile"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Explicit => "explicit",
            Source::Environment(_) => "environment",
            Source::Profile { .. } => "profile",
        }
    }
}

/// A setting's value and source. `Debug` hides the value of secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Setting {
    value: Secret,
    source: Source,
    sensitive: bool,
}

impl Setting {
    /// A value with its source; `key` decides whether it is a secret.
    pub fn new(key: &str, value: impl Into<String>, source: Source) -> Self {
        Self {
            value: Secret::new(value),
            source,
            sensitive: attribute(key).is_none_or(|a| a.sensitive),
        }
    }

    /// Where the value came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Whether the value is a secret.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// The value, `None` for secrets (use [`Settings::secret`] for those).
    pub fn value(&self) -> Option<&str> {
        (!self.sensitive).then(|| self.value.expose())
    }

    /// The value for printing: secrets are `***`.
    pub fn display_value(&self) -> &str {
        if self.sensitive { "***" } else { self.value.expose() }
    }
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self.display_value(), self.source)
    }
}

/// The resolved settings: explicit values over environment variables over the profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<&'static str, Setting>,
}

impl Settings {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` unless it is already set (earlier sources win). Unknown keys are ignored.
    pub fn fill(&mut self, key: &str, value: impl Into<String>, source: Source) {
        let value = value.into();
        let Some(a) = attribute(key) else { return };
        if value.trim().is_empty() {
            return;
        }
        self.values
            .entry(a.key)
            .or_insert_with(|| Setting::new(a.key, value.trim(), source));
    }

    /// Replaces `key` (used for the normalised host). Unknown keys are ignored.
    pub fn set(&mut self, key: &str, value: impl Into<String>, source: Source) {
        if let Some(a) = attribute(key) {
            self.values.insert(a.key, Setting::new(a.key, value, source));
        }
    }

    /// A non-secret value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Setting::value)
    }

    /// Any value, secrets included, as a [`Secret`].
    pub fn secret(&self, key: &str) -> Option<Secret> {
        self.values.get(key).map(|s| s.value.clone())
    }

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The setting of `key`.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.values.get(key)
    }

    /// Every set setting, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Setting)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }

    /// Each set key with its source: `host (environment DATABRICKS_HOST), ...` (no values).
    pub fn describe_sources(&self) -> String {
        let parts: Vec<String> = self.iter().map(|(k, s)| format!("{k} ({})", s.source)).collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// The login-method groups whose settings are present (`"pat"`, `"oauth"`, ...).
    pub fn auth_groups(&self) -> Vec<&'static str> {
        let mut groups: Vec<&'static str> = self
            .values
            .keys()
            .filter_map(|k| attribute(k).and_then(|a| a.auth))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    /// The OAuth scopes (`scopes`, space or comma separated; default `all-apis`), sorted.
    pub fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .get("scopes")
            .unwrap_or("")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if scopes.is_empty() {
            scopes.push("all-apis".to_owned());
        }
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// Whether a boolean setting is true (`true`, `1`, `yes`).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    }
}

/// What a [`CredentialsStrategy`](super::CredentialsStrategy) sees: the settings, the
/// normalised host, the profile named, the HTTP timeout and the environment.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The settings.
    pub settings: Settings,
    /// The normalised workspace URL (`https://x.cloud.databricks.com`).
    pub host: String,
    /// The profile named explicitly or by `DATABRICKS_CONFIG_PROFILE` (not an implicit `DEFAULT`).
    pub profile: Option<String>,
    /// The `auth_type` asked for, if any.
    pub auth_type: Option<AuthType>,
    /// Per-request HTTP timeout.
    pub timeout: Duration,
    /// The environment (variables and home directory).
    pub env: Arc<dyn Env>,
}

impl AuthConfig {
    /// A configuration for `host` with the given settings.
    pub fn new(host: impl Into<String>, settings: Settings, env: Arc<dyn Env>) -> Self {
        Self {
            settings,
            host: host.into(),
            profile: None,
            auth_type: None,
            timeout: crate::config::DEFAULT_TIMEOUT,
            env,
        }
    }

    /// With a named profile.
    pub fn with_profile(mut self, profile: Option<String>) -> Self {
        self.profile = profile;
        self
    }

    /// With the `auth_type` asked for.
    pub fn with_auth_type(mut self, auth_type: Option<AuthType>) -> Self {
        self.auth_type = auth_type;
        self
    }

    /// With a per-request HTTP timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_sources_win_and_secrets_hide() {
        let mut s = Settings::new();
        s.fill("token", "dapi-xyz", Source::Explicit);
        s.fill("token", "other", Source::Environment("DATABRICKS_TOKEN"));
        s.fill("host", "h.com", Source::Environment("DATABRICKS_HOST"));
        s.fill("nonsense", "x", Source::Explicit);
        s.fill("client_id", "  ", Source::Explicit);
        assert_eq!(s.get("token"), None, "secrets are not plain values");
        assert_eq!(s.secret("token").unwrap().expose(), "dapi-xyz");
        assert_eq!(s.get("host"), Some("h.com"));
        assert!(!s.has("nonsense") && !s.has("client_id"));
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("dapi-xyz") && dbg.contains("DATABRICKS_HOST"), "{dbg}");
        assert_eq!(
            s.describe_sources(),
            "host (environment DATABRICKS_HOST), token (explicit)"
        );
        assert_eq!(s.auth_groups(), vec!["pat"]);
        assert_eq!(s.scopes(), vec!["all-apis"]);
        s.fill("scopes", "sql, all-apis offline_access", Source::Explicit);
        assert_eq!(s.scopes(), vec!["all-apis", "offline_access", "sql"]);
    }

    #[test]
    fn every_attribute_is_unique() {
        for (i, a) in ATTRIBUTES.iter().enumerate() {
            assert!(
                ATTRIBUTES[..i]
                    .iter()
                    .all(|b| b.key != a.key && (a.env.is_none() || b.env != a.env))
            );
        }
    }
}
