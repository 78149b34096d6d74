//! Arranging emulator state through its HTTP API (plain `reqwest`): the parents a
//! cassette's request names and, when the recording implies it, the target resource.
//!
//! Resources are created from a *template* when the recording shows one (the recorded
//! resource of a get, a list item, a finished operation's `response`), sanitised so the
//! emulator accepts it (no absolute times in the past, no self-references), otherwise from
//! small valid defaults. Every create waits for its operation (`GET` until `done`).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lakebase_emulator::{Emulator, FaultConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::shape::Observed;

/// API path prefix.
pub const PREFIX: &str = "/api/2.0/postgres/";
/// Project used for catalogs and synced tables when the recording names none (the corpus'
/// project).
const DEFAULT_PROJECT: &str = "my-app";
/// Owner role of databases arranged without a recorded owner.
const DEFAULT_DB_OWNER: &str = "db-owner";
/// Most polls of an operation before giving up.
const MAX_POLLS: usize = 200;

/// A plain HTTP client for the emulator.
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// A client of the emulator at `base` authenticating with `token`.
    pub fn new(base: String, token: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base,
            token: token.to_string(),
        }
    }

    /// Sends a request; `path_and_query` is sent raw (`/api/2.0/postgres/...?...`).
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Observed, String> {
        let url = format!("{}{path_and_query}", self.base);
        let mut req = self.client.request(method.clone(), &url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            req = req.body(serde_json::to_vec(b).map_err(|e| e.to_string())?);
        }
        let resp = req.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| format!("{method} {url}: body is not JSON: {e}"))?
        };
        Ok(Observed { status, headers, body })
    }

    /// An authenticated JSON request of the arrangement; non-2xx is an error.
    pub async fn ok(&self, method: Method, path_and_query: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut headers = vec![
            ("Authorization".to_string(), format!("Bearer {}", self.token)),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        let got = self.send(method.clone(), path_and_query, &headers, body).await?;
        if !(200..300).contains(&got.status) {
            return Err(format!(
                "arrange: {method} {path_and_query} answered {}: {}",
                got.status, got.body
            ));
        }
        Ok(got.body)
    }

    /// `GET` of a resource name: its body when it exists.
    pub async fn lookup(&self, name: &str) -> Result<Option<Value>, String> {
        let headers = [("Authorization".to_string(), format!("Bearer {}", self.token))];
        let got = self
            .send(Method::GET, &format!("{PREFIX}{name}"), &headers, None)
            .await?;
        Ok((got.status == 200).then_some(got.body))
    }

    /// Polls an operation until `done`; a finished operation with `error` is an error.
    pub async fn wait(&self, op: Value) -> Result<Value, String> {
        let mut op = op;
        for _ in 0..MAX_POLLS {
            if op.get("done").and_then(Value::as_bool) == Some(true) {
                if let Some(e) = op.get("error") {
                    return Err(format!("arrange: operation failed: {e}"));
                }
                return Ok(op);
            }
            let name = op
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("arrange: operation without a name: {op}"))?
                .to_string();
            tokio::time::sleep(Duration::from_millis(2)).await;
            op = self.ok(Method::GET, &format!("{PREFIX}{name}"), None).await?;
        }
        Err(format!("arrange: operation not done after {MAX_POLLS} polls: {op}"))
    }
}

/// The kind of a resource, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `projects/{p}`
    Project,
    /// `projects/{p}/branches/{b}`
    Branch,
    /// `.../branches/{b}/endpoints/{e}`
    Endpoint,
    /// `.../branches/{b}/roles/{r}`
    Role,
    /// `.../branches/{b}/databases/{d}`
    Database,
    /// `.../databases/{d}/data-api`
    DataApi,
    /// `.../databases/{d}/cdf-configs/{c}`
    CdfConfig,
    /// `.../cdf-configs/{c}/cdf-statuses/{t}`
    CdfStatus,
    /// `projects/{p}/snapshots/{s}`
    Snapshot,
    /// `.../branches/{b}/snapshot-schedule`
    Schedule,
    /// `catalogs/{c}`
    Catalog,
    /// `synced_tables/{t}`
    SyncedTable,
}

