//! The composite GitHub Action (`action.yml` at the repository root), run the way the
//! Actions runner runs it: inputs with their defaults, each step's `env` evaluated, each
//! `run:` script through `bash --noprofile --norc -eo pipefail`, a fresh `GITHUB_OUTPUT`
//! file per step, `GITHUB_ENV`/`GITHUB_PATH`, `GITHUB_ACTIONS=true`, and the action's outputs
//! read from its steps' outputs; against the emulator with real PostgreSQL.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Env, USER, binary};
use serde_yaml::Value;

/// What a run of the action left: its outputs and each step's stdout.
struct ActionRun {
    outputs: BTreeMap<String, String>,
    stdouts: Vec<String>,
}

/// `${{ inputs.X }}` and `${{ steps.ID.outputs.X }}` replaced; any other expression fails
/// the test (the simulation would not know what the runner makes of it).
fn evaluate(
    text: &str,
    inputs: &BTreeMap<String, String>,
    steps: &BTreeMap<String, BTreeMap<String, String>>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unterminated expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("unknown input {name}"))
        } else if let Some(path) = expr.strip_prefix("steps.") {
            let (id, name) = path.split_once(".outputs.").expect("steps.<id>.outputs.<name>");
            steps.get(id).and_then(|o| o.get(name)).cloned().unwrap_or_default()
        } else {
            panic!("the simulated runner does not evaluate ${{{{ {expr} }}}}")
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `name=value` and `name<<DELIMITER` blocks of a `GITHUB_OUTPUT` file.
fn read_outputs(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

fn action() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../action.yml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).expect("action.yml is YAML")
}

/// Runs the action with `given` inputs in `env`'s environment, `lakebase` on PATH; `Err`
/// with the failing step's output when a step fails.
fn run_action(env: &Env, given: &[(&str, &str)], work: &Path) -> Result<ActionRun, String> {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let mut inputs = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap().to_owned();
        let given = given.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        let value = given.or_else(|| spec["default"].as_str().map(str::to_owned));
        if value.is_none() && spec["required"].as_bool() == Some(true) {
            return Err(format!("input {name} is required"));
        }
        inputs.insert(name, value.unwrap_or_default());
    }
    let bin_dir: PathBuf = binary().parent().unwrap().to_owned();
    let mut steps = BTreeMap::new();
    let mut stdouts = Vec::new();
    for (i, step) in action["runs"]["steps"].as_sequence().unwrap().iter().enumerate() {
        assert!(
            step.get("if").is_none() && step.get("uses").is_none(),
            "step {i}: only run steps"
        );
        assert_eq!(step["shell"], "bash", "step {i}");
        let script_path = work.join(format!("step-{i}.sh"));
        std::fs::write(&script_path, step["run"].as_str().unwrap()).unwrap();
        assert!(
            !step["run"].as_str().unwrap().contains("${{"),
            "step {i}: inputs go through env, never into the script"
        );
        let output_file = work.join(format!("output-{i}"));
        let mut cmd = std::process::Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_path)
            .env_clear()
            .envs(&env.vars)
            .env("PATH", format!("{}:{}", bin_dir.display(), env.vars["PATH"]))
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_ENV", work.join("env"))
            .env("GITHUB_PATH", work.join("path"))
            .stdin(std::process::Stdio::null());
        if let Some(vars) = step["env"].as_mapping() {
            for (name, value) in vars {
                cmd.env(
                    name.as_str().unwrap(),
                    evaluate(value.as_str().unwrap(), &inputs, &steps),
                );
            }
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!(
                "step {i} exited {:?}\nstdout: {stdout}\nstderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        stdouts.push(stdout);
        if let Some(id) = step["id"].as_str() {
            steps.insert(id.to_owned(), read_outputs(&output_file));
        }
    }
    let outputs = action["outputs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, spec)| {
            let value = evaluate(spec["value"].as_str().unwrap(), &inputs, &steps);
            (name.as_str().unwrap().to_owned(), value)
        })
        .collect();
    Ok(ActionRun { outputs, stdouts })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_creates_the_branch_and_sets_the_documented_outputs() {
    let Some(env) = Env::postgres().await else { return };
    env.project("shop").await;
    let work = tempfile::tempdir().unwrap();

    let first =
        tokio::task::block_in_place(|| run_action(&env, &[("project", "shop"), ("pr", "9")], work.path())).unwrap();
    let outputs = &first.outputs;
    assert_eq!(
        outputs.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "branch",
            "branch_name",
            "created",
            "database_url",
            "expire_time",
            "host"
        ],
        "the outputs docs/ci.md documents"
    );
    assert_eq!(outputs["branch"], "pr-9");
    assert_eq!(outputs["branch_name"], "projects/shop/branches/pr-9");
    assert_eq!(outputs["created"], "true");
    assert!(outputs["host"].starts_with("127.0.0."), "{outputs:?}");
    assert!(!outputs["expire_time"].is_empty());
    let url = &outputs["database_url"];
    let credential = url
        .strip_prefix(&format!("postgres://{}:", USER.replace('@', "%40")))
        .and_then(|rest| rest.split_once('@'))
        .map(|(c, _)| c.to_owned())
        .expect("the URL carries the credential");
    assert!(url.ends_with("/databricks_postgres?sslmode=require"), "{url}");

    // The install step found lakebase on PATH; the branch step masked the credential first.
    assert!(first.stdouts[0].starts_with("using lakebase "), "{}", first.stdouts[0]);
    let lines: Vec<&str> = first.stdouts[1].lines().collect();
    assert_eq!(lines[0], format!("::add-mask::{credential}"));
    assert_eq!(lines[1], format!("::add-mask::{url}"));
    assert!(
        lines[2..].iter().all(|l| !l.contains(&credential)),
        "the credential is only in mask commands: {lines:?}"
    );

    // A re-run (new commits) keeps the branch; the defaults were used.
    let second =
        tokio::task::block_in_place(|| run_action(&env, &[("project", "shop"), ("pr", "9")], work.path())).unwrap();
    assert_eq!(second.outputs["created"], "false");
    assert_eq!(env.emu.request_count("create_branch"), 1);

    // Inputs are data, never shell: a pull request "number" with a command substitution is
    // refused by the CLI and runs nothing.
    let marker = work.path().join("pwned");
    let hostile = format!("9$(touch {})", marker.display());
    let refused =
        tokio::task::block_in_place(|| run_action(&env, &[("project", "shop"), ("pr", &hostile)], work.path()));
    let error = refused.err().expect("a bad pr input fails the step");
    assert!(error.contains("exited Some(2)"), "{error}");
    assert!(!marker.exists());

    // A required input missing is the runner's error, before any step.
    assert!(run_action(&env, &[("project", "shop")], work.path()).is_err());
}
