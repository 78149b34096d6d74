//! One test per row of the README's "Observed service behaviours" table: what the service
//! was recorded doing (databricks/cli acceptance goldens and its fake server), asserted
//! against the emulator, in plain mode and, where PostgreSQL server binaries exist, in
//! `--postgres` mode too.

mod common;

use std::time::Duration;

use common::{T, assert_error};
use lakebase_emulator::{Emulator, EmulatorBuilder};
use serde_json::{Value, json};

/// The modes every row is checked in: plain, and `--postgres` when this machine has
/// PostgreSQL server binaries.
fn modes() -> Vec<(&'static str, EmulatorBuilder)> {
    let plain = Emulator::builder().op_latency(Duration::ZERO);
    let mut modes = vec![("plain", plain.clone())];
    match lakebase_emulator::pg::binaries::Binaries::find(None) {
        Ok(_) => modes.push(("postgres", plain.postgres(true).pg_port(0).user("alice@example.com"))),
        Err(e) => eprintln!("--postgres mode skipped: {e}"),
    }
    modes
}

/// The modes with no reconciliation window, for rows that change endpoints back to back.
fn settled_modes() -> Vec<(&'static str, EmulatorBuilder)> {
    modes()
        .into_iter()
        .map(|(m, b)| (m, b.reconcile(Duration::ZERO)))
        .collect()
}

async fn create(t: &T, path: &str, body: Value) -> Value {
    let (s, op) = t.post(path, body).await;
    assert_eq!(s, 200, "create {path}: {op}");
    t.finish(&op).await
}

async fn delete(t: &T, path: &str) {
    let (s, op) = t.delete(path).await;
    assert_eq!(s, 200, "delete {path}: {op}");
    t.finish(&op).await;
}

