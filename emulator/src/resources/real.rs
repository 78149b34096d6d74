//! What resources do to the real databases in `--postgres` mode, in one place: which
//! cluster a branch is, endpoint listeners, and the role and database statements. Every
//! function is a no-op without the real-PostgreSQL layer.

use serde_json::{Value, json};

use super::Ctx;
use crate::errors::ApiError;
use crate::pg::effects::{self, CloneSource, Effect, RoleAttributes};
use crate::pg::history::{Lsn, RecoveryTarget};
use crate::wire;

/// The cluster id of a branch or snapshot (its `uid`).
pub fn cluster_of(ctx: &Ctx<'_>, name: &str) -> Option<String> {
    ctx.store.value(name)?.get("uid")?.as_str().map(str::to_string)
}

/// Whether the real-PostgreSQL layer is on.
pub fn on(ctx: &Ctx<'_>) -> bool {
    ctx.pg.is_some()
}

/// The point of `source`'s history a new branch or snapshot starts from
/// (`spec.source_branch_time` / `spec.source_branch_lsn`; `None`: now), refused when it is
/// in the future, before the source branch existed or outside its project's
/// `history_retention_duration`. Only checked with real databases behind the API.
pub fn point_in_time(ctx: &Ctx<'_>, spec: &Value, source: &str) -> Result<Option<RecoveryTarget>, ApiError> {
    let Some(pg) = &ctx.pg else { return Ok(None) };
    let branch = ctx.live("Branch", source)?;
    let retention = pg.history_retention().unwrap_or_else(|| retention_of(ctx, source));
    let window_start = ctx.now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let window = || {
        format!(
            "the history of '{source}' is kept for {}s (the project's history_retention_duration), \
             from {}",
            retention.as_secs(),
            wire::ts(window_start)
        )
    };
    if let Some(t) = wire::ts_at(spec, "source_branch_time")? {
        if t > ctx.now {
            return Err(ApiError::invalid(format!(
                "spec.source_branch_time {} is in the future (now is {})",
                wire::ts(t),
                ctx.ts()
            )));
        }
        if t < window_start {
            return Err(ApiError::invalid(format!(
                "spec.source_branch_time {} is outside the restore window: {}",
                wire::ts(t),
                window()
            )));
        }
        if let Some(created) = wire::ts_at(&branch, "create_time")?
            && t < created
        {
            return Err(ApiError::invalid(format!(
                "spec.source_branch_time {} is before '{source}' was created ({})",
                wire::ts(t),
                wire::ts(created)
            )));
        }
        return Ok(Some(RecoveryTarget::Time(t)));
    }
    let Some(text) = wire::str_at(spec, "source_branch_lsn")? else {
        return Ok(None);
    };
    let lsn: Lsn = text
        .parse()
        .map_err(|e| ApiError::invalid(format!("spec.source_branch_lsn: {e}")))?;
    if let Some(start) = wire::str_at(&branch, "status.source_branch_lsn")?.and_then(|l| l.parse::<Lsn>().ok())
        && lsn < start
    {
        return Err(ApiError::invalid(format!(
            "spec.source_branch_lsn {lsn} is before '{source}' was created (at LSN {start})"
        )));
    }
    if let Some(earliest) = cluster_of(ctx, source).and_then(|c| pg.earliest_lsn(&c))
        && lsn < earliest
    {
        return Err(ApiError::invalid(format!(
            "spec.source_branch_lsn {lsn} is outside the restore window: {} (its oldest LSN is {earliest})",
            window()
        )));
    }
    Ok(Some(RecoveryTarget::Lsn(lsn)))
}

/// A project's `history_retention_duration` (the service's default when unset).
fn retention_of(ctx: &Ctx<'_>, branch: &str) -> std::time::Duration {
    let project = super::op_root(branch);
    ctx.store
        .value(&project)
        .and_then(|p| {
            wire::get(p, "status.history_retention_duration")
                .or_else(|| wire::get(p, "spec.history_retention_duration"))
        })
        .and_then(Value::as_str)
        .and_then(wire::parse_duration)
        .map_or(
            std::time::Duration::from_secs(604_800),
            std::time::Duration::from_secs_f64,
        )
}

