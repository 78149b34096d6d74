//! [`FieldMask`]: the `update_mask` of `update_*` calls.
//!
//! On the wire a field mask is the comma-joined list of snake_case field paths, sent as the
//! `update_mask` query parameter (`spec.display_name,spec.pg_version`); no camelCase conversion
//! happens (same as the official SDKs). The server requires every path in the mask to be present
//! in the request body, so [`FieldMask::from_set_fields`] derives the mask from the body itself.
//!
//! ```
//! use lakebase::field_mask::FieldMask;
//!
//! let mask = FieldMask::new(["spec.display_name", "spec.pg_version"])?;
//! assert_eq!(mask.as_query_value(), "spec.display_name,spec.pg_version");
//! assert_eq!("spec.display_name,spec.pg_version".parse::<FieldMask>()?, mask);
//!
//! let body = serde_json::json!({
//!     "name": "projects/my-app",
//!     "spec": {"display_name": "App", "default_endpoint_settings": {"pg_settings": {"a": "1"}}}
//! });
//! let derived = FieldMask::from_set_fields(&body, None)?;
//! assert_eq!(
//!     derived.paths(),
//!     ["spec.default_endpoint_settings.pg_settings", "spec.display_name"]
//! );
//! # Ok::<(), lakebase::field_mask::FieldMaskError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// Why a field mask was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldMaskError {
    /// The mask has no paths.
    #[error("field mask is empty: name at least one field path")]
    Empty,
    /// One path is not a valid dotted field path.
    #[error("invalid field mask path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// [`FieldMask::from_set_fields`] found no settable field in the resource.
    #[error("no updatable field is set in the resource{}", match .prefix { Some(p) => format!(" under {p:?}"), None => String::new() })]
    NothingSet {
        /// The prefix filter that was applied, if any.
        prefix: Option<String>,
    },
}

/// A non-empty list of field paths such as `spec.display_name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldMask {
    paths: Vec<String>,
}

/// Top-level keys that are output-only in every resource message (plus any `*_id` key, which is
/// sent as a query parameter, not updated).
const OUTPUT_ONLY_TOP_LEVEL: &[&str] = &[
    "name",
    "uid",
    "create_time",
    "update_time",
    "delete_time",
    "purge_time",
    "status",
    "parent",
];

/// Fields that are string maps on the wire: they are replaced as a whole, so they are leaves.
const MAP_FIELDS: &[&str] = &["pg_settings"];

fn check_path(path: &str) -> Result<(), FieldMaskError> {
    let invalid = |reason| FieldMaskError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("path is empty"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("path contains whitespace or control characters"));
    }
    if path.contains(',') {
        return Err(invalid("path contains ','; pass paths separately"));
    }
    if path.split('.').any(str::is_empty) {
        return Err(invalid(
            "path has an empty component (leading, trailing or doubled '.')",
        ));
    }
    Ok(())
}

impl FieldMask {
    /// A mask of the given paths, in the given order. Errors on an empty list, an empty path, or
    /// a path with whitespace, `,` or an empty `.`-component. `*` is accepted.
    pub fn new<I, S>(paths: I) -> Result<Self, FieldMaskError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let paths: Vec<String> = paths.into_iter().map(Into::into).collect();
        if paths.is_empty() {
            return Err(FieldMaskError::Empty);
        }
        for p in &paths {
            check_path(p)?;
        }
        Ok(Self { paths })
    }

    /// The paths, in order.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The wire form: the paths joined with `,` (to be sent as `update_mask=`).
    pub fn as_query_value(&self) -> String {
        self.paths.join(",")
    }

    /// Derives the mask from the fields set in a partial resource (its wire JSON).
    ///
    /// Nested objects become dotted leaf paths; arrays, string maps (`pg_settings`, even empty:
    /// that clears it) and scalars (including `false`, `0` and `""`) are leaves; `null` and empty
    /// nested messages count as unset.
    /// Output-only top-level keys (`name`, `uid`, `*_time`, `status`, `parent`) and top-level
    /// `*_id` keys are ignored. With `prefix_filter` (e.g. `Some("spec")`) only paths equal to or
    /// under that prefix are kept. Paths come out sorted. Errors with
    /// [`FieldMaskError::NothingSet`] when no path remains, and with
    /// [`FieldMaskError::InvalidPath`] when a key outside a string map contains a `.`.
    pub fn from_set_fields(resource: &Value, prefix_filter: Option<&str>) -> Result<Self, FieldMaskError> {
        let mut paths = Vec::new();
        if let Value::Object(map) = resource {
            for (key, value) in map {
                if OUTPUT_ONLY_TOP_LEVEL.contains(&key.as_str()) || key.ends_with("_id") {
                    continue;
                }
                collect_leaves(key.clone(), key, value, &mut paths)?;
            }
        }
        if let Some(prefix) = prefix_filter {
            paths.retain(|p: &String| p == prefix || p.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')));
        }
        paths.sort();
        if paths.is_empty() {
            return Err(FieldMaskError::NothingSet {
                prefix: prefix_filter.map(str::to_owned),
            });
        }
        Self::new(paths)
    }
}

