//! Documented, deliberate differences between what the Python SDK shows and what our
//! client produces, and how the harness bridges them. Every rule is named, listed in
//! [`RULES`] and applied explicitly by the runner; nothing is skipped silently. The
//! request sequence is always checked in full: no rule touches request comparison.

use lakebase::{Error, ErrorClass};
use serde_json::{Map, Value};

use crate::cassette::{Cassette, Expect};
use crate::dispatch::Outcome;
use crate::sdk_schema::{SdkSchema, sdk};

/// A named deliberate difference, for reports and the summary.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Short name, used in failure messages.
    pub name: &'static str,
    /// Why the difference exists and is accepted.
    pub reason: &'static str,
}

/// [`render_like_sdk`]: results are compared after applying the SDK's rendering.
pub const SDK_RESULT_RENDERING: Rule = Rule {
    name: "sdk-result-rendering",
    reason: "`expect.result` is the value re-rendered by SDK 0.162.0, which drops fields and enum values it does \
             not know and omits empty lists and maps (a message present on the wire stays, even empty: its dataclass is truthy, see \
             `get_snapshot_schedule/basic`); our client keeps unknown enum values \
             (`Unknown(String)`) and may know more fields, so the same rendering is applied to our result JSON \
             before comparing. Free-form objects (`Operation.metadata`/`response`, error `details`) are kept \
             verbatim, as the SDK does.",
};

/// [`strip_config_summary`]: 401/403 messages lose the SDK's config summary.
pub const AUTH_ERROR_CONFIG_SUMMARY: Rule = Rule {
    name: "auth-error-config-summary",
    reason: "For 401 and 403 the SDK rewrites the message as `<message without trailing dots>. Config: host=..., \
             token=***, auth_type=pat` (`Config.wrap_debug_info`); our client keeps the server's message in \
             `ApiError::message`, compared with the part before the summary (trailing dots ignored), and puts its \
             own summary in `ApiError::auth_context`, whose `host` and `auth_type` must equal the SDK's. Other \
             keys (`token=***`) are not compared: we name no credential at all.",
};

/// [`parse_operation_failure`]: failed operations are compared field by field.
pub const OPERATION_FAILURE_MESSAGE: Rule = Rule {
    name: "operation-failure-message",
    reason: "When a waited operation finishes with `error`, the SDK raises a plain `Exception(\"operation failed: \
             [<code>] <message>\")` with no error_code/status; our client returns `Error::OperationFailed` with the \
             code and the message as fields. The harness parses the SDK text and compares code and message; \
             `operation completed but no response available` maps to `Error::OperationIncomplete`.",
};

/// [`error_code_matches`]: a missing `error_code` is derived from the status by our client.
pub const ERROR_CODE_FROM_STATUS: Rule = Rule {
    name: "error-code-from-status",
    reason: "When an error body carries no `error_code`, the SDK reports `error_code: None`, while our client \
             fills in the code matching the HTTP status (`NOT_FOUND` for 404, ...); accepted only when the last \
             response body really has no `error_code`.",
};

/// [`class_for_exception`]: Python exception classes map onto our [`ErrorClass`].
pub const EXCEPTION_CLASS_MAPPING: Rule = Rule {
    name: "exception-class-mapping",
    reason: "The SDK raises one exception class per error code or status (`AlreadyExists` under \
             `ResourceConflict`, `InvalidParameterValue` under `BadRequest`, ...); our client has one `Error` with \
             an `ErrorClass` that stands for the SDK's base class. The expected class is mapped to ours; the \
             error code is compared separately and pins the subclass.",
};

/// [`client_side_validation`]: input our client refuses before sending, which the server refuses with 400.
pub const CLIENT_SIDE_VALIDATION: Rule = Rule {
    name: "client-side-validation",
    reason: "Our client checks input before anything reaches the network: an invalid resource name or id, an \
             empty or malformed update mask, a message missing a field the API requires is refused with a typed \
             `Error::InvalidInput` (the project's standard: a bug in the caller's input is reported where it is \
             made, not as a round trip). The Python SDK checks nothing, sends the request and the server refuses \
             it with 400. Such a cassette is accepted only when all hold: our call returned `Error::InvalidInput` \
             and sent zero requests; the cassette has exactly one exchange; its response status is 400; the \
             expected error is that 400 (status 400, an exception class mapped to `BadRequest`, error_code \
             `INVALID_PARAMETER_VALUE`, `BAD_REQUEST` or absent, the same as in the response body). The request \
             we did not send and the two messages (ours names the argument and the rule, the server words it \
             its own way) are then not compared. Anything else fails; in particular a cassette where the server \
             accepted the request shows our validation refusing input the server accepts.",
};