/// Project `p` whose default endpoint settings differ from every built-in default.
async fn project(t: &T) {
    create(
        t,
        "projects?project_id=p",
        json!({"spec": {"display_name": "P", "default_endpoint_settings": {
            "autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 4.0, "suspend_timeout_duration": "600s"}}}),
    )
    .await;
}

async fn dev_branch(t: &T) -> Value {
    create(
        t,
        "projects/p/branches?branch_id=dev",
        json!({"spec": {"no_expiry": true}}),
    )
    .await
}

fn read_only() -> Value {
    json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}})
}

/// Polls an endpoint until its `status.pending_state` clears; returns it.
async fn settled(t: &T, endpoint: &str) -> Value {
    for _ in 0..3000 {
        let (s, v) = t.get(endpoint).await;
        assert_eq!(s, 200, "{v}");
        if v["status"].get("pending_state").is_none() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{endpoint} never settled");
}

/// Every key anywhere in `v`.
fn keys_anywhere(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                keys_anywhere(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys_anywhere(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_new_branch_has_an_implicit_primary_that_replace_existing_takes_over() {
    for (mode, b) in settled_modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        let (s, list) = t.get("projects/p/branches/dev/endpoints").await;
        assert_eq!(s, 200, "{mode}: {list}");
        let endpoints = list["endpoints"].as_array().expect("endpoints");
        assert_eq!(endpoints.len(), 1, "{mode}: {list}");
        let primary = &endpoints[0];
        assert_eq!(
            primary["name"],
            json!("projects/p/branches/dev/endpoints/primary"),
            "{mode}"
        );
        let status = &primary["status"];
        assert_eq!(status["endpoint_type"], json!("ENDPOINT_TYPE_READ_WRITE"), "{mode}");
        assert_eq!(status["autoscaling_limit_min_cu"], json!(0.5), "{mode}: {status}");
        assert_eq!(status["autoscaling_limit_max_cu"], json!(4.0), "{mode}: {status}");
        assert_eq!(status["suspend_timeout_duration"], json!("600s"), "{mode}: {status}");

        // Creating it again is a duplicate; replace_existing brings it under management.
        let path = "projects/p/branches/dev/endpoints?endpoint_id=primary";
        let body = json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_WRITE", "autoscaling_limit_max_cu": 2.0}});
        let r = t.post(path, body.clone()).await;
        assert_eq!(
            assert_error(&r, 409, "ALREADY_EXISTS"),
            "endpoint with such id already exists",
            "{mode}"
        );
        let managed = create(&t, &format!("{path}&replace_existing=true"), body).await;
        assert_eq!(managed["uid"], primary["uid"], "{mode}: the same endpoint");
        assert_eq!(
            managed["status"]["autoscaling_limit_max_cu"],
            json!(2.0),
            "{mode}: {managed}"
        );
    }
}

#[tokio::test]
async fn reads_return_status_never_spec_and_ids_sit_top_level_and_in_status() {
    for (mode, b) in settled_modes() {
        let t = T::with(b).await;
        project(&t).await;
        let created_branch = dev_branch(&t).await;
        let role = create(
            &t,
            "projects/p/branches/dev/roles?role_id=app-owner",
            json!({"spec": {"postgres_role": "app_owner"}}),
        )
        .await;
        create(
            &t,
            "projects/p/branches/dev/databases?database_id=app-db",
            json!({"spec": {"postgres_database": "app_db", "role": role["name"]}}),
        )
        .await;
        let created_ro = create(&t, "projects/p/branches/dev/endpoints?endpoint_id=ro", read_only()).await;
        for created in [&created_branch, &created_ro] {
            assert!(created.get("spec").is_none(), "{mode}: operation response {created}");
        }
        let resources = [
            ("projects/p", "project_id", "p"),
            ("projects/p/branches/dev", "branch_id", "dev"),
            ("projects/p/branches/dev/endpoints/ro", "endpoint_id", "ro"),
            ("projects/p/branches/dev/roles/app-owner", "role_id", "app-owner"),
            ("projects/p/branches/dev/databases/app-db", "database_id", "app-db"),
        ];
        for (path, id_key, id) in resources {
            let (s, v) = t.get(path).await;
            assert_eq!(s, 200, "{mode}: {v}");
            assert!(v.get("spec").is_none(), "{mode}: GET {path} echoes spec: {v}");
            assert!(v["status"].is_object(), "{mode}: {v}");
            assert_eq!(v[id_key], json!(id), "{mode}: {v}");
            assert_eq!(v["status"][id_key], json!(id), "{mode}: {v}");
            let mut keys = Vec::new();
            keys_anywhere(&v, &mut keys);
            for input_only in ["no_expiry", "replace_existing", "purge"] {
                assert!(!keys.iter().any(|k| k == input_only), "{mode}: {input_only} in {v}");
            }
        }
        for (list, key) in [
            ("projects", "projects"),
            ("projects/p/branches", "branches"),
            ("projects/p/branches/dev/endpoints", "endpoints"),
            ("projects/p/branches/dev/roles", "roles"),
            ("projects/p/branches/dev/databases", "databases"),
        ] {
            let (s, v) = t.get(list).await;
            assert_eq!(s, 200, "{mode}: {v}");
            let items = v[key].as_array().expect("items");
            assert!(!items.is_empty(), "{mode}: {v}");
            for item in items {
                assert!(item.get("spec").is_none(), "{mode}: {list} echoes spec: {item}");
                assert!(item["status"].is_object(), "{mode}: {item}");
            }
        }
    }
}

#[tokio::test]
async fn the_read_write_endpoint_and_the_root_branch_are_managed_by_their_parent() {
    for (mode, b) in modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        for (path, message) in [
            (
                "projects/p/branches/dev/endpoints/primary",
                "Cannot delete read-write endpoint 'projects/p/branches/dev/endpoints/primary'. \
                 Read-write endpoints cannot be deleted.",
            ),
            (
                "projects/p/branches/production/endpoints/primary",
                "Cannot delete read-write endpoint 'projects/p/branches/production/endpoints/primary'. \
                 Read-write endpoints cannot be deleted.",
            ),
            (
                "projects/p/branches/production",
                "Cannot delete root branch 'projects/p/branches/production'. \
                 Root branches cannot be deleted independently.",
            ),
        ] {
            let r = t.delete(path).await;
            assert_eq!(assert_error(&r, 400, "BAD_REQUEST"), message, "{mode}");
            let info = &r.1["details"][0];
            assert_eq!(
                info["@type"],
                json!("type.googleapis.com/google.rpc.ErrorInfo"),
                "{mode}"
            );
            assert_eq!(info["reason"], json!("RESOURCE_CONFLICT"), "{mode}");
            assert_eq!(
                info["metadata"],
                json!({"declarative_context": "MANAGED_BY_PARENT"}),
                "{mode}"
            );
            let (s, still) = t.get(path).await;
            assert_eq!(s, 200, "{mode}: {path} survived: {still}");
        }
    }
}

#[tokio::test]
async fn a_branch_has_one_read_write_endpoint() {
    for (mode, b) in modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        let r = t
            .post(
                "projects/p/branches/dev/endpoints?endpoint_id=second",
                json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_WRITE"}}),
            )
            .await;
        assert_eq!(
            assert_error(&r, 400, "BAD_REQUEST"),
            "read_write endpoint already exists",
            "{mode}"
        );
        let (_, list) = t.get("projects/p/branches/dev/endpoints").await;
        assert_eq!(list["endpoints"].as_array().map(Vec::len), Some(1), "{mode}: {list}");
    }
}

#[tokio::test]
async fn duplicates_are_409_already_exists_but_400_bad_request_for_roles_and_databases() {
    for (mode, b) in modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        let role = create(
            &t,
            "projects/p/branches/dev/roles?role_id=app-owner",
            json!({"spec": {"postgres_role": "app_owner"}}),
        )
        .await;
        let database = json!({"spec": {"postgres_database": "app_db", "role": role["name"]}});
        create(
            &t,
            "projects/p/branches/dev/databases?database_id=app-db",
            database.clone(),
        )
        .await;

        let r = t.post("projects?project_id=p", json!({})).await;
        let message = assert_error(&r, 409, "ALREADY_EXISTS");
        assert_eq!(
            message, "project with such id already exists in the workspace",
            "{mode}"
        );
        let r = t
            .post(
                "projects/p/branches?branch_id=dev",
                json!({"spec": {"no_expiry": true}}),
            )
            .await;
        let message = assert_error(&r, 409, "ALREADY_EXISTS");
        assert_eq!(message, "branch with such id already exists", "{mode}");
        let r = t
            .post(
                "projects/p/branches/dev/endpoints?endpoint_id=primary",
                json!({"spec": {
                "endpoint_type": "ENDPOINT_TYPE_READ_WRITE"}}),
            )
            .await;
        let message = assert_error(&r, 409, "ALREADY_EXISTS");
        assert_eq!(message, "endpoint with such id already exists", "{mode}");
        for body in [
            json!({"spec": {"postgres_role": "app_owner"}}),
            json!({"spec": {"postgres_role": "other_name"}}),
        ] {
            let r = t.post("projects/p/branches/dev/roles?role_id=app-owner", body).await;
            let message = assert_error(&r, 400, "BAD_REQUEST");
            assert_eq!(message, "role with that name already exists", "{mode}");
        }
        let r = t
            .post(
                "projects/p/branches/dev/roles?role_id=another",
                json!({"spec": {"postgres_role": "app_owner"}}),
            )
            .await;
        assert_eq!(
            assert_error(&r, 400, "BAD_REQUEST"),
            "role with that name already exists",
            "{mode}: same Postgres role"
        );
        let r = t
            .post("projects/p/branches/dev/databases?database_id=app-db", database.clone())
            .await;
        let message = assert_error(&r, 400, "BAD_REQUEST");
        assert_eq!(message, "database with that name already exists", "{mode}");
        let r = t
            .post("projects/p/branches/dev/databases?database_id=other-db", database)
            .await;
        let message = assert_error(&r, 400, "BAD_REQUEST");
        assert_eq!(
            message, "database with that name already exists",
            "{mode}: same Postgres database"
        );
    }
}

#[tokio::test]
async fn an_endpoint_without_a_suspend_timeout_reports_the_projects_default() {
    for (mode, b) in settled_modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        let ro = create(&t, "projects/p/branches/dev/endpoints?endpoint_id=ro", read_only()).await;
        assert_eq!(ro["status"]["suspend_timeout_duration"], json!("600s"), "{mode}: {ro}");
        create(&t, "projects?project_id=q", json!({})).await;
        let (_, q) = t.get("projects/q").await;
        let default = q["status"]["default_endpoint_settings"]["suspend_timeout_duration"].clone();
        assert_eq!(
            default,
            json!(lakebase_emulator::defaults::project_endpoint_settings()["suspend_timeout_duration"]),
            "{mode}: {q}"
        );
        let (_, primary) = t.get("projects/q/branches/production/endpoints/primary").await;
        assert_eq!(
            primary["status"]["suspend_timeout_duration"], default,
            "{mode}: {primary}"
        );
    }
}

