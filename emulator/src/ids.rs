//! Identifier validation (the id rules come from the spec) and generation of uids, hosts and LSNs.

use lakebase_generated::IdRule;
use rand::Rng;

use crate::errors::ApiError;

/// Validates the id of a new resource (`database_id`, ...) against the rule the service
/// applies to it, generated from the spec (`lakebase_generated::ID_RULES`: the observed
/// pattern where the spec records one, else the documented one), answering in the
/// service's words: `Field database_id must match pattern <pattern>, got '<id>'.`
pub fn check(param: &str, id: &str) -> Result<(), ApiError> {
    match IdRule::find(param) {
        Some(rule) if !rule.service_accepts(id) => Err(ApiError::invalid(format!(
            "Field {param} must match pattern {}, got '{id}'.",
            rule.service_pattern()
        ))),
        _ => Ok(()),
    }
}

/// Validates one Unity Catalog name part: 1–255 chars of `[A-Za-z0-9_-]`.
pub fn check_uc_name(field: &str, id: &str) -> Result<(), ApiError> {
    let ok = (1..=255).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid {field} '{id}': not a valid Unity Catalog name"
        )))
    }
}

/// Validates a three-part `catalog.schema.table` name.
pub fn check_three_part(field: &str, id: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = id.split('.').collect();
    if parts.len() != 3 {
        return Err(ApiError::invalid(format!(
            "Invalid {field} '{id}': expected 'catalog.schema.table'"
        )));
    }
    parts.iter().try_for_each(|p| check_uc_name(field, p))
}

/// Validates a Postgres identifier (schema names, Data API schemas): `[a-zA-Z_][a-zA-Z0-9_$]*`, 1–63.
pub fn check_pg_ident(field: &str, id: &str) -> Result<(), ApiError> {
    let ok = (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid {field} '{id}': not a valid Postgres identifier"
        )))
    }
}

const ADJECTIVES: &[&str] = &["lively", "frosty", "calm", "autumn", "misty", "wispy", "silent", "dawn"];
const NOUNS: &[&str] = &["leaf", "moon", "brook", "sea", "snow", "sun", "field", "river"];

/// A Neon-style uid such as `br-frosty-moon-db8f56fe`.
pub fn friendly_uid(prefix: &str) -> String {
    let mut r = rand::rng();
    let a = ADJECTIVES[r.random_range(0..ADJECTIVES.len())];
    let n = NOUNS[r.random_range(0..NOUNS.len())];
    format!("{prefix}-{a}-{n}-{:08x}", r.random::<u32>())
}

/// Eight random lowercase hex digits.
pub fn hex8() -> String {
    format!("{:08x}", rand::rng().random::<u32>())
}

/// A random Postgres text LSN such as `0/1A2B3C4D`.
pub fn lsn() -> String {
    format!("0/{:08X}", rand::rng().random::<u32>())
}

/// Derives a role id from a Postgres role name (`alice@example.com` → `alice-example-com`).
pub fn role_id_from(postgres_role: &str) -> Option<String> {
    let mut out = String::new();
    for c in postgres_role.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').chars().take(63).collect::<String>();
    let out = out.trim_end_matches('-').to_string();
    check("role_id", &out).ok().map(|_| out)
}