/// Every rule, in the order they are documented.
pub const RULES: &[Rule] = &[
    SDK_RESULT_RENDERING,
    AUTH_ERROR_CONFIG_SUMMARY,
    OPERATION_FAILURE_MESSAGE,
    ERROR_CODE_FROM_STATUS,
    EXCEPTION_CLASS_MAPPING,
    CLIENT_SIDE_VALIDATION,
];

// ---------------------------------------------------------------------------------------------
// SDK_RESULT_RENDERING
// ---------------------------------------------------------------------------------------------

/// Applies the SDK's rendering ([`SDK_RESULT_RENDERING`]) to our result JSON: for a list,
/// each item; `message` is the SDK message name of the value (or of the items).
pub fn render_like_sdk(message: &str, value: &Value) -> Value {
    let schema = sdk();
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| render_message(schema, message, v)).collect()),
        other => render_message(schema, message, other),
    }
}

fn render_message(schema: &SdkSchema, message: &str, value: &Value) -> Value {
    let (Some(fields), Value::Object(obj)) = (schema.messages.get(message), value) else {
        return value.clone();
    };
    let mut out = Map::new();
    for (key, v) in obj {
        // Fields the SDK does not know are dropped by its `from_dict`.
        let Some(field) = fields.get(key) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let rendered = match (field.ty.as_str(), field.repeated) {
            // A message present on the wire stays, even when empty: the SDK's dataclass is
            // truthy (`get_snapshot_schedule/basic` shows `"daily_schedule": {}` kept).
            ("message", false) => Some(render_message(schema, field.message.as_deref().unwrap_or(""), v)),
            ("message", true) => {
                let items: Vec<Value> = as_items(v)
                    .iter()
                    .map(|i| render_message(schema, field.message.as_deref().unwrap_or(""), i))
                    .collect();
                if items.is_empty() {
                    None
                } else {
                    Some(Value::Array(items))
                }
            }
            ("enum", false) => match v.as_str() {
                Some(s) if schema.knows_enum_value(field.r#enum.as_deref().unwrap_or(""), s) => Some(v.clone()),
                Some(_) => None,
                None => Some(v.clone()),
            },
            ("enum", true) => {
                let e = field.r#enum.as_deref().unwrap_or("");
                let items: Vec<Value> = as_items(v)
                    .into_iter()
                    .filter(|i| i.as_str().is_none_or(|s| schema.knows_enum_value(e, s)))
                    .collect();
                if items.is_empty() {
                    None
                } else {
                    Some(Value::Array(items))
                }
            }
            // Lists, maps and free-form objects are emitted only when non-empty.
            (_, true) | ("map", _) | ("object", _) => {
                if is_empty_container(v) {
                    None
                } else {
                    Some(v.clone())
                }
            }
            _ => Some(v.clone()),
        };
        if let Some(r) = rendered {
            out.insert(key.clone(), r);
        }
    }
    Value::Object(out)
}

fn as_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// AUTH_ERROR_CONFIG_SUMMARY
// ---------------------------------------------------------------------------------------------

/// For a 401/403 expectation, the SDK message without its config summary
/// ([`AUTH_ERROR_CONFIG_SUMMARY`]) and without trailing dots; other messages unchanged.
pub fn strip_config_summary(status: Option<u16>, message: &str) -> String {
    if !matches!(status, Some(401 | 403)) {
        return message.to_string();
    }
    match message
        .rfind(". Config: ")
        .or_else(|| message.starts_with("Config: ").then_some(0))
    {
        Some(at) => message[..at].trim_end_matches('.').to_string(),
        None => message.to_string(),
    }
}

/// For a 401/403 expectation whose message has the SDK's config summary: the summary's `host`
/// and `auth_type` must be those of our `auth_context` ([`AUTH_ERROR_CONFIG_SUMMARY`]).
/// Returns what differs.
pub fn config_summary_mismatch(status: Option<u16>, expected: &str, ours: Option<&str>) -> Option<String> {
    if !matches!(status, Some(401 | 403)) {
        return None;
    }
    let summary = expected.rsplit_once("Config: ")?.1;
    let pairs = |text: &str| -> Vec<(String, String)> {
        text.split(", ")
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| matches!(*k, "host" | "auth_type"))
            .map(|(k, v)| (k.to_string(), v.trim_end_matches('/').to_string()))
            .collect()
    };
    let want = pairs(summary);
    let got = pairs(ours.unwrap_or_default());
    want.iter()
        .any(|pair| !got.contains(pair))
        .then(|| format!("config summary: expected {want:?} as in {summary:?}, got auth_context {ours:?}"))
}

