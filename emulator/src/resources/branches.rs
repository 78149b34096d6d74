//! Branches: create (from a source branch or snapshot), get, list, update, soft delete /
//! purge, undelete, and the per-branch snapshot schedule.

use lakebase_generated::enums::DayOfWeek;
use serde_json::{Value, json};

use super::{
    Call, Ctx, DeletionFields, base, check_body_name, check_enum, check_expiry, check_lsn, endpoints, expiry_of,
    is_deleted, real, required_id, restore, soft_delete, spec_of, touch,
};
use crate::defaults;
use crate::errors::ApiError;
use crate::ids;
use crate::mask::{self, Rules};
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "Branch";

const RULES: Rules = Rules {
    mutable: &["spec.is_protected", "spec.ttl", "spec.expire_time", "spec.no_expiry"],
    oneofs: &[("spec.expiration", &["expire_time", "ttl", "no_expiry"])],
    immutable: &[
        "spec.source_branch",
        "spec.source_branch_lsn",
        "spec.source_branch_time",
        "spec.source_snapshot",
        "name",
        "branch_id",
        "parent",
        "uid",
        "create_time",
        "update_time",
    ],
};

const SCHEDULE_RULES: Rules = Rules {
    mutable: &["schedule"],
    oneofs: &[],
    immutable: &["name"],
};

fn pending() -> Value {
    json!({"status": {"current_state": "INIT", "pending_state": "READY"}})
}

/// Stores the default branch of a new project.
pub fn insert_default(ctx: &mut Ctx<'_>, project: &str, name: &str, protected: bool) {
    let now = ctx.ts();
    let id = name.rsplit('/').next().unwrap_or_default();
    let mut v = Value::Object(base(name, "branch_id", id, Some(project), &now));
    wire::set(&mut v, "uid", json!(ids::friendly_uid("br")));
    wire::set(
        &mut v,
        "status",
        json!({
            "branch_id": id, "current_state": "READY", "default": true, "is_protected": protected,
            "logical_size_bytes": defaults::BRANCH_LOGICAL_SIZE_BYTES, "state_change_time": now,
        }),
    );
    let overlay = ctx.overlay(pending());
    ctx.store.put(name, v, overlay);
}

fn refresh_status(v: &mut Value, now: chrono::DateTime<chrono::Utc>) {
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    if let Some(p) = spec.get("is_protected").filter(|p| p.is_boolean()) {
        wire::set(v, "status.is_protected", p.clone());
    }
    match expiry_of(&spec, now) {
        Some(e) => wire::set(v, "status.expire_time", json!(e)),
        None => wire::remove(v, "status.expire_time"),
    }
}

fn validate(ctx: &Ctx<'_>, project: &str, spec: &Value) -> Result<(), ApiError> {
    if check_expiry(spec, ctx.now)? == 0 {
        return Err(ApiError::invalid(
            "Exactly one of spec.ttl, spec.expire_time or spec.no_expiry=true is required",
        ));
    }
    wire::bool_at(spec, "is_protected")?;
    check_lsn(spec, "source_branch_lsn")?;
    let lsn = wire::str_at(spec, "source_branch_lsn")?;
    let time = wire::ts_at(spec, "source_branch_time")?;
    if lsn.is_some() && time.is_some() {
        return Err(ApiError::invalid(
            "spec.source_branch_lsn and spec.source_branch_time are mutually exclusive",
        ));
    }
    if let Some(t) = time
        && t > ctx.now
    {
        return Err(ApiError::invalid("spec.source_branch_time must not be in the future"));
    }
    let src = wire::str_at(spec, "source_branch")?;
    if let Some(snap) = wire::str_at(spec, "source_snapshot")? {
        if src.is_some() {
            return Err(ApiError::invalid(
                "spec.source_branch and spec.source_snapshot are mutually exclusive",
            ));
        }
        if !snap.starts_with(&format!("{project}/snapshots/")) {
            return Err(ApiError::invalid(format!(
                "spec.source_snapshot '{snap}' is not a snapshot of '{project}'"
            )));
        }
        ctx.live("Snapshot", snap)?;
    } else if let Some(b) = src {
        if !b.starts_with(&format!("{project}/branches/")) {
            return Err(ApiError::invalid(format!(
                "spec.source_branch '{b}' is not a branch of '{project}'"
            )));
        }
        ctx.live(KIND, b)?;
    }
    Ok(())
}

