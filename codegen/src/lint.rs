//! Step 2: reject what the generator cannot represent faithfully.
//!
//! Each rule is a function returning the problems it found, as sentences naming the
//! operation, parameter or schema, so a failing spec edit points at itself.

use openapiv3::{OpenAPI, Parameter, ReferenceOr, Schema, SchemaKind, Type};

use crate::passes::{operations, referenced_name, success_schema};

/// Runs every rule; an empty list means the spec is fine.
pub fn lint(document: &OpenAPI) -> Vec<String> {
    let rules: [fn(&OpenAPI) -> Vec<String>; 7] = [
        openapi_3_0_only,
        operations_are_named_and_tagged,
        no_default_responses,
        path_parameters_are_single_segments,
        lists_name_their_items,
        long_running_operations_name_their_types,
        everything_is_described,
    ];
    rules.iter().flat_map(|rule| rule(document)).collect()
}

/// progenitor reads OpenAPI 3.0 only; 3.1 changes nullability and `$ref` siblings.
pub fn openapi_3_0_only(document: &OpenAPI) -> Vec<String> {
    if document.openapi.starts_with("3.0.") {
        vec![]
    } else {
        vec![format!("openapi version {} is not 3.0.x", document.openapi)]
    }
}

/// Every operation has a unique `operationId` (the SDK method name) and a tag.
pub fn operations_are_named_and_tagged(document: &OpenAPI) -> Vec<String> {
    let mut problems = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for (path, method, op) in operations(document) {
        match &op.operation_id {
            None => problems.push(format!("{method} {path} has no operationId")),
            Some(id) if !seen.insert(id.clone()) => problems.push(format!("operationId {id} is used twice")),
            Some(_) => {}
        }
        if op.tags.is_empty() {
            problems.push(format!("{method} {path} has no tag"));
        }
    }
    problems
}

/// A `default` response next to a `200` of another schema makes progenitor panic, and
/// the API documents no such thing: errors are `4XX`/`5XX`.
pub fn no_default_responses(document: &OpenAPI) -> Vec<String> {
    operations(document)
        .filter(|(_, _, op)| op.responses.default.is_some())
        .map(|(path, method, _)| format!("{method} {path} has a `default` response; use 4XX/5XX"))
        .collect()
}

/// progenitor percent-encodes `/` inside a path parameter. A parameter that may hold a
/// `/` must therefore be marked `x-lakebase-verbatim` (and be the last segment); every
/// other parameter must be a single-segment id named `*_id`.
pub fn path_parameters_are_single_segments(document: &OpenAPI) -> Vec<String> {
    let mut problems = vec![];
    for (path, method, op) in operations(document) {
        for p in &op.parameters {
            let ReferenceOr::Item(Parameter::Path { parameter_data, .. }) = p else {
                continue;
            };
            let name = &parameter_data.name;
            let verbatim = parameter_data.extensions.get("x-lakebase-verbatim") == Some(&serde_json::Value::Bool(true));
            let placeholder = format!("{{{name}}}");
            if !path.contains(&placeholder) {
                problems.push(format!("{method} {path}: path parameter {name} is not in the path"));
            } else if verbatim && !path.ends_with(&format!("/{placeholder}")) {
                problems.push(format!(
                    "{method} {path}: verbatim parameter {name} must be the last segment"
                ));
            } else if !verbatim && !name.ends_with("_id") {
                problems.push(format!(
                    "{method} {path}: path parameter {name} could contain '/', which would be percent-encoded; \
                     use a single-segment `*_id` parameter or mark it x-lakebase-verbatim"
                ));
            } else if !verbatim && !path.contains(&format!("/{placeholder}")) {
                problems.push(format!(
                    "{method} {path}: path parameter {name} must be a whole segment"
                ));
            }
        }
    }
    problems
}

