//! [`Token`] and [`RefreshingToken`]: the cached, refreshing token every OAuth login method
//! shares.
//!
//! A [`TokenSource`] knows how to get a fresh token (a token request, a CLI run, a refresh
//! grant). [`RefreshingToken`] holds the current one and asks the source again:
//!
//! - **ahead of expiry** ("stale": less than half its lifetime, at most 20 minutes, left, as
//!   in the official Python SDK): the first caller to notice refreshes while every other
//!   caller keeps using the current token; if that refresh fails the current token is kept;
//! - **at expiry** (less than 40 s left, when the service may refuse it): callers wait for
//!   one refresh, which they all share.
//!
//! Either way there is exactly one request to the source, however many callers wait.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::{BoxFuture, sensitive_header};
use crate::error::Error;
use crate::secret::Secret;

/// A token is treated as expired this long before its expiry (the official SDKs' 40 s).
pub const EXPIRY_LEEWAY: Duration = Duration::from_secs(40);

/// The longest time before expiry at which a token counts as stale.
pub const MAX_STALE: Duration = Duration::from_secs(20 * 60);

/// An OAuth access token. `Debug` never shows the token or the refresh token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Token {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer` unless the server said otherwise.
    pub token_type: String,
    /// When it expires; `None`: unknown (valid until refused).
    pub expiry: Option<SystemTime>,
    /// The refresh token, if the grant gave one.
    pub refresh_token: Option<Secret>,
}

impl Token {
    /// A token without refresh token; an empty `token_type` becomes `Bearer`.
    pub fn new(access_token: Secret, token_type: &str, expiry: Option<SystemTime>) -> Self {
        let token_type = if token_type.trim().is_empty() {
            "Bearer"
        } else {
            token_type.trim()
        };
        Self {
            access_token,
            token_type: token_type.to_owned(),
            expiry,
            refresh_token: None,
        }
    }

    /// With a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: Option<Secret>) -> Self {
        self.refresh_token = refresh_token;
        self
    }

    /// The `Authorization` header value (`{token_type} {access_token}`), marked sensitive.
    pub fn header(&self) -> Result<http::HeaderValue, Error> {
        sensitive_header(&format!("{} {}", self.token_type, self.access_token.expose()))
    }

    /// Whether it expires within [`EXPIRY_LEEWAY`] of `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expiry.is_some_and(|at| now + EXPIRY_LEEWAY >= at)
    }

    /// The expiry as RFC 3339 (UTC), if known.
    pub fn expiry_rfc3339(&self) -> Option<String> {
        self.expiry
            .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expiry", &self.expiry_rfc3339())
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Gets a new token: the one thing a login method must implement to use [`RefreshingToken`].
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A fresh token. `current` is the token held now (expired or stale), if any: sources
    /// that refresh with a refresh token take it from there.
    fn fetch<'a>(&'a self, current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>>;
}

struct Held {
    token: Token,
    /// When it becomes stale (refreshed ahead of expiry from then on).
    stale_after: Option<SystemTime>,
}

impl Held {
    fn new(token: Token, now: SystemTime) -> Self {
        let stale_after = token.expiry.map(|exp| {
            let ttl = exp.duration_since(now).unwrap_or_default();
            exp - (ttl / 2).min(MAX_STALE)
        });
        Self { token, stale_after }
    }
}

