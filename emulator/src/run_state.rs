//! How a shell finds a running emulator: `lakebase-emulator env` prints the variables that
//! point the SDK, the pool, the `lakebase` CLI and `psql`/`pg_dump` at it.
//!
//! Every started `lakebase-emulator` binary writes one state file, `<api port>.env`, into
//! its state directory (`--state-dir`, `LAKEBASE_EMULATOR_STATE_DIR`, else
//! `$XDG_RUNTIME_DIR/lakebase-emulator`, else `<temp dir>/lakebase-emulator-<uid>`; created
//! `0700`, refused when another user owns it) and removes it when it stops. The file holds
//! the exports followed by one `# pid <pid>` line, so `env` can skip files of emulators that
//! died without cleaning up.
//!
//! ```sh
//! lakebase-emulator --postgres --pg-port 0 &
//! eval "$(lakebase-emulator env --wait 30)"   # DATABRICKS_HOST DATABRICKS_TOKEN PGPORT PGSSLROOTCERT
//! cargo run -p lakebase-postgres --example quickstart
//! ```

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// The variables that connect a client to one emulator.
#[derive(Clone, PartialEq, Eq)]
pub struct RunState {
    /// `DATABRICKS_HOST`: the API's base URL.
    pub host: String,
    /// `DATABRICKS_TOKEN`: a token the emulator accepts.
    pub token: String,
    /// `PGPORT`: the port every endpoint's host listens on (`--postgres` only).
    pub pg_port: Option<u16>,
    /// `PGSSLROOTCERT`: the CA certificate (PEM file) of the endpoints' TLS (`--postgres` only).
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunState")
            .field("host", &self.host)
            .field("token", &"<redacted>")
            .field("pg_port", &self.pg_port)
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

impl RunState {
    /// `(name, value)` of every variable, in the order they are printed.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("DATABRICKS_HOST", self.host.clone()),
            ("DATABRICKS_TOKEN", self.token.clone()),
        ];
        if let Some(port) = self.pg_port {
            vars.push(("PGPORT", port.to_string()));
        }
        if let Some(ca) = &self.ca_cert {
            vars.push(("PGSSLROOTCERT", ca.display().to_string()));
        }
        vars
    }

    /// One `export NAME=value` line per variable, values quoted for POSIX shells where needed.
    ///
    /// ```
    /// let state = lakebase_emulator::run_state::RunState {
    ///     host: "http://127.0.0.1:8080".into(),
    ///     token: "dev".into(),
    ///     pg_port: Some(5433),
    ///     ca_cert: Some("/tmp/my dir/ca.pem".into()),
    /// };
    /// assert_eq!(
    ///     state.exports(),
    ///     "export DATABRICKS_HOST=http://127.0.0.1:8080\nexport DATABRICKS_TOKEN=dev\n\
    ///      export PGPORT=5433\nexport PGSSLROOTCERT='/tmp/my dir/ca.pem'\n"
    /// );
    /// ```
    pub fn exports(&self) -> String {
        let mut text = String::new();
        for (name, value) in self.vars() {
            let _ = writeln!(text, "export {name}={}", shell_quote(&value));
        }
        text
    }

    /// Reads the exports written by [`exports`](Self::exports) (the `# pid` line ignored).
    pub fn parse(text: &str) -> Option<RunState> {
        let mut host = None;
        let mut token = None;
        let mut pg_port = None;
        let mut ca_cert = None;
        for line in text.lines() {
            let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) else {
                continue;
            };
            let value = shell_unquote(value)?;
            match name {
                "DATABRICKS_HOST" => host = Some(value),
                "DATABRICKS_TOKEN" => token = Some(value),
                "PGPORT" => pg_port = Some(value.parse().ok()?),
                "PGSSLROOTCERT" => ca_cert = Some(PathBuf::from(value)),
                _ => {}
            }
        }
        Some(RunState {
            host: host?,
            token: token?,
            pg_port,
            ca_cert,
        })
    }
}

