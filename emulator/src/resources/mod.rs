//! Resource families and the request context shared by their handlers.

pub mod branches;
pub mod catalogs;
pub mod cdf;
pub mod credentials;
pub mod data_api;
pub mod databases;
pub mod endpoints;
pub mod generic;
pub mod projects;
pub mod real;
pub mod roles;
pub mod snapshots;
pub mod synced_tables;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::mask;
use crate::operations::{self, OpRecord, Outcome};
use crate::paging::{self, ListSpec};
use crate::pg::PgRuntime;
use crate::pg::effects::Effect;
use crate::query::Query;
use crate::store::Store;
use crate::wire;

/// Owner reported on projects.
pub const OWNER: &str = "user@example.com";
/// Largest accepted expiry `ttl` (ten years), keeping timestamp arithmetic in range.
const MAX_TTL_SECS: f64 = 315_360_000.0;

/// Everything a handler may touch while the store lock is held.
pub struct Ctx<'a> {
    /// The state.
    pub store: &'a mut Store,
    /// Wall-clock time of the request.
    pub now: DateTime<Utc>,
    /// Monotonic time of the request.
    pub instant: Instant,
    /// Latency of long-running operations.
    pub op_latency: Duration,
    /// How long endpoints reconcile after their operation finished.
    pub reconcile: Duration,
    /// Default list page size.
    pub default_page_size: usize,
    /// Secret salt of page tokens.
    pub salt: u64,
    /// Whether the long-running operation started by this request must fail (fault injection).
    pub fail_op: bool,
    /// The calling identity (a user's email or a service principal's client id).
    pub caller: String,
    /// Default and cap of database credential lifetimes.
    pub credential_ttl: Duration,
    /// The real-PostgreSQL layer, in `--postgres` mode.
    pub pg: Option<Arc<PgRuntime>>,
    /// Work on the real databases this request decided, in order.
    pub effects: Vec<Effect>,
    /// Operations this request started.
    pub ops_started: Vec<String>,
}

/// A parsed API call.
pub struct Call {
    /// The operation, from the spec's catalog.
    pub op: &'static lakebase_generated::OperationSpec,
    /// Path captures (ids), in order.
    pub ids: Vec<String>,
    /// Decoded query.
    pub query: Query,
    /// JSON body (`{}` when none).
    pub body: Value,
}

impl Call {
    /// The branch named by the first two path ids: `projects/{p}/branches/{b}`.
    pub fn branch(&self) -> String {
        format!("projects/{}/branches/{}", self.ids[0], self.ids[1])
    }

    /// A resource directly under the branch, named by the third path id:
    /// `projects/{p}/branches/{b}/{collection}/{id}`.
    pub fn branch_child(&self, collection: &str) -> String {
        format!("{}/{collection}/{}", self.branch(), self.ids[2])
    }
}