/// `POST /projects/{p}/branches?branch_id=[&replace_existing=true]`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let project = format!("projects/{}", call.ids[0]);
    let pv = ctx.live("Project", &project)?;
    let id = required_id(call, "branch_id")?;
    ids::check("branch_id", id)?;
    let name = format!("{project}/branches/{id}");
    let replace = call.query.flag("replace_existing")?;
    let spec = spec_of(&call.body)?;
    if let Some(existing) = ctx.store.value(&name).cloned() {
        if !replace {
            return Err(ApiError::already_exists(KIND, &name));
        }
        if is_deleted(&existing) {
            return Err(ApiError::invalid_state(format!(
                "{KIND} '{name}' is deleted; undelete it first."
            )));
        }
        check_expiry(&spec, ctx.now)?;
        wire::bool_at(&spec, "is_protected")?;
        if let Some(op) = ctx.failing(&name, KIND) {
            return Ok(op);
        }
        let mut v = existing;
        let mut s = v.get("spec").cloned().unwrap_or_else(|| json!({}));
        for k in ["is_protected", "ttl", "expire_time", "no_expiry"] {
            match spec.get(k).filter(|x| !x.is_null()) {
                Some(x) => wire::set(&mut s, k, x.clone()),
                None => wire::remove(&mut s, k),
            }
        }
        wire::set(&mut v, "spec", s);
        refresh_status(&mut v, ctx.now);
        touch(&mut v, &ctx.ts());
        ctx.store.put(&name, v.clone(), None);
        return Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)));
    }
    validate(ctx, &project, &spec)?;
    let default_branch = wire::str_at(&pv, "status.default_branch")?
        .unwrap_or_default()
        .to_string();
    let at = match wire::str_at(&spec, "source_snapshot")? {
        Some(_) => None,
        None => real::point_in_time(
            ctx,
            &spec,
            wire::str_at(&spec, "source_branch")?.unwrap_or(&default_branch),
        )?,
    };
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "branch_id", id, Some(&project), &now));
    wire::set(&mut v, "uid", json!(ids::friendly_uid("br")));
    let mut status = json!({
        "branch_id": id, "current_state": "READY", "default": false, "is_protected": false,
        "logical_size_bytes": defaults::BRANCH_LOGICAL_SIZE_BYTES, "state_change_time": now,
    });
    if let Some(snap) = wire::str_at(&spec, "source_snapshot")? {
        wire::set(&mut status, "source_snapshot", json!(snap));
    } else {
        let src = wire::str_at(&spec, "source_branch")?.map_or(default_branch, str::to_string);
        // With real databases the branch point is written once the copy or restore knows it.
        let lsn = match wire::str_at(&spec, "source_branch_lsn")? {
            Some(l) => Some(l.to_string()),
            None => (!real::on(ctx)).then(ids::lsn),
        };
        let time = wire::ts_at(&spec, "source_branch_time")?.map_or_else(|| now.clone(), wire::ts);
        wire::set(&mut status, "source_branch", json!(src));
        if let Some(lsn) = lsn {
            wire::set(&mut status, "source_branch_lsn", json!(lsn));
        }
        wire::set(&mut status, "source_branch_time", json!(time));
    }
    wire::set(&mut v, "status", status);
    if !wire::is_empty(Some(&spec)) {
        wire::set(&mut v, "spec", spec);
    }
    refresh_status(&mut v, ctx.now);
    let overlay = ctx.overlay(pending());
    ctx.store.put(&name, v.clone(), overlay);
    if real::on(ctx) {
        let snapshot = wire::str_at(&v, "status.source_snapshot")?.map(str::to_string);
        let source = wire::str_at(&v, "status.source_branch")?.map(str::to_string);
        real::clone_branch(ctx, &name, source.as_deref(), snapshot.as_deref(), at);
    }
    endpoints::insert_primary(ctx, &name)?;
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

fn name_of(call: &Call) -> String {
    call.branch()
}

/// Whether a branch is its project's root branch (the one the project was created with,
/// branched from nothing).
fn is_root(branch: &Value) -> bool {
    ["status.source_branch", "status.source_snapshot"]
        .iter()
        .all(|p| wire::is_empty(wire::get(branch, p)))
}

/// `GET /projects/{p}/branches/{b}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET /projects/{p}/branches`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let project = format!("projects/{}", call.ids[0]);
    ctx.live("Project", &project)?;
    let show = call.query.flag("show_deleted")?;
    ctx.list(call, &format!("{project}/branches"), "branches", show, 1000)
}

/// `PATCH /projects/{p}/branches/{b}?update_mask=`.
pub fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let (_, mut v) = ctx.masked_update(KIND, &name, call, &RULES)?;
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    check_expiry(&spec, ctx.now)?;
    wire::bool_at(&spec, "is_protected")?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    refresh_status(&mut v, ctx.now);
    Ok(ctx.commit_update(KIND, &name, v, None))
}

