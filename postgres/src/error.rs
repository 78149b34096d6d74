//! [`Error`]: everything that can go wrong building a pool or getting a connection.

use std::sync::Arc;
use std::time::Duration;

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
    /// No connection became available within the pool's timeouts.
    #[error("timed out {0}")]
    Timeout(TimeoutKind),
    /// The pool was closed.
    #[error("the pool is closed")]
    Closed,
    /// Waiting for a scoped test branch (or its endpoint) ran out of time.
    #[error("timed out after {elapsed:?} waiting for {what}")]
    Wait {
        /// What was awaited.
        what: String,
        /// Time spent.
        elapsed: Duration,
    },
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
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Wait => "waiting for a free connection slot",
            TimeoutKind::Connect => "opening a connection",
            TimeoutKind::Recycle => "checking an idle connection",
        })
    }
}

impl Error {
    /// The SQLSTATE of a Postgres error, if any (e.g. `28P01`).
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Postgres(e) => e.code().map(|c| c.code()),
            _ => None,
        }
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
