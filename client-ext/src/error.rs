//! The crate's error type, [`Error`], and the parser of API error responses.
//!
//! Every fallible call of the crate returns [`Error`]. HTTP failures of the API become
//! [`Error::Api`] holding an [`ApiError`], parsed from the response exactly like the official
//! Databricks SDKs do ([`ApiError::from_response`]): the standard
//! `{"error_code", "message", "details"}` JSON body, legacy `{"error": …}` and SCIM bodies,
//! `ERROR_CODE: message` text and HTML error pages.
//!
//! Callers usually branch on the predicates rather than on variants:
//!
//! ```
//! use lakebase::error::{ApiError, Error, ErrorClass, ErrorCode};
//!
//! let body = br#"{"error_code":"NOT_FOUND","message":"Branch 'projects/p/branches/x' does not exist."}"#;
//! let err = Error::from(ApiError::from_response(404, "Not Found", &http::HeaderMap::new(), body));
//! assert!(err.is_not_found());
//! assert_eq!(err.class(), ErrorClass::NotFound);
//! assert_eq!(err.error_code(), Some(&ErrorCode::NotFound));
//! assert_eq!(err.status(), Some(404));
//! assert!(!err.is_retryable());
//! ```
//!
//! Messages never contain credentials: tokens and secrets are only held as
//! [`Secret`](crate::secret::Secret), and response bodies are not part of any `Display`.

use std::collections::BTreeMap;

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use crate::field_mask::FieldMaskError;
use crate::names::NameError;

/// The result type of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before anything was sent (bad id, empty field mask, …).
    #[error("invalid input: {0}")]
    InvalidInput(InvalidInput),
    /// The API answered with a non-2xx status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A long-running operation finished with an error.
    #[error("operation {operation} failed: {}{message}", match .error_code { Some(c) => format!("[{c}] "), None => String::new() })]
    OperationFailed {
        /// The operation name.
        operation: String,
        /// The error code of the operation's `error`, when set.
        error_code: Option<ErrorCode>,
        /// The error message of the operation's `error`.
        message: String,
        /// The parsed `details` of the operation's `error`.
        details: Vec<ErrorDetail>,
    },
    /// A long-running operation reported `done` with neither `error` nor `response`.
    #[error("operation {operation} completed but no response available")]
    OperationIncomplete {
        /// The operation name.
        operation: String,
    },
    /// A time budget ran out (the retry budget, an operation wait, a call's timeout).
    #[error("timed out after {elapsed:?} waiting for {kind} ({attempts} attempts){}", match .last_error { Some(e) => format!("; last error: {e}"), None => String::new() })]
    Timeout {
        /// Which budget ran out.
        kind: TimeoutKind,
        /// Time spent.
        elapsed: Duration,
        /// Attempts (requests or polls) made.
        attempts: u32,
        /// The last failure seen before giving up.
        last_error: Option<Box<Error>>,
    },
    /// The request could not be sent or the response not received.
    #[error(transparent)]
    Transport(TransportError),
    /// A create whose id the server picks (`create_role`, `create_database`,
    /// `create_cdf_config` without an id) lost its connection after the request was sent:
    /// the server may have applied it, and repeating it could make a second resource, so it
    /// was not repeated. List `collection` to see whether it was created; pass an id to make
    /// such a call safe to repeat.
    #[error(
        "{operation} may have been applied: the connection failed after the request was sent, and the server \
         picks the new resource's id, so the request was not repeated (a repeat could create a second one); \
         list {collection} to check, or pass an id to make the call safe to repeat: {source}"
    )]
    MaybeApplied {
        /// The operation, e.g. `create_role`.
        operation: String,
        /// The collection the resource would be in, e.g. `projects/p/branches/b/roles`.
        collection: String,
        /// The transport failure.
        #[source]
        source: TransportError,
    },
    /// Credentials could not be obtained (OAuth token endpoint failure, …).
    #[error(transparent)]
    Auth(AuthError),
    /// A 2xx response body could not be decoded.
    ///
    /// `Display` omits `body_snippet`: bodies can hold credentials (database tokens, role
    /// passwords); read the field explicitly when debugging.
    #[error("failed to decode {what}: {message}")]
    Decode {
        /// What was being decoded, e.g. `"Branch"`.
        what: String,
        /// The decoder's message.
        message: String,
        /// The first ~512 bytes of the body (lossy UTF-8).
        body_snippet: String,
        /// The decoder's error (a `serde_json::Error`, or a `NameError` for an unusable
        /// operation name), for `source()` chains and downcasting.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A list call went wrong (e.g. the server repeated a page token).
    #[error("pagination error: {0}")]
    Pagination(String),
    /// The client configuration is invalid or incomplete.
    #[error("configuration error: {0}")]
    Config(String),
}

/// Which time budget an [`Error::Timeout`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The retry policy's budget for one call ([`RetryPolicy`](crate::RetryPolicy)).
    RetryBudget,
    /// The polling policy's deadline while waiting for this operation.
    OperationWait {
        /// The operation name.
        operation: String,
    },
    /// The polling deadline while waiting for an endpoint's `pending_state` to clear.
    EndpointSettle,
    /// The `timeout` set on one call's request builder.
    Call,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeoutKind::RetryBudget => f.write_str("retry budget"),
            TimeoutKind::OperationWait { operation } => write!(f, "operation {operation}"),
            TimeoutKind::EndpointSettle => f.write_str("endpoint pending_state to clear"),
            TimeoutKind::Call => f.write_str("the call's timeout"),
        }
    }
}

/// An argument rejected before sending.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
#[non_exhaustive]
pub struct InvalidInput {
    /// The argument or field, e.g. `"branch_id"` or `"update_mask"`.
    pub what: String,
    /// Why it was rejected (includes the offending value).
    pub reason: String,
    /// The typed error behind the rejection, when there is one.
    #[source]
    pub source: Option<InputError>,
}

