//! Recovery of mutations whose answer was lost (`client-ext/src/recovery.rs`), one test per
//! rule, each asserting the exact request sequence from the emulator's request log.
//!
//! The emulator applies a request, then closes the connection without its answer; the
//! fault is switched off by the sleeper between attempts, so exactly the first attempt of
//! the call under test is lost.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;
use lakebase::retry::{ExponentialRetry, FixedJitter, Sleeper};
use lakebase::{Client, Config, Error, FieldMask, PollingPolicy, ProjectName, types};
use lakebase_emulator::{Emulator, FaultConfig};

/// Between attempts: no wait, and no more faults.
#[derive(Debug)]
struct FaultsOff(Arc<Emulator>);

impl Sleeper for FaultsOff {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.set_faults(FaultConfig::default());
        Box::pin(std::future::ready(()))
    }
}

async fn emulator() -> Arc<Emulator> {
    Arc::new(Emulator::builder().op_latency(Duration::ZERO).start().await.unwrap())
}

fn client(emulator: &Arc<Emulator>, request_timeout: Duration) -> Client {
    let config = Config::builder()
        .host(emulator.base_url())
        .token("emulator-token")
        .env(Arc::new(MapEnv::new()))
        .timeout(request_timeout)
        .retry_policy(Arc::new(
            ExponentialRetry::default().with_jitter(Arc::new(FixedJitter(0.0))),
        ))
        .polling_policy(
            PollingPolicy::default()
                .with_initial_delay(Duration::from_millis(1))
                .with_min_interval(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    Client::with_sleeper(config, Arc::new(FaultsOff(emulator.clone()))).unwrap()
}

/// Loses the answer of the next request.
fn lose_next(emulator: &Emulator) {
    emulator.set_faults(FaultConfig {
        lost_response_rate: 1.0,
        ..FaultConfig::default()
    });
}

/// The request log from `from` on, as `(method name, fault, status)`.
fn log_since(emulator: &Emulator, from: usize) -> Vec<(String, &'static str, Option<u16>)> {
    emulator.request_log()[from..]
        .iter()
        .map(|r| (r.op.clone(), r.fault, r.status))
        .collect()
}

fn entry(op: &str, fault: &'static str, status: u16) -> (String, &'static str, Option<u16>) {
    (op.to_string(), fault, Some(status))
}

fn project(display: &str) -> types::Project {
    types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some(display.into()),
            pg_version: Some(17),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn create_project(client: &Client, id: &str, display: &str) {
    client
        .create_project(id, project(display))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_create_with_the_callers_id_is_repeated_and_already_exists_resolves_to_the_resource() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    lose_next(&emu);
    let op = client.create_project("lost", project("Lost")).await.unwrap();
    assert_eq!(op.name().as_str(), "projects/lost/operations/recovered");
    let created = op.wait().await.unwrap();
    assert_eq!(created.name.as_deref(), Some("projects/lost"));
    assert_eq!(created.status.and_then(|s| s.display_name).as_deref(), Some("Lost"));
    assert_eq!(
        log_since(&emu, 0),
        [
            entry("create_project", "lost_response", 200),
            entry("create_project", "none", 409),
            entry("get_project", "none", 200),
        ]
    );
    assert_eq!(emu.request_log()[2].path, "/api/2.0/postgres/projects/lost");
}

#[tokio::test]
async fn already_exists_stands_when_the_existing_resource_differs_from_what_was_sent() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "taken", "Someone else's").await;
    let from = emu.request_log().len();
    lose_next(&emu);
    let err = client.create_project("taken", project("Mine")).await.unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert_eq!(
        log_since(&emu, from),
        [
            entry("create_project", "lost_response", 409),
            entry("create_project", "none", 409),
            entry("get_project", "none", 200),
        ]
    );
}

#[tokio::test]
async fn a_delete_is_repeated_and_not_found_after_it_is_success() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "doomed", "Doomed").await;
    let name = ProjectName::new("doomed").unwrap();
    let from = emu.request_log().len();
    lose_next(&emu);
    client
        .delete_project(&name)
        .purge(true)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        log_since(&emu, from),
        [
            entry("delete_project", "lost_response", 200),
            entry("delete_project", "none", 404),
        ]
    );
    assert!(client.get_project(&name).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_masked_update_is_repeated_as_it_is() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "renamed", "Before").await;
    let name = ProjectName::new("renamed").unwrap();
    let from = emu.request_log().len();
    lose_next(&emu);
    let mask = FieldMask::new(["spec.display_name"]).unwrap();
    let updated = client
        .update_project(&name, project("After"), &mask)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(updated.status.and_then(|s| s.display_name).as_deref(), Some("After"));
    let log = log_since(&emu, from);
    assert_eq!(
        log[..2],
        [
            entry("update_project", "lost_response", 200),
            entry("update_project", "none", 200),
        ]
    );
    assert!(log[2..].iter().all(|(op, _, _)| op == "get_operation"), "{log:?}");
}

