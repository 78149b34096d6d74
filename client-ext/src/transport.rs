//! The one choke point every request passes: authentication, standard headers,
//! retries, recovery of lost answers ([`Recovery`]) and tracing.
//!
//! [`Executor`] implements the generated crate's `RequestExecutor`, so every generated
//! method (and therefore every typed call of this crate) goes through it. Per-call
//! facts the generated code cannot carry back (how many attempts were made, whether the
//! retry budget ran out, a typed authentication error) are recorded in a [`CallRecord`]
//! scoped to the calling task.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderValue;
use lakebase_generated::hooks::{BoxFuture, RequestExecutor};

use crate::auth::CredentialsProvider;
use crate::error::{ApiError, Error};
use crate::recovery::{Recovery, Settle};
use crate::retry::{
    RetryDecision, RetryPolicy, RetryReason, Retryability, RetryableFailure, Sleeper, Stopwatch, classify,
};

/// Header carrying the workspace id, as the official SDKs send it.
pub const WORKSPACE_ID_HEADER: &str = "X-Databricks-Workspace-Id";

/// Sends requests with auth, standard headers and retries.
#[derive(Debug)]
pub(crate) struct Executor {
    pub(crate) credentials: Arc<dyn CredentialsProvider>,
    pub(crate) workspace_id: Option<HeaderValue>,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: Arc<dyn RetryPolicy>,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    /// Per-request timeout; a retry gets at most what is left of the retry budget.
    pub(crate) request_timeout: Duration,
    /// What this client authenticates as, for 401/403 errors (see [`ApiError::auth_context`]).
    pub(crate) auth_context: Arc<str>,
}

/// What one call (one typed method, possibly several HTTP attempts) went through.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    inner: Mutex<CallFacts>,
}

#[derive(Debug, Default)]
struct CallFacts {
    attempts: u32,
    elapsed: Duration,
    budget_exhausted: bool,
    auth_error: Option<Error>,
    auth_context: Option<String>,
    maybe_applied: Option<(&'static str, String)>,
}

tokio::task_local! {
    static CALL: Arc<CallRecord>;
    static RETRY: Option<Arc<dyn RetryPolicy>>;
}

impl CallRecord {
    /// Runs `future` with a fresh record in scope and returns both.
    pub(crate) async fn scope<F: std::future::Future>(future: F) -> (F::Output, CallSummary) {
        let record = Arc::new(CallRecord::default());
        let output = CALL.scope(record.clone(), future).await;
        let mut facts = record.inner.lock().unwrap_or_else(|p| p.into_inner());
        let summary = CallSummary {
            attempts: facts.attempts,
            elapsed: facts.elapsed,
            budget_exhausted: facts.budget_exhausted,
            auth_error: facts.auth_error.take(),
            auth_context: facts.auth_context.take(),
            maybe_applied: facts.maybe_applied.take(),
        };
        (output, summary)
    }

    /// Runs `future` with `retry` (when set) in place of the client's retry policy.
    pub(crate) async fn with_retry<F: std::future::Future>(
        retry: Option<Arc<dyn RetryPolicy>>,
        future: F,
    ) -> F::Output {
        RETRY.scope(retry, future).await
    }

    /// The retry policy set by [`with_retry`](Self::with_retry) around this call, if any.
    fn retry_override() -> Option<Arc<dyn RetryPolicy>> {
        RETRY.try_with(Clone::clone).ok().flatten()
    }

    fn update(f: impl FnOnce(&mut CallFacts)) {
        let _ = CALL.try_with(|record| f(&mut record.inner.lock().unwrap_or_else(|p| p.into_inner())));
    }
}

/// The facts of a finished call.
#[derive(Debug)]
pub(crate) struct CallSummary {
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
    pub(crate) budget_exhausted: bool,
    pub(crate) auth_error: Option<Error>,
    /// Set when the last response was 401 or 403: see [`ApiError::auth_context`].
    pub(crate) auth_context: Option<String>,
    /// Set when a request that may have been applied was not repeated: the collection to
    /// check, with the operation (see [`Error::MaybeApplied`]).
    pub(crate) maybe_applied: Option<(&'static str, String)>,
}

impl Executor {
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        let value = self.credentials.authorization().await?;
        request.headers_mut().insert(http::header::AUTHORIZATION, value);
        for (name, value) in self.credentials.extra_headers().await? {
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }

