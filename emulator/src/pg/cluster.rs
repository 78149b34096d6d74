//! One PostgreSQL data directory (a branch's database, or a snapshot) and the server that
//! runs on it on demand: start (wake), stop (suspend), consistent copies, admin sessions.
//!
//! The server listens only on a Unix socket in a private directory and trusts the
//! emulator's connections there: every client login goes through the endpoint front end,
//! which checks Lakebase credentials first.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use super::history::{self, Lsn};
use super::process::{self, RunAs};
use super::{Binaries, PgError};

/// Superuser the emulator uses on its own servers (never handed to clients).
pub const ADMIN_USER: &str = "lakebase_admin";
/// Port number in the server's socket file name (`.s.PGSQL.5432`).
const SOCKET_PORT: u16 = 5432;
/// How long a starting server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping server may take before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Settings shared by every cluster of an emulator.
#[derive(Debug)]
pub struct PgEnv {
    /// Server binaries.
    pub bins: Binaries,
    /// Who the servers run as.
    pub run_as: RunAs,
    /// Directory of data directories (owned by the PostgreSQL user).
    pub clusters: PathBuf,
    /// Short directory of per-cluster socket directories.
    pub sockets: PathBuf,
    /// Directory of server logs.
    pub logs: PathBuf,
    /// Directory of the branches' histories (WAL archives and base backups).
    pub history: PathBuf,
    /// `fsync` on: committed transactions survive a crash (with `--data-dir`).
    pub durable: bool,
}

impl PgEnv {
    /// Data directory of a cluster id.
    pub fn data_dir(&self, id: &str) -> PathBuf {
        self.clusters.join(id)
    }

    /// Creates a directory owned by the PostgreSQL user, private to it.
    pub fn private_dir(&self, path: &Path) -> Result<(), PgError> {
        std::fs::create_dir_all(path).map_err(|e| PgError::Setup(format!("create {}: {e}", path.display())))?;
        set_mode(path, 0o700)?;
        self.run_as.own(path)
    }
}

/// Sets the permission bits of a path.
pub fn set_mode(path: &Path, mode: u32) -> Result<(), PgError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| PgError::Setup(format!("chmod {}: {e}", path.display())))
}

/// A running server.
#[derive(Debug)]
struct Server {
    child: Mutex<Child>,
}

/// A data directory and its on-demand server.
#[derive(Debug)]
pub struct Cluster {
    /// Cluster id (the branch's or snapshot's `uid`).
    pub id: String,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    server: RwLock<Option<Server>>,
    pid: AtomicU32,
    sessions: AtomicUsize,
    last_active: Mutex<Instant>,
    archive: PathBuf,
    changed: AtomicBool,
}

/// What `Cluster::ensure_running` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server was already running.
    AlreadyRunning,
    /// The server was started by this call.
    Started,
}

impl Cluster {
    /// A cluster over `env`'s data directory for `id` (which may not exist yet).
    pub fn new(env: &PgEnv, id: &str) -> Self {
        Self::archiving_to(env, id, super::history::wal_dir(env, id))
    }

