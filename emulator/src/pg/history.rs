//! A branch's history, with PostgreSQL's own machinery: its server archives every WAL
//! segment (`archive_command`) into the branch's archive, and base backups (the copy the
//! branch started from, then newer ones) mark where a restore can begin. A restore copies
//! the newest base backup before the target, replays the archive up to
//! `recovery_target_time` / `recovery_target_lsn` and promotes: the result holds exactly
//! the transactions committed before that point, and continues the branch's LSNs.
//!
//! Layout under the emulator's data directory: `history/<cluster>/wal/` (the archive) and
//! `history/<cluster>/base/<n>/` with `base/<n>.json` (when and at which LSN it was taken).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::cluster::{self, Cluster, PgEnv};
use super::{PgError, process};

/// How long a restore may take to replay its WAL and promote.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(120);

/// What a restore's log says when the archive ended before the target was reached.
const TARGET_NOT_REACHED: &str = "recovery ended before configured recovery target was reached";

/// A PostgreSQL log sequence number (`16/B374D848`: the high and low 32 bits in hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl FromStr for Lsn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a PostgreSQL LSN (like 0/1A2B3C4)");
        let (hi, lo) = s.split_once('/').ok_or_else(bad)?;
        let part = |p: &str| {
            (!p.is_empty() && p.len() <= 8)
                .then(|| u32::from_str_radix(p, 16).ok())
                .flatten()
                .ok_or_else(bad)
        };
        Ok(Self((u64::from(part(hi)?) << 32) | u64::from(part(lo)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lsn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The point of a branch's history a restore stops at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryTarget {
    /// Every transaction committed at or before this time (`recovery_target_time`,
    /// inclusive).
    Time(DateTime<Utc>),
    /// Every WAL record before this position (`recovery_target_lsn`, not inclusive: an LSN
    /// read with `pg_current_wal_lsn()` after a commit holds that commit).
    Lsn(Lsn),
}

/// One base backup of a branch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Base {
    /// Sequence number (its directory name).
    pub seq: u64,
    /// When it was taken.
    pub time: DateTime<Utc>,
    /// The LSN it holds everything before.
    pub lsn: Lsn,
    /// The first archived WAL segment a restore from it reads.
    pub wal_file: String,
}

/// Where a restore stopped.
#[derive(Debug, Clone, Copy)]
pub struct Restored {
    /// The LSN the new branch's data holds everything before.
    pub lsn: Lsn,
    /// Commit time of the last transaction it holds, if any was replayed.
    pub time: Option<DateTime<Utc>>,
}

/// What `pg_controldata` says about a stopped data directory.
#[derive(Debug, Clone)]
pub struct ControlData {
    /// `Latest checkpoint location`.
    pub checkpoint: Lsn,
    /// `Latest checkpoint's REDO WAL file`.
    pub redo_wal_file: String,
}

/// The history directory of a cluster.
pub fn dir(env: &PgEnv, cluster: &str) -> PathBuf {
    env.history.join(cluster)
}

/// The WAL archive of a cluster.
pub fn wal_dir(env: &PgEnv, cluster: &str) -> PathBuf {
    dir(env, cluster).join("wal")
}

fn base_root(env: &PgEnv, cluster: &str) -> PathBuf {
    dir(env, cluster).join("base")
}

/// The base backups of a cluster, oldest first.
pub fn bases(env: &PgEnv, cluster: &str) -> Vec<Base> {
    let mut out: Vec<Base> = std::fs::read_dir(base_root(env, cluster))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect();
    out.sort_by_key(|b: &Base| b.seq);
    out
}

/// Reads `pg_controldata` of a stopped data directory.
pub async fn controldata(env: &PgEnv, data_dir: &Path) -> Result<ControlData, PgError> {
    let mut cmd = env.run_as.command(env.bins.bin("pg_controldata"));
    cmd.arg("-D").arg(data_dir).env("LC_ALL", "C");
    let text = process::output(cmd, "pg_controldata").await?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
            .map(str::to_string)
            .ok_or_else(|| PgError::Setup(format!("pg_controldata: no '{name}'")))
    };
    Ok(ControlData {
        checkpoint: field("Latest checkpoint location")?.parse().map_err(PgError::Setup)?,
        redo_wal_file: field("Latest checkpoint's REDO WAL file")?,
    })
}

/// Where a `pg_basebackup` copy is consistent: the end of its WAL range in its
/// `backup_manifest` (the copy holds every transaction committed before it).
pub fn backup_end(backup: &Path) -> Option<Lsn> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("backup_manifest")).ok()?).ok()?;
    manifest
        .get("WAL-Ranges")?
        .as_array()?
        .last()?
        .get("End-LSN")?
        .as_str()?
        .parse()
        .ok()
}