/// Starts listening for a new endpoint; its address.
pub fn serve_endpoint(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(pg) = &ctx.pg else { return Ok(None) };
    pg.serve_endpoint(name, None)
        .map(|ip| Some(ip.to_string()))
        .map_err(unavailable)
}

/// A failure to listen for an endpoint, as the API answers it.
fn unavailable(e: crate::pg::PgError) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "TEMPORARILY_UNAVAILABLE",
        e.to_string(),
    )
}

/// Stops listening for the endpoints under `prefix` (an endpoint, branch or project name).
pub fn unserve_under(ctx: &Ctx<'_>, prefix: &str) {
    if let Some(pg) = &ctx.pg {
        pg.unserve_endpoint(prefix);
        pg.unserve_under(prefix);
    }
}

/// Listens again for the endpoints of the branches under `prefix` (after an undelete), on
/// their recorded addresses when free.
pub fn reserve_under(ctx: &mut Ctx<'_>, prefix: &str) -> Result<(), ApiError> {
    let Some(pg) = ctx.pg.clone() else { return Ok(()) };
    let endpoints: Vec<String> = ctx
        .store
        .names_under(prefix)
        .into_iter()
        .filter(|n| n.contains("/endpoints/") && n.split('/').count() == 6)
        .collect();
    for name in endpoints {
        pg.reserve(ctx.store, &name).map_err(unavailable)?;
    }
    Ok(())
}

/// Writes an endpoint's host addresses (all the same front end) by its type.
pub fn set_hosts(v: &mut Value, host: &str) {
    let read_only = wire::get(v, "spec.endpoint_type") == Some(&json!("ENDPOINT_TYPE_READ_ONLY"));
    let hosts = if read_only {
        json!({"host": host, "read_only_host": host, "read_only_pooled_host": host})
    } else {
        json!({"host": host, "read_write_pooled_host": host})
    };
    wire::set(v, "status.hosts", hosts);
}

/// Queues a new branch's data copy from its source (at a point of its history when
/// `at` is set).
pub fn clone_branch(
    ctx: &mut Ctx<'_>,
    branch: &str,
    source_branch: Option<&str>,
    snapshot: Option<&str>,
    at: Option<RecoveryTarget>,
) {
    let Some(cluster) = cluster_of(ctx, branch) else { return };
    let source = match (snapshot, source_branch) {
        (Some(s), _) => cluster_of(ctx, s).map(CloneSource::Snapshot),
        (None, Some(b)) => cluster_of(ctx, b).map(|c| match at {
            Some(target) => CloneSource::PointInTime(c, target),
            None => CloneSource::Branch(c),
        }),
        (None, None) => None,
    };
    if let Some(source) = source {
        attach(ctx, &cluster, branch);
        ctx.effect(Effect::CloneBranch { cluster, source });
    }
}

/// Records which branch a cluster serves.
pub fn attach(ctx: &Ctx<'_>, cluster: &str, branch: &str) {
    if let Some(pg) = &ctx.pg {
        pg.attach(cluster, branch);
    }
}

/// Queues a start or stop of a branch's compute.
pub fn set_running(ctx: &mut Ctx<'_>, branch: &str, running: bool) {
    if let Some(cluster) = cluster_of(ctx, branch) {
        attach(ctx, &cluster, branch);
        ctx.effect(if running {
            Effect::Start { cluster }
        } else {
            Effect::Stop { cluster }
        });
    }
}

/// Queues the removal of a branch's or snapshot's data.
pub fn remove_data(ctx: &mut Ctx<'_>, name: &str) {
    if let Some(cluster) = cluster_of(ctx, name) {
        ctx.effect(Effect::Remove { cluster });
    }
}

