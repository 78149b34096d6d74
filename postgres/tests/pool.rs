//! End to end against `lakebase-emulator --postgres`: real logins with real credentials.

mod support;

use std::time::Instant;

use support::{USER, lab};

#[tokio::test]
async fn queries_through_the_pool_with_discovered_host_and_user() {
    let Some(lab) = lab(|b| b).await else { return };
    let t = Instant::now();
    let pool = lab.pool().build().await.unwrap();
    assert_eq!(Some(pool.host()), lab.endpoint_hosts().await.host.as_deref());
    assert_eq!(pool.user(), USER);
    let conn = pool.get().await.unwrap();
    let row = conn.query_one("select current_user::text, 1 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), USER);
    assert_eq!(row.get::<_, i32>(1), 2);
    eprintln!("first query after {:?}", t.elapsed());
    assert_eq!(lab.mints(), 1);
}

#[tokio::test]
async fn fifty_concurrent_gets_on_a_cold_pool_mint_one_credential() {
    let Some(lab) = lab(|b| b).await else { return };
    let pool = lab.pool().max_size(50).build().await.unwrap();
    let gets = (0..50).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let conn = pool.get().await.unwrap();
            let pid: i32 = conn.query_one("select pg_backend_pid()", &[]).await.unwrap().get(0);
            // Hold the connection until every task has one, so all 50 are distinct logins.
            (conn, pid)
        })
    });
    let held: Vec<_> = futures::future::join_all(gets)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut pids: Vec<i32> = held.iter().map(|(_, pid)| *pid).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 50, "fifty distinct sessions");
    assert_eq!(pool.status().size, 50);
    assert_eq!(lab.mints(), 1);
    assert_eq!(pool.credentials().stats().minted, 1);
}

/// Collects everything written by a `tracing_subscriber::fmt` subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_debug_and_errors_never_show_the_token() {
    let Some(lab) = lab(|b| b).await else { return };
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let pool = lab.pool().build().await.unwrap();
    let conn = pool.get().await.unwrap();
    conn.query_one("select 1", &[]).await.unwrap();
    let credential = pool.credentials().current().unwrap();
    let token = credential.token().expose().to_owned();
    assert!(!token.is_empty());
    // A login with a wrong database fails; its error must not quote the password either.
    let error = lab
        .pool()
        .database("no_such_db")
        .build()
        .await
        .unwrap()
        .get()
        .await
        .unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("lakebase.credential.mint"), "{logs}");
    assert!(logs.contains("lakebase.connect"), "{logs}");
    assert!(logs.contains(&format!("endpoint={}", lab.endpoint)), "{logs}");
    assert!(
        logs.contains(&format!("user=\"{USER}\"")) || logs.contains(&format!("user={USER}")),
        "{logs}"
    );
    for text in [
        logs,
        format!("{pool:?}"),
        format!("{credential:?}"),
        format!("{error} {error:?}"),
    ] {
        assert!(!text.contains(&token), "token leaked into: {text}");
    }
}
