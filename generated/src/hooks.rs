//! How the generated [`Client`](crate::Client) hands its requests over.
//!
//! Every generated method builds a `reqwest::Request` and then calls two hooks: `pre`
//! (once) and `exec` (to send it). Both are routed to a [`RequestExecutor`] when the
//! client carries one; without one the request is sent as built. The `lakebase` crate
//! supplies the executor that adds authentication, retries and tracing, which keeps
//! that policy out of generated code.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends the requests of the generated client.
pub trait RequestExecutor: Send + Sync + fmt::Debug + 'static {
    /// Runs once before the first attempt; an error stops the call with
    /// [`Error::Custom`] carrying the message.
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Sends the request, with whatever retrying the executor does.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>>;
}

/// The value the generated client carries: an optional executor.
#[derive(Clone, Default)]
pub struct Hooks {
    executor: Option<Arc<dyn RequestExecutor>>,
}

impl Hooks {
    /// Hooks that send every request through `executor`.
    pub fn with_executor(executor: Arc<dyn RequestExecutor>) -> Self {
        Hooks {
            executor: Some(executor),
        }
    }

    /// The executor, if any.
    pub fn executor(&self) -> Option<&Arc<dyn RequestExecutor>> {
        self.executor.as_ref()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks").field("executor", &self.executor).finish()
    }
}

impl ClientHooks<Hooks> for crate::Client {
    async fn pre<E>(&self, request: &mut reqwest::Request, info: &OperationInfo) -> Result<(), Error<E>> {
        match self.inner().executor() {
            Some(executor) => executor
                .prepare(request, info.operation_id)
                .await
                .map_err(Error::Custom),
            None => Ok(()),
        }
    }

    async fn exec(&self, request: reqwest::Request, info: &OperationInfo) -> reqwest::Result<reqwest::Response> {
        match self.inner().executor() {
            Some(executor) => executor.execute(self.client(), request, info.operation_id).await,
            None => self.client().execute(request).await,
        }
    }
}
