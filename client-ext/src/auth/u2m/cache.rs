//! The on-disk token cache of `external-browser` logins.
//!
//! One JSON file per login, named by the SHA-256 of host, client id and scopes, in
//! `~/.config/lakebase/oauth/` (directory `0700`, files `0600`). Writes are atomic (a temporary
//! file in the same directory, renamed over the old one). A lock file beside each entry
//! (`flock`/`LockFileEx` through `fs4`) is held while a process refreshes, so two processes
//! refreshing at once make one refresh request and both end with the new token.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Token;
use crate::error::Error;
use crate::secret::Secret;

/// What a cache entry is for: host, OAuth client id and scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    /// Normalised workspace URL.
    pub host: String,
    /// OAuth client id.
    pub client_id: String,
    /// Scopes, sorted.
    pub scopes: Vec<String>,
}

impl CacheKey {
    /// A key; scopes are sorted so their order does not matter.
    pub fn new(host: &str, client_id: &str, scopes: &[String]) -> Self {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        Self {
            host: host.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            scopes,
        }
    }

    fn file_stem(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.host.as_bytes());
        h.update([0]);
        h.update(self.client_id.as_bytes());
        h.update([0]);
        h.update(self.scopes.join(" ").as_bytes());
        hex(&h.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
struct Entry {
    host: String,
    client_id: String,
    scopes: Vec<String>,
    access_token: String,
    token_type: String,
    expiry: Option<String>,
    refresh_token: Option<String>,
}

/// The cache directory and its operations. All calls block: run them off the async runtime.
#[derive(Clone, Debug)]
pub struct TokenCache {
    dir: PathBuf,
}

/// An exclusive lock on one cache entry, released when dropped.
#[derive(Debug)]
pub struct EntryLock {
    _file: fs::File,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("token cache: cannot {what} {}: {e}", path.display()))
}

impl TokenCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The default cache of a home directory: `{home}/.config/lakebase/oauth`.
    pub fn in_home(home: &Path) -> Self {
        Self::new(home.join(".config").join("lakebase").join("oauth"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`.
    pub fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.file_stem()))
    }

    fn ensure_dir(&self) -> Result<(), Error> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&self.dir).map_err(|e| io_error("create", &self.dir, e))
    }

    /// Waits for the exclusive lock of `key`'s entry.
    pub fn lock(&self, key: &CacheKey) -> Result<EntryLock, Error> {
        self.ensure_dir()?;
        let path = self.dir.join(format!("{}.lock", key.file_stem()));
        let mut o = fs::OpenOptions::new();
        o.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(&path).map_err(|e| io_error("open", &path, e))?;
        fs4::fs_std::FileExt::lock_exclusive(&file).map_err(|e| io_error("lock", &path, e))?;
        Ok(EntryLock { _file: file })
    }

    /// The cached token of `key`; `None` when there is none (or it is unreadable, which is
    /// logged: a fresh login replaces it).
    pub fn load(&self, key: &CacheKey) -> Option<Token> {
        let path = self.path(key);
        let bytes = fs::read(&path).ok()?;
        let Ok(entry) = serde_json::from_slice::<Entry>(&bytes) else {
            tracing::warn!(path = %path.display(), "ignoring an unreadable token cache entry");
            return None;
        };
        if entry.host != key.host || entry.client_id != key.client_id || entry.scopes != key.scopes {
            return None;
        }
        let expiry = entry
            .expiry
            .as_deref()
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .map(SystemTime::from);
        Some(
            Token::new(Secret::from(entry.access_token), &entry.token_type, expiry)
                .with_refresh_token(entry.refresh_token.map(Secret::from)),
        )
    }

    /// Stores `token` for `key` atomically, readable only by the owner.
    pub fn store(&self, key: &CacheKey, token: &Token) -> Result<(), Error> {
        self.ensure_dir()?;
        let entry = Entry {
            host: key.host.clone(),
            client_id: key.client_id.clone(),
            scopes: key.scopes.clone(),
            access_token: token.access_token.expose().to_owned(),
            token_type: token.token_type.clone(),
            expiry: token.expiry_rfc3339(),
            refresh_token: token.refresh_token.as_ref().map(|r| r.expose().to_owned()),
        };
        let body = serde_json::to_vec_pretty(&entry)
            .map_err(|e| Error::Config(format!("token cache: cannot encode an entry: {e}")))?;
        let path = self.path(key);
        // NamedTempFile is created 0600 on Unix.
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io_error("write in", &self.dir, e))?;
        tmp.write_all(&body)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| io_error("write", tmp.path(), e))?;
        tmp.persist(&path).map_err(|e| io_error("replace", &path, e.error))?;
        Ok(())
    }

    /// Removes the entry of `key`; whether there was one.
    pub fn remove(&self, key: &CacheKey) -> Result<bool, Error> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }

    /// Removes every entry of `host` (all client ids and scopes); how many there were.
    pub fn remove_host(&self, host: &str) -> Result<usize, Error> {
        let host = host.trim_end_matches('/');
        let Ok(dir) = fs::read_dir(&self.dir) else { return Ok(0) };
        let mut removed = 0;
        for item in dir.flatten() {
            let path = item.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let matches = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
                .is_some_and(|e| e.host == host);
            if matches {
                fs::remove_file(&path).map_err(|e| io_error("remove", &path, e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trip_atomic_private_and_keyed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(dir.path().join("oauth"));
        let key = CacheKey::new(
            "https://h.com/",
            "databricks-cli",
            &["offline_access".into(), "all-apis".into()],
        );
        assert!(cache.load(&key).is_none());
        let token = Token::new(
            "acc-1".into(),
            "Bearer",
            Some(SystemTime::now() + Duration::from_secs(60)),
        )
        .with_refresh_token(Some("ref-1".into()));
        cache.store(&key, &token).unwrap();
        let back = cache.load(&key).unwrap();
        assert_eq!(back.access_token.expose(), "acc-1");
        assert_eq!(back.refresh_token.as_ref().unwrap().expose(), "ref-1");
        assert!(back.expiry.is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(cache.path(&key)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(cache.dir()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        // scope order does not matter; other scopes or clients are other entries
        let same = CacheKey::new(
            "https://h.com",
            "databricks-cli",
            &["all-apis".into(), "offline_access".into()],
        );
        assert!(cache.load(&same).is_some());
        assert!(
            cache
                .load(&CacheKey::new("https://h.com", "other", &["all-apis".into()]))
                .is_none()
        );
        {
            let _l = cache.lock(&key).unwrap();
        }
        assert_eq!(cache.remove_host("https://h.com").unwrap(), 1);
        assert!(!cache.remove(&key).unwrap());
        let leftovers: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files are left behind");
    }
}