    /// Reads a failed response, decides whether to retry, and rebuilds it for the caller.
    async fn inspect_failure(
        response: reqwest::Response,
        method: &http::Method,
    ) -> (reqwest::Response, ApiError, Option<RetryableFailure>) {
        let status = response.status();
        let headers = response.headers().clone();
        let version = response.version();
        let body = response.bytes().await.unwrap_or_default();
        let api = ApiError::from_response(
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            &headers,
            &body,
        );
        let failure = RetryableFailure::from_api_error(&api, method);
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers;
        *rebuilt.version_mut() = version;
        (reqwest::Response::from(rebuilt), api, failure)
    }

    /// Whether to retry after `error`, a failure to send a request or to read its answer.
    /// A mutation that failed after it was sent may have been applied: its [`Recovery`]
    /// decides whether it may be repeated (a create whose id the server picks may not; the
    /// call then records the collection to check, for [`Error::MaybeApplied`]).
    fn after_send_failure(
        error: &reqwest::Error,
        method: &http::Method,
        recovery: Option<&Recovery>,
        operation_id: &'static str,
    ) -> Option<RetryableFailure> {
        let reason = if error.is_timeout() {
            RetryReason::Timeout
        } else {
            RetryReason::Io
        };
        let verdict = match (
            classify(None, method, error.is_connect(), error.is_timeout(), None),
            recovery,
        ) {
            (verdict, _) if error.is_connect() => verdict,
            (verdict, None) => verdict,
            (verdict, Some(recovery)) => match recovery.may_repeat() {
                Ok(()) if verdict == Retryability::DoNotRetry => Retryability::Retry(reason),
                Ok(()) => verdict,
                Err(collection) => {
                    tracing::warn!(
                        operation = operation_id,
                        ambiguous = true,
                        resolution = "not_repeated",
                        collection,
                        "the request may have been applied and the server picks the new resource's id: not repeated"
                    );
                    let collection = collection.to_string();
                    CallRecord::update(|facts| facts.maybe_applied = Some((operation_id, collection)));
                    Retryability::DoNotRetry
                }
            },
        };
        match verdict {
            Retryability::Retry(reason) => Some(RetryableFailure {
                reason,
                retry_after: None,
            }),
            Retryability::DoNotRetry => None,
        }
    }

    /// Settles a call whose `recovery` says a refusal after an ambiguous attempt may be
    /// explained by that attempt: the answer to give instead, when the call succeeds.
    async fn settle(
        &self,
        client: &reqwest::Client,
        recovery: &Recovery,
        settle: Settle,
        template: Option<&reqwest::Request>,
        operation_id: &'static str,
    ) -> Option<reqwest::Response> {
        let (resolution, resource) = match settle {
            Settle::Done(resolution) => (resolution, None),
            Settle::Read(path) => {
                let resource = match template {
                    Some(template) => self.read(client, template, &path).await,
                    None => None,
                };
                (recovery.settle_with(resource.as_ref()), resource)
            }
        };
        tracing::info!(
            operation = operation_id,
            ambiguous = true,
            resolution = resolution.as_str(),
            "settled a call whose earlier attempt may have been applied"
        );
        if !resolution.succeeds() {
            return None;
        }
        let body = recovery.finished_operation(resource).to_string();
        let mut answer = http::Response::new(body);
        answer
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Some(reqwest::Response::from(answer))
    }

