//! Property test: whatever a client sends (any verb, path, query and body), the emulator
//! answers with a status and a JSON body, and keeps serving: no handler panics and no
//! dropped connection. Inputs come from `proptest`, over one emulator that accumulates state.

mod common;

use common::T;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Map, Value};

/// Segments that walk the API's routes, with valid and invalid ids.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "projects",
            "branches",
            "endpoints",
            "roles",
            "databases",
            "catalogs",
            "synced_tables",
            "snapshots",
            "snapshot-schedule",
            "data-api",
            "cdf-configs",
            "cdf-statuses",
            "operations",
            "undelete",
            "credentials:generate",
            "p1",
            "main",
            "production",
            "dev",
            "app-owner",
            "app-db",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-z][a-z0-9-]{0,6}",
        "[A-Za-z0-9+=_.~-]{1,8}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    let pair = (
        prop::sample::select(vec![
            "page_size",
            "page_token",
            "show_deleted",
            "purge",
            "update_mask",
            "replace_existing",
            "project_id",
            "branch_id",
            "endpoint_id",
            "role_id",
            "database_id",
            "force",
            "reassign_owned_to",
        ]),
        "[a-zA-Z0-9._,*-]{0,10}",
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    prop::collection::vec(pair, 0..4).prop_map(|p| p.join("&"))
}

fn json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "name",
        "spec",
        "status",
        "display_name",
        "pg_version",
        "source_branch",
        "endpoint_type",
        "autoscaling_limit_min_cu",
        "autoscaling_limit_max_cu",
        "ttl",
        "expire_time",
        "is_protected",
        "postgres_role",
        "identity_type",
        "auth_method",
        "pg_settings",
        "schedule",
        "claims",
        "endpoint",
        "x",
    ])
    .prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::String),
        prop::sample::select(vec![
            "300s",
            "-5s",
            "2025-01-01T00:00:00Z",
            "ENDPOINT_TYPE_READ_WRITE",
            "projects/p1/branches/main"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::PUT,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_request_gets_a_json_answer(
        requests in prop::collection::vec((method(), prop::collection::vec(segment(), 1..8), query(), prop::option::of(json())), 1..6)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = T::new().await;
            // State to walk into: project p1 (branches production and dev, a role, a database).
            t.fixture("p1").await;
            for (method, segments, query, body) in requests {
                let path = format!("{}?{query}", segments.join("/"));
                let (status, reply) = t.call(method.clone(), &path, body).await;
                assert!((200..600).contains(&status), "{method} {path}: {status}");
                if status >= 400 {
                    assert!(reply["error_code"].is_string() && reply["message"].is_string(), "{method} {path}: {reply}");
                }
            }
            assert_eq!(t.get("projects/p1").await.0, 200, "the emulator still serves");
        });
    }
}
