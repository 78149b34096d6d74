//! Long-running operations: a typed handle that polls until the work is done.
//!
//! Every create, update, delete and undelete answers with an [`Operation`]. Its
//! [`wait`](Operation::wait) polls `GET /api/2.0/postgres/{operation name}` (the name
//! verbatim) on the client's [`PollingPolicy`] until the operation is `done`, then
//! returns the typed result: the resource for creates and updates, `()` for deletes.
//! A finished operation with an `error` becomes [`Error::OperationFailed`]; one with
//! neither `error` nor `response` becomes [`Error::OperationIncomplete`].

use std::marker::PhantomData;
use std::time::Duration;

use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{Error, ErrorCode, ErrorDetail, TimeoutKind};
use crate::names::OperationName;
use crate::polling::PollingPolicy;
use crate::retry::{NoRetry, Stopwatch};
use crate::types;

/// What a finished operation's `response` decodes into: `()` for operations without a
/// result, and (generated from the spec's `x-lakebase-operation`) every `result-schema`.
pub trait OperationResult: Sized + Send + 'static {
    /// Decodes the `response` of a finished operation named `operation`.
    fn from_response(response: &Map<String, Value>, operation: &str) -> Result<Self, Error>;
}

impl OperationResult for () {
    fn from_response(_: &Map<String, Value>, _: &str) -> Result<Self, Error> {
        Ok(())
    }
}

/// Decodes a finished operation's `response` as the resource `what` (the generated
/// [`OperationResult`] impls, one per `result-schema` of the spec, call this).
pub(crate) fn decode_result<R: DeserializeOwned>(
    response: &Map<String, Value>,
    operation: &str,
    what: &str,
) -> Result<R, Error> {
    serde_json::from_value(Value::Object(response.clone())).map_err(|e| Error::Decode {
        what: format!("{what} in the response of operation {operation}"),
        message: e.to_string(),
        body_snippet: crate::error::body_snippet(Value::Object(response.clone()).to_string().as_bytes()),
        source: Some(Box::new(e)),
    })
}

/// The state of an operation after a poll.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationState<M> {
    /// Whether the operation has finished.
    pub done: bool,
    /// The operation's progress information, decoded.
    pub metadata: Option<M>,
    /// The operation as the server sent it.
    pub raw: types::Operation,
}

/// A long-running operation started by a create, update, delete or undelete call.
///
/// `R` is what [`wait`](Self::wait) returns (the resource, or `()`), `M` the type of
/// the operation's metadata. Dropping the handle, or the future of `wait`, stops polling.
///
/// ```no_run
/// # async fn demo(client: lakebase::Client) -> Result<(), lakebase::Error> {
/// use lakebase::{ProjectName, types};
/// let op = client.create_branch(&ProjectName::new("my-app")?, "dev", types::Branch::default()).await?;
/// println!("started {}", op.name());
/// let branch = op.wait().await?;
/// println!("created {:?}", branch.name);
/// # Ok(()) }
/// ```
#[must_use = "an operation runs on the server either way; wait() tells you how it ended"]
pub struct Operation<R, M> {
    client: Client,
    name: OperationName,
    raw: types::Operation,
    /// The polling policy set on the call that started it; `None`: the client's.
    polling: Option<PollingPolicy>,
    _types: PhantomData<fn() -> (R, M)>,
}

impl Client {
    /// A typed handle on an operation started earlier, e.g. one whose name was stored
    /// before a restart. Nothing is sent until it is polled. (Hand-written: it is not an
    /// operation of the API but a way back into [`Operation`]; `get_operation` fetches one
    /// once.)
    ///
    /// ```no_run
    /// # async fn demo(client: lakebase::Client) -> Result<(), lakebase::Error> {
    /// use lakebase::types;
    /// let name = "projects/my-app/operations/abc".parse()?;
    /// let branch = client.resume_operation::<types::Branch, types::BranchOperationMetadata>(name).wait().await?;
    /// # Ok(()) }
    /// ```
    pub fn resume_operation<R: OperationResult, M: DeserializeOwned>(&self, name: OperationName) -> Operation<R, M> {
        Operation::resume(self.clone(), name)
    }
}

