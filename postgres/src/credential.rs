//! [`CredentialCache`]: one database credential per endpoint and identity, minted once,
//! shared by every connection that opens, refreshed in the background before it expires.
//!
//! A Lakebase database credential is an OAuth token used as the Postgres password. The
//! service checks it **at login only**, so a session outlives its token; what matters is that
//! every *new* connection finds a valid token in the cache without waiting on the API.
//!
//! * **Single flight.** However many connections open at once, one request mints the token;
//!   the others wait for it and share its outcome, success or failure.
//! * **Refresh ahead.** A background task mints the next token at
//!   [`RefreshPolicy::refresh_at`], before the current one stops being usable for a login
//!   ([`RefreshPolicy::usable_until`]), so in steady state no `get()` waits on the API.
//! * **Failures.** A failed background refresh keeps the current token while it is usable and
//!   retries with exponential backoff. Only when no usable token remains does
//!   [`CredentialCache::get`] fail, with a [`CredentialError`] that says why.
//! * **Rejections.** A token Postgres refused (`28P01`) is dropped with
//!   [`CredentialCache::invalidate`]; the next `get()` mints a new one.
//!
//! Time is `tokio::time`, so tests drive the schedule on a paused clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lakebase::{Client, EndpointName, Secret};
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::SharedApiError;

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Lifetime asked for by default: the service's maximum, one hour.
pub const DEFAULT_CREDENTIAL_TTL: Duration = Duration::from_secs(3600);

/// Shortest delay between failed background refreshes.
const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);

/// A database credential in the cache. `Debug` never shows the token.
#[derive(Debug)]
pub struct Credential {
    id: u64,
    token: Secret,
    issued_at: Instant,
    expires_at: Instant,
}

impl Credential {
    /// The token, the Postgres password.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// Sequence number of the credential in its cache (1 for the first minted).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// When the token was received.
    pub fn issued_at(&self) -> Instant {
        self.issued_at
    }

    /// When the service stops accepting the token for new logins.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    fn lifetime(&self) -> Duration {
        self.expires_at.saturating_duration_since(self.issued_at)
    }
}

/// A token just received from the API.
#[derive(Debug)]
pub struct MintedCredential {
    /// The token.
    pub token: Secret,
    /// When it expires, on the `tokio` clock.
    pub expires_at: Instant,
}

/// Where tokens come from: [`EndpointMinter`] in production, a fake in tests.
pub trait MintCredential: Send + Sync + fmt::Debug {
    /// Requests a new token.
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>>;
}

/// Mints with `POST /api/2.0/postgres/credentials {"endpoint": ..., "ttl": ...}`.
#[derive(Clone, Debug)]
pub struct EndpointMinter {
    client: Client,
    endpoint: EndpointName,
    ttl: Duration,
}

impl EndpointMinter {
    /// Tokens for `endpoint`, asked to live `ttl` (the service accepts 300 s to 1 h).
    pub fn new(client: Client, endpoint: EndpointName, ttl: Duration) -> Self {
        EndpointMinter { client, endpoint, ttl }
    }
}

impl MintCredential for EndpointMinter {
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
        Box::pin(async move {
            let credential = self
                .client
                .generate_database_credential(&self.endpoint)
                .ttl(self.ttl)
                .await?;
            let received = Instant::now();
            let token = credential
                .token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| lakebase::Error::Decode {
                    what: "DatabaseCredential".to_owned(),
                    message: "the response has no token".to_owned(),
                    body_snippet: String::new(),
                    source: None,
                })?;
            // The server's wall-clock expiry becomes a point on the monotonic clock now; never
            // later than asked for, should the local clock be behind the server's.
            let lifetime = match credential.expire_time {
                Some(at) => (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(self.ttl),
                None => self.ttl,
            };
            Ok(MintedCredential {
                token: Secret::new(token),
                expires_at: received + lifetime,
            })
        })
    }
}