/// The typed error behind an [`InvalidInput`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A name or id was refused.
    #[error(transparent)]
    Name(NameError),
    /// A field mask was refused.
    #[error(transparent)]
    FieldMask(FieldMaskError),
}

impl InvalidInput {
    /// A new invalid-input description.
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            reason: reason.into(),
            source: None,
        }
    }
}

impl From<NameError> for InvalidInput {
    fn from(e: NameError) -> Self {
        let what = match &e {
            NameError::InvalidId { kind, .. } => kind.as_str().to_owned(),
            _ => "name".to_owned(),
        };
        Self {
            what,
            reason: e.to_string(),
            source: Some(InputError::Name(e)),
        }
    }
}

impl From<FieldMaskError> for InvalidInput {
    fn from(e: FieldMaskError) -> Self {
        Self {
            what: "update_mask".to_owned(),
            reason: e.to_string(),
            source: Some(InputError::FieldMask(e)),
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::InvalidInput(e)
    }
}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        Error::InvalidInput(e.into())
    }
}

impl From<FieldMaskError> for Error {
    fn from(e: FieldMaskError) -> Self {
        Error::InvalidInput(e.into())
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error::Transport(TransportError::from(e))
    }
}

/// Failure to obtain credentials. Carries the server's status and message, never a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed: {message}{}", match .status { Some(s) => format!(" (HTTP {s})"), None => String::new() })]
pub struct AuthError {
    /// What went wrong.
    pub message: String,
    /// HTTP status of the failing auth request, if there was one.
    pub status: Option<u16>,
}

impl AuthError {
    /// An auth error without HTTP status.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: None,
        }
    }
}

/// How a transport failure happened; decides whether it is safe to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established: the request never left.
    Connect,
    /// The request or response timed out (the server may have acted on it).
    Timeout,
    /// Any other I/O or protocol failure while sending or receiving.
    Other,
}

/// A failure below HTTP (connect, TLS, timeout, body read).
#[derive(Debug, thiserror::Error)]
#[error("{} error: {source}", match .kind { TransportErrorKind::Connect => "connect", TransportErrorKind::Timeout => "timeout", TransportErrorKind::Other => "transport" })]
pub struct TransportError {
    /// The kind of failure.
    pub kind: TransportErrorKind,
    /// The underlying error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// Wraps a lower-level error.
    pub fn new(kind: TransportErrorKind, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }
}