    /// Reads the resource at URL path `path` with the headers of `template` (retried like
    /// any read); `None` when it cannot be read.
    async fn read(
        &self,
        client: &reqwest::Client,
        template: &reqwest::Request,
        path: &str,
    ) -> Option<serde_json::Value> {
        let mut url = template.url().clone();
        url.set_path(path);
        url.set_query(None);
        let mut get = reqwest::Request::new(http::Method::GET, url);
        *get.headers_mut() = template.headers().clone();
        get.headers_mut().remove(http::header::CONTENT_TYPE);
        get.headers_mut().remove(http::header::CONTENT_LENGTH);
        *get.timeout_mut() = template.timeout().copied();
        self.authorize(&mut get).await.ok()?;
        let response = self.send(client, get, "recovery_read").await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }
}

impl RequestExecutor for Executor {
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _operation_id: &'static str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let headers = request.headers_mut();
            headers.insert(http::header::USER_AGENT, self.user_agent.clone());
            if let Some(id) = &self.workspace_id {
                headers.insert(WORKSPACE_ID_HEADER, id.clone());
            }
            self.authorize(request).await.map_err(|error| {
                let message = error.to_string();
                CallRecord::update(|facts| facts.auth_error = Some(error));
                message
            })
        })
    }

    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        self.send(client, request, operation_id)
    }
}

impl Executor {
    /// Sends `request` with retries; settles a mutation whose earlier attempt may have been
    /// applied as [`Recovery`] says.
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(async move {
            let retry = CallRecord::retry_override().unwrap_or_else(|| self.retry.clone());
            let mut clock = Stopwatch::start();
            let method = request.method().clone();
            let path = request.url().path().to_string();
            let recovery = Recovery::of(operation_id, &request);
            // Reads that settle an ambiguous call are built from the original request.
            let template = recovery.as_ref().and_then(|_| request.try_clone());
            let mut ambiguous = false;
            let mut attempt: u32 = 0;
            let mut pending = request;
            loop {
                attempt += 1;
                // Keep a copy for the next attempt; JSON bodies are bytes, so this works
                // for every request this crate sends.
                let spare = pending.try_clone();
                let span =
                    tracing::debug_span!("lakebase.request", operation = operation_id, %method, path = %path, attempt);
                let attempt_started = Instant::now();
                let result = tracing::Instrument::instrument(client.execute(pending), span.clone()).await;
                let (result, failure) = match result {
                    Ok(response) if response.status().is_success() => (Ok(response), None),
                    Ok(response) => {
                        let (response, api, failure) = Self::inspect_failure(response, &method).await;
                        if let (None, true, Some(recovery)) = (&failure, ambiguous, &recovery)
                            && let Some(settle) = recovery.settle(&api)
                            && let Some(settled) = self
                                .settle(client, recovery, settle, template.as_ref(), operation_id)
                                .await
                        {
                            return Ok(settled);
                        }
                        (Ok(response), failure)
                    }
                    Err(error) => {
                        let failure = Self::after_send_failure(&error, &method, recovery.as_ref(), operation_id);
                        ambiguous |= !error.is_connect() && recovery.is_some();
                        (Err(error), failure)
                    }
                };
                let status = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                if matches!(status, 401 | 403) {
                    CallRecord::update(|facts| facts.auth_context = Some(self.auth_context.to_string()));
                }
                span.in_scope(|| {
                    tracing::debug!(
                        status,
                        duration_ms = attempt_started.elapsed().as_millis() as u64,
                        "attempt finished"
                    )
                });
                let elapsed = clock.elapsed();
                CallRecord::update(|facts| {
                    facts.attempts = attempt;
                    facts.elapsed = elapsed;
                });
                let (Some(failure), Some(mut next)) = (failure, spare) else {
                    return result;
                };
                match retry.on_failure(attempt, elapsed, &failure) {
                    RetryDecision::Retry { after } => {
                        tracing::info!(
                            operation = operation_id,
                            status,
                            attempt,
                            ambiguous,
                            delay_ms = after.as_millis() as u64,
                            "retrying"
                        );
                        clock.sleep(self.sleeper.as_ref(), after).await;
                        // A long wait may outlive an OAuth token; fetch a current one.
                        if self.authorize(&mut next).await.is_err() {
                            return result;
                        }
                        // The budget is enforced at its deadline: a retry may not outlive it.
                        if let Some(remaining) = retry.budget().map(|b| b.saturating_sub(clock.elapsed())) {
                            *next.timeout_mut() =
                                Some(self.request_timeout.min(remaining.max(Duration::from_millis(1))));
                        }
                        pending = next;
                    }
                    RetryDecision::BudgetExhausted => {
                        CallRecord::update(|facts| facts.budget_exhausted = true);
                        return result;
                    }
                    RetryDecision::DoNotRetry => return result,
                }
            }
        })
    }
}
