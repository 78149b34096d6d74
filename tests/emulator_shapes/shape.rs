//! Shape comparison of a recorded response with the emulator's answer to the same request.
//!
//! Rules (the issue requirement "same fields present, same status codes"):
//! * status: same class for successes, the same code for errors;
//! * errors: the emulator's body has `error_code` and `message`, and the same `error_code`;
//! * successes: every key of the recorded body is present in the emulator's body with a
//!   value of the same kind (object, array, scalar, null). Under `status`, `spec`,
//!   `metadata` and `error` the keys are compared one level deep; `response` (the resource
//!   of a finished operation) is compared like a top-level body; a list is compared by the
//!   keys of its first element (a top-level list element like a top-level body);
//! * every header the recording has (besides `Content-Length`) is present.

use lakebase_conformance::cassette::RecordedResponse;
use serde_json::Value;

/// A response received from the emulator.
#[derive(Debug, Clone)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// JSON body (`null` when empty).
    pub body: Value,
}

/// Keys whose object values are compared one level deep.
const SHALLOW_KEYS: &[&str] = &["status", "spec", "metadata", "error"];
/// Keys whose object values are compared like a top-level body.
const DEEP_KEYS: &[&str] = &["response"];

/// The kind of a JSON value, as far as shape goes.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        _ => "scalar",
    }
}

/// Compares one response; `label` prefixes each difference (e.g. `first response`).
pub fn compare_response(label: &str, rec: &RecordedResponse, got: &Observed, out: &mut Vec<String>) {
    let (recorded_status, recorded_headers, recorded) = (rec.status, &rec.headers, &rec.body);
    let (status, headers, body) = (got.status, &got.headers, &got.body);
    for name in recorded_headers.keys() {
        if !name.eq_ignore_ascii_case("content-length") && !headers.contains_key(name.as_str()) {
            out.push(format!("{label}: missing header {name}"));
        }
    }
    let recorded_ok = (200..300).contains(&recorded_status);
    if recorded_ok {
        if recorded_status / 100 != status / 100 {
            out.push(format!(
                "{label}: status: recorded {recorded_status}, emulator {status} ({})",
                error_code(body).unwrap_or("no error_code")
            ));
            return;
        }
        compare_body(label, recorded, body, out);
        return;
    }
    if recorded_status != status {
        out.push(format!(
            "{label}: status: recorded {recorded_status} ({}), emulator {status} ({})",
            error_code(recorded).unwrap_or("no error_code"),
            error_code(body).unwrap_or("no error_code")
        ));
        return;
    }
    for key in ["error_code", "message"] {
        if !body.get(key).is_some_and(Value::is_string) {
            out.push(format!("{label}: error body: missing $.{key}"));
        }
    }
    if let (Some(r), Some(e)) = (error_code(recorded), error_code(body))
        && r != e
    {
        out.push(format!("{label}: error_code: recorded {r}, emulator {e}"));
    }
}

fn error_code(v: &Value) -> Option<&str> {
    v.get("error_code").and_then(Value::as_str)
}

/// Compares two successful bodies (see the module documentation).
pub fn compare_body(label: &str, recorded: &Value, actual: &Value, out: &mut Vec<String>) {
    if kind(recorded) != kind(actual) {
        out.push(format!(
            "{label}: $: recorded {}, emulator {}",
            kind(recorded),
            kind(actual)
        ));
        return;
    }
    deep(label, "$", recorded, actual, out);
}

