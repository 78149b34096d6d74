//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default): the
//! HTTP API's request handling (routing, query strings, JSON bodies, field masks, page
//! tokens) driven in-process, without a socket, so a fuzzer can run it millions of times.

use std::time::Duration;

use axum::http::Method;
use serde_json::{Value, json};

use crate::config::Config;
use crate::dispatch;
use crate::resources::projects;
use crate::server::{API_PREFIX, AppState, handle};

/// Page-token salt of every harness, so that tokens in a corpus stay valid across runs.
const SALT: u64 = 0x5eed;

/// An emulator state without a server, holding the ready project `projects/seed` (its
/// `production` branch and `primary` endpoint); operations finish at once.
pub struct ApiHarness {
    state: AppState,
}

impl ApiHarness {
    /// A fresh state with the seed project.
    pub fn new() -> Self {
        let config = Config {
            op_latency: Duration::ZERO,
            reconcile: Duration::ZERO,
            default_page_size: 2,
            ..Config::default()
        };
        let mut state = AppState::new(&config, "http://127.0.0.1:1".to_string())
            .unwrap_or_else(|e| unreachable!("an emulator state without PostgreSQL always starts: {e}"));
        state.salt = SALT;
        let seeded = state.with_ctx(false, None, |ctx| {
            projects::insert(ctx, "seed", &json!({"spec": {"display_name": "Seed"}}))
        });
        assert!(matches!(seeded, Some(Ok(_))), "the seed project is created");
        Self { state }
    }

    /// Handles one API request as the server would after authentication: `method`, the
    /// path with its raw query (`/api/2.0/postgres/projects?page_size=1`) and the body.
    /// Returns the status and the JSON answer (the error body for errors).
    pub fn request(&self, method: &[u8], path_and_query: &str, body: &[u8]) -> (u16, Value) {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let Ok(method) = Method::from_bytes(method) else {
            return (405, Value::Null);
        };
        let Some(rest) = path.strip_prefix(API_PREFIX) else {
            return (404, Value::Null);
        };
        let caller = self.state.user.clone();
        let answer = dispatch::resolve(&method, rest, path)
            .and_then(|resolved| handle(&self.state, resolved, query, body, false, &caller));
        match answer {
            Ok(v) => (200, v),
            Err(e) => (e.status.as_u16(), e.body()),
        }
    }
}

impl Default for ApiHarness {
    fn default() -> Self {
        Self::new()
    }
}
