//! Profiles of the Databricks configuration file (`~/.databrickscfg`, INI).
//!
//! The profile used is the one named explicitly (`DATABRICKS_CONFIG_PROFILE` or the builder),
//! else `default_profile` of the `[__settings__]` section, else `[DEFAULT]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::settings::{Settings, Source, attribute};
use crate::error::Error;

/// One profile (section) of a config file. Empty values count as unset. `Debug` hides the
/// values of secrets.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// The profile (section) name.
    pub name: String,
    /// The file it was read from.
    pub file: PathBuf,
    values: BTreeMap<String, String>,
}

impl Profile {
    /// The value of `key` (secrets included: handle with care).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Adds the profile's known settings to `settings` (where not already set).
    pub fn fill(&self, settings: &mut Settings) {
        for (k, v) in &self.values {
            settings.fill(
                k,
                v.as_str(),
                Source::Profile {
                    name: self.name.clone(),
                    file: self.file.clone(),
                },
            );
        }
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .values
            .iter()
            .map(|(k, v)| {
                let secret = attribute(k).is_none_or(|a| a.sensitive);
                (k.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("file", &self.file)
            .field("values", &shown)
            .finish()
    }
}

fn read(path: &Path) -> Result<ini::Ini, Error> {
    ini::Ini::load_from_file(path)
        .map_err(|e| Error::Config(format!("cannot read config file {}: {e}", path.display())))
}

fn section(path: &Path, name: &str, props: &ini::Properties) -> Profile {
    let values = props
        .iter()
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    Profile {
        name: name.to_owned(),
        file: path.to_owned(),
        values,
    }
}

/// Reads a profile from the file at `path`.
///
/// With `profile` named, the file and the section must exist (else [`Error::Config`]).
/// Without, a missing file or a file without `default_profile`/`[DEFAULT]` gives `Ok(None)`.
pub fn load(path: &Path, profile: Option<&str>) -> Result<Option<Profile>, Error> {
    if !path.exists() {
        return match profile {
            Some(name) => Err(Error::Config(format!(
                "profile {name:?} requested but config file {} does not exist",
                path.display()
            ))),
            None => Ok(None),
        };
    }
    let ini = read(path)?;
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
    match ini.section(Some(name)) {
        Some(props) => Ok(Some(section(path, name, props))),
        None if required => Err(Error::Config(format!(
            "profile {name:?} not found in config file {}",
            path.display()
        ))),
        None => Ok(None),
    }
}

/// Every profile of the file at `path`, in file order (none if the file does not exist).
pub fn list(path: &Path) -> Result<Vec<Profile>, Error> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let ini = read(path)?;
    Ok(ini
        .iter()
        .filter_map(|(name, props)| name.filter(|n| *n != "__settings__").map(|n| section(path, n, props)))
        .collect())
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
        assert_eq!(d.get("host"), Some("https://default.cloud.databricks.com"));
        assert_eq!(d.get("token"), Some("dapi-default"));
        assert!(!format!("{d:?}").contains("dapi-default"));

        let sp = load(f.path(), Some("sp")).unwrap().unwrap();
        assert_eq!(sp.get("client_id"), Some("abc"));
        assert_eq!(sp.get("client_secret"), Some("very-secret"));
        assert_eq!(sp.get("workspace_id"), Some("123"));
        assert_eq!(sp.get("auth_type"), Some("oauth-m2m"));
        assert_eq!(sp.get("token"), None, "empty value is unset");
        let names: Vec<String> = list(f.path()).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["DEFAULT", "sp"]);
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
