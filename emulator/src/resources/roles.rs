//! Postgres roles: create (id derived from the Postgres role when absent), get, list,
//! update (memberships and attributes only), delete (with `reassign_owned_to`),
//! reveal password.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lakebase_generated::enums::{RoleAuthMethod, RoleIdentityType};
use rand::Rng;
use serde_json::{Value, json};

use super::{Call, Ctx, base, check_enum, real, spec_of, store_parent, touch};
use crate::errors::ApiError;
use crate::ids;
use crate::mask::Rules;
use crate::operations::Outcome;
use crate::wire;

const KIND: &str = "Role";
const SCRAM: &str = "PG_PASSWORD_SCRAM_SHA_256";

const RULES: Rules = Rules {
    mutable: &[
        "spec.membership_roles",
        "spec.attributes",
        "spec.attributes.createdb",
        "spec.attributes.createrole",
        "spec.attributes.bypassrls",
    ],
    oneofs: &[],
    immutable: &[
        "spec.identity_type",
        "spec.auth_method",
        "spec.postgres_role",
        "name",
        "role_id",
        "parent",
        "create_time",
        "update_time",
    ],
};

fn check_spec(spec: &Value) -> Result<(), ApiError> {
    check_enum(spec, "identity_type", RoleIdentityType::KNOWN)?;
    check_enum(spec, "auth_method", RoleAuthMethod::KNOWN)?;
    for k in ["createdb", "createrole", "bypassrls"] {
        wire::bool_at(spec, &format!("attributes.{k}"))?;
    }
    if let Some(m) = spec.get("membership_roles").filter(|m| !m.is_null()) {
        let ok = m
            .as_array()
            .is_some_and(|a| a.iter().all(|r| r == "DATABRICKS_SUPERUSER"));
        if !ok {
            return Err(ApiError::invalid(
                "spec.membership_roles may only contain DATABRICKS_SUPERUSER",
            ));
        }
    }
    if let Some(p) = wire::str_at(spec, "postgres_role")?
        && !(1..=63).contains(&p.len())
    {
        return Err(ApiError::invalid("spec.postgres_role must be 1-63 characters"));
    }
    Ok(())
}

