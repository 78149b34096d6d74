//! Every request and response body of every cassette decodes into its generated type
//! and re-encodes to semantically equal JSON (omitted stays omitted, explicit `false`/`0`
//! stay). Two mutations per payload are checked as well: an unknown field (ignored on
//! decode, so the output equals the original) and an unknown enum value (kept verbatim).
//!
//! Types: request bodies from `OperationSpec::body`; responses by kind (list pages,
//! `Operation` for long-running calls and their polls, the SDK's return message
//! otherwise), the `response` of a finished operation as the operation's result schema,
//! its `metadata` as the metadata schema, error bodies as
//! `DatabricksServiceExceptionWithDetailsProto`.

use lakebase_conformance::cassette::{self, Cassette};
use lakebase_conformance::jsoncmp;
use lakebase_conformance::sdk_schema::sdk;
use lakebase_generated::types;
use lakebase_generated::{OperationKind, OperationSpec};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Field added by the unknown-field mutation.
const UNKNOWN_FIELD: &str = "zz_field_from_the_future";
/// Value put into enum fields by the unknown-enum mutation.
const UNKNOWN_ENUM: &str = "ZZ_VALUE_FROM_THE_FUTURE";

/// Decodes `value` as `T`, re-encodes it and compares with `expected`.
fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value, expected: &Value) -> Result<(), String> {
    let decoded: T = serde_json::from_value(value.clone()).map_err(|e| format!("does not decode: {e}"))?;
    let encoded = serde_json::to_value(&decoded).map_err(|e| format!("does not encode: {e}"))?;
    let diffs = jsoncmp::diff(expected, &encoded);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; "))
    }
}

/// Maps a schema name to its generated type and runs [`roundtrip`].
macro_rules! by_schema {
    ($($name:ident),* $(,)?) => {
        /// Round-trips `value` as the generated type named `schema`.
        fn roundtrip_as(schema: &str, value: &Value, expected: &Value) -> Result<(), String> {
            match schema {
                $(stringify!($name) => roundtrip::<types::$name>(value, expected),)*
                other => Err(format!("no generated type mapped for schema `{other}`")),
            }
        }
    };
}

by_schema!(
    Branch,
    BranchOperationMetadata,
    Catalog,
    CatalogOperationMetadata,
    CdfConfig,
    CdfConfigOperationMetadata,
    CdfStatus,
    DataApi,
    DataApiOperationMetadata,
    Database,
    DatabaseCredential,
    DatabaseOperationMetadata,
    DatabricksServiceExceptionWithDetailsProto,
    EmptyRequest,
    Endpoint,
    EndpointOperationMetadata,
    GenerateDatabaseCredentialRequest,
    ListBranchesResponse,
    ListCdfConfigsResponse,
    ListCdfStatusesResponse,
    ListDatabasesResponse,
    ListEndpointsResponse,
    ListProjectsResponse,
    ListRolesResponse,
    ListSnapshotsResponse,
    Operation,
    Project,
    ProjectOperationMetadata,
    RevealRolePasswordResponse,
    Role,
    RoleOperationMetadata,
    Snapshot,
    SnapshotOperationMetadata,
    SnapshotSchedule,
    SnapshotScheduleOperationMetadata,
    SyncedTable,
    SyncedTableOperationMetadata,
);

/// Schemas whose JSON is a free-form object (they keep every key): operation metadata
/// and the `{}` body of action calls.
fn is_free_form(schema: &str) -> bool {
    schema.ends_with("OperationMetadata") || schema == "EmptyRequest"
}

/// One payload to check: where it comes from, its schema and JSON.
struct Payload {
    place: String,
    schema: String,
    value: Value,
}

