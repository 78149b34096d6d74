//! The cassette schema (`tests/conformance/README.md`) and the loader.
//!
//! Cassettes come from the built-in directories `tests/conformance/cassettes` (the shared
//! corpus, recorded from the official SDK), `tests/conformance/regressions` (written by hand
//! for edge cases the recordings miss, each the test of a fixed bug) and
//! `tests/conformance/recorded` (a selection of what `tests/recorder` recorded with the
//! official SDK against our emulator, for variants the shared corpus lacks) and, when the
//! environment variable [`CASSETTES_ENV`] is set, from every `*.json` file found
//! (recursively) under the directories it names.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Environment variable naming extra cassette directories (one, or several separated
/// like `PATH`). Every `*.json` under them joins the run.
pub const CASSETTES_ENV: &str = "LAKEBASE_CASSETTES";

/// The built-in cassette directory of this package.
pub fn builtin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join("cassettes")
}

/// One recorded call of the official SDK.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Cassette {
    /// `<method>/<variant>`; also the test name.
    pub id: String,
    /// The recording SDK, e.g. `databricks-sdk-py 0.162.0`.
    #[serde(default)]
    pub sdk: Option<String>,
    /// Python method name (`create_branch`, ...).
    pub method: String,
    /// Keyword arguments of the call, as wire JSON.
    #[serde(default)]
    pub args: Map<String, Value>,
    /// Whether `.wait()` was called on the returned operation.
    #[serde(default)]
    pub wait: bool,
    /// Extra client configuration (`workspace_id`, ...).
    #[serde(default)]
    pub config: Map<String, Value>,
    /// Every HTTP exchange, in order.
    pub exchanges: Vec<Exchange>,
    /// What the call returned or raised.
    pub expect: Expect,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Cassette {
    /// The operation part of the id (`create_branch` of `create_branch/call`).
    pub fn operation(&self) -> &str {
        &self.method
    }
}

/// One request/response pair.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Exchange {
    /// What the SDK sent.
    pub request: RecordedRequest,
    /// What the scripted server answered.
    pub response: RecordedResponse,
}

/// A request as recorded.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RecordedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Raw path as sent.
    pub path: String,
    /// The same path, percent-decoded.
    #[serde(default)]
    pub decoded_path: Option<String>,
    /// Raw query string (empty when none).
    #[serde(default)]
    pub raw_query: String,
    /// Decoded query pairs, in order.
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// `Content-Type`, `Accept`, `Authorization`, `X-Databricks-Workspace-Id` when sent.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Parsed JSON body; `null` means no body at all.
    #[serde(default)]
    pub body: Value,
}

/// A scripted response.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers set by the server (besides `Content-Length`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body; `null` means an empty body.
    #[serde(default)]
    pub body: Value,
}

/// The expected outcome of the call.
#[derive(Clone, Debug, Serialize)]
pub enum Expect {
    /// The call returned this value (wire JSON as rendered by the SDK; `null` for waited deletes).
    #[serde(rename = "result")]
    Result(Value),
    /// The call raised.
    #[serde(rename = "error")]
    Error(ExpectedError),
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = Map::deserialize(deserializer)?;
        if map.len() != 1 {
            return Err(D::Error::custom(format!(
                "`expect` must have exactly one of `result` or `error`, found keys {:?}",
                map.keys().collect::<Vec<_>>()
            )));
        }
        if let Some(result) = map.remove("result") {
            return Ok(Expect::Result(result));
        }
        if let Some(error) = map.remove("error") {
            return serde_json::from_value(error)
                .map(Expect::Error)
                .map_err(D::Error::custom);
        }
        Err(D::Error::custom(format!(
            "unknown `expect` key {:?}",
            map.keys().next()
        )))
    }
}

/// The exception the SDK raised.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ExpectedError {
    /// Python exception class (`NotFound`, `AlreadyExists`, `Exception`, ...).
    pub exception: String,
    /// Its SDK base classes (`ResourceConflict`, `DatabricksError`, ...).
    #[serde(default)]
    pub exception_bases: Vec<String>,
    /// Parsed error code; `null` for failures not coming from an HTTP error.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The exception text (`{host}` stands for the server base URL).
    pub message: String,
    /// HTTP status of the last response; `null` for non-HTTP failures.
    #[serde(default)]
    pub status: Option<u16>,
}