/// The first WAL segment a copy needs: its backup label's, else its checkpoint's.
async fn first_wal_file(env: &PgEnv, data_dir: &Path) -> Result<String, PgError> {
    if let Ok(label) = std::fs::read_to_string(data_dir.join("backup_label"))
        && let Some(file) = label.lines().find_map(|l| {
            l.strip_prefix("START WAL LOCATION:")?
                .split("(file ")
                .nth(1)?
                .strip_suffix(')')
                .map(str::to_string)
        })
    {
        return Ok(file);
    }
    Ok(controldata(env, data_dir).await?.redo_wal_file)
}

/// Keeps a copy of a stopped (or never started) data directory as a base backup of
/// `cluster`, holding everything before `lsn`.
pub async fn keep_base(env: &PgEnv, cluster: &str, data_dir: &Path, lsn: Lsn) -> Result<Base, PgError> {
    let root = base_root(env, cluster);
    env.private_dir(&root)?;
    env.private_dir(&wal_dir(env, cluster))?;
    let seq = bases(env, cluster).last().map_or(0, |b| b.seq + 1);
    let dest = root.join(seq.to_string());
    let _ = std::fs::remove_dir_all(&dest);
    cluster::copy_dir(env, data_dir, &dest).await?;
    let base = Base {
        seq,
        time: Utc::now(),
        lsn,
        wal_file: first_wal_file(env, &dest).await?,
    };
    let meta = serde_json::to_vec(&base).map_err(|e| PgError::Setup(format!("base backup: {e}")))?;
    let path = root.join(format!("{seq}.json"));
    let partial = root.join(format!("{seq}.json.partial"));
    std::fs::write(&partial, meta)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| PgError::Setup(format!("base backup {}: {e}", path.display())))?;
    Ok(base)
}

/// Takes a new base backup of a cluster (a consistent copy, running or not).
pub async fn take_base(env: &PgEnv, c: &Cluster) -> Result<Base, PgError> {
    let staging = dir(env, &c.id).join("base.partial");
    let _ = std::fs::remove_dir_all(&staging);
    env.private_dir(&dir(env, &c.id))?;
    let lsn = c.copy_to(env, &staging).await?;
    let base = keep_base(env, &c.id, &staging, lsn).await;
    let _ = std::fs::remove_dir_all(&staging);
    base
}

/// Removes what the retention window no longer needs: base backups older than the newest
/// one taken before `keep_from`, and the archived WAL before that one.
pub async fn prune(env: &PgEnv, cluster: &str, keep_from: DateTime<Utc>) -> Result<(), PgError> {
    let all = bases(env, cluster);
    let Some(oldest_kept) = all.iter().rposition(|b| b.time <= keep_from) else {
        return Ok(());
    };
    for old in &all[..oldest_kept] {
        let root = base_root(env, cluster);
        let _ = std::fs::remove_file(root.join(format!("{}.json", old.seq)));
        let _ = tokio::fs::remove_dir_all(root.join(old.seq.to_string())).await;
    }
    if oldest_kept > 0 {
        let mut cmd = env.run_as.command(env.bins.bin("pg_archivecleanup"));
        cmd.arg(wal_dir(env, cluster)).arg(&all[oldest_kept].wal_file);
        process::run(cmd, "pg_archivecleanup").await?;
    }
    Ok(())
}

/// The base backup a restore to `target` starts from: the newest one taken before it
/// (the oldest when the target precedes them all: nothing changed before the first).
fn base_for(bases: &[Base], target: RecoveryTarget) -> Option<(&Base, bool)> {
    let before = bases.iter().rev().find(|b| match target {
        RecoveryTarget::Time(t) => b.time <= t,
        RecoveryTarget::Lsn(l) => b.lsn <= l,
    });
    match before {
        Some(b) => Some((b, true)),
        None => bases.first().map(|b| (b, false)),
    }
}

/// Writes into `dest` (which must not exist) the data of `source` (a cluster id) at
/// `target`, replayed from its base backups and archive and promoted; the new data
/// archives its own WAL into the history of `becomes`.
pub async fn restore(
    env: &PgEnv,
    source: &str,
    target: RecoveryTarget,
    dest: &Path,
    becomes: &str,
) -> Result<Restored, PgError> {
    let all = bases(env, source);
    let (base, replay) = base_for(&all, target)
        .ok_or_else(|| PgError::Setup(format!("branch {source} has no history to restore from")))?;
    let mut settings = vec![
        (
            "restore_command",
            format!("cp '{}/%f' '%p'", wal_dir(env, source).display()),
        ),
        ("recovery_target_action", "promote".to_string()),
        ("hot_standby", "on".to_string()),
    ];
    if replay {
        match target {
            RecoveryTarget::Time(t) => {
                settings.push(("recovery_target_time", t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()));
                settings.push(("recovery_target_inclusive", "on".into()));
            }
            RecoveryTarget::Lsn(l) => {
                settings.push(("recovery_target_lsn", l.to_string()));
                settings.push(("recovery_target_inclusive", "off".into()));
            }
        }
    } else {
        settings.push(("recovery_target", "immediate".into()));
    }
    match replay_once(env, source, base, dest, becomes, &settings).await {
        Err(Replay::TargetNotReached) if matches!(target, RecoveryTarget::Time(_)) => {
            // Nothing was committed after the target time: the state then is the state at
            // the end of the archive.
            settings.retain(|(k, _)| !k.starts_with("recovery_target_") || *k == "recovery_target_action");
            replay_once(env, source, base, dest, becomes, &settings)
                .await
                .map_err(Replay::into_error)
        }
        Err(Replay::TargetNotReached) => Err(PgError::Setup(format!(
            "the target {target:?} lies beyond the WAL of branch {source}"
        ))),
        other => other.map_err(Replay::into_error),
    }
}

