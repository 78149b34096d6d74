//! Exact requests of a representative set of calls: method, raw path, query pairs,
//! standard headers and JSON body; and bad input rejected before anything is sent.

mod support;

use httpmock::MockServer;
use lakebase::{BranchName, Error, FieldMask, OperationName, ProjectName, RoleName, SyncedTableName, types};
use serde_json::json;
use support::{Reply, client, client_with, config, op_pending, script};

const API: &str = "/api/2.0/postgres";

fn role_name() -> RoleName {
    ProjectName::new("my-app")
        .unwrap()
        .branch("dev")
        .unwrap()
        .role("app-owner")
        .unwrap()
}

fn branch_name() -> BranchName {
    ProjectName::new("my-app").unwrap().branch("dev").unwrap()
}

#[tokio::test]
async fn create_project_sends_id_in_query_and_resource_as_body() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![Reply::ok(op_pending("projects/my-app/operations/op-1"))]).await;
    let (client, _) = client(&server);
    let project = types::Project {
        spec: Some(types::ProjectSpec {
            display_name: Some("My app".into()),
            pg_version: Some(17),
            enable_pg_native_login: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    let op = client.create_project("my-app", project).await.unwrap();
    assert_eq!(op.name().as_str(), "projects/my-app/operations/op-1");
    assert!(!op.is_done());
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line("POST", &format!("{API}/projects"), &[("project_id", "my-app")]);
    req.assert_std_headers(true, None);
    assert_eq!(
        req.json(),
        json!({"spec": {"display_name": "My app", "pg_version": 17, "enable_pg_native_login": false}})
    );
}

#[tokio::test]
async fn get_branch_with_workspace_id_header() {
    let server = MockServer::start_async().await;
    let body = json!({
        "name": "projects/my-app/branches/dev", "branch_id": "dev", "parent": "projects/my-app",
        "uid": "br-1", "status": {"current_state": "READY", "default": false, "logical_size_bytes": "1024"}
    });
    let (mock, log) = script(&server, vec![Reply::ok(body)]).await;
    let (client, _) = client_with(config(&server).workspace_id("1234567890"));
    let branch = client.get_branch(&branch_name()).await.unwrap();
    assert_eq!(branch.name.as_deref(), Some("projects/my-app/branches/dev"));
    assert_eq!(branch.uid.as_deref(), Some("br-1"));
    let status = branch.status.unwrap();
    assert_eq!(status.default, Some(false));
    assert_eq!(status.current_state.unwrap().as_str(), "READY");
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line("GET", &format!("{API}/projects/my-app/branches/dev"), &[]);
    assert_eq!(req.raw_query, None, "no '?' without query parameters");
    req.assert_std_headers(false, Some("1234567890"));
}

#[tokio::test]
async fn list_endpoints_sends_page_size() {
    let server = MockServer::start_async().await;
    let page = json!({"endpoints": [
        {"name": "projects/my-app/branches/dev/endpoints/primary", "endpoint_id": "primary"},
        {"name": "projects/my-app/branches/dev/endpoints/ro", "endpoint_id": "ro"}
    ]});
    let (mock, log) = script(&server, vec![Reply::ok(page)]).await;
    let (client, _) = client(&server);
    let items = client
        .list_endpoints(&branch_name())
        .page_size(5)
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<_> = items.iter().map(|e| e.endpoint_id.clone().unwrap()).collect();
    assert_eq!(ids, ["primary", "ro"]);
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line(
        "GET",
        &format!("{API}/projects/my-app/branches/dev/endpoints"),
        &[("page_size", "5")],
    );
    req.assert_std_headers(false, None);
}

#[tokio::test]
async fn update_role_sends_comma_joined_mask() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![Reply::ok(op_pending("projects/my-app/operations/op-2"))]).await;
    let (client, _) = client(&server);
    let role = types::Role {
        name: Some(role_name().to_string()),
        spec: Some(types::RoleRoleSpec {
            attributes: Some(types::RoleAttributes {
                createdb: Some(true),
                ..Default::default()
            }),
            postgres_role: Some("app_owner".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mask = FieldMask::new(["spec.attributes.createdb", "spec.postgres_role"]).unwrap();
    let op = client.update_role(&role_name(), role, &mask).await.unwrap();
    assert_eq!(op.name().as_str(), "projects/my-app/operations/op-2");
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line(
        "PATCH",
        &format!("{API}/projects/my-app/branches/dev/roles/app-owner"),
        &[("update_mask", "spec.attributes.createdb,spec.postgres_role")],
    );
    // One parameter, the comma inside it (raw or as %2C), never two update_mask pairs.
    let raw = req.raw_query.clone().unwrap();
    assert!(
        raw == "update_mask=spec.attributes.createdb,spec.postgres_role"
            || raw == "update_mask=spec.attributes.createdb%2Cspec.postgres_role",
        "{raw}"
    );
    req.assert_std_headers(true, None);
    assert_eq!(
        req.json(),
        json!({
            "name": "projects/my-app/branches/dev/roles/app-owner",
            "spec": {"attributes": {"createdb": true}, "postgres_role": "app_owner"}
        })
    );
}

#[tokio::test]
async fn delete_project_with_purge_and_without() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(op_pending("projects/old/operations/d1")),
            Reply::ok(op_pending("projects/old/operations/d2")),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let name = ProjectName::new("old").unwrap();
    let op = client.delete_project(&name).purge(true).await.unwrap();
    assert_eq!(op.name().as_str(), "projects/old/operations/d1");
    let op = client.delete_project(&name).await.unwrap();
    assert_eq!(op.name().as_str(), "projects/old/operations/d2");
    mock.assert_calls_async(2).await;
    let purge = log.get(0);
    purge.assert_line("DELETE", &format!("{API}/projects/old"), &[("purge", "true")]);
    purge.assert_std_headers(false, None);
    let soft = log.get(1);
    soft.assert_line("DELETE", &format!("{API}/projects/old"), &[]);
    soft.assert_std_headers(false, None);
}

#[tokio::test]
async fn delete_role_with_reassign_owned_to() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![Reply::ok(op_pending("projects/my-app/operations/d3"))]).await;
    let (client, _) = client(&server);
    let op = client
        .delete_role(&role_name())
        .reassign_owned_to("databricks_superuser")
        .await
        .unwrap();
    assert_eq!(op.name().as_str(), "projects/my-app/operations/d3");
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line(
        "DELETE",
        &format!("{API}/projects/my-app/branches/dev/roles/app-owner"),
        &[("reassign_owned_to", "databricks_superuser")],
    );
    req.assert_std_headers(false, None);
}

#[tokio::test]
async fn undelete_branch_sends_empty_object() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![Reply::ok(op_pending("projects/my-app/operations/u1"))]).await;
    let (client, _) = client(&server);
    let op = client.undelete_branch(&branch_name()).await.unwrap();
    assert_eq!(op.name().as_str(), "projects/my-app/operations/u1");
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line("POST", &format!("{API}/projects/my-app/branches/dev/undelete"), &[]);
    req.assert_std_headers(true, None);
    assert_eq!(req.body, b"{}", "the literal body {{}}");
}

