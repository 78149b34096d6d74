//! Projects: create (with default branch and read-write endpoint), get, list, update,
//! soft delete / purge, undelete.

use serde_json::{Value, json};

use super::{
    Call, Ctx, DeletionFields, base, branches, check_compute, databases, endpoints, real, required_id, restore, roles,
    soft_delete, spec_of, touch,
};
use crate::defaults;
use crate::errors::ApiError;
use crate::ids;
use crate::mask::Rules;
use crate::operations::Outcome;
use crate::pg::effects::Effect;
use crate::wire;

const KIND: &str = "Project";

const RULES: Rules = Rules {
    mutable: &[
        "spec",
        "spec.display_name",
        "spec.history_retention_duration",
        "spec.budget_policy_id",
        "spec.custom_tags",
        "spec.enable_pg_native_login",
        "spec.default_branch",
        "spec.default_endpoint_settings",
        "spec.default_endpoint_settings.autoscaling_limit_min_cu",
        "spec.default_endpoint_settings.autoscaling_limit_max_cu",
        "spec.default_endpoint_settings.suspend_timeout_duration",
        "spec.default_endpoint_settings.no_suspension",
        "spec.default_endpoint_settings.pg_settings",
    ],
    oneofs: &[(
        "spec.default_endpoint_settings.suspension",
        &["no_suspension", "suspend_timeout_duration"],
    )],
    immutable: &[
        "spec.pg_version",
        "name",
        "project_id",
        "uid",
        "create_time",
        "update_time",
        "delete_time",
        "purge_time",
        "initial_branch_spec",
        "initial_endpoint_spec",
    ],
};

fn check_spec(spec: &Value) -> Result<(), ApiError> {
    if let Some(d) = wire::str_at(spec, "display_name")?
        && !(1..=256).contains(&d.chars().count())
    {
        return Err(ApiError::invalid("spec.display_name must be 1-256 characters"));
    }
    if let Some(h) = wire::duration_at(spec, "history_retention_duration")?
        && !(172_800.0..=3_024_000.0).contains(&h)
    {
        return Err(ApiError::invalid(
            "spec.history_retention_duration must be between 172800s and 3024000s",
        ));
    }
    if let Some(v) = wire::f64_at(spec, "pg_version")?
        && !(14.0..=18.0).contains(&v)
    {
        return Err(ApiError::invalid(format!("Unsupported spec.pg_version {v}")));
    }
    wire::bool_at(spec, "enable_pg_native_login")?;
    wire::str_at(spec, "budget_policy_id")?;
    if let Some(tags) = spec.get("custom_tags").filter(|t| !t.is_null()) {
        let ok = tags
            .as_array()
            .is_some_and(|a| a.iter().all(|t| t.get("key").is_some_and(Value::is_string)));
        if !ok {
            return Err(ApiError::invalid("spec.custom_tags must be a list of {key, value}"));
        }
    }
    if let Some(d) = spec.get("default_endpoint_settings").filter(|d| !d.is_null()) {
        check_compute(d, "spec.default_endpoint_settings")?;
    }
    Ok(())
}

/// Recomputes `status` from `spec`.
fn refresh_status(v: &mut Value, now: &str) {
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let id = v.get("project_id").cloned().unwrap_or(Value::Null);
    let old = v.get("status").cloned().unwrap_or_else(|| json!({}));
    let pick = |k: &str, d: Value| spec.get(k).filter(|x| !x.is_null()).cloned().unwrap_or(d);
    let mut status = json!({
        "branch_logical_size_limit_bytes": defaults::BRANCH_LOGICAL_SIZE_LIMIT_BYTES,
        "compute_last_active_time": old.get("compute_last_active_time").cloned().unwrap_or(json!(now)),
        "default_branch": old.get("default_branch").cloned().unwrap_or(Value::Null),
        "default_endpoint_settings": pick("default_endpoint_settings", defaults::project_endpoint_settings()),
        "display_name": pick("display_name", id.clone()),
        "enable_pg_native_login": pick("enable_pg_native_login", json!(defaults::ENABLE_PG_NATIVE_LOGIN)),
        "history_retention_duration": pick("history_retention_duration", json!(defaults::HISTORY_RETENTION)),
        "owner": old.get("owner").cloned().unwrap_or(json!(super::OWNER)),
        "pg_version": pick("pg_version", json!(defaults::PG_VERSION)),
        "project_id": id,
        "synthetic_storage_size_bytes": old.get("synthetic_storage_size_bytes").cloned().unwrap_or(json!(0)),
    });
    for k in ["budget_policy_id", "custom_tags"] {
        if let Some(x) = spec.get(k).filter(|x| !wire::is_empty(Some(x))) {
            wire::set(&mut status, k, x.clone());
        }
    }
    wire::set(v, "status", status);
}

