//! Running PostgreSQL's programs: as an unprivileged user when the emulator runs as root
//! (`initdb` and `postgres` refuse root), tied to the emulator's life (a server gets
//! `SIGQUIT`, PostgreSQL's immediate shutdown, when the thread that started it dies, so no
//! server outlives an emulator that is killed), with secrets kept off command lines.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::PgError;

/// The operating-system identity the PostgreSQL programs run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// `Some((uid, gid))` when the emulator is root and switches to another user.
    switch_to: Option<(u32, u32)>,
}

impl RunAs {
    /// The current user, or when that is root: `postgres` if the system has it, else `nobody`.
    pub fn detect() -> Result<Self, PgError> {
        // SAFETY: getuid has no preconditions and cannot fail.
        if unsafe { libc::getuid() } != 0 {
            return Ok(Self { switch_to: None });
        }
        for name in ["postgres", "nobody"] {
            if let Some(ids) = user_ids(name) {
                return Ok(Self { switch_to: Some(ids) });
            }
        }
        Err(PgError::Setup(
            "running as root and no unprivileged user (postgres or nobody) to run PostgreSQL as".into(),
        ))
    }

    /// Gives `path` to the PostgreSQL user (a no-op unless running as root).
    pub fn own(&self, path: &Path) -> Result<(), PgError> {
        if let Some((uid, gid)) = self.switch_to {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| PgError::Setup(format!("chown {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// A command for `program` running as the PostgreSQL user, in its own process group,
    /// killed with `SIGQUIT` when the calling thread exits.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        if let Some((uid, gid)) = self.switch_to {
            cmd.uid(uid).gid(gid);
            cmd.env("HOME", "/tmp");
        }
        cmd.process_group(0).stdin(Stdio::null());
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing. It runs after
        // the uid switch, which would otherwise clear the parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let uid = f.nth(1)?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// Runs a short-lived program to completion; a failure carries its exit status and the
/// tail of its output (programs here never see secrets).
pub async fn run(cmd: Command, what: &str) -> Result<(), PgError> {
    output(cmd, what).await.map(drop)
}

/// Runs a short-lived program to completion and returns its standard output; a failure
/// carries its exit status and the tail of its output.
pub async fn output(mut cmd: Command, what: &str) -> Result<String, PgError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| PgError::Setup(format!("{what}: {e}")))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    let tail: String = text
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("; ");
    Err(PgError::Setup(format!("{what} failed ({}): {tail}", out.status)))
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        // SAFETY: kill with signal 0 only checks for existence.
        Err(_) => unsafe { libc::kill(pid as libc::pid_t, 0) == 0 },
    }
}

/// Sends a signal to a process.
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: sending a signal has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}
