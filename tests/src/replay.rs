//! A scripted HTTP server on `127.0.0.1:0`: it answers the i-th request with the i-th
//! scripted response, whatever the request is, and records every request as received
//! (raw path bytes, raw query, headers, body).
//!
//! A request beyond the script is answered with status [`EXTRA_REQUEST_STATUS`] and
//! recorded with [`RawRequest::beyond_script`] set, so the comparison reports it.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use bytes::Bytes;

use crate::cassette::RecordedResponse;

/// Status sent for a request the script does not cover.
pub const EXTRA_REQUEST_STATUS: u16 = 599;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct RawRequest {
    /// HTTP method.
    pub method: String,
    /// The path of the request target exactly as sent (not decoded).
    pub path: String,
    /// The raw query string (empty when none).
    pub raw_query: String,
    /// Every header, in order; names lower case.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Bytes,
    /// Whether this request came after the script ran out.
    pub beyond_script: bool,
}

impl RawRequest {
    /// Every value of a header (name case-insensitive).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `METHOD path?query`, for reports.
    pub fn summary(&self) -> String {
        if self.raw_query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.raw_query)
        }
    }
}

#[derive(Default)]
struct Script {
    responses: Vec<RecordedResponse>,
    received: Vec<RawRequest>,
}

/// A running replay server; stopped when dropped.
pub struct ReplayServer {
    base_url: String,
    state: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReplayServer {
    /// Binds `127.0.0.1:0` and starts serving `responses` in order. Must be called inside
    /// a Tokio runtime.
    pub async fn start(responses: Vec<RecordedResponse>) -> std::io::Result<ReplayServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(Script {
            responses,
            received: Vec::new(),
        }));
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ReplayServer {
            base_url: format!("http://{addr}"),
            state,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.state.lock().expect("replay state poisoned").received.clone()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(state): State<Arc<Mutex<Script>>>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut raw = RawRequest {
        method: parts.method.as_str().to_string(),
        // `Uri::path` is the request target's path as received: hyper does not decode it.
        path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        body,
        beyond_script: false,
    };
    let mut script = state.lock().expect("replay state poisoned");
    let index = script.received.len();
    let scripted = script.responses.get(index).cloned();
    raw.beyond_script = scripted.is_none();
    script.received.push(raw);
    drop(script);
    match scripted {
        Some(r) => build_response(&r),
        None => {
            let body = serde_json::json!({
                "error_code": "CONFORMANCE_EXTRA_REQUEST",
                "message": format!("request #{index} is beyond the cassette's script"),
            });
            let mut response = Response::new(Body::from(body.to_string()));
            *response.status_mut() = StatusCode::from_u16(EXTRA_REQUEST_STATUS).expect("valid status");
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// The HTTP response for a scripted one: status, headers (except `Content-Length`), JSON
/// body (`null` → empty body).
pub fn build_response(r: &RecordedResponse) -> Response<Body> {
    let body = if r.body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(serde_json::to_vec(&r.body).expect("JSON"))
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers: &mut HeaderMap = response.headers_mut();
    for (name, value) in &r.headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(n, v);
        }
    }
    response
}
