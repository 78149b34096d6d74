//! Runs one cassette end to end: replay server, client, dispatch, comparison, report.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lakebase::config::MapEnv;
use lakebase::polling::PollingPolicy;
use lakebase::retry::RecordingSleeper;
use lakebase::{Client, Config, Error, ExponentialRetry};
use serde_json::{Map, Value};

use crate::cassette::{Cassette, Expect, ExpectedError};
use crate::compare::compare_requests;
use crate::dispatch::{DispatchError, Outcome, dispatch};
use crate::jsoncmp;
use crate::replay::ReplayServer;
use crate::rules::{self, ExpectedKind, OperationFailure};
use crate::sdk_schema::sdk;

/// The personal access token every cassette was recorded with.
pub const TOKEN: &str = "dapi-conformance-token";

/// The longest a single cassette may run (real time) before it counts as hung.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `config` keys the harness knows how to apply: the SDK `Config` attributes that change what
/// is sent or how long the client keeps trying, mapped onto our `Config`, plus logging-only
/// attributes that change neither requests nor results.
pub const CONFIG_KEYS: &[&str] = &[
    "workspace_id",
    "auth_type",
    "http_timeout_seconds",
    "retry_timeout_seconds",
    "debug_headers",
    "debug_truncate_bytes",
];

/// Runs `cassette` (loaded from `path`, for the report) on a fresh Tokio runtime.
/// `Err` holds a readable report naming the cassette, each differing exchange and field.
pub fn run_cassette(cassette: &Cassette, path: Option<&Path>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a Tokio runtime: {e}"))?;
    let problems = runtime.block_on(check(cassette));
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!("cassette `{}` failed", cassette.id);
    if let Some(p) = path {
        report.push_str(&format!(" ({})", p.display()));
    }
    report.push_str(&format!(": {} difference(s)\n", problems.len()));
    for p in problems {
        report.push_str("  - ");
        report.push_str(&p.replace('\n', "\n    "));
        report.push('\n');
    }
    Err(report)
}

/// Builds the client of a cassette: token, host, `config`, instant sleeps and polls.
pub fn client_for(cassette: &Cassette, base_url: &str) -> Result<Client, String> {
    let unknown: Vec<&String> = cassette
        .config
        .keys()
        .filter(|k| !CONFIG_KEYS.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "config: the harness cannot apply key(s) {unknown:?} (known: {CONFIG_KEYS:?})"
        ));
    }
    let mut builder = Config::builder()
        .host(base_url)
        .token(TOKEN)
        // Nothing from the real environment or ~/.databrickscfg leaks into the run.
        .env(Arc::new(MapEnv::new()))
        .polling_policy(PollingPolicy::immediate());
    match cassette.config.get("workspace_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) => builder = builder.workspace_id(id.clone()),
        Some(Value::Number(n)) => builder = builder.workspace_id(n.to_string()),
        Some(other) => return Err(format!("config.workspace_id: unsupported value {other}")),
    }
    match cassette.config.get("auth_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) => builder = builder.auth_type(kind.clone()),
        Some(other) => return Err(format!("config.auth_type: unsupported value {other}")),
    }
    if let Some(timeout) = seconds(&cassette.config, "http_timeout_seconds")? {
        builder = builder.timeout(timeout);
    }
    if let Some(budget) = seconds(&cassette.config, "retry_timeout_seconds")? {
        builder = builder.retry_policy(Arc::new(ExponentialRetry::default().with_budget(budget)));
    }
    let config = builder
        .build()
        .map_err(|e| format!("client configuration rejected: {e}"))?;
    // Retries and polls sleep through a recorder that returns at once: no real waiting.
    Client::with_sleeper(config, Arc::new(RecordingSleeper::new()))
        .map_err(|e| format!("client construction failed: {e}"))
}

/// A `config` entry in seconds (a JSON number), if present.
fn seconds(config: &Map<String, Value>, key: &str) -> Result<Option<Duration>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .map(Some)
            .ok_or_else(|| format!("config.{key}: expected a number of seconds, got {value}")),
    }
}

/// Everything that differs between the cassette and our run (empty: pass).
pub async fn check(cassette: &Cassette) -> Vec<String> {
    let responses = cassette.exchanges.iter().map(|e| e.response.clone()).collect();
    let server = match ReplayServer::start(responses).await {
        Ok(s) => s,
        Err(e) => return vec![format!("cannot start the replay server: {e}")],
    };
    let client = match client_for(cassette, server.base_url()) {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let call = dispatch(&client, &cassette.method, &cassette.args, cassette.wait);
    let outcome: Result<Outcome, DispatchError> = match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(o) => o,
        Err(_) => {
            let mut out = vec![format!("the call did not finish within {CALL_TIMEOUT:?}")];
            out.extend(compare_requests(&cassette.exchanges, &server.requests()));
            return out;
        }
    };
    drop(client);
    let received = server.requests();
    let mut problems = Vec::new();
    match outcome {
        Err(e) => problems.push(e.to_string()),
        Ok(outcome) => {
            // Rule CLIENT_SIDE_VALIDATION: `received` is every request the replay server got,
            // answered or beyond the script, so "nothing was sent" is checked, not assumed.
            match rules::client_side_validation(cassette, &outcome, received.len()) {
                Some(Ok(())) => return problems,
                Some(Err(why)) => problems.extend(why),
                None => {}
            }
            problems.extend(compare_requests(&cassette.exchanges, &received));
            problems.extend(compare_outcome(cassette, server.base_url(), &outcome));
        }
    }
    problems
}

