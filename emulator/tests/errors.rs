//! Every error case of the API: ids, duplicates, not found, masks, tokens, conflicts.

mod common;

use common::{T, assert_error};
use serde_json::json;

#[tokio::test]
async fn bad_ids_are_rejected() {
    let t = T::new().await;
    for id in ["", "1abc", "Upper", "has_underscore", "-x", &"a".repeat(64)] {
        let r = t.post(&format!("projects?project_id={id}"), json!({})).await;
        assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    }
    t.project("p").await;
    let r = t
        .post(
            "projects/p/branches?branch_id=Bad!",
            json!({"spec": {"no_expiry": true}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t
        .post(
            "projects/p/branches/production/endpoints?endpoint_id=9ep",
            json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    // role ids follow the spec's rule (4-63 of [a-z0-9-]); database ids the rule the service
    // applies (a letter first, 1-63 characters, no trailing hyphen), so `db1` is no error of
    // its id: that create fails for its body's missing `spec.role`, in the service's words.
    let r = t
        .post("projects/p/branches/production/roles?role_id=abc", json!({"spec": {}}))
        .await;
    let m = assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    assert!(
        m.starts_with("Field role_id must match pattern ^[a-z0-9-]{4,63}$, got 'abc'."),
        "{m}"
    );
    for bad in ["1db", "db-", "Db1", "d_b"] {
        let r = t
            .post(
                &format!("projects/p/branches/production/databases?database_id={bad}"),
                json!({"spec": {}}),
            )
            .await;
        let m = assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
        assert!(
            m.starts_with(&format!(
                "Field database_id must match pattern ^[a-z]([a-z0-9-]{{0,61}}[a-z0-9])?$, got '{bad}'."
            )),
            "{m}"
        );
    }
    let r = t
        .post(
            "projects/p/branches/production/databases?database_id=db1",
            json!({"spec": {}}),
        )
        .await;
    let m = assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    assert!(
        m.contains("spec.role"),
        "db1 is a valid database id; the body lacks spec.role: {m}"
    );
    // cdf config ids: [a-z][a-z0-9_]{0,62}
    t.fixture("q").await;
    let r = t
        .post(
            "projects/q/branches/dev/databases/app-db/cdf-configs?cdf_config_id=Bad-Id",
            json!({"catalog": "main", "schema": "s", "postgres_schema": "public"}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    // synced table ids are catalog.schema.table
    let r = t
        .post("synced_tables?synced_table_id=only.two", json!({"spec": {}}))
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t.post("projects", json!({})).await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("project_id"));
}

#[tokio::test]
async fn duplicate_create_is_409_already_exists_and_400_for_roles_and_databases() {
    let t = T::new().await;
    t.fixture("p").await;
    let r = t.post("projects?project_id=p", json!({})).await;
    assert_error(&r, 409, "ALREADY_EXISTS");
    let r = t
        .post(
            "projects/p/branches?branch_id=dev",
            json!({"spec": {"no_expiry": true}}),
        )
        .await;
    let msg = assert_error(&r, 409, "ALREADY_EXISTS");
    assert_eq!(msg, "branch with such id already exists");
    assert_eq!(r.1["details"][0]["reason"], json!("RESOURCE_ALREADY_EXISTS"));
    assert_eq!(
        r.1["details"][0]["metadata"]["resource_name"],
        json!("projects/p/branches/dev")
    );
    let r = t
        .post("projects/p/branches/dev/roles?role_id=app-owner", json!({"spec": {}}))
        .await;
    assert_eq!(
        assert_error(&r, 400, "BAD_REQUEST"),
        "role with that name already exists"
    );
    let r = t
        .post(
            "projects/p/branches/dev/databases?database_id=app-db",
            json!({"spec": {"role": "projects/p/branches/dev/roles/app-owner"}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "BAD_REQUEST"),
        "database with that name already exists"
    );
    t.create(
        "catalogs?catalog_id=cat",
        json!({"spec": {"postgres_database": "app_db", "branch": "projects/p/branches/dev"}}),
    )
    .await;
    let r = t
        .post(
            "catalogs?catalog_id=cat",
            json!({"spec": {"postgres_database": "app_db"}}),
        )
        .await;
    assert_error(&r, 409, "ALREADY_EXISTS");
    assert_eq!(r.1["details"][0]["reason"], json!("CATALOG_ALREADY_EXISTS"));
}

#[tokio::test]
async fn not_found_has_the_recorded_shape() {
    let t = T::new().await;
    let r = t.get("projects/no-such-project").await;
    let msg = assert_error(&r, 404, "NOT_FOUND");
    assert!(
        msg.starts_with("Project 'projects/no-such-project' does not exist. [TraceId: "),
        "{msg}"
    );
    let info = &r.1["details"][0];
    assert_eq!(info["@type"], json!("type.googleapis.com/google.rpc.ErrorInfo"));
    assert_eq!(info["reason"], json!("RESOURCE_DOES_NOT_EXIST"));
    assert_eq!(info["metadata"]["resource_id"], json!("no-such-project"));
    t.project("p").await;
    for path in [
        "projects/p/branches/nope",
        "projects/p/branches/production/endpoints/nope",
        "projects/p/branches/production/roles/nobody",
        "projects/p/branches/production/databases/nope",
        "projects/p/snapshots/nope",
        "catalogs/nope",
        "synced_tables/a.b.c",
        "projects/p/operations/nope",
    ] {
        assert_error(&t.get(path).await, 404, "NOT_FOUND");
    }
    let r = t.get("projects/nope/branches/production").await;
    assert!(assert_error(&r, 404, "NOT_FOUND").starts_with("Project 'projects/nope'"));
    let r = t
        .post("projects/p/branches/production/roles/nobody/password", json!({}))
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    let r = t.get("projects/p/branches/nope/snapshot-schedule").await;
    assert!(assert_error(&r, 404, "NOT_FOUND").starts_with("Branch 'projects/p/branches/nope/snapshot-schedule'"));
    let r = t.get("no/such/route").await;
    assert_error(&r, 404, "ENDPOINT_NOT_FOUND");
    let r = t.call(reqwest::Method::PUT, "projects/p", Some(json!({}))).await;
    assert_error(&r, 404, "ENDPOINT_NOT_FOUND");
}

#[tokio::test]
async fn update_mask_errors() {
    let t = T::new().await;
    t.fixture("p").await;
    // missing mask / empty mask
    assert_error(
        &t.patch("projects/p", json!({"spec": {"display_name": "x"}})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_error(
        &t.patch("projects/p?update_mask=", json!({"spec": {"display_name": "x"}}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_error(
        &t.patch("projects/p?update_mask=spec..x", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // paths are literal: a space after the comma is part of the next path
    let r = t
        .patch(
            "projects/p?update_mask=spec.display_name,%20spec.pg_version",
            json!({"spec": {"display_name": "x", "pg_version": 17}}),
        )
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("' spec.pg_version'"));
    // masked field absent from the body (recorded message and details)
    let r = t
        .patch("projects/p?update_mask=spec.pg_version", json!({"name": "projects/p"}))
        .await;
    let msg = assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    assert_eq!(
        msg,
        "Field 'spec.pg_version' is in update_mask but not provided in request"
    );
    assert_eq!(
        r.1["details"][0]["@type"],
        json!("type.googleapis.com/google.rpc.BadRequest")
    );
    let r = t
        .patch(
            "projects/p?update_mask=spec.display_name,spec.history_retention_duration",
            json!({"spec": {"display_name": "x"}}),
        )
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("spec.history_retention_duration"));
    // a oneof group needs one of its members
    let r = t
        .patch(
            "projects/p?update_mask=spec.default_endpoint_settings.suspension",
            json!({"spec": {}}),
        )
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("not provided"));
    // unknown path
    let r = t
        .patch("projects/p?update_mask=spec.colour", json!({"spec": {"colour": "red"}}))
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("spec.colour"));
    // immutable / output-only paths
    let r = t
        .patch(
            "projects/p?update_mask=spec.pg_version",
            json!({"spec": {"pg_version": 16}}),
        )
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("immutable"));
    let r = t
        .patch(
            "projects/p?update_mask=status.owner",
            json!({"status": {"owner": "me"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let role = "projects/p/branches/dev/roles/app-owner";
    for path in ["spec.identity_type", "spec.auth_method", "spec.postgres_role"] {
        let body = json!({"spec": {"identity_type": "USER", "auth_method": "NO_LOGIN", "postgres_role": "x"}});
        let r = t.patch(&format!("{role}?update_mask={path}"), body).await;
        assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("immutable"));
    }
    let r = t
        .patch(
            "projects/p/branches/dev?update_mask=spec.source_branch",
            json!({"spec": {"source_branch": "x"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    // `*` replaces the spec, but the immutable `pg_version` it leaves out is kept
    let before = t
        .create("projects?project_id=pv", json!({"spec": {"pg_version": 16}}))
        .await;
    let (status, op) = t
        .patch("projects/pv?update_mask=*", json!({"spec": {"display_name": "All"}}))
        .await;
    assert_eq!(status, 200, "{op}");
    let after = t.wait(&op).await["response"].clone();
    assert_eq!(after["status"]["display_name"], json!("All"));
    assert_eq!(before["status"]["pg_version"], json!(16), "{before}");
    assert_eq!(after["status"]["pg_version"], json!(16), "{before} -> {after}");
    // `*` needs every mutable field in the body
    let r = t
        .patch(
            "projects/p/branches/dev?update_mask=*",
            json!({"spec": {"is_protected": true}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    // body name must match the path
    let r = t
        .patch(
            "projects/p?update_mask=spec.display_name",
            json!({"name": "projects/other", "spec": {"display_name": "x"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    // values are validated after the mask is applied
    let r = t
        .patch(
            "projects/p?update_mask=spec.display_name",
            json!({"spec": {"display_name": ""}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn read_write_endpoint_is_unique_per_branch() {
    let t = T::new().await;
    t.project("p").await;
    let r = t
        .post(
            "projects/p/branches/production/endpoints?endpoint_id=second",
            json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_WRITE"}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "BAD_REQUEST"),
        "read_write endpoint already exists"
    );
    let r = t
        .post(
            "projects/p/branches/production/endpoints?endpoint_id=second",
            json!({"spec": {}}),
        )
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("endpoint_type"));
    let r = t
        .post(
            "projects/p/branches/production/endpoints?endpoint_id=second",
            json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_BOGUS"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let ro = json!({"spec": {"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}});
    t.create("projects/p/branches/production/endpoints?endpoint_id=ro-1", ro)
        .await;
}

#[tokio::test]
async fn value_validation() {
    let t = T::new().await;
    t.project("p").await;
    let bad_specs = [
        json!({"spec": {"default_endpoint_settings": {"autoscaling_limit_min_cu": 0.25}}}),
        json!({"spec": {"default_endpoint_settings": {"autoscaling_limit_min_cu": 1.0, "autoscaling_limit_max_cu": 32.0}}}),
        json!({"spec": {"default_endpoint_settings": {"suspend_timeout_duration": "5s"}}}),
        json!({"spec": {"default_endpoint_settings": {"no_suspension": false}}}),
        json!({"spec": {"history_retention_duration": "60s"}}),
        json!({"spec": {"display_name": 42}}),
        json!({"initial_endpoint_spec": {"group": {"min": 1, "max": 2}}}),
    ];
    for (i, b) in bad_specs.into_iter().enumerate() {
        let r = t.post(&format!("projects?project_id=bad-{i}"), b).await;
        assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    }
    // branch expiry: exactly one of ttl / expire_time / no_expiry=true
    for spec in [
        json!({}),
        json!({"no_expiry": false}),
        json!({"ttl": "60s", "no_expiry": true}),
        json!({"ttl": "1h"}),
    ] {
        let r = t.post("projects/p/branches?branch_id=b", json!({"spec": spec})).await;
        assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    }
    let r = t
        .post(
            "projects/p/branches?branch_id=b",
            json!({"spec": {"no_expiry": true, "source_branch_lsn": "zz"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t
        .post(
            "projects/p/branches?branch_id=b",
            json!({"spec": {"no_expiry": true, "source_branch": "projects/p/branches/nope"}}),
        )
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    // database needs spec.role
    let r = t
        .post(
            "projects/p/branches/production/databases",
            json!({"spec": {"postgres_database": "x"}}),
        )
        .await;
    assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("spec.role"));
    // malformed JSON
    let resp = t
        .http
        .post(format!("{}/api/2.0/postgres/projects?project_id=z", t.base))
        .bearer_auth(common::TOKEN)
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    // snapshot schedule cadence
    let r = t
        .patch(
            "projects/p/branches/production/snapshot-schedule?update_mask=schedule",
            json!({"schedule": [{"daily_schedule": {"hour": 3}, "retention": "60s"}]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn state_errors() {
    let t = T::new().await;
    t.project("p").await;
    // the root branch cannot be deleted (its project manages it); protected branches neither
    assert_error(&t.delete("projects/p/branches/production").await, 400, "BAD_REQUEST");
    t.create(
        "projects/p/branches?branch_id=prot",
        json!({"spec": {"no_expiry": true, "is_protected": true}}),
    )
    .await;
    assert_error(&t.delete("projects/p/branches/prot").await, 400, "INVALID_STATE");
    // undelete of a live resource
    assert_error(&t.post("projects/p/undelete", json!({})).await, 400, "INVALID_STATE");
    // update of a soft-deleted project
    let (_, op) = t.delete("projects/p").await;
    t.wait(&op).await;
    let r = t
        .patch(
            "projects/p?update_mask=spec.display_name",
            json!({"spec": {"display_name": "x"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_STATE");
    // children of a soft-deleted project are hidden
    assert_error(&t.get("projects/p/branches/production").await, 404, "NOT_FOUND");
}

#[tokio::test]
async fn credential_lifetime_is_validated() {
    let t = T::new().await;
    t.project("p").await;
    let ep = "projects/p/branches/production/endpoints/primary";
    for body in [
        json!({"endpoint": ep, "ttl": "60s"}),
        json!({"endpoint": ep, "ttl": "7200s"}),
        json!({"endpoint": ep, "ttl": "900s", "expire_time": "2099-01-01T00:00:00Z"}),
        json!({"endpoint": ep, "expire_time": "2099-01-01T00:00:00Z"}),
        json!({"endpoint": ep, "ttl": "15m"}),
        json!({"endpoint": ep, "claims": [{"permission_set": "READ_WRITE"}]}),
        json!({}),
    ] {
        assert_error(&t.post("credentials", body).await, 400, "INVALID_PARAMETER_VALUE");
    }
    let r = t
        .post(
            "credentials",
            json!({"endpoint": "projects/p/branches/production/endpoints/nope"}),
        )
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    let (s, v) = t.post("credentials", json!({"endpoint": ep, "ttl": "900s"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token"].as_str().map(|x| x.split('.').count()), Some(3));
    let exp = chrono::DateTime::parse_from_rfc3339(v["expire_time"].as_str().unwrap_or_default()).expect("ts");
    let ahead = exp.timestamp() - chrono::Utc::now().timestamp();
    assert!((880..=910).contains(&ahead), "{ahead}");
    let when = (chrono::Utc::now() + chrono::Duration::seconds(1200)).to_rfc3339();
    let (s, v) = t
        .post("credentials", json!({"endpoint": ep, "expire_time": when}))
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn reveal_password_only_for_password_roles() {
    let t = T::new().await;
    t.fixture("p").await;
    let (s, v) = t
        .post("projects/p/branches/dev/roles/app-owner/password", json!({}))
        .await;
    assert_eq!(s, 200);
    let pw = v["password"].as_str().expect("password").to_string();
    let (_, again) = t
        .post("projects/p/branches/dev/roles/app-owner/password", json!({}))
        .await;
    assert_eq!(again["password"], json!(pw));
    let role = t
        .create(
            "projects/p/branches/dev/roles",
            json!({"spec": {"identity_type": "USER", "postgres_role": "alice@example.com"}}),
        )
        .await;
    assert_eq!(role["role_id"], json!("alice-example-com"));
    let r = t
        .post("projects/p/branches/dev/roles/alice-example-com/password", json!({}))
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_PARAMETER_VALUE"),
        "Role uses LAKEBASE_OAUTH_V1 and has no password."
    );
    // a role owning a database needs reassign_owned_to
    assert_error(
        &t.delete("projects/p/branches/dev/roles/app-owner").await,
        400,
        "INVALID_STATE",
    );
    let (s, op) = t
        .delete("projects/p/branches/dev/roles/app-owner?reassign_owned_to=alice-example-com")
        .await;
    assert_eq!(s, 200, "{op}");
    t.wait(&op).await;
    let (_, db) = t.get("projects/p/branches/dev/databases/app-db").await;
    assert_eq!(
        db["status"]["role"],
        json!("projects/p/branches/dev/roles/alice-example-com")
    );
}

#[tokio::test]
async fn odd_input_never_crashes_or_5xx() {
    let t = T::new().await;
    t.fixture("p").await;
    let paths = [
        "projects?project_id=x1",
        "projects/p",
        "projects/p/branches?branch_id=b1",
        "projects/p/branches/dev",
        "projects/p/branches/dev/endpoints?endpoint_id=e1",
        "projects/p/branches/dev/roles?role_id=role1",
        "projects/p/branches/dev/roles/app-owner",
        "projects/p/branches/dev/databases?database_id=db01",
        "projects/p/branches/dev/databases/app-db",
        "projects/p/branches/dev/databases/app-db/data-api",
        "projects/p/branches/dev/databases/app-db/cdf-configs",
        "projects/p/branches/dev/snapshot-schedule",
        "projects/p/snapshots?snapshot_id=s1",
        "catalogs?catalog_id=c1",
        "synced_tables?synced_table_id=a.b.c",
        "credentials",
        "projects/p/undelete",
        "projects/%2e%2e/branches",
        "projects/p/operations/",
    ];
    let bodies = [
        json!([]),
        json!("x"),
        json!({"spec": 5}),
        json!({"spec": {"ttl": "99999999999999999999s", "no_expiry": "yes"}}),
        json!({"spec": {"autoscaling_limit_min_cu": "big", "group": {"min": -1}, "endpoint_type": 7}}),
        json!({"spec": {"role": 1, "postgres_database": ["x"]}, "schedule": "daily"}),
        json!({"endpoint": "projects/p/branches/dev/endpoints/x", "ttl": "-1s", "expire_time": "yesterday"}),
        json!({"catalog": 1, "schema": null, "postgres_schema": "1bad"}),
    ];
    for path in paths {
        for body in &bodies {
            for m in [reqwest::Method::POST, reqwest::Method::PATCH] {
                let sep = if path.contains('?') { '&' } else { '?' };
                let p = format!("{path}{sep}update_mask=spec.ttl,schedule,spec");
                let (s, v) = t.call(m, &p, Some(body.clone())).await;
                assert!(s < 500, "{path} {body}: {s} {v}");
            }
        }
    }
}
