//! `update_mask` semantics.
//!
//! * the mask is a comma-separated list of dotted paths; it must not be empty;
//! * `*` stands for every top-level mutable path of the resource;
//! * every path must name a field present in the request body, otherwise
//!   `Field '<path>' is in update_mask but not provided in request`;
//! * a path may name a oneof group (e.g. `spec.default_endpoint_settings.suspension`): at
//!   least one member must be present; all members are replaced;
//! * setting one member of a oneof clears its siblings;
//! * immutable/output-only and unknown paths are rejected with `INVALID_PARAMETER_VALUE`.

use serde_json::Value;

use crate::errors::ApiError;
use crate::wire;

/// Update rules of one resource type.
pub struct Rules {
    /// Mutable paths (leaf fields and whole sub-messages).
    pub mutable: &'static [&'static str],
    /// Oneof groups: (group path, member field names under the group's parent).
    pub oneofs: &'static [(&'static str, &'static [&'static str])],
    /// Known but immutable or output-only paths (descendants included).
    pub immutable: &'static [&'static str],
}

fn parent_and_leaf(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

fn join(parent: &str, leaf: &str) -> String {
    if parent.is_empty() {
        leaf.to_string()
    } else {
        format!("{parent}.{leaf}")
    }
}

fn present(body: &Value, path: &str) -> bool {
    !matches!(wire::get(body, path), None | Some(Value::Null))
}

/// Parses the mask string into paths.
pub fn parse(mask: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mask = mask.unwrap_or("");
    if mask.is_empty() {
        return Err(ApiError::invalid("update_mask is required and must not be empty"));
    }
    // Paths are taken literally, as a protobuf FieldMask is: `a, b` names the field ` b`.
    mask.split(',')
        .map(|p| {
            if p.is_empty() || p.split('.').any(str::is_empty) || p.chars().any(char::is_whitespace) {
                Err(ApiError::invalid(format!("Invalid update_mask path '{p}'")))
            } else {
                Ok(p.to_string())
            }
        })
        .collect()
}

/// Applies `body` to `current` along `mask`, returning the updated resource.
pub fn apply(current: &Value, body: &Value, mask: Option<&str>, rules: &Rules) -> Result<Value, ApiError> {
    let mut paths = parse(mask)?;
    if paths.iter().any(|p| p == "*") {
        paths = rules
            .mutable
            .iter()
            .filter(|m| !rules.mutable.iter().any(|o| m.starts_with(&format!("{o}."))))
            .map(|m| m.to_string())
            .collect();
    }
    let mut out = current.clone();
    for path in &paths {
        if let Some((_, members)) = rules.oneofs.iter().find(|(g, _)| g == path) {
            let (parent, _) = parent_and_leaf(path);
            if !members.iter().any(|m| present(body, &join(parent, m))) {
                return Err(ApiError::mask_field_missing(path));
            }
            for m in *members {
                let p = join(parent, m);
                match wire::get(body, &p).filter(|v| !v.is_null()) {
                    Some(v) => wire::set(&mut out, &p, v.clone()),
                    None => wire::remove(&mut out, &p),
                }
            }
        } else if rules.mutable.contains(&path.as_str()) {
            let Some(v) = wire::get(body, path).filter(|v| !v.is_null()) else {
                return Err(ApiError::mask_field_missing(path));
            };
            wire::set(&mut out, path, v.clone());
            let (parent, leaf) = parent_and_leaf(path);
            for (g, members) in rules.oneofs {
                if parent_and_leaf(g).0 == parent && members.contains(&leaf) {
                    for m in members.iter().filter(|m| **m != leaf) {
                        wire::remove(&mut out, &join(parent, m));
                    }
                }
            }
        } else if path == "status"
            || path.starts_with("status.")
            || rules
                .immutable
                .iter()
                .any(|i| path == i || path.starts_with(&format!("{i}.")))
        {
            if !present(body, path) {
                return Err(ApiError::mask_field_missing(path));
            }
            return Err(ApiError::invalid(format!(
                "Field '{path}' is immutable or output only and cannot be updated"
            )));
        } else {
            return Err(ApiError::invalid(format!(
                "Invalid update_mask path '{path}': no such updatable field"
            )));
        }
    }
    Ok(out)
}