/// `x-lakebase-pagination` names an array field of the 200 schema that holds items of
/// the named schema, and the page has `next_page_token`.
pub fn lists_name_their_items(document: &OpenAPI) -> Vec<String> {
    let mut problems = vec![];
    for (_, _, op) in operations(document) {
        let Some(ext) = op.extensions.get("x-lakebase-pagination") else {
            continue;
        };
        let id = op.operation_id.clone().unwrap_or_default();
        let items = ext.get("items").and_then(|v| v.as_str()).unwrap_or_default();
        let item_schema = ext.get("item-schema").and_then(|v| v.as_str()).unwrap_or_default();
        let Some(page) = success_schema(op).and_then(|s| object(document, &s)) else {
            problems.push(format!("{id}: a list needs a 200 response with an object schema"));
            continue;
        };
        match page.properties.get(items) {
            Some(ReferenceOr::Item(s)) => match &s.schema_kind {
                SchemaKind::Type(Type::Array(a)) => {
                    if a.items.as_ref().and_then(referenced_name).as_deref() != Some(item_schema) {
                        problems.push(format!("{id}: items of `{items}` are not `{item_schema}`"));
                    }
                }
                _ => problems.push(format!("{id}: `{items}` is not an array")),
            },
            _ => problems.push(format!("{id}: the page has no field `{items}`")),
        }
        if !page.properties.contains_key("next_page_token") {
            problems.push(format!("{id}: the page has no next_page_token"));
        }
        let has_token = op.parameters.iter().any(|p| {
            matches!(p, ReferenceOr::Item(Parameter::Query { parameter_data, .. }) if parameter_data.name == "page_token")
        });
        if !has_token {
            problems.push(format!("{id}: a list needs a page_token query parameter"));
        }
    }
    problems
}

/// `x-lakebase-operation` is only on operations answering `Operation`, and names
/// schemas that exist.
pub fn long_running_operations_name_their_types(document: &OpenAPI) -> Vec<String> {
    let mut problems = vec![];
    for (_, _, op) in operations(document) {
        let Some(ext) = op.extensions.get("x-lakebase-operation") else {
            continue;
        };
        let id = op.operation_id.clone().unwrap_or_default();
        if success_schema(op).as_deref() != Some("Operation") {
            problems.push(format!(
                "{id}: x-lakebase-operation on an operation that does not answer Operation"
            ));
        }
        for key in ["result-schema", "metadata-schema"] {
            match ext.get(key) {
                Some(serde_json::Value::String(s)) if object(document, s).is_some() => {}
                Some(serde_json::Value::Null) | None if key == "result-schema" => {}
                other => problems.push(format!("{id}: {key} {other:?} is not an object schema")),
            }
        }
    }
    problems
}

/// Generated docs come from the spec: every operation has a summary, every parameter,
/// schema and property a description.
pub fn everything_is_described(document: &OpenAPI) -> Vec<String> {
    let mut problems = vec![];
    for (path, method, op) in operations(document) {
        if op.summary.as_deref().unwrap_or_default().is_empty() {
            problems.push(format!("{method} {path} has no summary"));
        }
        for p in &op.parameters {
            if let ReferenceOr::Item(p) = p
                && p.parameter_data_ref()
                    .description
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
            {
                problems.push(format!(
                    "{method} {path}: parameter {} has no description",
                    p.parameter_data_ref().name
                ));
            }
        }
    }
    let Some(components) = &document.components else {
        return problems;
    };
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else { continue };
        if schema.schema_data.description.as_deref().unwrap_or_default().is_empty() {
            problems.push(format!("schema {name} has no description"));
        }
        if let SchemaKind::Type(Type::String(s)) = &schema.schema_kind
            && s.enumeration.iter().any(Option::is_none)
        {
            problems.push(format!("enum {name} has a null value"));
        }
        if let SchemaKind::Type(Type::Object(o)) = &schema.schema_kind {
            for (field, prop) in &o.properties {
                let described = match prop {
                    ReferenceOr::Item(s) => !s.schema_data.description.as_deref().unwrap_or_default().is_empty(),
                    ReferenceOr::Reference { .. } => false,
                };
                if !described {
                    problems.push(format!("schema {name}: property {field} has no description"));
                }
            }
        }
    }
    problems
}