#[tokio::test]
async fn validation_errors_use_the_services_words() {
    for (mode, b) in modes() {
        let t = T::with(b).await;
        for path in ["projects", "projects?project_id="] {
            let r = t.post(path, json!({})).await;
            assert_eq!(
                assert_error(&r, 400, "INVALID_PARAMETER_VALUE"),
                r#"Field 'project_id' is required, expected non-default value (not "")!"#,
                "{mode}: {path}"
            );
        }
        project(&t).await;
        let r = t
            .post("projects/p/branches", json!({"spec": {"no_expiry": true}}))
            .await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_PARAMETER_VALUE"),
            r#"Field 'branch_id' is required, expected non-default value (not "")!"#,
            "{mode}"
        );
        let r = t.post("projects/p/branches/production/endpoints", read_only()).await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_PARAMETER_VALUE"),
            r#"Field 'endpoint_id' is required, expected non-default value (not "")!"#,
            "{mode}"
        );
        let owner = "projects/p/branches/production/roles/does-not-exist";
        let r = t
            .post(
                "projects/p/branches/production/databases?database_id=Bad_Id",
                json!({"spec": {"role": owner}}),
            )
            .await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_PARAMETER_VALUE"),
            "Field database_id must match pattern ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, got 'Bad_Id'.",
            "{mode}"
        );
        let r = t
            .post(
                "projects/p/branches/production/databases?database_id=my-database",
                json!({"spec": {"role": owner}}),
            )
            .await;
        let message = assert_error(&r, 404, "NOT_FOUND");
        let trace = message
            .strip_prefix(r#"role not found; role_id:"does-not-exist" [TraceId: "#)
            .and_then(|m| m.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{mode}: {message}"));
        assert!(
            !trace.is_empty() && trace.chars().all(|c| c.is_ascii_hexdigit()),
            "{mode}: {message}"
        );
        let r = t
            .post(
                "projects/p/branches/production/databases?database_id=my-database",
                json!({"spec": {"postgres_database": "app_db"}}),
            )
            .await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_PARAMETER_VALUE"),
            r#"Field 'database.spec.role' is required, expected non-default value (not "")!"#,
            "{mode}"
        );
    }
}

