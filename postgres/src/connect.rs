//! [`LakebaseConnect`]: how the pool opens one connection.
//!
//! deadpool-postgres calls [`Connect::connect`] for every new connection; this one
//!
//! 1. takes the cached credential (minting one only when none is usable) as the password;
//! 2. on `28P01` (password authentication failed: the token was stale or revoked) drops that
//!    credential, mints a fresh one and tries once more;
//! 3. on a compute that is waking from scale-to-zero (connection refused or reset, SQLSTATE
//!    `57P03` "the database system is starting up") retries with backoff until the
//!    connect timeout.
//!
//! deadpool's `Connect` must fail with a `tokio_postgres::Error`, which has no public
//! constructor. A [`CredentialError`] travels inside one as the source of its I/O error (see
//! [`carry`]) and [`carried_credential_error`] takes it out again, so `Pool::get` still returns
//! a typed [`Error::Credential`](crate::Error::Credential).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use deadpool_postgres::Connect;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client as PgClient, Config as PgConfig, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::Instrument;

use crate::credential::{BoxFuture, CredentialCache, CredentialError};
use crate::health::Health;

/// First delay between attempts on a waking compute; doubled up to [`WAKE_BACKOFF_MAX`].
const WAKE_BACKOFF_INITIAL: Duration = Duration::from_millis(50);
/// Largest delay between attempts on a waking compute.
const WAKE_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Opens connections with the shared credential; see the [module docs](self).
pub(crate) struct LakebaseConnect {
    pub(crate) credentials: CredentialCache,
    pub(crate) tls: Option<MakeRustlsConnect>,
    pub(crate) connect_timeout: Duration,
    pub(crate) endpoint: String,
    /// Where ended connections and failed attempts are recorded.
    pub(crate) health: Arc<Health>,
}

/// What one attempt's failure calls for.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// `28P01`: the password (token) was refused.
    Rejected,
    /// The compute is not accepting connections yet.
    Waking,
    /// Anything else: give up.
    Fatal,
}

fn verdict(error: &tokio_postgres::Error) -> Verdict {
    match error.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD => return Verdict::Rejected,
        Some(code) if *code == SqlState::CANNOT_CONNECT_NOW => return Verdict::Waking,
        Some(_) => return Verdict::Fatal,
        None => {}
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            use io::ErrorKind::*;
            return match io.kind() {
                ConnectionRefused | ConnectionReset | ConnectionAborted | UnexpectedEof => Verdict::Waking,
                _ => Verdict::Fatal,
            };
        }
        source = cause.source();
    }
    Verdict::Fatal
}

impl LakebaseConnect {
    async fn open(&self, config: &PgConfig) -> Result<(PgClient, JoinHandle<()>), tokio_postgres::Error> {
        match &self.tls {
            Some(tls) => {
                let (client, connection) = config.connect(tls.clone()).await?;
                Ok((client, tokio::spawn(drive(connection, self.health.clone()))))
            }
            None => {
                let (client, connection) = config.connect(NoTls).await?;
                Ok((client, tokio::spawn(drive(connection, self.health.clone()))))
            }
        }
    }

    async fn connect_with_retries(&self, base: &PgConfig) -> Result<(PgClient, JoinHandle<()>), tokio_postgres::Error> {
        let deadline = Instant::now() + self.connect_timeout;
        let mut healed = false;
        let mut backoff = WAKE_BACKOFF_INITIAL;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let credential = match self.credentials.get().await {
                Ok(credential) => credential,
                Err(error) => return Err(carry(error, base).await),
            };
            let mut config = base.clone();
            config.password(credential.token().expose());
            config.connect_timeout(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
            let span = tracing::debug_span!("lakebase.connect.attempt", attempt, credential = credential.id());
            let error = match self.open(&config).instrument(span).await {
                Ok(opened) => {
                    tracing::Span::current().record("attempts", attempt);
                    tracing::Span::current().record("outcome", "ok");
                    return Ok(opened);
                }
                Err(error) => error,
            };
            let verdict = verdict(&error);
            tracing::info!(attempt, ?verdict, error = %error, "connect attempt failed");
            if verdict == Verdict::Waking {
                // The compute is down or restarting: its idle sessions are suspect too.
                self.health.record_failure(error.code().map(SqlState::code));
            }
            match verdict {
                Verdict::Rejected if !healed => {
                    healed = true;
                    self.credentials.invalidate(&credential);
                }
                Verdict::Waking if Instant::now() + backoff < deadline => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(WAKE_BACKOFF_MAX);
                }
                _ => {
                    tracing::Span::current().record("attempts", attempt);
                    tracing::Span::current().record("outcome", "error");
                    return Err(error);
                }
            }
        }
    }
}