/// Compares our outcome with `expect`, after the documented rules.
pub fn compare_outcome(cassette: &Cassette, base_url: &str, outcome: &Outcome) -> Vec<String> {
    match (&cassette.expect, outcome) {
        (Expect::Result(expected), Ok(ours)) => compare_result(cassette, expected, ours),
        (Expect::Result(expected), Err(e)) => {
            vec![format!(
                "result: expected {}, got error: {e} ({e:?})",
                jsoncmp::render(expected)
            )]
        }
        (Expect::Error(expected), Ok(ours)) => vec![format!(
            "error: expected {} ({}: {}), got result {}",
            expected.exception,
            expected.error_code.as_deref().unwrap_or("no code"),
            expected.message,
            jsoncmp::render(ours)
        )],
        (Expect::Error(expected), Err(e)) => compare_error(cassette, base_url, expected, e),
    }
}

fn compare_result(cassette: &Cassette, expected: &Value, ours: &Value) -> Vec<String> {
    let rendered = match sdk().result_message(&cassette.method, cassette.wait) {
        // Rule SDK_RESULT_RENDERING.
        Some(message) => rules::render_like_sdk(message, ours),
        None => ours.clone(),
    };
    jsoncmp::diff(expected, &rendered)
        .into_iter()
        .map(|d| {
            format!(
                "result {d} [compared after rule `{}`]",
                rules::SDK_RESULT_RENDERING.name
            )
        })
        .collect()
}

fn compare_error(cassette: &Cassette, base_url: &str, expected: &ExpectedError, ours: &Error) -> Vec<String> {
    let mut out = Vec::new();
    let Some(kind) = rules::class_for_exception(&expected.exception) else {
        return vec![format!(
            "error: the harness has no mapping for Python exception `{}` (bases {:?}); ours was {ours}",
            expected.exception, expected.exception_bases
        )];
    };
    match kind {
        ExpectedKind::Api(class) => {
            if ours.class() != class {
                out.push(format!(
                    "error class: expected {class:?} (Python `{}`, rule `{}`), got {:?}: {ours}",
                    expected.exception,
                    rules::EXCEPTION_CLASS_MAPPING.name,
                    ours.class()
                ));
            }
            if ours.status() != expected.status {
                out.push(format!(
                    "error status: expected {:?}, got {:?}",
                    expected.status,
                    ours.status()
                ));
            }
            let our_code = ours.error_code().map(|c| c.to_string());
            let last_body = cassette
                .exchanges
                .last()
                .map(|e| e.response.body.clone())
                .unwrap_or(Value::Null);
            if !rules::error_code_matches(expected.error_code.as_deref(), our_code.as_deref(), &last_body) {
                out.push(format!(
                    "error_code: expected {:?}, got {:?} (rule `{}`)",
                    expected.error_code,
                    our_code,
                    rules::ERROR_CODE_FROM_STATUS.name
                ));
            }
            let our_message = match ours.as_api_error() {
                Some(api) => api.message.clone(),
                None => ours.to_string(),
            };
            let expected_message = expected.message.replace("{host}", base_url);
            let want = rules::strip_config_summary(expected.status, &expected_message);
            let got = rules::comparable_auth_message(expected.status, &our_message);
            if want != got {
                let rule = if matches!(expected.status, Some(401 | 403)) {
                    format!(" (after rule `{}`)", rules::AUTH_ERROR_CONFIG_SUMMARY.name)
                } else {
                    String::new()
                };
                out.push(format!("error message{rule}: expected {want:?}, got {got:?}"));
            }
            let auth_context = ours.as_api_error().and_then(|api| api.auth_context.as_deref());
            if let Some(problem) = rules::config_summary_mismatch(expected.status, &expected_message, auth_context) {
                out.push(format!("{problem} (rule `{}`)", rules::AUTH_ERROR_CONFIG_SUMMARY.name));
            }
        }
        ExpectedKind::OperationFailure => {
            let rule = rules::OPERATION_FAILURE_MESSAGE.name;
            match (rules::parse_operation_failure(&expected.message), ours) {
                (None, _) => out.push(format!(
                    "error: plain `Exception` with message {:?} is not an operation failure the harness knows (rule `{rule}`); ours: {ours}",
                    expected.message
                )),
                (Some(OperationFailure::NoResponse), Error::OperationIncomplete { .. }) => {}
                (Some(OperationFailure::Failed { code, message }), Error::OperationFailed { error_code, message: m, .. }) => {
                    let ours_code = error_code.as_ref().map(|c| c.to_string());
                    let code_ok = match (&code, &ours_code) {
                        (Some(e), Some(o)) => e == o,
                        (None, None) => true,
                        // The SDK drops codes it does not know; then it prints none.
                        (None, Some(o)) => !sdk().knows_enum_value("ErrorCode", o),
                        (Some(_), None) => false,
                    };
                    if !code_ok {
                        out.push(format!("operation error_code (rule `{rule}`): expected {code:?}, got {ours_code:?}"));
                    }
                    let ours_message = if m.is_empty() { "unknown error" } else { m.as_str() };
                    if message.as_str() != ours_message {
                        out.push(format!("operation error message (rule `{rule}`): expected {message:?}, got {ours_message:?}"));
                    }
                }
                (Some(expected_failure), other) => out.push(format!(
                    "error (rule `{rule}`): expected {expected_failure:?}, got {other} ({other:?})"
                )),
            }
            if expected.status.is_some() || expected.error_code.is_some() {
                out.push(format!(
                    "cassette: a plain `Exception` with status {:?} / error_code {:?} is not expected",
                    expected.status, expected.error_code
                ));
            }
        }
        ExpectedKind::Timeout => {
            if !matches!(ours, Error::Timeout { .. }) {
                out.push(format!(
                    "error: expected a timeout ({}), got {ours} ({ours:?})",
                    expected.message
                ));
            }
        }
    }
    out
}
