//! Ids sent both ways: through the typed client (building a name from an id) and to the
//! emulator (creating a resource with it). For every id kind of the spec, the client
//! refuses an id only when it breaks both the documented pattern and the rule the service
//! was observed to apply, the emulator refuses exactly what the service's rule refuses, and
//! so the client never refuses an id the emulator (standing in for the service) takes.

use lakebase::IdKind;
use lakebase_emulator::Emulator;
use lakebase_generated::{ID_RULES, IdRule};
use serde_json::{Value, json};

/// `db1`-style samples: short, digit-first, trailing hyphen, upper case, underscores, dots.
fn samples() -> Vec<String> {
    let mut ids: Vec<String> = [
        "db1",
        "1db",
        "1dbx",
        "abcd",
        "a",
        "ab",
        "Upper",
        "has_under",
        "a-",
        "-a",
        "my-db",
        "x9",
        "a.b.c",
        "db-1-",
    ]
    .map(str::to_string)
    .to_vec();
    ids.push("a".repeat(63));
    ids.push("a".repeat(64));
    ids
}

/// Where the emulator creates a resource with a caller-chosen id of this kind.
fn create_path(param: &str, id: &str) -> Option<String> {
    Some(match param {
        "project_id" => format!("projects?project_id={id}"),
        "branch_id" => format!("projects/p/branches?branch_id={id}"),
        "endpoint_id" => format!("projects/p/branches/production/endpoints?endpoint_id={id}"),
        "role_id" => format!("projects/p/branches/production/roles?role_id={id}"),
        "database_id" => format!("projects/p/branches/production/databases?database_id={id}"),
        "snapshot_id" => format!("projects/p/snapshots?snapshot_id={id}"),
        "catalog_id" => format!("catalogs?catalog_id={id}"),
        "synced_table_id" => format!("synced_tables?synced_table_id={id}"),
        _ => return None,
    })
}

/// Whether the emulator refused `id` for its id rule (the service's words).
async fn emulator_refuses(http: &reqwest::Client, base: &str, rule: &IdRule, id: &str) -> Option<bool> {
    let path = create_path(rule.param, id)?;
    let response = http
        .post(format!("{base}/api/2.0/postgres/{path}"))
        .bearer_auth("dapi-id-rules")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    let message = body["message"].as_str().unwrap_or_default();
    let refused = message.starts_with(&format!("Field {} must match pattern", rule.param));
    if refused {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{body}");
        assert_eq!(
            message,
            format!(
                "Field {} must match pattern {}, got '{id}'.",
                rule.param,
                rule.service_pattern()
            )
        );
    }
    Some(refused)
}

#[tokio::test]
async fn client_and_emulator_agree_with_the_specs_rule_for_every_id_kind() {
    let emulator = Emulator::builder()
        .op_latency(std::time::Duration::ZERO)
        .start()
        .await
        .unwrap();
    let base = emulator.base_url();
    let http = reqwest::Client::new();
    let made = http
        .post(format!("{base}/api/2.0/postgres/projects?project_id=p"))
        .bearer_auth("dapi-id-rules")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success());

    let mut served = Vec::new();
    for rule in ID_RULES {
        let kind = IdKind::from_param(rule.param).unwrap_or_else(|| panic!("no IdKind for {}", rule.param));
        for id in samples() {
            let client_accepts = kind.check(&id).is_ok();
            assert_eq!(
                client_accepts,
                rule.may_be_valid(&id),
                "client on {} {id:?}",
                rule.param
            );
            if let Some(refused) = emulator_refuses(&http, &base, rule, &id).await {
                assert_eq!(!refused, rule.service_accepts(&id), "emulator on {} {id:?}", rule.param);
                assert!(
                    refused || client_accepts,
                    "the client refuses {} {id:?}, which the service takes",
                    rule.param
                );
                served.push(rule.param);
            }
        }
    }
    served.dedup();
    assert_eq!(
        served,
        [
            "branch_id",
            "catalog_id",
            "database_id",
            "endpoint_id",
            "project_id",
            "role_id",
            "snapshot_id",
            "synced_table_id"
        ]
    );
    // The case the issue names: `db1` is shorter than the documented database-id pattern
    // allows, but the service takes it, and so do the client and the emulator.
    let database = IdRule::find("database_id").unwrap();
    assert!(
        !lakebase_generated::IdRule {
            observed_pattern: None,
            ..*database
        }
        .may_be_valid("db1")
    );
    assert!(IdKind::Database.check("db1").is_ok());
    assert_eq!(emulator_refuses(&http, &base, database, "db1").await, Some(false));
    assert_eq!(emulator_refuses(&http, &base, database, "1dbx").await, Some(true));
}
