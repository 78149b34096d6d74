//! Endpoints (computes): create (one read-write endpoint per branch, which every branch gets
//! implicitly), get, list, update, delete (read-only endpoints only), and the
//! reconciliation window that follows every change.

use std::time::Instant;

use lakebase_generated::enums::EndpointType;
use serde_json::{Value, json};

use super::{Call, Ctx, base, check_compute, check_enum, hard_delete, real, required_id, spec_of, touch};
use crate::errors::ApiError;
use crate::ids;
use crate::mask::Rules;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "Endpoint";
const RW: &str = "ENDPOINT_TYPE_READ_WRITE";

const RULES: Rules = Rules {
    mutable: &[
        "spec.autoscaling_limit_min_cu",
        "spec.autoscaling_limit_max_cu",
        "spec.disabled",
        "spec.suspend_timeout_duration",
        "spec.no_suspension",
        "spec.settings",
        "spec.settings.pg_settings",
        "spec.group",
        "spec.group.min",
        "spec.group.max",
        "spec.group.enable_readable_secondaries",
    ],
    oneofs: &[("spec.suspension", &["no_suspension", "suspend_timeout_duration"])],
    immutable: &[
        "spec.endpoint_type",
        "name",
        "endpoint_id",
        "parent",
        "uid",
        "create_time",
        "update_time",
    ],
};

/// Project-level defaults (`status.default_endpoint_settings`) of the project owning `branch`.
fn project_defaults(ctx: &Ctx<'_>, branch: &str) -> Value {
    let project = super::op_root(branch);
    ctx.store
        .value(&project)
        .and_then(|p| wire::get(p, "status.default_endpoint_settings"))
        .cloned()
        .unwrap_or_else(|| json!({}))
}

fn refresh_status(v: &mut Value, defaults: &Value) {
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut s = v.get("status").cloned().unwrap_or_else(|| json!({}));
    let obj = |x: &Value, k: &str| x.get(k).filter(|y| !y.is_null()).cloned();
    for k in [
        "autoscaling_limit_min_cu",
        "autoscaling_limit_max_cu",
        "suspend_timeout_duration",
        "group",
        "settings",
    ] {
        wire::remove(&mut s, k);
    }
    if let Some(g) = obj(&spec, "group") {
        wire::set(&mut s, "group", g);
    } else {
        let (min, max) = crate::defaults::ENDPOINT_AUTOSCALING_CU;
        for (k, d) in [("autoscaling_limit_min_cu", min), ("autoscaling_limit_max_cu", max)] {
            let x = obj(&spec, k).or_else(|| obj(defaults, k)).unwrap_or(json!(d));
            wire::set(&mut s, k, x);
        }
    }
    if spec.get("no_suspension").is_none_or(Value::is_null) {
        let susp = obj(&spec, "suspend_timeout_duration")
            .or_else(|| {
                if defaults.get("no_suspension").is_some() {
                    None
                } else {
                    obj(defaults, "suspend_timeout_duration")
                }
            })
            .or_else(|| {
                (defaults.get("no_suspension").is_none()).then(|| json!(crate::defaults::ENDPOINT_SUSPEND_TIMEOUT))
            });
        if let Some(x) = susp {
            wire::set(&mut s, "suspend_timeout_duration", x);
        }
    }
    let settings = obj(&spec, "settings").or_else(|| obj(defaults, "pg_settings").map(|p| json!({"pg_settings": p})));
    if let Some(x) = settings {
        wire::set(&mut s, "settings", x);
    }
    let disabled = spec.get("disabled").and_then(Value::as_bool).unwrap_or(false);
    wire::set(&mut s, "disabled", json!(disabled));
    wire::set(&mut s, "current_state", json!(if disabled { "IDLE" } else { "ACTIVE" }));
    wire::set(
        &mut s,
        "endpoint_type",
        spec.get("endpoint_type").cloned().unwrap_or(json!(RW)),
    );
    wire::set(v, "status", s);
}

