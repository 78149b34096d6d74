//! What the crate logs: spans and events name the operation, path, attempt and status, and
//! no secret ever appears, at any level, in any target (our crate's or the HTTP stack's).
//! One test in its own binary, so its global subscriber sees everything.

mod support;

use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use lakebase::Config;
use lakebase::config::MapEnv;
use serde_json::json;
use support::m2m::{SECRET, discovery, m2m_config, project, project_reply, token};
use support::{Reply, client_with, script};

/// Every log line at every level, of this crate and of its HTTP stack, while PAT and M2M
/// clients authenticate, retry, refresh and fail: the lines are there (spans name the
/// operation, path, attempt and status), and no secret is in them.
#[tokio::test]
async fn logs_never_show_credentials() {
    let logs = LogCapture::default();
    // Global, in a test binary of its own: thread-local subscribers race with other tests
    // over tracing's per-callsite interest cache.
    tracing::subscriber::set_global_default(logs.subscriber()).expect("the only subscriber");

    let server = MockServer::start_async().await;
    discovery(&server).await;
    token(&server, "m2m-access-secret", 3600).await;
    let (_, _) = script(
        &server,
        vec![
            Reply::raw(503, "").header("Retry-After", "0"),
            project_reply(),
            Reply::json(401, json!({"error_code": "UNAUTHENTICATED", "message": "bad token"})),
        ],
    )
    .await;
    let (m2m, _) = client_with(m2m_config(&server));
    m2m.get_project(&project()).await.unwrap();
    let pat_config = Config::builder()
        .host(server.base_url())
        .token("dapi-pat-secret")
        .env(Arc::new(MapEnv::new()));
    let (pat, _) = client_with(pat_config);
    let err = pat.get_project(&project()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));

    let text = logs.text();
    for needle in [
        "lakebase.request",
        "operation=\"get_project\"",
        "status=503",
        "attempt=2",
        "retrying",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the logs:\n{text}");
    }
    for secret in [SECRET, "Y2xpZW50LTE6", "m2m-access-secret", "dapi-pat-secret"] {
        assert!(!text.contains(secret), "{secret:?} is in the logs:\n{text}");
    }
}

/// Collects what the client process logs through `tracing` (every level) as text.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// A subscriber writing into this capture; install it with `tracing::subscriber::set_default`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        // Everything but the mock server's own logs: it is the remote side, and it prints the
        // headers it receives.
        tracing_subscriber::fmt()
            .with_env_filter("trace,httpmock=off")
            .with_ansi(false)
            .with_writer(self.clone())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .finish()
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
