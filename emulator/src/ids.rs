//! Identifier validation (reference §4) and generation of uids, hosts and LSNs.

use rand::Rng;

use crate::errors::ApiError;

/// Validates a project, branch, endpoint or snapshot id: 1–63 chars, lowercase letter first,
/// `[a-z0-9-]` only.
pub fn check_rfc1123(field: &str, id: &str) -> Result<(), ApiError> {
    check_dns(field, id, 1)
}

/// Validates a database or role id: 4–63 chars, lowercase letter first, `[a-z0-9-]` only.
pub fn check_long_id(field: &str, id: &str) -> Result<(), ApiError> {
    check_dns(field, id, 4)
}

fn check_dns(field: &str, id: &str, min: usize) -> Result<(), ApiError> {
    let ok = (min..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid {field} '{id}': must be {min}-63 characters, start with a lowercase letter and \
             contain only lowercase letters, digits and hyphens"
        )))
    }
}

/// The pattern the service checks database ids against.
pub const DATABASE_ID_PATTERN: &str = "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$";

/// Validates a database id against [`DATABASE_ID_PATTERN`], answering in the service's words.
pub fn check_database_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Field database_id must match pattern {DATABASE_ID_PATTERN}, got '{id}'."
        )))
    }
}

/// Validates a CDF config id: `[a-z][a-z0-9_]{0,62}`.
pub fn check_cdf_config_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid cdf_config_id '{id}': must match [a-z][a-z0-9_]{{0,62}}"
        )))
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
    check_long_id("role_id", &out).ok().map(|_| out)
}