impl FieldMask {
    /// Derives the mask from the fields set in a typed partial resource, as
    /// [`from_set_fields`](Self::from_set_fields) does on its wire JSON.
    ///
    /// ```
    /// use lakebase::{FieldMask, types};
    /// let change = types::Project {
    ///     spec: Some(types::ProjectSpec { display_name: Some("New".into()), pg_version: Some(17), ..Default::default() }),
    ///     ..Default::default()
    /// };
    /// assert_eq!(FieldMask::from_resource(&change).unwrap().to_string(), "spec.display_name,spec.pg_version");
    /// assert!(FieldMask::from_resource(&types::Project::default()).is_err());
    /// ```
    pub fn from_resource<T: serde::Serialize>(resource: &T) -> Result<Self, FieldMaskError> {
        let value = serde_json::to_value(resource).unwrap_or(Value::Null);
        Self::from_set_fields(&value, None)
    }
}

/// Adds the set leaf paths of `value` (found at `path`, under field `key`) to `out`. A key with
/// a `.` cannot be a field name, and its dotted path would name another field: refused.
fn collect_leaves(path: String, key: &str, value: &Value, out: &mut Vec<String>) -> Result<(), FieldMaskError> {
    if key.contains('.') {
        return Err(FieldMaskError::InvalidPath {
            path,
            reason: "a field name cannot contain '.' (only string maps such as pg_settings have such keys)",
        });
    }
    match value {
        Value::Null => {}
        Value::Object(map) if !MAP_FIELDS.contains(&key) => {
            for (k, v) in map {
                collect_leaves(format!("{path}.{k}"), k, v, out)?;
            }
        }
        _ => out.push(path),
    }
    Ok(())
}

impl fmt::Display for FieldMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_query_value())
    }
}

impl FromStr for FieldMask {
    type Err = FieldMaskError;