/// `DELETE /projects/{p}/branches/{b}[?purge=true]`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let cur = ctx.get(KIND, &name)?;
    let purge = call.query.flag("purge")?;
    if is_root(&cur) {
        return Err(ApiError::managed_by_parent(format!(
            "Cannot delete root branch '{name}'. Root branches cannot be deleted independently."
        )));
    }
    if wire::bool_at(&cur, "status.default")? == Some(true) {
        return Err(ApiError::invalid_state(format!(
            "Cannot delete the default branch '{name}'."
        )));
    }
    if wire::bool_at(&cur, "status.is_protected")? == Some(true) {
        return Err(ApiError::invalid_state(format!(
            "Branch '{name}' is protected; set spec.is_protected=false first."
        )));
    }
    if !ctx.fail_op && real::on(ctx) {
        real::unserve_under(ctx, &name);
        if purge {
            real::remove_data(ctx, &name);
        } else {
            real::set_running(ctx, &name, false);
        }
    }
    soft_delete(ctx, KIND, &name, &cur, purge, DeletionFields::Status)
}

/// `POST /projects/{p}/branches/{b}/undelete`.
pub fn undelete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let op = restore(ctx, KIND, &name, DeletionFields::Status)?;
    if !ctx.fail_op {
        real::reserve_under(ctx, &name)?;
    }
    Ok(op)
}

fn schedule_name(call: &Call) -> (String, String) {
    let b = name_of(call);
    let s = format!("{b}/snapshot-schedule");
    (b, s)
}

/// `GET /projects/{p}/branches/{b}/snapshot-schedule` (an unset schedule is `{name}`).
pub fn get_schedule(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let (branch, name) = schedule_name(call);
    ctx.live(KIND, &branch).map_err(|_| ApiError::not_found(KIND, &name))?;
    Ok(ctx
        .store
        .view(&name, ctx.instant)
        .unwrap_or_else(|| json!({"name": name})))
}

fn check_cadence(c: &Value, i: usize) -> Result<(), ApiError> {
    let p = |f: &str| format!("schedule[{i}].{f}");
    match wire::duration_at(c, "retention")? {
        Some(r) if r >= 3600.0 => {}
        _ => {
            return Err(ApiError::invalid(format!(
                "{} is required and must be at least 3600s",
                p("retention")
            )));
        }
    }
    let kinds: Vec<&str> = ["daily_schedule", "weekly_schedule", "monthly_schedule"]
        .into_iter()
        .filter(|k| c.get(*k).is_some_and(|x| !x.is_null()))
        .collect();
    if kinds.len() != 1 {
        return Err(ApiError::invalid(format!(
            "{}: exactly one of daily_schedule, weekly_schedule, monthly_schedule is required",
            p("")
        )));
    }
    let s = &c[kinds[0]];
    if let Some(h) = wire::f64_at(s, "hour")?
        && !(0.0..=23.0).contains(&h)
    {
        return Err(ApiError::invalid(format!(
            "{} must be 0-23",
            p(&format!("{}.hour", kinds[0]))
        )));
    }
    if kinds[0] == "monthly_schedule" {
        match wire::f64_at(s, "day")? {
            Some(d) if (1.0..=31.0).contains(&d) => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "{} is required and must be 1-31",
                    p("monthly_schedule.day")
                )));
            }
        }
    }
    if kinds[0] == "weekly_schedule" {
        if s.get("day_of_week").is_none() {
            return Err(ApiError::invalid(format!(
                "{} is required",
                p("weekly_schedule.day_of_week")
            )));
        }
        check_enum(s, "day_of_week", DayOfWeek::KNOWN)?;
    }
    Ok(())
}

/// `PATCH /projects/{p}/branches/{b}/snapshot-schedule?update_mask=schedule`.
pub fn update_schedule(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let (branch, name) = schedule_name(call);
    ctx.live(KIND, &branch).map_err(|_| ApiError::not_found(KIND, &name))?;
    check_body_name(&call.body, &name)?;
    let cur = ctx.store.value(&name).cloned().unwrap_or_else(|| json!({"name": name}));
    let v = mask::apply(&cur, &call.body, call.query.get("update_mask"), &SCHEDULE_RULES)?;
    let sched = v
        .get("schedule")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("schedule must be a list"))?;
    for (i, c) in sched.iter().enumerate() {
        check_cadence(c, i)?;
    }
    if let Some(op) = ctx.failing(&name, "SnapshotSchedule") {
        return Ok(op);
    }
    ctx.store.put(&name, v.clone(), None);
    Ok(ctx.op(&name, "SnapshotSchedule", Outcome::Resource("SnapshotSchedule", v)))
}
