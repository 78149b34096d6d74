//! Fault injection: reproducible sequences, 429 with Retry-After, 503, dropped connections.

mod common;

use std::time::Duration;

use common::T;
use lakebase_emulator::{Emulator, FaultConfig};
use serde_json::{Value, json};

async fn outcomes(t: &T, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = t
            .http
            .get(format!("{}/api/2.0/postgres/projects", t.base))
            .bearer_auth(common::TOKEN)
            .send()
            .await;
        out.push(match r {
            Ok(resp) => resp.status().as_u16().to_string(),
            Err(_) => "drop".to_string(),
        });
    }
    out
}

fn mixed(seed: u64) -> FaultConfig {
    FaultConfig {
        rate_429: 0.2,
        rate_503: 0.2,
        drop_rate: 0.1,
        seed,
        ..FaultConfig::default()
    }
}

#[tokio::test]
async fn same_seed_same_fault_sequence() {
    let a = T::with(Emulator::builder().faults(mixed(42))).await;
    let b = T::with(Emulator::builder().faults(mixed(42))).await;
    let sa = outcomes(&a, 60).await;
    let sb = outcomes(&b, 60).await;
    assert_eq!(sa, sb);
    for kind in ["200", "429", "503", "drop"] {
        assert!(sa.iter().any(|s| s == kind), "{kind} missing from {sa:?}");
    }
    let c = T::with(Emulator::builder().faults(mixed(7))).await;
    assert_ne!(outcomes(&c, 60).await, sa);
    // re-seeding at run time restarts the sequence
    a.emu.set_faults(mixed(42));
    assert_eq!(outcomes(&a, 60).await, sa);
}

#[tokio::test]
async fn injected_errors_have_databricks_bodies() {
    let t = T::with(Emulator::builder().faults(FaultConfig {
        rate_429: 1.0,
        retry_after_secs: 3,
        ..FaultConfig::default()
    }))
    .await;
    let resp = t
        .http
        .get(format!("{}/api/2.0/postgres/projects", t.base))
        .bearer_auth("x")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("3")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error_code"], json!("REQUEST_LIMIT_EXCEEDED"));
    t.emu.set_faults(FaultConfig {
        rate_503: 1.0,
        ..FaultConfig::default()
    });
    let (s, v) = t.get("projects").await;
    assert_eq!((s, v["error_code"].clone()), (503, json!("TEMPORARILY_UNAVAILABLE")));
    // faults are counted per method
    assert_eq!(t.emu.request_count("list_projects"), 2);
    // disabling faults at run time through the admin endpoint
    let resp = t
        .http
        .put(format!("{}/_emulator/faults", t.base))
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(t.get("projects").await.0, 200);
    let stats: Value = t.get_unauthenticated("/_emulator/stats").await;
    assert_eq!(stats["by_method"]["list_projects"], json!(3));
}

#[tokio::test]
async fn dropped_connections_fail_the_request() {
    let t = T::with(Emulator::builder().faults(FaultConfig {
        drop_rate: 1.0,
        ..FaultConfig::default()
    }))
    .await;
    let r = t
        .http
        .get(format!("{}/api/2.0/postgres/projects", t.base))
        .bearer_auth("x")
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "a dropped connection must not yield a complete response");
}

#[tokio::test]
async fn added_latency_is_applied() {
    let t = T::with(Emulator::builder().faults(FaultConfig {
        latency_ms: 50,
        ..FaultConfig::default()
    }))
    .await;
    let start = std::time::Instant::now();
    assert_eq!(t.get("projects").await.0, 200);
    // a lower bound only: sleeping can only make it longer
    assert!(start.elapsed() >= Duration::from_millis(50));
}

/// A lost response: the create is applied (the project exists), the client gets no answer,
/// and the request log says so; a repeated create meets the first one.
#[tokio::test]
async fn a_lost_response_is_applied_and_logged() {
    let t = T::with(Emulator::builder().op_latency(Duration::ZERO).faults(FaultConfig {
        lost_response_rate: 1.0,
        ..FaultConfig::default()
    }))
    .await;
    let url = format!("{}/api/2.0/postgres/projects?project_id=lost", t.base);
    let sent = t.http.post(&url).bearer_auth("x").json(&json!({})).send().await;
    let answered = match sent {
        Ok(resp) => resp.bytes().await.is_ok(),
        Err(_) => false,
    };
    assert!(!answered, "the answer of a lost response arrived");
    t.emu.set_faults(FaultConfig::default());
    let again = t
        .http
        .post(&url)
        .bearer_auth("x")
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(again.status().as_u16(), 409);
    let log = t.emu.request_log();
    let seen: Vec<_> = log.iter().map(|r| (r.op.as_str(), r.fault, r.status)).collect();
    assert_eq!(
        seen,
        [
            ("create_project", "lost_response", Some(200)),
            ("create_project", "none", Some(409)),
        ]
    );
    assert!(log.iter().all(|r| r.path == "/api/2.0/postgres/projects"));
    let stats: Value = t
        .http
        .get(format!("{}/_emulator/requests", t.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(stats[0]["fault"], json!("lost_response"));
    assert_eq!(stats[1]["status"], json!(409));
}

/// "Slow then lost": the answer is held past the client's request timeout and never arrives,
/// although the request was applied.
#[tokio::test]
async fn a_slow_then_lost_response_outlasts_the_client_timeout() {
    let t = T::with(Emulator::builder().op_latency(Duration::ZERO).faults(FaultConfig {
        slow_lost_rate: 1.0,
        slow_lost_ms: 2_000,
        ..FaultConfig::default()
    }))
    .await;
    let sent = t
        .http
        .post(format!("{}/api/2.0/postgres/projects?project_id=slow", t.base))
        .bearer_auth("x")
        .timeout(Duration::from_millis(200))
        .json(&json!({}))
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()));
    t.emu.set_faults(FaultConfig::default());
    let read = t
        .http
        .get(format!("{}/api/2.0/postgres/projects/slow", t.base))
        .bearer_auth("x")
        .send()
        .await
        .expect("send");
    assert_eq!(read.status().as_u16(), 200);
    let log = t.emu.request_log();
    assert_eq!(log[0].fault, "slow_lost_response");
    assert_eq!(log[0].status, Some(200));
}
