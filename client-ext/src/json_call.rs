//! One request with a JSON body (or none) through the client's executor: authentication,
//! standard headers, retries and tracing, exactly like the typed calls.
//!
//! For what the typed surface does not cover: workspace calls outside the Postgres API spec
//! (SCIM `Me`) and tools that drive the API from data, such as the `lakebase api` commands,
//! which send user-supplied JSON as is (unknown fields included) and print what comes back.

use lakebase_generated::ClientInfo;
use serde_json::Value;

use crate::Client;
use crate::call::{api_error, with_auth_context, with_budget, with_maybe_applied};
use crate::error::{AuthError, Error, InvalidInput, TransportError, body_snippet};
use crate::transport::CallRecord;

impl Client {
    /// Sends `method {host}{path_and_query}` with `body` as JSON (none when `None`) and
    /// decodes the 2xx response as JSON; an empty 2xx body reads as `{}`, as the official SDK
    /// reads it. `operation_id` names the call in traces. Errors are the typed calls' errors:
    /// [`Error::Api`] keeps status, error code, message and details.
    ///
    /// ```no_run
    /// # async fn demo(client: lakebase::Client) -> Result<(), lakebase::Error> {
    /// let branch = client
    ///     .call_json(http::Method::GET, "/api/2.0/postgres/projects/my-app/branches/dev", None, "get_branch")
    ///     .await?;
    /// println!("{}", branch["status"]["current_state"]);
    /// # Ok(()) }
    /// ```
    pub async fn call_json(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&Value>,
        operation_id: &'static str,
    ) -> Result<Value, Error> {
        let body = self.send(method, path_and_query, body, operation_id).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            what: operation_id.to_owned(),
            message: e.to_string(),
            body_snippet: body_snippet(&body),
            source: Some(Box::new(e)),
        })
    }

    /// `GET {host}{path}` decoded as `T` (see [`call_json`](Self::call_json)).
    pub(crate) async fn get_typed<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        operation_id: &'static str,
        path: &str,
    ) -> Result<T, Error> {
        let body = self.send(http::Method::GET, path, None, operation_id).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            what: what.to_owned(),
            message: e.to_string(),
            body_snippet: body_snippet(&body),
            source: Some(Box::new(e)),
        })
    }

    /// Sends one request through the executor; the body of a 2xx response.
    async fn send(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&Value>,
        operation_id: &'static str,
    ) -> Result<Vec<u8>, Error> {
        let raw = self.raw();
        let http = raw.client();
        let mut builder = http
            .request(method, format!("{}{path_and_query}", raw.baseurl()))
            .header(http::header::ACCEPT, "application/json");
        if let Some(body) = body {
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let mut request = builder
            .build()
            .map_err(|e| Error::InvalidInput(InvalidInput::new("request", e.to_string())))?;
        let send = async {
            let Some(executor) = raw.inner().executor() else {
                return Err(None);
            };
            executor.prepare(&mut request, operation_id).await.map_err(Some)?;
            Ok(executor.execute(http, request, operation_id).await)
        };
        let (outcome, mut summary) = CallRecord::scope(send).await;
        let response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                let error = Error::Transport(TransportError::from(error));
                return Err(with_budget(with_maybe_applied(error, &mut summary), summary));
            }
            Err(message) => {
                let message = message.unwrap_or_else(|| "the client has no request executor".to_owned());
                return Err(summary
                    .auth_error
                    .take()
                    .unwrap_or_else(|| Error::Auth(AuthError::new(message))));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::Transport(TransportError::from(e)))?;
        if !status.is_success() {
            let error = api_error(status, &headers, &body);
            return Err(with_budget(with_auth_context(error, &mut summary), summary));
        }
        Ok(body.to_vec())
    }
}
