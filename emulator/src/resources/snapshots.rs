//! Snapshots of a project's branches.

use serde_json::{Value, json};

use super::{Call, Ctx, base, check_expiry, check_lsn, expiry_of, hard_delete, real, required_id, spec_of};
use crate::errors::ApiError;
use crate::ids;
use crate::operations::Outcome;
use crate::pg::effects::Effect;
use crate::wire;

const KIND: &str = "Snapshot";

/// `POST /projects/{p}/snapshots?snapshot_id=`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let project = format!("projects/{}", call.ids[0]);
    ctx.live("Project", &project)?;
    let id = required_id(call, "snapshot_id")?;
    ids::check("snapshot_id", id)?;
    let name = format!("{project}/snapshots/{id}");
    if ctx.store.contains(&name) {
        return Err(ApiError::already_exists(KIND, &name));
    }
    let spec = spec_of(&call.body)?;
    let src = wire::str_at(&spec, "source_branch")?
        .ok_or_else(|| ApiError::invalid("Field 'spec.source_branch' is required"))?;
    if !src.starts_with(&format!("{project}/branches/")) {
        return Err(ApiError::invalid(format!(
            "spec.source_branch '{src}' is not a branch of '{project}'"
        )));
    }
    let srcv = ctx.live("Branch", src)?;
    check_expiry(&spec, ctx.now)?;
    check_lsn(&spec, "source_branch_lsn")?;
    let time = wire::ts_at(&spec, "source_branch_time")?;
    if wire::str_at(&spec, "source_branch_lsn")?.is_some() && time.is_some() {
        return Err(ApiError::invalid(
            "spec.source_branch_lsn and spec.source_branch_time are mutually exclusive",
        ));
    }
    let at = real::point_in_time(ctx, &spec, src)?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "snapshot_id", id, None, &now));
    wire::remove(&mut v, "update_time");
    wire::set(&mut v, "uid", json!(ids::friendly_uid("snap")));
    let size = wire::get(&srcv, "status.logical_size_bytes")
        .cloned()
        .unwrap_or(json!(0));
    let mut status = json!({
        "diff_size_bytes": 1_048_576, "full_size_bytes": size,
        "no_expiry": spec.get("no_expiry").and_then(Value::as_bool).unwrap_or(false), "source_branch": src,
    });
    if let Some(e) = expiry_of(&spec, ctx.now) {
        wire::set(&mut status, "expire_time", json!(e));
    }
    wire::set(&mut v, "status", status);
    let src = src.to_string();
    wire::set(&mut v, "spec", spec);
    ctx.store.put(&name, v.clone(), None);
    if let (Some(snapshot), Some(source)) = (real::cluster_of(ctx, &name), real::cluster_of(ctx, &src)) {
        ctx.effect(Effect::Snapshot { snapshot, source, at });
    }
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

fn name_of(call: &Call) -> String {
    format!("projects/{}/snapshots/{}", call.ids[0], call.ids[1])
}

/// `GET /projects/{p}/snapshots/{s}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET /projects/{p}/snapshots`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let project = format!("projects/{}", call.ids[0]);
    ctx.live("Project", &project)?;
    ctx.list(call, &format!("{project}/snapshots"), "snapshots", false, 1000)
}

/// `DELETE /projects/{p}/snapshots/{s}`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    ctx.get(KIND, &name)?;
    if !ctx.fail_op {
        real::remove_data(ctx, &name);
    }
    hard_delete(ctx, KIND, &name)
}
