//! Step 3: facts read from the spec, and the rewrites that prepare it for `progenitor`.
//!
//! Each rewrite is a named function from document to document, tested on its own.

use std::collections::BTreeMap;

use openapiv3::{OpenAPI, Operation, ReferenceOr, Response, Schema, SchemaKind, StatusCode, Type};

/// An enum schema: its name, description and wire values in spec order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumFact {
    /// Schema name, e.g. `EndpointType`.
    pub name: String,
    /// The schema's description.
    pub description: String,
    /// Wire values, e.g. `ENDPOINT_TYPE_READ_ONLY`.
    pub values: Vec<String>,
}

/// One property of an object schema, as far as required-field checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFact {
    /// JSON name of the property.
    pub name: String,
    /// Whether the spec lists it under `required`.
    pub required: bool,
    /// The referenced object schema, when the property (or its array items) is one.
    pub message: Option<String>,
    /// Whether the property is an array.
    pub repeated: bool,
}

/// What kind of result an operation has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationKind {
    /// A plain request/response call.
    Call,
    /// A list: `items` is the field holding the page's items, `item` their schema.
    List {
        /// Field of the response holding the items (`projects`, `branches`, ...).
        items: String,
        /// Schema of one item.
        item: String,
        /// Schema of the whole page.
        page: String,
    },
    /// Starts a long-running operation.
    LongRunning {
        /// Schema of the finished operation's `response`; `None` when it carries nothing.
        result: Option<String>,
        /// Schema of the operation's `metadata`.
        metadata: String,
    },
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// A path segment.
    Path,
    /// A query parameter.
    Query,
}

/// The scalar type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `type: string`.
    String,
    /// `type: boolean`.
    Bool,
    /// `type: integer` (32 bits).
    Int32,
    /// Anything else (rejected where it matters).
    Other,
}

/// One parameter of an operation, in spec order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamFact {
    /// Parameter name.
    pub name: String,
    /// Path or query.
    pub location: ParamLocation,
    /// Whether the spec marks it required.
    pub required: bool,
    /// Its scalar type.
    pub ty: ParamType,
    /// The description, for generated docs.
    pub description: String,
    /// `x-lakebase-verbatim`: inserted into the path without escaping.
    pub verbatim: bool,
    /// `x-lakebase-name-type`: the hand-written name type of a verbatim parameter.
    pub name_type: Option<String>,
}

/// One operation of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationFact {
    /// `operationId`, the official SDK's method name.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// First tag: the resource family.
    pub tag: String,
    /// Path parameters inserted without percent-encoding.
    pub verbatim_params: Vec<String>,
    /// Query parameter names.
    pub query_params: Vec<String>,
    /// Name of the request body schema, if any.
    pub body: Option<String>,
    /// Result kind.
    pub kind: OperationKind,
    /// Every path and query parameter, in spec order (the raw client's argument order).
    pub params: Vec<ParamFact>,
    /// The operation's summary.
    pub summary: String,
    /// The operation's description (may be empty).
    pub description: String,
    /// Schema of the 200 response.
    pub success: Option<String>,
}

/// Everything later steps need to know about the spec, read once.
#[derive(Debug, Clone, Default)]
pub struct SpecFacts {
    /// Enum schemas in name order.
    pub enums: Vec<EnumFact>,
    /// Object schemas and their properties, in name order.
    pub objects: BTreeMap<String, Vec<FieldFact>>,
    /// Operations in (path, method) order.
    pub operations: Vec<OperationFact>,
}