/// A request handler.
pub type Handler = fn(&mut Ctx<'_>, &Call) -> Result<Value, ApiError>;

/// Whether a resource is soft-deleted (top-level or `status.delete_time` set).
pub fn is_deleted(v: &Value) -> bool {
    !wire::is_empty(v.get("delete_time")) || !wire::is_empty(wire::get(v, "status.delete_time"))
}

/// Where a kind keeps its deletion times: projects at the top level, branches under
/// `status` (as the service reports them).
#[derive(Clone, Copy, Debug)]
pub enum DeletionFields {
    /// `delete_time` / `purge_time`.
    TopLevel,
    /// `status.delete_time` / `status.purge_time`.
    Status,
}

impl DeletionFields {
    fn paths(self) -> (&'static str, &'static str) {
        match self {
            DeletionFields::TopLevel => ("delete_time", "purge_time"),
            DeletionFields::Status => ("status.delete_time", "status.purge_time"),
        }
    }
}

/// Soft-deletes `name` (purge time a week out) or, with `purge`, removes it and
/// everything below it; answers the operation. Deleting twice keeps the first times.
pub fn soft_delete(
    ctx: &mut Ctx<'_>,
    kind: &'static str,
    name: &str,
    current: &Value,
    purge: bool,
    fields: DeletionFields,
) -> Result<Value, ApiError> {
    if purge {
        return hard_delete(ctx, kind, name);
    }
    if let Some(op) = ctx.failing(name, kind) {
        return Ok(op);
    }
    if !is_deleted(current) {
        let (delete_path, purge_path) = fields.paths();
        let now = ctx.ts();
        let purge_at = wire::ts(ctx.now + chrono::Duration::days(7));
        if let Some(v) = ctx.store.value_mut(name) {
            wire::set(v, delete_path, json!(now));
            wire::set(v, purge_path, json!(purge_at));
            touch(v, &now);
        }
    }
    Ok(ctx.op(name, kind, Outcome::Empty))
}

/// Removes `name` and everything below it; answers the (finished) operation.
pub fn hard_delete(ctx: &mut Ctx<'_>, kind: &'static str, name: &str) -> Result<Value, ApiError> {
    if let Some(op) = ctx.failing(name, kind) {
        return Ok(op);
    }
    ctx.store.remove_tree(name);
    Ok(ctx.op(name, kind, Outcome::Empty))
}

/// Restores a soft-deleted `name`; `INVALID_STATE` when it is not deleted.
pub fn restore(ctx: &mut Ctx<'_>, kind: &'static str, name: &str, fields: DeletionFields) -> Result<Value, ApiError> {
    let current = ctx.get(kind, name)?;
    if !is_deleted(&current) {
        return Err(ApiError::invalid_state(format!("{kind} '{name}' is not deleted.")));
    }
    if let Some(op) = ctx.failing(name, kind) {
        return Ok(op);
    }
    let (delete_path, purge_path) = fields.paths();
    let now = ctx.ts();
    if let Some(v) = ctx.store.value_mut(name) {
        wire::remove(v, delete_path);
        wire::remove(v, purge_path);
        touch(v, &now);
    }
    Ok(ctx.op(name, kind, Outcome::Empty))
}

/// The operation root of a resource name (`projects/p`, `catalogs/c`, `synced_tables/t`).
pub fn op_root(name: &str) -> String {
    name.split('/').take(2).collect::<Vec<_>>().join("/")
}

impl Ctx<'_> {
    /// Queues work on the real databases (no-op outside `--postgres` mode).
    pub fn effect(&mut self, effect: Effect) {
        if self.pg.is_some() {
            self.effects.push(effect);
        }
    }

    /// RFC 3339 form of `now`.
    pub fn ts(&self) -> String {
        wire::ts(self.now)
    }

    /// A transient overlay visible until the operation latency has elapsed (none when zero).
    pub fn overlay(&self, patch: Value) -> Option<(Instant, Value)> {
        (!self.op_latency.is_zero()).then(|| (self.instant + self.op_latency, patch))
    }

    /// Starts a long-running operation and returns its wire form.
    pub fn op(&mut self, resource: &str, kind: &'static str, outcome: Outcome) -> Value {
        let op = OpRecord {
            name: operations::new_name(&op_root(resource)),
            kind,
            done_at: self.instant + self.op_latency,
            outcome,
            gate: None,
        };
        self.ops_started.push(op.name.clone());
        let rendered = operations::render(&op, self.instant);
        self.store.ops.insert(op.name.clone(), op);
        rendered
    }

    /// When fault injection decided this request's operation fails, starts the failed
    /// operation (without touching any resource) and returns it.
    pub fn failing(&mut self, resource: &str, kind: &'static str) -> Option<Value> {
        self.fail_op.then(|| {
            self.op(
                resource,
                kind,
                Outcome::Error("INTERNAL_ERROR", "Provisioning failed.".into()),
            )
        })
    }

    fn check_ancestors(&self, name: &str) -> Result<(), ApiError> {
        let segs: Vec<&str> = name.split('/').collect();
        if segs.first() != Some(&"projects") {
            return Ok(());
        }
        for (len, kind) in [(2, "Project"), (4, "Branch")] {
            if segs.len() > len {
                let anc = segs[..len].join("/");
                match self.store.value(&anc) {
                    Some(v) if !is_deleted(v) => {}
                    _ => return Err(ApiError::not_found(kind, &anc)),
                }
            }
        }
        Ok(())
    }

    /// The resource as seen now; soft-deleted resources are returned too.
    pub fn get(&self, kind: &str, name: &str) -> Result<Value, ApiError> {
        self.check_ancestors(name)?;
        self.store
            .view(name, self.instant)
            .ok_or_else(|| ApiError::not_found(kind, name))
    }

    /// The settled value of a resource that exists and is not soft-deleted.
    pub fn live(&self, kind: &str, name: &str) -> Result<Value, ApiError> {
        self.check_ancestors(name)?;
        match self.store.value(name) {
            Some(v) if !is_deleted(v) => Ok(v.clone()),
            _ => Err(ApiError::not_found(kind, name)),
        }
    }

    /// Like [`Ctx::live`] but a soft-deleted resource is an `INVALID_STATE` error.
    pub fn mutable(&self, kind: &str, name: &str) -> Result<Value, ApiError> {
        let v = self.get(kind, name)?;
        if is_deleted(&v) {
            return Err(ApiError::invalid_state(format!(
                "{kind} '{name}' is deleted; undelete it first."
            )));
        }
        self.store
            .value(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))
    }

    /// The first step of an `update_*`: the stored resource (which must exist and not be
    /// soft-deleted) with the call's body merged in along its `update_mask`, after checking
    /// that the body names this resource. Returns the stored value and the updated one.
    pub fn masked_update(
        &self,
        kind: &str,
        name: &str,
        call: &Call,
        rules: &mask::Rules,
    ) -> Result<(Value, Value), ApiError> {
        let current = self.mutable(kind, name)?;
        check_body_name(&call.body, name)?;
        let updated = mask::apply(&current, &call.body, call.query.get("update_mask"), rules)?;
        Ok((current, updated))
    }

    /// The last step of an `update_*`: stamps `update_time`, stores the value (with an
    /// optional pending-state overlay) and returns the operation that yields it.
    pub fn commit_update(
        &mut self,
        kind: &'static str,
        name: &str,
        mut value: Value,
        overlay: Option<(Instant, Value)>,
    ) -> Value {
        touch(&mut value, &self.ts());
        self.store.put(name, value.clone(), overlay);
        self.op(name, kind, Outcome::Resource(kind, value))
    }

    /// Answers a list call over the `collection` directly under the call's (live) branch, whose
    /// response array key is the collection word too (`endpoints`, `roles`, `databases`).
    pub fn list_branch_children(&self, call: &Call, collection: &str) -> Result<Value, ApiError> {
        let branch = call.branch();
        self.live("Branch", &branch)?;
        self.list(call, &format!("{branch}/{collection}"), collection, false, 1000)
    }

    /// Answers a list call over `collection`.
    pub fn list(
        &self,
        call: &Call,
        collection: &str,
        key: &str,
        show_deleted: bool,
        max: usize,
    ) -> Result<Value, ApiError> {
        let spec = ListSpec {
            collection,
            key,
            show_deleted,
            max_page_size: max,
        };
        paging::list(
            self.store,
            &spec,
            &call.query,
            self.default_page_size,
            self.salt,
            self.instant,
        )
    }
}

