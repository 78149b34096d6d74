//! Records the version of the compiler building this crate, for the User-Agent
//! (`rust/<version>`): one `rustc --version`, no dependencies.

use std::process::Command;

fn main() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        // "rustc 1.95.0 (59807616e 2026-04-14)" -> "1.95.0"
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .filter(|version| version.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=LAKEBASE_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");
}
