//! Unity Catalog catalogs registered on a Lakebase database.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Call, Ctx, base, hard_delete, is_deleted, required_id, spec_of};
use crate::errors::ApiError;
use crate::ids;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "Catalog";

fn catalog_exists(id: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "ALREADY_EXISTS",
        format!("Catalog '{id}' already exists."),
    );
    e.details.push(json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CATALOG_ALREADY_EXISTS",
        "domain": "unity-catalog", "metadata": {"catalog": id}
    }));
    e
}

/// Resolves the branch a catalog or synced table targets: the given one, or the default
/// branch of the only live project.
pub fn resolve_branch(ctx: &Ctx<'_>, given: Option<&str>) -> Result<String, ApiError> {
    if let Some(b) = given {
        ctx.live("Branch", b)?;
        return Ok(b.to_string());
    }
    let projects: Vec<&Value> = ctx
        .store
        .values_in("projects")
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| !is_deleted(v))
        .collect();
    match projects.as_slice() {
        [p] => Ok(wire::str_at(p, "status.default_branch")?
            .unwrap_or_default()
            .to_string()),
        _ => Err(ApiError::invalid(
            "Field 'spec.branch' is required when several projects exist",
        )),
    }
}

/// `POST /catalogs?catalog_id=`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let id = required_id(call, "catalog_id")?;
    ids::check("catalog_id", id)?;
    let name = format!("catalogs/{id}");
    if ctx.store.contains(&name) {
        return Err(catalog_exists(id));
    }
    let spec = spec_of(&call.body)?;
    let pg = wire::str_at(&spec, "postgres_database")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("Field 'spec.postgres_database' is required"))?;
    let branch = resolve_branch(ctx, wire::str_at(&spec, "branch")?)?;
    let create_db = wire::bool_at(&spec, "create_database_if_missing")?.unwrap_or(false);
    let exists = ctx
        .store
        .values_in(&format!("{branch}/databases"))
        .into_iter()
        .any(|(_, d)| wire::get(d, "status.postgres_database") == Some(&json!(pg)));
    if !exists && !create_db {
        return Err(ApiError::invalid(format!(
            "Postgres database '{pg}' does not exist on branch '{branch}'; set spec.create_database_if_missing"
        )));
    }
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "catalog_id", id, None, &now));
    wire::set(&mut v, "uid", json!(uuid::Uuid::new_v4().to_string()));
    let project = super::op_root(&branch);
    wire::set(
        &mut v,
        "status",
        json!({"branch": branch, "postgres_database": pg, "project": project}),
    );
    wire::set(&mut v, "spec", spec);
    ctx.store.put(&name, v.clone(), None);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

/// `GET /catalogs/{c}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &format!("catalogs/{}", call.ids[0]))
}

/// `DELETE /catalogs/{c}`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = format!("catalogs/{}", call.ids[0]);
    ctx.get(KIND, &name)?;
    hard_delete(ctx, KIND, &name)
}