/// Common fields of a new resource.
pub fn base(name: &str, id_key: &str, id: &str, parent: Option<&str>, now: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if !id_key.is_empty() {
        m.insert(id_key.into(), json!(id));
    }
    if let Some(p) = parent {
        m.insert("parent".into(), json!(p));
    }
    m.insert("create_time".into(), json!(now));
    m.insert("update_time".into(), json!(now));
    m
}

/// The body's `spec` object (empty object when absent).
pub fn spec_of(body: &Value) -> Result<Value, ApiError> {
    match body.get("spec") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(ApiError::invalid("Field 'spec' must be an object")),
    }
}

/// A required query id (absent or empty: the service's "is required" error).
pub fn required_id<'a>(call: &'a Call, key: &str) -> Result<&'a str, ApiError> {
    call.query
        .get(key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::required(key))
}

/// Rejects a body whose `name` disagrees with the path.
pub fn check_body_name(body: &Value, name: &str) -> Result<(), ApiError> {
    match wire::str_at(body, "name")? {
        Some(n) if !n.is_empty() && n != name => Err(ApiError::invalid(format!(
            "Resource name in body '{n}' does not match the request path '{name}'"
        ))),
        _ => Ok(()),
    }
}

/// Checks an enum-valued field against its allowed values.
pub fn check_enum(v: &Value, path: &str, allowed: &[&str]) -> Result<(), ApiError> {
    match wire::str_at(v, path)? {
        Some(s) if !allowed.contains(&s) => Err(ApiError::invalid(format!(
            "Invalid value '{s}' for '{path}'; expected one of {}",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// Validates compute settings shared by project default endpoint settings, initial endpoint
/// specs and endpoint specs (`prefix` names the field in messages).
pub fn check_compute(v: &Value, prefix: &str) -> Result<(), ApiError> {
    let p = |f: &str| {
        if prefix.is_empty() {
            f.to_string()
        } else {
            format!("{prefix}.{f}")
        }
    };
    let min = wire::f64_at(v, "autoscaling_limit_min_cu")?;
    let max = wire::f64_at(v, "autoscaling_limit_max_cu")?;
    if let Some(m) = min
        && m < 0.5
    {
        return Err(ApiError::invalid(format!(
            "{} must be at least 0.5",
            p("autoscaling_limit_min_cu")
        )));
    }
    if let Some(m) = max
        && !(0.5..=64.0).contains(&m)
    {
        return Err(ApiError::invalid(format!(
            "{} must be between 0.5 and 64",
            p("autoscaling_limit_max_cu")
        )));
    }
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            return Err(ApiError::invalid(format!(
                "{} must not exceed {}",
                p("autoscaling_limit_min_cu"),
                p("autoscaling_limit_max_cu")
            )));
        }
        if hi - lo > 16.0 {
            return Err(ApiError::invalid(
                "autoscaling_limit_max_cu - autoscaling_limit_min_cu must not exceed 16",
            ));
        }
    }
    let susp = wire::duration_at(v, "suspend_timeout_duration")?;
    if let Some(s) = susp
        && !(60.0..=604_800.0).contains(&s)
    {
        return Err(ApiError::invalid(format!(
            "{} must be between 60s and 604800s",
            p("suspend_timeout_duration")
        )));
    }
    match wire::bool_at(v, "no_suspension")? {
        Some(false) => {
            return Err(ApiError::invalid(format!(
                "{} must be true when set",
                p("no_suspension")
            )));
        }
        Some(true) if susp.is_some() => {
            return Err(ApiError::invalid(format!(
                "{} and {} are mutually exclusive",
                p("no_suspension"),
                p("suspend_timeout_duration")
            )));
        }
        _ => {}
    }
    if let Some(g) = v.get("group").filter(|g| !g.is_null()) {
        let gmin = wire::f64_at(g, "min")?;
        let gmax = wire::f64_at(g, "max")?;
        match (gmin, gmax) {
            (Some(a), Some(b)) if a == b && a >= 1.0 && a.fract() == 0.0 => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "{}: min and max are required, must be equal integers >= 1",
                    p("group")
                )));
            }
        }
        wire::bool_at(g, "enable_readable_secondaries")?;
    }
    if let Some(pg) = wire::get(v, "pg_settings").or_else(|| wire::get(v, "settings.pg_settings"))
        && !pg.is_null()
        && !pg.as_object().is_some_and(|m| m.values().all(Value::is_string))
    {
        return Err(ApiError::invalid("pg_settings must map strings to strings"));
    }
    Ok(())
}