/// Stores a new endpoint without an operation (used by project and branch creation and
/// seeding); in `--postgres` mode it listens on its own address and its compute starts.
pub fn insert(ctx: &mut Ctx<'_>, branch: &str, id: &str, spec: Value) -> Result<Value, ApiError> {
    let name = format!("{branch}/endpoints/{id}");
    let real_host = real::serve_endpoint(ctx, &name)?;
    let now = ctx.ts();
    let uid = ids::friendly_uid("ep");
    let mut v = Value::Object(base(&name, "endpoint_id", id, Some(branch), &now));
    wire::set(&mut v, "uid", json!(uid));
    wire::set(&mut v, "spec", spec.clone());
    let host = |suffix: &str| {
        format!(
            "{uid}{suffix}.database.{}.cloud.databricks.com",
            crate::defaults::REGION
        )
    };
    let hosts = if spec.get("endpoint_type") == Some(&json!(RW)) {
        json!({"host": host(""), "read_write_pooled_host": host("-pooler")})
    } else {
        json!({"host": host(""), "read_only_host": host(""), "read_only_pooled_host": host("-pooler")})
    };
    wire::set(
        &mut v,
        "status",
        json!({"endpoint_id": id, "hosts": hosts, "last_active_time": now}),
    );
    if let Some(host) = &real_host {
        real::set_hosts(&mut v, host);
    }
    let defaults = project_defaults(ctx, branch);
    refresh_status(&mut v, &defaults);
    // `v` is the settled endpoint the operation yields once done; in `--postgres` mode the
    // stored one reports INIT until its server runs (the queued start says so).
    let mut stored = v.clone();
    if real_host.is_some() && wire::get(&v, "status.disabled") != Some(&json!(true)) {
        wire::set(&mut stored, "status.current_state", json!("INIT"));
        wire::set(&mut stored, "status.pending_state", json!("ACTIVE"));
    }
    let overlay = ctx.overlay(json!({"status": {"current_state": "INIT", "pending_state": "ACTIVE"}}));
    ctx.store.put(&name, stored, overlay);
    if wire::get(&v, "status.disabled") != Some(&json!(true)) {
        real::set_running(ctx, branch, true);
    }
    Ok(v)
}

/// Stores the read-write endpoint `primary` every new branch gets implicitly; its status
/// reports the project's default endpoint settings.
pub fn insert_primary(ctx: &mut Ctx<'_>, branch: &str) -> Result<Value, ApiError> {
    insert(
        ctx,
        branch,
        crate::defaults::PRIMARY_ENDPOINT_ID,
        json!({"endpoint_type": RW}),
    )
}

/// Refuses an endpoint change while `endpoint` reconciles after its own change, or its
/// `branch` after an endpoint deletion.
fn check_settled(ctx: &Ctx<'_>, endpoint: &str, branch: &str) -> Result<(), ApiError> {
    let reconciling = [endpoint, branch]
        .iter()
        .filter_map(|n| ctx.store.reconciling.get(*n))
        .any(|until| ctx.instant < *until);
    if reconciling {
        Err(ApiError::reconciling())
    } else {
        Ok(())
    }
}

/// Starts the reconciliation window of an explicit change of `what` (an endpoint, or its
/// branch for a deletion): it lasts the operation's latency plus the reconciliation window.
/// Returns the pending-state overlay `patch` to show until then (none when it is empty).
fn start_reconciling(ctx: &mut Ctx<'_>, what: &str, patch: Value) -> Option<(Instant, Value)> {
    let until = ctx.instant + ctx.op_latency + ctx.reconcile;
    if until <= ctx.instant {
        return None;
    }
    let now = ctx.instant;
    ctx.store.reconciling.retain(|_, until| *until > now);
    ctx.store.reconciling.insert(what.to_string(), until);
    Some((until, patch))
}

fn check_spec(spec: &Value) -> Result<(), ApiError> {
    check_compute(spec, "spec")?;
    wire::bool_at(spec, "disabled")?;
    Ok(())
}

