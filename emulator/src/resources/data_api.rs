//! Data API: a singleton under a database (`.../databases/{d}/data-api`).

use lakebase_generated::enums::OpenApiMode;
use serde_json::{Value, json};

use super::{Call, Ctx, check_enum, hard_delete, spec_of};
use crate::errors::ApiError;
use crate::ids;
use crate::mask::Rules;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "DataApi";
const FIELDS: &[&str] = &[
    "db_aggregates_enabled",
    "db_extra_search_path",
    "db_max_rows",
    "db_schemas",
    "jwt_cache_max_lifetime",
    "jwt_role_claim_key",
    "openapi_mode",
    "server_cors_allowed_origins",
    "server_timing_enabled",
];

const RULES: Rules = Rules {
    mutable: &[
        "spec",
        "spec.db_aggregates_enabled",
        "spec.db_extra_search_path",
        "spec.db_max_rows",
        "spec.db_schemas",
        "spec.jwt_cache_max_lifetime",
        "spec.jwt_role_claim_key",
        "spec.openapi_mode",
        "spec.server_cors_allowed_origins",
        "spec.server_timing_enabled",
    ],
    oneofs: &[],
    immutable: &["name", "parent", "create_time", "update_time"],
};

fn check_spec(spec: &Value) -> Result<(), ApiError> {
    if let Some(s) = spec.get("db_schemas").filter(|s| !s.is_null()) {
        let arr = s
            .as_array()
            .ok_or_else(|| ApiError::invalid("spec.db_schemas must be a list"))?;
        if arr.len() > 100 {
            return Err(ApiError::invalid("spec.db_schemas may have at most 100 entries"));
        }
        for x in arr {
            ids::check_pg_ident("spec.db_schemas entry", x.as_str().unwrap_or_default())?;
        }
    }
    if let Some(n) = wire::f64_at(spec, "db_max_rows")?
        && n < 0.0
    {
        return Err(ApiError::invalid("spec.db_max_rows must not be negative"));
    }
    wire::duration_at(spec, "jwt_cache_max_lifetime")?;
    check_enum(spec, "openapi_mode", OpenApiMode::KNOWN)?;
    Ok(())
}

fn refresh_status(ctx: &Ctx<'_>, v: &mut Value, db: &Value) {
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut s = json!({});
    for f in FIELDS {
        if let Some(x) = spec.get(*f).filter(|x| !x.is_null()) {
            wire::set(&mut s, f, x.clone());
        }
    }
    if s.get("openapi_mode").is_none() {
        wire::set(&mut s, "openapi_mode", json!("OPEN_API_MODE_DISABLED"));
    }
    let mut avail = vec![json!("public")];
    for x in spec.get("db_schemas").and_then(Value::as_array).into_iter().flatten() {
        if !avail.contains(x) {
            avail.push(x.clone());
        }
    }
    wire::set(&mut s, "available_schemas", Value::Array(avail));
    let branch = db.get("parent").and_then(Value::as_str).unwrap_or_default();
    let host = ctx
        .store
        .values_in(&format!("{branch}/endpoints"))
        .into_iter()
        .find_map(|(_, e)| {
            wire::get(e, "status.hosts.host")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            format!(
                "ep-unassigned.database.{}.cloud.databricks.com",
                crate::defaults::REGION
            )
        });
    let pgdb = wire::get(db, "status.postgres_database")
        .and_then(Value::as_str)
        .unwrap_or_default();
    wire::set(&mut s, "url", json!(format!("https://{host}/api/2.0/data-api/{pgdb}")));
    wire::set(v, "status", s);
}

fn names(call: &Call) -> (String, String) {
    let db = format!(
        "projects/{}/branches/{}/databases/{}",
        call.ids[0], call.ids[1], call.ids[2]
    );
    let name = format!("{db}/data-api");
    (db, name)
}

/// `POST .../databases/{d}/data-api`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let (db, name) = names(call);
    let dbv = ctx.live("Database", &db)?;
    if ctx.store.contains(&name) {
        return Err(ApiError::already_exists(KIND, &name));
    }
    let spec = spec_of(&call.body)?;
    check_spec(&spec)?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    let mut v = Value::Object(super::base(&name, "", "", Some(&db), &now));
    if !wire::is_empty(Some(&spec)) {
        wire::set(&mut v, "spec", spec);
    }
    refresh_status(ctx, &mut v, &dbv);
    ctx.store.put(&name, v.clone(), None);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

/// `GET .../data-api`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let (db, name) = names(call);
    ctx.live("Database", &db)?;
    ctx.get(KIND, &name)
}

/// `PATCH .../data-api?update_mask=`.
pub fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let (db, name) = names(call);
    let dbv = ctx.live("Database", &db)?;
    let (_, mut v) = ctx.masked_update(KIND, &name, call, &RULES)?;
    check_spec(v.get("spec").unwrap_or(&json!({})))?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    refresh_status(ctx, &mut v, &dbv);
    Ok(ctx.commit_update(KIND, &name, v, None))
}

/// `DELETE .../data-api`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let (db, name) = names(call);
    ctx.live("Database", &db)?;
    ctx.get(KIND, &name)?;
    hard_delete(ctx, KIND, &name)
}
