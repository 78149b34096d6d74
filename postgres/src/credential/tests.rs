//! The refresh schedule and the single flight, on tokio's paused clock (no real sleeps).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

/// A minter that takes `latency` per request, hands out `token-N` living `lifetime`, and
/// fails the requests whose outcome is scripted as `false`.
#[derive(Debug)]
struct FakeMinter {
    lifetime: Duration,
    latency: Duration,
    script: Mutex<VecDeque<bool>>,
    calls: AtomicU64,
    call_times: Mutex<Vec<Instant>>,
}

impl FakeMinter {
    fn new(lifetime: Duration) -> Arc<Self> {
        Self::scripted(lifetime, [])
    }

    fn scripted(lifetime: Duration, outcomes: impl IntoIterator<Item = bool>) -> Arc<Self> {
        Arc::new(FakeMinter {
            lifetime,
            latency: Duration::from_millis(100),
            script: Mutex::new(outcomes.into_iter().collect()),
            calls: AtomicU64::new(0),
            call_times: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Times of the calls, relative to `start`, in whole milliseconds.
    fn call_offsets_ms(&self, start: Instant) -> Vec<u128> {
        self.call_times
            .lock()
            .unwrap()
            .iter()
            .map(|t| (*t - start).as_millis())
            .collect()
    }
}

impl MintCredential for FakeMinter {
    fn mint(&self) -> BoxFuture<'_, Result<MintedCredential, lakebase::Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            self.call_times.lock().unwrap().push(Instant::now());
            tokio::time::sleep(self.latency).await;
            if !self.script.lock().unwrap().pop_front().unwrap_or(true) {
                return Err(lakebase::Error::Config(format!("mint {n} refused")));
            }
            Ok(MintedCredential {
                token: Secret::new(format!("token-{n}")),
                expires_at: Instant::now() + self.lifetime,
            })
        })
    }
}

const HOUR: Duration = Duration::from_secs(3600);

fn cache(minter: &Arc<FakeMinter>) -> CredentialCache {
    CredentialCache::new(
        "projects/p/branches/b/endpoints/e",
        minter.clone(),
        RefreshPolicy::default(),
    )
}