#[tokio::test]
async fn endpoints_reconcile_after_their_operation_and_refuse_deletes_and_re_creates_meanwhile() {
    for (mode, b) in modes() {
        // A window long enough that the calls right after an operation fall inside it.
        let t = T::with(b.reconcile(Duration::from_secs(3))).await;
        project(&t).await;
        dev_branch(&t).await;
        let ro_path = "projects/p/branches/dev/endpoints/ro";
        let done = create(&t, "projects/p/branches/dev/endpoints?endpoint_id=ro", read_only()).await;
        assert!(
            done["status"].get("pending_state").is_none(),
            "{mode}: the operation's result is settled"
        );
        let (_, read) = t.get(ro_path).await;
        assert_eq!(read["status"]["pending_state"], json!("ACTIVE"), "{mode}: {read}");

        let conflict = |r: &(u16, Value)| assert_error(r, 409, "RESOURCE_CONFLICT").contains("reconciliation");
        // The changed endpoint can be neither deleted nor re-created meanwhile.
        assert!(conflict(&t.delete(ro_path).await), "{mode}");
        let again = "projects/p/branches/dev/endpoints?endpoint_id=ro&replace_existing=true";
        assert!(conflict(&t.post(again, read_only()).await), "{mode}");
        // Reads, other endpoints and other branches are not held up.
        let (s, _) = t.get("projects/p/branches/dev/endpoints").await;
        assert_eq!(s, 200, "{mode}");
        create(&t, "projects/p/branches/dev/endpoints?endpoint_id=other", read_only()).await;
        create(
            &t,
            "projects/p/branches/production/endpoints?endpoint_id=ro",
            read_only(),
        )
        .await;

        // Once pending_state clears, the delete goes through, and holds the branch's endpoint
        // creates and deletes for a window of its own.
        settled(&t, ro_path).await;
        delete(&t, ro_path).await;
        let create_another = "projects/p/branches/dev/endpoints?endpoint_id=ro2";
        assert!(conflict(&t.post(create_another, read_only()).await), "{mode}");
        let other = "projects/p/branches/dev/endpoints/other";
        settled(&t, other).await;
        assert!(conflict(&t.delete(other).await), "{mode}");
    }
}

#[tokio::test]
async fn no_reconciliation_window_when_it_is_zero() {
    let t = T::with(Emulator::builder().op_latency(Duration::ZERO).reconcile(Duration::ZERO)).await;
    project(&t).await;
    let path = "projects/p/branches/production/endpoints/ro";
    create(
        &t,
        "projects/p/branches/production/endpoints?endpoint_id=ro",
        read_only(),
    )
    .await;
    let (_, read) = t.get(path).await;
    assert!(read["status"].get("pending_state").is_none(), "{read}");
    delete(&t, path).await;
    create(
        &t,
        "projects/p/branches/production/endpoints?endpoint_id=ro",
        read_only(),
    )
    .await;
}