/// A cassette file, parsed or not.
#[derive(Debug)]
pub struct Loaded {
    /// Test name: the cassette id (made unique with the file path when ids collide).
    pub name: String,
    /// Where the file is.
    pub path: PathBuf,
    /// The cassette, or why the file is not one (a failure, never a skip).
    pub cassette: Result<Cassette, String>,
}

impl Loaded {
    /// The operation column of the summary table.
    pub fn operation(&self) -> String {
        match &self.cassette {
            Ok(c) => c.method.clone(),
            Err(_) => self.name.split('/').next().unwrap_or("?").to_string(),
        }
    }
}

/// Parses one cassette file.
pub fn load_file(path: &Path) -> Result<Cassette, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{} is not a valid cassette: {e}", path.display()))
}

/// Parses a cassette from JSON text.
pub fn parse(text: &str) -> Result<Cassette, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Every `*.json` file under `dir`, recursively, sorted.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("cannot list {}: {e}", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", d.display()))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The hand-written regression cassettes of this package.
pub fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join("regressions")
}

/// The recorded cassettes of this package: kept from `tests/recorder` runs
/// (`tests/recorder/README.md`, "Keeping recorded cassettes").
pub fn recorded_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join("recorded")
}

/// The directories to load: the built-in ones plus those named by [`CASSETTES_ENV`].
pub fn cassette_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![builtin_dir(), regressions_dir(), recorded_dir()];
    if let Some(extra) = std::env::var_os(CASSETTES_ENV) {
        dirs.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs
}

/// Loads every cassette of [`cassette_dirs`]. A directory that cannot be read or a file
/// that is not a cassette becomes an entry whose `cassette` is an error.
pub fn load_all() -> Vec<Loaded> {
    load_dirs(&cassette_dirs())
}

/// Loads every cassette under the given directories (see [`load_all`]).
pub fn load_dirs(dirs: &[PathBuf]) -> Vec<Loaded> {
    let mut out: Vec<Loaded> = Vec::new();
    let mut seen_files = std::collections::HashSet::new();
    for dir in dirs {
        let files = match json_files(dir) {
            Ok(f) => f,
            Err(e) => {
                out.push(Loaded {
                    name: format!("load/{}", dir.display()),
                    path: dir.clone(),
                    cassette: Err(e),
                });
                continue;
            }
        };
        for path in files {
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen_files.insert(canonical) {
                continue;
            }
            let cassette = load_file(&path);
            let name = match &cassette {
                Ok(c) => c.id.clone(),
                Err(_) => path
                    .file_stem()
                    .map(|s| s.to_string_lossy().replacen("__", "/", 1))
                    .unwrap_or_default(),
            };
            out.push(Loaded { name, path, cassette });
        }
    }
    // Ids must be unique test names: suffix repeats with their file.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for l in &out {
        *counts.entry(l.name.clone()).or_default() += 1;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for l in &mut out {
        if counts[&l.name] > 1 {
            let n = seen.entry(l.name.clone()).or_default();
            *n += 1;
            if *n > 1 {
                l.name = format!("{} [{}]", l.name, l.path.display());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cassettes_parse() {
        let all = load_dirs(&[builtin_dir()]);
        assert!(all.len() >= 100, "only {} cassettes", all.len());
        for l in &all {
            let c = l.cassette.as_ref().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.id.split('/').next(), Some(c.method.as_str()), "{}", l.path.display());
        }
    }

    #[test]
    fn recorded_cassettes_parse() {
        let all = load_dirs(&[recorded_dir()]);
        assert!(all.len() >= 20, "only {} recorded cassettes", all.len());
        for l in &all {
            let c = l.cassette.as_ref().unwrap_or_else(|e| panic!("{e}"));
            let (method, variant) = c.id.split_once('/').expect("id is <method>/<variant>");
            assert_eq!(method, c.method, "{}", l.path.display());
            assert!(variant.starts_with("rec_"), "{}: id {}", l.path.display(), c.id);
            let stem = l.path.file_stem().unwrap().to_string_lossy().into_owned();
            assert_eq!(stem, c.id.replacen('/', "__", 1), "file name follows the id");
        }
    }

    #[test]
    fn expect_requires_one_key() {
        assert!(serde_json::from_str::<Expect>(r#"{"result": null}"#).is_ok());
        assert!(serde_json::from_str::<Expect>(r#"{}"#).is_err());
        assert!(serde_json::from_str::<Expect>(r#"{"result": 1, "error": {}}"#).is_err());
    }
}