impl SpecFacts {
    /// Reads the facts from a (linted) document.
    pub fn collect(document: &OpenAPI) -> Self {
        let mut facts = SpecFacts::default();
        let schemas = document
            .components
            .as_ref()
            .map(|c| c.schemas.clone())
            .unwrap_or_default();
        for (name, schema) in &schemas {
            let ReferenceOr::Item(schema) = schema else { continue };
            match &schema.schema_kind {
                SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty() => {
                    facts.enums.push(EnumFact {
                        name: name.clone(),
                        description: schema.schema_data.description.clone().unwrap_or_default(),
                        values: s.enumeration.iter().flatten().cloned().collect(),
                    });
                }
                SchemaKind::Type(Type::Object(o)) => {
                    let fields = o
                        .properties
                        .iter()
                        .map(|(field, prop)| {
                            let (message, repeated) = message_of(prop, &schemas);
                            FieldFact {
                                name: field.clone(),
                                required: o.required.contains(field),
                                message,
                                repeated,
                            }
                        })
                        .collect();
                    facts.objects.insert(name.clone(), fields);
                }
                _ => {}
            }
        }
        for (path, method, op) in operations(document) {
            facts.operations.push(operation_fact(path, method, op));
        }
        facts
    }
}

/// Iterates `(path, METHOD, operation)` over the document.
pub fn operations(document: &OpenAPI) -> impl Iterator<Item = (&str, String, &Operation)> {
    document.paths.paths.iter().flat_map(|(path, item)| {
        item.as_item()
            .into_iter()
            .flat_map(move |item| item.iter().map(move |(m, op)| (path.as_str(), m.to_uppercase(), op)))
    })
}

fn message_of(
    prop: &ReferenceOr<Box<Schema>>,
    schemas: &indexmap::IndexMap<String, ReferenceOr<Schema>>,
) -> (Option<String>, bool) {
    let is_object = |name: &str| {
        matches!(
            schemas.get(name),
            Some(ReferenceOr::Item(Schema {
                schema_kind: SchemaKind::Type(Type::Object(_)),
                ..
            }))
        )
    };
    let target = |r: &ReferenceOr<Box<Schema>>| -> Option<String> {
        let name = referenced_name(r)?;
        is_object(&name).then_some(name)
    };
    match prop {
        ReferenceOr::Item(s) => match &s.schema_kind {
            SchemaKind::Type(Type::Array(a)) => (a.items.as_ref().and_then(target), true),
            _ => (target(prop), false),
        },
        ReferenceOr::Reference { .. } => (target(prop), false),
    }
}

/// The schema name a property points at, through `$ref` or a single-element `allOf`.
pub fn referenced_name(r: &ReferenceOr<Box<Schema>>) -> Option<String> {
    match r {
        ReferenceOr::Reference { reference } => reference.rsplit('/').next().map(str::to_string),
        ReferenceOr::Item(s) => match &s.schema_kind {
            SchemaKind::AllOf { all_of } if all_of.len() == 1 => match &all_of[0] {
                ReferenceOr::Reference { reference } => reference.rsplit('/').next().map(str::to_string),
                ReferenceOr::Item(_) => None,
            },
            _ => None,
        },
    }
}