/// When to refresh and how long a token may still be used for a login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Refresh this long before expiry (default 5 min), at most a quarter of the lifetime.
    pub refresh_ahead: Duration,
    /// Stop handing out a token this long before expiry (default 10 s), at most a tenth of
    /// the lifetime: room for the TCP, TLS and startup round trips of the login it is for.
    pub login_margin: Duration,
    /// First delay between failed background refreshes (default 1 s), doubled each time.
    pub retry_initial: Duration,
    /// Largest delay between failed background refreshes (default 30 s).
    pub retry_max: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            refresh_ahead: Duration::from_secs(300),
            login_margin: Duration::from_secs(10),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
        }
    }
}

impl RefreshPolicy {
    /// When the background task mints the successor of `credential`.
    pub fn refresh_at(&self, credential: &Credential) -> Instant {
        credential.expires_at - self.refresh_ahead.min(credential.lifetime() / 4)
    }

    /// Until when `credential` is handed out for new logins.
    pub fn usable_until(&self, credential: &Credential) -> Instant {
        credential.expires_at - self.login_margin.min(credential.lifetime() / 10)
    }

    /// Delay after the `failures`-th consecutive failed refresh (never under 100 ms, so a
    /// zero setting cannot turn the refresher into a busy loop against the API).
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        self.retry_initial
            .saturating_mul(factor)
            .min(self.retry_max)
            .max(MIN_RETRY_DELAY)
    }
}

/// Why no credential could be handed out.
#[derive(Clone, Debug, thiserror::Error)]
#[error("no usable database credential for {endpoint} ({state}) and minting one failed: {source}")]
pub struct CredentialError {
    endpoint: String,
    state: CachedState,
    #[source]
    source: SharedApiError,
}

impl CredentialError {
    /// The endpoint the credential is for.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What the cache held when minting failed.
    pub fn cached(&self) -> CachedState {
        self.state
    }

    /// The error of the mint request.
    pub fn api_error(&self) -> &lakebase::Error {
        &self.source
    }
}

/// What the cache held when a mint failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CachedState {
    /// No credential had been minted yet.
    Empty,
    /// The cached credential expired (or is about to, within the login margin).
    Expired,
    /// Postgres rejected the cached credential (`28P01`).
    Rejected,
}

impl fmt::Display for CachedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CachedState::Empty => "none minted yet",
            CachedState::Expired => "the cached one expired",
            CachedState::Rejected => "Postgres rejected the cached one",
        })
    }
}

/// Counters of a cache, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CredentialStats {
    /// Tokens minted successfully.
    pub minted: u64,
    /// Mint requests that failed.
    pub failed: u64,
    /// Credentials dropped after Postgres rejected them.
    pub rejected: u64,
}

/// One shared, self-refreshing database credential. Cheap to clone; clones share the token
/// (give one to several pools of the same endpoint and identity). The background refresh
/// starts with the first [`get`](Self::get) or [`prefetch`](Self::prefetch) and stops when
/// the last clone is dropped.
#[derive(Clone)]
pub struct CredentialCache {
    owner: Arc<Owner>,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.owner.shared;
        f.debug_struct("CredentialCache")
            .field("endpoint", &shared.endpoint)
            .field("stats", &shared.stats())
            .finish_non_exhaustive()
    }
}

/// Held by every clone; stops the refresher when the last one goes.
struct Owner {
    shared: Arc<Shared>,
    started: AtomicBool,
    refresher: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.refresher).take() {
            task.abort();
        }
    }
}

struct Shared {
    endpoint: String,
    minter: Arc<dyn MintCredential>,
    policy: RefreshPolicy,
    state: Mutex<State>,
    /// Held while a mint request is in flight: the single flight.
    mint_lock: tokio::sync::Mutex<()>,
    /// Signalled when a credential is stored or dropped, so the refresher reschedules.
    changed: Notify,
    /// Id of the latest credential stored, for [`CredentialCache::subscribe`].
    latest: tokio::sync::watch::Sender<u64>,
    minted: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Default)]