/// Our message in the form [`strip_config_summary`] compares (trailing dots removed for
/// 401/403).
pub fn comparable_auth_message(status: Option<u16>, ours: &str) -> String {
    if matches!(status, Some(401 | 403)) {
        ours.trim_end_matches('.').to_string()
    } else {
        ours.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// OPERATION_FAILURE_MESSAGE
// ---------------------------------------------------------------------------------------------

/// A non-HTTP failure of a waited operation, as the SDK words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationFailure {
    /// `operation failed: [<code>] <message>`; the code is absent when the SDK had none
    /// (or did not know it).
    Failed {
        /// Error code, without any `ErrorCode.` prefix.
        code: Option<String>,
        /// Message (`unknown error` when the operation's error had none).
        message: String,
    },
    /// `operation completed but no response available`.
    NoResponse,
}

/// Parses the SDK's text of a plain `Exception` ([`OPERATION_FAILURE_MESSAGE`]).
pub fn parse_operation_failure(text: &str) -> Option<OperationFailure> {
    if text == "operation completed but no response available" {
        return Some(OperationFailure::NoResponse);
    }
    let rest = text.strip_prefix("operation failed: ")?;
    if let Some(inner) = rest.strip_prefix('[')
        && let Some((code, message)) = inner.split_once("] ")
    {
        let code = code.strip_prefix("ErrorCode.").unwrap_or(code);
        return Some(OperationFailure::Failed {
            code: Some(code.to_string()),
            message: message.to_string(),
        });
    }
    Some(OperationFailure::Failed {
        code: None,
        message: rest.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// ERROR_CODE_FROM_STATUS
// ---------------------------------------------------------------------------------------------

/// Whether our error code matches the expected one ([`ERROR_CODE_FROM_STATUS`]):
/// equal, or expected `null` while the last response body had no `error_code`.
pub fn error_code_matches(expected: Option<&str>, ours: Option<&str>, last_body: &Value) -> bool {
    match (expected, ours) {
        (Some(e), Some(o)) => e == o,
        (None, None) => true,
        (None, Some(_)) => last_body
            .get("error_code")
            .is_none_or(|c| c.is_null() || c.as_str() == Some("")),
        (Some(_), None) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// EXCEPTION_CLASS_MAPPING
// ---------------------------------------------------------------------------------------------

/// What the expected Python exception means for our error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedKind {
    /// An API error of this class.
    Api(ErrorClass),
    /// A plain `Exception`: an operation failure (see [`parse_operation_failure`]).
    OperationFailure,
    /// `TimeoutError`: a budget ran out.
    Timeout,
}

/// Maps a Python exception class ([`EXCEPTION_CLASS_MAPPING`]); `None` for a class the
/// harness does not know (a failure).
pub fn class_for_exception(exception: &str) -> Option<ExpectedKind> {
    use ErrorClass::*;
    Some(ExpectedKind::Api(match exception {
        "BadRequest" | "InvalidParameterValue" | "InvalidState" => BadRequest,
        "Unauthenticated" => Unauthenticated,
        "PermissionDenied" | "PrivateLinkValidationError" => PermissionDenied,
        "NotFound" | "ResourceDoesNotExist" => NotFound,
        "ResourceConflict" | "AlreadyExists" | "ResourceAlreadyExists" | "Aborted" => ResourceConflict,
        "TooManyRequests" | "RequestLimitExceeded" | "ResourceExhausted" => TooManyRequests,
        "Cancelled" => Cancelled,
        "InternalError" | "Unknown" | "DataLoss" => InternalError,
        "NotImplemented" => NotImplemented,
        "TemporarilyUnavailable" => TemporarilyUnavailable,
        "DeadlineExceeded" => DeadlineExceeded,
        "DatabricksError" => Other,
        "Exception" => return Some(ExpectedKind::OperationFailure),
        "TimeoutError" => return Some(ExpectedKind::Timeout),
        _ => return None,
    }))
}

// ---------------------------------------------------------------------------------------------
// CLIENT_SIDE_VALIDATION
// ---------------------------------------------------------------------------------------------

/// The error codes a server refusal of invalid input may carry ([`CLIENT_SIDE_VALIDATION`]);
/// an absent code is accepted too.
pub const VALIDATION_ERROR_CODES: &[&str] = &["INVALID_PARAMETER_VALUE", "BAD_REQUEST"];

/// Applies [`CLIENT_SIDE_VALIDATION`] to our `outcome` of `cassette`, after our client sent
/// `requests_sent` requests. `None` when the rule does not concern the outcome (it is not
/// `Error::InvalidInput`); `Some(Ok(()))` when the cassette is accepted under the rule (then
/// requests and outcome are not compared further); `Some(Err(problems))` when our client
/// refused the input but a condition of the rule fails, each problem naming the rule.
pub fn client_side_validation(
    cassette: &Cassette,
    outcome: &Outcome,
    requests_sent: usize,
) -> Option<Result<(), Vec<String>>> {
    let Err(Error::InvalidInput(ours)) = outcome else {
        return None;
    };
    let rule = CLIENT_SIDE_VALIDATION.name;
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(format!("{what} (rule `{rule}` does not apply)"));
    if requests_sent != 0 {
        fail(format!(
            "our client refused the input ({ours}) after sending {requests_sent} request(s); refusing input must \
             happen before anything is sent"
        ));
    }
    let accepted_by_server = cassette
        .exchanges
        .iter()
        .find(|e| (200..300).contains(&e.response.status))
        .map(|e| e.response.status);
    match (&cassette.expect, accepted_by_server) {
        (Expect::Result(_), _) | (_, Some(_)) => fail(format!(
            "our client refused input the server accepted (recorded status(es) {:?}, the SDK call {}): our \
             validation is wrong; ours: {ours}",
            cassette.exchanges.iter().map(|e| e.response.status).collect::<Vec<_>>(),
            if matches!(cassette.expect, Expect::Result(_)) {
                "succeeded"
            } else {
                "failed later"
            }
        )),
        _ => {}
    }
    if cassette.exchanges.len() != 1 {
        fail(format!(
            "the cassette has {} exchanges, the rule accepts exactly one request refused by the server",
            cassette.exchanges.len()
        ));
    }
    let only = (cassette.exchanges.len() == 1).then(|| &cassette.exchanges[0].response);
    if let Some(response) = only
        && response.status != 400
    {
        fail(format!("the recorded response has status {}, not 400", response.status));
    }
    if let Expect::Error(expected) = &cassette.expect {
        if expected.status != Some(400) {
            fail(format!("the expected error has status {:?}, not 400", expected.status));
        }
        if class_for_exception(&expected.exception) != Some(ExpectedKind::Api(ErrorClass::BadRequest)) {
            fail(format!(
                "the expected exception `{}` is not a `BadRequest` (rule `{}`)",
                expected.exception, EXCEPTION_CLASS_MAPPING.name
            ));
        }
        match expected.error_code.as_deref() {
            None => {}
            Some(code) if VALIDATION_ERROR_CODES.contains(&code) => {}
            Some(code) => fail(format!(
                "the expected error_code {code} is not one of {VALIDATION_ERROR_CODES:?} or absent"
            )),
        }
        if let Some(response) = only {
            let body_code = response.body.get("error_code").and_then(Value::as_str);
            if body_code.filter(|c| !c.is_empty()) != expected.error_code.as_deref() {
                fail(format!(
                    "the expected error_code {:?} is not the response body's {body_code:?}",
                    expected.error_code
                ));
            }
        }
    }
    Some(if problems.is_empty() { Ok(()) } else { Err(problems) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rendering_drops_unknown_fields_enums_and_empties() {
        let ours = json!({
            "name": "projects/p/branches/b/endpoints/e",
            "brand_new_field": 1,
            "spec": {"endpoint_type": "ENDPOINT_TYPE_UNSPECIFIED", "settings": {"pg_settings": {}}},
            "status": {"current_state": "ACTIVE", "hosts": {}},
        });
        let got = render_like_sdk("Endpoint", &ours);
        assert_eq!(
            got,
            json!({"name": "projects/p/branches/b/endpoints/e", "spec": {"settings": {}}, "status": {"current_state": "ACTIVE", "hosts": {}}})
        );
    }

    #[test]
    fn rendering_filters_repeated_enums_and_keeps_free_form_objects() {
        let role = json!({"spec": {"membership_roles": ["DATABRICKS_SUPERUSER", "MEMBERSHIP_ROLE_UNSPECIFIED"]}});
        assert_eq!(
            render_like_sdk("Role", &role),
            json!({"spec": {"membership_roles": ["DATABRICKS_SUPERUSER"]}})
        );
        let role = json!({"spec": {"membership_roles": ["MEMBERSHIP_ROLE_UNSPECIFIED"]}});
        assert_eq!(render_like_sdk("Role", &role), json!({"spec": {}}));
        let op = json!({"name": "o", "metadata": {"@type": "t", "x": {}}, "response": {}, "error": {"details": [{}]}});
        assert_eq!(
            render_like_sdk("Operation", &op),
            json!({"name": "o", "metadata": {"@type": "t", "x": {}}, "error": {"details": [{}]}})
        );
    }

    #[test]
    fn config_summary_is_stripped() {
        let m = "User lacks MANAGE. Config: host={host}, token=***, auth_type=pat";
        assert_eq!(strip_config_summary(Some(403), m), "User lacks MANAGE");
        assert_eq!(
            comparable_auth_message(Some(403), "User lacks MANAGE."),
            "User lacks MANAGE"
        );
        assert_eq!(strip_config_summary(Some(404), m), m);
    }

    #[test]
    fn operation_failures_parse() {
        assert_eq!(
            parse_operation_failure("operation failed: [ErrorCode.INTERNAL_ERROR] Provisioning failed."),
            Some(OperationFailure::Failed {
                code: Some("INTERNAL_ERROR".into()),
                message: "Provisioning failed.".into()
            })
        );
        assert_eq!(
            parse_operation_failure("operation failed: unknown error"),
            Some(OperationFailure::Failed {
                code: None,
                message: "unknown error".into()
            })
        );
        assert_eq!(
            parse_operation_failure("operation completed but no response available"),
            Some(OperationFailure::NoResponse)
        );
        assert_eq!(parse_operation_failure("boom"), None);
    }

    #[test]
    fn error_codes() {
        assert!(error_code_matches(Some("NOT_FOUND"), Some("NOT_FOUND"), &json!({})));
        assert!(error_code_matches(None, Some("NOT_FOUND"), &json!({"message": "x"})));
        assert!(!error_code_matches(
            None,
            Some("NOT_FOUND"),
            &json!({"error_code": "NOT_FOUND"})
        ));
        assert!(!error_code_matches(Some("A"), Some("B"), &json!({})));
    }

    #[test]
    fn classes() {
        assert_eq!(
            class_for_exception("AlreadyExists"),
            Some(ExpectedKind::Api(ErrorClass::ResourceConflict))
        );
        assert_eq!(class_for_exception("Exception"), Some(ExpectedKind::OperationFailure));
        assert_eq!(class_for_exception("KeyError"), None);
    }

    fn refused_cassette(status: u16) -> Cassette {
        crate::cassette::parse(
            &json!({
                "id": "create_project/x", "method": "create_project",
                "args": {"project_id": "Bad_Id", "project": {}},
                "exchanges": [{
                    "request": {"method": "POST", "path": "/api/2.0/postgres/projects"},
                    "response": {"status": status, "body": {"error_code": "INVALID_PARAMETER_VALUE", "message": "m"}}
                }],
                "expect": {"error": {"exception": "InvalidParameterValue", "error_code": "INVALID_PARAMETER_VALUE",
                                     "message": "m", "status": 400}}
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn client_side_validation_conditions() {
        let refused: Outcome = Err(Error::InvalidInput(lakebase::InvalidInput::new("project_id", "bad")));
        let c = refused_cassette(400);
        assert_eq!(client_side_validation(&c, &refused, 0), Some(Ok(())));
        // Only our `InvalidInput` concerns the rule.
        assert_eq!(client_side_validation(&c, &Ok(json!({})), 0), None);
        // Something was sent: the refusal did not happen before the network.
        let Some(Err(why)) = client_side_validation(&c, &refused, 1) else {
            panic!("must fail")
        };
        assert!(why.iter().any(|w| w.contains("after sending 1 request(s)")), "{why:?}");
        assert!(why.iter().all(|w| w.contains("`client-side-validation`")), "{why:?}");
        // The body's code must be the expected one.
        let mut c = refused_cassette(400);
        c.exchanges[0].response.body = json!({"error_code": "BAD_REQUEST", "message": "m"});
        assert!(matches!(client_side_validation(&c, &refused, 0), Some(Err(_))));
        // No code on either side is fine.
        let mut c = refused_cassette(400);
        c.exchanges[0].response.body = json!({"message": "m"});
        if let Expect::Error(e) = &mut c.expect {
            e.error_code = None;
            e.exception = "BadRequest".into();
        }
        assert_eq!(client_side_validation(&c, &refused, 0), Some(Ok(())));
    }
}