fn object<'a>(document: &'a OpenAPI, name: &str) -> Option<&'a openapiv3::ObjectType> {
    match document.components.as_ref()?.schemas.get(name)? {
        ReferenceOr::Item(Schema {
            schema_kind: SchemaKind::Type(Type::Object(o)),
            ..
        }) => Some(o),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> OpenAPI {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn one_op(path: &str, param: &str) -> String {
        format!(
            r##"
openapi: 3.0.3
info: {{title: t, version: '1'}}
paths:
  {path}:
    get:
      operationId: get_it
      summary: s
      tags: [T]
      parameters:
        {param}
      responses:
        '200': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/It'}}}}}}}}
components:
  schemas:
    It: {{type: object, description: d, properties: {{a: {{type: string, description: a}}}}}}
"##
        )
    }

    #[test]
    fn accepts_a_clean_document() {
        let d = doc(&one_op(
            "/x/{x_id}",
            "- {name: x_id, in: path, required: true, description: d, schema: {type: string}}",
        ));
        assert_eq!(lint(&d), Vec::<String>::new());
    }

    #[test]
    fn rejects_a_multi_segment_parameter_unless_verbatim() {
        let d = doc(&one_op(
            "/x/{name}",
            "- {name: name, in: path, required: true, description: d, schema: {type: string}}",
        ));
        let problems = path_parameters_are_single_segments(&d);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("could contain '/'"), "{problems:?}");
        let d = doc(&one_op(
            "/x/{name}",
            "- {name: name, in: path, required: true, description: d, x-lakebase-verbatim: true, schema: {type: string}}",
        ));
        assert!(path_parameters_are_single_segments(&d).is_empty());
    }

    #[test]
    fn verbatim_parameter_must_be_last() {
        let d = doc(&one_op(
            "/x/{name}/y",
            "- {name: name, in: path, required: true, description: d, x-lakebase-verbatim: true, schema: {type: string}}",
        ));
        assert!(path_parameters_are_single_segments(&d)[0].contains("last segment"));
    }

    #[test]
    fn rejects_openapi_3_1() {
        let mut d = doc(&one_op(
            "/x/{x_id}",
            "- {name: x_id, in: path, required: true, description: d, schema: {type: string}}",
        ));
        d.openapi = "3.1.0".into();
        assert_eq!(openapi_3_0_only(&d).len(), 1);
    }

    #[test]
    fn rejects_default_responses() {
        let text = one_op(
            "/x/{x_id}",
            "- {name: x_id, in: path, required: true, description: d, schema: {type: string}}",
        )
        .replace("        '200'", "        default: {description: e}\n        '200'");
        let problems = no_default_responses(&doc(&text));
        assert_eq!(
            problems,
            vec!["GET /x/{x_id} has a `default` response; use 4XX/5XX".to_string()]
        );
    }

    #[test]
    fn rejects_undescribed_parameters_and_properties() {
        let text = one_op(
            "/x/{x_id}",
            "- {name: x_id, in: path, required: true, schema: {type: string}}",
        )
        .replace("a: {type: string, description: a}", "a: {type: string}");
        let problems = everything_is_described(&doc(&text));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn rejects_a_list_naming_a_missing_field() {
        let text = one_op(
            "/x",
            "- {name: page_token, in: query, description: d, schema: {type: string}}\n      x-lakebase-pagination: {items: things, item-schema: It}",
        );
        let problems = lists_name_their_items(&doc(&text));
        assert!(problems.iter().any(|p| p.contains("no field `things`")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("next_page_token")), "{problems:?}");
    }

    #[test]
    fn rejects_operation_extension_on_a_plain_call() {
        let text = one_op(
            "/x/{x_id}",
            "- {name: x_id, in: path, required: true, description: d, schema: {type: string}}",
        )
        .replace(
            "      tags: [T]",
            "      tags: [T]\n      x-lakebase-operation: {result-schema: It, metadata-schema: It}",
        );
        let problems = long_running_operations_name_their_types(&doc(&text));
        assert!(problems[0].contains("does not answer Operation"), "{problems:?}");
    }
}