enum Replay {
    TargetNotReached,
    Failed(PgError),
}

impl Replay {
    fn into_error(self) -> PgError {
        match self {
            Replay::TargetNotReached => PgError::Setup("recovery target not reached".into()),
            Replay::Failed(e) => e,
        }
    }
}

async fn replay_once(
    env: &PgEnv,
    source: &str,
    base: &Base,
    dest: &Path,
    becomes: &str,
    settings: &[(&str, String)],
) -> Result<Restored, Replay> {
    let fail = Replay::Failed;
    let _ = std::fs::remove_dir_all(dest);
    cluster::copy_dir(env, &base_root(env, source).join(base.seq.to_string()), dest)
        .await
        .map_err(fail)?;
    for stale in ["postmaster.pid", "postmaster.opts", "standby.signal"] {
        let _ = std::fs::remove_file(dest.join(stale));
    }
    let signal = dest.join("recovery.signal");
    std::fs::write(&signal, b"").map_err(|e| fail(PgError::Setup(format!("{}: {e}", signal.display()))))?;
    env.run_as.own(&signal).map_err(fail)?;
    let id = dest.file_name().and_then(|n| n.to_str()).unwrap_or(becomes).to_string();
    let log = env.logs.join(format!("{id}.log"));
    let _ = std::fs::remove_file(&log);
    let c = Cluster::archiving_to(env, &id, wal_dir(env, becomes));
    let outcome = promote(env, &c, settings).await;
    c.stop().await;
    match outcome {
        Ok(r) => Ok(r),
        Err(e) => {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains(TARGET_NOT_REACHED) {
                Err(Replay::TargetNotReached)
            } else {
                Err(fail(e))
            }
        }
    }
}

/// Starts a server in recovery and waits until it has promoted itself; where it stopped.
async fn promote(env: &PgEnv, c: &Cluster, settings: &[(&str, String)]) -> Result<Restored, PgError> {
    c.start_with(env, settings).await?;
    let sql = |e: tokio_postgres::Error| PgError::Sql(cluster::describe(&e));
    let deadline = Instant::now() + RESTORE_TIMEOUT;
    loop {
        if c.has_exited().await {
            return Err(PgError::Setup(format!("recovery of {} failed", c.id)));
        }
        if let Ok(admin) = c.admin_connect("postgres").await {
            let row = admin
                .query_one(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, \
                     pg_last_xact_replay_timestamp()",
                    &[],
                )
                .await
                .map_err(sql)?;
            if !row.get::<_, bool>(0) {
                let replayed: Option<String> = row.get(1);
                let time: Option<std::time::SystemTime> = row.get(2);
                let current = c.current_lsn().await?;
                let lsn = replayed.and_then(|l| l.parse().ok()).unwrap_or(current);
                return Ok(Restored {
                    lsn: lsn.min(current),
                    time: time.map(DateTime::<Utc>::from),
                });
            }
        }
        if Instant::now() > deadline {
            return Err(PgError::Setup(format!("recovery of {} did not finish in time", c.id)));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_parse_print_and_order() {
        let l: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(l.0, 0x16_B374_D848);
        assert_eq!(l.to_string(), "16/B374D848");
        assert!("0/1A2B3C4".parse::<Lsn>().unwrap() < l);
        for bad in ["", "0", "0/", "/1", "0/xyz", "1/2/3", "123456789/0", "0/-1"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }

    fn base(seq: u64, secs: i64, lsn: u64) -> Base {
        Base {
            seq,
            time: DateTime::from_timestamp(secs, 0).unwrap(),
            lsn: Lsn(lsn),
            wal_file: String::new(),
        }
    }

    #[test]
    fn a_restore_starts_from_the_newest_base_before_its_target() {
        let all = [base(0, 100, 10), base(1, 200, 20), base(2, 300, 30)];
        let at = |secs| RecoveryTarget::Time(DateTime::from_timestamp(secs, 0).unwrap());
        assert_eq!(base_for(&all, at(250)).map(|(b, r)| (b.seq, r)), Some((1, true)));
        assert_eq!(base_for(&all, at(300)).map(|(b, r)| (b.seq, r)), Some((2, true)));
        assert_eq!(base_for(&all, at(50)).map(|(b, r)| (b.seq, r)), Some((0, false)));
        let lsn = |l| RecoveryTarget::Lsn(Lsn(l));
        assert_eq!(base_for(&all, lsn(29)).map(|(b, _)| b.seq), Some(1));
        assert!(base_for(&[], lsn(1)).is_none());
    }
}