#[tokio::test]
async fn reveal_role_password_posts_empty_object() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![Reply::ok(json!({"password": "Xk9#p2Lq!v7Rz$w4"}))]).await;
    let (client, _) = client(&server);
    let revealed = client.reveal_role_password(&role_name()).await.unwrap();
    assert_eq!(revealed.password.as_deref(), Some("Xk9#p2Lq!v7Rz$w4"));
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line(
        "POST",
        &format!("{API}/projects/my-app/branches/dev/roles/app-owner/password"),
        &[],
    );
    req.assert_std_headers(true, None);
    assert_eq!(req.body, b"{}");
}

#[tokio::test]
async fn generate_database_credential_with_claims_and_ttl() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![Reply::ok(
            json!({"token": "eyJ.tok.sig", "expire_time": "2025-06-01T15:00:00Z"}),
        )],
    )
    .await;
    let (client, _) = client(&server);
    let endpoint = branch_name().endpoint("primary").unwrap();
    let claims = vec![types::RequestedClaims {
        permission_set: Some(types::RequestedClaimsPermissionSet::ReadOnly),
        resources: vec![
            types::RequestedResource {
                table_name: Some("main.sales.orders".into()),
            },
            types::RequestedResource {
                table_name: Some("main.sales.customers".into()),
            },
        ],
    }];
    let credential = client
        .generate_database_credential(&endpoint)
        .claims(claims)
        .ttl(std::time::Duration::from_secs(900))
        .await
        .unwrap();
    assert_eq!(credential.token.as_deref(), Some("eyJ.tok.sig"));
    assert_eq!(
        credential.expire_time.unwrap().to_rfc3339(),
        "2025-06-01T15:00:00+00:00"
    );
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line("POST", &format!("{API}/credentials"), &[]);
    req.assert_std_headers(true, None);
    assert_eq!(
        req.json(),
        json!({
            "endpoint": "projects/my-app/branches/dev/endpoints/primary",
            "claims": [{"permission_set": "READ_ONLY", "resources": [
                {"table_name": "main.sales.orders"}, {"table_name": "main.sales.customers"}
            ]}],
            "ttl": "900s"
        })
    );
}

