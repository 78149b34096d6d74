//! `lakebase-test-idp`: the stand-in OIDC identity provider of
//! [`lakebase_emulator::test_idp`] as a program, for scripts that drive other clients (the
//! official SDKs) through federation.
//!
//! `lakebase-test-idp --subject S [--port P] [--url-file F] [--token-file T --audience A]`
//! serves until killed; it writes its URL to `--url-file` and, with `--token-file`, a token
//! for `S` and `--audience` (mode 0600) once it listens.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use lakebase_emulator::test_idp::TestIssuer;

/// A test OIDC issuer on loopback (test-only signing key).
#[derive(Parser)]
struct Args {
    /// `sub` of the tokens it issues.
    #[arg(long)]
    subject: String,
    /// Loopback port (0: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write its URL once it listens.
    #[arg(long)]
    url_file: Option<PathBuf>,
    /// Where to write one token for --subject and --audience.
    #[arg(long, requires = "audience")]
    token_file: Option<PathBuf>,
    /// `aud` of the token written to --token-file.
    #[arg(long)]
    audience: Option<String>,
}

fn write_private(path: &PathBuf, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let idp = TestIssuer::start_on(SocketAddr::from(([127, 0, 0, 1], a.port)), &a.subject).await?;
    if let (Some(path), Some(aud)) = (&a.token_file, &a.audience) {
        write_private(path, &idp.token(&a.subject, aud))?;
    }
    if let Some(path) = &a.url_file {
        write_private(path, idp.url())?;
    }
    println!("lakebase-test-idp listening on {}", idp.url());
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}