/// The kind of a resource name, if it is one.
pub fn kind_of(name: &str) -> Option<Kind> {
    let s: Vec<&str> = name.split('/').collect();
    Some(match s.as_slice() {
        ["projects", _] => Kind::Project,
        ["projects", _, "branches", _] => Kind::Branch,
        ["projects", _, "snapshots", _] => Kind::Snapshot,
        ["projects", _, "branches", _, "snapshot-schedule"] => Kind::Schedule,
        ["projects", _, "branches", _, "endpoints", _] => Kind::Endpoint,
        ["projects", _, "branches", _, "roles", _] => Kind::Role,
        ["projects", _, "branches", _, "databases", _] => Kind::Database,
        ["projects", _, "branches", _, "databases", _, "data-api"] => Kind::DataApi,
        ["projects", _, "branches", _, "databases", _, "cdf-configs", _] => Kind::CdfConfig,
        [
            "projects",
            _,
            "branches",
            _,
            "databases",
            _,
            "cdf-configs",
            _,
            "cdf-statuses",
            _,
        ] => Kind::CdfStatus,
        ["catalogs", _] => Kind::Catalog,
        ["synced_tables", _] => Kind::SyncedTable,
        _ => return None,
    })
}

/// The structural parent of a resource name (`None` for top-level resources).
pub fn parent_of(name: &str) -> Option<String> {
    match kind_of(name)? {
        Kind::Project | Kind::Catalog | Kind::SyncedTable => None,
        Kind::DataApi | Kind::Schedule => name.rsplit_once('/').map(|(p, _)| p.to_string()),
        _ => {
            let s: Vec<&str> = name.split('/').collect();
            Some(s[..s.len() - 2].join("/"))
        }
    }
}