impl Connect for LakebaseConnect {
    fn connect(
        &self,
        pg_config: &PgConfig,
    ) -> BoxFuture<'_, Result<(PgClient, JoinHandle<()>), tokio_postgres::Error>> {
        let span = tracing::info_span!(
            "lakebase.connect",
            endpoint = %self.endpoint,
            host = ?pg_config.get_hosts().first(),
            user = pg_config.get_user().unwrap_or_default(),
            attempts = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let config = pg_config.clone();
        Box::pin(
            async move {
                let started = Instant::now();
                let opened = self.connect_with_retries(&config).await;
                self.health.metrics.connect(started.elapsed(), opened.is_ok());
                opened
            }
            .instrument(span),
        )
    }
}

/// Runs a connection until it ends. One that ends with an error (the server closed it, the
/// network failed) is a connection-level failure: its idle siblings are validated before
/// their next hand-out (see [`crate::health`]). One whose client was dropped ends cleanly.
async fn drive<F>(connection: F, health: Arc<Health>)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(error) = connection.await {
        tracing::debug!(error = %error, "Postgres connection closed with an error");
        health.record_failure(error.code().map(SqlState::code));
    }
}

/// Wraps `error` in a `tokio_postgres::Error`: a connect over a stream whose every read and
/// write fails with it. Nothing touches the network.
async fn carry(error: CredentialError, config: &PgConfig) -> tokio_postgres::Error {
    match config.connect_raw(FailingStream(error), NoTls).await {
        Err(carrier) => carrier,
        // Unreachable: the stream never yields a byte. Keep a typed outcome anyway.
        Ok(_) => tokio_postgres::Error::__private_api_timeout(),
    }
}

/// The [`CredentialError`] inside a `tokio_postgres::Error` made by [`carry`], if any.
pub(crate) fn carried_credential_error(error: &tokio_postgres::Error) -> Option<CredentialError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(carried) = cause
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<CredentialError>())
        {
            return Some(carried.clone());
        }
        source = cause.source();
    }
    None
}

/// A stream that fails every read and write with a [`CredentialError`].
struct FailingStream(CredentialError);

impl FailingStream {
    fn error(&self) -> io::Error {
        io::Error::other(self.0.clone())
    }
}

impl AsyncRead for FailingStream {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }
}

impl AsyncWrite for FailingStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(self.error()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::credential::{MintCredential, MintedCredential, RefreshPolicy};

    #[derive(Debug)]
    struct Refusing;

    impl MintCredential for Refusing {
        fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
            Box::pin(async { Err(lakebase::Error::Config("no credentials for you".to_owned())) })
        }
    }

    #[tokio::test]
    async fn a_credential_error_survives_the_trip_through_tokio_postgres() {
        let cache = CredentialCache::new(
            "projects/p/branches/b/endpoints/e",
            Arc::new(Refusing),
            RefreshPolicy::default(),
        );
        let error = cache.get().await.unwrap_err();
        let mut config = PgConfig::new();
        config.user("alice").dbname("db");
        let carrier = carry(error, &config).await;
        let recovered = carried_credential_error(&carrier).expect("carried");
        assert_eq!(recovered.endpoint(), "projects/p/branches/b/endpoints/e");
        assert!(recovered.to_string().contains("no credentials for you"));
    }

    #[test]
    fn an_ordinary_postgres_error_carries_nothing() {
        let error = tokio_postgres::Error::__private_api_timeout();
        assert!(carried_credential_error(&error).is_none());
        assert_eq!(verdict(&error), Verdict::Fatal);
    }
}
