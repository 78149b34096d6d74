//! Shared helpers: an in-process emulator and the built `lakebase` binary run against it
//! with a clean environment.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use lakebase_emulator::{Emulator, EmulatorBuilder};
use serde_json::Value;

/// The workspace user of the emulator's tokens (and so the Postgres user).
pub const USER: &str = "alice@example.com";
/// The token the emulator accepts.
pub const TOKEN: &str = "dapi-cli-test";

/// An emulator, a home directory and the environment the CLI runs with. The emulator and its
/// PostgreSQL servers stop when this is dropped.
pub struct Env {
    pub emu: Emulator,
    pub home: tempfile::TempDir,
    pub vars: BTreeMap<String, String>,
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// stdout as one JSON object (the last line: `--github-output` prints mask lines first).
    pub fn json(&self) -> Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        self
    }
}

impl Env {
    /// An emulator with real PostgreSQL, or `None` (with a message) on machines without the
    /// server binaries.
    pub async fn postgres() -> Option<Env> {
        if let Err(e) = lakebase_emulator::pg::binaries::Binaries::find(None) {
            eprintln!("skipped: {e}");
            return None;
        }
        Some(
            Env::with(
                Emulator::builder()
                    .postgres(true)
                    .pg_port(0)
                    .op_latency(Duration::from_millis(5)),
            )
            .await,
        )
    }

    /// An API-only emulator (fast; for errors and help).
    pub async fn api_only() -> Env {
        Env::with(Emulator::builder().op_latency(Duration::ZERO)).await
    }

    /// An emulator from `builder` (token and user set here).
    pub async fn with(builder: EmulatorBuilder) -> Env {
        let emu = builder
            .token(TOKEN)
            .user(USER)
            .start()
            .await
            .expect("start the emulator");
        let home = tempfile::tempdir().expect("home directory");
        let mut vars = BTreeMap::new();
        vars.insert("HOME".into(), home.path().display().to_string());
        vars.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        vars.insert("DATABRICKS_HOST".into(), emu.base_url());
        vars.insert("DATABRICKS_TOKEN".into(), TOKEN.into());
        if let Some(port) = emu.pg_port() {
            vars.insert("PGPORT".into(), port.to_string());
        }
        Env { emu, home, vars }
    }

    /// Runs `lakebase args...` with this environment (nothing inherited but `PATH`).
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[]).await
    }

    /// Like [`run`](Self::run) with extra (or, with an empty value, removed) variables.
    pub async fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut vars = self.vars.clone();
        for (k, v) in extra {
            if v.is_empty() {
                vars.remove(*k);
            } else {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let output = std::process::Command::new(binary())
                .args(&args)
                .env_clear()
                .envs(&vars)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run lakebase");
            Run::from(output)
        })
        .await
        .expect("join")
    }

    /// Creates project `id` through `lakebase api create-project`.
    pub async fn project(&self, id: &str) {
        let run = self
            .run(&[
                "api",
                "create-project",
                id,
                "-o",
                "json",
                "--json",
                r#"{"spec": {"display_name": "CLI test"}}"#,
            ])
            .await
            .expect(0);
        let project = run.json();
        assert_eq!(project["name"], format!("projects/{id}"));
        assert_eq!(project["status"]["display_name"], "CLI test");
    }
}

/// The built binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lakebase"))
}
