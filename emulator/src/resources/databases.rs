//! Databases: create (id and Postgres name generated when absent; owner role required),
//! get, list, update, delete.

use serde_json::{Value, json};

use super::{Call, Ctx, base, hard_delete, real, spec_of, store_parent, touch};
use crate::errors::ApiError;
use crate::ids;
use crate::mask::Rules;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "Database";

const RULES: Rules = Rules {
    mutable: &["spec.role", "spec.postgres_database"],
    oneofs: &[],
    immutable: &["name", "database_id", "parent", "create_time", "update_time"],
};

fn check(ctx: &Ctx<'_>, branch: &str, name: &str, spec: &Value) -> Result<(), ApiError> {
    let role = wire::str_at(spec, "role")?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::required("database.spec.role"))?;
    let Some(role_id) = role.strip_prefix(&format!("{branch}/roles/")) else {
        return Err(ApiError::invalid(format!(
            "spec.role '{role}' is not a role of branch '{branch}'"
        )));
    };
    ctx.live("Role", role).map_err(|_| ApiError::role_not_found(role_id))?;
    if let Some(pg) = wire::str_at(spec, "postgres_database")? {
        if !(1..=63).contains(&pg.len()) {
            return Err(ApiError::invalid("spec.postgres_database must be 1-63 characters"));
        }
        let taken = ctx
            .store
            .values_in(&format!("{branch}/databases"))
            .into_iter()
            .any(|(n, v)| n != name && wire::get(v, "status.postgres_database") == Some(&json!(pg)));
        if taken {
            return Err(duplicate());
        }
    }
    Ok(())
}

/// The service's answer to a duplicate database: 400, not 409.
fn duplicate() -> ApiError {
    ApiError::bad_request("database with that name already exists")
}

fn refresh_status(v: &mut Value, id: &str) {
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let pg = spec
        .get("postgres_database")
        .cloned()
        .unwrap_or_else(|| json!(id.replace('-', "_")));
    wire::set(v, "spec.postgres_database", pg.clone());
    let role = spec.get("role").cloned().unwrap_or(Value::Null);
    wire::set(
        v,
        "status",
        json!({"database_id": id, "postgres_database": pg, "role": role}),
    );
}

/// `POST .../databases[?database_id=][&replace_existing=true]`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let branch = call.branch();
    ctx.live("Branch", &branch)?;
    let id = match call.query.get("database_id").filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => format!("db-{}", ids::hex8()),
    };
    ids::check("database_id", &id)?;
    let name = format!("{branch}/databases/{id}");
    let replace = call.query.flag("replace_existing")?;
    let spec = spec_of(&call.body)?;
    let existing = ctx.store.value(&name).cloned();
    if existing.is_some() && !replace {
        return Err(duplicate());
    }
    check(ctx, &branch, &name, &spec)?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    let before = existing.clone();
    let mut v = existing.unwrap_or_else(|| Value::Object(base(&name, "database_id", &id, Some(&branch), &now)));
    wire::set(&mut v, "spec", spec);
    refresh_status(&mut v, &id);
    touch(&mut v, &now);
    ctx.store.put(&name, v.clone(), None);
    real::apply_database(ctx, &branch, before.as_ref(), &v);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

/// Stores the `databricks_postgres` database of a new project (`--postgres` mode, where
/// the database has it), owned by `role` (a role resource name).
pub fn insert_default(ctx: &mut Ctx<'_>, branch: &str, role: &str) {
    let id = "databricks-postgres";
    let name = format!("{branch}/databases/{id}");
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "database_id", id, Some(branch), &now));
    wire::set(
        &mut v,
        "spec",
        json!({"postgres_database": "databricks_postgres", "role": role}),
    );
    refresh_status(&mut v, id);
    ctx.store.put(&name, v, None);
}

fn name_of(call: &Call) -> String {
    call.branch_child("databases")
}

/// `GET .../databases/{d}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET .../databases`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.list_branch_children(call, "databases")
}

/// `PATCH .../databases/{d}?update_mask=`.
pub fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let (before, mut v) = ctx.masked_update(KIND, &name, call, &RULES)?;
    let branch = store_parent(&name);
    check(ctx, &branch, &name, v.get("spec").unwrap_or(&json!({})))?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    refresh_status(&mut v, &call.ids[2]);
    real::apply_database(ctx, &branch, Some(&before), &v);
    Ok(ctx.commit_update(KIND, &name, v, None))
}

/// `DELETE .../databases/{d}` (also drops its Data API and CDF configs).
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let cur = ctx.get(KIND, &name)?;
    if !ctx.fail_op {
        real::drop_database(ctx, &store_parent(&name), &cur);
    }
    hard_delete(ctx, KIND, &name)
}
