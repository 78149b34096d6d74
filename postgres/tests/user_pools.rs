//! `UserPools` on the emulator: two users of an on-behalf-of-user app, each with their own
//! forwarded OAuth token, get pools logged in as themselves with credentials minted by
//! their own tokens, so a row-level security policy shows each only their rows.

mod support;

use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;
use lakebase_postgres::UserPools;
use support::lab;

const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";

/// An OAuth token the emulator issues to `identity` (its client-credentials grant), as the
/// Apps runtime would forward it.
async fn token_of(base: &str, identity: &str) -> String {
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/oidc/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", identity),
            ("client_secret", "secret"),
            ("scope", "all-apis"),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().expect("access_token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_sees_only_their_rows() {
    // Only the lab's token and tokens the emulator issued are accepted.
    let Some(lab) = lab(|b| b.token(support::TOKEN)).await else {
        return;
    };
    // The app's owner sets up the table, the policy and the users' roles.
    let owner = lab.pool().build().await.unwrap();
    owner
        .get()
        .await
        .unwrap()
        .batch_execute(&format!(
            r#"CREATE ROLE "{BOB}" LOGIN; CREATE ROLE "{CAROL}" LOGIN;
               CREATE TABLE notes (owner text NOT NULL DEFAULT current_user, body text NOT NULL);
               ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
               CREATE POLICY own_rows ON notes USING (owner = current_user) WITH CHECK (owner = current_user);
               GRANT SELECT, INSERT ON notes TO "{BOB}", "{CAROL}";
               INSERT INTO notes VALUES ('{BOB}', 'bob 1'), ('{CAROL}', 'carol 1'), ('{CAROL}', 'carol 2');"#
        ))
        .await
        .unwrap();

    let pools = UserPools::builder(lab.pool())
        .workspace(lab.emu.base_url())
        .env(Arc::new(MapEnv::new()))
        .max_users(2)
        .build()
        .unwrap();
    let base = lab.emu.base_url();
    let (bob_token, carol_token) = (token_of(&base, BOB).await, token_of(&base, CAROL).await);
    let mints_before = lab.mints();

    let rows = |pool: lakebase_postgres::Pool| async move {
        let conn = pool.get().await.expect("the user logs in");
        let me: String = conn.query_one("select current_user::text", &[]).await.unwrap().get(0);
        let bodies: Vec<String> = conn
            .query("select body from notes order by body", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        (me, bodies)
    };
    let bob = pools.get(&bob_token).await.unwrap();
    assert_eq!(bob.user(), BOB);
    assert_eq!(rows(bob.clone()).await, (BOB.to_owned(), vec!["bob 1".to_owned()]));
    let carol = pools.get(&carol_token).await.unwrap();
    assert_eq!(
        rows(carol.clone()).await,
        (CAROL.to_owned(), vec!["carol 1".to_owned(), "carol 2".to_owned()])
    );
    assert_eq!(
        lab.mints() - mints_before,
        2,
        "one credential per user, minted with their token"
    );

    // A user cannot write as someone else; writes as themselves land in their rows only.
    let conn = carol.get().await.unwrap();
    assert!(
        conn.execute(&format!("insert into notes values ('{BOB}', 'forged')"), &[])
            .await
            .is_err()
    );
    conn.execute("insert into notes (body) values ('carol 3')", &[])
        .await
        .unwrap();
    assert_eq!(rows(bob.clone()).await.1, ["bob 1"]);

    // The same token again: the same pool, no new lookup or mint. A new token of the same
    // user: still that user's one pool.
    let again = pools.get(&bob_token).await.unwrap();
    assert_eq!(again.credentials().stats().minted, bob.credentials().stats().minted);
    let bob_new_token = token_of(&base, BOB).await;
    assert_ne!(bob_new_token, bob_token);
    assert_eq!(pools.get(&bob_new_token).await.unwrap().user(), BOB);
    assert_eq!(pools.users(), [BOB, CAROL]);

    // A refused token is an error and leaves nothing behind.
    let refused = pools.get("not-a-token-the-workspace-knows").await.unwrap_err();
    assert!(refused.to_string().contains("resolve the user"), "{refused}");
    assert_eq!(pools.users().len(), 2);
}

#[tokio::test]
async fn users_are_bounded_and_idle_ones_evicted() {
    let Some(lab) = lab(|b| b).await else { return };
    let pools = UserPools::builder(lab.pool())
        .workspace(lab.emu.base_url())
        .env(Arc::new(MapEnv::new()))
        .max_users(2)
        .idle_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let base = lab.emu.base_url();
    for user in ["u1@example.com", "u2@example.com", "u3@example.com"] {
        pools.get(&token_of(&base, user).await).await.unwrap();
    }
    assert_eq!(
        pools.users(),
        ["u2@example.com", "u3@example.com"],
        "the least recently used went"
    );
    assert_eq!(pools.evict_idle(), 0);

    let short = UserPools::builder(lab.pool())
        .workspace(lab.emu.base_url())
        .env(Arc::new(MapEnv::new()))
        .idle_timeout(Duration::ZERO)
        .build()
        .unwrap();
    short.get(&token_of(&base, "u4@example.com").await).await.unwrap();
    assert_eq!(short.users(), ["u4@example.com"]);
    // Idle for longer than zero: gone at the next sweep.
    let started = tokio::time::Instant::now();
    while tokio::time::Instant::now() == started {
        tokio::task::yield_now().await;
    }
    assert_eq!(short.evict_idle(), 1);
    assert!(short.users().is_empty());
}

#[test]
fn a_template_without_an_endpoint_is_refused_before_any_request() {
    let builder = lakebase_postgres::Pool::builder().env(Arc::new(MapEnv::new()));
    let error = UserPools::builder(builder)
        .workspace("http://127.0.0.1:1")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("no endpoint"), "{error}");
}
