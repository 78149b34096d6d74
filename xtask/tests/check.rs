//! `cargo xtask check` fails after a spec change and passes after `regenerate`.

use std::path::Path;
use std::process::Command;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn xtask(root: &Path, command: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg(command)
        .env("XTASK_ROOT", root)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_fails_on_drift_and_passes_after_regenerate() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&workspace.join("spec"), &copy.path().join("spec"));
    copy_tree(&workspace.join("generated/src"), &copy.path().join("generated/src"));
    copy_tree(
        &workspace.join("client-ext/src/generated"),
        &copy.path().join("client-ext/src/generated"),
    );
    copy_tree(
        &workspace.join("cli/src/generated"),
        &copy.path().join("cli/src/generated"),
    );

    let (ok, stderr) = xtask(copy.path(), "check");
    assert!(ok, "a fresh copy is in sync: {stderr}");

    let spec_path = copy.path().join("spec/postgres.openapi.yaml");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    let changed = spec.replacen("Postgres major version, e.g. 16 or 17.", "Postgres major version.", 1);
    assert_ne!(spec, changed, "the spec text this test edits is still there");
    std::fs::write(&spec_path, changed).unwrap();

    let (ok, stderr) = xtask(copy.path(), "check");
    assert!(!ok, "check must fail after a spec change");
    assert!(stderr.contains("generated/src/client.rs: differs"), "{stderr}");
    assert!(stderr.contains("cargo xtask regenerate"), "{stderr}");

    let (ok, stderr) = xtask(copy.path(), "regenerate");
    assert!(ok, "{stderr}");
    let (ok, stderr) = xtask(copy.path(), "check");
    assert!(ok, "in sync again after regenerate: {stderr}");
}