    /// A cluster over `env`'s data directory for `id` whose server archives its WAL into
    /// `archive` (a restore writes the history of the branch it becomes).
    pub fn archiving_to(env: &PgEnv, id: &str, archive: PathBuf) -> Self {
        Self {
            id: id.to_string(),
            archive,
            changed: AtomicBool::new(false),
            data_dir: env.data_dir(id),
            socket_dir: env.sockets.join(id),
            server: RwLock::new(None),
            pid: AtomicU32::new(0),
            sessions: AtomicUsize::new(0),
            last_active: Mutex::new(Instant::now()),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Path of the server's Unix socket.
    pub fn socket_path(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"))
    }

    /// Process id of the running server (postmaster), if any.
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst)).filter(|p| *p != 0)
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        self.pid().is_some_and(process::alive)
    }

    /// Client sessions open through the endpoints.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Time since the last session ended or admin action ran.
    pub fn idle_for(&self) -> Duration {
        self.last_active.lock().map(|t| t.elapsed()).unwrap_or_default()
    }

    /// Marks activity now.
    pub fn touch(&self) {
        if let Ok(mut t) = self.last_active.lock() {
            *t = Instant::now();
        }
    }

    /// Counts a client session until the guard is dropped.
    pub fn session(self: &std::sync::Arc<Self>) -> SessionGuard {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        self.touch();
        SessionGuard(self.clone())
    }

    /// Whether the server ran since the last [`Cluster::take_changed`] (its data may differ
    /// from its newest base backup).
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::SeqCst)
    }

    /// Whether a server was started and has exited since (a recovery that failed).
    pub async fn has_exited(&self) -> bool {
        self.server.read().await.as_ref().is_some_and(|s| !server_alive(s))
    }

    /// Starts the server unless it runs; returns once it accepts connections.
    pub async fn ensure_running(&self, env: &PgEnv) -> Result<Wake, PgError> {
        self.start_with(env, &[]).await
    }

    /// Starts the server unless it runs, with `extra` settings on its command line (a
    /// restore's recovery target); returns once it accepts connections.
    pub async fn start_with(&self, env: &PgEnv, extra: &[(&str, String)]) -> Result<Wake, PgError> {
        if self.server.read().await.as_ref().is_some_and(server_alive) {
            return Ok(Wake::AlreadyRunning);
        }
        let mut guard = self.server.write().await;
        if guard.as_ref().is_some_and(server_alive) {
            return Ok(Wake::AlreadyRunning);
        }
        if let Some(dead) = guard.take() {
            reap(&dead);
        }
        if !self.data_dir.join("PG_VERSION").is_file() {
            return Err(PgError::Setup(format!("cluster {} has no data directory", self.id)));
        }
        env.private_dir(&self.socket_dir)?;
        env.private_dir(&self.archive)?;
        let log_path = env.logs.join(format!("{}.log", self.id));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| PgError::Setup(format!("open {}: {e}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| PgError::Setup(format!("open {}: {e}", log_path.display())))?;
        let mut cmd = env.run_as.command(env.bins.bin("postgres"));
        cmd.arg("-D").arg(&self.data_dir);
        for (k, v) in server_settings(env, &self.socket_dir, &self.archive)
            .into_iter()
            .chain(extra.iter().cloned())
        {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        cmd.stdout(Stdio::from(log)).stderr(Stdio::from(log_err));
        let child = cmd
            .spawn()
            .map_err(|e| PgError::Setup(format!("start postgres for {}: {e}", self.id)))?;
        self.pid.store(child.id(), Ordering::SeqCst);
        self.changed.store(true, Ordering::SeqCst);
        let server = Server {
            child: Mutex::new(child),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.admin_connect("postgres").await.is_ok() {
                break;
            }
            if !server_alive(&server) || Instant::now() > deadline {
                stop_server(&server, libc::SIGQUIT).await;
                self.pid.store(0, Ordering::SeqCst);
                reap(&server);
                return Err(PgError::Setup(format!(
                    "postgres for {} did not start; its log: {}",
                    self.id,
                    log_path.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        *guard = Some(server);
        self.touch();
        Ok(Wake::Started)
    }

    /// Stops the server (fast shutdown: sessions are terminated); no-op when stopped.
    pub async fn stop(&self) {
        let mut guard = self.server.write().await;
        if let Some(server) = guard.take() {
            stop_server(&server, libc::SIGINT).await;
        }
        self.pid.store(0, Ordering::SeqCst);
    }

    /// Stops the server if no session is open and it has been idle for `limit`; whether it
    /// stopped. Decided under the server lock, so a session starting meanwhile either keeps
    /// it running or finds it stopped and wakes it.
    pub async fn stop_if_idle(&self, limit: Duration) -> bool {
        let mut guard = self.server.write().await;
        if self.sessions() > 0 || self.idle_for() < limit {
            return false;
        }
        if let Some(server) = guard.take() {
            stop_server(&server, libc::SIGINT).await;
        }
        self.pid.store(0, Ordering::SeqCst);
        true
    }

    /// Sends `SIGQUIT` (immediate shutdown) and waits, without async: for teardown.
    pub fn kill_now(&self) {
        if let Some(pid) = self.pid() {
            process::signal(pid, libc::SIGQUIT);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while process::alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if process::alive(pid) {
                process::signal(pid, libc::SIGKILL);
            }
        }
        if let Ok(mut guard) = self.server.try_write()
            && let Some(server) = guard.take()
        {
            reap(&server);
        }
        self.pid.store(0, Ordering::SeqCst);
    }

    /// An admin session on `database` (the server must be running).
    pub async fn admin_connect(&self, database: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::Config::new()
            .host_path(&self.socket_dir)
            .port(SOCKET_PORT)
            .user(ADMIN_USER)
            .dbname(database)
            .application_name("lakebase-emulator")
            .connect(tokio_postgres::NoTls)
            .await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Starts the server if needed and opens an admin session on `database`.
    pub async fn admin(&self, env: &PgEnv, database: &str) -> Result<tokio_postgres::Client, PgError> {
        self.ensure_running(env).await?;
        self.touch();
        self.admin_connect(database)
            .await
            .map_err(|e| PgError::Sql(format!("connect to {database}: {}", describe(&e))))
    }

    /// Writes a consistent copy of this cluster's data into `dest` (which must not exist):
    /// `pg_basebackup` while the server runs (writers are not paused; the copy holds every
    /// transaction committed before the backup ended), a plain copy while it is stopped.
    /// Returns the LSN the copy holds everything before (its branch point).
    pub async fn copy_to(&self, env: &PgEnv, dest: &Path) -> Result<Lsn, PgError> {
        let guard = self.server.read().await;
        let lsn = if guard.as_ref().is_some_and(server_alive) {
            let mut cmd = env.run_as.command(env.bins.bin("pg_basebackup"));
            cmd.arg("-h")
                .arg(&self.socket_dir)
                .args([
                    "-p",
                    &SOCKET_PORT.to_string(),
                    "-U",
                    ADMIN_USER,
                    "-w",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "-D",
                ])
                .arg(dest);
            if !env.durable {
                cmd.arg("--no-sync");
            }
            process::run(cmd, "pg_basebackup").await?;
            match history::backup_end(dest) {
                Some(end) => end,
                None => self.current_lsn().await?,
            }
        } else {
            copy_dir(env, &self.data_dir, dest).await?;
            history::controldata(env, dest).await?.checkpoint
        };
        for stale in ["postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal"] {
            let _ = std::fs::remove_file(dest.join(stale));
        }
        self.touch();
        Ok(lsn)
    }

    /// The running server's current WAL insert position (`pg_current_wal_lsn()`).
    pub async fn current_lsn(&self) -> Result<Lsn, PgError> {
        let admin = self
            .admin_connect("postgres")
            .await
            .map_err(|e| PgError::Sql(describe(&e)))?;
        let row = admin
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .map_err(|e| PgError::Sql(describe(&e)))?;
        row.get::<_, String>(0).parse().map_err(|e: String| PgError::Setup(e))
    }

    /// Makes the running server's WAL so far reach its archive: switches to a new segment
    /// and waits until the archiver has copied the one holding the switch. A stopped server
    /// archived everything when it shut down.
    pub async fn flush_archive(&self) -> Result<(), PgError> {
        let guard = self.server.read().await;
        if !guard.as_ref().is_some_and(server_alive) {
            return Ok(());
        }
        let sql = |e: tokio_postgres::Error| PgError::Sql(describe(&e));
        let admin = self.admin_connect("postgres").await.map_err(sql)?;
        let segment: String = admin
            .query_one("SELECT pg_walfile_name(pg_switch_wal())", &[])
            .await
            .map_err(sql)?
            .get(0);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let archived: Option<String> = admin
                .query_one("SELECT last_archived_wal FROM pg_stat_archiver", &[])
                .await
                .map_err(sql)?
                .get(0);
            if archived.is_some_and(|a| a.get(8..) >= segment.get(8..)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(PgError::Setup(format!(
                    "WAL segment {segment} of {} was not archived in time",
                    self.id
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Copies a stopped data directory (reflinks where the file system has them).
pub async fn copy_dir(env: &PgEnv, src: &Path, dest: &Path) -> Result<(), PgError> {
    let mut cmd = env.run_as.command("cp");
    cmd.arg("-a");
    if cfg!(target_os = "linux") {
        cmd.arg("--reflink=auto");
    }
    cmd.arg(src).arg(dest);
    process::run(cmd, "copy data directory").await
}

/// Keeps a session counted on its cluster while alive.
#[derive(Debug)]
pub struct SessionGuard(std::sync::Arc<Cluster>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

fn server_settings(env: &PgEnv, socket_dir: &Path, archive: &Path) -> Vec<(&'static str, String)> {
    let archive = archive.display();
    let mut s = vec![
        ("archive_mode", "on".into()),
        (
            "archive_command",
            format!("test ! -f '{archive}/%f' && cp '%p' '{archive}/%f'"),
        ),
        ("listen_addresses", String::new()),
        ("port", SOCKET_PORT.to_string()),
        ("unix_socket_directories", socket_dir.display().to_string()),
        ("unix_socket_permissions", "0700".into()),
        ("shared_buffers", "32MB".into()),
        ("max_connections", "120".into()),
        ("max_wal_senders", "10".into()),
        ("wal_level", "replica".into()),
        ("log_min_messages", "warning".into()),
        ("log_connections", "off".into()),
    ];
    if !env.durable {
        // `synchronous_commit` stays on: without fsync it costs a write per commit, and it
        // keeps `pg_current_wal_lsn()` (the written position) past every commit a client saw,
        // so that LSN is a branch point holding them.
        s.extend([("fsync", "off".into()), ("full_page_writes", "off".into())]);
    }
    s
}

fn server_alive(server: &Server) -> bool {
    server
        .child
        .lock()
        .map(|mut c| matches!(c.try_wait(), Ok(None)))
        .unwrap_or(false)
}

fn reap(server: &Server) {
    if let Ok(mut c) = server.child.lock() {
        let _ = c.try_wait();
    }
}

async fn stop_server(server: &Server, sig: libc::c_int) {
    let pid = server.child.lock().map(|c| c.id()).ok();
    let Some(pid) = pid else { return };
    process::signal(pid, sig);
    let deadline = Instant::now() + STOP_TIMEOUT;
    while server_alive(server) {
        if Instant::now() > deadline {
            process::signal(pid, libc::SIGKILL);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A database error as one line: the server's message and SQLSTATE when there is one.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
