//! Pagination against a scripted server: tokens, empty pages, termination, loop
//! detection, errors mid-listing, laziness and the query re-sent on every page.

mod support;

use futures::{StreamExt, TryStreamExt};
use httpmock::MockServer;
use lakebase::{BranchName, Error, ProjectName};
use serde_json::{Value, json};
use support::{Reply, client, script};

const BRANCHES: &str = "/api/2.0/postgres/projects/my-app/branches";
const PROJECTS: &str = "/api/2.0/postgres/projects";

fn project() -> ProjectName {
    ProjectName::new("my-app").unwrap()
}

fn branches(ids: &[&str], next: Option<&str>) -> Value {
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"name": format!("projects/my-app/branches/{id}"), "branch_id": id}))
        .collect();
    let mut page = json!({ "branches": items });
    if let Some(t) = next {
        page["next_page_token"] = json!(t);
    }
    page
}

fn ids(items: &[lakebase::types::Branch]) -> Vec<String> {
    items.iter().map(|b| b.branch_id.clone().unwrap()).collect()
}

#[tokio::test]
async fn walks_three_pages_with_opaque_tokens() {
    let server = MockServer::start_async().await;
    // Base64-like tokens: `+`, `/` and `=` must survive the query encoding.
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(branches(&["a", "b"], Some("QkJd+s5/dg=="))),
            Reply::ok(branches(&["c", "d"], Some("tok 2&x=1"))),
            Reply::ok(branches(&["e"], None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let items = client
        .list_branches(&project())
        .page_size(2)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(ids(&items), ["a", "b", "c", "d", "e"]);
    mock.assert_calls_async(3).await;
    log.get(0).assert_line("GET", BRANCHES, &[("page_size", "2")]);
    log.get(1)
        .assert_line("GET", BRANCHES, &[("page_size", "2"), ("page_token", "QkJd+s5/dg==")]);
    log.get(2)
        .assert_line("GET", BRANCHES, &[("page_size", "2"), ("page_token", "tok 2&x=1")]);
    for r in log.requests() {
        r.assert_std_headers(false, None);
    }
}

#[tokio::test]
async fn pages_stream_exposes_tokens() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::ok(branches(&["a"], Some("t1"))),
            Reply::ok(branches(&["b"], Some(""))),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let pages: Vec<_> = client.list_branches(&project()).pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].next_page_token.as_deref(), Some("t1"));
    assert_eq!(ids(&pages[0].items), ["a"]);
    assert_eq!(pages[1].next_page_token.as_deref(), Some(""));
    assert_eq!(ids(&pages[1].items), ["b"]);
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn an_empty_middle_page_does_not_end_the_listing() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(branches(&["a"], Some("t1"))),
            Reply::ok(branches(&[], Some("t2"))),
            Reply::ok(json!({"next_page_token": "t3"})), // array key missing: also empty
            Reply::ok(branches(&["b"], None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let items = client.list_branches(&project()).collect_all().await.unwrap();
    assert_eq!(ids(&items), ["a", "b"]);
    mock.assert_calls_async(4).await;
    log.get(0).assert_line("GET", BRANCHES, &[]);
    log.get(1).assert_line("GET", BRANCHES, &[("page_token", "t1")]);
    log.get(2).assert_line("GET", BRANCHES, &[("page_token", "t2")]);
    log.get(3).assert_line("GET", BRANCHES, &[("page_token", "t3")]);
}

#[tokio::test]
async fn a_missing_next_page_token_ends_the_listing() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(branches(&["a", "b"], None))]).await;
    let (client, _) = client(&server);
    let items = client.list_branches(&project()).collect_all().await.unwrap();
    assert_eq!(ids(&items), ["a", "b"]);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_empty_next_page_token_ends_the_listing() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(&server, vec![Reply::ok(branches(&["a"], Some("")))]).await;
    let (client, _) = client(&server);
    let items = client.list_branches(&project()).collect_all().await.unwrap();
    assert_eq!(ids(&items), ["a"]);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_repeated_token_is_a_pagination_error() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(branches(&["a"], Some("t1"))),
            Reply::ok(branches(&["b"], Some("t2"))),
            Reply::ok(branches(&["c"], Some("t1"))),
            Reply::ok(branches(&["never"], None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let mut items = std::pin::pin!(client.list_branches(&project()).items());
    let mut seen = Vec::new();
    let err = loop {
        match items.next().await {
            Some(Ok(b)) => seen.push(b.branch_id.unwrap()),
            Some(Err(e)) => break e,
            None => panic!("listing ended without the pagination error; saw {seen:?}"),
        }
    };
    assert_eq!(seen, ["a", "b"], "items before the bad page");
    assert!(matches!(&err, Error::Pagination(m) if m.contains("\"t1\"")), "{err:?}");
    assert!(items.next().await.is_none(), "the stream ends after the error");
    mock.assert_calls_async(3).await;
    assert_eq!(log.get(2).query, [("page_token".to_string(), "t2".to_string())]);
}

#[tokio::test]
async fn an_error_on_page_two_comes_after_the_first_pages_items() {
    let server = MockServer::start_async().await;
    let (mock, _) = script(
        &server,
        vec![
            Reply::ok(branches(&["a", "b"], Some("t1"))),
            Reply::json(
                404,
                json!({"error_code": "NOT_FOUND", "message": "Project 'projects/my-app' does not exist."}),
            ),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let mut items = std::pin::pin!(client.list_branches(&project()).items());
    assert_eq!(items.next().await.unwrap().unwrap().branch_id.as_deref(), Some("a"));
    assert_eq!(items.next().await.unwrap().unwrap().branch_id.as_deref(), Some("b"));
    let err = items.next().await.unwrap().unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let api = err.as_api_error().expect("typed API error");
    assert_eq!(api.status, 404);
    assert_eq!(api.message, "Project 'projects/my-app' does not exist.");
    assert!(items.next().await.is_none());
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn pages_are_fetched_lazily() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(branches(&["a", "b"], Some("t1"))),
            Reply::ok(branches(&["c"], None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let list = client.list_branches(&project());
    // Building the list sends nothing.
    tokio::task::yield_now().await;
    assert_eq!(log.len(), 0);
    let first_two: Vec<_> = list.items().take(2).try_collect().await.unwrap();
    assert_eq!(ids(&first_two), ["a", "b"]);
    mock.assert_calls_async(1).await;
    // first_page() also fetches one page only.
    let server2 = MockServer::start_async().await;
    let (mock2, _) = script(
        &server2,
        vec![
            Reply::ok(branches(&["x"], Some("t1"))),
            Reply::ok(branches(&["y"], None)),
        ],
    )
    .await;
    let (client2, _) = support::client(&server2);
    let page = client2.list_branches(&project()).pager().first_page().await.unwrap();
    assert_eq!(ids(&page.items), ["x"]);
    assert_eq!(page.next_page_token.as_deref(), Some("t1"));
    mock2.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_callers_page_token_is_sent_on_the_first_request() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(branches(&["c"], Some("t9"))),
            Reply::ok(branches(&["d"], None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let items = client
        .list_branches(&project())
        .page_size(1)
        .page_token("resume+me/==")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(ids(&items), ["c", "d"]);
    mock.assert_calls_async(2).await;
    log.get(0)
        .assert_line("GET", BRANCHES, &[("page_size", "1"), ("page_token", "resume+me/==")]);
    log.get(1)
        .assert_line("GET", BRANCHES, &[("page_size", "1"), ("page_token", "t9")]);
}

#[tokio::test]
async fn other_query_parameters_are_resent_on_every_page() {
    let server = MockServer::start_async().await;
    let page = |ids: &[&str], next: Option<&str>| {
        let items: Vec<Value> = ids
            .iter()
            .map(|id| json!({"name": format!("projects/{id}"), "project_id": id}))
            .collect();
        let mut p = json!({ "projects": items });
        if let Some(t) = next {
            p["next_page_token"] = json!(t);
        }
        p
    };
    let (mock, log) = script(
        &server,
        vec![
            Reply::ok(page(&["p1", "p2", "p3"], Some("n1"))),
            Reply::ok(page(&["p4", "p5", "p6"], Some("n2"))),
            Reply::ok(page(&["p7"], None)),
        ],
    )
    .await;
    let (client, _) = client(&server);
    let items = client
        .list_projects()
        .page_size(3)
        .show_deleted(true)
        .collect_all()
        .await
        .unwrap();
    let names: Vec<_> = items.iter().map(|p| p.project_id.clone().unwrap()).collect();
    assert_eq!(names, ["p1", "p2", "p3", "p4", "p5", "p6", "p7"]);
    mock.assert_calls_async(3).await;
    log.get(0)
        .assert_line("GET", PROJECTS, &[("page_size", "3"), ("show_deleted", "true")]);
    log.get(1).assert_line(
        "GET",
        PROJECTS,
        &[("page_size", "3"), ("show_deleted", "true"), ("page_token", "n1")],
    );
    log.get(2).assert_line(
        "GET",
        PROJECTS,
        &[("page_size", "3"), ("show_deleted", "true"), ("page_token", "n2")],
    );
}

#[tokio::test]
async fn an_empty_collection_has_no_items() {
    let server = MockServer::start_async().await;
    let (mock, log) = script(&server, vec![Reply::ok(json!({}))]).await;
    let (client, _) = client(&server);
    let branch: BranchName = "projects/my-app/branches/dev".parse().unwrap();
    let roles = client.list_roles(&branch).collect_all().await.unwrap();
    assert!(roles.is_empty(), "{roles:?}");
    mock.assert_calls_async(1).await;
    log.get(0)
        .assert_line("GET", "/api/2.0/postgres/projects/my-app/branches/dev/roles", &[]);
}
