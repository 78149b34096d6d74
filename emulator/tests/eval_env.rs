//! The emulator one `eval` away: a `lakebase-emulator` process started elsewhere, then
//! `eval "$(lakebase-emulator env)"` and nothing else, and the quickstart's steps (the SDK
//! from `DATABRICKS_*`, the pool from the environment) and `psql`/`pg_dump` connect.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;
use lakebase::{Client, Config, types};
use lakebase_postgres::Pool;

const EMULATOR: &str = env!("CARGO_BIN_EXE_lakebase-emulator");

/// Kills the emulator when the test ends, failed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM first: it stops PostgreSQL and removes the state file.
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        for _ in 0..500 {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `None` (after saying why) without PostgreSQL server binaries, unless CI requires them.
fn postgres_available() -> bool {
    match lakebase_emulator::pg::binaries::Binaries::find(None) {
        Ok(_) => true,
        Err(e) if std::env::var("LAKEBASE_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("LAKEBASE_REQUIRE_POSTGRES=1 but {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no PostgreSQL server binaries: {e}");
            false
        }
    }
}

/// Starts `lakebase-emulator --postgres` with its state in `state_dir`; returns once its
/// banner is out (the state and env files are written before it).
fn start(state_dir: &Path, env_file: &Path) -> Running {
    let mut child = Command::new(EMULATOR)
        .args(["--port", "0", "--postgres", "--pg-port", "0", "--op-latency", "5"])
        .arg("--env-file")
        .arg(env_file)
        .env("LAKEBASE_EMULATOR_STATE_DIR", state_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start lakebase-emulator");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("the emulator exited before its banner").unwrap();
        if line.starts_with("LAKEBASE_EMULATOR_CA=") {
            break;
        }
    }
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    running
}

/// Runs `script` in bash after exactly `eval "$(lakebase-emulator env)"`, with the
/// emulator on PATH and no Databricks or libpq variables of our own; stdout on success.
fn after_eval(state_dir: &Path, script: &str, extra: &[(&str, &str)]) -> String {
    let bin_dir = PathBuf::from(EMULATOR).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "set -euo pipefail\neval \"$(lakebase-emulator env)\"\n{script}"
        ))
        .env("PATH", path)
        .env("LAKEBASE_EMULATOR_STATE_DIR", state_dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("DATABRICKS_") || key.starts_with("PG") || key == "LAKEBASE_ENDPOINT" {
            cmd.env_remove(key);
        }
    }
    for (key, value) in extra {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run bash");
    assert!(
        out.status.success(),
        "{script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn eval_env_connects_the_sdk_the_pool_psql_and_pg_dump() {
    if !postgres_available() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let state_dir = scratch.path().join("state");
    let env_file = scratch.path().join("emulator.env");
    let _emulator = start(&state_dir, &env_file);

    // What `eval` put in the environment, exactly.
    let printed = after_eval(&state_dir, "lakebase-emulator env", &[]);
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        printed,
        "--env-file writes what env prints"
    );
    let vars: BTreeMap<String, String> = after_eval(&state_dir, "env | grep -E '^(DATABRICKS_|PG)'", &[])
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(
        vars.keys().map(String::as_str).collect::<Vec<_>>(),
        ["DATABRICKS_HOST", "DATABRICKS_TOKEN", "PGPORT", "PGSSLROOTCERT"],
        "{printed}"
    );
    let env = || {
        vars.iter()
            .fold(MapEnv::new(), |env, (k, v)| env.with_var(k.clone(), v.clone()))
    };

    // The quickstart's steps, configured by those variables alone (as `Client::from_env`
    // and `Pool::from_env` read them).
    let client = Client::new(Config::builder().env(Arc::new(env())).build().unwrap()).unwrap();
    client
        .create_project("evalflow", types::Project::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let endpoint = "projects/evalflow/branches/production/endpoints/primary";
    let pool = Pool::builder()
        .env(Arc::new(env().with_var("LAKEBASE_ENDPOINT", endpoint)))
        .build()
        .await
        .expect("the pool builds from the environment");
    let conn = pool
        .get()
        .await
        .expect("the pool connects with PGPORT and PGSSLROOTCERT");
    conn.batch_execute(
        "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'hello from eval')",
    )
    .await
    .unwrap();

    // psql and pg_dump: the same variables, the host and user from the pool, the password
    // through PGPASSWORD; verify-ca proves PGSSLROOTCERT is the endpoints' CA.
    let password = pool.credentials().get().await.unwrap().token().expose().to_owned();
    let libpq = [
        ("PGHOST", pool.host()),
        ("PGUSER", pool.user()),
        ("PGDATABASE", "databricks_postgres"),
        ("PGPASSWORD", password.as_str()),
        ("PGSSLMODE", "verify-ca"),
    ];
    let rows = after_eval(&state_dir, "psql -X -At -c 'SELECT id, body FROM notes'", &libpq);
    assert_eq!(rows, "1|hello from eval\n");
    let dump = after_eval(&state_dir, "pg_dump --schema-only -t notes", &libpq);
    assert!(dump.contains("CREATE TABLE public.notes"), "{dump}");
}

#[test]
fn env_without_a_running_emulator_says_so() {
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new(EMULATOR)
        .args(["env", "--state-dir"])
        .arg(scratch.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no running lakebase-emulator"), "{stderr}");
}
