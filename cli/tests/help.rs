//! `--help` of every workflow command, compared with the files in `tests/help/`.
//! `LAKEBASE_BLESS=1 cargo test -p lakebase-cli --test help` rewrites them after a deliberate change.

use std::path::PathBuf;
use std::process::Command;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["branch"],
    &["branch", "ensure"],
    &["branch", "reset"],
    &["branch", "delete"],
    &["branch", "list"],
    &["ci"],
    &["ci", "pr-branch"],
    &["connect"],
    &["connection-string"],
    &["schema-diff"],
    &["completions"],
    &["api"],
    &["api", "create-branch"],
    &["api", "update-branch"],
    &["api", "list-branches"],
];

#[test]
fn help_output_matches_the_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/help");
    let bless = std::env::var_os("LAKEBASE_BLESS").is_some();
    let mut stale = Vec::new();
    for args in COMMANDS {
        let output = Command::new(env!("CARGO_BIN_EXE_lakebase"))
            .args(*args)
            .arg("--help")
            .env_clear()
            .output()
            .expect("run lakebase");
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert!(output.stderr.is_empty(), "{args:?}");
        let text = String::from_utf8(output.stdout).expect("UTF-8 help");
        let file = dir.join(format!(
            "{}.txt",
            if args.is_empty() {
                "lakebase".to_string()
            } else {
                args.join("-")
            }
        ));
        if bless {
            std::fs::write(&file, &text).expect("write snapshot");
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("{}\n{text}", file.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "help differs from its snapshot (LAKEBASE_BLESS=1 rewrites):\n{}",
        stale.join("\n")
    );
}

#[test]
fn version_is_the_crate_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_lakebase"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("lakebase {}\n", env!("CARGO_PKG_VERSION"))
    );
}