fn rw_conflict(ctx: &Ctx<'_>, branch: &str, name: &str) -> Result<(), ApiError> {
    let coll = format!("{branch}/endpoints");
    if let Some((other, _)) = ctx
        .store
        .values_in(&coll)
        .into_iter()
        .find(|(n, v)| *n != name && wire::get(v, "status.endpoint_type") == Some(&json!(RW)))
    {
        tracing::debug!(%branch, %other, "a second read-write endpoint refused");
        return Err(ApiError::bad_request("read_write endpoint already exists"));
    }
    Ok(())
}

/// `POST /projects/{p}/branches/{b}/endpoints?endpoint_id=[&replace_existing=true]`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let branch = call.branch();
    ctx.live("Branch", &branch)?;
    let id = required_id(call, "endpoint_id")?;
    ids::check("endpoint_id", id)?;
    let name = format!("{branch}/endpoints/{id}");
    let replace = call.query.flag("replace_existing")?;
    let spec = spec_of(&call.body)?;
    if wire::str_at(&spec, "endpoint_type")?.is_none() {
        return Err(ApiError::invalid("Field 'spec.endpoint_type' is required"));
    }
    check_enum(&spec, "endpoint_type", EndpointType::KNOWN)?;
    check_spec(&spec)?;
    let existing = ctx.store.value(&name).cloned();
    if existing.is_some() && !replace {
        return Err(ApiError::already_exists(KIND, &name));
    }
    if let Some(e) = &existing
        && wire::get(e, "spec.endpoint_type") != spec.get("endpoint_type")
    {
        return Err(ApiError::invalid(
            "Field 'spec.endpoint_type' is immutable and cannot be updated",
        ));
    }
    if spec.get("endpoint_type") == Some(&json!(RW)) {
        rw_conflict(ctx, &branch, &name)?;
    }
    check_settled(ctx, &name, &branch)?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let (v, pending) = match existing {
        Some(mut v) => {
            wire::set(&mut v, "spec", spec);
            let defaults = project_defaults(ctx, &branch);
            refresh_status(&mut v, &defaults);
            touch(&mut v, &ctx.ts());
            (v, json!({"status": {"pending_state": "ACTIVE"}}))
        }
        None => (
            insert(ctx, &branch, id, spec)?,
            json!({"status": {"current_state": "INIT", "pending_state": "ACTIVE"}}),
        ),
    };
    let overlay = start_reconciling(ctx, &name, pending);
    ctx.store.put(&name, v.clone(), overlay);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

fn name_of(call: &Call) -> String {
    call.branch_child("endpoints")
}

/// `GET .../endpoints/{e}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET .../endpoints`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.list_branch_children(call, "endpoints")
}

/// `PATCH .../endpoints/{e}?update_mask=`.
pub fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let (_, mut v) = ctx.masked_update(KIND, &name, call, &RULES)?;
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    check_spec(&spec)?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let branch = super::store_parent(&name);
    let defaults = project_defaults(ctx, &branch);
    let was_disabled = wire::get(&v, "status.disabled") == Some(&json!(true));
    refresh_status(&mut v, &defaults);
    let disabled = wire::get(&v, "status.disabled") == Some(&json!(true));
    if disabled != was_disabled {
        real::set_running(ctx, &branch, !disabled);
    }
    let overlay = start_reconciling(ctx, &name, json!({"status": {"pending_state": "ACTIVE"}}));
    Ok(ctx.commit_update(KIND, &name, v, overlay))
}

/// `DELETE .../endpoints/{e}`: read-write endpoints live and die with their branch.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let cur = ctx.get(KIND, &name)?;
    if wire::get(&cur, "status.endpoint_type") == Some(&json!(RW)) {
        return Err(ApiError::managed_by_parent(format!(
            "Cannot delete read-write endpoint '{name}'. Read-write endpoints cannot be deleted."
        )));
    }
    let branch = super::store_parent(&name);
    check_settled(ctx, &name, &branch)?;
    if ctx.fail_op {
        return hard_delete(ctx, KIND, &name);
    }
    real::unserve_under(ctx, &name);
    start_reconciling(ctx, &branch, Value::Null);
    hard_delete(ctx, KIND, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_write_type_is_the_spec_value() {
        assert_eq!(RW, EndpointType::ReadWrite.as_str());
    }
}