fn operation_fact(path: &str, method: String, op: &Operation) -> OperationFact {
    let ext_str = |ext: &serde_json::Value, key: &str| ext.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let kind = if let Some(p) = op.extensions.get("x-lakebase-pagination") {
        OperationKind::List {
            items: ext_str(p, "items").unwrap_or_default(),
            item: ext_str(p, "item-schema").unwrap_or_default(),
            page: success_schema(op).unwrap_or_default(),
        }
    } else if let Some(o) = op.extensions.get("x-lakebase-operation") {
        OperationKind::LongRunning {
            result: ext_str(o, "result-schema"),
            metadata: ext_str(o, "metadata-schema").unwrap_or_default(),
        }
    } else {
        OperationKind::Call
    };
    let mut verbatim_params = Vec::new();
    let mut query_params = Vec::new();
    let mut params = Vec::new();
    for p in &op.parameters {
        let ReferenceOr::Item(p) = p else { continue };
        if let Some(fact) = param_fact(p) {
            params.push(fact);
        }
        match p {
            openapiv3::Parameter::Path { parameter_data, .. }
                if parameter_data.extensions.get("x-lakebase-verbatim") == Some(&serde_json::Value::Bool(true)) =>
            {
                verbatim_params.push(parameter_data.name.clone());
            }
            openapiv3::Parameter::Query { parameter_data, .. } => query_params.push(parameter_data.name.clone()),
            _ => {}
        }
    }
    let body = op.request_body.as_ref().and_then(|b| match b {
        ReferenceOr::Item(b) => b
            .content
            .get("application/json")
            .and_then(|m| m.schema.as_ref())
            .and_then(|s| match s {
                ReferenceOr::Reference { reference } => reference.rsplit('/').next().map(str::to_string),
                ReferenceOr::Item(_) => None,
            }),
        ReferenceOr::Reference { .. } => None,
    });
    OperationFact {
        id: op.operation_id.clone().unwrap_or_default(),
        method,
        path: path.to_string(),
        tag: op.tags.first().cloned().unwrap_or_default(),
        verbatim_params,
        query_params,
        body,
        kind,
        params,
        summary: op.summary.clone().unwrap_or_default(),
        description: op.description.clone().unwrap_or_default(),
        success: success_schema(op),
    }
}

fn param_fact(p: &openapiv3::Parameter) -> Option<ParamFact> {
    let (data, location) = match p {
        openapiv3::Parameter::Path { parameter_data, .. } => (parameter_data, ParamLocation::Path),
        openapiv3::Parameter::Query { parameter_data, .. } => (parameter_data, ParamLocation::Query),
        _ => return None,
    };
    let ty = match &data.format {
        openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(s)) => match &s.schema_kind {
            SchemaKind::Type(Type::String(_)) => ParamType::String,
            SchemaKind::Type(Type::Boolean(_)) => ParamType::Bool,
            SchemaKind::Type(Type::Integer(_)) => ParamType::Int32,
            _ => ParamType::Other,
        },
        _ => ParamType::Other,
    };
    Some(ParamFact {
        name: data.name.clone(),
        location,
        required: data.required,
        ty,
        description: data.description.clone().unwrap_or_default(),
        verbatim: data.extensions.get("x-lakebase-verbatim") == Some(&serde_json::Value::Bool(true)),
        name_type: data
            .extensions
            .get("x-lakebase-name-type")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}

/// The schema name of an operation's 200 response.
pub fn success_schema(op: &Operation) -> Option<String> {
    let ReferenceOr::Item(resp) = op.responses.responses.get(&StatusCode::Code(200))? else {
        return None;
    };
    match resp.content.get("application/json")?.schema.as_ref()? {
        ReferenceOr::Reference { reference } => reference.rsplit('/').next().map(str::to_string),
        ReferenceOr::Item(_) => None,
    }
}

/// Applies every rewrite, in order.
pub fn prepare_for_progenitor(document: OpenAPI) -> OpenAPI {
    let document = relax_required_fields(document);
    let document = id_patterns_checked_by_lakebase(document);
    raw_error_bodies(document)
}

/// The `pattern` of an id parameter is checked by the `lakebase` name types, with its own
/// error; progenitor would otherwise turn the parameter into a constrained newtype.
pub fn id_patterns_checked_by_lakebase(mut document: OpenAPI) -> OpenAPI {
    for item in document.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ]
        .into_iter()
        .flatten()
        {
            for p in &mut op.parameters {
                let ReferenceOr::Item(p) = p else { continue };
                let data = match p {
                    openapiv3::Parameter::Path { parameter_data, .. }
                    | openapiv3::Parameter::Query { parameter_data, .. } => parameter_data,
                    _ => continue,
                };
                if let openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(Schema {
                    schema_kind: SchemaKind::Type(Type::String(s)),
                    ..
                })) = &mut data.format
                {
                    s.pattern = None;
                }
            }
        }
    }
    document
}