#[tokio::test]
async fn get_synced_table_keeps_dotted_id_in_one_segment() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![Reply::ok(json!({"name": "synced_tables/main.sales.orders_synced"}))],
    )
    .await;
    let (client, _) = client(&server);
    let name = SyncedTableName::new("main.sales.orders_synced").unwrap();
    let table = client.get_synced_table(&name).await.unwrap();
    assert_eq!(table.name.as_deref(), Some("synced_tables/main.sales.orders_synced"));
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    req.assert_line("GET", &format!("{API}/synced_tables/main.sales.orders_synced"), &[]);
    req.assert_std_headers(false, None);
}

#[tokio::test]
async fn get_operation_sends_the_name_verbatim() {
    let server = MockServer::start_async().await;
    let name = "projects/my-app/operations/AbC+d/e=f==";
    let (mock, log) = script(&server, vec![Reply::ok(json!({"name": name, "done": false}))]).await;
    let (client, _) = client(&server);
    let op = client.get_operation(&OperationName::new(name).unwrap()).await.unwrap();
    assert_eq!(op.name.as_deref(), Some(name));
    assert_eq!(op.done, Some(false));
    mock.assert_calls_async(1).await;
    let req = log.get(0);
    assert!(!req.path.contains('%'), "nothing percent-encoded: {}", req.path);
    req.assert_line("GET", &format!("{API}/{name}"), &[]);
    req.assert_std_headers(false, None);
}

// ---------------------------------------------------------------------------------------
// Bad input: rejected before any request.
// ---------------------------------------------------------------------------------------

fn invalid_input(result: Result<impl std::fmt::Debug, Error>) -> lakebase::InvalidInput {
    match result {
        Err(Error::InvalidInput(i)) => i,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_project_ids_are_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![]).await;
    let (client, _) = client(&server);
    let long = format!("a{}", "b".repeat(63));
    assert_eq!(long.len(), 64);
    for bad in ["My-App", long.as_str(), "1app", "", "my_app", "-app"] {
        let e = invalid_input(client.create_project(bad, types::Project::default()).await);
        assert_eq!(e.what, "project_id", "{bad:?}");
        assert!(e.reason.contains(&format!("{bad:?}")), "{bad:?}: {}", e.reason);
    }
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn invalid_branch_id_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![]).await;
    let (client, _) = client(&server);
    let project = ProjectName::new("my-app").unwrap();
    for bad in ["Dev", "9dev", "dev/x", ""] {
        let e = invalid_input(client.create_branch(&project, bad, types::Branch::default()).await);
        assert_eq!(e.what, "branch_id", "{bad:?}");
    }
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn empty_field_mask_cannot_be_built() {
    // The typed API makes an empty mask unrepresentable: the constructor and the parser
    // reject it, so no update call can send one.
    let e = Error::from(FieldMask::new(Vec::<String>::new()).unwrap_err());
    let e = invalid_input(Err::<(), _>(e));
    assert_eq!(e.what, "update_mask");
    assert!(e.reason.contains("empty"), "{}", e.reason);
    assert!("".parse::<FieldMask>().is_err());
    assert!(FieldMask::from_resource(&types::Role::default()).is_err());
}

