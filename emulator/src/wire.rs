//! Wire-format helpers: timestamps, durations and dotted JSON paths.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::errors::ApiError;

/// RFC 3339 UTC timestamp with `Z` and millisecond precision.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp (any offset, any fraction length).
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// Parses a protobuf JSON duration (`"300s"`, `"1.5s"`) into seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let n = s.strip_suffix('s')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') {
        return None;
    }
    n.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads a duration field at `path` (seconds), erroring when it is not a valid duration.
pub fn duration_at(v: &Value, path: &str) -> Result<Option<f64>, ApiError> {
    match get(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_duration(s)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("Field '{path}' is not a valid duration: '{s}'"))),
        Some(_) => Err(ApiError::invalid(format!("Field '{path}' must be a duration string"))),
    }
}

/// Reads a timestamp field at `path`, erroring when it is not RFC 3339.
pub fn ts_at(v: &Value, path: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match get(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_ts(s)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("Field '{path}' is not a valid timestamp: '{s}'"))),
        Some(_) => Err(ApiError::invalid(format!("Field '{path}' must be a timestamp string"))),
    }
}

/// Reads an optional string field at `path`, erroring on a non-string value.
pub fn str_at<'a>(v: &'a Value, path: &str) -> Result<Option<&'a str>, ApiError> {
    match get(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(format!("Field '{path}' must be a string"))),
    }
}

/// Reads an optional bool field at `path`, erroring on a non-bool value.
pub fn bool_at(v: &Value, path: &str) -> Result<Option<bool>, ApiError> {
    match get(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(format!("Field '{path}' must be a boolean"))),
    }
}

/// Reads an optional number field at `path`, erroring on a non-number value.
pub fn f64_at(v: &Value, path: &str) -> Result<Option<f64>, ApiError> {
    match get(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(ApiError::invalid(format!("Field '{path}' must be a number"))),
    }
}

/// Value at a dotted `path` (`"spec.attributes.createdb"`); `""` is the value itself.
pub fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    path.split('.').try_fold(v, |cur, seg| cur.as_object()?.get(seg))
}

/// Sets the value at a dotted `path`, creating intermediate objects.
pub fn set(v: &mut Value, path: &str, new: Value) {
    let mut cur = v;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == segs.len() {
            obj.insert((*seg).to_string(), new);
            return;
        }
        cur = obj
            .entry((*seg).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Removes the value at a dotted `path` (no-op when absent).
pub fn remove(v: &mut Value, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (p, l),
        None => ("", path),
    };
    let target = if parent.is_empty() {
        Some(v)
    } else {
        parent
            .split('.')
            .try_fold(v, |cur, seg| cur.as_object_mut()?.get_mut(seg))
    };
    if let Some(obj) = target.and_then(Value::as_object_mut) {
        obj.remove(last);
    }
}

/// Deep-merges `patch` into `base`: objects merge recursively, `null` removes a key.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base.as_object_mut(), patch.as_object()) {
        (Some(b), Some(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    b.remove(k);
                } else if pv.is_object() && b.get(k).is_some_and(Value::is_object) {
                    if let Some(bv) = b.get_mut(k) {
                        merge(bv, pv);
                    }
                } else {
                    b.insert(k.clone(), pv.clone());
                }
            }
        }
        _ => *base = patch.clone(),
    }
}

/// True when `v` is absent, null, or an empty object/array/string.
pub fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}