/// A token from a [`TokenSource`], cached and refreshed ahead of expiry by one request,
/// however many callers wait (see the [module docs](self)).
///
/// ```
/// use lakebase::auth::{BoxFuture, RefreshingToken, Token, TokenSource};
/// use lakebase::Error;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// #[derive(Debug, Default)]
/// struct Counter(AtomicUsize);
/// impl TokenSource for Counter {
///     fn fetch<'a>(&'a self, _: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
///         let n = self.0.fetch_add(1, Ordering::SeqCst);
///         Box::pin(async move { Ok(Token::new(format!("t{n}").into(), "Bearer", None)) })
///     }
/// }
///
/// # tokio_test(async {
/// let holder = RefreshingToken::new(Counter::default());
/// assert_eq!(holder.token().await?.access_token.expose(), "t0");
/// assert_eq!(holder.token().await?.access_token.expose(), "t0"); // cached
/// # Ok::<(), Error>(())
/// # });
/// # fn tokio_test<F: std::future::Future<Output = Result<(), Error>>>(f: F) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f).unwrap();
/// # }
/// ```
pub struct RefreshingToken<S> {
    source: S,
    held: Mutex<Option<Held>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl<S: fmt::Debug> fmt::Debug for RefreshingToken<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

enum State {
    Fresh(Token),
    Stale(Token),
    Missing(Option<Token>),
}

impl<S: TokenSource> RefreshingToken<S> {
    /// A holder with no token yet (the first call fetches one).
    pub fn new(source: S) -> Self {
        Self {
            source,
            held: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    fn state(&self, now: SystemTime) -> State {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.as_ref() {
            None => State::Missing(None),
            Some(h) if h.token.is_expired(now) => State::Missing(Some(h.token.clone())),
            Some(h) if h.stale_after.is_some_and(|s| now >= s) => State::Stale(h.token.clone()),
            Some(h) => State::Fresh(h.token.clone()),
        }
    }

    fn store(&self, token: Token) {
        let now = SystemTime::now();
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(Held::new(token, now));
    }

    /// The current token, refreshed if needed.
    pub async fn token(&self) -> Result<Token, Error> {
        match self.state(SystemTime::now()) {
            State::Fresh(t) => Ok(t),
            State::Stale(t) => {
                // Ahead of expiry: the first caller refreshes, the others go on with `t`.
                let Ok(_guard) = self.refreshing.try_lock() else {
                    return Ok(t);
                };
                if let State::Fresh(newer) = self.state(SystemTime::now()) {
                    return Ok(newer);
                }
                match self.source.fetch(Some(&t)).await {
                    Ok(new) => {
                        self.store(new.clone());
                        Ok(new)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "refreshing a stale token failed; the current one is still valid");
                        Ok(t)
                    }
                }
            }
            State::Missing(_) => {
                let _guard = self.refreshing.lock().await;
                // Another caller may have refreshed while this one waited.
                let current = match self.state(SystemTime::now()) {
                    State::Fresh(t) | State::Stale(t) => return Ok(t),
                    State::Missing(current) => current,
                };
                let new = self.source.fetch(current.as_ref()).await?;
                self.store(new.clone());
                Ok(new)
            }
        }
    }

    /// The `Authorization` header of the current token.
    pub async fn header(&self) -> Result<http::HeaderValue, Error> {
        self.token().await?.header()
    }

    /// Forgets the held token: the next call fetches a new one.
    pub fn invalidate(&self) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Duration,
        fail_after: Option<usize>,
    }

    impl TokenSource for Counting {
        fn fetch<'a>(&'a self, _: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                if self.fail_after.is_some_and(|f| n >= f) {
                    return Err(Error::Config("source down".into()));
                }
                Ok(Token::new(
                    format!("tok-{n}").into(),
                    "",
                    Some(SystemTime::now() + self.lifetime),
                ))
            })
        }
    }

    fn holder(lifetime: Duration, fail_after: Option<usize>) -> Arc<RefreshingToken<Counting>> {
        Arc::new(RefreshingToken::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
            fail_after,
        }))
    }

    async fn many(h: &Arc<RefreshingToken<Counting>>) -> Vec<String> {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.token().await.map(|t| t.access_token.expose().to_owned()) })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_fetch_for_many_waiting_callers() {
        let h = holder(Duration::from_secs(3600), None);
        assert!(many(&h).await.iter().all(|t| t == "tok-0"));
        assert_eq!(h.source().calls.load(Ordering::SeqCst), 1);
        let t = h.token().await.unwrap();
        assert_eq!(t.token_type, "Bearer");
        assert!(!format!("{t:?}").contains("tok-0"));
        h.invalidate();
        assert_eq!(h.token().await.unwrap().access_token.expose(), "tok-1");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_tokens_are_refreshed_once() {
        // 30 s < the 40 s leeway: expired as soon as it arrives.
        let h = holder(Duration::from_secs(30), None);
        h.token().await.unwrap();
        let got = many(&h).await;
        // every caller after the first waited for a refresh; each refresh served all waiting
        assert!(h.source().calls.load(Ordering::SeqCst) >= 2);
        assert!(got.iter().all(|t| t.starts_with("tok-")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_tokens_refresh_ahead_and_survive_a_failed_refresh() {
        // 100 s: stale at once (half its lifetime is 50 s, more than the 60 s left... minus leeway).
        let h = holder(Duration::from_secs(100), Some(2));
        // Make the first token stale: stale_after = exp - 50 s, so wait is not needed if we
        // store a token whose stale point has passed.
        h.store(Token::new(
            "old".into(),
            "Bearer",
            Some(SystemTime::now() + Duration::from_secs(60)),
        ));
        {
            let mut held = h.held.lock().unwrap();
            held.as_mut().unwrap().stale_after = Some(SystemTime::now() - Duration::from_secs(1));
        }
        let got = many(&h).await;
        assert_eq!(
            h.source().calls.load(Ordering::SeqCst),
            1,
            "one refresh ahead of expiry"
        );
        assert!(got.iter().all(|t| t == "old" || t == "tok-0"), "{got:?}");
        assert!(got.iter().any(|t| t == "old"), "callers did not wait: {got:?}");
        // a failing refresh ahead of expiry keeps the current token
        {
            let mut held = h.held.lock().unwrap();
            held.as_mut().unwrap().stale_after = Some(SystemTime::now() - Duration::from_secs(1));
        }
        h.source().calls.store(5, Ordering::SeqCst);
        assert_eq!(h.token().await.unwrap().access_token.expose(), "tok-0");
    }
}
