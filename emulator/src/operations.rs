//! Long-running operations: naming, completion and rendering.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::pg::effects::{Gate, GateStatus};

const TYPE_PREFIX: &str = "type.googleapis.com/databricks.postgres.v1.";

/// What an operation yields once done.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Create/update: the resource (`kind` is the message name, e.g. `Branch`).
    Resource(&'static str, Value),
    /// Delete/undelete: `google.protobuf.Empty`.
    Empty,
    /// The operation failed.
    Error(&'static str, String),
}

/// A stored operation.
#[derive(Debug, Clone)]
pub struct OpRecord {
    /// Operation name (opaque; may contain `/`, `+`, `=`).
    pub name: String,
    /// Resource kind of the `*OperationMetadata` type.
    pub kind: &'static str,
    /// When the operation reports `done: true`.
    pub done_at: Instant,
    /// Result once done.
    pub outcome: Outcome,
    /// Work on the real databases the operation waits for (`--postgres` mode).
    pub gate: Option<Gate>,
}

/// A fresh operation name under `root`: `root/operations/` + base64 of 16 random bytes
/// (always ends in `==`, often contains `+` or `/`).
pub fn new_name(root: &str) -> String {
    let bytes: [u8; 16] = rand::rng().random();
    format!("{root}/operations/{}", STANDARD.encode(bytes))
}

/// Renders an operation as the wire `Operation` message at `now`.
pub fn render(op: &OpRecord, now: Instant) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(op.name.clone()));
    m.insert(
        "metadata".into(),
        json!({"@type": format!("{TYPE_PREFIX}{}OperationMetadata", op.kind)}),
    );
    let gate = op.gate.as_ref().map_or(GateStatus::Done, Gate::status);
    let done = now >= op.done_at && gate != GateStatus::Pending;
    m.insert("done".into(), Value::Bool(done));
    let failed;
    let outcome = match gate {
        GateStatus::Failed(message) => {
            failed = Outcome::Error("INTERNAL_ERROR", format!("The database change failed: {message}"));
            &failed
        }
        _ => &op.outcome,
    };
    if done {
        match outcome {
            Outcome::Resource(kind, v) => {
                let mut r = Map::new();
                r.insert("@type".into(), Value::String(format!("{TYPE_PREFIX}{kind}")));
                let mut v = v.clone();
                for (path, value) in op.gate.as_ref().map(Gate::learned).unwrap_or_default() {
                    crate::wire::set(&mut v, &path, value);
                }
                if let Some(o) = crate::store::public(v).as_object() {
                    r.extend(o.clone());
                }
                m.insert("response".into(), Value::Object(r));
            }
            Outcome::Empty => {
                m.insert(
                    "response".into(),
                    json!({"@type": "type.googleapis.com/google.protobuf.Empty"}),
                );
            }
            Outcome::Error(code, message) => {
                m.insert(
                    "error".into(),
                    json!({
                        "error_code": code,
                        "message": message,
                        "details": [{
                            "@type": "type.googleapis.com/google.rpc.RequestInfo",
                            "request_id": uuid::Uuid::new_v4().to_string(),
                            "serving_data": ""
                        }]
                    }),
                );
            }
        }
    }
    Value::Object(m)
}