    /// Parses the comma-separated wire form (`a.b,c`).
    fn from_str(s: &str) -> Result<Self, FieldMaskError> {
        if s.is_empty() {
            return Err(FieldMaskError::Empty);
        }
        Self::new(s.split(','))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn construction() {
        let m = FieldMask::new(["spec.display_name", "spec.pg_version"]).unwrap();
        assert_eq!(m.to_string(), "spec.display_name,spec.pg_version");
        assert_eq!(m.paths(), ["spec.display_name", "spec.pg_version"]);
        assert_eq!(FieldMask::new(["*"]).unwrap().as_query_value(), "*");
        // no camelCase conversion
        assert_eq!(
            FieldMask::new(vec!["spec.autoscaling_limit_max_cu".to_string()])
                .unwrap()
                .as_query_value(),
            "spec.autoscaling_limit_max_cu"
        );
    }

    #[test]
    fn rejects_bad_masks() {
        assert_eq!(FieldMask::new(Vec::<String>::new()), Err(FieldMaskError::Empty));
        assert_eq!("".parse::<FieldMask>(), Err(FieldMaskError::Empty));
        for bad in ["", "spec. x", " spec", "spec.", ".spec", "spec..x", "a,b", "a\nb"] {
            let e = FieldMask::new([bad]).unwrap_err();
            assert!(
                matches!(e, FieldMaskError::InvalidPath { ref path, .. } if path == bad),
                "{bad:?}"
            );
        }
        for bad in ["a,,b", "a,", ",a", "a, b"] {
            assert!(bad.parse::<FieldMask>().is_err(), "{bad:?}");
        }
        let e = FieldMask::new(["spec display"]).unwrap_err();
        assert!(e.to_string().contains("\"spec display\""));
    }

    #[test]
    fn parse_round_trip() {
        let m: FieldMask = "spec.a,spec.b.c".parse().unwrap();
        assert_eq!(m.paths(), ["spec.a", "spec.b.c"]);
        assert_eq!(m.to_string().parse::<FieldMask>().unwrap(), m);
    }

    #[test]
    fn from_set_fields_leaves() {
        let body = json!({
            "name": "projects/p/branches/b/endpoints/e",
            "endpoint_id": "e",
            "uid": "ep-1", "parent": "projects/p/branches/b",
            "create_time": "2025-01-01T00:00:00Z", "update_time": null,
            "status": {"current_state": "ACTIVE"},
            "spec": {
                "autoscaling_limit_max_cu": 4,
                "disabled": false,
                "settings": {"pg_settings": {"work_mem": "64MB"}},
                "group": {"min": 1, "max": 2},
                "suspend_timeout_duration": null,
                "empty": {},
            }
        });
        let m = FieldMask::from_set_fields(&body, None).unwrap();
        assert_eq!(
            m.paths(),
            [
                "spec.autoscaling_limit_max_cu",
                "spec.disabled",
                "spec.group.max",
                "spec.group.min",
                "spec.settings.pg_settings"
            ]
        );
    }

    #[test]
    fn from_set_fields_arrays_and_filter() {
        let body = json!({
            "spec": {"membership_roles": [], "attributes": {"createdb": true}},
            "initial_endpoint_spec": {"autoscaling_limit_min_cu": 0.5}
        });
        let all = FieldMask::from_set_fields(&body, None).unwrap();
        assert_eq!(
            all.paths(),
            [
                "initial_endpoint_spec.autoscaling_limit_min_cu",
                "spec.attributes.createdb",
                "spec.membership_roles"
            ]
        );
        let spec = FieldMask::from_set_fields(&body, Some("spec")).unwrap();
        assert_eq!(spec.paths(), ["spec.attributes.createdb", "spec.membership_roles"]);
        // "spe" is not a path prefix of "spec.x"
        assert_eq!(
            FieldMask::from_set_fields(&body, Some("spe")),
            Err(FieldMaskError::NothingSet {
                prefix: Some("spe".into())
            })
        );
        let pg = json!({"spec": {"default_endpoint_settings": {"pg_settings": {}}}});
        assert_eq!(
            FieldMask::from_set_fields(&pg, None).unwrap().paths(),
            ["spec.default_endpoint_settings.pg_settings"]
        );
        // top-level scalars (e.g. the snapshot schedule's `schedule`) are leaves too
        let sched = json!({"schedule": {"retention": "3600s"}});
        assert_eq!(
            FieldMask::from_set_fields(&sched, None).unwrap().paths(),
            ["schedule.retention"]
        );
    }

    #[test]
    fn from_set_fields_nothing() {
        for body in [
            json!({}),
            json!(null),
            json!([1, 2]),
            json!({"name": "projects/p", "project_id": "p", "status": {"x": 1}}),
            json!({"spec": {}}),
            json!({"spec": null}),
        ] {
            let e = FieldMask::from_set_fields(&body, None).unwrap_err();
            assert_eq!(e, FieldMaskError::NothingSet { prefix: None }, "{body}");
            assert_eq!(e.to_string(), "no updatable field is set in the resource");
        }
    }

    /// Regression (found by `tests/no_panics.rs`): `{"a.b": 1}` gave the mask `a.b`, naming
    /// field `b` of message `a` instead of refusing the key; keys of string maps stay free.
    #[test]
    fn from_set_fields_refuses_dotted_keys_outside_maps() {
        for (body, path) in [
            (json!({"a._": false}), "a._"),
            (json!({"spec": {"x.y": 1}}), "spec.x.y"),
        ] {
            let e = FieldMask::from_set_fields(&body, None).unwrap_err();
            assert!(
                matches!(&e, FieldMaskError::InvalidPath { path: p, .. } if p == path),
                "{e:?}"
            );
        }
        let settings = json!({"spec": {"settings": {"pg_settings": {"log.min": "1"}}}});
        assert_eq!(
            FieldMask::from_set_fields(&settings, None).unwrap().paths(),
            ["spec.settings.pg_settings"]
        );
    }
}