fn refresh_status(v: &mut Value) {
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut s = v.get("status").cloned().unwrap_or_else(|| json!({}));
    let attr = |k: &str| {
        wire::get(&spec, &format!("attributes.{k}"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    wire::set(
        &mut s,
        "attributes",
        json!({"bypassrls": attr("bypassrls"), "createdb": attr("createdb"), "createrole": attr("createrole")}),
    );
    match spec.get("membership_roles").filter(|m| !wire::is_empty(Some(m))) {
        Some(m) => wire::set(&mut s, "membership_roles", m.clone()),
        None => wire::remove(&mut s, "membership_roles"),
    }
    wire::set(v, "status", s);
}

/// The service's answer to a duplicate role: 400, not 409.
fn duplicate() -> ApiError {
    ApiError::bad_request("role with that name already exists")
}

fn gen_password() -> String {
    let bytes: [u8; 18] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `POST /projects/{p}/branches/{b}/roles[?role_id=][&replace_existing=true]`.
pub fn create(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let branch = call.branch();
    ctx.live("Branch", &branch)?;
    let spec = spec_of(&call.body)?;
    check_spec(&spec)?;
    let replace = call.query.flag("replace_existing")?;
    let given = call.query.get("role_id").filter(|s| !s.is_empty());
    if replace && given.is_none() {
        return Err(ApiError::invalid("replace_existing=true requires role_id"));
    }
    let pg = wire::str_at(&spec, "postgres_role")?.map(str::to_string);
    let id = match given {
        Some(id) => id.to_string(),
        None => {
            let base_id = pg
                .as_deref()
                .and_then(ids::role_id_from)
                .unwrap_or_else(|| format!("role-{}", ids::hex8()));
            if ctx.store.contains(&format!("{branch}/roles/{base_id}")) {
                format!("{}-{}", base_id.chars().take(54).collect::<String>(), ids::hex8())
            } else {
                base_id
            }
        }
    };
    ids::check("role_id", &id)?;
    let name = format!("{branch}/roles/{id}");
    let pg = pg.unwrap_or_else(|| id.clone());
    if let Some(existing) = ctx.store.value(&name).cloned() {
        if !replace {
            return Err(duplicate());
        }
        if let Some(op) = ctx.failing(&name, KIND) {
            return Ok(op);
        }
        let mut v = existing;
        for k in ["membership_roles", "attributes"] {
            match spec.get(k).filter(|x| !x.is_null()) {
                Some(x) => wire::set(&mut v, &format!("spec.{k}"), x.clone()),
                None => wire::remove(&mut v, &format!("spec.{k}")),
            }
        }
        refresh_status(&mut v);
        touch(&mut v, &ctx.ts());
        ctx.store.put(&name, v.clone(), None);
        real::apply_role(ctx, &branch, &v, true);
        return Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)));
    }
    let coll = format!("{branch}/roles");
    if ctx
        .store
        .values_in(&coll)
        .iter()
        .any(|(_, v)| wire::get(v, "status.postgres_role") == Some(&json!(pg)))
    {
        return Err(duplicate());
    }
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    let identity = wire::str_at(&spec, "identity_type")?.map(str::to_string);
    let auth = wire::str_at(&spec, "auth_method")?
        .unwrap_or(match identity.as_deref() {
            Some("USER" | "SERVICE_PRINCIPAL") => "LAKEBASE_OAUTH_V1",
            Some("GROUP") => "NO_LOGIN",
            _ => SCRAM,
        })
        .to_string();
    let now = ctx.ts();
    let mut v = Value::Object(base(&name, "role_id", &id, Some(&branch), &now));
    let mut status = json!({"auth_method": auth, "postgres_role": pg, "role_id": id});
    if let Some(i) = identity {
        wire::set(&mut status, "identity_type", json!(i));
    }
    wire::set(&mut v, "status", status);
    if !wire::is_empty(Some(&spec)) {
        wire::set(&mut v, "spec", spec);
    }
    refresh_status(&mut v);
    if auth.as_str() == SCRAM {
        ctx.store.passwords.insert(name.clone(), gen_password());
    }
    ctx.store.put(&name, v.clone(), None);
    real::apply_role(ctx, &branch, &v, false);
    Ok(ctx.op(&name, KIND, Outcome::Resource(KIND, v)))
}

/// Stores the role of a new project's creator (`--postgres` mode, where the database has
/// it): an OAuth role named after the identity, member of `databricks_superuser`. Returns
/// the role's resource name.
pub fn insert_owner(ctx: &mut Ctx<'_>, branch: &str, identity: &str) -> String {
    let id = ids::role_id_from(identity).unwrap_or_else(|| format!("role-{}", ids::hex8()));
    let name = format!("{branch}/roles/{id}");
    let now = ctx.ts();
    let identity_type = if identity.contains('@') {
        "USER"
    } else {
        "SERVICE_PRINCIPAL"
    };
    let mut v = Value::Object(base(&name, "role_id", &id, Some(branch), &now));
    wire::set(
        &mut v,
        "status",
        json!({
            "auth_method": "LAKEBASE_OAUTH_V1", "identity_type": identity_type, "postgres_role": identity,
            "role_id": id, "membership_roles": ["DATABRICKS_SUPERUSER"],
            "attributes": {"bypassrls": false, "createdb": true, "createrole": true},
        }),
    );
    ctx.store.put(&name, v, None);
    name
}

fn name_of(call: &Call) -> String {
    call.branch_child("roles")
}

/// `GET .../roles/{r}`.
pub fn get(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.get(KIND, &name_of(call))
}

/// `GET .../roles`.
pub fn list(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    ctx.list_branch_children(call, "roles")
}

/// `PATCH .../roles/{r}?update_mask=`.
pub fn update(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let (_, mut v) = ctx.masked_update(KIND, &name, call, &RULES)?;
    check_spec(v.get("spec").unwrap_or(&json!({})))?;
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    refresh_status(&mut v);
    real::apply_role(ctx, &store_parent(&name), &v, true);
    Ok(ctx.commit_update(KIND, &name, v, None))
}

/// `DELETE .../roles/{r}[?reassign_owned_to=]`: a role owning databases can only be
/// deleted when their ownership is reassigned to another role of the branch.
pub fn delete(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    ctx.get(KIND, &name)?;
    let branch = store_parent(&name);
    let target = match call.query.get("reassign_owned_to").filter(|s| !s.is_empty()) {
        Some(t) => {
            let full = if t.contains('/') {
                t.to_string()
            } else {
                format!("{branch}/roles/{t}")
            };
            if full == name || !full.starts_with(&format!("{branch}/roles/")) {
                return Err(ApiError::invalid(format!("Invalid reassign_owned_to '{t}'")));
            }
            ctx.live(KIND, &full)?;
            Some(full)
        }
        None => None,
    };
    let owned: Vec<String> = ctx
        .store
        .values_in(&format!("{branch}/databases"))
        .into_iter()
        .filter(|(_, v)| wire::get(v, "status.role") == Some(&json!(name)))
        .map(|(n, _)| n.to_string())
        .collect();
    if !owned.is_empty() && target.is_none() {
        return Err(ApiError::invalid_state(format!(
            "Role '{name}' owns databases ({}); pass reassign_owned_to to delete it.",
            owned.join(", ")
        )));
    }
    if let Some(op) = ctx.failing(&name, KIND) {
        return Ok(op);
    }
    if let Some(pg_role) = real::pg_role_of(ctx, &name) {
        let reassign = target.as_deref().and_then(|t| real::pg_role_of(ctx, t));
        real::drop_role(ctx, &branch, &pg_role, reassign);
    }
    if let Some(t) = target {
        let now = ctx.ts();
        for db in owned {
            if let Some(v) = ctx.store.value_mut(&db) {
                wire::set(v, "spec.role", json!(t));
                wire::set(v, "status.role", json!(t));
                touch(v, &now);
            }
        }
    }
    ctx.store.remove_tree(&name);
    Ok(ctx.op(&name, KIND, Outcome::Empty))
}

/// `POST .../roles/{r}/password`.
pub fn reveal_password(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let name = name_of(call);
    let v = ctx.live(KIND, &name)?;
    let auth = wire::str_at(&v, "status.auth_method")?.unwrap_or(SCRAM);
    if auth != SCRAM {
        return Err(ApiError::invalid(format!("Role uses {auth} and has no password.")));
    }
    let pw = ctx.store.passwords.entry(name).or_insert_with(gen_password).clone();
    Ok(json!({"password": pw}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scram_method_is_the_spec_value() {
        assert_eq!(SCRAM, RoleAuthMethod::PgPasswordScramSha256.as_str());
    }
}
