//! `databricks-cli`: the token of the Databricks CLI's login (`databricks auth login`).
//!
//! As the official SDKs do (Python SDK 0.162.0, `DatabricksCliTokenSource`):
//!
//! - the program is `databricks_cli_path` (`DATABRICKS_CLI_PATH`), else `databricks` on
//!   `PATH`, skipping the legacy Python CLI (a file under 1 MiB containing
//!   `from databricks_cli.cli import`);
//! - `databricks version --output json` tells its version: `--profile P` is passed to
//!   `databricks auth token` when a profile is named and the CLI is at least 0.207.1, else
//!   `--host H`; `--force-refresh` from 0.296.0;
//! - the JSON it prints (`access_token`, `token_type`, `expiry`) is the token, re-fetched
//!   ahead of its expiry by a [`RefreshingToken`].
//!
//! The token only travels over the program's stdout: never on a command line, in a log or
//! an error (errors quote the program's stderr, never its stdout).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::oidc::auth_error;
use super::{
    AuthConfig, AuthType, BoxFuture, Configured, CredentialsProvider, CredentialsStrategy, RefreshingToken, Token,
    TokenSource,
};
use crate::error::Error;
use crate::secret::Secret;

/// Files at least this large are taken to be the Go CLI without reading them.
const CLI_MIN_SIZE: u64 = 1024 * 1024;
/// Marks the legacy Python CLI's entry point script.
const LEGACY_CLI_MARKER: &[u8] = b"from databricks_cli.cli import ";
/// `auth token --profile` exists from this version on.
const VERSION_FOR_PROFILE: CliVersion = CliVersion(0, 207, 1);
/// `auth token --force-refresh` exists from this version on.
const VERSION_FOR_FORCE_REFRESH: CliVersion = CliVersion(0, 296, 0);
/// How long `databricks version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// A CLI version; `(0, 0, 0)` is a development build, `None` unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CliVersion(u64, u64, u64);

impl fmt::Display for CliVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Finds the Databricks CLI on `path_var` (a `PATH` value).
///
/// # Errors
/// Why none was found (`"not installed"`, or the legacy CLI was found).
fn find_executable(path_var: &str) -> Result<PathBuf, String> {
    let mut why = "the Databricks CLI (`databricks`) is not on PATH".to_owned();
    for dir in std::env::split_paths(path_var) {
        let candidate = dir.join(if cfg!(windows) { "databricks.exe" } else { "databricks" });
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if meta.len() < CLI_MIN_SIZE {
            let Ok(content) = std::fs::read(&candidate) else {
                continue;
            };
            if content.windows(LEGACY_CLI_MARKER.len()).any(|w| w == LEGACY_CLI_MARKER) {
                why = format!(
                    "{} is the legacy Databricks CLI (<0.100.0), which has no `auth token`",
                    candidate.display()
                );
                continue;
            }
        }
        return Ok(candidate);
    }
    Err(why)
}

/// The `databricks-cli` strategy: applies when the Databricks CLI is installed.
#[derive(Clone, Copy, Debug, Default)]
pub struct DatabricksCliStrategy;

impl CredentialsStrategy for DatabricksCliStrategy {
    fn auth_type(&self) -> AuthType {
        AuthType::DatabricksCli
    }

    fn configure(&self, config: &AuthConfig) -> Result<Configured, Error> {
        let program = match config.settings.get("databricks_cli_path") {
            Some(p) => PathBuf::from(p),
            None => match find_executable(&config.env.var("PATH").unwrap_or_default()) {
                Ok(p) => p,
                Err(why) => return Ok(Configured::Skipped(why)),
            },
        };
        Ok(Configured::Provider(Arc::new(DatabricksCliCredentials::new(
            program,
            &config.host,
            config.profile.clone(),
            config.timeout,
        ))))
    }
}

/// Credentials from `databricks auth token`.
#[derive(Debug)]
pub struct DatabricksCliCredentials {
    holder: RefreshingToken<CliTokenSource>,
}

impl DatabricksCliCredentials {
    /// Runs `program` for `host`, or for `profile` when the CLI supports `--profile`; each run
    /// may take up to `timeout`.
    pub fn new(program: PathBuf, host: &str, profile: Option<String>, timeout: Duration) -> Self {
        Self {
            holder: RefreshingToken::new(CliTokenSource {
                program,
                host: host.to_owned(),
                profile,
                timeout,
                version: tokio::sync::OnceCell::new(),
            }),
        }
    }
}

impl CredentialsProvider for DatabricksCliCredentials {
    fn auth_type(&self) -> &'static str {
        "databricks-cli"
    }

    fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, Error>> {
        Box::pin(self.holder.header())
    }

    fn token(&self) -> BoxFuture<'_, Result<Token, Error>> {
        Box::pin(self.holder.token())
    }
}

#[derive(Debug)]
struct CliTokenSource {
    program: PathBuf,
    host: String,
    profile: Option<String>,
    timeout: Duration,
    version: tokio::sync::OnceCell<Option<CliVersion>>,
}

#[derive(Deserialize)]
struct VersionOutput {
    #[serde(rename = "Major")]
    major: u64,
    #[serde(rename = "Minor")]
    minor: u64,
    #[serde(rename = "Patch")]
    patch: u64,
}

#[derive(Deserialize)]
struct TokenOutput {
    access_token: Option<String>,
    token_type: Option<String>,
    expiry: Option<String>,
}

async fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<std::process::Output, String> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(timeout, child).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("cannot run {}: {e}", program.display())),
        Err(_) => Err(format!("{} did not answer within {timeout:?}", program.display())),
    }
}

impl CliTokenSource {
    async fn version(&self) -> Option<CliVersion> {
        *self
            .version
            .get_or_init(|| async {
                let out = run(&self.program, &["version", "--output", "json"], VERSION_TIMEOUT).await;
                let parsed = out
                    .ok()
                    .filter(|o| o.status.success())
                    .and_then(|o| serde_json::from_slice::<VersionOutput>(&o.stdout).ok())
                    .map(|v| CliVersion(v.major, v.minor, v.patch));
                if parsed.is_none() {
                    tracing::warn!(program = %self.program.display(), "could not detect the Databricks CLI version; using --host");
                }
                parsed
            })
            .await
    }

    fn args(&self, version: Option<CliVersion>) -> Vec<&str> {
        let mut args = vec!["auth", "token"];
        let profile_ok = version.is_some_and(|v| v >= VERSION_FOR_PROFILE);
        match &self.profile {
            Some(p) if profile_ok => args.extend(["--profile", p.as_str()]),
            Some(_) => {
                tracing::warn!(version = ?version, "the Databricks CLI does not support --profile (needs >= 0.207.1); using --host");
                args.extend(["--host", self.host.as_str()]);
            }
            None => args.extend(["--host", self.host.as_str()]),
        }
        if version.is_some_and(|v| v >= VERSION_FOR_FORCE_REFRESH) {
            args.push("--force-refresh");
        }
        args
    }

    async fn fetch_token(&self) -> Result<Token, Error> {
        let version = self.version().await;
        let args = self.args(version);
        let shown = format!("{} {}", self.program.display(), args.join(" "));
        let out = run(&self.program, &args, self.timeout)
            .await
            .map_err(|e| auth_error(format!("databricks-cli: {e}"), None))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stderr: String = stderr.trim().chars().take(1000).collect();
            return Err(auth_error(
                format!("databricks-cli: `{shown}` failed ({}): {stderr}", out.status),
                None,
            ));
        }
        let parsed: TokenOutput = serde_json::from_slice(&out.stdout).map_err(|_| {
            auth_error(
                format!("databricks-cli: `{shown}` did not print the expected JSON"),
                None,
            )
        })?;
        let access = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_error(format!("databricks-cli: `{shown}` printed no access_token"), None))?;
        let expiry = match parsed.expiry.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => Some(
                chrono::DateTime::parse_from_rfc3339(e)
                    .map(SystemTime::from)
                    .map_err(|_| auth_error(format!("databricks-cli: expiry {e:?} is not RFC 3339"), None))?,
            ),
        };
        let token = Token::new(Secret::from(access), parsed.token_type.as_deref().unwrap_or(""), expiry);
        token.header()?;
        Ok(token)
    }
}

impl TokenSource for CliTokenSource {
    fn fetch<'a>(&'a self, _current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(self.fetch_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "#!/bin/sh\n{body}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn finds_the_go_cli_and_skips_the_legacy_one() {
        let legacy = tempfile::tempdir().unwrap();
        script(
            legacy.path(),
            "databricks",
            "from databricks_cli.cli import main\nmain()",
        );
        let go = tempfile::tempdir().unwrap();
        let real = script(go.path(), "databricks", "echo go");
        let path = std::env::join_paths([legacy.path(), go.path()]).unwrap();
        assert_eq!(find_executable(path.to_str().unwrap()).unwrap(), real);
        let e = find_executable(legacy.path().to_str().unwrap()).unwrap_err();
        assert!(e.contains("legacy"), "{e}");
        let e = find_executable("/nonexistent").unwrap_err();
        assert!(e.contains("not on PATH"), "{e}");
    }

    #[tokio::test]
    async fn version_decides_profile_and_force_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let args_log = dir.path().join("args");
        for (minor, expected) in [
            ("300", "auth token --profile dev --force-refresh"),
            ("250", "auth token --profile dev"),
            ("100", "auth token --host https://h.com"),
        ] {
            let body = format!(
                r#"if [ "$1" = version ]; then echo '{{"Major":0,"Minor":{minor},"Patch":0}}'; exit 0; fi
echo "$@" >> {log}
echo '{{"access_token":"cli-tok-1","token_type":"Bearer","expiry":"2999-01-01T00:00:00.123456+01:00"}}'"#,
                log = args_log.display()
            );
            let program = script(dir.path(), &format!("databricks-{minor}"), &body);
            let c = DatabricksCliCredentials::new(program, "https://h.com", Some("dev".into()), Duration::from_secs(5));
            let t = c.token().await.unwrap();
            assert_eq!(t.access_token.expose(), "cli-tok-1");
            assert!(t.expiry.is_some());
            let logged = std::fs::read_to_string(&args_log).unwrap();
            assert_eq!(logged.lines().last(), Some(expected));
            assert!(!format!("{c:?}").contains("cli-tok-1"));
        }
        let failing = script(
            dir.path(),
            "failing",
            "echo 'Error: not logged in' >&2; echo 'leaked-stdout'; exit 1",
        );
        let c = DatabricksCliCredentials::new(failing, "https://h.com", None, Duration::from_secs(5));
        let e = c.authorization().await.unwrap_err().to_string();
        assert!(e.contains("not logged in") && !e.contains("leaked-stdout"), "{e}");
    }
}