impl From<reqwest::Error> for TransportError {
    fn from(e: reqwest::Error) -> Self {
        let kind = if e.is_connect() {
            TransportErrorKind::Connect
        } else if e.is_timeout() {
            TransportErrorKind::Timeout
        } else {
            TransportErrorKind::Other
        };
        // Drop the URL: it is not secret, but keeps messages short and stable.
        Self {
            kind,
            source: Box::new(e.without_url()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ErrorCode
// ---------------------------------------------------------------------------------------------

/// A Databricks error code (`error_code` of an error response): the open enum generated
/// from the spec. Codes this version does not know are kept in `ErrorCode::Unknown` and
/// round-trip unchanged; the code literally named `UNKNOWN` is `ErrorCode::UnknownCode`.
pub use lakebase_generated::enums::ErrorCode;

// ---------------------------------------------------------------------------------------------
// ErrorClass
// ---------------------------------------------------------------------------------------------

/// The broad category of an error, computed like the official SDK's exception mapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// 400, `INVALID_PARAMETER_VALUE`, `INVALID_STATE`.
    BadRequest,
    /// 401.
    Unauthenticated,
    /// 403.
    PermissionDenied,
    /// 404, `RESOURCE_DOES_NOT_EXIST`.
    NotFound,
    /// 409, `ALREADY_EXISTS`, `RESOURCE_ALREADY_EXISTS`, `ABORTED`.
    ResourceConflict,
    /// 429, `REQUEST_LIMIT_EXCEEDED`, `RESOURCE_EXHAUSTED`.
    TooManyRequests,
    /// 499.
    Cancelled,
    /// 500, `UNKNOWN`, `DATA_LOSS`.
    InternalError,
    /// 501.
    NotImplemented,
    /// 503.
    TemporarilyUnavailable,
    /// 504.
    DeadlineExceeded,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// The class of an API error, exactly as the official mapper (`errors/mapper.py`): the error
    /// codes with a class of their own win, then the HTTP status decides.
    ///
    /// Without a status (an operation's `error`), the codes named after a status
    /// (`NOT_FOUND`, `PERMISSION_DENIED`, …) are used instead.
    pub fn of(error_code: Option<&ErrorCode>, status: Option<u16>) -> ErrorClass {
        if let Some(class) = error_code.and_then(class_of_specific_code) {
            return class;
        }
        match status {
            Some(status) => class_of_status(status),
            None => error_code.map_or(ErrorClass::Other, class_of_generic_code),
        }
    }
}

/// `platform.ERROR_CODE_MAPPING` of the official SDK.
fn class_of_specific_code(code: &ErrorCode) -> Option<ErrorClass> {
    Some(match code {
        ErrorCode::InvalidState | ErrorCode::InvalidParameterValue => ErrorClass::BadRequest,
        ErrorCode::ResourceDoesNotExist => ErrorClass::NotFound,
        ErrorCode::Aborted | ErrorCode::AlreadyExists | ErrorCode::ResourceAlreadyExists => {
            ErrorClass::ResourceConflict
        }
        ErrorCode::ResourceExhausted | ErrorCode::RequestLimitExceeded => ErrorClass::TooManyRequests,
        ErrorCode::UnknownCode | ErrorCode::DataLoss => ErrorClass::InternalError,
        _ => return None,
    })
}

/// `platform.STATUS_CODE_MAPPING` of the official SDK.
fn class_of_status(status: u16) -> ErrorClass {
    match status {
        400 => ErrorClass::BadRequest,
        401 => ErrorClass::Unauthenticated,
        403 => ErrorClass::PermissionDenied,
        404 => ErrorClass::NotFound,
        409 => ErrorClass::ResourceConflict,
        429 => ErrorClass::TooManyRequests,
        499 => ErrorClass::Cancelled,
        500 => ErrorClass::InternalError,
        501 => ErrorClass::NotImplemented,
        503 => ErrorClass::TemporarilyUnavailable,
        504 => ErrorClass::DeadlineExceeded,
        _ => ErrorClass::Other,
    }
}

/// Fallback for errors without HTTP status: the code named after a status stands for it.
fn class_of_generic_code(code: &ErrorCode) -> ErrorClass {
    match code {
        ErrorCode::BadRequest | ErrorCode::MalformedRequest => ErrorClass::BadRequest,
        ErrorCode::Unauthenticated => ErrorClass::Unauthenticated,
        ErrorCode::PermissionDenied => ErrorClass::PermissionDenied,
        ErrorCode::NotFound => ErrorClass::NotFound,
        ErrorCode::ResourceConflict => ErrorClass::ResourceConflict,
        ErrorCode::Cancelled => ErrorClass::Cancelled,
        ErrorCode::InternalError => ErrorClass::InternalError,
        ErrorCode::NotImplemented => ErrorClass::NotImplemented,
        ErrorCode::TemporarilyUnavailable | ErrorCode::Unavailable => ErrorClass::TemporarilyUnavailable,
        ErrorCode::DeadlineExceeded => ErrorClass::DeadlineExceeded,
        _ => ErrorClass::Other,
    }
}

/// The code assumed when an error response carries none: the one matching the status.
fn code_for_status(status: u16, reason: &str) -> ErrorCode {
    match status {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::PermissionDenied,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::ResourceConflict,
        429 => ErrorCode::RequestLimitExceeded,
        499 => ErrorCode::Cancelled,
        500 => ErrorCode::InternalError,
        501 => ErrorCode::NotImplemented,
        503 => ErrorCode::TemporarilyUnavailable,
        504 => ErrorCode::DeadlineExceeded,
        // e.g. 502 "Bad Gateway" -> BAD_GATEWAY; never collides with the codes that have a
        // class of their own, so the class stays the status' class.
        _ if !reason.is_empty() => ErrorCode::from(upper_snake(reason)),
        _ => ErrorCode::Unknown(format!("HTTP_{status}")),
    }
}

fn upper_snake(reason: &str) -> String {
    reason.to_uppercase().replace(' ', "_")
}

// ---------------------------------------------------------------------------------------------
// ErrorDetail
// ---------------------------------------------------------------------------------------------

/// One entry of an error's `details` (a `google.rpc` status detail).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// `google.rpc.ErrorInfo`.
    ErrorInfo {
        /// Machine-readable reason, e.g. `RESOURCE_ALREADY_EXISTS`.
        reason: String,
        /// Domain, e.g. `databricks.com`.
        domain: String,
        /// Extra key/values.
        metadata: BTreeMap<String, String>,
    },
    /// `google.rpc.RequestInfo`.
    RequestInfo {
        /// Server request id (quote it to support).
        request_id: String,
        /// Opaque serving data.
        serving_data: String,
    },
    /// `google.rpc.RetryInfo`.
    RetryInfo {
        /// Suggested delay before retrying (`"1.5s"` on the wire).
        retry_delay: Option<Duration>,
    },
    /// `google.rpc.BadRequest`.
    BadRequest {
        /// The offending fields.
        field_violations: Vec<FieldViolation>,
    },
    /// Any other detail (or a known one of unexpected shape), kept as raw JSON.
    Other(Value),
}

/// One field of a `google.rpc.BadRequest` detail.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FieldViolation {
    /// The field path.
    #[serde(default)]
    pub field: String,
    /// What is wrong with it.
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
struct RawErrorInfo {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawRequestInfo {
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    serving_data: String,
}

#[derive(Deserialize)]
struct RawRetryInfo {
    #[serde(default)]
    retry_delay: Option<String>,
}

#[derive(Deserialize)]
struct RawBadRequest {
    #[serde(default)]
    field_violations: Vec<FieldViolation>,
}

impl ErrorDetail {
    /// Parses one detail object, keyed on its `"@type"`
    /// (`type.googleapis.com/google.rpc.<Type>`). Unknown or malformed details are kept raw.
    pub fn from_json(value: &Value) -> ErrorDetail {
        let type_url = value.get("@type").and_then(Value::as_str).unwrap_or_default();
        let short = type_url.rsplit('/').next().unwrap_or_default();
        let parsed = match short {
            "google.rpc.ErrorInfo" => RawErrorInfo::deserialize(value).ok().map(|r| ErrorDetail::ErrorInfo {
                reason: r.reason,
                domain: r.domain,
                metadata: r.metadata,
            }),
            "google.rpc.RequestInfo" => RawRequestInfo::deserialize(value)
                .ok()
                .map(|r| ErrorDetail::RequestInfo {
                    request_id: r.request_id,
                    serving_data: r.serving_data,
                }),
            "google.rpc.RetryInfo" => RawRetryInfo::deserialize(value).ok().and_then(|r| match r.retry_delay {
                None => Some(ErrorDetail::RetryInfo { retry_delay: None }),
                Some(s) => parse_duration(&s).map(|d| ErrorDetail::RetryInfo { retry_delay: Some(d) }),
            }),
            "google.rpc.BadRequest" => RawBadRequest::deserialize(value).ok().map(|r| ErrorDetail::BadRequest {
                field_violations: r.field_violations,
            }),
            _ => None,
        };
        parsed.unwrap_or_else(|| ErrorDetail::Other(value.clone()))
    }

    /// Parses a `details` array; anything but an array gives no details.
    pub fn parse_list(value: Option<&Value>) -> Vec<ErrorDetail> {
        match value {
            Some(Value::Array(items)) => items.iter().map(ErrorDetail::from_json).collect(),
            _ => Vec::new(),
        }
    }
}

/// Parses a protobuf JSON duration (`"1.5s"`, `"300s"`); `None` if malformed or negative.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let secs = s.strip_suffix('s')?;
    if secs.is_empty() || !secs.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Duration::try_from_secs_f64(secs.parse::<f64>().ok()?).ok()
}

/// Parses a `Retry-After` header value: delay in seconds, or an HTTP-date (relative to `now`;
/// a date in the past means "now").
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

// ---------------------------------------------------------------------------------------------
// ApiError
// ---------------------------------------------------------------------------------------------

/// A non-2xx response of the API, parsed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{error_code} (HTTP {status}): {message}{}", match .auth_context {
    Some(context) => format!(". Config: {context}"),
    None => String::new(),
})]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `error_code` of the body; when the body has none, the code matching the status
    /// (`NOT_FOUND` for 404, `TEMPORARILY_UNAVAILABLE` for 503, `BAD_GATEWAY` for 502, …).
    pub error_code: ErrorCode,
    /// The server's message.
    pub message: String,
    /// Parsed `details`.
    pub details: Vec<ErrorDetail>,
    /// Request id from a `RequestInfo` detail or the `x-request-id` header.
    pub request_id: Option<String>,
    /// Server-requested delay before retrying (`Retry-After` header or `RetryInfo` detail).
    pub retry_after: Option<Duration>,
    /// For 401 and 403 only: what the client authenticated as, without secrets
    /// (`host=https://…, auth_type=pat[, workspace_id=…]`), shown after the message the way
    /// the official SDKs add their config summary, so a wrong host or profile is plain to see.
    pub auth_context: Option<String>,
}