fn last(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn obj(v: Option<&Value>) -> Value {
    match v {
        Some(x @ Value::Object(_)) => x.clone(),
        _ => json!({}),
    }
}

fn str_at<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.').try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Whether a recorded resource is soft-deleted.
pub fn is_deleted(v: &Value) -> bool {
    v.get("delete_time").is_some() || str_at(v, "status.delete_time").is_some()
}

/// Moves an `expire_time` in the past (the recording's clock) a week into the emulator's
/// future, keeping the field (and so the shape).
fn fix_expiry(spec: &mut Value) {
    let past = spec
        .get("expire_time")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t <= chrono::Utc::now());
    if past {
        let t = chrono::Utc::now() + chrono::Duration::days(7);
        spec["expire_time"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
}

/// Fields of a project's `status` that come from its `spec`.
const PROJECT_SPEC_FIELDS: &[&str] = &[
    "display_name",
    "budget_policy_id",
    "custom_tags",
    "default_endpoint_settings",
    "enable_pg_native_login",
    "history_retention_duration",
    "pg_version",
];

/// A create request: method, path and query, body.
pub type CreateRequest = (Method, String, Value);

/// Creates what a cassette needs, remembering what it made.
pub struct Arranger<'a> {
    /// The HTTP client.
    pub api: &'a Api,
    /// The emulator (for seeding CDF statuses and per-request faults).
    pub emu: &'a Emulator,
    made: HashSet<String>,
}

type Boxed<'b> = Pin<Box<dyn Future<Output = Result<(), String>> + 'b>>;

impl<'a> Arranger<'a> {
    /// An arranger over one emulator.
    pub fn new(api: &'a Api, emu: &'a Emulator) -> Self {
        Self {
            api,
            emu,
            made: HashSet::new(),
        }
    }

    /// Whether `name` exists (a snapshot schedule exists when it has a `schedule`).
    pub async fn exists(&self, name: &str) -> Result<bool, String> {
        let found = self.api.lookup(name).await?;
        Ok(match kind_of(name) {
            Some(Kind::Schedule) => found.is_some_and(|v| v.get("schedule").is_some()),
            _ => found.is_some(),
        })
    }

    /// Ensures the parents of `name` (not `name` itself).
    pub async fn ensure_parents(&mut self, name: &str) -> Result<(), String> {
        match parent_of(name) {
            Some(p) => self.ensure(&p, None).await,
            None => Ok(()),
        }
    }

    /// Ensures every resource name referenced by string values of `v` (except under the
    /// keys `name`), skipping `skip` and names below it and operation names.
    pub fn ensure_refs<'b>(&'b mut self, v: &'b Value, skip: &'b str) -> Boxed<'b> {
        Box::pin(async move {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        if k != "name" {
                            self.ensure_refs(x, skip).await?;
                        }
                    }
                }
                Value::Array(a) => {
                    for x in a {
                        self.ensure_refs(x, skip).await?;
                    }
                }
                Value::String(s) => {
                    let below = !skip.is_empty() && (s == skip || s.starts_with(&format!("{skip}/")));
                    if !below && !s.contains("/operations/") && kind_of(s).is_some() {
                        self.ensure(s, None).await?;
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }

    /// Ensures `name` exists, created from `template` when it does not.
    pub fn ensure<'b>(&'b mut self, name: &'b str, template: Option<&'b Value>) -> Boxed<'b> {
        Box::pin(async move {
            if self.made.contains(name) {
                return Ok(());
            }
            self.ensure_parents(name).await?;
            let kind = kind_of(name).ok_or_else(|| format!("arrange: not a resource name: {name}"))?;
            if self.exists(name).await? {
                if kind == Kind::Endpoint && template.is_some() {
                    // The branch's implicit `primary`: taken over as the service allows,
                    // with `replace_existing=true`, to get the recorded settings.
                    let (method, path, body) = self.create_request(name, template).await?;
                    let path = format!("{path}&replace_existing=true");
                    let op = self.api.ok(method, &path, Some(&body)).await?;
                    self.api.wait(op).await?;
                }
                self.made.insert(name.to_string());
                return Ok(());
            }
            if kind == Kind::CdfStatus {
                let config = parent_of(name).unwrap_or_default();
                self.emu
                    .add_cdf_status(&config, last(name))
                    .map_err(|e| format!("arrange: add_cdf_status({config}): {e}"))?;
                self.made.insert(name.to_string());
                return Ok(());
            }
            let (method, path, body) = self.create_request(name, template).await?;
            let op = self.api.ok(method, &path, Some(&body)).await?;
            self.api.wait(op).await?;
            self.made.insert(name.to_string());
            if kind == Kind::Project
                && let Some(b) = template.and_then(|t| str_at(t, "spec.default_branch"))
            {
                // Some recordings reuse another project's branch name here: the branch of
                // the same id under this project keeps the shape.
                let b = &format!("{name}/branches/{}", last(b));
                self.ensure(b, None).await?;
                let body = json!({"name": name, "spec": {"default_branch": b}});
                let path = format!("{PREFIX}{name}?update_mask=spec.default_branch");
                let op = self.api.ok(Method::PATCH, &path, Some(&body)).await?;
                self.api.wait(op).await?;
            }
            Ok(())
        })
    }

    /// Ensures the database holding Postgres database `pg` on `branch` (catalogs and synced
    /// tables name databases by their Postgres name).
    pub async fn ensure_pg_database(&mut self, branch: &str, pg: &str) -> Result<(), String> {
        let id: String = pg
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let name = format!("{branch}/databases/{id}");
        self.ensure(&name, Some(&json!({"spec": {"postgres_database": pg}})))
            .await
    }

    /// The create request of `name` (ensuring what it references), from `template`.
    pub async fn create_request(&mut self, name: &str, template: Option<&Value>) -> Result<CreateRequest, String> {
        let kind = kind_of(name).ok_or_else(|| format!("arrange: not a resource name: {name}"))?;
        let t = template.cloned().unwrap_or_else(|| json!({}));
        let id = last(name);
        let parent = parent_of(name).unwrap_or_default();
        let mut spec = obj(t.get("spec"));
        let post = |collection: &str, query: String, body: Value| {
            (Method::POST, format!("{PREFIX}{collection}?{query}"), body)
        };
        Ok(match kind {
            Kind::Project => {
                // The recorded status shows settings the recording's spec may not carry
                // (e.g. a project listed without `spec`): create them through the spec.
                let status = obj(t.get("status"));
                for k in PROJECT_SPEC_FIELDS {
                    if spec.get(*k).is_none()
                        && let Some(x) = status.get(*k)
                    {
                        spec[*k] = x.clone();
                    }
                }
                // The default branch is set after creation (it does not exist before).
                if let Some(m) = spec.as_object_mut() {
                    m.remove("default_branch");
                }
                let mut body = json!({"spec": spec});
                for k in ["initial_branch_spec", "initial_endpoint_spec"] {
                    if let Some(x) = t.get(k) {
                        body[k] = x.clone();
                    }
                }
                post("projects", format!("project_id={id}"), body)
            }
            Kind::Branch => {
                fix_expiry(&mut spec);
                let has_expiry = ["ttl", "expire_time", "no_expiry"]
                    .iter()
                    .any(|k| spec.get(*k).is_some());
                if !has_expiry {
                    if str_at(&t, "status.expire_time").is_some() {
                        spec["ttl"] = json!("604800s");
                    } else {
                        spec["no_expiry"] = json!(true);
                    }
                }
                self.ensure_refs(&spec, name).await?;
                post(
                    &format!("{parent}/branches"),
                    format!("branch_id={id}"),
                    json!({"spec": spec}),
                )
            }
            Kind::Endpoint => {
                // Settings the recorded status shows as inherited from the project's
                // defaults are given through the spec.
                if spec.get("settings").is_none()
                    && let Some(x) = t.pointer("/status/settings")
                {
                    spec["settings"] = x.clone();
                }
                if spec.get("endpoint_type").is_none() {
                    let ty = str_at(&t, "status.endpoint_type").unwrap_or(if id == "primary" {
                        "ENDPOINT_TYPE_READ_WRITE"
                    } else {
                        "ENDPOINT_TYPE_READ_ONLY"
                    });
                    spec["endpoint_type"] = json!(ty);
                }
                post(
                    &format!("{parent}/endpoints"),
                    format!("endpoint_id={id}"),
                    json!({"spec": spec}),
                )
            }
            Kind::Role => {
                if spec.as_object().is_some_and(|m| m.is_empty()) {
                    let status = obj(t.get("status"));
                    for k in [
                        "postgres_role",
                        "auth_method",
                        "identity_type",
                        "attributes",
                        "membership_roles",
                    ] {
                        if let Some(x) = status.get(k) {
                            spec[k] = x.clone();
                        }
                    }
                }
                if spec.get("postgres_role").is_none() {
                    spec["postgres_role"] = json!(id.replace('-', "_"));
                }
                post(
                    &format!("{parent}/roles"),
                    format!("role_id={id}"),
                    json!({"spec": spec}),
                )
            }
            Kind::Database => {
                let role = str_at(&t, "spec.role")
                    .or_else(|| str_at(&t, "status.role"))
                    .map_or_else(|| format!("{parent}/roles/{DEFAULT_DB_OWNER}"), str::to_string);
                self.ensure(&role, None).await?;
                spec["role"] = json!(role);
                if spec.get("postgres_database").is_none()
                    && let Some(pg) = str_at(&t, "status.postgres_database")
                {
                    spec["postgres_database"] = json!(pg);
                }
                post(
                    &format!("{parent}/databases"),
                    format!("database_id={id}"),
                    json!({"spec": spec}),
                )
            }
            Kind::DataApi => (Method::POST, format!("{PREFIX}{name}"), json!({"spec": spec})),
            Kind::CdfConfig => {
                let pick = |k: &str, d: String| t.get(k).and_then(Value::as_str).map_or(d, str::to_string);
                let body = json!({
                    "catalog": pick("catalog", "main".into()),
                    "schema": pick("schema", format!("{id}_cdf")),
                    "postgres_schema": pick("postgres_schema", id.to_string()),
                });
                post(&format!("{parent}/cdf-configs"), format!("cdf_config_id={id}"), body)
            }
            Kind::Snapshot => {
                fix_expiry(&mut spec);
                if spec.get("source_branch").is_none() {
                    spec["source_branch"] = json!(format!("{parent}/branches/production"));
                }
                if !["ttl", "expire_time", "no_expiry"]
                    .iter()
                    .any(|k| spec.get(*k).is_some())
                {
                    spec["ttl"] = json!("1209600s");
                }
                self.ensure_refs(&spec, name).await?;
                post(
                    &format!("{parent}/snapshots"),
                    format!("snapshot_id={id}"),
                    json!({"spec": spec}),
                )
            }
            Kind::Schedule => {
                let schedule = t
                    .get("schedule")
                    .cloned()
                    .unwrap_or_else(|| json!([{"daily_schedule": {"hour": 0}, "retention": "86400s"}]));
                (
                    Method::PATCH,
                    format!("{PREFIX}{name}?update_mask=schedule"),
                    json!({"name": name, "schedule": schedule}),
                )
            }
            Kind::Catalog | Kind::SyncedTable => {
                let branch = str_at(&t, "spec.branch")
                    .or_else(|| str_at(&t, "status.branch"))
                    .map(str::to_string)
                    .or_else(|| str_at(&t, "status.project").map(|p| format!("{p}/branches/production")))
                    .unwrap_or_else(|| format!("projects/{DEFAULT_PROJECT}/branches/production"));
                let pg = str_at(&t, "spec.postgres_database")
                    .or_else(|| str_at(&t, "status.postgres_database"))
                    .unwrap_or("app_db")
                    .to_string();
                self.ensure(&branch, None).await?;
                self.ensure_pg_database(&branch, &pg).await?;
                spec["branch"] = json!(branch);
                spec["postgres_database"] = json!(pg);
                if kind == Kind::Catalog {
                    post("catalogs", format!("catalog_id={id}"), json!({"spec": spec}))
                } else {
                    if spec.get("source_table_full_name").is_none() {
                        spec["source_table_full_name"] = json!("main.sales.orders");
                    }
                    if spec.get("existing_pipeline_id").is_some()
                        && let Some(m) = spec.as_object_mut()
                    {
                        m.remove("new_pipeline_spec");
                    }
                    post("synced_tables", format!("synced_table_id={id}"), json!({"spec": spec}))
                }
            }
            Kind::CdfStatus => return Err(format!("arrange: CDF statuses are seeded, not created: {name}")),
        })
    }

    /// Soft-deletes `name` (projects and branches) and waits.
    pub async fn soft_delete(&mut self, name: &str) -> Result<(), String> {
        let op = self.api.ok(Method::DELETE, &format!("{PREFIX}{name}"), None).await?;
        self.api.wait(op).await.map(|_| ())
    }

    /// Starts the operation that creates `name` from `template` (parents ensured) and returns
    /// it without waiting; with `fail`, the emulator's fault injection makes it fail.
    pub async fn start_create(&mut self, name: &str, template: Option<&Value>, fail: bool) -> Result<Value, String> {
        self.ensure_parents(name).await?;
        let (method, path, body) = self.create_request(name, template).await?;
        if fail {
            self.emu.set_faults(FaultConfig {
                op_error_rate: 1.0,
                ..FaultConfig::default()
            });
        }
        let op = self.api.ok(method, &path, Some(&body)).await;
        if fail {
            self.emu.set_faults(FaultConfig::default());
        }
        op
    }

    /// Creates `{collection}/start-anchor`, the item a caller-given first `page_token`
    /// resumes after; must be called before the collection's other items are created.
    pub async fn create_anchor(&mut self, collection: &str) -> Result<(), String> {
        self.ensure(&format!("{collection}/start-anchor"), None).await
    }

    /// A page token of `collection` resuming after its first item (the anchor).
    pub async fn anchor_token(&mut self, collection: &str) -> Result<String, String> {
        let page = self
            .api
            .ok(Method::GET, &format!("{PREFIX}{collection}?page_size=1"), None)
            .await?;
        page.get("next_page_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("arrange: no next_page_token after the anchor of {collection}: {page}"))
    }

    /// Starts creating `name` from `template` with a long operation latency and does not
    /// wait: the resource stays in its pending/provisioning state (for recordings made while
    /// an operation was running). Parents are created normally first.
    pub async fn start_pending(&mut self, name: &str, template: Option<&Value>) -> Result<Value, String> {
        self.ensure_parents(name).await?;
        let (method, path, body) = self.create_request(name, template).await?;
        self.emu.set_op_latency(Duration::from_secs(3600));
        let op = self.api.ok(method, &path, Some(&body)).await;
        self.emu.set_op_latency(Duration::ZERO);
        op
    }
}