fn deep(label: &str, path: &str, recorded: &Value, actual: &Value, out: &mut Vec<String>) {
    let (Some(r), Some(a)) = (recorded.as_object(), actual.as_object()) else {
        return;
    };
    for (k, rv) in r {
        let p = format!("{path}.{k}");
        let Some(av) = a.get(k) else {
            out.push(format!("{label}: missing {p}"));
            continue;
        };
        if kind(rv) != kind(av) {
            out.push(format!("{label}: {p}: recorded {}, emulator {}", kind(rv), kind(av)));
            continue;
        }
        if DEEP_KEYS.contains(&k.as_str()) {
            deep(label, &p, rv, av, out);
        } else if SHALLOW_KEYS.contains(&k.as_str()) {
            shallow(label, &p, rv, av, out);
        } else if let (Some(rl), Some(al)) = (rv.as_array(), av.as_array())
            && let Some(first) = rl.first()
        {
            match al.first() {
                None => out.push(format!(
                    "{label}: {p}: recorded a non-empty list, emulator an empty one"
                )),
                Some(afirst) if kind(first) != kind(afirst) => out.push(format!(
                    "{label}: {p}[0]: recorded {}, emulator {}",
                    kind(first),
                    kind(afirst)
                )),
                Some(afirst) => deep(label, &format!("{p}[0]"), first, afirst, out),
            }
        }
    }
}

/// Keys of `recorded` present in `actual` with the same kind; no further recursion, except
/// that list values are compared by their first element's keys.
fn shallow(label: &str, path: &str, recorded: &Value, actual: &Value, out: &mut Vec<String>) {
    let (Some(r), Some(a)) = (recorded.as_object(), actual.as_object()) else {
        return;
    };
    for (k, rv) in r {
        let p = format!("{path}.{k}");
        match a.get(k) {
            None => out.push(format!("{label}: missing {p}")),
            Some(av) if kind(rv) != kind(av) => {
                out.push(format!("{label}: {p}: recorded {}, emulator {}", kind(rv), kind(av)));
            }
            Some(av) => {
                if let (Some(Value::Object(rf)), Some(al)) = (rv.as_array().and_then(|l| l.first()), av.as_array()) {
                    match al.first() {
                        None => out.push(format!(
                            "{label}: {p}: recorded a non-empty list, emulator an empty one"
                        )),
                        Some(Value::Object(af)) => {
                            for key in rf.keys().filter(|key| !af.contains_key(*key)) {
                                out.push(format!("{label}: missing {p}[0].{key}"));
                            }
                        }
                        Some(other) => out.push(format!("{label}: {p}[0]: recorded object, emulator {}", kind(other))),
                    }
                }
            }
        }
    }
}

/// Checks the comparison rules themselves (run as the `shape_rules/self_test` case).
pub fn self_test() -> Result<(), String> {
    use serde_json::json;
    let diffs = |recorded: Value, actual: Value| {
        let mut out = Vec::new();
        compare_body("r", &recorded, &actual, &mut out);
        out
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            diffs(
                json!({"a": 1, "status": {"x": 1}}),
                json!({"a": 2, "b": 3, "status": {"x": "s", "y": 1}}),
            ),
            vec![],
        ),
        (diffs(json!({"a": 1}), json!({})), vec!["r: missing $.a"]),
        (
            diffs(json!({"status": {"x": 1}}), json!({"status": {}})),
            vec!["r: missing $.status.x"],
        ),
        (
            diffs(json!({"status": {"x": {"deep": 1}}}), json!({"status": {"x": {}}})),
            vec![],
        ),
        (
            diffs(
                json!({"response": {"status": {"o": 1}}}),
                json!({"response": {"status": {}}}),
            ),
            vec!["r: missing $.response.status.o"],
        ),
        (
            diffs(
                json!({"items": [{"n": 1, "spec": {"s": 1}}]}),
                json!({"items": [{"n": 1, "spec": {}}]}),
            ),
            vec!["r: missing $.items[0].spec.s"],
        ),
        (
            diffs(json!({"items": [{"n": 1}]}), json!({"items": []})),
            vec!["r: $.items: recorded a non-empty list, emulator an empty one"],
        ),
        (
            diffs(json!({"status": {"l": [{"k": 1}]}}), json!({"status": {"l": [{}]}})),
            vec!["r: missing $.status.l[0].k"],
        ),
        (
            diffs(json!({"a": {}}), json!({"a": null})),
            vec!["r: $.a: recorded object, emulator null"],
        ),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        if got != want {
            return Err(format!("shape rule case {i}: got {got:?}, want {want:?}"));
        }
    }
    Ok(())
}