/// Bytes of a body quoted in messages about unparseable responses.
const SNIPPET_BYTES: usize = 512;

/// The first ~512 bytes of a body, lossy UTF-8.
pub fn body_snippet(body: &[u8]) -> String {
    let cut = body.len().min(SNIPPET_BYTES);
    let mut s = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > cut {
        s.push('…');
    }
    s
}

struct Parsed {
    message: String,
    error_code: Option<String>,
    details: Vec<ErrorDetail>,
}

fn json_text(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// `_StandardErrorDeserializer`: JSON object bodies (standard, API 1.2 `error`, SCIM).
fn parse_json_body(body: &[u8], status: u16) -> Option<Parsed> {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let mut message = json_text(obj.get("message")).unwrap_or_else(|| "request failed".to_owned());
    let mut error_code = json_text(obj.get("error_code"));
    if let Some(m) = json_text(obj.get("error")) {
        message = m;
    }
    let detail = json_text(obj.get("detail")).filter(|d| !d.is_empty());
    if let Some(mut detail) = detail {
        // SCIM error (RFC 7644 §3.7.3).
        if detail == "null" {
            detail = "SCIM API Internal Error".to_owned();
        }
        let scim_type = json_text(obj.get("scimType")).unwrap_or_default();
        message = format!("{scim_type} {detail}").trim_matches(' ').to_owned();
        let scim_status = json_text(obj.get("status")).unwrap_or_else(|| status.to_string());
        error_code = Some(format!("SCIM_{scim_status}"));
    }
    Some(Parsed {
        message,
        error_code,
        details: ErrorDetail::parse_list(obj.get("details")),
    })
}

/// `_StringErrorDeserializer`: `ERROR_CODE: message` (first line).
fn parse_text_body(body: &[u8]) -> Option<Parsed> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.split('\n').next().unwrap_or_default();
    let (code, message) = line.split_once(": ")?;
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        return None;
    }
    Some(Parsed {
        message: message.trim_end_matches('\r').to_owned(),
        error_code: Some(code.to_owned()),
        details: Vec::new(),
    })
}

/// The text between `open` and the last `close` on the same line, for the first `open` that
/// has one (the semantics of Python's `re.search("<pre>(.*)</pre>")`).
fn html_element(text: &str, open: &str, close: &str) -> Option<String> {
    for line in text.split('\n') {
        let mut from = 0;
        while let Some(i) = line[from..].find(open) {
            let start = from + i + open.len();
            if let Some(j) = line[start..].rfind(close) {
                return Some(line[start..start + j].to_owned());
            }
            from = start;
        }
    }
    None
}

/// `_HtmlErrorDeserializer`: text of `<pre>` or `<title>`, code from the reason phrase.
fn parse_html_body(body: &[u8], reason: &str) -> Option<Parsed> {
    let text = std::str::from_utf8(body).ok()?;
    let inner = html_element(text, "<pre>", "</pre>").or_else(|| html_element(text, "<title>", "</title>"))?;
    let message = if inner.is_empty() { reason.to_owned() } else { inner };
    Some(Parsed {
        message,
        error_code: Some(upper_snake(reason)),
        details: Vec::new(),
    })
}

