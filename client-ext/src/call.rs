//! Runs one generated call and turns its outcome into this crate's [`Error`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lakebase_generated::{ByteStream, ResponseValue};
use serde::de::DeserializeOwned;

use lakebase_generated::RequiredFields;

use crate::error::{ApiError, AuthError, Error, InvalidInput, TimeoutKind, TransportError, body_snippet};
use crate::polling::PollingPolicy;
use crate::retry::RetryPolicy;
use crate::transport::{CallRecord, CallSummary};

/// Per-call settings a request builder carries (`with_retry_policy`, `timeout`).
#[derive(Clone, Default)]
pub(crate) struct CallOptions {
    /// Replaces the client's retry policy for this call.
    pub(crate) retry: Option<Arc<dyn RetryPolicy>>,
    /// The longest the call may take, retries included.
    pub(crate) timeout: Option<Duration>,
    /// Replaces the client's polling policy for the operation the call starts.
    pub(crate) polling: Option<PollingPolicy>,
}

impl std::fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions")
            .field("retry", &self.retry.as_ref().map(|_| "per call"))
            .field("timeout", &self.timeout)
            .field("polling", &self.polling)
            .finish()
    }
}

/// [`run`] with a builder's [`CallOptions`]: its retry policy for every attempt, and its
/// timeout over the whole call ([`Error::Timeout`] when it passes).
pub(crate) async fn run_with<T, F>(options: &CallOptions, what: &'static str, call: F) -> Result<T, Error>
where
    T: DeserializeOwned,
    F: Future<Output = Generated<T>>,
{
    let call = CallRecord::with_retry(options.retry.clone(), run(what, call));
    match options.timeout {
        None => call.await,
        Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                kind: TimeoutKind::Call,
                elapsed: limit,
                attempts: 0,
                last_error: None,
            })
        }),
    }
}

/// Fails with [`Error::InvalidInput`] when `message` misses fields the API requires.
pub(crate) fn check_required<T: RequiredFields>(what: &str, message: &T) -> Result<(), Error> {
    let missing = message.missing_required_fields();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidInput(InvalidInput::new(
            what,
            format!("missing required fields: {}", missing.join(", ")),
        )))
    }
}

type Generated<T> = Result<ResponseValue<T>, lakebase_generated::Error<ByteStream>>;

/// Awaits a generated call inside a [`CallRecord`] scope and maps its result.
///
/// `what` names the expected response for decode errors (`"Branch"`).
pub(crate) async fn run<T, F>(what: &'static str, call: F) -> Result<T, Error>
where
    T: DeserializeOwned,
    F: Future<Output = Generated<T>>,
{
    let (result, mut summary) = CallRecord::scope(call).await;
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(error) => {
            let (error, empty_body) = map_error(what, error, &mut summary).await;
            // An empty 2xx body is read as `{}`, as the official SDK does, when `T` allows it.
            if empty_body && let Ok(value) = serde_json::from_slice::<T>(b"{}") {
                return Ok(value);
            }
            Err(with_budget(
                with_maybe_applied(with_auth_context(error, &mut summary), &mut summary),
                summary,
            ))
        }
    }
}

/// Maps a generated error to this crate's, and says whether it is a 2xx answer with an
/// empty body (which the caller may read as `{}`). Not generic over the response type, so
/// it is compiled once rather than once per operation.
async fn map_error(
    what: &'static str,
    error: lakebase_generated::Error<ByteStream>,
    summary: &mut CallSummary,
) -> (Error, bool) {
    use lakebase_generated::Error as G;
    let mut empty_body = false;
    let error = match error {
        G::ErrorResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_all(response.into_inner()).await;
            api_error(status, &headers, &body)
        }
        G::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            api_error(status, &headers, &body)
        }
        G::InvalidResponsePayload(body, error) => {
            empty_body = body.iter().all(u8::is_ascii_whitespace);
            Error::Decode {
                what: what.to_string(),
                message: error.to_string(),
                body_snippet: body_snippet(&body),
                source: Some(Box::new(error)),
            }
        }
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
            Error::Transport(TransportError::from(e))
        }
        // The only custom error comes from the `prepare` hook: credentials failed.
        G::Custom(message) => summary
            .auth_error
            .take()
            .unwrap_or_else(|| Error::Auth(AuthError::new(message))),
        G::InvalidRequest(message) => Error::InvalidInput(InvalidInput::new("request", message)),
    };
    (error, empty_body)
}

pub(crate) fn api_error(status: reqwest::StatusCode, headers: &http::HeaderMap, body: &[u8]) -> Error {
    let reason = status.canonical_reason().unwrap_or("");
    Error::Api(Box::new(ApiError::from_response(
        status.as_u16(),
        reason,
        headers,
        body,
    )))
}

async fn read_all(stream: ByteStream) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = stream.into_inner();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
    }
    body
}

/// Adds what the client authenticated as to a 401/403 API error.
pub(crate) fn with_auth_context(mut error: Error, summary: &mut CallSummary) -> Error {
    if let Error::Api(api) = &mut error
        && matches!(api.status, 401 | 403)
    {
        api.auth_context = summary.auth_context.take();
    }
    error
}

/// Turns the transport failure of a request that may have been applied, and was not
/// repeated, into [`Error::MaybeApplied`].
pub(crate) fn with_maybe_applied(error: Error, summary: &mut CallSummary) -> Error {
    match (error, summary.maybe_applied.take()) {
        (Error::Transport(source), Some((operation, collection))) => Error::MaybeApplied {
            operation: operation.to_string(),
            collection,
            source,
        },
        (error, _) => error,
    }
}

/// Wraps the last error in [`Error::Timeout`] when the retry budget ran out.
pub(crate) fn with_budget(error: Error, summary: CallSummary) -> Error {
    if summary.budget_exhausted {
        Error::Timeout {
            kind: TimeoutKind::RetryBudget,
            elapsed: summary.elapsed,
            attempts: summary.attempts,
            last_error: Some(Box::new(error)),
        }
    } else {
        error
    }
}