struct State {
    current: Option<Arc<Credential>>,
    /// Why `current` is `None` (or unusable).
    gone: Option<CachedState>,
    /// Mint attempts finished so far; a waiter compares it to know it was served.
    attempts: u64,
    last_error: Option<SharedApiError>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CredentialCache {
    /// A cache minting with `minter` on `policy`; `endpoint` names it in logs and errors.
    pub fn new(endpoint: impl Into<String>, minter: Arc<dyn MintCredential>, policy: RefreshPolicy) -> Self {
        CredentialCache {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared {
                    endpoint: endpoint.into(),
                    minter,
                    policy,
                    state: Mutex::new(State::default()),
                    mint_lock: tokio::sync::Mutex::new(()),
                    changed: Notify::new(),
                    latest: tokio::sync::watch::Sender::new(0),
                    minted: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    rejected: AtomicU64::new(0),
                }),
                started: AtomicBool::new(false),
                refresher: Mutex::new(None),
            }),
        }
    }

    /// A cache of tokens for `endpoint` minted by `client`, asked to live `ttl`.
    pub fn for_endpoint(client: Client, endpoint: EndpointName, ttl: Duration, policy: RefreshPolicy) -> Self {
        let name = endpoint.to_string();
        Self::new(name, Arc::new(EndpointMinter::new(client, endpoint, ttl)), policy)
    }

    /// A credential usable for a login now: the cached one, or a fresh one minted by a
    /// single request shared with every concurrent caller.
    pub async fn get(&self) -> Result<Arc<Credential>, CredentialError> {
        self.start_refresher();
        let shared = &self.owner.shared;
        let seen = match shared.usable_or_attempts() {
            Ok(credential) => return Ok(credential),
            Err(attempts) => attempts,
        };
        shared.mint_unless_served(seen, "login").await
    }

    /// Starts the background refresh now; it mints the first token at once, so that the
    /// first connection finds it ready (or in flight).
    pub fn prefetch(&self) {
        self.start_refresher();
    }

    /// Drops `rejected` if it is still the cached credential (Postgres refused it); the next
    /// [`get`](Self::get) mints a new one. Calls for a credential already replaced do nothing,
    /// so many connections failing on the same stale token cause one mint.
    pub fn invalidate(&self, rejected: &Credential) {
        let shared = &self.owner.shared;
        let mut state = lock(&shared.state);
        if state.current.as_ref().is_some_and(|c| c.id == rejected.id) {
            state.current = None;
            state.gone = Some(CachedState::Rejected);
            shared.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::info!(endpoint = %shared.endpoint, credential = rejected.id, "database credential rejected by Postgres; dropped");
            drop(state);
            shared.changed.notify_one();
        }
    }

    /// The id of the latest credential stored (0 before the first); it changes whenever a
    /// new credential is minted, so holders of a copy of the token (sqlx connect options)
    /// can follow it.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.owner.shared.latest.subscribe()
    }

    /// The cached credential, usable or not.
    pub fn current(&self) -> Option<Arc<Credential>> {
        lock(&self.owner.shared.state).current.clone()
    }

    /// Counters of minted, failed and rejected credentials.
    pub fn stats(&self) -> CredentialStats {
        self.owner.shared.stats()
    }

    /// The policy the cache refreshes on.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.owner.shared.policy
    }

    fn start_refresher(&self) {
        if self.owner.started.load(Ordering::Acquire) {
            return;
        }
        let mut refresher = lock(&self.owner.refresher);
        if self.owner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        // Without a runtime there is no background refresh; `get` still mints on demand.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.owner.shared.clone();
            *refresher = Some(runtime.spawn(refresh_loop(shared)).abort_handle());
        }
    }
}