/// `value` as one POSIX shell word: unquoted when it only has safe characters, else in
/// single quotes (a `'` inside written `'\''`).
fn shell_quote(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if safe {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// The inverse of [`shell_quote`] for what it produces.
fn shell_unquote(word: &str) -> Option<String> {
    match word.strip_prefix('\'') {
        None => Some(word.to_owned()),
        Some(rest) => Some(rest.strip_suffix('\'')?.replace(r"'\''", "'")),
    }
}

/// The state directory when none is given: `LAKEBASE_EMULATOR_STATE_DIR`, else
/// `$XDG_RUNTIME_DIR/lakebase-emulator`, else `<temp dir>/lakebase-emulator-<uid>`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LAKEBASE_EMULATOR_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("lakebase-emulator");
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    std::env::temp_dir().join(format!("lakebase-emulator-{uid}"))
}

/// The state file of one running emulator; removed when dropped.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// Writes `state` (mode `0600`) as `<dir>/<api port>.env`, creating `dir` (`0700`).
    pub fn write(dir: &Path, api_port: u16, state: &RunState) -> io::Result<StateFile> {
        ensure_private_dir(dir)?;
        let path = dir.join(format!("{api_port}.env"));
        write_private(&path, &format!("{}# pid {}\n", state.exports(), std::process::id()))?;
        Ok(StateFile { path })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `text` to `path` readable by its owner only (it holds a token).
pub fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::metadata(dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("state directory {} belongs to another user", dir.display()),
        ));
    }
    Ok(())
}

/// Why [`find`] found no single emulator.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// No live emulator has a state file in the directory.
    #[error("no running lakebase-emulator found in {0} (start one: lakebase-emulator --postgres --pg-port 0 &)")]
    NoneRunning(PathBuf),
    /// No live emulator serves the asked API port.
    #[error("no running lakebase-emulator on port {port} in {dir}")]
    NotOnPort {
        /// The asked port.
        port: u16,
        /// The state directory searched.
        dir: PathBuf,
    },
    /// Several run; the caller must pick one by port.
    #[error("{} lakebase-emulators are running (API ports {}); pick one with --port", .0.len(), .0.iter().map(u16::to_string).collect::<Vec<_>>().join(", "))]
    Several(Vec<u16>),
    /// The directory could not be read.
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] io::Error),
}

/// The state of the running emulator in `dir` (the one on API `port` when given); state
/// files of processes that are gone are skipped and removed.
pub fn find(dir: &Path, port: Option<u16>) -> Result<RunState, FindError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(FindError::NoneRunning(dir.to_owned())),
        Err(e) => return Err(FindError::Io(dir.to_owned(), e)),
    };
    let mut live = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(file_port) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".env"))
            .and_then(|p| p.parse::<u16>().ok())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let pid = text
            .lines()
            .find_map(|l| l.strip_prefix("# pid "))
            .and_then(|p| p.trim().parse::<i32>().ok());
        if !pid.is_some_and(process_alive) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        if let Some(state) = RunState::parse(&text) {
            live.push((file_port, state));
        }
    }
    live.sort_by_key(|(p, _)| *p);
    match port {
        Some(port) => live
            .into_iter()
            .find(|(p, _)| *p == port)
            .map(|(_, s)| s)
            .ok_or(FindError::NotOnPort {
                port,
                dir: dir.to_owned(),
            }),
        None if live.len() == 1 => Ok(live.remove(0).1),
        None if live.is_empty() => Err(FindError::NoneRunning(dir.to_owned())),
        None => Err(FindError::Several(live.into_iter().map(|(p, _)| p).collect())),
    }
}

/// Whether a process with this id exists (signal 0 probes without signalling).
fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RunState {
        RunState {
            host: "http://127.0.0.1:8080".into(),
            token: "it's".into(),
            pg_port: Some(5433),
            ca_cert: Some("/tmp/ca.pem".into()),
        }
    }

    #[test]
    fn exports_round_trip_and_quote() {
        let text = state().exports();
        assert!(text.contains("export DATABRICKS_TOKEN='it'\\''s'\n"), "{text}");
        assert_eq!(RunState::parse(&text), Some(state()));
        assert!(!format!("{:?}", state()).contains("it's"));
    }

    #[test]
    fn find_picks_the_live_one_and_drops_dead_files() {
        let dir = tempfile::tempdir().unwrap();
        let live = StateFile::write(dir.path(), 8080, &state()).unwrap();
        // A file left by a process that no longer exists.
        let dead = dir.path().join("9090.env");
        std::fs::write(&dead, format!("{}# pid 2147483646\n", state().exports())).unwrap();
        assert_eq!(find(dir.path(), None).unwrap(), state());
        assert!(!dead.exists());
        assert!(matches!(
            find(dir.path(), Some(1)),
            Err(FindError::NotOnPort { port: 1, .. })
        ));
        let second = StateFile::write(dir.path(), 8081, &state()).unwrap();
        assert!(matches!(find(dir.path(), None), Err(FindError::Several(p)) if p == [8080, 8081]));
        assert_eq!(find(dir.path(), Some(8081)).unwrap(), state());
        drop((live, second));
        assert!(matches!(find(dir.path(), None), Err(FindError::NoneRunning(_))));
    }
}
