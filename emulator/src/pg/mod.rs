//! Real PostgreSQL behind the emulated API (`--postgres`): every branch is a PostgreSQL data
//! directory, every compute endpoint a listener on its own loopback address that checks
//! Lakebase logins and relays sessions to the branch's server, started on demand and
//! stopped when idle.
//!
//! * [`binaries`]: finding the server programs;
//! * [`process`]: running them (as an unprivileged user under root, never outliving us);
//! * [`cluster`]: one data directory and its on-demand server;
//! * [`effects`]: what API calls do to the databases, queued per project;
//! * [`proxy`] and [`protocol`]: the endpoints' PostgreSQL front end;
//! * [`tls`]: the certificate authority and endpoint certificates;
//! * [`addresses`]: loopback addresses for endpoints.

pub mod addresses;
pub mod binaries;
pub mod cluster;
pub mod effects;
pub mod history;
pub mod process;
pub mod protocol;
pub mod proxy;
pub mod tls;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::runtime::Handle;
use tokio::sync::{OnceCell, mpsc, watch};

pub use binaries::Binaries;
use cluster::{Cluster, PgEnv, Wake};
use effects::{CloneSource, Effect, Gate, Statement};
use history::{Lsn, RecoveryTarget, Restored};
use proxy::{Listener, Refusal, Target};

use crate::store::{Store, credential_key};
use crate::wire;

/// How often idle computes are looked for.
const IDLE_CHECK: Duration = Duration::from_millis(250);
/// Idle time after which a branch without a read-write endpoint stops its server.
const ORPHAN_IDLE: Duration = Duration::from_secs(60);
/// Name prefix of temporary data directories (followed by the owning process id).
const DATA_PREFIX: &str = "lakebase-emulator-";
/// Name prefix of socket directories (short: socket paths are limited to ~100 bytes).
const SOCKETS_PREFIX: &str = "lbe-";

/// How often branch histories get new base backups and are pruned.
const HISTORY_CHECK: Duration = Duration::from_secs(1);
/// History kept when a project does not say (`history_retention_duration`'s default).
const DEFAULT_RETENTION: Duration = Duration::from_secs(604_800);

/// How long a connection waits for its branch's data to be created.
const DATA_WAIT: Duration = Duration::from_secs(55);

/// A failure of the real-PostgreSQL layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PgError {
    /// Setting up or running servers failed.
    #[error("{0}")]
    Setup(String),
    /// A statement failed.
    #[error("{0}")]
    Sql(String),
}

/// Settings of the real-PostgreSQL mode.
#[derive(Debug, Clone, Default)]
pub struct PgConfig {
    /// Directory of the server binaries (default: searched).
    pub bin_dir: Option<PathBuf>,
    /// Port every endpoint listens on (`0`: one free port chosen at start).
    pub port: u16,
    /// Keep databases here across restarts (default: a temporary directory).
    pub data_dir: Option<PathBuf>,
    /// Refuse sessions without TLS.
    pub require_tls: bool,
    /// Suspend idle computes after this long instead of their endpoint's suspend timeout
    /// (whose minimum, 60 s, is long for tests); endpoints without suspension never suspend.
    pub suspend_after: Option<Duration>,
    /// Keep this much history for every project instead of its `history_retention_duration`
    /// (whose minimum, 2 days, is long for tests of pruning).
    pub history_retention: Option<Duration>,
}

/// A listening endpoint.
struct Served {
    host: Ipv4Addr,
    stop: watch::Sender<bool>,
}

/// One queued unit of work: the effects of one API call.
struct Job {
    effects: Vec<Effect>,
    gate: Gate,
}

/// The real-PostgreSQL layer of one emulator.
pub struct PgRuntime {
    env: PgEnv,
    store: Arc<Mutex<Store>>,
    port: u16,
    authority: tls::Authority,
    ca_path: PathBuf,
    /// Refuse sessions without TLS.
    pub require_tls: bool,
    suspend_after: Option<Duration>,
    history_retention: Option<Duration>,
    clusters: Mutex<HashMap<String, Arc<Cluster>>>,
    branch_of: Mutex<HashMap<String, String>>,
    endpoints: Mutex<HashMap<String, Served>>,
    cancels: Mutex<HashMap<(i32, i32), PathBuf>>,
    queues: Mutex<HashMap<String, mpsc::UnboundedSender<Job>>>,
    templates: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
    handle: Handle,
    me: Weak<PgRuntime>,
    monitor: Mutex<Option<tokio::task::JoinHandle<()>>>,
    _dirs: Vec<tempfile::TempDir>,
}

