//! What the crate logs: spans and events name the operation, path, attempt and status, and
//! no secret ever appears, at any level, in any target (our crate's or the HTTP stack's).
//! One test in its own binary, so its global subscriber sees everything.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::prelude::*;
use lakebase::config::MapEnv;
use lakebase::retry::Sleeper;
use lakebase::{Client, Config, Error, ProjectName, types};
use lakebase_emulator::{Emulator, FaultConfig};
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

    ambiguous_retries().await;

    let text = logs.text();
    for needle in [
        "lakebase.request",
        "operation=\"get_project\"",
        "status=503",
        "attempt=2",
        "retrying",
        "ambiguous=true",
        "resolution=\"exists_as_sent\"",
        "resolution=\"not_repeated\"",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the logs:\n{text}");
    }
    for secret in [
        SECRET,
        "Y2xpZW50LTE6",
        "m2m-access-secret",
        "dapi-pat-secret",
        AMBIGUOUS_TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret:?} is in the logs:\n{text}");
    }
}

/// The only token the emulator of [`ambiguous_retries`] accepts.
const AMBIGUOUS_TOKEN: &str = "dapi-ambiguous-secret";

/// Between attempts: no wait, and no more faults.
#[derive(Debug)]
struct FaultsOff(Arc<Emulator>);

impl Sleeper for FaultsOff {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.set_faults(FaultConfig::default());
        Box::pin(std::future::ready(()))
    }
}

/// A create whose answer is lost, repeated and settled by a read; a create whose id the
/// server picks, not repeated: both logged with `ambiguous=true`.
async fn ambiguous_retries() {
    let emulator = Arc::new(
        Emulator::builder()
            .op_latency(Duration::ZERO)
            .token(AMBIGUOUS_TOKEN)
            .start()
            .await
            .unwrap(),
    );
    let lose_next = || {
        emulator.set_faults(FaultConfig {
            lost_response_rate: 1.0,
            ..FaultConfig::default()
        })
    };
    let config = Config::builder()
        .host(emulator.base_url())
        .token(AMBIGUOUS_TOKEN)
        .env(Arc::new(MapEnv::new()))
        .build()
        .unwrap();
    let client = Client::with_sleeper(config, Arc::new(FaultsOff(emulator.clone()))).unwrap();
    lose_next();
    client
        .create_project("ambiguous", types::Project::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    lose_next();
    let branch = ProjectName::new("ambiguous").unwrap().branch("production").unwrap();
    let err = client.create_role(&branch, types::Role::default()).await.unwrap_err();
    assert!(matches!(err, Error::MaybeApplied { .. }), "{err:?}");
}

/// Collects what the client process logs through `tracing` (every level) as text.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// A subscriber writing into this capture; install it with `tracing::subscriber::set_default`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        // Everything but the mock server's and the emulator's own logs: they are the remote
        // side, and the mock server prints the headers it receives.
        tracing_subscriber::fmt()
            .with_env_filter("trace,httpmock=off,lakebase_emulator=off")
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
