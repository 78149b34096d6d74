//! Resource behaviour and wire shapes (compared with the recorded cassettes).

mod common;

use common::T;
use serde_json::{Value, json};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

#[tokio::test]
async fn project_creation_builds_default_branch_and_endpoint() {
    let t = T::new().await;
    let body = json!({
        "initial_branch_spec": {"is_protected": true},
        "initial_endpoint_spec": {"autoscaling_limit_max_cu": 2.0, "autoscaling_limit_min_cu": 0.5, "suspend_timeout_duration": "600s"},
        "spec": {"display_name": "My App", "pg_version": 17, "history_retention_duration": "604800s",
                 "default_endpoint_settings": {"autoscaling_limit_max_cu": 4.0, "autoscaling_limit_min_cu": 0.5,
                                               "pg_settings": {"max_connections": "200"}, "suspend_timeout_duration": "300s"},
                 "custom_tags": [{"key": "team", "value": "payments"}]}
    });
    let (s, op) = t.post("projects?project_id=my-app", body).await;
    assert_eq!(s, 200);
    assert_eq!(keys(&op), ["done", "metadata", "name", "response"]);
    assert_eq!(
        op["metadata"]["@type"],
        json!("type.googleapis.com/databricks.postgres.v1.ProjectOperationMetadata")
    );
    assert_eq!(
        op["response"]["@type"],
        json!("type.googleapis.com/databricks.postgres.v1.Project")
    );
    let (_, p) = t.get("projects/my-app").await;
    assert_eq!(
        keys(&p),
        [
            "create_time",
            "initial_branch_spec",
            "initial_endpoint_spec",
            "name",
            "project_id",
            "status",
            "uid",
            "update_time"
        ]
    );
    assert_eq!(
        keys(&p["status"]),
        [
            "branch_logical_size_limit_bytes",
            "compute_last_active_time",
            "custom_tags",
            "default_branch",
            "default_endpoint_settings",
            "display_name",
            "enable_pg_native_login",
            "history_retention_duration",
            "owner",
            "pg_version",
            "project_id",
            "synthetic_storage_size_bytes"
        ]
    );
    assert!(p["status"]["branch_logical_size_limit_bytes"].is_i64());
    assert!(p["create_time"].as_str().is_some_and(|s| s.ends_with('Z')));
    let (_, b) = t.get("projects/my-app/branches/production").await;
    assert_eq!(b["status"]["default"], json!(true));
    assert_eq!(b["status"]["is_protected"], json!(true));
    assert_eq!(b["status"]["current_state"], json!("READY"));
    assert!(b["uid"].as_str().is_some_and(|u| u.starts_with("br-")));
    let (_, e) = t.get("projects/my-app/branches/production/endpoints/primary").await;
    assert_eq!(e["status"]["endpoint_type"], json!("ENDPOINT_TYPE_READ_WRITE"));
    assert_eq!(e["status"]["autoscaling_limit_max_cu"], json!(2.0));
    assert_eq!(e["status"]["suspend_timeout_duration"], json!("600s"));
    let host = e["status"]["hosts"]["host"].as_str().unwrap_or_default();
    assert!(
        host.starts_with("ep-") && host.ends_with(".database.us-east-1.cloud.databricks.com"),
        "{host}"
    );
    assert_eq!(keys(&e["status"]["hosts"]), ["host", "read_write_pooled_host"]);
}