impl<R, M> std::fmt::Debug for Operation<R, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("name", &self.name)
            .field("done", &self.raw.done.unwrap_or(false))
            .finish()
    }
}

impl<R: OperationResult, M: DeserializeOwned> Operation<R, M> {
    /// Wraps an operation the server returned.
    pub(crate) fn new(client: Client, raw: types::Operation) -> Result<Self, Error> {
        let name = raw
            .name
            .as_deref()
            .unwrap_or_default()
            .parse::<OperationName>()
            .map_err(|e| Error::Decode {
                what: "Operation".to_string(),
                message: format!("the operation has no usable name: {e}"),
                body_snippet: String::new(),
                source: Some(Box::new(e)),
            })?;
        Ok(Operation {
            client,
            name,
            raw,
            polling: None,
            _types: PhantomData,
        })
    }

    /// Resumes an operation by name (for example one stored before a restart).
    pub(crate) fn resume(client: Client, name: OperationName) -> Self {
        let raw = types::Operation {
            name: Some(name.to_string()),
            ..Default::default()
        };
        Operation {
            client,
            name,
            raw,
            polling: None,
            _types: PhantomData,
        }
    }

    /// Polls on `policy` instead of the client's polling policy (what a request builder's
    /// `with_polling_policy` sets).
    pub(crate) fn with_polling(mut self, policy: Option<PollingPolicy>) -> Self {
        self.polling = policy;
        self
    }

    /// The policy [`wait`](Self::wait) and [`progress`](Self::progress) poll on.
    fn polling_policy(&self) -> PollingPolicy {
        self.polling
            .clone()
            .unwrap_or_else(|| self.client.polling_policy().clone())
    }

    /// The operation's name, as the server assigned it.
    pub fn name(&self) -> &OperationName {
        &self.name
    }

    /// The operation as last seen (the creating call's answer until polled).
    pub fn raw(&self) -> &types::Operation {
        &self.raw
    }

    /// Whether the operation had finished when last seen. No request is made.
    pub fn is_done(&self) -> bool {
        self.raw.done.unwrap_or(false)
    }

    /// The operation's metadata as last seen, decoded; `None` when absent.
    pub fn metadata(&self) -> Result<Option<M>, Error> {
        decode_metadata(&self.raw)
    }

    /// Fetches the operation once and returns its new state.
    pub async fn poll(&mut self) -> Result<OperationState<M>, Error> {
        self.raw = self.client.get_operation(&self.name).await?;
        Ok(OperationState {
            done: self.is_done(),
            metadata: self.metadata()?,
            raw: self.raw.clone(),
        })
    }

    /// Polls on the polling policy (the call's, else the client's) until the operation
    /// finishes and returns its result.
    pub async fn wait(self) -> Result<R, Error> {
        let policy = self.polling_policy();
        self.wait_with(&policy).await
    }

    /// Like [`wait`](Self::wait), with another polling policy.
    pub async fn wait_with(mut self, policy: &PollingPolicy) -> Result<R, Error> {
        let mut clock = Stopwatch::start();
        let mut polls: u32 = 0;
        // An operation this client settled itself after a lost answer has no name on the
        // server to poll; every other is polled at least once, as the official SDKs do.
        if self.is_done() && crate::recovery::is_settled(&self.name) {
            return self.into_result();
        }
        loop {
            self.poll_on_schedule(policy, &mut clock, &mut polls).await?;
            if self.is_done() {
                return self.into_result();
            }
        }
    }

    /// The states seen by polling on the client's policy, ending with the finished one.
    /// The stream ends after the first state with `done == true` or the first error.
    pub fn progress(self) -> impl Stream<Item = Result<OperationState<M>, Error>> + Send
    where
        M: Send + 'static,
    {
        let policy = self.polling_policy();
        futures::stream::try_unfold(
            (Some(self), Stopwatch::start(), 0u32),
            move |(op, mut clock, mut polls)| {
                let policy = policy.clone();
                async move {
                    let Some(mut op) = op else { return Ok(None) };
                    op.poll_on_schedule(&policy, &mut clock, &mut polls).await?;
                    let state = OperationState {
                        done: op.is_done(),
                        metadata: op.metadata()?,
                        raw: op.raw.clone(),
                    };
                    let next = if state.done { None } else { Some(op) };
                    Ok(Some((state, (next, clock, polls))))
                }
            },
        )
    }

