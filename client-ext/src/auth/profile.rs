//! Profiles of the Databricks configuration file (`~/.databrickscfg`, INI).
//!
//! The profile used is the one named explicitly (`DATABRICKS_CONFIG_PROFILE` or the builder),
//! else `default_profile` of the `[__settings__]` section, else `[DEFAULT]`.

use std::path::Path;

use crate::error::Error;
use crate::secret::Secret;

/// The settings of one profile that this crate understands. Empty values count as unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileValues {
    /// The profile (section) name.
    pub name: String,
    /// `host`.
    pub host: Option<String>,
    /// `token`.
    pub token: Option<Secret>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<Secret>,
    /// `workspace_id`.
    pub workspace_id: Option<String>,
    /// `auth_type`.
    pub auth_type: Option<String>,
    /// `discovery_url`.
    pub discovery_url: Option<String>,
}

/// Reads a profile from the file at `path`.
///
/// With `profile` named, the file and the section must exist (else [`Error::Config`]).
/// Without, a missing file or a file without `default_profile`/`[DEFAULT]` gives `Ok(None)`.
pub fn load(path: &Path, profile: Option<&str>) -> Result<Option<ProfileValues>, Error> {
    if !path.exists() {
        return match profile {
            Some(name) => Err(Error::Config(format!(
                "profile {name:?} requested but config file {} does not exist",
                path.display()
            ))),
            None => Ok(None),
        };
    }
    let ini = ini::Ini::load_from_file(path)
        .map_err(|e| Error::Config(format!("cannot read config file {}: {e}", path.display())))?;
    let default_profile = ini
        .section(Some("__settings__"))
        .and_then(|s| s.get("default_profile"))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (name, required) = match (profile, default_profile) {
        (Some(p), _) => (p, true),
        (None, Some(p)) => (p, true),
        (None, None) => ("DEFAULT", false),
    };
    let Some(section) = ini.section(Some(name)) else {
        return if required {
            Err(Error::Config(format!(
                "profile {name:?} not found in config file {}",
                path.display()
            )))
        } else {
            Ok(None)
        };
    };
    let get = |key: &str| {
        section
            .get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(Some(ProfileValues {
        name: name.to_owned(),
        host: get("host"),
        token: get("token").map(Secret::from),
        client_id: get("client_id"),
        client_secret: get("client_secret").map(Secret::from),
        workspace_id: get("workspace_id"),
        auth_type: get("auth_type"),
        discovery_url: get("discovery_url"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(contents: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f
    }

    const CFG: &str = "\
[DEFAULT]
host = https://default.cloud.databricks.com
token = dapi-default

[sp]
host = sp.cloud.databricks.com
client_id = abc
client_secret = very-secret
workspace_id = 123
auth_type = oauth-m2m
token =
";

    #[test]
    fn selects_profiles() {
        let f = file(CFG);
        let d = load(f.path(), None).unwrap().unwrap();
        assert_eq!(d.name, "DEFAULT");
        assert_eq!(d.host.as_deref(), Some("https://default.cloud.databricks.com"));
        assert_eq!(d.token.as_ref().map(Secret::expose), Some("dapi-default"));

        let sp = load(f.path(), Some("sp")).unwrap().unwrap();
        assert_eq!(sp.client_id.as_deref(), Some("abc"));
        assert_eq!(sp.client_secret.as_ref().map(Secret::expose), Some("very-secret"));
        assert_eq!(sp.workspace_id.as_deref(), Some("123"));
        assert_eq!(sp.auth_type.as_deref(), Some("oauth-m2m"));
        assert_eq!(sp.token, None, "empty value is unset");
        assert!(!format!("{sp:?}").contains("very-secret"));

        let e = load(f.path(), Some("nope")).unwrap_err();
        assert!(e.to_string().contains("\"nope\" not found"), "{e}");
    }

    #[test]
    fn settings_default_profile() {
        let f = file(&format!("[__settings__]\ndefault_profile = sp\n\n{CFG}"));
        assert_eq!(load(f.path(), None).unwrap().unwrap().name, "sp");
        let f = file("[__settings__]\ndefault_profile = gone\n[DEFAULT]\nhost=x\n");
        assert!(load(f.path(), None).is_err());
    }

    #[test]
    fn missing_file_or_default() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing.cfg");
        assert_eq!(load(&missing, None).unwrap(), None);
        assert!(load(&missing, Some("x")).is_err());
        let f = file("[other]\nhost = h\n");
        assert_eq!(load(f.path(), None).unwrap(), None);
        let bad = file("[broken\nhost = h\n");
        assert!(matches!(load(bad.path(), None), Err(Error::Config(_))));
    }
}