impl ApiError {
    /// Parses an error response like the official SDK's `errors/parser.py`, trying in order:
    /// empty body (message = the HTTP reason), JSON object (`message`, default
    /// `"request failed"`, overridden by `error`; `error_code`; `details`; SCIM
    /// `detail`/`status`/`scimType`), text `ERROR_CODE: message`, HTML (`<pre>` or `<title>`,
    /// code from the reason phrase, e.g. `BAD_GATEWAY`); anything else gives a message quoting
    /// the start of the body.
    ///
    /// `reason` is the HTTP reason phrase; when empty, the canonical one of `status` is used.
    /// A missing `error_code` is derived from the status (see [`ApiError::error_code`]).
    ///
    /// ```
    /// use lakebase::error::{ApiError, ErrorCode};
    /// let html = b"<html><head><title>502 Bad Gateway</title></head></html>";
    /// let e = ApiError::from_response(502, "Bad Gateway", &http::HeaderMap::new(), html);
    /// assert_eq!(e.message, "502 Bad Gateway");
    /// assert_eq!(e.error_code, ErrorCode::Unknown("BAD_GATEWAY".into()));
    /// ```
    pub fn from_response(status: u16, reason: &str, headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        Self::from_response_at(status, reason, headers, body, SystemTime::now())
    }

    fn from_response_at(
        status: u16,
        reason: &str,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> ApiError {
        let reason = if reason.is_empty() {
            http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or_default()
        } else {
            reason
        };
        let parsed = if body.is_empty() {
            Parsed {
                message: reason.to_owned(),
                error_code: None,
                details: Vec::new(),
            }
        } else {
            parse_json_body(body, status)
                .or_else(|| parse_text_body(body))
                .or_else(|| parse_html_body(body, reason))
                .unwrap_or_else(|| Parsed {
                    message: format!(
                        "unable to parse response (HTTP {status} {reason}): {}",
                        body_snippet(body)
                    ),
                    error_code: None,
                    details: Vec::new(),
                })
        };
        let error_code = match parsed.error_code {
            Some(code) if !code.is_empty() => ErrorCode::from(code),
            _ => code_for_status(status, reason),
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let request_id = parsed
            .details
            .iter()
            .find_map(|d| match d {
                ErrorDetail::RequestInfo { request_id, .. } if !request_id.is_empty() => Some(request_id.clone()),
                _ => None,
            })
            .or_else(|| header("x-request-id").map(str::to_owned));
        let retry_after = header("retry-after")
            .and_then(|v| parse_retry_after(v, now))
            .or_else(|| {
                parsed.details.iter().find_map(|d| match d {
                    ErrorDetail::RetryInfo { retry_delay } => *retry_delay,
                    _ => None,
                })
            });
        ApiError {
            status,
            error_code,
            message: parsed.message,
            details: parsed.details,
            request_id,
            retry_after,
            auth_context: None,
        }
    }

    /// The class of this error (see [`ErrorClass::of`]).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::of(Some(&self.error_code), Some(self.status))
    }

    /// The first `ErrorInfo` detail, if any.
    pub fn error_info(&self) -> Option<&ErrorDetail> {
        self.details.iter().find(|d| matches!(d, ErrorDetail::ErrorInfo { .. }))
    }

    /// Whether retrying may succeed: 429 and 503, or a message of the official SDK's transient
    /// list (see [`crate::retry::is_transient_message`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 429 | 503) || crate::retry::is_transient_message(&self.message)
    }
}

// ---------------------------------------------------------------------------------------------
// Predicates
// ---------------------------------------------------------------------------------------------

