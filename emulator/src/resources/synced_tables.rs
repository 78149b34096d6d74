//! Synced tables (`synced_tables/{catalog}.{schema}.{table}`).

use lakebase_generated::enums::SyncedTableSyncedTableSpecSyncedTableSchedulingPolicy;
use serde_json::{Value, json};

use super::{Call, Ctx, base, check_enum, hard_delete, required_id, spec_of};
use crate::errors::ApiError;
use crate::ids;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "SyncedTable";

/// `POST /synced_tables?synced_table_id=`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let id = required_id(call, "synced_table_id")?;
    ids::check("synced_table_id", id)?;
    let name = format!("synced_tables/{id}");
    if ctx.store.contains(&name) {
        return Err(ApiError::already_exists(KIND, &name));
    }
    let spec = spec_of(&call.body)?;
    let src = wire::str_at(&spec, "source_table_full_name")?
        .ok_or_else(|| ApiError::invalid("Field 'spec.source_table_full_name' is required"))?;
    ids::check_three_part("spec.source_table_full_name", src)?;
    let policy = wire::str_at(&spec, "scheduling_policy")?.unwrap_or("TRIGGERED");
    check_enum(
        &spec,
        "scheduling_policy",
        SyncedTableSyncedTableSpecSyncedTableSchedulingPolicy::KNOWN,
    )?;
    let branch = super::catalogs::resolve_branch(ctx, wire::str_at(&spec, "branch")?)?;
    let catalog = format!("catalogs/{}", id.split('.').next().unwrap_or_default());
    let pg = match wire::str_at(&spec, "postgres_database")? {
        Some(p) => p.to_string(),
        None => ctx
            .store
            .value(&catalog)
            .and_then(|c| wire::get(c, "status.postgres_database"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid("Field 'spec.postgres_database' is required"))?,
    };
    let existing = wire::str_at(&spec, "existing_pipeline_id")?;
    if existing.is_some() && !wire::is_empty(spec.get("new_pipeline_spec")) {
        return Err(ApiError::invalid(
            "spec.new_pipeline_spec and spec.existing_pipeline_id are mutually exclusive",
        ));
    }
    if let Some(cols) = spec.get("primary_key_columns").filter(|c| !c.is_null())
        && !cols.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        return Err(ApiError::invalid("spec.primary_key_columns must be a list of strings"));
    }
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "synced_table_id", id, None, &now));
    wire::remove(&mut v, "update_time");
    wire::set(&mut v, "uid", json!(uuid::Uuid::new_v4().to_string()));
    let state = match policy {
        "CONTINUOUS" => "SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE",
        "SNAPSHOT" => "SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE",
        _ => "SYNCED_TABLE_ONLINE_TRIGGERED_UPDATE",
    };
    let pipeline = existing.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    wire::set(
        &mut v,
        "status",
        json!({
            "detailed_state": state, "last_sync_time": now, "message": "Table is online.",
            "pipeline_id": pipeline, "project": super::op_root(&branch), "unity_catalog_provisioning_state": "ACTIVE",
            "provisioning_phase": "PROVISIONING_PHASE_MAIN",
            "last_processed_commit_version": 1,
            "last_sync": {
                "delta_table_sync_info": {"delta_commit_time": now, "delta_commit_version": 1},
                "sync_start_time": now, "sync_end_time": now,
            },
            "ongoing_sync_progress": {
                "estimated_completion_time_seconds": 0.0, "latest_version_currently_processing": 1,
                "sync_progress_completion": 1.0, "synced_row_count": 0, "total_row_count": 0,
            },
        }),
    );
    let mut spec = spec;
    wire::set(&mut spec, "branch", json!(branch));
    wire::set(&mut spec, "postgres_database", json!(pg));
    wire::set(&mut v, "spec", spec);
    let overlay = ctx.overlay(json!({"status": {
        "detailed_state": "SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT", "message": "Provisioning the synced table.",
        "provisioning_phase": "PROVISIONING_PHASE_INDEX_SCAN", "unity_catalog_provisioning_state": "PROVISIONING",
        "last_sync_time": null, "last_sync": null, "last_processed_commit_version": null, "ongoing_sync_progress": null,
    }}));
    ctx.store.put(&name, v.clone(), overlay);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

/// `GET /synced_tables/{t}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &format!("synced_tables/{}", call.ids[0]))
}

/// `DELETE /synced_tables/{t}`.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = format!("synced_tables/{}", call.ids[0]);
    ctx.get(KIND, &name)?;
    hard_delete(ctx, KIND, &name)
}