/// Creates a project with its default branch and endpoint directly in the store
/// (no validation of the id beyond what callers did; no operation).
pub fn insert(ctx: &mut Ctx<'_>, id: &str, body: &Value) -> Result<Value, ApiError> {
    let name = format!("projects/{id}");
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "project_id", id, None, &now));
    wire::set(&mut v, "uid", json!(uuid::Uuid::new_v4().to_string()));
    let spec = spec_of(body)?;
    if !wire::is_empty(Some(&spec)) {
        wire::set(&mut v, "spec", spec.clone());
    }
    for k in ["initial_branch_spec", "initial_endpoint_spec"] {
        if let Some(x) = body.get(k).filter(|x| !wire::is_empty(Some(x))) {
            wire::set(&mut v, k, x.clone());
        }
    }
    let branch = format!("{name}/branches/{}", defaults::ROOT_BRANCH_ID);
    wire::set(&mut v, "status.default_branch", json!(branch));
    wire::set(&mut v, "status.owner", json!(ctx.caller));
    refresh_status(&mut v, &now);
    ctx.store.put(&name, v.clone(), None);

    let protected = wire::bool_at(body, "initial_branch_spec.is_protected")?.unwrap_or(false);
    branches::insert_default(ctx, &name, &branch, protected);
    if real::on(ctx)
        && let Some(cluster) = real::cluster_of(ctx, &branch)
    {
        real::attach(ctx, &cluster, &branch);
        let owner = ctx.caller.clone();
        ctx.effect(Effect::InitProject {
            cluster,
            owner: owner.clone(),
        });
        let role = roles::insert_owner(ctx, &branch, &owner);
        databases::insert_default(ctx, &branch, &role);
    }
    let mut ep = json!({"endpoint_type": "ENDPOINT_TYPE_READ_WRITE"});
    let src = body
        .get("initial_endpoint_spec")
        .filter(|x| !wire::is_empty(Some(x)))
        .or_else(|| spec.get("default_endpoint_settings"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    for k in [
        "autoscaling_limit_min_cu",
        "autoscaling_limit_max_cu",
        "suspend_timeout_duration",
        "no_suspension",
        "group",
    ] {
        if let Some(x) = src.get(k).filter(|x| !x.is_null()) {
            wire::set(&mut ep, k, x.clone());
        }
    }
    if ep.get("group").is_some() {
        wire::remove(&mut ep, "autoscaling_limit_min_cu");
        wire::remove(&mut ep, "autoscaling_limit_max_cu");
    }
    endpoints::insert(ctx, &branch, defaults::PRIMARY_ENDPOINT_ID, ep)?;
    Ok(v)
}

/// `POST /projects?project_id=`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let id = required_id(call, "project_id")?;
    ids::check("project_id", id)?;
    let name = format!("projects/{id}");
    if ctx.store.contains(&name) {
        return Err(ApiError::already_exists(KIND, &name));
    }
    let spec = spec_of(&call.body)?;
    check_spec(&spec)?;
    if let Some(i) = call.body.get("initial_endpoint_spec").filter(|x| !x.is_null()) {
        check_compute(i, "initial_endpoint_spec")?;
    }
    wire::bool_at(&call.body, "initial_branch_spec.is_protected")?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let v = insert(ctx, id, &call.body)?;
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

fn name_of(call: &Call) -> String {
    format!("projects/{}", call.ids[0])
}

/// `GET /projects/{id}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET /projects`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let show = call.query.flag("show_deleted")?;
    ctx.list(call, "projects", "projects", show, 100)
}

/// `PATCH /projects/{id}?update_mask=`.
pub fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let (cur, mut v) = ctx.masked_update(KIND, &name, call, &RULES)?;
    // `pg_version` is immutable: a body that leaves it out (say, under a `*` mask) keeps it.
    let current_version = wire::get(&cur, "spec.pg_version").cloned();
    if let Some(version) = &current_version
        && wire::get(&v, "spec.pg_version").is_none()
    {
        wire::set(&mut v, "spec.pg_version", version.clone());
    }
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    check_spec(&spec)?;
    if current_version.is_some() && current_version.as_ref() != spec.get("pg_version") {
        return Err(ApiError::invalid(
            "Field 'spec.pg_version' is immutable and cannot be updated",
        ));
    }
    let old_default = wire::str_at(&cur, "status.default_branch")?
        .unwrap_or_default()
        .to_string();
    let new_default = match wire::str_at(&spec, "default_branch")? {
        Some(b) if b != old_default => {
            if !b.starts_with(&format!("{name}/branches/")) {
                return Err(ApiError::invalid(format!(
                    "spec.default_branch '{b}' is not a branch of '{name}'"
                )));
            }
            ctx.live("Branch", b)?;
            Some(b.to_string())
        }
        _ => None,
    };
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    if let Some(b) = &new_default {
        wire::set(&mut v, "status.default_branch", json!(b));
        for (br, flag) in [(old_default.as_str(), false), (b.as_str(), true)] {
            if let Some(bv) = ctx.store.value_mut(br) {
                wire::set(bv, "status.default", json!(flag));
                touch(bv, &now);
            }
        }
    }
    refresh_status(&mut v, &now);
    Ok(ctx.commit_update(KIND, &name, v, None))
}

/// `DELETE /projects/{id}[?purge=true]`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let cur = ctx.get(KIND, &name)?;
    let purge = call.query.flag("purge")?;
    if !ctx.fail_op && real::on(ctx) {
        real::unserve_under(ctx, &name);
        let data: Vec<String> = ctx
            .store
            .names_under(&name)
            .into_iter()
            .filter(|n| n.split('/').count() == 4 && (n.contains("/branches/") || n.contains("/snapshots/")))
            .collect();
        for n in data {
            if purge {
                real::remove_data(ctx, &n);
            } else if n.contains("/branches/") {
                real::set_running(ctx, &n, false);
            }
        }
    }
    soft_delete(ctx, KIND, &name, &cur, purge, DeletionFields::TopLevel)
}

/// `POST /projects/{id}/undelete`.
pub fn undelete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let op = restore(ctx, KIND, &name, DeletionFields::TopLevel)?;
    if !ctx.fail_op {
        real::reserve_under(ctx, &name)?;
    }
    Ok(op)
}