#[tokio::test(start_paused = true)]
async fn fifty_concurrent_gets_on_a_cold_cache_mint_once() {
    let minter = FakeMinter::new(HOUR);
    let cache = cache(&minter);
    let gets = (0..50).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get().await.unwrap() })
    });
    let credentials = futures::future::join_all(gets).await;
    assert_eq!(minter.calls(), 1);
    for credential in credentials {
        let credential = credential.unwrap();
        assert_eq!(credential.id(), 1);
        assert_eq!(credential.token().expose(), "token-1");
    }
    assert_eq!(
        cache.stats(),
        CredentialStats {
            minted: 1,
            failed: 0,
            rejected: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn refreshes_in_the_background_five_minutes_before_expiry() {
    let minter = FakeMinter::new(HOUR);
    let cache = cache(&minter);
    let start = Instant::now();
    let first = cache.get().await.unwrap();
    assert_eq!(first.expires_at() - first.issued_at(), HOUR);
    assert_eq!(
        cache.policy().refresh_at(&first) - first.issued_at(),
        Duration::from_secs(55 * 60)
    );

    tokio::time::sleep_until(cache.policy().refresh_at(&first) - Duration::from_secs(1)).await;
    assert_eq!(minter.calls(), 1, "nothing before the refresh time");
    assert_eq!(cache.get().await.unwrap().id(), 1);

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(minter.calls(), 2, "the background task refreshed");
    // A get after the refresh needs no request of its own.
    assert_eq!(cache.get().await.unwrap().id(), 2);
    assert_eq!(minter.calls(), 2);

    // Over five more hours: one mint per 55 minutes, all in the background.
    tokio::time::sleep(5 * HOUR).await;
    assert_eq!(minter.calls(), 2 + 5);
    let offsets = minter.call_offsets_ms(start);
    for pair in offsets.windows(2) {
        // 55 min after the previous one received its token (100 ms of latency each).
        assert_eq!(pair[1] - pair[0], 55 * 60 * 1000 + 100);
    }
}

#[tokio::test(start_paused = true)]
async fn short_lifetimes_refresh_at_three_quarters_and_stop_serving_at_nine_tenths() {
    let policy = RefreshPolicy::default();
    let minter = FakeMinter::new(Duration::from_secs(8));
    let cache = cache(&minter);
    let first = cache.get().await.unwrap();
    assert_eq!(policy.refresh_at(&first) - first.issued_at(), Duration::from_secs(6));
    assert_eq!(
        policy.usable_until(&first) - first.issued_at(),
        Duration::from_millis(7200)
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    // 30 s / (6 s + 100 ms latency) per generation: the 5th refresh is at 30.5 s.
    assert_eq!(minter.calls(), 5);
    let current = cache.current().unwrap();
    assert!(Instant::now() < policy.usable_until(&current));
}

#[tokio::test(start_paused = true)]
async fn failed_refresh_keeps_the_valid_token_and_backs_off() {
    // Mint 1 succeeds, refreshes 2..4 fail, 5 succeeds.
    let minter = FakeMinter::scripted(HOUR, [true, false, false, false, true]);
    let cache = cache(&minter);
    let start = Instant::now();
    let first = cache.get().await.unwrap();
    let refresh_at = cache.policy().refresh_at(&first);

    tokio::time::sleep_until(refresh_at + Duration::from_millis(500)).await;
    assert_eq!(minter.calls(), 2);
    // The failed refresh left the still-valid token in place: no wait, no request.
    assert_eq!(cache.get().await.unwrap().id(), 1);
    assert_eq!(minter.calls(), 2);

    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(minter.calls(), 5);
    assert_eq!(cache.get().await.unwrap().token().expose(), "token-5");
    let refresh_ms = (refresh_at - start).as_millis();
    // Backoff 1 s, 2 s, 4 s after each failure (each failure took 100 ms).
    assert_eq!(
        minter.call_offsets_ms(start),
        vec![0, refresh_ms, refresh_ms + 1100, refresh_ms + 3200, refresh_ms + 7300]
    );
    assert_eq!(
        cache.stats(),
        CredentialStats {
            minted: 2,
            failed: 3,
            rejected: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_valid_token_get_fails_with_a_typed_error_shared_by_concurrent_callers() {
    let minter = FakeMinter::scripted(HOUR, [false; 8]);
    let cache = cache(&minter);
    let gets = (0..10).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get().await })
    });
    for result in futures::future::join_all(gets).await {
        let error = result.unwrap().unwrap_err();
        assert_eq!(error.cached(), CachedState::Empty);
        assert_eq!(error.endpoint(), "projects/p/branches/b/endpoints/e");
        assert!(error.to_string().contains("mint 1 refused"), "{error}");
    }
    assert_eq!(minter.calls(), 1, "one failing request served all ten callers");
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_not_handed_out() {
    // Mint 1 succeeds; every refresh until well past expiry fails.
    let minter = FakeMinter::scripted(Duration::from_secs(400), [true].into_iter().chain([false; 200]));
    let cache = cache(&minter);
    cache.get().await.unwrap();
    tokio::time::sleep(Duration::from_secs(400)).await;
    let error = cache.get().await.unwrap_err();
    assert_eq!(error.cached(), CachedState::Expired);
    assert!(error.to_string().contains("the cached one expired"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn invalidate_drops_only_the_rejected_credential() {
    let minter = FakeMinter::new(HOUR);
    let cache = cache(&minter);
    let first = cache.get().await.unwrap();
    cache.invalidate(&first);
    let second = cache.get().await.unwrap();
    assert_eq!(second.id(), 2);
    // A late report about the first token does not throw away the second.
    cache.invalidate(&first);
    assert_eq!(cache.get().await.unwrap().id(), 2);
    assert_eq!(minter.calls(), 2);
    assert_eq!(cache.stats().rejected, 1);
}

#[tokio::test(start_paused = true)]
async fn many_rejections_of_the_same_token_cause_one_mint() {
    let minter = FakeMinter::new(HOUR);
    let cache = cache(&minter);
    let stale = cache.get().await.unwrap();
    let heals = (0..20).map(|_| {
        let cache = cache.clone();
        let stale = stale.clone();
        tokio::spawn(async move {
            cache.invalidate(&stale);
            cache.get().await.unwrap().id()
        })
    });
    for id in futures::future::join_all(heals).await {
        assert_eq!(id.unwrap(), 2);
    }
    assert_eq!(minter.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn prefetch_mints_before_the_first_get_and_the_get_joins_it() {
    let minter = FakeMinter::new(HOUR);
    let cache = cache(&minter);
    cache.prefetch();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(minter.calls(), 1, "in flight");
    assert_eq!(cache.get().await.unwrap().id(), 1);
    assert_eq!(minter.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_clone_stops_the_refresher() {
    let minter = FakeMinter::new(Duration::from_secs(300));
    let cache = cache(&minter);
    cache.get().await.unwrap();
    drop(cache);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(minter.calls(), 1);
}

#[test]
fn retry_delays_double_up_to_the_cap() {
    let policy = RefreshPolicy::default();
    let delays: Vec<u64> = (1..=8).map(|n| policy.retry_delay(n).as_secs()).collect();
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    assert_eq!(policy.retry_delay(200), Duration::from_secs(30));
    let zero = RefreshPolicy {
        retry_initial: Duration::ZERO,
        ..RefreshPolicy::default()
    };
    assert_eq!(zero.retry_delay(1), Duration::from_millis(100));
}

#[test]
fn debug_never_shows_the_token() {
    let credential = Credential {
        id: 1,
        token: Secret::new("sekrit-token"),
        issued_at: Instant::now(),
        expires_at: Instant::now() + HOUR,
    };
    assert!(!format!("{credential:?}").contains("sekrit"));
}