#[tokio::test]
async fn a_read_only_endpoint_has_host_equal_to_read_only_host() {
    for (mode, b) in settled_modes() {
        let t = T::with(b).await;
        project(&t).await;
        let ro = create(
            &t,
            "projects/p/branches/production/endpoints?endpoint_id=ro",
            read_only(),
        )
        .await;
        let hosts = &ro["status"]["hosts"];
        assert!(hosts["host"].as_str().is_some_and(|h| !h.is_empty()), "{mode}: {hosts}");
        assert_eq!(hosts["host"], hosts["read_only_host"], "{mode}: {hosts}");
        let (_, rw) = t.get("projects/p/branches/production/endpoints/primary").await;
        let hosts = &rw["status"]["hosts"];
        assert!(hosts["host"].as_str().is_some_and(|h| !h.is_empty()), "{mode}: {hosts}");
        assert!(hosts["read_write_pooled_host"].is_string(), "{mode}: {hosts}");
        assert!(hosts.get("read_only_host").is_none(), "{mode}: {hosts}");
    }
}

#[tokio::test]
async fn zero_values_are_sent_explicitly_in_status() {
    for (mode, b) in modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        let (_, p) = t.get("projects/p").await;
        assert_eq!(p["status"]["enable_pg_native_login"], json!(false), "{mode}: {p}");
        assert_eq!(p["status"]["synthetic_storage_size_bytes"], json!(0), "{mode}: {p}");
        let (_, dev) = t.get("projects/p/branches/dev").await;
        assert_eq!(dev["status"]["default"], json!(false), "{mode}: {dev}");
        assert_eq!(dev["status"]["is_protected"], json!(false), "{mode}: {dev}");
        let (_, production) = t.get("projects/p/branches/production").await;
        assert_eq!(
            production["status"]["is_protected"],
            json!(false),
            "{mode}: {production}"
        );
        let (_, e) = t.get("projects/p/branches/dev/endpoints/primary").await;
        assert_eq!(e["status"]["disabled"], json!(false), "{mode}: {e}");
    }
}

#[tokio::test]
async fn undelete_restores_a_project_with_its_branch_and_endpoint_and_deletes_cascade() {
    for (mode, b) in settled_modes() {
        let t = T::with(b).await;
        project(&t).await;
        dev_branch(&t).await;
        let children = [
            "projects/p/branches/production",
            "projects/p/branches/production/endpoints/primary",
            "projects/p/branches/dev",
            "projects/p/branches/dev/endpoints/primary",
        ];
        // A branch delete takes its endpoints along.
        delete(&t, "projects/p/branches/dev").await;
        let r = t.get("projects/p/branches/dev/endpoints/primary").await;
        assert_error(&r, 404, "NOT_FOUND");
        let (_, undeleted) = t.post("projects/p/branches/dev/undelete", json!({})).await;
        t.finish(&undeleted).await;
        // A project delete takes everything along; undelete brings it all back.
        delete(&t, "projects/p").await;
        for child in children {
            let r = t.get(child).await;
            assert_error(&r, 404, "NOT_FOUND");
        }
        let (s, op) = t.post("projects/p/undelete", json!({})).await;
        assert_eq!(s, 200, "{mode}: {op}");
        t.finish(&op).await;
        for child in children {
            let (s, v) = t.get(child).await;
            assert_eq!(s, 200, "{mode}: {child}: {v}");
        }
        let (_, p) = t.get("projects/p").await;
        assert_eq!(
            p["status"]["default_branch"],
            json!("projects/p/branches/production"),
            "{mode}: {p}"
        );
    }
}

/// An emulator bound to every address (`0.0.0.0`), reached through loopback.
async fn exposed(token: Option<&str>) -> (Emulator, String) {
    let mut b = Emulator::builder().bind("0.0.0.0:0".parse().expect("address"));
    if let Some(token) = token {
        b = b.token(token);
    }
    let emu = b.start().await.expect("start");
    let base = format!("http://127.0.0.1:{}", emu.addr().port());
    (emu, base)
}

async fn admin_status(base: &str, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(format!("{base}/_emulator/stats"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("send").status().as_u16()
}

#[tokio::test]
async fn admin_routes_need_the_emulators_token_beyond_loopback() {
    let (_emu, base) = exposed(Some("secret-token")).await;
    assert_eq!(admin_status(&base, None).await, 401);
    assert_eq!(admin_status(&base, Some("another-token")).await, 401);
    assert_eq!(admin_status(&base, Some("secret-token")).await, 200);
    let faults = reqwest::Client::new()
        .put(format!("{base}/_emulator/faults"))
        .json(&json!({"rate_503": 1.0}))
        .send()
        .await
        .expect("send");
    assert_eq!(faults.status().as_u16(), 401);

    let (_emu, base) = exposed(None).await;
    assert_eq!(admin_status(&base, Some("any-token")).await, 403);

    let loopback = Emulator::start().await.expect("start");
    assert_eq!(admin_status(&loopback.base_url(), None).await, 200);
}
