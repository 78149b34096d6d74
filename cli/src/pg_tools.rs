//! Finding the PostgreSQL client programs (`psql`, `pg_dump`).

use std::path::{Path, PathBuf};

use crate::exit::{Exit, Failure};

/// Where to look, in order: the directory in `LAKEBASE_PG_BIN`, `PATH`, then the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu packages).
pub fn find(program: &str) -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os("LAKEBASE_PG_BIN").filter(|d| !d.is_empty()) {
        let candidate = Path::new(&dir).join(program);
        return if candidate.is_file() {
            Ok(candidate)
        } else {
            Err(Failure::new(
                Exit::Tool,
                format!("{program} not found in LAKEBASE_PG_BIN ({})", candidate.display()),
            ))
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if let Some(found) = on_path.into_iter().find(|p| p.is_file()) {
        return Ok(found);
    }
    newest_packaged(Path::new("/usr/lib/postgresql"), program).ok_or_else(|| {
        Failure::new(
            Exit::Tool,
            format!("{program} not found on PATH or in /usr/lib/postgresql/*/bin; install the PostgreSQL client (e.g. apt-get install postgresql-client) or set LAKEBASE_PG_BIN"),
        )
    })
}

/// `<root>/<version>/bin/<program>` of the highest numeric version.
fn newest_packaged(root: &Path, program: &str) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let path = entry.path().join("bin").join(program);
            path.is_file().then_some((version, path))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_numeric_version() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9", "15", "16", "latest"] {
            let bin = root.path().join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("pg_dump"), "").unwrap();
        }
        assert_eq!(
            newest_packaged(root.path(), "pg_dump"),
            Some(root.path().join("16/bin/pg_dump"))
        );
        assert_eq!(newest_packaged(root.path(), "psql"), None);
    }
}
