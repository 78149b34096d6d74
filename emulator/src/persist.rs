//! Keeping the API state across restarts (`--data-dir`): resources in creation order, role
//! passwords and issued database credentials (by hash), written atomically after every
//! change. Operations in flight and transient states are not kept: after a restart every
//! resource is settled and every compute is idle until a client connects.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{IssuedCredential, Store};

/// File name of the state inside the data directory.
const FILE: &str = "api-state.json";

/// What is written.
#[derive(Serialize, Deserialize, Default)]
struct Saved {
    /// Resources as (name, value), in creation order.
    resources: Vec<(String, Value)>,
    /// Role passwords by role name.
    passwords: std::collections::HashMap<String, String>,
    /// Database credentials by token hash.
    credentials: std::collections::HashMap<String, IssuedCredential>,
}

/// Where the state of a data directory lives.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Writes the store to `path` (via a temporary file and a rename, so a crash leaves the
/// previous or the new state, never a torn one).
pub fn save(store: &Store, path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let saved = Saved {
        resources: store
            .all_in_order()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
        passwords: store.passwords.clone(),
        credentials: store.credentials.clone(),
    };
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    serde_json::to_writer(&mut f, &saved)?;
    f.flush()?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Reads a saved store; an absent file is an empty store.
pub fn load(path: &Path) -> std::io::Result<Store> {
    let saved: Saved = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
        Err(e) => return Err(e),
    };
    let mut store = Store::default();
    for (name, value) in saved.resources {
        store.put(&name, value, None);
    }
    store.passwords = saved.passwords;
    store.credentials = saved.credentials;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_saved_store_loads_with_its_order_passwords_and_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        let mut store = Store::default();
        store.put("projects/b", json!({"name": "projects/b"}), None);
        store.put("projects/a", json!({"name": "projects/a"}), None);
        store
            .passwords
            .insert("projects/b/branches/x/roles/r".into(), "pw".into());
        store.credentials.insert(
            "hash".into(),
            IssuedCredential {
                identity: "u@example.com".into(),
                expire_time: chrono::Utc::now(),
            },
        );
        save(&store, &path).unwrap();
        let back = load(&path).unwrap();
        let names: Vec<&str> = back.values_in("projects").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["projects/b", "projects/a"]);
        assert_eq!(back.passwords, store.passwords);
        assert_eq!(back.credentials, store.credentials);
        assert!(
            load(&dir.path().join("missing.json"))
                .unwrap()
                .values_in("projects")
                .is_empty()
        );
    }
}
