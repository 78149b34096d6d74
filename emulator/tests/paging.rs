//! Pagination: several pages, opaque tokens, rejected foreign tokens, empty collections.

mod common;

use common::{T, assert_error};
use serde_json::{Value, json};

async fn collect(t: &T, path: &str, key: &str, page_size: usize) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}page_size={page_size}");
        if let Some(tok) = &token {
            let enc: String = serde_urlencoded::to_string([("page_token", tok.as_str())]).expect("encode");
            url.push('&');
            url.push_str(&enc);
        }
        let (s, v) = t.get(&url).await;
        assert_eq!(s, 200, "{v}");
        pages += 1;
        for item in v[key].as_array().into_iter().flatten() {
            names.push(item["name"].as_str().unwrap_or_default().to_string());
        }
        match v.get("next_page_token").and_then(Value::as_str) {
            Some(tok) if !tok.is_empty() => token = Some(tok.to_string()),
            _ => break,
        }
        assert!(pages < 100, "runaway pagination");
    }
    (names, pages)
}

#[tokio::test]
async fn lists_span_several_pages_in_creation_order() {
    let t = T::new().await;
    t.emu.seed_projects(7).expect("seed");
    let (names, pages) = collect(&t, "projects", "projects", 3).await;
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..7).map(|i| format!("projects/seed-{i:05}")).collect();
    assert_eq!(names, want);
    // exact multiple: no trailing empty page, last page has no token
    let (names, pages) = collect(&t, "projects", "projects", 7).await;
    assert_eq!((names.len(), pages), (7, 1));
    // default page size applies without page_size
    let (_, v) = t.get("projects").await;
    assert_eq!(v["projects"].as_array().map(Vec::len), Some(7));
    assert!(v.get("next_page_token").is_none());
}

#[tokio::test]
async fn tokens_are_opaque_base64_and_survive_url_encoding() {
    let t = T::with(
        lakebase_emulator::Emulator::builder()
            .op_latency(std::time::Duration::ZERO)
            .default_page_size(1),
    )
    .await;
    t.project("p").await;
    for i in 0..4 {
        t.create(
            &format!("projects/p/branches?branch_id=b{i}"),
            json!({"spec": {"no_expiry": true}}),
        )
        .await;
    }
    let (_, first) = t.get("projects/p/branches").await;
    let tok = first["next_page_token"].as_str().expect("token").to_string();
    assert_eq!(tok.len(), 24);
    assert!(tok.ends_with("=="));
    let (names, pages) = collect(&t, "projects/p/branches", "branches", 2).await;
    assert_eq!((names.len(), pages), (5, 3));
    assert_eq!(names[0], "projects/p/branches/production");
}

#[tokio::test]
async fn foreign_or_tampered_tokens_are_rejected() {
    let t = T::new().await;
    t.emu.seed_projects(3).expect("seed");
    let (_, v) = t.get("projects?page_size=1").await;
    let tok = v["next_page_token"].as_str().expect("token").to_string();
    let enc = |s: &str| serde_urlencoded::to_string([("page_token", s)]).expect("encode");
    for bad in ["resume-from-analyst", "AAAAAAAAAAAAAAAAAAAAAA==", "%%%", "Zm9v"] {
        let r = t.get(&format!("projects?{}", enc(bad))).await;
        assert!(assert_error(&r, 400, "INVALID_PARAMETER_VALUE").contains("page_token"));
    }
    // a token is bound to the list filter and collection it was issued for
    let r = t.get(&format!("projects?show_deleted=true&{}", enc(&tok))).await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t.get(&format!("projects/seed-00000/branches?{}", enc(&tok))).await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    // and to the emulator instance that issued it
    let other = T::new().await;
    other.emu.seed_projects(3).expect("seed");
    let r = other.get(&format!("projects?{}", enc(&tok))).await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t.get("projects?page_size=-1").await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t.get("projects?page_size=abc").await;
    assert_error(&r, 400, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn empty_collections_are_empty_objects() {
    let t = T::new().await;
    assert_eq!(t.get("projects").await, (200, json!({})));
    t.fixture("p").await;
    for path in [
        "projects/p/snapshots",
        "projects/p/branches/dev/databases/app-db/cdf-configs",
    ] {
        assert_eq!(t.get(path).await, (200, json!({})), "{path}");
    }
}