impl Shared {
    fn stats(&self) -> CredentialStats {
        CredentialStats {
            minted: self.minted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }

    /// The usable credential, else the number of finished mint attempts.
    fn usable_or_attempts(&self) -> Result<Arc<Credential>, u64> {
        let state = lock(&self.state);
        match &state.current {
            Some(c) if Instant::now() < self.policy.usable_until(c) => Ok(c.clone()),
            _ => Err(state.attempts),
        }
    }

    /// Mints under the single-flight lock, unless an attempt that finished after `seen`
    /// already served this caller: its credential, or its error.
    async fn mint_unless_served(&self, seen: u64, reason: &'static str) -> Result<Arc<Credential>, CredentialError> {
        let _flight = self.mint_lock.lock().await;
        let attempts = match self.usable_or_attempts() {
            Ok(credential) => return Ok(credential),
            Err(attempts) => attempts,
        };
        if attempts > seen {
            let state = lock(&self.state);
            if let Some(error) = &state.last_error {
                return Err(self.error(&state, error.clone()));
            }
        }
        self.mint(reason).await
    }

    /// Sends one mint request (the caller holds `mint_lock`) and records its outcome. A
    /// failure leaves the current credential in place.
    async fn mint(&self, reason: &'static str) -> Result<Arc<Credential>, CredentialError> {
        let span = tracing::info_span!(
            "lakebase.credential.mint",
            endpoint = %self.endpoint,
            reason,
            outcome = tracing::field::Empty,
            credential = tracing::field::Empty,
            lifetime_s = tracing::field::Empty,
        );
        let result = self.minter.mint().instrument(span.clone()).await;
        let mut state = lock(&self.state);
        state.attempts += 1;
        match result {
            Ok(minted) => {
                let id = self.minted.fetch_add(1, Ordering::Relaxed) + 1;
                let credential = Arc::new(Credential {
                    id,
                    token: minted.token,
                    issued_at: Instant::now(),
                    expires_at: minted.expires_at,
                });
                span.record("outcome", "ok");
                span.record("credential", id);
                span.record("lifetime_s", credential.lifetime().as_secs());
                state.current = Some(credential.clone());
                state.gone = None;
                state.last_error = None;
                drop(state);
                self.changed.notify_one();
                self.latest.send_replace(id);
                Ok(credential)
            }
            Err(error) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                span.record("outcome", "error");
                span.in_scope(|| tracing::warn!(error = %error, "minting a database credential failed"));
                let error = Arc::new(error);
                state.last_error = Some(error.clone());
                Err(self.error(&state, error))
            }
        }
    }

    fn error(&self, state: &State, source: SharedApiError) -> CredentialError {
        let cached = match (&state.current, state.gone) {
            (Some(_), _) => CachedState::Expired,
            (None, Some(gone)) => gone,
            (None, None) => CachedState::Empty,
        };
        CredentialError {
            endpoint: self.endpoint.clone(),
            state: cached,
            source,
        }
    }

    /// When the refresher should act next, counting `failures` consecutive failed refreshes.
    fn next_refresh(&self, failures: u32) -> Instant {
        let now = Instant::now();
        let state = lock(&self.state);
        match (&state.current, failures) {
            (Some(c), 0) => self.policy.refresh_at(c),
            (None, 0) => now,
            (_, n) => now + self.policy.retry_delay(n),
        }
    }

    /// Whether the cached credential is due for replacement.
    fn due(&self) -> bool {
        let state = lock(&self.state);
        state
            .current
            .as_ref()
            .is_none_or(|c| Instant::now() >= self.policy.refresh_at(c))
    }
}

/// The background refresh: sleeps until the current token's refresh time, mints its
/// successor, backs off after failures, and reschedules whenever the credential changes.
async fn refresh_loop(shared: Arc<Shared>) {
    let mut failures = 0u32;
    loop {
        let wake_at = shared.next_refresh(failures);
        tokio::select! {
            () = tokio::time::sleep_until(wake_at) => {}
            () = shared.changed.notified() => {
                failures = 0;
                continue;
            }
        }
        let seen = lock(&shared.state).attempts;
        let flight = shared.mint_lock.lock().await;
        if !shared.due() {
            failures = 0;
            continue;
        }
        // A `get` that minted (or failed) while we waited for the lock counts as our attempt.
        let served_by_other = {
            let state = lock(&shared.state);
            (state.attempts > seen).then(|| state.last_error.is_some())
        };
        let failed = match served_by_other {
            Some(failed) => failed,
            None => shared.mint("refresh").await.is_err(),
        };
        drop(flight);
        if failed {
            failures += 1;
        } else {
            failures = 0;
        }
        // Our own store notified `changed`; consume it so the schedule is not reset.
        if !failed {
            let _ = futures::FutureExt::now_or_never(shared.changed.notified());
        }
    }
}

#[cfg(test)]
mod tests;
