//! [`TestBranch`]: a throwaway branch for one test, with a pool on it, deleted on drop.
//!
//! Branches are copy-on-write clones of a parent, so a test gets the parent's schema and data
//! in an instant and can do anything to them. The branch has a TTL as a safety net: should the
//! process die before cleanup, the service removes it anyway.
//!
//! ```no_run
//! # async fn demo(client: lakebase::Client) -> Result<(), lakebase_postgres::Error> {
//! use lakebase_postgres::TestBranch;
//! let project = lakebase::ProjectName::new("my-app").unwrap();
//! let branch = TestBranch::builder(client, project).create().await?;
//! let conn = branch.pool().get().await?;
//! conn.batch_execute("create table t (id int)").await.map_err(lakebase_postgres::Error::Postgres)?;
//! branch.delete().await?; // or just drop it
//! # Ok(()) }
//! ```

use std::time::Duration;

use lakebase::{BranchName, Client, EndpointName, ProjectName, types};
use tokio::time::Instant;

use crate::builder::PoolBuilder;
use crate::error::{Error, TimeoutKind};
use crate::pool::Pool;

/// Id of the read-write endpoint every new branch gets.
pub const PRIMARY_ENDPOINT_ID: &str = "primary";
/// Default TTL of a test branch.
pub const DEFAULT_TEST_BRANCH_TTL: Duration = Duration::from_secs(3600);
/// Default time to wait for the branch and its endpoint.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(300);

/// A point of the source branch's history.
#[derive(Debug, Clone)]
enum SourcePoint {
    Time(chrono::DateTime<chrono::Utc>),
    Lsn(String),
}

/// Builder of a [`TestBranch`].
#[derive(Debug)]
pub struct TestBranchBuilder {
    client: Client,
    project: ProjectName,
    source: Option<BranchName>,
    point: Option<SourcePoint>,
    branch_id: Option<String>,
    ttl: Duration,
    ready_timeout: Duration,
    pool: PoolBuilder,
}

impl TestBranchBuilder {
    /// Branch off `source` (default: the project's default branch).
    pub fn source(mut self, source: BranchName) -> Self {
        self.source = Some(source);
        self
    }

    /// Start from the source as it was at `time` (`spec.source_branch_time`; within the
    /// project's `history_retention_duration`). Replaces an earlier [`Self::source_lsn`].
    pub fn source_time(mut self, time: chrono::DateTime<chrono::Utc>) -> Self {
        self.point = Some(SourcePoint::Time(time));
        self
    }

    /// Start from the source at a PostgreSQL LSN (`spec.source_branch_lsn`, e.g. one read
    /// with `pg_current_wal_lsn()`). Replaces an earlier [`Self::source_time`].
    pub fn source_lsn(mut self, lsn: impl Into<String>) -> Self {
        self.point = Some(SourcePoint::Lsn(lsn.into()));
        self
    }

    /// The branch id (default `test-` and 12 random hex digits).
    pub fn branch_id(mut self, id: impl Into<String>) -> Self {
        self.branch_id = Some(id.into());
        self
    }

    /// Time to live of the branch (default 1 h).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long to wait for the branch and its endpoint (default 5 min).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Settings of the pool (database, TLS, sizes...); client and endpoint are set for you.
    pub fn pool(mut self, pool: PoolBuilder) -> Self {
        self.pool = pool;
        self
    }

    /// Creates the branch, waits for its `primary` endpoint to have a host, and builds the
    /// pool. If anything after the create fails, the branch is deleted before returning.
    pub async fn create(self) -> Result<TestBranch, Error> {
        let id = match self.branch_id {
            Some(id) => id,
            None => format!("test-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
        };
        let name = self
            .project
            .branch(&id)
            .map_err(|e| Error::Config(format!("branch id {id:?}: {e}")))?;
        let endpoint = name
            .endpoint(PRIMARY_ENDPOINT_ID)
            .map_err(|e| Error::Config(format!("endpoint of {name}: {e}")))?;
        let (source_branch_time, source_branch_lsn) = match self.point {
            Some(SourcePoint::Time(t)) => (Some(t), None),
            Some(SourcePoint::Lsn(l)) => (None, Some(l)),
            None => (None, None),
        };
        let spec = types::BranchSpec {
            ttl: Some(self.ttl.into()),
            source_branch: self.source.map(|s| s.to_string()),
            source_branch_time,
            source_branch_lsn,
            ..Default::default()
        };
        let branch = types::Branch {
            spec: Some(spec),
            ..Default::default()
        };
        let created = async {
            self.client
                .create_branch(&self.project, &id, branch)
                .await?
                .wait()
                .await
        };
        created
            .await
            .map_err(|e| Error::api(format!("create branch {name}"), e))?;
        match connect(&self.client, &endpoint, self.pool, self.ready_timeout).await {
            Ok(pool) => Ok(TestBranch {
                client: self.client,
                name,
                endpoint,
                pool,
                deleted: false,
            }),
            Err(error) => {
                delete_branch(&self.client, &name).await.ok();
                Err(error)
            }
        }
    }
}

impl TestBranchBuilder {
    /// Creates the branch, runs `test` with it, and deletes it (waiting for the deletion)
    /// when `test` returns **or panics**; the panic then continues. Works on any runtime,
    /// including the current-thread one of a plain `#[tokio::test]`, where a drop cannot wait.
    ///
    /// ```no_run
    /// # async fn demo(client: lakebase::Client) -> Result<(), lakebase_postgres::Error> {
    /// use lakebase_postgres::TestBranch;
    /// let project = lakebase::ProjectName::new("my-app").unwrap();
    /// let rows = TestBranch::builder(client, project)
    ///     .run(|branch| Box::pin(async move {
    ///         let conn = branch.pool().get().await.unwrap();
    ///         conn.execute("delete from orders", &[]).await.unwrap()
    ///     }))
    ///     .await?; // the branch is gone here
    /// # Ok(()) }
    /// ```
    pub async fn run<T, F>(self, test: F) -> Result<T, Error>
    where
        F: for<'b> FnOnce(&'b TestBranch) -> futures::future::BoxFuture<'b, T>,
    {
        use futures::FutureExt;
        let branch = self.create().await?;
        let outcome = std::panic::AssertUnwindSafe(test(&branch)).catch_unwind().await;
        let deleted = branch.delete().await;
        match outcome {
            Ok(value) => deleted.map(|()| value),
            Err(panic) => {
                if let Err(error) = deleted {
                    tracing::warn!(error = %error, "could not delete the test branch after a panic; its TTL will");
                }
                std::panic::resume_unwind(panic)
            }
        }
    }
}

