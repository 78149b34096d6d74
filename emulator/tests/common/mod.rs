//! Shared helpers of the integration tests: a started emulator plus a plain HTTP client.
#![allow(dead_code)]

use std::time::Duration;

use lakebase_emulator::{Emulator, EmulatorBuilder};
use reqwest::Method;
use serde_json::{Value, json};

/// Token used by the helpers.
pub const TOKEN: &str = "dapi-test";

/// An emulator and a client for it.
pub struct T {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub base: String,
}

impl T {
    /// Emulator with zero operation latency.
    pub async fn new() -> Self {
        Self::with(Emulator::builder().op_latency(Duration::ZERO)).await
    }

    /// Emulator from a builder.
    pub async fn with(b: EmulatorBuilder) -> Self {
        let emu = b.start().await.expect("start emulator");
        let base = emu.base_url();
        Self {
            emu,
            http: reqwest::Client::new(),
            base,
        }
    }

    /// Emulator from a builder in `--postgres` mode on a free port, `user` as the token's
    /// identity and 5 ms operations; `None` (after saying why) when this machine has no
    /// PostgreSQL server binaries.
    pub async fn with_postgres(b: EmulatorBuilder, user: &str) -> Option<Self> {
        if let Err(e) = lakebase_emulator::pg::binaries::Binaries::find(None) {
            eprintln!("skipped: {e}");
            return None;
        }
        let b = b
            .postgres(true)
            .pg_port(0)
            .user(user)
            .op_latency(Duration::from_millis(5));
        Some(Self::with(b).await)
    }

    /// Calls `/api/2.0/postgres/{path}` (path may carry a query) with the bearer token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}/api/2.0/postgres/{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        (status, v)
    }

    /// `GET {base}{path}` outside the API (discovery, admin routes), without a token: the
    /// JSON body of a response that must succeed.
    pub async fn get_unauthenticated(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("send")
            .error_for_status()
            .expect("status")
            .json()
            .await
            .expect("json")
    }

    /// `GET {base}{path}` with the bearer token: status and text body.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        (resp.status().as_u16(), resp.text().await.expect("text body"))
    }

    /// `GET {base}{path}` with the bearer token: status and JSON body.
    pub async fn get_raw(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get_text(path).await;
        (status, serde_json::from_str(&text).expect("json body"))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Polls an operation until done (bounded) and returns the final operation.
    pub async fn wait(&self, op: &Value) -> Value {
        let name = op["name"].as_str().expect("operation name").to_string();
        for _ in 0..500 {
            let (s, v) = self.get(&name).await;
            assert_eq!(s, 200, "{v}");
            if v["done"] == json!(true) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("operation {name} never finished");
    }

    /// Polls an operation until done with a generous bound (`--postgres` copies real
    /// databases) and returns its `response`; fails on an operation error.
    pub async fn finish(&self, op: &Value) -> Value {
        let name = op["name"].as_str().expect("operation name").to_string();
        for _ in 0..3000 {
            let (s, v) = self.get(&name).await;
            assert_eq!(s, 200, "{v}");
            if v["done"] == json!(true) {
                assert!(v.get("error").is_none(), "operation failed: {v}");
                return v["response"].clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("operation {name} never finished");
    }

    /// POSTs a create, asserts 200, waits and returns the operation `response`.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (s, op) = self.post(path, body).await;
        assert_eq!(s, 200, "create {path}: {op}");
        let done = self.wait(&op).await;
        assert!(done.get("error").is_none(), "{done}");
        done["response"].clone()
    }

    /// Creates project `id` (with its default branch `production`).
    pub async fn project(&self, id: &str) -> Value {
        self.create(
            &format!("projects?project_id={id}"),
            json!({"spec": {"display_name": id}}),
        )
        .await
    }

    /// Creates project `p` with branch `dev`, role `app-owner` and database `app-db`.
    pub async fn fixture(&self, p: &str) {
        self.project(p).await;
        self.create(
            &format!("projects/{p}/branches?branch_id=dev"),
            json!({"spec": {"no_expiry": true}}),
        )
        .await;
        self.create(
            &format!("projects/{p}/branches/dev/roles?role_id=app-owner"),
            json!({"spec": {"postgres_role": "app_owner"}}),
        )
        .await;
        self.create(
            &format!("projects/{p}/branches/dev/databases?database_id=app-db"),
            json!({"spec": {"postgres_database": "app_db", "role": format!("projects/{p}/branches/dev/roles/app-owner")}}),
        )
        .await;
    }
}

/// Asserts a Databricks error body with the given status and code; returns the message.
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) -> String {
    let (s, v) = got;
    assert_eq!(*s, status, "{v}");
    assert_eq!(v["error_code"], json!(code), "{v}");
    let details = v["details"].as_array().expect("details");
    assert_eq!(
        details.last().and_then(|d| d["@type"].as_str()),
        Some("type.googleapis.com/google.rpc.RequestInfo"),
        "{v}"
    );
    v["message"].as_str().expect("message").to_string()
}