fn payloads(c: &Cassette) -> Result<Vec<Payload>, String> {
    let spec =
        OperationSpec::find(&c.method).ok_or_else(|| format!("{}: no OperationSpec for `{}`", c.id, c.method))?;
    let sdk_method = sdk()
        .methods
        .get(&c.method)
        .ok_or_else(|| format!("{}: the SDK has no `{}`", c.id, c.method))?;
    let mut out = Vec::new();
    for (i, ex) in c.exchanges.iter().enumerate() {
        let is_poll = matches!(spec.kind, OperationKind::LongRunning { .. }) && i > 0 && ex.request.method == "GET";
        if !ex.request.body.is_null() {
            let schema = if is_poll { None } else { spec.body };
            let schema = schema.ok_or_else(|| format!("{} exchange {i}: request body but no body schema", c.id))?;
            out.push(Payload {
                place: format!("exchange {i} request"),
                schema: schema.to_string(),
                value: ex.request.body.clone(),
            });
        }
        let body = &ex.response.body;
        if body.is_null() {
            continue;
        }
        let place = format!("exchange {i} response");
        if !(200..300).contains(&ex.response.status) {
            out.push(Payload {
                place,
                schema: "DatabricksServiceExceptionWithDetailsProto".into(),
                value: body.clone(),
            });
            continue;
        }
        match spec.kind {
            OperationKind::List { page, .. } => out.push(Payload {
                place,
                schema: page.into(),
                value: body.clone(),
            }),
            OperationKind::LongRunning { result, metadata } => {
                out.push(Payload {
                    place: place.clone(),
                    schema: "Operation".into(),
                    value: body.clone(),
                });
                if let Some(m) = body.get("metadata").filter(|m| m.is_object()) {
                    out.push(Payload {
                        place: format!("{place} .metadata"),
                        schema: metadata.into(),
                        value: m.clone(),
                    });
                }
                if let (Some(r), Some(result)) = (body.get("response").filter(|r| r.is_object()), result) {
                    out.push(Payload {
                        place: format!("{place} .response"),
                        schema: result.into(),
                        value: r.clone(),
                    });
                }
            }
            OperationKind::Call => {
                let schema = sdk_method
                    .returns
                    .message
                    .clone()
                    .ok_or_else(|| format!("{}: the SDK return of `{}` has no message", c.id, c.method))?;
                out.push(Payload {
                    place: place.clone(),
                    schema: schema.clone(),
                    value: body.clone(),
                });
                if schema == "Operation" {
                    // get_operation: the Any payloads are free-form; check their schemas too
                    // when the `@type` names one.
                    for key in ["response", "metadata"] {
                        let inner = body.get(key).filter(|v| v.is_object());
                        let name = inner
                            .and_then(|i| i.get("@type"))
                            .and_then(Value::as_str)
                            .and_then(|t| t.rsplit('.').next())
                            .filter(|n| sdk().messages.contains_key(*n));
                        if let (Some(inner), Some(name)) = (inner, name) {
                            out.push(Payload {
                                place: format!("{place} .{key}"),
                                schema: name.into(),
                                value: inner.clone(),
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// What a faithful decode → encode gives for `value`: free-form schemas keep everything;
/// messages drop the protobuf `@type` tag of an Any payload (not a field of the message).
fn expected_output(schema: &str, value: &Value) -> Value {
    match value {
        Value::Object(m) if !is_free_form(schema) && m.contains_key("@type") && schema != "Operation" => {
            let mut m = m.clone();
            m.remove("@type");
            Value::Object(m)
        }
        other => other.clone(),
    }
}

/// Adds [`UNKNOWN_FIELD`] to the top-level object and to every nested message object the
/// SDK schema knows, returning the mutated JSON.
fn with_unknown_fields(schema: &str, value: &Value) -> Value {
    let mut v = value.clone();
    add_unknown(schema, &mut v);
    v
}

fn add_unknown(schema: &str, value: &mut Value) {
    let Value::Object(obj) = value else { return };
    let fields = sdk().messages.get(schema);
    if let Some(fields) = fields {
        for (key, child) in obj.iter_mut() {
            let Some(f) = fields.get(key) else { continue };
            if f.ty != "message" {
                continue;
            }
            let m = f.message.clone().unwrap_or_default();
            match child {
                Value::Array(items) => items.iter_mut().for_each(|i| add_unknown(&m, i)),
                other => add_unknown(&m, other),
            }
        }
    }
    obj.insert(UNKNOWN_FIELD.to_string(), Value::from(1));
}

/// Replaces every enum value the SDK schema locates with [`UNKNOWN_ENUM`]; returns whether
/// anything was replaced.
fn replace_enums(schema: &str, value: &mut Value) -> bool {
    let Value::Object(obj) = value else {
        return false;
    };
    let Some(fields) = sdk().messages.get(schema) else {
        return false;
    };
    let mut changed = false;
    for (key, child) in obj.iter_mut() {
        let Some(f) = fields.get(key) else { continue };
        match f.ty.as_str() {
            "enum" => match child {
                Value::String(s) => {
                    *s = UNKNOWN_ENUM.to_string();
                    changed = true;
                }
                Value::Array(items) => {
                    for i in items.iter_mut().filter(|i| i.is_string()) {
                        *i = Value::from(UNKNOWN_ENUM);
                        changed = true;
                    }
                }
                _ => {}
            },
            "message" => {
                let m = f.message.clone().unwrap_or_default();
                match child {
                    Value::Array(items) => {
                        for i in items.iter_mut() {
                            changed |= replace_enums(&m, i);
                        }
                    }
                    other => changed |= replace_enums(&m, other),
                }
            }
            _ => {}
        }
    }
    changed
}

fn check_payload(p: &Payload) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = expected_output(&p.schema, &p.value);
    if let Err(e) = roundtrip_as(&p.schema, &p.value, &expected) {
        problems.push(format!("{} as {}: {e}", p.place, p.schema));
    }
    if !is_free_form(&p.schema) && p.value.is_object() {
        let mutated = with_unknown_fields(&p.schema, &p.value);
        if let Err(e) = roundtrip_as(&p.schema, &mutated, &expected) {
            problems.push(format!("{} as {} with unknown fields: {e}", p.place, p.schema));
        }
    }
    let mut mutated = p.value.clone();
    if replace_enums(&p.schema, &mut mutated) {
        let expected = expected_output(&p.schema, &mutated);
        if let Err(e) = roundtrip_as(&p.schema, &mutated, &expected) {
            problems.push(format!("{} as {} with unknown enum values: {e}", p.place, p.schema));
        }
    }
    problems
}

#[test]
fn cassette_payloads_round_trip() {
    // Recorded cassettes only: the hand-written regressions carry non-canonical wire
    // forms on purpose (int64 as strings, offsets in timestamps) that re-encode canonically.
    let loaded = cassette::load_dirs(&[cassette::builtin_dir()]);
    assert!(!loaded.is_empty());
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut enum_mutations = 0;
    for l in &loaded {
        let c = match &l.cassette {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("{}: {e}", l.name));
                continue;
            }
        };
        match payloads(c) {
            Err(e) => problems.push(e),
            Ok(ps) => {
                for p in ps {
                    checked += 1;
                    enum_mutations += usize::from(replace_enums(&p.schema, &mut p.value.clone()));
                    problems.extend(check_payload(&p).into_iter().map(|e| format!("{}: {e}", c.id)));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {checked} payloads failed:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked > 200, "only {checked} payloads checked");
    assert!(
        enum_mutations > 10,
        "only {enum_mutations} payloads had enum values to mutate"
    );
}

#[test]
fn mutations_do_what_they_say() {
    let role = serde_json::json!({"spec": {"identity_type": "USER", "membership_roles": ["DATABRICKS_SUPERUSER"]}});
    let mut mutated = role.clone();
    assert!(replace_enums("Role", &mut mutated));
    assert_eq!(
        mutated,
        serde_json::json!({"spec": {"identity_type": UNKNOWN_ENUM, "membership_roles": [UNKNOWN_ENUM]}})
    );
    let with = with_unknown_fields("Role", &role);
    assert_eq!(with["spec"][UNKNOWN_FIELD], 1);
    assert_eq!(with[UNKNOWN_FIELD], 1);
    // The unknown field is dropped, the unknown enum kept.
    roundtrip::<types::Role>(&with, &role).unwrap();
    roundtrip::<types::Role>(&mutated, &mutated).unwrap();
    // Explicit false and 0 stay; omitted stays omitted.
    let explicit = serde_json::json!({"spec": {"attributes": {"createdb": false}}});
    roundtrip::<types::Role>(&explicit, &explicit).unwrap();
    let _unused: Map<String, Value> = Map::new();
}
