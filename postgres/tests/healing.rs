//! End to end: expiring credentials, stale tokens, suspended computes, connection lifetime.

mod support;

use std::sync::Arc;
use std::time::Duration;

use lakebase_postgres::credential::BoxFuture;
use lakebase_postgres::deadpool_postgres::Object;
use lakebase_postgres::{
    CachedState, CredentialCache, EndpointMinter, Error, MintCredential, MintedCredential, RefreshPolicy,
};

type Mint<'a> = BoxFuture<'a, Result<MintedCredential, lakebase::Error>>;
use support::lab;

async fn pid(conn: &Object) -> i32 {
    conn.query_one("select pg_backend_pid()", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn new_connections_keep_working_across_credential_expiries_and_old_sessions_survive() {
    let ttl = Duration::from_secs(2);
    let Some(lab) = lab(|b| b.credential_ttl(ttl)).await else {
        return;
    };
    let pool = lab.pool().build().await.unwrap();
    // A session opened with the first credential, kept for the whole test.
    let first = Object::take(pool.get().await.unwrap());
    let mut sessions = Vec::new();
    // Four credential lifetimes; a brand-new login every 250 ms.
    let deadline = tokio::time::Instant::now() + 4 * ttl;
    while tokio::time::Instant::now() < deadline {
        let conn = Object::take(pool.get().await.expect("a new login succeeds"));
        let one: i32 = conn.query_one("select 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
        sessions.push(conn);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Sessions opened long ago, with long-expired tokens, still answer.
    let one: i32 = first.query_one("select 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    for conn in &sessions {
        conn.query_one("select 1", &[]).await.unwrap();
    }
    let stats = pool.credentials().stats();
    assert!(stats.minted >= 4, "refreshed across expiries: {stats:?}");
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.rejected, 0, "no login ever saw an expired token: {stats:?}");
    assert_eq!(lab.mints(), stats.minted);
}

/// Hands out a token Postgres will refuse first, then real ones.
#[derive(Debug)]
struct StaleFirst {
    real: EndpointMinter,
    served_stale: std::sync::atomic::AtomicBool,
}

impl MintCredential for StaleFirst {
    fn mint(&self) -> Mint<'_> {
        Box::pin(async move {
            if !self.served_stale.swap(true, std::sync::atomic::Ordering::SeqCst) {
                return Ok(MintedCredential {
                    token: "revoked-token".into(),
                    expires_at: tokio::time::Instant::now() + Duration::from_secs(3600),
                });
            }
            self.real.mint().await
        })
    }
}

#[tokio::test]
async fn a_stale_cached_token_is_healed_by_one_retry() {
    let Some(lab) = lab(|b| b).await else { return };
    let minter = StaleFirst {
        real: EndpointMinter::new(lab.client.clone(), lab.endpoint.clone(), Duration::from_secs(3600)),
        served_stale: false.into(),
    };
    let cache = CredentialCache::new(lab.endpoint.to_string(), Arc::new(minter), RefreshPolicy::default());
    let pool = lab.pool().credentials(cache.clone()).build().await.unwrap();
    let conn = pool.get().await.expect("healed");
    assert!(pid(&conn).await > 0);
    let stats = cache.stats();
    assert_eq!(stats.rejected, 1);
    assert_eq!(stats.minted, 2, "the stale one and its replacement");
    assert_eq!(lab.mints(), 1, "one real credential request");
    assert_eq!(cache.current().unwrap().id(), 2);
}

#[tokio::test]
async fn a_token_refused_twice_fails_with_28p01() {
    #[derive(Debug)]
    struct AlwaysWrong;
    impl MintCredential for AlwaysWrong {
        fn mint(&self) -> Mint<'_> {
            Box::pin(async {
                Ok(MintedCredential {
                    token: "wrong".into(),
                    expires_at: tokio::time::Instant::now() + Duration::from_secs(3600),
                })
            })
        }
    }
    let Some(lab) = lab(|b| b).await else { return };
    let cache = CredentialCache::new(
        lab.endpoint.to_string(),
        Arc::new(AlwaysWrong),
        RefreshPolicy::default(),
    );
    let pool = lab.pool().credentials(cache.clone()).build().await.unwrap();
    let error = pool.get().await.unwrap_err();
    assert_eq!(error.sqlstate(), Some("28P01"), "{error}");
    assert!(!error.to_string().contains("wrong\""), "{error}");
    assert_eq!(cache.stats().rejected, 1, "one retry, not a loop");
    assert_eq!(cache.stats().minted, 2);
}

#[tokio::test]
async fn a_suspended_endpoint_wakes_on_get() {
    let Some(lab) = lab(|b| b).await else { return };
    let pool = lab.pool().build().await.unwrap();
    let before = Object::take(pool.get().await.unwrap());
    drop(before);
    lab.emu.suspend_endpoint(lab.endpoint.as_ref()).await.unwrap();
    let state = lab
        .client
        .get_endpoint(&lab.endpoint)
        .await
        .unwrap()
        .status
        .unwrap()
        .current_state;
    assert_eq!(state.map(|s| s.to_string()).as_deref(), Some("IDLE"));
    let conn = pool.get().await.expect("the compute wakes");
    let one: i32 = conn.query_one("select 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    assert_eq!(lab.mints(), 1, "the credential survived the suspension");
}

#[tokio::test]
async fn connections_older_than_max_lifetime_are_replaced() {
    let Some(lab) = lab(|b| b).await else { return };
    let pool = lab
        .pool()
        .max_size(1)
        .max_lifetime(Some(Duration::from_millis(500)))
        .build()
        .await
        .unwrap();
    let first = pid(&pool.get().await.unwrap()).await;
    assert_eq!(pid(&pool.get().await.unwrap()).await, first, "reused while young");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let replaced = pid(&pool.get().await.unwrap()).await;
    assert_ne!(replaced, first);
    assert_eq!(pool.status().size, 1);
    assert_eq!(lab.mints(), 1);
}

#[tokio::test]
async fn without_a_credential_get_fails_with_a_typed_error() {
    let Some(lab) = lab(|b| b.token(support::TOKEN)).await else {
        return;
    };
    // A client whose token the emulator refuses; host and user given, so only minting fails.
    let refused = support::client_for(&lab.emu, lakebase::Config::builder().token("not-the-token"));
    let pool = lab
        .pool()
        .client(refused)
        .host(lab.endpoint_hosts().await.host.unwrap())
        .user(support::USER)
        .build()
        .await
        .unwrap();
    match pool.get().await.unwrap_err() {
        Error::Credential(error) => {
            assert_eq!(error.endpoint(), lab.endpoint.to_string());
            assert_eq!(error.cached(), CachedState::Empty);
            match error.api_error() {
                lakebase::Error::Api(api) => assert_eq!(api.status, 401),
                other => panic!("unexpected {other:?}"),
            }
        }
        other => panic!("unexpected {other:?}"),
    }
}