impl Error {
    /// The [`ErrorClass`]: computed from the API error (code, then status), from an operation
    /// error's code; [`Error::Auth`] is `Unauthenticated`; everything else is `Other`.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::OperationFailed { error_code, .. } => ErrorClass::of(error_code.as_ref(), None),
            Error::Auth(_) => ErrorClass::Unauthenticated,
            _ => ErrorClass::Other,
        }
    }

    /// HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Auth(e) => e.status,
            _ => None,
        }
    }

    /// Error code of an API error or a failed operation.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(e) => Some(&e.error_code),
            Error::OperationFailed { error_code, .. } => error_code.as_ref(),
            _ => None,
        }
    }

    /// The [`ApiError`], if this is one.
    pub fn as_api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The resource does not exist (404, `RESOURCE_DOES_NOT_EXIST`).
    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    /// The resource already exists: the error code is `ALREADY_EXISTS` or
    /// `RESOURCE_ALREADY_EXISTS`. Other conflicts (`ABORTED`, the 409 an endpoint answers
    /// while it reconciles) are [`is_conflict`](Self::is_conflict) but not this.
    ///
    /// ```
    /// let e = lakebase::Error::from(lakebase::ApiError::from_response(
    ///     409, "Conflict", &Default::default(),
    ///     br#"{"error_code":"ABORTED","message":"reconciliation in progress"}"#,
    /// ));
    /// assert!(e.is_conflict() && !e.is_already_exists());
    /// ```
    pub fn is_already_exists(&self) -> bool {
        matches!(
            self.error_code(),
            Some(ErrorCode::AlreadyExists | ErrorCode::ResourceAlreadyExists)
        )
    }

    /// The request conflicts with the resource's state (the 409 class: `ALREADY_EXISTS`,
    /// `RESOURCE_ALREADY_EXISTS`, `RESOURCE_CONFLICT`, `ABORTED`).
    pub fn is_conflict(&self) -> bool {
        self.class() == ErrorClass::ResourceConflict
    }

    /// A deadline passed: a wait or retry budget ran out ([`Error::Timeout`]), a request
    /// timed out in transport, or the server answered 504 / `DEADLINE_EXCEEDED`.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport(t) | Error::MaybeApplied { source: t, .. } => t.kind == TransportErrorKind::Timeout,
            _ => self.class() == ErrorClass::DeadlineExceeded,
        }
    }

    /// The request did not get an HTTP answer (connect, TLS, timeout, reset): a
    /// [`Error::Transport`], or a [`Error::MaybeApplied`] mutation whose answer was lost.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport(_) | Error::MaybeApplied { .. })
    }

    /// The request id the server gave an API error (a `RequestInfo` detail or the
    /// `x-request-id` header): what Databricks support asks for.
    pub fn request_id(&self) -> Option<&str> {
        self.as_api_error().and_then(|e| e.request_id.as_deref())
    }

    /// How long the server asked the caller to wait before retrying (`Retry-After` or a
    /// `RetryInfo` detail), on an API error.
    pub fn retry_after(&self) -> Option<Duration> {
        self.as_api_error().and_then(|e| e.retry_after)
    }

    /// The caller lacks permission (403).
    pub fn is_permission_denied(&self) -> bool {
        self.class() == ErrorClass::PermissionDenied
    }

    /// Credentials are missing, invalid or could not be obtained (401, [`Error::Auth`]).
    pub fn is_unauthenticated(&self) -> bool {
        self.class() == ErrorClass::Unauthenticated
    }

    /// The request was invalid (400 class) or rejected locally ([`Error::InvalidInput`]).
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Error::InvalidInput(_)) || self.class() == ErrorClass::BadRequest
    }

    /// Whether the failure is transient: 429/503 and the official transient messages, connect
    /// and timeout transport errors. Whether a request may actually be repeated also depends on
    /// its method: see [`crate::retry::classify`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_retryable(),
            Error::Transport(t) => {
                matches!(t.kind, TransportErrorKind::Connect | TransportErrorKind::Timeout)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn parse(status: u16, reason: &str, body: &str) -> ApiError {
        ApiError::from_response(status, reason, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn already_exists_is_only_the_already_exists_codes_and_conflict_is_the_409_class() {
        let e = |status, body: &str| Error::from(parse(status, "x", body));
        let exists = e(409, r#"{"error_code":"ALREADY_EXISTS","message":"m"}"#);
        assert!(exists.is_already_exists() && exists.is_conflict());
        let exists = e(409, r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"m"}"#);
        assert!(exists.is_already_exists() && exists.is_conflict());
        for other in [
            r#"{"error_code":"ABORTED","message":"m"}"#,
            r#"{"error_code":"RESOURCE_CONFLICT","message":"Endpoint is in reconciliation"}"#,
            "",
        ] {
            let conflict = e(409, other);
            assert!(conflict.is_conflict() && !conflict.is_already_exists(), "{other}");
        }
        assert!(!e(404, r#"{"error_code":"NOT_FOUND","message":"m"}"#).is_conflict());
    }

    #[test]
    fn timeout_transport_request_id_and_retry_after_predicates() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("req-7"));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let busy = Error::from(ApiError::from_response(429, "x", &headers, b"{}"));
        assert_eq!(busy.request_id(), Some("req-7"));
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(3)));
        assert!(!busy.is_timeout() && !busy.is_transport());
        assert!(Error::from(parse(504, "x", "")).is_timeout());
        let wait = Error::Timeout {
            kind: TimeoutKind::EndpointSettle,
            elapsed: Duration::from_secs(1),
            attempts: 1,
            last_error: None,
        };
        assert!(wait.is_timeout() && !wait.is_transport() && wait.request_id().is_none());
        let timed_out = Error::from(TransportError::new(TransportErrorKind::Timeout, "slow"));
        assert!(timed_out.is_timeout() && timed_out.is_transport());
        let refused = Error::from(TransportError::new(TransportErrorKind::Connect, "refused"));
        assert!(!refused.is_timeout() && refused.is_transport());
    }

    #[test]
    fn error_code_round_trip() {
        assert_eq!(ErrorCode::from("NOT_FOUND"), ErrorCode::NotFound);
        assert_eq!(ErrorCode::from("UNKNOWN"), ErrorCode::UnknownCode);
        assert_eq!(
            "WORKSPACE_TEMPORARILY_UNAVAILABLE"
                .parse::<ErrorCode>()
                .unwrap()
                .as_str(),
            "WORKSPACE_TEMPORARILY_UNAVAILABLE"
        );
        let novel = ErrorCode::from("SOMETHING_NEW".to_string());
        assert_eq!(novel, ErrorCode::Unknown("SOMETHING_NEW".into()));
        assert_eq!(novel.to_string(), "SOMETHING_NEW");
        let json = serde_json::to_string(&vec![ErrorCode::AlreadyExists, novel.clone()]).unwrap();
        assert_eq!(json, r#"["ALREADY_EXISTS","SOMETHING_NEW"]"#);
        let back: Vec<ErrorCode> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vec![ErrorCode::AlreadyExists, novel]);
        assert_eq!(ErrorCode::from(String::from("DATA_LOSS")), ErrorCode::DataLoss);
    }

    #[test]
    fn standard_json_with_details() {
        let body = r#"{"error_code":"ALREADY_EXISTS","message":"Branch exists.","details":[
            {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RESOURCE_ALREADY_EXISTS","domain":"databricks.com","metadata":{"k":"v"}},
            {"@type":"type.googleapis.com/google.rpc.RequestInfo","request_id":"req-1","serving_data":""},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.5s"},
            {"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"spec.x","description":"bad"}]},
            {"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"raw"},
            {"@type":"type.googleapis.com/google.rpc.ErrorInfo","metadata":{"n":1}},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"soon"}
        ]}"#;
        let e = parse(409, "Conflict", body);
        assert_eq!(e.status, 409);
        assert_eq!(e.error_code, ErrorCode::AlreadyExists);
        assert_eq!(e.message, "Branch exists.");
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        assert_eq!(
            e.details[0],
            ErrorDetail::ErrorInfo {
                reason: "RESOURCE_ALREADY_EXISTS".into(),
                domain: "databricks.com".into(),
                metadata: [("k".to_string(), "v".to_string())].into_iter().collect(),
            }
        );
        assert_eq!(e.error_info(), Some(&e.details[0]));
        assert_eq!(
            e.details[3],
            ErrorDetail::BadRequest {
                field_violations: vec![FieldViolation {
                    field: "spec.x".into(),
                    description: "bad".into()
                }]
            }
        );
        // unknown type and malformed known types are kept raw
        assert!(matches!(&e.details[4], ErrorDetail::Other(v) if v["detail"] == "raw"));
        assert!(matches!(&e.details[5], ErrorDetail::Other(_)));
        assert!(matches!(&e.details[6], ErrorDetail::Other(_)));
        assert_eq!(e.class(), ErrorClass::ResourceConflict);
        assert_eq!(e.to_string(), "ALREADY_EXISTS (HTTP 409): Branch exists.");
    }

    #[test]
    fn json_variants() {
        let e = parse(400, "Bad Request", r#"{"error_code":"INVALID_PARAMETER_VALUE"}"#);
        assert_eq!(e.message, "request failed");
        let e = parse(400, "Bad Request", r#"{"error":"legacy message","message":"m"}"#);
        assert_eq!(e.message, "legacy message");
        assert_eq!(e.error_code, ErrorCode::BadRequest); // derived from the status
        let e = parse(400, "Bad Request", r#"{"message":"m","details":"not-a-list"}"#);
        assert!(e.details.is_empty());
        // SCIM
        let e = parse(
            409,
            "Conflict",
            r#"{"detail":"User exists","status":"409","scimType":"uniqueness"}"#,
        );
        assert_eq!(e.message, "uniqueness User exists");
        assert_eq!(e.error_code, ErrorCode::Unknown("SCIM_409".into()));
        let e = parse(500, "Internal Server Error", r#"{"detail":"null","status":500}"#);
        assert_eq!(e.message, "SCIM API Internal Error");
        assert_eq!(e.error_code.as_str(), "SCIM_500");
        assert_eq!(e.class(), ErrorClass::InternalError);
    }

    #[test]
    fn empty_text_html_unknown() {
        let e = parse(503, "Service Unavailable", "");
        assert_eq!(e.message, "Service Unavailable");
        assert_eq!(e.error_code, ErrorCode::TemporarilyUnavailable);
        let e = parse(404, "", "");
        assert_eq!(e.message, "Not Found");
        assert_eq!(e.error_code, ErrorCode::NotFound);

        let e = parse(400, "Bad Request", "INVALID_STATE: branch is archived\nstack");
        assert_eq!(e.error_code, ErrorCode::InvalidState);
        assert_eq!(e.message, "branch is archived");
        assert_eq!(e.class(), ErrorClass::BadRequest);

        let html =
            "<html><head><title>502 Bad Gateway</title></head><body>\n<pre>upstream connect error</pre></body></html>";
        let e = parse(502, "Bad Gateway", html);
        assert_eq!(e.message, "upstream connect error");
        assert_eq!(e.error_code.as_str(), "BAD_GATEWAY");
        assert_eq!(e.class(), ErrorClass::Other);
        let e = parse(502, "Bad Gateway", "<html><title></title></html>");
        assert_eq!(e.message, "Bad Gateway");
        let e = parse(502, "", "<title>oops</title>");
        assert_eq!(e.error_code.as_str(), "BAD_GATEWAY");

        let e = parse(418, "", "\u{1}garbage that is not json or html");
        assert!(
            e.message
                .starts_with("unable to parse response (HTTP 418 I'm a teapot): "),
            "{}",
            e.message
        );
        assert!(e.message.contains("garbage"));
        assert_eq!(e.error_code.as_str(), "I'M_A_TEAPOT");
        assert_eq!(e.class(), ErrorClass::Other);
        let e = parse(599, "", "[1,2]");
        assert_eq!(e.error_code.as_str(), "HTTP_599");
        let big = "x".repeat(5000);
        let e = parse(500, "Internal Server Error", &format!("<{big}"));
        assert!(e.message.len() < 700);
        let e = ApiError::from_response(500, "Internal Server Error", &HeaderMap::new(), &[0xff, 0xfe, b'a']);
        assert!(e.message.contains('a'));
    }

    #[test]
    fn headers() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("hdr-id"));
        h.insert("retry-after", HeaderValue::from_static("12"));
        let e = ApiError::from_response(429, "Too Many Requests", &h, b"");
        assert_eq!(e.request_id.as_deref(), Some("hdr-id"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(12)));
        assert_eq!(e.error_code, ErrorCode::RequestLimitExceeded);
        assert!(e.is_retryable());

        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        let date = httpdate::fmt_http_date(now + Duration::from_secs(90));
        h.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        let e = ApiError::from_response_at(503, "Service Unavailable", &h, b"", now);
        assert_eq!(e.retry_after, Some(Duration::from_secs(90)));
        assert_eq!(
            parse_retry_after(&httpdate::fmt_http_date(now - Duration::from_secs(5)), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("300s"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("5m"), None);
    }

    #[test]
    fn class_mapping() {
        use ErrorClass as C;
        let cases: &[(Option<&str>, Option<u16>, ErrorClass)] = &[
            (Some("INVALID_STATE"), Some(409), C::BadRequest),
            (Some("INVALID_PARAMETER_VALUE"), Some(400), C::BadRequest),
            (Some("RESOURCE_DOES_NOT_EXIST"), Some(400), C::NotFound),
            (Some("ABORTED"), Some(500), C::ResourceConflict),
            (Some("ALREADY_EXISTS"), Some(400), C::ResourceConflict),
            (Some("RESOURCE_ALREADY_EXISTS"), Some(409), C::ResourceConflict),
            (Some("RESOURCE_EXHAUSTED"), Some(400), C::TooManyRequests),
            (Some("REQUEST_LIMIT_EXCEEDED"), Some(429), C::TooManyRequests),
            (Some("UNKNOWN"), Some(503), C::InternalError),
            (Some("DATA_LOSS"), Some(200), C::InternalError),
            // other codes: the status decides, even if the code says otherwise
            (Some("NOT_FOUND"), Some(400), C::BadRequest),
            (Some("NOT_FOUND"), Some(404), C::NotFound),
            (Some("PERMISSION_DENIED"), Some(403), C::PermissionDenied),
            (Some("RESOURCE_CONFLICT"), Some(409), C::ResourceConflict),
            (None, Some(400), C::BadRequest),
            (None, Some(401), C::Unauthenticated),
            (None, Some(403), C::PermissionDenied),
            (None, Some(404), C::NotFound),
            (None, Some(409), C::ResourceConflict),
            (None, Some(429), C::TooManyRequests),
            (None, Some(499), C::Cancelled),
            (None, Some(500), C::InternalError),
            (None, Some(501), C::NotImplemented),
            (None, Some(502), C::Other),
            (None, Some(503), C::TemporarilyUnavailable),
            (None, Some(504), C::DeadlineExceeded),
            (Some("WHATEVER"), Some(418), C::Other),
            // no status (operation errors): generic codes stand for their status
            (Some("NOT_FOUND"), None, C::NotFound),
            (Some("INTERNAL_ERROR"), None, C::InternalError),
            (Some("WHATEVER"), None, C::Other),
            (None, None, C::Other),
        ];
        for (code, status, expected) in cases {
            let code = code.map(ErrorCode::from);
            assert_eq!(ErrorClass::of(code.as_ref(), *status), *expected, "{code:?} {status:?}");
            // A derived code never changes the class of a status.
            if let (None, Some(s)) = (&code, status) {
                let e = parse(*s, "", "");
                assert_eq!(e.class(), *expected, "derived code for {s}");
            }
        }
    }

    #[test]
    fn predicates_and_display() {
        let e = Error::from(parse(
            404,
            "Not Found",
            r#"{"error_code":"NOT_FOUND","message":"nope"}"#,
        ));
        assert!(e.is_not_found() && !e.is_already_exists() && !e.is_retryable());
        assert_eq!(e.to_string(), "NOT_FOUND (HTTP 404): nope");
        assert_eq!(e.status(), Some(404));
        assert!(e.as_api_error().is_some());
        let e = Error::from(parse(
            409,
            "Conflict",
            r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"x"}"#,
        ));
        assert!(e.is_already_exists());
        assert!(Error::from(parse(403, "", "")).is_permission_denied());
        assert!(Error::from(parse(401, "", "")).is_unauthenticated());
        assert!(Error::from(parse(400, "", "")).is_bad_request());
        assert!(Error::from(parse(503, "", "")).is_retryable());
        assert!(!Error::from(parse(500, "", r#"{"message":"boom"}"#)).is_retryable());
        assert!(Error::from(parse(500, "", r#"{"message":"Unexpected error happened"}"#)).is_retryable());

        let name_err = crate::names::ProjectName::new("Bad").unwrap_err();
        let e = Error::from(name_err);
        assert!(e.is_bad_request());
        assert!(
            e.to_string()
                .starts_with("invalid input: project_id: invalid project_id \"Bad\""),
            "{e}"
        );
        let e = Error::from(crate::field_mask::FieldMaskError::Empty);
        assert!(
            e.to_string()
                .starts_with("invalid input: update_mask: field mask is empty")
        );

        let e = Error::OperationFailed {
            operation: "projects/p/operations/o1".into(),
            error_code: Some(ErrorCode::InternalError),
            message: "Provisioning failed.".into(),
            details: vec![],
        };
        assert_eq!(
            e.to_string(),
            "operation projects/p/operations/o1 failed: [INTERNAL_ERROR] Provisioning failed."
        );
        assert_eq!(e.class(), ErrorClass::InternalError);
        assert_eq!(e.error_code(), Some(&ErrorCode::InternalError));
        let e = Error::OperationIncomplete { operation: "op".into() };
        assert_eq!(e.to_string(), "operation op completed but no response available");

        let inner = Error::from(parse(503, "Service Unavailable", ""));
        let e = Error::Timeout {
            kind: TimeoutKind::RetryBudget,
            elapsed: Duration::from_secs(300),
            attempts: 12,
            last_error: Some(Box::new(inner)),
        };
        assert_eq!(
            e.to_string(),
            "timed out after 300s waiting for retry budget (12 attempts); last error: TEMPORARILY_UNAVAILABLE (HTTP 503): Service Unavailable"
        );
        assert!(!e.is_retryable());
        assert!(std::error::Error::source(&e).is_none()); // last_error is shown inline

        let e = Error::Auth(AuthError {
            message: "token endpoint said no".into(),
            status: Some(401),
        });
        assert!(e.is_unauthenticated());
        assert_eq!(e.status(), Some(401));
        assert_eq!(
            e.to_string(),
            "authentication failed: token endpoint said no (HTTP 401)"
        );

        let e = Error::Decode {
            what: "DatabaseCredential".into(),
            message: "expected string".into(),
            body_snippet: body_snippet(br#"{"token":"secret-token"}"#),
            source: None,
        };
        assert!(!e.to_string().contains("secret-token"));
        assert!(e.to_string().contains("DatabaseCredential"));

        let t = Error::Transport(TransportError::new(TransportErrorKind::Connect, "refused"));
        assert!(t.is_retryable());
        assert_eq!(t.to_string(), "connect error: refused");
        assert!(!Error::Transport(TransportError::new(TransportErrorKind::Other, "x")).is_retryable());
        assert_eq!(Error::Pagination("repeated token".into()).class(), ErrorClass::Other);
        assert_eq!(body_snippet(&[b'a'; 600]).chars().count(), 513);
    }
}
