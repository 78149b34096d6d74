//! The whole Rust lifecycle against the real emulator: projects, pagination, branches,
//! endpoints, roles, databases, credentials, updates with a mask, soft delete /
//! show_deleted / undelete, purge; and a listing that completes through injected
//! 429/503 faults thanks to retries.

use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;
use lakebase::retry::{ExponentialRetry, FixedJitter, RecordingSleeper};
use lakebase::{Client, Config, FieldMask, PollingPolicy, ProjectName, types};
use lakebase_emulator::{Emulator, FaultConfig};

/// Short, real polling delays: the emulator finishes operations after `op_latency`.
fn polling() -> PollingPolicy {
    PollingPolicy::default()
        .with_initial_delay(Duration::from_millis(5))
        .with_min_interval(Duration::from_millis(5))
        .with_max_interval(Duration::from_millis(25))
        .with_deadline(Some(Duration::from_secs(60)))
}

fn client(emulator: &Emulator) -> Client {
    let config = Config::builder()
        .host(emulator.base_url())
        .token("emulator-token")
        .env(Arc::new(MapEnv::new()))
        .polling_policy(polling())
        .build()
        .unwrap();
    Client::new(config).unwrap()
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

#[tokio::test]
async fn full_lifecycle() {
    let emulator = Emulator::builder()
        .op_latency(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);

    // Projects, created and waited for.
    for id in ["lc-a", "lc-b", "lc-c"] {
        let p = client
            .create_project(id, project(id))
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(p.name.as_deref(), Some(format!("projects/{id}").as_str()));
    }

    // Pagination: one project per page.
    let all = client.list_projects().page_size(1).collect_all().await.unwrap();
    let mut ids: Vec<_> = all.iter().map(|p| p.project_id.clone().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["lc-a", "lc-b", "lc-c"]);
    assert!(emulator.request_count("list_projects") >= 3);

    let name = ProjectName::new("lc-a").unwrap();
    let dev = name.branch("dev").unwrap();

    // Branch.
    let branch = types::Branch {
        spec: Some(types::BranchSpec {
            no_expiry: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let b = client
        .create_branch(&name, "dev", branch)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(b.name.as_deref(), Some("projects/lc-a/branches/dev"));

    // The branch's implicit read-write endpoint, taken over with replace_existing and settled.
    let endpoint = types::Endpoint {
        spec: Some(types::EndpointSpec {
            endpoint_type: Some(types::EndpointType::ReadWrite),
            autoscaling_limit_min_cu: Some(0.5),
            autoscaling_limit_max_cu: Some(2.0),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ep = client
        .create_endpoint(&dev, "primary", endpoint)
        .replace_existing(true)
        .await
        .unwrap()
        .wait_until_settled()
        .await
        .unwrap();
    let status = ep.status.clone().unwrap();
    assert_eq!(status.pending_state, None);
    let host = status.hosts.and_then(|h| h.host).expect("endpoint host");
    assert!(!host.is_empty());
    let endpoint_name = dev.endpoint("primary").unwrap();
    let listed = client.list_endpoints(&dev).collect_all().await.unwrap();
    assert_eq!(listed.len(), 1);

    // Role and database.
    let role = types::Role {
        spec: Some(types::RoleRoleSpec {
            postgres_role: Some("app_owner".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = client
        .create_role(&dev, role)
        .role_id("app-owner")
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(r.name.as_deref(), Some("projects/lc-a/branches/dev/roles/app-owner"));
    let database = types::Database {
        spec: Some(types::DatabaseDatabaseSpec {
            postgres_database: Some("app_db".into()),
            role: Some("projects/lc-a/branches/dev/roles/app-owner".into()),
        }),
        ..Default::default()
    };
    let d = client
        .create_database(&dev, database)
        .database_id("app-db")
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(d.name.as_deref(), Some("projects/lc-a/branches/dev/databases/app-db"));
    assert_eq!(client.list_roles(&dev).collect_all().await.unwrap().len(), 1);
    assert_eq!(client.list_databases(&dev).collect_all().await.unwrap().len(), 1);

    // Credential.
    let credential = client
        .generate_database_credential(&endpoint_name)
        .ttl(Duration::from_secs(900))
        .await
        .unwrap();
    assert!(!credential.token.unwrap_or_default().is_empty());
    assert!(credential.expire_time.is_some());
    let url = client
        .connection_string(&endpoint_name, "app_db", Some("me@example.com"))
        .await
        .unwrap();
    assert_eq!(url.host(), host);
    assert!(url.to_string().contains(":***@"));

    // Update with a mask, then read back.
    let change = types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some("Renamed".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .update_project(&name, change, &FieldMask::new(["spec.display_name"]).unwrap())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let read = client.get_project(&name).await.unwrap();
    let shown = read
        .status
        .and_then(|s| s.display_name)
        .or(read.spec.and_then(|s| s.display_name));
    assert_eq!(shown.as_deref(), Some("Renamed"));

    // Soft delete, show_deleted, undelete.
    let branch_ids = |bs: &[types::Branch]| {
        let mut v: Vec<_> = bs.iter().map(|b| b.branch_id.clone().unwrap_or_default()).collect();
        v.sort();
        v
    };
    assert!(branch_ids(&client.list_branches(&name).collect_all().await.unwrap()).contains(&"dev".to_string()));
    client.delete_branch(&dev).await.unwrap().wait().await.unwrap();
    let visible = client.list_branches(&name).collect_all().await.unwrap();
    assert!(!branch_ids(&visible).contains(&"dev".to_string()), "{visible:?}");
    let with_deleted = client
        .list_branches(&name)
        .show_deleted(true)
        .collect_all()
        .await
        .unwrap();
    assert!(branch_ids(&with_deleted).contains(&"dev".to_string()));
    client.undelete_branch(&dev).await.unwrap().wait().await.unwrap();
    let visible = client.list_branches(&name).collect_all().await.unwrap();
    assert!(branch_ids(&visible).contains(&"dev".to_string()));

    // Delete for good.
    client
        .delete_project(&name)
        .purge(true)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let err = client.get_project(&name).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let left = client.list_projects().collect_all().await.unwrap();
    assert_eq!(left.len(), 2);
}

#[tokio::test]
async fn a_listing_completes_through_injected_faults() {
    let emulator = Emulator::builder().op_latency(Duration::ZERO).start().await.unwrap();
    emulator.seed_projects(12).unwrap();
    emulator.set_faults(FaultConfig {
        rate_429: 0.25,
        rate_503: 0.25,
        retry_after_secs: 1,
        seed: 7,
        ..Default::default()
    });
    let sleeper = RecordingSleeper::new();
    let config = Config::builder()
        .host(emulator.base_url())
        .token("emulator-token")
        .env(Arc::new(MapEnv::new()))
        .retry_policy(Arc::new(
            ExponentialRetry::default().with_jitter(Arc::new(FixedJitter(0.5))),
        ))
        .build()
        .unwrap();
    let client = Client::with_sleeper(config, Arc::new(sleeper.clone())).unwrap();
    let projects = client.list_projects().page_size(2).collect_all().await.unwrap();
    let ids: Vec<_> = projects.iter().map(|p| p.project_id.clone().unwrap()).collect();
    let expected: Vec<_> = (0..12).map(|i| format!("seed-{i:05}")).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    let retries = sleeper.recorded().len() as u64;
    assert!(retries > 0, "the seeded fault rate injected no fault");
    // Every request is one page or one retry of a page.
    assert_eq!(emulator.request_count("list_projects"), 6 + retries);
}

#[tokio::test]
async fn wait_until_settled_outlasts_the_reconciliation_window_that_wait_does_not() {
    let emulator = Emulator::builder()
        .op_latency(Duration::from_millis(20))
        .reconcile(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let name = ProjectName::new("settle").unwrap();
    client
        .create_project("settle", project("settle"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let production = name.branch("production").unwrap();
    let read_only = || types::Endpoint {
        spec: Some(types::EndpointSpec {
            endpoint_type: Some(types::EndpointType::ReadOnly),
            ..Default::default()
        }),
        ..Default::default()
    };

    // `wait` returns when the operation is done, while the endpoint still reconciles.
    let ro = production.endpoint("ro").unwrap();
    let done = client
        .create_endpoint(&production, "ro", read_only())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status.and_then(|s| s.pending_state), None);
    let reconciling = client.get_endpoint(&ro).await.unwrap();
    assert!(reconciling.status.and_then(|s| s.pending_state).is_some());
    let err = client.delete_endpoint(&ro).await.unwrap_err();
    assert_eq!(err.status(), Some(409), "{err:?}");
    assert!(
        err.as_api_error().unwrap().message.contains("reconciliation"),
        "{err:?}"
    );

    // `wait_until_settled` returns once it has: the delete goes through at once.
    let settled = production.endpoint("settled").unwrap();
    client
        .create_endpoint(&production, "settled", read_only())
        .await
        .unwrap()
        .wait_until_settled()
        .await
        .unwrap();
    client.delete_endpoint(&settled).await.unwrap().wait().await.unwrap();
}