#[tokio::test]
async fn an_undelete_is_repeated_and_a_refusal_of_a_live_resource_is_success() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "back", "Back").await;
    let name = ProjectName::new("back").unwrap();
    client.delete_project(&name).await.unwrap().wait().await.unwrap();
    let from = emu.request_log().len();
    lose_next(&emu);
    client.undelete_project(&name).await.unwrap().wait().await.unwrap();
    let log = log_since(&emu, from);
    assert_eq!(log[0], entry("undelete_project", "lost_response", 200));
    assert_eq!(log[1].0, "undelete_project");
    assert!(log[1].2.is_some_and(|s| (400..500).contains(&s)), "{log:?}");
    assert_eq!(log[2..], [entry("get_project", "none", 200)]);
    assert!(client.get_project(&name).await.is_ok());
}

#[tokio::test]
async fn a_create_whose_id_the_server_picks_is_not_repeated_and_says_where_to_look() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "roles", "Roles").await;
    let branch = ProjectName::new("roles").unwrap().branch("production").unwrap();
    let from = emu.request_log().len();
    lose_next(&emu);
    let role = types::Role {
        spec: Some(types::RoleRoleSpec {
            postgres_role: Some("app".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = client.create_role(&branch, role).await.unwrap_err();
    let Error::MaybeApplied {
        operation, collection, ..
    } = &err
    else {
        panic!("expected MaybeApplied, got {err:?}");
    };
    assert_eq!(operation, "create_role");
    assert_eq!(collection, "projects/roles/branches/production/roles");
    let message = err.to_string();
    assert!(message.contains("may have been applied"), "{message}");
    assert!(
        message.contains("list projects/roles/branches/production/roles"),
        "{message}"
    );
    assert_eq!(log_since(&emu, from), [entry("create_role", "lost_response", 200)]);
    // It was applied: exactly one role, which the caller can find where the error said.
    assert_eq!(client.list_roles(&branch).collect_all().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_role_with_the_callers_id_resolves_the_services_already_exists_wording() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "named", "Named").await;
    let branch = ProjectName::new("named").unwrap().branch("production").unwrap();
    let from = emu.request_log().len();
    lose_next(&emu);
    let role = types::Role {
        spec: Some(types::RoleRoleSpec {
            postgres_role: Some("app".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = client
        .create_role(&branch, role)
        .role_id("app-role")
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        created.name.as_deref(),
        Some("projects/named/branches/production/roles/app-role")
    );
    assert_eq!(
        log_since(&emu, from),
        [
            entry("create_role", "lost_response", 200),
            entry("create_role", "none", 400),
            entry("get_role", "none", 200),
        ]
    );
}

#[tokio::test]
async fn a_slow_then_lost_answer_times_out_and_the_create_is_settled_the_same_way() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_millis(300));
    emu.set_faults(FaultConfig {
        slow_lost_rate: 1.0,
        slow_lost_ms: 5_000,
        ..FaultConfig::default()
    });
    let created = client
        .create_project("slow", project("Slow"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(created.name.as_deref(), Some("projects/slow"));
    assert_eq!(
        log_since(&emu, 0),
        [
            entry("create_project", "slow_lost_response", 200),
            entry("create_project", "none", 409),
            entry("get_project", "none", 200),
        ]
    );
}

#[tokio::test]
async fn a_drop_before_handling_is_ambiguous_too_and_the_repeat_simply_creates() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    emu.set_faults(FaultConfig {
        drop_rate: 1.0,
        ..FaultConfig::default()
    });
    create_project(&client, "dropped", "Dropped").await;
    let log = log_since(&emu, 0);
    assert_eq!(log[0], ("create_project".to_string(), "drop", None));
    assert_eq!(log[1], entry("create_project", "none", 200));
    assert!(log[2..].iter().all(|(op, _, _)| op == "get_operation"), "{log:?}");
}

#[tokio::test]
async fn call_json_follows_the_same_rules_as_the_typed_calls() {
    let emu = emulator().await;
    let client = client(&emu, Duration::from_secs(30));
    create_project(&client, "json", "Json").await;
    let roles = "/api/2.0/postgres/projects/json/branches/production/roles";
    let body = serde_json::json!({"spec": {"postgres_role": "app"}});

    // A server-picked id: not repeated, and the error says where to look.
    let from = emu.request_log().len();
    lose_next(&emu);
    let err = client
        .call_json(http::Method::POST, roles, Some(&body), "create_role")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::MaybeApplied { operation, collection, .. }
            if operation == "create_role" && collection == "projects/json/branches/production/roles"),
        "{err:?}"
    );
    assert_eq!(log_since(&emu, from), [entry("create_role", "lost_response", 200)]);

    // A delete: repeated, and the 404 of the repeat is success.
    let role = client
        .list_roles(&ProjectName::new("json").unwrap().branch("production").unwrap())
        .collect_all()
        .await
        .unwrap()
        .remove(0)
        .name
        .unwrap();
    let from = emu.request_log().len();
    lose_next(&emu);
    client
        .call_json(
            http::Method::DELETE,
            &format!("/api/2.0/postgres/{role}"),
            None,
            "delete_role",
        )
        .await
        .unwrap();
    let log = log_since(&emu, from);
    assert_eq!(log[0], entry("delete_role", "lost_response", 200));
    assert_eq!(log[1], entry("delete_role", "none", 404));
}