/// A branch that exists for the life of this value, with a [`Pool`] on its endpoint.
///
/// Dropping it deletes the branch (for good) and waits for the deletion on a multi-thread
/// runtime; on a current-thread runtime (a plain `#[tokio::test]`) a drop cannot wait, so the
/// deletion is only spawned and may not finish before the runtime stops (the TTL then removes
/// the branch). There, use [`TestBranchBuilder::run`], which deletes the branch on return and
/// on panic, or call [`delete`](Self::delete).
#[derive(Debug)]
pub struct TestBranch {
    client: Client,
    name: BranchName,
    endpoint: EndpointName,
    pool: Pool,
    deleted: bool,
}

impl TestBranch {
    /// A builder for a branch of `project`.
    pub fn builder(client: Client, project: ProjectName) -> TestBranchBuilder {
        TestBranchBuilder {
            client,
            project,
            source: None,
            point: None,
            branch_id: None,
            ttl: DEFAULT_TEST_BRANCH_TTL,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            pool: PoolBuilder::default(),
        }
    }

    /// The pool on the branch's endpoint.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The branch name.
    pub fn name(&self) -> &BranchName {
        &self.name
    }

    /// The endpoint the pool connects to.
    pub fn endpoint(&self) -> &EndpointName {
        &self.endpoint
    }

    /// Closes the pool and deletes the branch, waiting for the deletion.
    pub async fn delete(mut self) -> Result<(), Error> {
        self.deleted = true;
        self.pool.close();
        delete_branch(&self.client, &self.name).await
    }
}

/// Waits for `endpoint` to have a host (polling at the client's [`lakebase::PollingPolicy`],
/// within `timeout`), then builds the pool on it.
async fn connect(
    client: &Client,
    endpoint: &EndpointName,
    pool: PoolBuilder,
    timeout: Duration,
) -> Result<Pool, Error> {
    let polling = client.polling_policy().clone().with_deadline(Some(timeout));
    let started = Instant::now();
    let mut polls = 0;
    loop {
        let has_host = match client.get_endpoint(endpoint).await {
            Ok(e) => e.status.and_then(|s| s.hosts).and_then(|h| h.host).is_some(),
            Err(e) if e.is_not_found() || polling.keep_polling_after(&e) => false,
            Err(e) => return Err(Error::api(format!("get endpoint {endpoint}"), e)),
        };
        polls += 1;
        if has_host {
            break;
        }
        let Some(delay) = polling.next_delay(polls, started.elapsed()) else {
            return Err(Error::Timeout(TimeoutKind::Ready));
        };
        tokio::time::sleep(delay).await;
    }
    pool.client(client.clone()).endpoint(endpoint.clone()).build().await
}

/// Deletes `name` for good and waits; a branch already gone counts as deleted.
async fn delete_branch(client: &Client, name: &BranchName) -> Result<(), Error> {
    let deleted = async { client.delete_branch(name).purge(true).await?.wait().await };
    match deleted.await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(Error::api(format!("delete branch {name}"), e)),
    }
}

impl Drop for TestBranch {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        self.pool.close();
        let client = self.client.clone();
        let name = self.name.clone();
        let delete = async move {
            if let Err(error) = delete_branch(&client, &name).await {
                tracing::warn!(branch = %name, error = %error, "could not delete the test branch; its TTL will");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| runtime.block_on(delete));
            }
            Ok(runtime) => {
                tracing::warn!(branch = %self.name, "test branch dropped on a current-thread runtime: its deletion may not finish (use TestBranchBuilder::run or delete().await)");
                runtime.spawn(delete);
            }
            Err(_) => {
                tracing::warn!(branch = %self.name, "test branch dropped outside a tokio runtime; its TTL will delete it")
            }
        }
    }
}