/// Every message is also a response message, and the service leaves out fields the spec
/// calls required (GET answers carry `status`, not `spec`). progenitor would turn a
/// required field into a non-optional Rust field and fail a whole response without it,
/// so every field becomes optional here; required fields are checked before a request
/// is sent instead (see [`crate::required`]).
pub fn relax_required_fields(mut document: OpenAPI) -> OpenAPI {
    if let Some(components) = document.components.as_mut() {
        for schema in components.schemas.values_mut() {
            if let ReferenceOr::Item(Schema {
                schema_kind: SchemaKind::Type(Type::Object(o)),
                ..
            }) = schema
            {
                o.required.clear();
            }
        }
    }
    document
}

/// Error bodies are not always JSON (a proxy may answer 502 with HTML). If progenitor
/// decoded them it would drop the status on a parse failure, so error responses are
/// handed over as raw bytes with status and headers, and `lakebase` parses them the
/// way the official SDK does.
pub fn raw_error_bodies(mut document: OpenAPI) -> OpenAPI {
    let raw = Response {
        description: "Any failure; the body is parsed by the `lakebase` crate.".to_string(),
        content: [("application/octet-stream".to_string(), openapiv3::MediaType::default())]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    for item in document.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ]
        .into_iter()
        .flatten()
        {
            for (status, response) in op.responses.responses.iter_mut() {
                let is_error = match status {
                    StatusCode::Code(c) => *c >= 400,
                    StatusCode::Range(r) => *r >= 4,
                };
                if is_error {
                    *response = ReferenceOr::Item(raw.clone());
                }
            }
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> OpenAPI {
        serde_yaml::from_str(yaml).unwrap()
    }

    const SMALL: &str = r##"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /things/{thing_id}:
    get:
      operationId: get_thing
      parameters:
        - {name: thing_id, in: path, required: true, schema: {type: string}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
        4XX: {$ref: '#/components/responses/Error'}
components:
  responses:
    Error: {description: e, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
  schemas:
    Color: {type: string, description: c, enum: [RED, GREEN]}
    Thing:
      type: object
      required: [color]
      properties:
        color: {allOf: [{$ref: '#/components/schemas/Color'}], description: the color}
        parts: {type: array, items: {$ref: '#/components/schemas/Thing'}}
"##;

    #[test]
    fn relax_required_fields_clears_required() {
        let d = relax_required_fields(doc(SMALL));
        let facts = SpecFacts::collect(&d);
        assert!(facts.objects["Thing"].iter().all(|f| !f.required));
        let before = SpecFacts::collect(&doc(SMALL));
        assert!(before.objects["Thing"].iter().any(|f| f.name == "color" && f.required));
    }

    #[test]
    fn raw_error_bodies_replaces_json_error_content() {
        let d = raw_error_bodies(doc(SMALL));
        let (_, _, op) = operations(&d).next().unwrap();
        let ReferenceOr::Item(r) = &op.responses.responses[&StatusCode::Range(4)] else {
            panic!("inlined")
        };
        assert!(r.content.contains_key("application/octet-stream"));
        assert!(!r.content.contains_key("application/json"));
        assert!(op.responses.responses.contains_key(&StatusCode::Code(200)));
    }

    #[test]
    fn collects_enums_objects_and_operations() {
        let facts = SpecFacts::collect(&doc(SMALL));
        assert_eq!(facts.enums[0].values, vec!["RED", "GREEN"]);
        let parts = facts.objects["Thing"].iter().find(|f| f.name == "parts").unwrap();
        assert_eq!((parts.message.as_deref(), parts.repeated), (Some("Thing"), true));
        let color = facts.objects["Thing"].iter().find(|f| f.name == "color").unwrap();
        assert_eq!(color.message, None, "enums are not messages");
        assert_eq!(facts.operations[0].id, "get_thing");
        assert_eq!(facts.operations[0].method, "GET");
    }
}