/// Validates an expiry oneof (`ttl` / `expire_time` / `no_expiry`) in `spec`.
/// Returns the number of members set.
pub fn check_expiry(spec: &Value, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let ttl = wire::duration_at(spec, "ttl")?;
    let exp = wire::ts_at(spec, "expire_time")?;
    let no = wire::bool_at(spec, "no_expiry")?;
    if no == Some(false) {
        return Err(ApiError::invalid("spec.no_expiry must be true when set"));
    }
    if let Some(t) = ttl
        && !(t > 0.0 && t <= MAX_TTL_SECS)
    {
        return Err(ApiError::invalid("spec.ttl must be positive and at most 3650 days"));
    }
    if let Some(e) = exp
        && e <= now
    {
        return Err(ApiError::invalid("spec.expire_time must be in the future"));
    }
    let n = usize::from(ttl.is_some()) + usize::from(exp.is_some()) + usize::from(no.is_some());
    if n > 1 {
        return Err(ApiError::invalid(
            "Only one of spec.ttl, spec.expire_time and spec.no_expiry may be set",
        ));
    }
    Ok(n)
}

/// The absolute expiry implied by an expiry oneof, if any.
pub fn expiry_of(spec: &Value, now: DateTime<Utc>) -> Option<String> {
    if let Ok(Some(t)) = wire::duration_at(spec, "ttl") {
        let ms = (t.clamp(0.0, MAX_TTL_SECS) * 1000.0) as i64;
        return Some(wire::ts(now + chrono::Duration::milliseconds(ms)));
    }
    wire::ts_at(spec, "expire_time").ok().flatten().map(wire::ts)
}

/// Validates a Postgres text LSN (`16/B374D848`).
pub fn check_lsn(spec: &Value, path: &str) -> Result<(), ApiError> {
    if let Some(l) = wire::str_at(spec, path)? {
        let ok = l.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_hexdigit())
        });
        if !ok {
            return Err(ApiError::invalid(format!("Invalid LSN '{l}' for '{path}'")));
        }
    }
    Ok(())
}

/// Sets `update_time` to `now`.
pub fn touch(v: &mut Value, now: &str) {
    wire::set(v, "update_time", json!(now));
}

/// The parent of a nested resource name (`a/b/c/d` → `a/b`).
pub fn store_parent(name: &str) -> String {
    let segs: Vec<&str> = name.split('/').collect();
    segs[..segs.len().saturating_sub(2)].join("/")
}
