//! Change data feed: CDF configs under a database and their read-only per-table statuses.

use serde_json::{Value, json};

use super::{Call, Ctx, hard_delete};
use crate::errors::ApiError;
use crate::ids;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "CdfConfig";

fn db_of(call: &Call) -> String {
    format!(
        "projects/{}/branches/{}/databases/{}",
        call.ids[0], call.ids[1], call.ids[2]
    )
}

fn required<'a>(body: &'a Value, k: &str) -> Result<&'a str, ApiError> {
    wire::str_at(body, k)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("Field '{k}' is required")))
}

/// `POST .../databases/{d}/cdf-configs[?cdf_config_id=]` (id defaults to `postgres_schema`).
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let db = db_of(call);
    ctx.live("Database", &db)?;
    let catalog = required(&call.body, "catalog")?;
    let schema = required(&call.body, "schema")?;
    let pg_schema = required(&call.body, "postgres_schema")?;
    ids::check_uc_name("catalog", catalog)?;
    ids::check_uc_name("schema", schema)?;
    ids::check_pg_ident("postgres_schema", pg_schema)?;
    let id = call
        .query
        .get("cdf_config_id")
        .filter(|s| !s.is_empty())
        .unwrap_or(pg_schema)
        .to_string();
    ids::check("cdf_config_id", &id)?;
    let name = format!("{db}/cdf-configs/{id}");
    if ctx.store.contains(&name) {
        return Err(ApiError::already_exists(KIND, &name));
    }
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let v = json!({
        "catalog": catalog, "cdf_config_id": id, "create_time": ctx.ts(), "name": name,
        "postgres_schema": pg_schema, "schema": schema,
    });
    ctx.store.put(&name, v.clone(), None);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

fn name_of(call: &Call) -> String {
    format!("{}/cdf-configs/{}", db_of(call), call.ids[3])
}

/// `GET .../cdf-configs/{c}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET .../cdf-configs`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let db = db_of(call);
    ctx.live("Database", &db)?;
    ctx.list(call, &format!("{db}/cdf-configs"), "cdf_configs", false, 1000)
}

/// `DELETE .../cdf-configs/{c}[?force=true]`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    ctx.get(KIND, &name)?;
    call.query.flag("force")?;
    hard_delete(ctx, KIND, &name)
}

/// `GET .../cdf-configs/{c}/cdf-statuses/{t}`.
pub fn get_status(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = format!("{}/cdf-statuses/{}", name_of(call), call.ids[4]);
    ctx.get("CdfStatus", &name)
}

/// `GET .../cdf-configs/{c}/cdf-statuses`.
pub fn list_statuses(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let cfg = name_of(call);
    ctx.live(KIND, &cfg)?;
    ctx.list(call, &format!("{cfg}/cdf-statuses"), "cdf_statuses", false, 1000)
}

/// Adds a streaming CDF status for `postgres_table` under an existing CDF config.
pub fn add_status(ctx: &mut Ctx<'_>, config: &str, postgres_table: &str) -> Result<Value, ApiError> {
    let cfg = ctx.live(KIND, config)?;
    ids::check_pg_ident("postgres_table", postgres_table)?;
    let name = format!("{config}/cdf-statuses/{postgres_table}");
    let uc = format!(
        "{}.{}.{postgres_table}",
        cfg.get("catalog").and_then(Value::as_str).unwrap_or_default(),
        cfg.get("schema").and_then(Value::as_str).unwrap_or_default()
    );
    let v = json!({
        "committed_lsn": ids::lsn(), "create_time": ctx.ts(), "last_sync_time": ctx.ts(), "name": name,
        "postgres_table": postgres_table, "state": "CDF_STATE_STREAMING", "status_detail": "", "uc_table": uc,
    });
    ctx.store.put(&name, v.clone(), None);
    Ok(v)
}