    /// Sleeps as the policy says, then polls once; transient poll errors are swallowed
    /// (the next poll retries) until the policy's deadline.
    async fn poll_on_schedule(
        &mut self,
        policy: &PollingPolicy,
        clock: &mut Stopwatch,
        polls: &mut u32,
    ) -> Result<(), Error> {
        let mut last_error = None;
        loop {
            let Some(delay) = policy.next_delay(*polls, clock.elapsed()) else {
                return Err(Error::Timeout {
                    kind: TimeoutKind::OperationWait {
                        operation: self.name.to_string(),
                    },
                    elapsed: clock.elapsed(),
                    attempts: *polls,
                    last_error: last_error.map(Box::new),
                });
            };
            if delay > Duration::ZERO {
                clock.sleep(self.client.sleeper().as_ref(), delay).await;
            }
            *polls += 1;
            // Polling owns its retries: one request per poll, so a wait keeps its deadline
            // (the client's retry budget would otherwise run inside each poll).
            match self.client.get_operation(&self.name).with_retry_policy(NoRetry).await {
                Ok(raw) => {
                    self.raw = raw;
                    return Ok(());
                }
                Err(e) if policy.keep_polling_after(&e) => {
                    tracing::debug!(operation = %self.name, error = %e, "transient error while polling");
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn into_result(self) -> Result<R, Error> {
        if let Some(error) = &self.raw.error {
            return Err(Error::OperationFailed {
                operation: self.name.to_string(),
                error_code: error.error_code.as_ref().map(|c| ErrorCode::from(c.as_str())),
                message: error.message.clone().unwrap_or_default(),
                details: error
                    .details
                    .iter()
                    .map(|d| ErrorDetail::from_json(&Value::Object(d.clone())))
                    .collect(),
            });
        }
        // As the official SDK: a finished operation must carry a `response`, even a delete
        // (whose `{}` or `{"@type": ...Empty}` is then ignored).
        match &self.raw.response {
            Some(response) => R::from_response(response, self.name.as_str()),
            None => Err(Error::OperationIncomplete {
                operation: self.name.to_string(),
            }),
        }
    }
}

impl<M: DeserializeOwned> Operation<types::Endpoint, M> {
    /// Waits for the operation, then reads the endpoint until its `status.pending_state`
    /// clears: an endpoint operation can finish (with a result showing no pending state)
    /// while the endpoint still reconciles, and the service answers a delete or re-create
    /// meanwhile with 409 "reconciliation". Once this returns, neither is refused.
    pub async fn wait_until_settled(self) -> Result<types::Endpoint, Error> {
        let client = self.client.clone();
        let policy = self.polling_policy();
        let done = self.wait_with(&policy).await?;
        let name = done
            .name
            .as_deref()
            .unwrap_or_default()
            .parse::<crate::names::EndpointName>()?;
        let mut clock = Stopwatch::start();
        let mut reads = 0;
        loop {
            let endpoint = client.get_endpoint(&name).await?;
            if endpoint.status.as_ref().is_none_or(|s| s.pending_state.is_none()) {
                return Ok(endpoint);
            }
            let Some(delay) = policy.next_delay(reads, clock.elapsed()) else {
                return Err(Error::Timeout {
                    kind: TimeoutKind::EndpointSettle,
                    elapsed: clock.elapsed(),
                    attempts: reads,
                    last_error: None,
                });
            };
            clock.sleep(client.sleeper().as_ref(), delay).await;
            reads += 1;
        }
    }
}

fn decode_metadata<M: DeserializeOwned>(raw: &types::Operation) -> Result<Option<M>, Error> {
    let Some(metadata) = &raw.metadata else { return Ok(None) };
    serde_json::from_value(Value::Object(metadata.clone()))
        .map(Some)
        .map_err(|e| Error::Decode {
            what: "operation metadata".to_string(),
            message: e.to_string(),
            body_snippet: String::new(),
            source: Some(Box::new(e)),
        })
}
