//! Shared helpers of the httpmock integration tests: a scripted mock server that records
//! every request it receives, a client wired to it with zero-delay policies, and
//! assertions on the standard headers.
#![allow(dead_code)]

pub mod m2m;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer};
use lakebase::config::MapEnv;
use lakebase::retry::{ExponentialRetry, FixedJitter, RecordingSleeper, RetryDecision, RetryPolicy, RetryableFailure};
use lakebase::{Client, Config, PollingPolicy};
use serde_json::Value;

/// The token every test client uses.
pub const TOKEN: &str = "t";

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// `200` with a JSON body.
    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// `status` with a raw body and no content type.
    pub fn raw(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// Adds a response header.
    pub fn header(mut self, key: &str, value: &str) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    fn to_response(&self) -> HttpMockResponse {
        let mut b = HttpMockResponse::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(self.body.clone()).build()
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// The raw path, exactly as sent (not percent-decoded).
    pub path: String,
    /// The raw query string (`None` when the URL has no `?`).
    pub raw_query: Option<String>,
    /// The query decoded into pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    fn from_mock(r: &HttpMockRequest) -> Self {
        let uri = r.uri();
        Req {
            method: r.method().to_string(),
            path: uri.path().to_string(),
            raw_query: uri.query().map(str::to_string),
            query: r.query_params(),
            headers: r.headers(),
            body: r.body_vec(),
        }
    }

    /// A header value (`None` if absent).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii header"))
    }

    /// How many times a header was sent.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers.get_all(name).iter().count()
    }

    /// The body parsed as JSON (panics when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The query pairs, sorted (for multiset comparison).
    pub fn sorted_query(&self) -> Vec<(String, String)> {
        let mut q = self.query.clone();
        q.sort();
        q
    }

    /// Asserts method, exact raw path and the exact multiset of decoded query pairs.
    pub fn assert_line(&self, method: &str, path: &str, query: &[(&str, &str)]) {
        assert_eq!(self.method, method, "method of {self:?}");
        assert_eq!(self.path, path, "raw path of {self:?}");
        let mut expected: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        expected.sort();
        assert_eq!(
            self.sorted_query(),
            expected,
            "query pairs of {} {}",
            self.method,
            self.path
        );
    }

    /// Asserts the headers every API request carries: bearer token, `Accept`, `User-Agent`,
    /// `Content-Type` iff `has_body` (and then a non-empty body), the workspace id iff given.
    pub fn assert_std_headers(&self, has_body: bool, workspace_id: Option<&str>) {
        assert_eq!(self.header("authorization"), Some("Bearer t"), "{self:?}");
        assert_eq!(self.header_count("authorization"), 1);
        assert_eq!(self.header("accept"), Some("application/json"), "{self:?}");
        let ua = self.header("user-agent").expect("user-agent");
        assert!(
            ua.starts_with(&format!("lakebase-rs/{} ", lakebase::VERSION)),
            "user-agent {ua:?}"
        );
        assert!(ua.contains(" auth/pat"), "user-agent {ua:?}");
        if has_body {
            assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
            assert!(!self.body.is_empty());
        } else {
            assert_eq!(self.header("content-type"), None, "no body, no content type: {self:?}");
            assert!(
                self.body.is_empty(),
                "unexpected body {:?}",
                String::from_utf8_lossy(&self.body)
            );
        }
        assert_eq!(self.header("x-databricks-workspace-id"), workspace_id, "{self:?}");
        assert!(self.header_count("x-databricks-workspace-id") <= 1);
    }
}

/// The requests a [`script`] mock received, in order.
#[derive(Clone, Default, Debug)]
pub struct Log(Arc<Mutex<Vec<Req>>>);

impl Log {
    pub fn requests(&self) -> Vec<Req> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn get(&self, i: usize) -> Req {
        self.requests()
            .get(i)
            .cloned()
            .unwrap_or_else(|| panic!("request #{i} was never received"))
    }
}

/// Answers every request under `/api/2.0/postgres/` with the next reply of `replies`, in
/// order, and records it. Requests beyond the script get a `599` so that tests fail loudly.
pub async fn script(server: &MockServer, replies: Vec<Reply>) -> (Mock<'_>, Log) {
    script_under(server, "/api/2.0/postgres/", replies).await
}

/// Like [`script`], for the requests whose raw path starts with `prefix`.
pub async fn script_under<'a>(server: &'a MockServer, prefix: &str, replies: Vec<Reply>) -> (Mock<'a>, Log) {
    let log = Log::default();
    let recorder = log.clone();
    let prefix = prefix.to_string();
    let mock = server
        .mock_async(move |when, then| {
            when.path_prefix(prefix);
            then.respond_with(move |req: &HttpMockRequest| {
                let mut requests = recorder.0.lock().unwrap();
                let i = requests.len();
                requests.push(Req::from_mock(req));
                match replies.get(i) {
                    Some(reply) => reply.to_response(),
                    None => Reply::json(599, serde_json::json!({"message": "script exhausted"})).to_response(),
                }
            });
        })
        .await;
    (mock, log)
}

/// A retry policy that retries up to `max_attempts` attempts (sleeping `delay` between
/// them), then reports the budget as exhausted; it records the elapsed times it saw.
#[derive(Debug)]
pub struct AttemptBudget {
    pub max_attempts: u32,
    pub delay: Duration,
}

impl RetryPolicy for AttemptBudget {
    fn on_failure(&self, attempt: u32, _elapsed: Duration, _failure: &RetryableFailure) -> RetryDecision {
        if attempt >= self.max_attempts {
            RetryDecision::BudgetExhausted
        } else {
            RetryDecision::Retry { after: self.delay }
        }
    }
}

/// The default retry policy with a fixed jitter of 0.5 (deterministic delays).
pub fn exponential() -> Arc<dyn RetryPolicy> {
    Arc::new(ExponentialRetry::default().with_jitter(Arc::new(FixedJitter(0.5))))
}

/// A config builder for `server` with token `t`, an empty environment, immediate polling
/// and the default retry policy with fixed jitter.
pub fn config(server: &MockServer) -> lakebase::config::ConfigBuilder {
    Config::builder()
        .host(server.base_url())
        .token(TOKEN)
        .env(Arc::new(MapEnv::new()))
        .polling_policy(PollingPolicy::immediate())
        .retry_policy(exponential())
}

/// A client for `config` whose sleeps return at once and are recorded.
pub fn client_with(config: lakebase::config::ConfigBuilder) -> (Client, RecordingSleeper) {
    let sleeper = RecordingSleeper::new();
    let client = Client::with_sleeper(config.build().expect("config"), Arc::new(sleeper.clone())).expect("client");
    (client, sleeper)
}

/// [`client_with`] of [`config`].
pub fn client(server: &MockServer) -> (Client, RecordingSleeper) {
    client_with(config(server))
}

/// A not-done operation named `name`.
pub fn op_pending(name: &str) -> Value {
    serde_json::json!({
        "name": name,
        "done": false,
        "metadata": {"@type": "type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata"}
    })
}

/// A done operation with `response`.
pub fn op_done(name: &str, response: Value) -> Value {
    serde_json::json!({
        "name": name,
        "done": true,
        "metadata": {"@type": "type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata"},
        "response": response
    })
}
