//! Semantic JSON equality with a readable list of differences.
//!
//! Objects are compared key by key (order is free), arrays element by element, numbers by
//! value (`4 == 4.0`), everything else exactly. An omitted key, `null`, `[]`, `{}` and
//! `false` are all different from each other.

use std::fmt;

use serde_json::{Map, Value};

/// One place where two JSON documents differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// JSONPath of the differing value, e.g. `$.spec.display_name` or `$.items[2]`.
    pub path: String,
    /// What was expected there, rendered as JSON; `None` when the key must be absent.
    pub expected: Option<String>,
    /// What was found there, rendered as JSON; `None` when the key is absent.
    pub actual: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "nothing (key omitted)".to_string());
        write!(
            f,
            "{}: expected {}, got {}",
            self.path,
            show(&self.expected),
            show(&self.actual)
        )
    }
}

/// Compares `actual` against `expected` and lists every difference (empty when equal).
pub fn diff(expected: &Value, actual: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_at("$", expected, actual, &mut out);
    out
}

/// Whether two JSON values are semantically equal (see the module documentation).
pub fn equal(expected: &Value, actual: &Value) -> bool {
    diff(expected, actual).is_empty()
}

/// Renders a value compactly for a report, cut at 200 characters.
pub fn render(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(197).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// The JSONPath of `key` inside the object at `path`.
pub fn child_path(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if simple {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_string()))
    }
}

fn diff_at(path: &str, expected: &Value, actual: &Value, out: &mut Vec<Difference>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => diff_objects(path, e, a, out),
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a.iter()).enumerate() {
                diff_at(&format!("{path}[{i}]"), ev, av, out);
            }
            if e.len() != a.len() {
                out.push(Difference {
                    path: format!("{path}.length"),
                    expected: Some(e.len().to_string()),
                    actual: Some(a.len().to_string()),
                });
                for (i, ev) in e.iter().enumerate().skip(a.len()) {
                    out.push(Difference {
                        path: format!("{path}[{i}]"),
                        expected: Some(render(ev)),
                        actual: None,
                    });
                }
                for (i, av) in a.iter().enumerate().skip(e.len()) {
                    out.push(Difference {
                        path: format!("{path}[{i}]"),
                        expected: None,
                        actual: Some(render(av)),
                    });
                }
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            if !numbers_equal(e, a) {
                out.push(Difference {
                    path: path.to_string(),
                    expected: Some(e.to_string()),
                    actual: Some(a.to_string()),
                });
            }
        }
        _ => {
            if expected != actual {
                out.push(Difference {
                    path: path.to_string(),
                    expected: Some(render(expected)),
                    actual: Some(render(actual)),
                });
            }
        }
    }
}

fn diff_objects(path: &str, expected: &Map<String, Value>, actual: &Map<String, Value>, out: &mut Vec<Difference>) {
    let mut keys: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let child = child_path(path, key);
        match (expected.get(key), actual.get(key)) {
            (Some(e), Some(a)) => diff_at(&child, e, a, out),
            (Some(e), None) => out.push(Difference {
                path: child,
                expected: Some(render(e)),
                actual: None,
            }),
            (None, Some(a)) => out.push(Difference {
                path: child,
                expected: None,
                actual: Some(render(a)),
            }),
            (None, None) => {}
        }
    }
}

/// Numbers are equal by value: integers exactly, otherwise as `f64`.
fn numbers_equal(e: &serde_json::Number, a: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (e.as_i64(), a.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (e.as_u64(), a.as_u64()) {
        return x == y;
    }
    match (e.as_f64(), a.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_ignoring_key_order_and_number_form() {
        assert!(equal(
            &json!({"a": 4, "b": [1, 2.5]}),
            &json!({"b": [1.0, 2.5], "a": 4.0})
        ));
        assert!(equal(&json!(8796093022208i64), &json!(8796093022208.0)));
    }

    #[test]
    fn omitted_null_empty_and_false_differ() {
        let variants = [
            json!({}),
            json!({"x": null}),
            json!({"x": []}),
            json!({"x": false}),
            json!({"x": {}}),
            json!({"x": 0}),
        ];
        for (i, a) in variants.iter().enumerate() {
            for (j, b) in variants.iter().enumerate() {
                assert_eq!(equal(a, b), i == j, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn reports_paths() {
        let d = diff(
            &json!({"spec": {"display_name": "a"}}),
            &json!({"spec": {"display_name": "b"}}),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].to_string(), r#"$.spec.display_name: expected "a", got "b""#);

        let d = diff(&json!({"a": 1}), &json!({"b": 1}));
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "$.a: expected 1, got nothing (key omitted)",
                "$.b: expected nothing (key omitted), got 1"
            ]
        );

        let d = diff(&json!({"@type": "x"}), &json!({}));
        assert_eq!(d[0].path, r#"$["@type"]"#);
    }

    #[test]
    fn arrays_report_index_and_length() {
        let d = diff(&json!([1, 2, 3]), &json!([1, 5]));
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "$[1]: expected 2, got 5",
                "$.length: expected 3, got 2",
                "$[2]: expected 3, got nothing (key omitted)"
            ]
        );
    }

    #[test]
    fn type_mismatch_is_a_difference() {
        assert!(!equal(&json!("4"), &json!(4)));
        assert!(!equal(&json!(1), &json!(true)));
        assert!(!equal(&json!(1.5), &json!(1)));
    }
}
