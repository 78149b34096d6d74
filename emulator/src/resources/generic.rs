//! The standard methods (create, get, list, update, delete) of any collection of the spec,
//! served from what the operation catalog says about them (`lakebase_generated::OPERATIONS`):
//! a collection added to the spec is served as soon as it is regenerated, before anyone
//! writes a handler for it. Resources with their own behaviour (projects, branches, ...)
//! have hand-written handlers in [`crate::dispatch`], which take precedence.

use lakebase_generated::{OperationKind, OperationSpec};
use serde_json::{Value, json};

use super::{Call, Ctx, Handler, base, check_body_name, hard_delete, required_id, touch};
use crate::errors::ApiError;
use crate::ids;
use crate::operations::Outcome;
use crate::wire;

/// The generic handler of `op`, when it is a standard method.
pub fn standard(op: &OperationSpec) -> Option<Handler> {
    let on_resource = last_is_placeholder(op.path);
    match (op.method, op.kind) {
        ("GET", OperationKind::Call) if on_resource => Some(get),
        ("GET", OperationKind::List { .. }) if !on_resource => Some(list),
        ("POST", _) if !on_resource && created_id_param(op).is_some() => Some(create),
        ("DELETE", _) if on_resource => Some(delete),
        ("PATCH", _) if on_resource && op.query.contains(&"update_mask") => Some(update),
        _ => None,
    }
}

fn last_is_placeholder(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|s| s.starts_with('{'))
}

/// The query parameter carrying the id of the resource a create makes (`widget_id`).
fn created_id_param(op: &OperationSpec) -> Option<&'static str> {
    op.query.iter().copied().find(|q| q.ends_with("_id"))
}

/// The resource name (or collection) the call's path addresses: the operation's path
/// below the API prefix with its placeholders filled in from the captured ids.
fn addressed(call: &Call) -> String {
    let mut ids = call.ids.iter();
    crate::dispatch::relative(call.op.path)
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                ids.next().map_or("", String::as_str)
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn kind(call: &Call) -> &'static str {
    call.op.resource.unwrap_or("Resource")
}

/// Fails with `NOT_FOUND` when the parent of a collection does not exist.
fn check_parent(ctx: &Ctx<'_>, collection: &str) -> Result<(), ApiError> {
    let Some((parent, _)) = collection.rsplit_once('/') else {
        return Ok(());
    };
    let kind = crate::dispatch::resource_at(parent).unwrap_or("Resource");
    ctx.live(kind, parent).map(|_| ())
}

/// `GET .../{id}`.
fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(kind(call), &addressed(call))
}

/// `GET .../collection`.
fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let collection = addressed(call);
    check_parent(ctx, &collection)?;
    let OperationKind::List { items, .. } = call.op.kind else {
        return Err(ApiError::invalid("not a list operation"));
    };
    ctx.list(call, &collection, items, false, 1000)
}

/// `POST .../collection?{x}_id=`.
fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let kind = kind(call);
    let collection = addressed(call);
    check_parent(ctx, &collection)?;
    let id_param = created_id_param(call.op).unwrap_or("id");
    let id = required_id(call, id_param)?;
    ids::check(id_param, id)?;
    let name = format!("{collection}/{id}");
    if ctx.store.contains(&name) {
        return Err(ApiError::already_exists(kind, &name));
    }
    check_body_name(&call.body, &name)?;
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, id_param, id, None, &now));
    wire::set(&mut v, "uid", json!(ids::friendly_uid("res")));
    if let Some(body) = call.body.as_object() {
        for (key, value) in body {
            if !is_output_only(key) {
                wire::set(&mut v, key, value.clone());
            }
        }
    }
    if !call.op.is_long_running() {
        ctx.store.put(&name, v.clone(), None);
        return Ok(v);
    }
    if let Some(op) = ctx.failing(&name, kind) {
        return Ok(op);
    }
    ctx.store.put(&name, v.clone(), None);
    Ok(ctx.op(&name, kind, Outcome::Resource(kind, v)))
}

/// `DELETE .../{id}`.
fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let kind = kind(call);
    let name = addressed(call);
    ctx.get(kind, &name)?;
    if call.op.is_long_running() {
        hard_delete(ctx, kind, &name)
    } else {
        ctx.store.remove_tree(&name);
        Ok(json!({}))
    }
}

/// `PATCH .../{id}?update_mask=`: every masked path must be in the body and be no
/// output-only field.
fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let kind = kind(call);
    let name = addressed(call);
    let mut value = ctx.mutable(kind, &name)?;
    check_body_name(&call.body, &name)?;
    for path in crate::mask::parse(call.query.get("update_mask"))? {
        if is_output_only(path.split('.').next().unwrap_or_default()) {
            return Err(ApiError::invalid(format!(
                "Field '{path}' is immutable or output only and cannot be updated"
            )));
        }
        let Some(v) = wire::get(&call.body, &path).filter(|v| !v.is_null()) else {
            return Err(ApiError::mask_field_missing(&path));
        };
        wire::set(&mut value, &path, v.clone());
    }
    if !call.op.is_long_running() {
        touch(&mut value, &ctx.ts());
        ctx.store.put(&name, value.clone(), None);
        return Ok(value);
    }
    if let Some(op) = ctx.failing(&name, kind) {
        return Ok(op);
    }
    Ok(ctx.commit_update(kind, &name, value, None))
}

/// Top-level fields the service sets itself.
fn is_output_only(field: &str) -> bool {
    matches!(field, "name" | "uid" | "create_time" | "update_time" | "status")
}
