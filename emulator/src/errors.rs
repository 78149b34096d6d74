//! Databricks-style API errors: `{"error_code", "message", "details": [...]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const DOMAIN: &str = "postgres.databricks.com";

/// An API error rendered as the Databricks error body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Databricks `error_code`, e.g. `NOT_FOUND`.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `details` entries placed before the trailing `RequestInfo`.
    pub details: Vec<Value>,
    /// `Retry-After` header value in seconds (429 only).
    pub retry_after: Option<u64>,
}

fn trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn error_info(reason: &str, metadata: Value) -> Value {
    json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": DOMAIN, "metadata": metadata})
}

impl ApiError {
    /// A bare error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// 400 `INVALID_PARAMETER_VALUE`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
    }

    /// 400 `MALFORMED_REQUEST` (unparseable body or query).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MALFORMED_REQUEST", message)
    }

    /// 400 `INVALID_STATE`: the resource is not in a state allowing the request.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_STATE", message)
    }

    /// 409 `RESOURCE_CONFLICT`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "RESOURCE_CONFLICT", message)
    }

    /// 400 `BAD_REQUEST`, the service's code for a duplicate role or database and a second
    /// read-write endpoint.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 409 `RESOURCE_CONFLICT` while the endpoints of a branch are reconciling.
    pub fn reconciling() -> Self {
        Self::conflict("Endpoint reconciliation still in progress; retry once status.pending_state has cleared.")
    }

    /// 400 `BAD_REQUEST` refusing to delete a resource its parent manages (a root branch, a
    /// read-write endpoint), with the `ErrorInfo` (reason `RESOURCE_CONFLICT`, metadata
    /// `declarative_context: MANAGED_BY_PARENT`) declarative clients key on to leave the
    /// delete to the parent's cascade.
    pub fn managed_by_parent(message: impl Into<String>) -> Self {
        let mut e = Self::bad_request(message);
        e.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RESOURCE_CONFLICT",
            "domain": "databricks.com",
            "metadata": {"declarative_context": "MANAGED_BY_PARENT"},
        }));
        e
    }

    /// 400 `INVALID_PARAMETER_VALUE` for a required id left out or empty, in the service's
    /// words.
    pub fn required(field: &str) -> Self {
        Self::invalid(format!(
            "Field '{field}' is required, expected non-default value (not \"\")!"
        ))
    }

    /// 404 `NOT_FOUND` for a database's owner role that does not exist, in the service's words.
    pub fn role_not_found(role_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("role not found; role_id:\"{role_id}\" [TraceId: {}]", trace_id()),
        )
    }

    /// 404 `NOT_FOUND` for a resource `kind` (e.g. `Project`) named `name`.
    pub fn not_found(kind: &str, name: &str) -> Self {
        let id = name.rsplit('/').next().unwrap_or(name);
        let mut e = Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{kind} '{name}' does not exist. [TraceId: {}]", trace_id()),
        );
        e.details.push(error_info(
            "RESOURCE_DOES_NOT_EXIST",
            json!({"resource_name": name, "resource_id": id}),
        ));
        e
    }

    /// 409 `ALREADY_EXISTS` for a resource `kind` named `name`, worded as the service words
    /// it (`branch with such id already exists`; projects add `in the workspace`).
    pub fn already_exists(kind: &str, name: &str) -> Self {
        let noun = match kind {
            "SyncedTable" => "synced table".to_string(),
            "DataApi" => "data api".to_string(),
            "CdfConfig" => "cdf config".to_string(),
            other => other.to_lowercase(),
        };
        let scope = if kind == "Project" { " in the workspace" } else { "" };
        let mut e = Self::new(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            format!("{noun} with such id already exists{scope}"),
        );
        e.details
            .push(error_info("RESOURCE_ALREADY_EXISTS", json!({"resource_name": name})));
        e
    }

    /// 400 for an `update_mask` path whose field is absent from the request body.
    pub fn mask_field_missing(path: &str) -> Self {
        let mut e = Self::invalid(format!("Field '{path}' is in update_mask but not provided in request"));
        e.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "field_violations": [{"field": "update_mask", "description": format!("{path} is not set")}]
        }));
        e
    }

    /// 401 `UNAUTHENTICATED`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }

    /// 429 `REQUEST_LIMIT_EXCEEDED` with a `Retry-After` header.
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "REQUEST_LIMIT_EXCEEDED",
            "Too many requests. Please retry after a short delay.",
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 503 `TEMPORARILY_UNAVAILABLE`.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TEMPORARILY_UNAVAILABLE",
            "The service is temporarily unavailable.",
        )
    }

    /// 404 `ENDPOINT_NOT_FOUND` for a path/verb the API does not have.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            format!("No API found for '{method} {path}'"),
        )
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        let mut details = self.details.clone();
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.RequestInfo",
            "request_id": uuid::Uuid::new_v4().to_string(),
            "serving_data": ""
        }));
        json!({"error_code": self.code, "message": self.message, "details": details})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