#[tokio::test]
async fn branches_roles_databases_and_masks() {
    let t = T::new().await;
    t.project("p").await;
    let b = t
        .create(
            "projects/p/branches?branch_id=dev",
            json!({"spec": {"ttl": "604800s", "source_branch_lsn": "0/1A2B3C4D"}}),
        )
        .await;
    assert_eq!(b["status"]["source_branch"], json!("projects/p/branches/production"));
    assert_eq!(b["status"]["source_branch_lsn"], json!("0/1A2B3C4D"));
    assert!(b["status"]["expire_time"].is_string());
    // leaf mask and oneof members replace each other
    let (s, op) = t
        .patch(
            "projects/p/branches/dev?update_mask=spec.no_expiry",
            json!({"spec": {"no_expiry": true}}),
        )
        .await;
    assert_eq!(s, 200, "{op}");
    let b = t.wait(&op).await["response"].clone();
    assert!(b.get("spec").is_none(), "{b}");
    assert!(b["status"].get("expire_time").is_none(), "{b}");
    // project oneof group path
    let (s, op) = t
        .patch(
            "projects/p?update_mask=spec.default_endpoint_settings.suspension",
            json!({"spec": {"default_endpoint_settings": {"no_suspension": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{op}");
    let p = t.wait(&op).await["response"].clone();
    assert_eq!(p["status"]["default_endpoint_settings"]["no_suspension"], json!(true));
    // role: derived id, attributes, membership update, replace_existing upsert
    let r = t
        .create(
            "projects/p/branches/dev/roles",
            json!({"spec": {"auth_method": "NO_LOGIN", "identity_type": "GROUP", "postgres_role": "data-analysts"}}),
        )
        .await;
    assert_eq!(r["role_id"], json!("data-analysts"));
    assert_eq!(
        r["status"]["attributes"],
        json!({"bypassrls": false, "createdb": false, "createrole": false})
    );
    let (_, op) = t
        .patch(
            "projects/p/branches/dev/roles/data-analysts?update_mask=spec.membership_roles",
            json!({"spec": {"membership_roles": ["DATABRICKS_SUPERUSER"]}}),
        )
        .await;
    assert_eq!(
        t.wait(&op).await["response"]["status"]["membership_roles"],
        json!(["DATABRICKS_SUPERUSER"])
    );
    let r = t
        .create(
            "projects/p/branches/dev/roles?role_id=data-analysts&replace_existing=true",
            json!({"spec": {"attributes": {"createdb": true}}}),
        )
        .await;
    assert_eq!(r["status"]["attributes"]["createdb"], json!(true));
    assert!(r["status"].get("membership_roles").is_none(), "{r}");
    // database: generated id and Postgres name
    let d = t
        .create(
            "projects/p/branches/dev/databases",
            json!({"spec": {"role": "projects/p/branches/dev/roles/data-analysts"}}),
        )
        .await;
    let id = d["database_id"].as_str().expect("id").to_string();
    assert!(id.starts_with("db-"));
    assert_eq!(d["status"]["postgres_database"], json!(id.replace('-', "_")));
    assert_eq!(keys(&d["status"]), ["database_id", "postgres_database", "role"]);
    let (_, list) = t.get("projects/p/branches/dev/databases").await;
    assert_eq!(list["databases"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn data_api_cdf_catalog_synced_table_snapshots() {
    let t = T::new().await;
    t.fixture("p").await;
    let db = "projects/p/branches/dev/databases/app-db";
    let d = t
        .create(
            &format!("{db}/data-api"),
            json!({"spec": {"db_schemas": ["public", "api"]}}),
        )
        .await;
    assert_eq!(d["name"], json!(format!("{db}/data-api")));
    assert_eq!(d["status"]["available_schemas"], json!(["public", "api"]));
    assert!(
        d["status"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/2.0/data-api/app_db"))
    );
    common::assert_error(
        &t.post(&format!("{db}/data-api"), json!({})).await,
        409,
        "ALREADY_EXISTS",
    );
    let (_, op) = t
        .patch(
            &format!("{db}/data-api?update_mask=spec.db_max_rows"),
            json!({"spec": {"db_max_rows": 5000}}),
        )
        .await;
    assert_eq!(t.wait(&op).await["response"]["status"]["db_max_rows"], json!(5000));
    let (_, op) = t.delete(&format!("{db}/data-api")).await;
    t.wait(&op).await;
    common::assert_error(&t.get(&format!("{db}/data-api")).await, 404, "NOT_FOUND");

    let c = t
        .create(
            &format!("{db}/cdf-configs"),
            json!({"catalog": "main", "schema": "billing_cdf", "postgres_schema": "billing"}),
        )
        .await;
    assert_eq!(c["cdf_config_id"], json!("billing"));
    let cfg = format!("{db}/cdf-configs/billing");
    let (_, got) = t.get(&cfg).await;
    assert_eq!(
        keys(&got),
        [
            "catalog",
            "cdf_config_id",
            "create_time",
            "name",
            "postgres_schema",
            "schema"
        ]
    );
    assert_eq!(t.get(&format!("{cfg}/cdf-statuses")).await.1, json!({}));
    t.emu.add_cdf_status(&cfg, "orders").expect("seed status");
    let (_, st) = t.get(&format!("{cfg}/cdf-statuses/orders")).await;
    assert_eq!(st["uc_table"], json!("main.billing_cdf.orders"));
    // The same through the admin route, as the binary's users (and the recorder) add them.
    let added: Value = t
        .http
        .post(format!("{}/_emulator/cdf-statuses", t.base))
        .json(&json!({"cdf_config": cfg, "postgres_table": "invoices"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(added["name"], json!(format!("{cfg}/cdf-statuses/invoices")));
    let (_, listed) = t.get(&format!("{cfg}/cdf-statuses")).await;
    let names: Vec<&str> = listed["cdf_statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{listed}");
    assert!(names.iter().any(|n| n.ends_with("/invoices")), "{listed}");
    let unknown = t
        .http
        .post(format!("{}/_emulator/cdf-statuses", t.base))
        .json(&json!({"cdf_config": format!("{db}/cdf-configs/nope"), "postgres_table": "t"}))
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status().as_u16(), 404);
    let (_, op) = t.delete(&format!("{cfg}?force=true")).await;
    t.wait(&op).await;

    let cat = t
        .create(
            "catalogs?catalog_id=app_catalog",
            json!({"spec": {"postgres_database": "app_db", "branch": "projects/p/branches/dev"}}),
        )
        .await;
    assert_eq!(
        cat["status"],
        json!({"branch": "projects/p/branches/dev", "postgres_database": "app_db", "project": "projects/p"})
    );
    assert!(cat["name"] == json!("catalogs/app_catalog"));
    let r = t
        .post(
            "catalogs?catalog_id=other",
            json!({"spec": {"postgres_database": "missing_db", "branch": "projects/p/branches/dev"}}),
        )
        .await;
    common::assert_error(&r, 400, "INVALID_PARAMETER_VALUE");

    let st = t
        .create(
            "synced_tables?synced_table_id=app_catalog.sales.orders_synced",
            json!({"spec": {"source_table_full_name": "main.sales.orders", "branch": "projects/p/branches/dev",
                            "primary_key_columns": ["order_id"], "scheduling_policy": "SNAPSHOT"}}),
        )
        .await;
    assert!(st.get("spec").is_none(), "{st}");
    assert_eq!(
        st["status"]["detailed_state"],
        json!("SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE")
    );
    let (s, g) = t.get("synced_tables/app_catalog.sales.orders_synced").await;
    assert_eq!(
        (s, g["synced_table_id"].clone()),
        (200, json!("app_catalog.sales.orders_synced"))
    );
    let (_, op) = t.delete("synced_tables/app_catalog.sales.orders_synced").await;
    assert!(
        op["name"]
            .as_str()
            .is_some_and(|n| { n.starts_with("synced_tables/app_catalog.sales.orders_synced/operations/") })
    );
    t.wait(&op).await;

    let snap = t
        .create(
            "projects/p/snapshots?snapshot_id=nightly",
            json!({"spec": {"source_branch": "projects/p/branches/dev", "ttl": "1209600s"}}),
        )
        .await;
    assert!(snap["uid"].as_str().is_some_and(|u| u.starts_with("snap-")));
    assert_eq!(snap["status"]["no_expiry"], json!(false));
    let b = t
        .create(
            "projects/p/branches?branch_id=restore",
            json!({"spec": {"no_expiry": true, "source_snapshot": "projects/p/snapshots/nightly"}}),
        )
        .await;
    assert_eq!(b["status"]["source_snapshot"], json!("projects/p/snapshots/nightly"));

    let sched = "projects/p/branches/dev/snapshot-schedule";
    assert_eq!(t.get(sched).await, (200, json!({"name": sched})));
    let body = json!({"name": sched, "schedule": [{"daily_schedule": {"hour": 0}, "retention": "86400s"}]});
    let (_, op) = t.patch(&format!("{sched}?update_mask=schedule"), body).await;
    let done = t.wait(&op).await;
    assert_eq!(
        done["response"]["@type"],
        json!("type.googleapis.com/databricks.postgres.v1.SnapshotSchedule")
    );
    assert_eq!(t.get(sched).await.1["schedule"][0]["retention"], json!("86400s"));
}

#[tokio::test]
async fn soft_delete_show_deleted_undelete_and_purge() {
    let t = T::new().await;
    t.project("p").await;
    t.create(
        "projects/p/branches?branch_id=tmp",
        json!({"spec": {"no_expiry": true}}),
    )
    .await;
    let (_, op) = t.delete("projects/p/branches/tmp").await;
    let done = t.wait(&op).await;
    assert_eq!(
        done["response"],
        json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
    );
    let (_, list) = t.get("projects/p/branches").await;
    assert_eq!(list["branches"].as_array().map(Vec::len), Some(1));
    let (_, all) = t.get("projects/p/branches?show_deleted=true").await;
    assert_eq!(all["branches"].as_array().map(Vec::len), Some(2));
    // GET of a soft-deleted resource returns it with delete/purge times (AIP-164)
    let (s, b) = t.get("projects/p/branches/tmp").await;
    assert_eq!(s, 200);
    assert!(b["status"]["delete_time"].is_string() && b["status"]["purge_time"].is_string());
    let (_, op) = t.post("projects/p/branches/tmp/undelete", json!({})).await;
    t.wait(&op).await;
    let (_, b) = t.get("projects/p/branches/tmp").await;
    assert!(b["status"].get("delete_time").is_none());
    // purge removes it for good
    let (_, op) = t.delete("projects/p/branches/tmp?purge=true").await;
    t.wait(&op).await;
    common::assert_error(&t.get("projects/p/branches/tmp").await, 404, "NOT_FOUND");
    // projects: top-level delete_time, hidden from list, purge after soft delete
    let (_, op) = t.delete("projects/p").await;
    t.wait(&op).await;
    assert_eq!(t.get("projects").await.1, json!({}));
    let (_, all) = t.get("projects?show_deleted=true").await;
    assert!(all["projects"][0]["delete_time"].is_string());
    let (_, op) = t.post("projects/p/undelete", json!({})).await;
    t.wait(&op).await;
    assert_eq!(t.get("projects").await.1["projects"].as_array().map(Vec::len), Some(1));
    let (_, op) = t.delete("projects/p?purge=true").await;
    t.wait(&op).await;
    assert_eq!(t.get("projects?show_deleted=true").await.1, json!({}));
    common::assert_error(&t.get("projects/p/branches/production").await, 404, "NOT_FOUND");
}

#[tokio::test]
async fn replace_existing_upserts() {
    let t = T::new().await;
    t.fixture("p").await;
    let b = t
        .create(
            "projects/p/branches?branch_id=dev&replace_existing=true",
            json!({"spec": {"ttl": "3600s", "is_protected": true}}),
        )
        .await;
    assert_eq!(b["status"]["is_protected"], json!(true));
    let d = t
        .create(
            "projects/p/branches/dev/databases?database_id=app-db&replace_existing=true",
            json!({"spec": {"postgres_database": "renamed", "role": "projects/p/branches/dev/roles/app-owner"}}),
        )
        .await;
    assert_eq!(d["status"]["postgres_database"], json!("renamed"));
    let e = t
        .create(
            "projects/p/branches/production/endpoints?endpoint_id=primary&replace_existing=true",
            json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_WRITE", "autoscaling_limit_max_cu": 8.0, "autoscaling_limit_min_cu": 1.0}}),
        )
        .await;
    assert_eq!(e["status"]["autoscaling_limit_max_cu"], json!(8.0));
}

#[tokio::test]
async fn seed_projects_and_request_counts() {
    let t = T::new().await;
    let names = t.emu.seed_projects(120).expect("seed");
    assert_eq!(names.len(), 120);
    assert_eq!(t.emu.seed_projects(120).expect("reseed").len(), 0);
    let (_, page) = t.get("projects?page_size=500").await;
    assert_eq!(
        page["projects"].as_array().map(Vec::len),
        Some(100),
        "list_projects page_size max is 100"
    );
    t.get("projects/seed-00007").await;
    assert_eq!(t.emu.request_count("list_projects"), 1);
    assert_eq!(t.emu.request_count("get_project"), 1);
    assert!(t.emu.total_requests() >= 2);
}
