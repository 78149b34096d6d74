//! `cargo xtask <command>`: project automation.
//!
//! * `regenerate`: rewrite `generated/src/*`, `client-ext/src/generated/*` and
//!   `cli/src/generated/api.rs` from
//!   `spec/postgres.openapi.yaml`;
//! * `check`: fail, with a diff summary, when the generated files are not what
//!   `regenerate` would write;
//! * `conformance`: run the conformance suite and print a table per operation;
//! * `public-api [--bless]`: fail when the public API of `lakebase` or
//!   `lakebase-postgres` differs from the listing checked in under `api/` (with
//!   `--bless`: rewrite the listing); see [`public_api`].

mod public_api;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("regenerate") => regenerate(&root),
        Some("check") => check(&root),
        Some("conformance") => conformance(&root, &args[1..]),
        Some("public-api") => public_api::run(&root, args.get(1).is_some_and(|a| a == "--bless")),
        _ => Err("usage: cargo xtask <regenerate|check|conformance|public-api [--bless]>".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, found at run time: `XTASK_ROOT` (the tests run xtask on a copy),
/// else the parent of the `CARGO_MANIFEST_DIR` that `cargo run` sets for this run (so a
/// checkout moved or copied beside a shared target directory regenerates itself, not the
/// checkout the binary was built from), else the current directory.
fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(manifest) => Path::new(&manifest).parent().map(Path::to_path_buf).unwrap_or_default(),
        None => PathBuf::from("."),
    }
}

fn generate(root: &Path) -> Result<lakebase_codegen::GeneratedFiles, String> {
    let spec_path = root.join(lakebase_codegen::SPEC_PATH);
    let spec = std::fs::read_to_string(&spec_path).map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    lakebase_codegen::generate(&spec).map_err(|e| e.to_string())
}

fn regenerate(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let files = generate(root)?;
    for (path, text) in &files.files {
        let target = root.join(path);
        if std::fs::read_to_string(&target).ok().as_deref() != Some(text.as_str()) {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(&target, text).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            eprintln!("wrote {path}");
        }
    }
    eprintln!("regenerated {} files in {:.2?}", files.files.len(), started.elapsed());
    Ok(())
}

fn check(root: &Path) -> Result<(), String> {
    let files = generate(root)?;
    let drift = lakebase_codegen::drift(root, &files);
    if drift.is_empty() {
        eprintln!("generated/ matches {}", lakebase_codegen::SPEC_PATH);
        Ok(())
    } else {
        Err(format!("{drift}\nrun `cargo xtask regenerate` and commit the result"))
    }
}

fn conformance(root: &Path, extra: &[String]) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "test",
            "-p",
            "lakebase-conformance",
            "--test",
            "conformance",
            "--",
            "--summary",
        ])
        .args(extra)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("conformance failed".into())
    }
}