/// Attributes of a role resource's spec.
fn role_attributes(spec: &Value, auth: &str) -> RoleAttributes {
    let flag = |k: &str| {
        wire::get(spec, &format!("attributes.{k}"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    RoleAttributes {
        login: auth != "NO_LOGIN",
        createdb: flag("createdb"),
        createrole: flag("createrole"),
        bypassrls: flag("bypassrls"),
    }
}

fn superuser_member(spec: &Value) -> bool {
    spec.get("membership_roles")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|r| r == "DATABRICKS_SUPERUSER"))
}

/// Queues the statements creating (or, `replace`, altering) a role resource `v`.
pub fn apply_role(ctx: &mut Ctx<'_>, branch: &str, role: &Value, replace: bool) {
    let Some(cluster) = cluster_of(ctx, branch) else { return };
    let spec = role.get("spec").cloned().unwrap_or_else(|| json!({}));
    let pg_role = wire::get(role, "status.postgres_role")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let auth = wire::get(role, "status.auth_method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let attrs = role_attributes(&spec, auth);
    let statements = if replace {
        effects::alter_role(pg_role, attrs, superuser_member(&spec))
    } else {
        let name = role.get("name").and_then(Value::as_str).unwrap_or_default();
        let password = ctx.store.passwords.get(name).cloned();
        effects::create_role(pg_role, attrs, password.as_deref(), superuser_member(&spec))
    };
    ctx.effect(Effect::Sql {
        cluster,
        database: "postgres".into(),
        statements,
    });
}

/// Queues dropping a role, handing what it owns to `reassign_to` (a Postgres role).
pub fn drop_role(ctx: &mut Ctx<'_>, branch: &str, pg_role: &str, reassign_to: Option<String>) {
    if let Some(cluster) = cluster_of(ctx, branch) {
        ctx.effect(Effect::DropRole {
            cluster,
            role: pg_role.to_string(),
            reassign_to,
        });
    }
}

/// The Postgres role name of a role resource.
pub fn pg_role_of(ctx: &Ctx<'_>, role: &str) -> Option<String> {
    ctx.store
        .value(role)
        .and_then(|v| wire::get(v, "status.postgres_role"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Queues the statements bringing a database from `before` (absent: new) to `after`.
pub fn apply_database(ctx: &mut Ctx<'_>, branch: &str, before: Option<&Value>, after: &Value) {
    let Some(cluster) = cluster_of(ctx, branch) else { return };
    let name_of = |v: &Value| {
        wire::get(v, "status.postgres_database")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let owner_of = |v: &Value| wire::get(v, "status.role").and_then(Value::as_str).map(str::to_string);
    let (Some(name), Some(owner)) = (name_of(after), owner_of(after).and_then(|r| pg_role_of(ctx, &r))) else {
        return;
    };
    match before {
        None => ctx.effect(Effect::Sql {
            cluster,
            database: "postgres".into(),
            statements: effects::create_database(&name, &owner),
        }),
        Some(old) => {
            if let Some(old_name) = name_of(old).filter(|n| *n != name) {
                ctx.effect(Effect::RenameDatabase {
                    cluster: cluster.clone(),
                    from: old_name,
                    to: name.clone(),
                });
            }
            if owner_of(old) != owner_of(after) {
                ctx.effect(Effect::Sql {
                    cluster,
                    database: "postgres".into(),
                    statements: effects::alter_database_owner(&name, &owner),
                });
            }
        }
    }
}

/// Queues dropping a database resource's Postgres database.
pub fn drop_database(ctx: &mut Ctx<'_>, branch: &str, database: &Value) {
    let name = wire::get(database, "status.postgres_database").and_then(Value::as_str);
    if let (Some(cluster), Some(name)) = (cluster_of(ctx, branch), name) {
        ctx.effect(Effect::DropDatabase {
            cluster,
            name: name.to_string(),
        });
    }
}