#[tokio::test]
async fn create_endpoint_without_endpoint_type_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![]).await;
    let (client, _) = client(&server);
    let endpoint = types::Endpoint {
        spec: Some(types::EndpointSpec {
            autoscaling_limit_max_cu: Some(2.0),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = invalid_input(client.create_endpoint(&branch_name(), "primary", endpoint).await);
    assert_eq!(e.what, "endpoint");
    assert!(e.reason.contains("spec.endpoint_type"), "{}", e.reason);
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn create_endpoint_without_spec_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(op_pending("projects/my-app/operations/x"))]).await;
    let (client, _) = client(&server);
    let result = client
        .create_endpoint(&branch_name(), "primary", types::Endpoint::default())
        .await;
    let e = invalid_input(result);
    assert!(e.reason.contains("spec.endpoint_type"), "{}", e.reason);
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn role_id_too_short_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![]).await;
    let (client, _) = client(&server);
    for bad in ["abc", "a", "Role1", "role_1"] {
        let e = invalid_input(
            client
                .create_role(&branch_name(), types::Role::default())
                .role_id(bad)
                .await,
        );
        assert_eq!(e.what, "role_id", "{bad:?}");
    }
    // And names built from ids are validated too.
    assert!(branch_name().role("abc").is_err());
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn create_database_without_spec_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(op_pending("projects/my-app/operations/x"))]).await;
    let (client, _) = client(&server);
    let result = client.create_database(&branch_name(), types::Database::default()).await;
    let e = invalid_input(result);
    assert!(e.reason.contains("spec.role"), "{}", e.reason);
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn create_database_with_spec_but_no_role_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![]).await;
    let (client, _) = client(&server);
    let database = types::Database {
        spec: Some(types::DatabaseDatabaseSpec {
            postgres_database: Some("app_db".into()),
            role: None,
        }),
        ..Default::default()
    };
    let e = invalid_input(client.create_database(&branch_name(), database).await);
    assert_eq!(e.what, "database");
    assert!(e.reason.contains("spec.role"), "{}", e.reason);
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn errors_keep_their_typed_sources() {
    use std::error::Error as _;

    // A name refused before sending: the NameError stays reachable and typed.
    let server = MockServer::start_async().await;
    let (client, _) = client(&server);
    let err = client
        .create_project("Not_An_Id", types::Project::default())
        .await
        .unwrap_err();
    let Error::InvalidInput(input) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(input.what, "project_id");
    assert!(
        matches!(
            &input.source,
            Some(lakebase::InputError::Name(lakebase::NameError::InvalidId {
                kind: lakebase::IdKind::Project,
                ..
            }))
        ),
        "{input:?}"
    );

    // A 200 body that does not decode: the serde error is the source.
    server
        .mock_async(|when, then| {
            when.method("GET");
            then.status(200).body(r#"{"name": 42}"#);
        })
        .await;
    let err = client.get_project(&"projects/p".parse().unwrap()).await.unwrap_err();
    let source = err.source().expect("a decode error has a source");
    assert!(source.downcast_ref::<serde_json::Error>().is_some(), "{source:?}");
}