impl std::fmt::Debug for PgRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRuntime")
            .field("port", &self.port)
            .field("clusters", &self.env.clusters)
            .finish_non_exhaustive()
    }
}

impl PgRuntime {
    /// Finds the binaries, prepares directories, checks the port; must run inside a Tokio
    /// runtime (servers and listeners are its tasks).
    pub fn start(config: &PgConfig, store: Arc<Mutex<Store>>) -> Result<Arc<Self>, PgError> {
        let bins = Binaries::find(config.bin_dir.as_deref())?;
        let run_as = process::RunAs::detect()?;
        let mut dirs = Vec::new();
        let root = match &config.data_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| PgError::Setup(format!("--data-dir {}: {e}", d.display())))?;
                d.clone()
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix(&format!("{DATA_PREFIX}{}-", std::process::id()))
                    .tempdir()
                    .map_err(|e| PgError::Setup(format!("temporary directory: {e}")))?;
                let p = t.path().to_path_buf();
                dirs.push(t);
                p
            }
        };
        cluster::set_mode(&root, 0o711)?;
        sweep_leftovers(&std::env::temp_dir(), DATA_PREFIX);
        sweep_leftovers(std::path::Path::new("/tmp"), SOCKETS_PREFIX);
        let sockets = tempfile::Builder::new()
            .prefix(&format!("{SOCKETS_PREFIX}{}-", std::process::id()))
            .tempdir_in("/tmp")
            .map_err(|e| PgError::Setup(format!("socket directory: {e}")))?;
        cluster::set_mode(sockets.path(), 0o711)?;
        let env = PgEnv {
            bins,
            run_as,
            clusters: root.join("pg"),
            sockets: sockets.path().to_path_buf(),
            logs: root.join("logs"),
            history: root.join("history"),
            durable: config.data_dir.is_some(),
        };
        dirs.push(sockets);
        env.private_dir(&env.clusters)?;
        env.private_dir(&env.history)?;
        std::fs::create_dir_all(&env.logs).map_err(|e| PgError::Setup(format!("logs: {e}")))?;
        let port = match config.port {
            0 => addresses::free_port()?,
            p => p,
        };
        addresses::probe(port)?;
        let authority = tls::Authority::load_or_create(config.data_dir.as_deref())?;
        let ca_path = root.join("ca.pem");
        if config.data_dir.is_none() {
            std::fs::write(&ca_path, authority.pem()).map_err(|e| PgError::Setup(format!("ca.pem: {e}")))?;
        }
        let handle = Handle::try_current().map_err(|_| PgError::Setup("no Tokio runtime".into()))?;
        let rt = Arc::new_cyclic(|me| Self {
            env,
            store,
            port,
            authority,
            ca_path,
            require_tls: config.require_tls,
            suspend_after: config.suspend_after,
            history_retention: config.history_retention,
            clusters: Mutex::new(HashMap::new()),
            branch_of: Mutex::new(HashMap::new()),
            endpoints: Mutex::new(HashMap::new()),
            cancels: Mutex::new(HashMap::new()),
            queues: Mutex::new(HashMap::new()),
            templates: Mutex::new(HashMap::new()),
            handle: handle.clone(),
            me: me.clone(),
            monitor: Mutex::new(None),
            _dirs: dirs,
        });
        let weak = Arc::downgrade(&rt);
        let monitor = handle.spawn(async move {
            let mut last_history = std::time::Instant::now();
            loop {
                tokio::time::sleep(IDLE_CHECK).await;
                let Some(rt) = weak.upgrade() else { break };
                rt.suspend_idle().await;
                if last_history.elapsed() >= HISTORY_CHECK {
                    rt.maintain_history().await;
                    last_history = std::time::Instant::now();
                }
            }
        });
        if let Ok(mut m) = rt.monitor.lock() {
            *m = Some(monitor);
        }
        Ok(rt)
    }

    /// After a restart on a data directory: listens again for every endpoint of every live
    /// branch, on its recorded address when free, with its compute idle until a client
    /// connects.
    pub fn resume(&self) -> Result<(), PgError> {
        let Ok(mut store) = self.store.lock() else {
            return Err(PgError::Setup("emulator state unavailable".into()));
        };
        let endpoints: Vec<(String, String)> = store
            .all_in_order()
            .into_iter()
            .filter(|(n, _)| n.split('/').nth(4) == Some("endpoints") && n.split('/').count() == 6)
            .map(|(n, v)| {
                let branch = wire::get(v, "parent").and_then(Value::as_str).unwrap_or_default();
                (n.to_string(), branch.to_string())
            })
            .collect();
        for (name, branch) in endpoints {
            let live = |n: &str| store.value(n).is_some_and(|v| !crate::resources::is_deleted(v));
            if !live(&branch) || !live(&crate::resources::op_root(&branch)) {
                continue;
            }
            self.reserve(&mut store, &name)?;
            if let Some(uid) = store.value(&branch).and_then(|b| b.get("uid")).and_then(Value::as_str) {
                self.attach(uid, &branch);
            }
            if let Some(v) = store.value_mut(&name)
                && wire::get(v, "status.disabled") != Some(&json!(true))
            {
                wire::set(v, "status.current_state", json!("IDLE"));
            }
        }
        Ok(())
    }

    /// Listens again for an existing endpoint on its recorded address when free, else on a
    /// new one, which is then written into its status.
    pub fn reserve(&self, store: &mut Store, endpoint: &str) -> Result<(), PgError> {
        let recorded: Option<Ipv4Addr> = store
            .value(endpoint)
            .and_then(|v| wire::get(v, "status.hosts.host"))
            .and_then(Value::as_str)
            .and_then(|h| h.parse().ok());
        let host = self.serve_endpoint(endpoint, recorded)?;
        if Some(host) != recorded
            && let Some(v) = store.value_mut(endpoint)
        {
            crate::resources::real::set_hosts(v, &host.to_string());
        }
        Ok(())
    }

    /// The port every endpoint listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The certificate authority's certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        self.authority.pem()
    }

    /// File holding the certificate authority's certificate (PEM).
    pub fn ca_path(&self) -> &std::path::Path {
        &self.ca_path
    }

    /// Directory holding the server logs.
    pub fn log_dir(&self) -> &std::path::Path {
        &self.env.logs
    }

    /// The Unix socket directory of the server behind an endpoint (for benchmarks and
    /// debugging: the server trusts `lakebase_admin` there).
    pub fn backing_socket_dir(&self, endpoint: &str) -> Option<PathBuf> {
        let target = self.endpoint_target(endpoint).ok()?;
        Some(self.cluster(&target.cluster).socket_dir().to_path_buf())
    }

    /// Directory of the PostgreSQL programs in use.
    pub fn bin_dir(&self) -> &std::path::Path {
        &self.env.bins.dir
    }

    /// Process ids of the running servers.
    pub fn server_pids(&self) -> Vec<u32> {
        self.clusters
            .lock()
            .map(|c| c.values().filter_map(|c| c.pid()).collect())
            .unwrap_or_default()
    }

    /// The cluster of an id (created on first use; its data may not exist yet).
    pub fn cluster(&self, id: &str) -> Arc<Cluster> {
        let Ok(mut clusters) = self.clusters.lock() else {
            return Arc::new(Cluster::new(&self.env, id));
        };
        clusters
            .entry(id.to_string())
            .or_insert_with(|| Arc::new(Cluster::new(&self.env, id)))
            .clone()
    }

    /// Records which branch a cluster serves.
    pub fn attach(&self, cluster: &str, branch: &str) {
        if let Ok(mut m) = self.branch_of.lock() {
            m.insert(cluster.to_string(), branch.to_string());
        }
    }

    /// Starts listening for an endpoint: on `wanted` when free, else on a new address.
    pub fn serve_endpoint(&self, endpoint: &str, wanted: Option<Ipv4Addr>) -> Result<Ipv4Addr, PgError> {
        let (host, std_listener) = addresses::bind(self.port, wanted)?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| PgError::Setup(format!("listener: {e}")))?;
        let _enter = self.handle.enter();
        let listener =
            tokio::net::TcpListener::from_std(std_listener).map_err(|e| PgError::Setup(format!("listener: {e}")))?;
        let me = Arc::new(Listener {
            endpoint: endpoint.to_string(),
            host,
            tls: self.authority.server_config(host)?,
        });
        let (stop, stopped) = watch::channel(false);
        if let Some(rt) = self.me.upgrade() {
            self.handle.spawn(proxy::serve(rt, listener, me, stopped));
        }
        if let Ok(mut eps) = self.endpoints.lock()
            && let Some(old) = eps.insert(endpoint.to_string(), Served { host, stop })
        {
            let _ = old.stop.send(true);
        }
        Ok(host)
    }

    /// Stops listening for an endpoint and ends its sessions.
    pub fn unserve_endpoint(&self, endpoint: &str) {
        if let Ok(mut eps) = self.endpoints.lock()
            && let Some(served) = eps.remove(endpoint)
        {
            let _ = served.stop.send(true);
        }
    }

    /// Stops listening for every endpoint under `prefix` (a branch or project name).
    pub fn unserve_under(&self, prefix: &str) {
        let p = format!("{prefix}/");
        if let Ok(mut eps) = self.endpoints.lock() {
            eps.retain(|name, served| {
                let keep = !name.starts_with(&p);
                if !keep {
                    let _ = served.stop.send(true);
                }
                keep
            });
        }
    }

    /// The address an endpoint listens on.
    pub fn endpoint_host(&self, endpoint: &str) -> Option<Ipv4Addr> {
        self.endpoints.lock().ok()?.get(endpoint).map(|s| s.host)
    }

    /// Queues the effects of one API call of `project`; `gate` reports their completion.
    pub fn submit(&self, project: &str, effects: Vec<Effect>, gate: Gate) {
        let Ok(mut queues) = self.queues.lock() else {
            gate.finish(Err(PgError::Setup("emulator state unavailable".into())));
            return;
        };
        let job = Job { effects, gate };
        let sender = queues.entry(project.to_string()).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
            let weak = self.me.clone();
            self.handle.spawn(async move {
                while let Some(job) = rx.recv().await {
                    let Some(rt) = weak.upgrade() else { break };
                    let mut result = Ok(());
                    for effect in job.effects {
                        result = rt.apply(effect, &job.gate).await;
                        if result.is_err() {
                            break;
                        }
                    }
                    if let Err(e) = &result {
                        tracing::warn!(error = %e, "database change failed");
                    }
                    job.gate.finish(result);
                }
            });
            tx
        });
        if let Err(mpsc::error::SendError(job)) = sender.send(job) {
            job.gate.finish(Err(PgError::Setup("emulator is shutting down".into())));
        }
    }

    /// The template new projects of `owner` are copied from: an initialized cluster with
    /// `databricks_superuser`, `databricks_postgres` and the owner's role, made once per owner
    /// (and kept in the data directory).
    async fn template(&self, owner: &str) -> Result<PathBuf, PgError> {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(owner.as_bytes());
        let id: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let id = format!("template-{id}");
        let cell = match self.templates.lock() {
            Ok(mut t) => t.entry(id.clone()).or_default().clone(),
            Err(_) => return Err(PgError::Setup("emulator state unavailable".into())),
        };
        let dir = self.env.data_dir(&id);
        cell.get_or_try_init(|| async {
            if dir.join("PG_VERSION").is_file() {
                return Ok(());
            }
            let partial = self.env.data_dir(&format!("{id}.partial"));
            let _ = std::fs::remove_dir_all(&partial);
            let mut cmd = self.env.run_as.command(self.env.bins.bin("initdb"));
            cmd.arg("-D")
                .arg(&partial)
                .args(["-U", cluster::ADMIN_USER, "--auth=trust", "-E", "UTF8", "--no-locale"])
                // 1 MB WAL segments: every branch archives its WAL, most of them write little.
                .arg("--wal-segsize=1");
            if !self.env.durable {
                cmd.arg("--no-sync");
            }
            process::run(cmd, "initdb").await?;
            let template = Cluster::new(&self.env, &format!("{id}.partial"));
            let mut setup = effects::template_setup();
            setup.extend(effects::project_owner(owner));
            let result = run_statements(&template, &self.env, "postgres", &setup).await;
            template.stop().await;
            // A template has no history of its own (each project's starts at its copy).
            let _ = std::fs::remove_dir_all(history::dir(&self.env, &template.id));
            result?;
            publish(&partial, &dir)
        })
        .await?;
        Ok(dir)
    }

    async fn apply(&self, effect: Effect, gate: &Gate) -> Result<(), PgError> {
        match effect {
            Effect::InitProject { cluster, owner } => {
                let template = self.template(&owner).await?;
                let dest = self.env.data_dir(&cluster);
                if dest.join("PG_VERSION").is_file() {
                    return Ok(());
                }
                let partial = self.partial(&cluster);
                cluster::copy_dir(&self.env, &template, &partial).await?;
                let start = history::controldata(&self.env, &partial).await?.checkpoint;
                history::keep_base(&self.env, &cluster, &partial, start).await?;
                publish(&partial, &dest)
            }
            Effect::CloneBranch { cluster, source } => {
                let dest = self.env.data_dir(&cluster);
                if dest.join("PG_VERSION").is_file() {
                    return Ok(());
                }
                let partial = self.partial(&cluster);
                let (lsn, time) = match source {
                    CloneSource::Branch(id) => (self.cluster(&id).copy_to(&self.env, &partial).await?, None),
                    CloneSource::Snapshot(id) => {
                        cluster::copy_dir(&self.env, &self.env.data_dir(&id), &partial).await?;
                        (history::controldata(&self.env, &partial).await?.checkpoint, None)
                    }
                    CloneSource::PointInTime(id, target) => {
                        let r = self.restore(&id, target, &partial, &cluster).await?;
                        match target {
                            RecoveryTarget::Lsn(l) => (l, r.time),
                            RecoveryTarget::Time(t) => (r.lsn, Some(t)),
                        }
                    }
                };
                history::keep_base(&self.env, &cluster, &partial, lsn).await?;
                publish(&partial, &dest)?;
                self.record_branch_point(&cluster, lsn, time, gate);
                Ok(())
            }
            Effect::Snapshot { snapshot, source, at } => {
                let dest = self.env.data_dir(&snapshot);
                let partial = self.partial(&snapshot);
                match at {
                    None => drop(self.cluster(&source).copy_to(&self.env, &partial).await?),
                    Some(target) => drop(self.restore(&source, target, &partial, &snapshot).await?),
                }
                let _ = std::fs::remove_dir_all(&dest);
                publish(&partial, &dest)
            }
            Effect::Start { cluster } => {
                self.wake(&self.cluster(&cluster)).await?;
                self.refresh_compute_state(&cluster);
                Ok(())
            }
            Effect::Stop { cluster } => {
                let c = self.cluster(&cluster);
                c.stop().await;
                self.refresh_compute_state(&cluster);
                Ok(())
            }
            Effect::Remove { cluster } => {
                let c = self.cluster(&cluster);
                c.stop().await;
                if let Ok(mut m) = self.clusters.lock() {
                    m.remove(&cluster);
                }
                let _ = tokio::fs::remove_dir_all(c.data_dir()).await;
                let _ = tokio::fs::remove_dir_all(history::dir(&self.env, &cluster)).await;
                Ok(())
            }
            Effect::Sql {
                cluster,
                database,
                statements,
            } => run_statements(&self.cluster(&cluster), &self.env, &database, &statements).await,
            Effect::DropRole {
                cluster,
                role,
                reassign_to,
            } => {
                self.drop_role(&self.cluster(&cluster), &role, reassign_to.as_deref())
                    .await
            }
            Effect::RenameDatabase { cluster, from, to } => {
                let c = self.cluster(&cluster);
                let sql = vec![
                    terminate_sessions(&from),
                    Statement(format!(
                        "ALTER DATABASE {} RENAME TO {}",
                        effects::ident(&from),
                        effects::ident(&to)
                    )),
                ];
                run_statements(&c, &self.env, "postgres", &sql).await
            }
            Effect::DropDatabase { cluster, name } => {
                let sql = vec![Statement(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    effects::ident(&name)
                ))];
                run_statements(&self.cluster(&cluster), &self.env, "postgres", &sql).await
            }
        }
    }

    async fn drop_role(&self, c: &Cluster, role: &str, reassign_to: Option<&str>) -> Result<(), PgError> {
        if let Some(target) = reassign_to {
            let admin = c.admin(&self.env, "postgres").await?;
            let rows = admin
                .query(
                    "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname",
                    &[],
                )
                .await
                .map_err(|e| PgError::Sql(cluster::describe(&e)))?;
            for row in rows {
                let db: String = row.get(0);
                let sql = vec![
                    Statement(format!(
                        "REASSIGN OWNED BY {} TO {}",
                        effects::ident(role),
                        effects::ident(target)
                    )),
                    Statement(format!("DROP OWNED BY {}", effects::ident(role))),
                ];
                run_statements(c, &self.env, &db, &sql).await?;
            }
        }
        let sql = vec![Statement(format!("DROP ROLE IF EXISTS {}", effects::ident(role)))];
        run_statements(c, &self.env, "postgres", &sql).await
    }

    /// Writes into `dest` the data of cluster `source` at `target` (see [`history::restore`]),
    /// after making sure its WAL up to now is archived; refuses an LSN it has not reached.
    async fn restore(
        &self,
        source: &str,
        target: RecoveryTarget,
        dest: &std::path::Path,
        becomes: &str,
    ) -> Result<Restored, PgError> {
        let parent = self.cluster(source);
        parent.flush_archive().await?;
        if let RecoveryTarget::Lsn(l) = target {
            let end = if parent.is_running() {
                parent.current_lsn().await?
            } else {
                history::controldata(&self.env, parent.data_dir()).await?.checkpoint
            };
            if l > end {
                return Err(PgError::Setup(format!(
                    "source_branch_lsn {l} is ahead of the source branch (its current LSN is {end})"
                )));
            }
        }
        history::restore(&self.env, source, target, dest, becomes).await
    }

    /// Writes where a new branch's data starts into its status (`source_branch_lsn`, and
    /// `source_branch_time` when a restore found it).
    fn record_branch_point(&self, cluster: &str, lsn: Lsn, time: Option<chrono::DateTime<chrono::Utc>>, gate: &Gate) {
        gate.learn("status.source_branch_lsn", json!(lsn.to_string()));
        if let Some(t) = time {
            gate.learn("status.source_branch_time", json!(wire::ts(t)));
        }
        let Some(branch) = self.branch_of.lock().ok().and_then(|m| m.get(cluster).cloned()) else {
            return;
        };
        let Ok(mut store) = self.store.lock() else { return };
        if let Some(v) = store.value_mut(&branch) {
            wire::set(v, "status.source_branch_lsn", json!(lsn.to_string()));
            if let Some(t) = time {
                wire::set(v, "status.source_branch_time", json!(wire::ts(t)));
            }
        }
    }

    /// The oldest LSN a branch's retained history can restore (`None`: no history yet).
    pub fn earliest_lsn(&self, cluster: &str) -> Option<Lsn> {
        history::bases(&self.env, cluster).first().map(|b| b.lsn)
    }

    /// How much history every project keeps, when set for all (tests of pruning).
    pub fn history_retention(&self) -> Option<Duration> {
        self.history_retention
    }

    /// How much history a cluster keeps: the override, else its project's
    /// `history_retention_duration`.
    fn retention_of(&self, cluster: &str) -> Duration {
        if let Some(r) = self.history_retention {
            return r;
        }
        let Some(branch) = self.branch_of.lock().ok().and_then(|m| m.get(cluster).cloned()) else {
            return DEFAULT_RETENTION;
        };
        let project = crate::resources::op_root(&branch);
        let store = self.store.lock().ok();
        store
            .as_ref()
            .and_then(|s| s.value(&project))
            .and_then(|p| {
                wire::get(p, "status.history_retention_duration")
                    .or_else(|| wire::get(p, "spec.history_retention_duration"))
            })
            .and_then(Value::as_str)
            .and_then(wire::parse_duration)
            .map_or(DEFAULT_RETENTION, Duration::from_secs_f64)
    }

    /// Gives every branch whose data changed a new base backup once its newest is a quarter
    /// of its retention window old, and removes history older than the window.
    async fn maintain_history(&self) {
        let clusters: Vec<Arc<Cluster>> = self
            .clusters
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        let now = chrono::Utc::now();
        for c in clusters {
            let Some(newest) = history::bases(&self.env, &c.id).pop() else {
                continue;
            };
            let retention = self.retention_of(&c.id);
            let every = (retention / 4).max(Duration::from_secs(1));
            let age = (now - newest.time).to_std().unwrap_or_default();
            if age >= every
                && (c.take_changed() || c.is_running())
                && let Err(e) = history::take_base(&self.env, &c).await
            {
                tracing::warn!(cluster = %c.id, error = %e, "base backup failed");
                continue;
            }
            let keep_from = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
            if let Err(e) = history::prune(&self.env, &c.id, keep_from).await {
                tracing::warn!(cluster = %c.id, error = %e, "pruning history failed");
            }
        }
    }

    /// A fresh (removed) place to write a cluster's data before it is published.
    fn partial(&self, id: &str) -> PathBuf {
        let partial = self.env.data_dir(&format!("{id}.partial"));
        let _ = std::fs::remove_dir_all(&partial);
        partial
    }

    /// Starts a cluster's server if needed (waiting, within the handshake's patience, for
    /// data still being created: a new project or branch whose copy runs); reports its
    /// endpoints ACTIVE when it started.
    pub async fn wake(&self, c: &Cluster) -> Result<Wake, PgError> {
        let deadline = std::time::Instant::now() + DATA_WAIT;
        while !c.data_dir().join("PG_VERSION").is_file() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let wake = c.ensure_running(&self.env).await?;
        if wake == Wake::Started {
            self.refresh_compute_state(&c.id);
        }
        Ok(wake)
    }

    /// Stops the server behind an endpoint now (as if it had been idle); `false` when the
    /// endpoint does not exist.
    pub async fn suspend_endpoint(&self, endpoint: &str) -> bool {
        let Ok(target) = self.endpoint_target(endpoint) else {
            return false;
        };
        self.cluster(&target.cluster).stop().await;
        self.refresh_compute_state(&target.cluster);
        true
    }

    async fn suspend_idle(&self) {
        let running: Vec<Arc<Cluster>> = self
            .clusters
            .lock()
            .map(|c| c.values().filter(|c| c.pid().is_some()).cloned().collect())
            .unwrap_or_default();
        for c in running {
            if c.sessions() > 0 {
                continue;
            }
            let Some(limit) = self.idle_limit(&c.id) else { continue };
            if c.idle_for() >= limit && c.stop_if_idle(limit).await {
                tracing::info!(cluster = %c.id, "suspended idle compute");
                self.refresh_compute_state(&c.id);
            }
        }
    }

    /// How long a cluster's server may stay idle: its read-write endpoint's suspend timeout
    /// (`None`: never suspends).
    fn idle_limit(&self, cluster: &str) -> Option<Duration> {
        let branch = self.branch_of.lock().ok()?.get(cluster).cloned()?;
        let store = self.store.lock().ok()?;
        let rw = store
            .values_in(&format!("{branch}/endpoints"))
            .into_iter()
            .find(|(_, v)| wire::get(v, "status.endpoint_type") == Some(&json!("ENDPOINT_TYPE_READ_WRITE")))
            .map(|(_, v)| v.clone());
        match rw {
            None => Some(self.suspend_after.unwrap_or(ORPHAN_IDLE)),
            Some(v) => wire::get(&v, "status.suspend_timeout_duration")
                .and_then(Value::as_str)
                .and_then(wire::parse_duration)
                .map(|timeout| self.suspend_after.unwrap_or(Duration::from_secs_f64(timeout))),
        }
    }

    /// Writes whether a cluster's server runs now (`current_state` ACTIVE or IDLE) into the
    /// status of the endpoints of the branch it serves. Called after every start and stop,
    /// it reads the state rather than being told it, so racing transitions end with the
    /// truth written last.
    fn refresh_compute_state(&self, cluster: &str) {
        let Some(branch) = self.branch_of.lock().ok().and_then(|m| m.get(cluster).cloned()) else {
            return;
        };
        let active = self.cluster(cluster).is_running();
        let Ok(mut store) = self.store.lock() else { return };
        let names: Vec<String> = store
            .values_in(&format!("{branch}/endpoints"))
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let now = wire::ts(chrono::Utc::now());
        for name in names {
            if let Some(v) = store.value_mut(&name) {
                if wire::get(v, "status.disabled") == Some(&json!(true)) {
                    continue;
                }
                wire::set(v, "status.current_state", json!(if active { "ACTIVE" } else { "IDLE" }));
                wire::remove(v, "status.pending_state");
                if active {
                    wire::set(v, "status.last_active_time", json!(now));
                } else {
                    wire::set(v, "status.suspend_time", json!(now));
                }
            }
        }
    }

    /// Where sessions of an endpoint go, or why they are refused.
    pub fn endpoint_target(&self, endpoint: &str) -> Result<Target, Refusal> {
        let gone = || Refusal::new("08004", format!("endpoint {endpoint} does not exist"));
        let store = self.store.lock().map_err(|_| gone())?;
        let ep = store.value(endpoint).ok_or_else(gone)?;
        let branch = wire::get(ep, "parent")
            .and_then(Value::as_str)
            .ok_or_else(gone)?
            .to_string();
        let project = crate::resources::op_root(&branch);
        let deleted = |name: &str| store.value(name).is_none_or(crate::resources::is_deleted);
        if deleted(&branch) || deleted(&project) {
            return Err(gone());
        }
        if wire::get(ep, "status.disabled") == Some(&json!(true)) {
            return Err(Refusal::new(
                "08004",
                format!("endpoint {endpoint} is disabled; enable it with update_endpoint (spec.disabled = false)"),
            ));
        }
        let cluster = store
            .value(&branch)
            .and_then(|b| b.get("uid"))
            .and_then(Value::as_str)
            .ok_or_else(gone)?
            .to_string();
        let read_only = wire::get(ep, "status.endpoint_type") == Some(&json!("ENDPOINT_TYPE_READ_ONLY"));
        drop(store);
        self.attach(&cluster, &branch);
        Ok(Target {
            branch,
            cluster,
            read_only,
        })
    }

    /// Whether `password` logs `user` in on `branch`: a database credential issued to that
    /// identity and not expired, or the password of the branch's password role `user`.
    /// A `NO_LOGIN` role never logs in.
    pub fn login_ok(&self, branch: &str, user: &str, password: &protocol::Password) -> bool {
        let Ok(store) = self.store.lock() else { return false };
        let role = store
            .values_in(&format!("{branch}/roles"))
            .into_iter()
            .find(|(_, v)| wire::get(v, "status.postgres_role").and_then(Value::as_str) == Some(user))
            .map(|(n, v)| {
                (
                    n.to_string(),
                    wire::get(v, "status.auth_method")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
            });
        match &role {
            Some((_, Some(auth))) if auth == "NO_LOGIN" => return false,
            Some((name, Some(auth))) if auth == "PG_PASSWORD_SCRAM_SHA_256" => {
                return store
                    .passwords
                    .get(name)
                    .is_some_and(|p| constant_time_eq(p, &password.0));
            }
            _ => {}
        }
        store
            .credentials
            .get(&credential_key(&password.0))
            .is_some_and(|c| c.identity == user && c.expire_time > chrono::Utc::now())
    }

    /// Notes which backend socket a cancel key belongs to.
    pub fn remember_cancel_key(&self, key: (i32, i32), socket: PathBuf) {
        if let Ok(mut m) = self.cancels.lock() {
            m.insert(key, socket);
        }
    }

    /// Forgets a cancel key (its session ended).
    pub fn forget_cancel_key(&self, key: (i32, i32)) {
        if let Ok(mut m) = self.cancels.lock() {
            m.remove(&key);
        }
    }

    /// Forwards a cancel request to the backend owning the key; unknown keys are ignored,
    /// as PostgreSQL does.
    pub async fn forward_cancel(&self, pid: i32, key: i32) {
        let socket = self.cancels.lock().ok().and_then(|m| m.get(&(pid, key)).cloned());
        if let Some(socket) = socket {
            proxy::send_cancel(&socket, pid, key).await;
        }
    }

    /// Stops every listener and server now (used on shutdown and drop).
    pub fn shutdown(&self) {
        if let Ok(mut eps) = self.endpoints.lock() {
            for (_, served) in eps.drain() {
                let _ = served.stop.send(true);
            }
        }
        if let Ok(mut m) = self.monitor.lock()
            && let Some(task) = m.take()
        {
            task.abort();
        }
        let clusters: Vec<Arc<Cluster>> = self
            .clusters
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        for c in clusters {
            c.kill_now();
        }
    }
}

impl Drop for PgRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Removes temporary directories left by emulators that were killed (`kill -9` leaves no
/// chance to clean up): those named `{prefix}{pid}-...` whose process is gone.
fn sweep_leftovers(dir: &std::path::Path, prefix: &str) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process::alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Moves a fully written data directory into place, so a server never starts on a partial
/// copy.
fn publish(partial: &std::path::Path, dest: &std::path::Path) -> Result<(), PgError> {
    std::fs::rename(partial, dest).map_err(|e| PgError::Setup(format!("publish {}: {e}", dest.display())))
}

fn terminate_sessions(database: &str) -> Statement {
    Statement(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
        effects::literal(database)
    ))
}

async fn run_statements(c: &Cluster, env: &PgEnv, database: &str, statements: &[Statement]) -> Result<(), PgError> {
    let admin = c.admin(env, database).await?;
    for s in statements {
        admin
            .batch_execute(&s.0)
            .await
            .map_err(|e| PgError::Sql(cluster::describe(&e)))?;
    }
    Ok(())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
