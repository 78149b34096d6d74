//! [`Error`]: everything that can go wrong building a pool or getting a connection.

use std::sync::Arc;

use crate::credential::CredentialError;

/// Why a pool could not be built or a connection not be handed out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or invalid; found before anything was sent.
    #[error("invalid pool configuration: {0}")]
    Config(String),
    /// A call of the Lakebase API failed (host discovery, user resolution, branch helper).
    #[error("{what}: {source}")]
    Api {
        /// What the pool was doing, e.g. `"get endpoint projects/p/branches/b/endpoints/e"`.
        what: String,
        /// The error of the call (boxed: it is large, and errors are the rare path).
        #[source]
        source: Box<lakebase::Error>,
    },
    /// The endpoint has no host of the kind needed (yet): it may still be starting, or it
    /// has no read-only host.
    #[error("endpoint {endpoint} has no {kind} host yet (is it still being created?)")]
    NoHost {
        /// The endpoint name.
        endpoint: String,
        /// `"read-write"` or `"read-only"`.
        kind: &'static str,
    },
    /// No valid database credential is cached and a new one could not be minted.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// Postgres refused or dropped the connection (after the retries the pool makes); the
    /// SQLSTATE is in [`tokio_postgres::Error::code`].
    #[error("cannot connect to Postgres: {0}")]
    Postgres(#[source] tokio_postgres::Error),
    /// A statement run by [`Pool::run_with_retry`](crate::Pool::run_with_retry) (or
    /// [`run_with`](crate::Pool::run_with)) failed, after the retry it allows; the SQLSTATE is
    /// in [`sqlstate`](Self::sqlstate).
    #[error("statement failed: {0}")]
    Query(#[source] tokio_postgres::Error),
    /// Something did not happen within its time: a free slot, a connect, a check, a test
    /// branch getting ready. The one timeout of this crate; see [`is_timeout`](Self::is_timeout).
    #[error("timed out {0}")]
    Timeout(TimeoutKind),
    /// The pool was closed.
    #[error("the pool is closed")]
    Closed,
    /// A pool hook failed (only hooks the caller added).
    #[error("pool hook failed: {0}")]
    Hook(String),
}

/// Which timeout of the pool ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Waiting for a free slot (`wait_timeout`).
    Wait,
    /// Opening a new connection, retries included (`connect_timeout`).
    Connect,
    /// Checking an idle connection before reuse.
    Recycle,
    /// Waiting for a test branch's endpoint to get a host (`ready_timeout`).
    Ready,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Wait => "waiting for a free connection slot",
            TimeoutKind::Connect => "opening a connection",
            TimeoutKind::Recycle => "checking an idle connection",
            TimeoutKind::Ready => "waiting for the test branch's endpoint to get a host",
        })
    }
}

impl Error {
    /// The SQLSTATE of a Postgres error, if any (e.g. `28P01`).
    pub fn sqlstate(&self) -> Option<&str> {
        self.postgres().and_then(|e| e.code()).map(|c| c.code())
    }

    /// The Postgres error, for [`Postgres`](Self::Postgres) and [`Query`](Self::Query).
    pub fn postgres(&self) -> Option<&tokio_postgres::Error> {
        match self {
            Error::Postgres(e) | Error::Query(e) => Some(e),
            _ => None,
        }
    }

    /// Whether something ran out of time: one of the pool's timeouts, a statement timeout
    /// (`57014` `query_canceled`), or a Lakebase API call that timed out.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Api { source, .. } => matches!(**source, lakebase::Error::Timeout { .. }),
            _ => self.sqlstate() == Some("57014"),
        }
    }

    /// Whether the connection (or the network under it) failed rather than the statement:
    /// see [`crate::health::is_connection_error`]. Such work may be retried on a fresh
    /// connection, minding that a statement may have committed before the failure.
    pub fn is_transport(&self) -> bool {
        match self {
            Error::Api { source, .. } => matches!(**source, lakebase::Error::Transport(_)),
            _ => self.postgres().is_some_and(crate::health::is_connection_error),
        }
    }

    /// Whether the work lost a race with other work and may succeed if run again as a
    /// whole: `40001` (`serialization_failure`), `40P01` (`deadlock_detected`), or a Lakebase
    /// API 409.
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Api { source, .. } => source.status() == Some(409),
            _ => matches!(self.sqlstate(), Some("40001" | "40P01")),
        }
    }

    /// Whether a constraint refused the write (SQLSTATE class `23`: unique, foreign key,
    /// not-null, check, exclusion); running it again will fail the same way.
    pub fn is_constraint_violation(&self) -> bool {
        self.sqlstate().is_some_and(|code| code.starts_with("23"))
    }

    /// Whether the login was refused (`28P01`, `28000`) or no credential could be minted.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Credential(_)) || self.sqlstate().is_some_and(|code| code.starts_with("28"))
    }

    /// Whether a Lakebase API call answered 404 (e.g. the endpoint does not exist).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { source, .. } if source.is_not_found())
    }

    pub(crate) fn api(what: impl Into<String>, source: lakebase::Error) -> Self {
        Error::Api {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// Maps a deadpool error, recovering a [`CredentialError`] carried through
    /// `tokio_postgres::Error` (see [`crate::connect`]).
    pub(crate) fn from_pool(error: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::{PoolError, TimeoutType};
        match error {
            PoolError::Backend(e) => match crate::connect::carried_credential_error(&e) {
                Some(credential) => Error::Credential(credential),
                None => Error::Postgres(e),
            },
            PoolError::Timeout(TimeoutType::Wait) => Error::Timeout(TimeoutKind::Wait),
            PoolError::Timeout(TimeoutType::Create) => Error::Timeout(TimeoutKind::Connect),
            PoolError::Timeout(TimeoutType::Recycle) => Error::Timeout(TimeoutKind::Recycle),
            PoolError::Closed => Error::Closed,
            PoolError::NoRuntimeSpecified => Error::Config("no async runtime for the pool's timeouts".to_owned()),
            PoolError::PostCreateHook(e) => Error::Hook(e.to_string()),
        }
    }
}

/// An API error shared by every caller that waited on the same request.
pub(crate) type SharedApiError = Arc<lakebase::Error>;
