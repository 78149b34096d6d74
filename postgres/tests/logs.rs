//! What the pool and the emulator's front end log while credentials are minted, refreshed,
//! refused and healed, and while the front end checks logins: no database credential ever
//! appears, at any level, in any target, nor in the backing servers' logs. One test in its
//! own binary, so its global subscriber sees every thread.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lakebase::Secret;
use lakebase_postgres::credential::BoxFuture;
use lakebase_postgres::{CredentialCache, EndpointMinter, MintCredential, MintedCredential, RefreshPolicy};
use support::lab;

/// A token the front end refuses; the pool drops it and mints a real one.
const REVOKED: &str = "revoked-token-secret";
/// A password sent straight to the front end, wrong.
const WRONG: &str = "wrong-password-secret";

/// Hands out [`REVOKED`] first, then real credentials.
#[derive(Debug)]
struct RevokedFirst {
    real: EndpointMinter,
    served: std::sync::atomic::AtomicBool,
}

impl MintCredential for RevokedFirst {
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
        Box::pin(async move {
            if !self.served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                return Ok(MintedCredential {
                    token: Secret::new(REVOKED),
                    expires_at: tokio::time::Instant::now() + Duration::from_secs(3600),
                });
            }
            self.real.mint().await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_refreshes_and_proxy_logins_never_log_a_credential() {
    let logs = LogCapture::default();
    tracing::subscriber::set_global_default(logs.subscriber()).expect("the only subscriber");
    let ttl = Duration::from_secs(2);
    let Some(lab) = lab(|b| b.credential_ttl(ttl)).await else {
        return;
    };
    let mut tokens = BTreeSet::new();

    // Refreshes: new logins across three credential lifetimes.
    let pool = lab.pool().build().await.unwrap();
    let deadline = tokio::time::Instant::now() + 3 * ttl;
    while tokio::time::Instant::now() < deadline {
        let conn = lakebase_postgres::deadpool_postgres::Object::take(pool.get().await.expect("login"));
        conn.query_one("select 1", &[]).await.unwrap();
        tokens.insert(pool.credentials().current().unwrap().token().expose().to_owned());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        pool.credentials().stats().minted >= 3,
        "{:?}",
        pool.credentials().stats()
    );

    // A refused token, healed by a fresh one.
    let minter = RevokedFirst {
        real: EndpointMinter::new(lab.client.clone(), lab.endpoint.clone(), Duration::from_secs(3600)),
        served: false.into(),
    };
    let cache = CredentialCache::new(lab.endpoint.to_string(), Arc::new(minter), RefreshPolicy::default());
    let healed = lab.pool().credentials(cache.clone()).build().await.unwrap();
    healed
        .get()
        .await
        .expect("healed")
        .query_one("select 1", &[])
        .await
        .unwrap();
    assert_eq!(cache.stats().rejected, 1);
    tokens.insert(cache.current().unwrap().token().expose().to_owned());

    // A wrong password sent straight to the front end.
    let host = lab.endpoint_hosts().await.host.unwrap();
    let Err(refused) = lakebase_postgres::tokio_postgres::Config::new()
        .host(&host)
        .port(lab.emu.pg_port().unwrap())
        .user(support::USER)
        .password(WRONG)
        .dbname("databricks_postgres")
        .connect(lakebase_postgres::tokio_postgres::NoTls)
        .await
    else {
        panic!("a wrong password is refused");
    };
    assert_eq!(refused.as_db_error().map(|e| e.code().code()), Some("28P01"));

    let text = logs.text();
    for needle in [
        "lakebase.credential.mint",
        "lakebase.connect",
        "rejected",
        "path=/api/2.0/postgres/credentials",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the logs:\n{text}");
    }
    let servers: String = std::fs::read_dir(lab.emu.postgres_log_dir().unwrap())
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert!(tokens.len() >= 3, "{} distinct credentials", tokens.len());
    for secret in tokens.iter().map(String::as_str).chain([REVOKED, WRONG]) {
        assert!(!text.contains(secret), "{secret:?} is in the logs:\n{text}");
        assert!(
            !servers.contains(secret),
            "{secret:?} is in the servers' logs:\n{servers}"
        );
    }
}

/// Collects what the process logs through `tracing` (every level, every target) as text.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(self.clone())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .finish()
    }

    fn text(&self) -> String {
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
