//! Finding the PostgreSQL server binaries: `--pg-bin DIR`, then `PATH`, then the newest
//! `/usr/lib/postgresql/*/bin` (Debian and Ubuntu packages), then Homebrew's locations.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::PgError;

/// Programs the emulator runs.
const REQUIRED: [&str; 3] = ["postgres", "initdb", "pg_basebackup"];

/// Oldest supported major version.
pub const MIN_MAJOR: u32 = 15;

/// The server binaries found, with their major version.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Directory holding `postgres`, `initdb` and `pg_basebackup`.
    pub dir: PathBuf,
    /// Major version (`15`, `16`, ...).
    pub major: u32,
}

impl Binaries {
    /// Path of one binary.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Finds the binaries (`explicit` first) and checks their version.
    pub fn find(explicit: Option<&Path>) -> Result<Self, PgError> {
        let candidates: Vec<PathBuf> = match explicit {
            Some(dir) => vec![dir.to_path_buf()],
            None => search_path(),
        };
        let mut seen = Vec::new();
        for dir in candidates {
            // `PATH` may hold symbolic links to a few of the programs: use their real home.
            let Some(dir) = std::fs::canonicalize(dir.join("postgres"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
            else {
                continue;
            };
            if !REQUIRED.iter().all(|b| dir.join(b).is_file()) {
                continue;
            }
            match version_of(&dir) {
                Some(major) if major >= MIN_MAJOR => return Ok(Self { dir, major }),
                Some(major) => seen.push(format!("{} (version {major})", dir.display())),
                None => seen.push(format!("{} (version unknown)", dir.display())),
            }
        }
        let hint = match explicit {
            Some(dir) => format!(
                "--pg-bin {} holds no usable PostgreSQL {MIN_MAJOR}+ server binaries",
                dir.display()
            ),
            None => format!(
                "no PostgreSQL {MIN_MAJOR}+ server binaries (postgres, initdb) found on PATH or in \
                 /usr/lib/postgresql/*/bin; install the server package (Debian/Ubuntu: apt-get install postgresql; \
                 macOS: brew install postgresql@16) or pass --pg-bin DIR"
            ),
        };
        let found = if seen.is_empty() {
            String::new()
        } else {
            format!(" (found: {})", seen.join(", "))
        };
        Err(PgError::Setup(format!("{hint}{found}")))
    }
}

fn search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    dirs.extend(versioned.into_iter().map(|(_, d)| d));
    dirs.extend(
        [
            "/opt/homebrew/opt/postgresql@16/bin",
            "/usr/local/opt/postgresql@16/bin",
        ]
        .into_iter()
        .map(PathBuf::from),
    );
    dirs
}

fn version_of(dir: &Path) -> Option<u32> {
    let out = Command::new(dir.join("postgres")).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_directory_without_binaries_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Binaries::find(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("--pg-bin"), "{e}");
    }
}
