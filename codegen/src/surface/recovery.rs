//! `client-ext/src/generated/mutations.rs`: what each operation changes, so `lakebase`
//! knows how to recover when a mutating request may have been applied but its answer was
//! lost (`client-ext/src/recovery.rs` holds the rules; this file only the facts).
//!
//! Every fact comes from the spec:
//!
//! * a `POST` that starts a long-running operation (`x-lakebase-operation`) on a collection
//!   creates the collection's resource: its id comes from the query parameter named after
//!   the resource's own id placeholder (`branch_id` for `projects/{project_id}/branches/{branch_id}`),
//!   required or optional as the spec says; a singleton (`.../data-api`) is created on its own
//!   path, so its name is the request path;
//! * a `POST` that starts an operation on a resource's path plus a verb (`.../undelete`) is
//!   an undelete of that resource (the only such verb the API has; any other verb fails the
//!   generation, so a new one gets a rule before it ships);
//! * a `POST` without an operation has no lasting effect on a resource (a credential, a
//!   password read);
//! * `PATCH` with a required `update_mask` is a masked update; `DELETE` is a delete;
//! * `GET` changes nothing and is left out.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Call, Surface, Target};
use crate::passes::{OperationKind, ParamLocation};

/// The verb of the one custom method the rules know.
const UNDELETE: &str = "/undelete";

/// The tokens of `mutations.rs`, or the operations no rule covers.
pub fn mutation_table(surface: &Surface) -> Result<TokenStream, Vec<String>> {
    let mut problems = Vec::new();
    let mut arms = Vec::new();
    for c in &surface.calls {
        match mutation(surface, c) {
            Ok(Some(kind)) => {
                let id = &c.op.id;
                arms.push(quote!(#id => Some(#kind),));
            }
            Ok(None) => {}
            Err(why) => problems.push(format!("{}: {why}", c.op.id)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let base = &surface.base_path;
    Ok(quote! {
        use crate::recovery::{CreatedId, Mutation};

        /// The path prefix in front of every resource name in a URL.
        pub(crate) const API_BASE_PATH: &str = #base;

        /// What the operation `operation_id` changes; `None` for reads.
        pub(crate) fn mutation(operation_id: &str) -> Option<Mutation> {
            match operation_id {
                #(#arms)*
                _ => None,
            }
        }
    })
}

fn mutation(surface: &Surface, c: &Call) -> Result<Option<TokenStream>, String> {
    let op = &c.op;
    let long_running = matches!(op.kind, OperationKind::LongRunning { .. });
    Ok(Some(match op.method.as_str() {
        "GET" => return Ok(None),
        "DELETE" => quote!(Mutation::Delete),
        "PATCH" if op.params.iter().any(|p| p.name == "update_mask" && p.required) => quote!(Mutation::MaskedUpdate),
        "POST" if !long_running => quote!(Mutation::NoLastingEffect),
        "POST" => match &c.target {
            Target::TopCollection(child) | Target::Collection { child, .. } => {
                let created = &surface.resources[*child];
                match created.own_id() {
                    None => quote!(Mutation::Create(CreatedId::RequestPath)),
                    Some(id) => {
                        let param = op
                            .params
                            .iter()
                            .find(|p| p.location == ParamLocation::Query && p.name == id)
                            .ok_or_else(|| format!("creates a {} without a `{id}` query parameter", created.schema))?;
                        if param.required {
                            quote!(Mutation::Create(CreatedId::Required(#id)))
                        } else {
                            quote!(Mutation::Create(CreatedId::Optional(#id)))
                        }
                    }
                }
            }
            Target::Resource(i) => {
                let pattern = &surface.resources[*i].pattern;
                let suffix = op
                    .path
                    .strip_prefix(&surface.base_path)
                    .and_then(|p| p.strip_prefix('/'))
                    .and_then(|p| p.strip_prefix(pattern.as_str()));
                if suffix != Some(UNDELETE) {
                    return Err(format!(
                        "{} {}: no recovery rule for this custom method (only {UNDELETE} has one)",
                        op.method, op.path
                    ));
                }
                quote!(Mutation::Undelete { suffix: #UNDELETE })
            }
            _ => return Err(format!("{} {}: no recovery rule for this POST", op.method, op.path)),
        },
        other => return Err(format!("{other} {}: no recovery rule for this method", op.path)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::SpecFacts;

    fn table(spec: &str) -> Result<String, Vec<String>> {
        let document: openapiv3::OpenAPI = serde_yaml::from_str(spec).unwrap();
        let facts = SpecFacts::collect(&document);
        let surface = Surface::read(&document, &facts).unwrap();
        mutation_table(&surface).map(|t| t.to_string())
    }

    #[test]
    fn each_kind_is_read_from_the_spec() {
        let code = table(include_str!("../../../spec/postgres.openapi.yaml")).unwrap();
        for arm in [
            r#""create_project" => Some (Mutation :: Create (CreatedId :: Required ("project_id")))"#,
            r#""create_role" => Some (Mutation :: Create (CreatedId :: Optional ("role_id")))"#,
            r#""create_data_api" => Some (Mutation :: Create (CreatedId :: RequestPath))"#,
            r#""delete_branch" => Some (Mutation :: Delete)"#,
            r#""update_endpoint" => Some (Mutation :: MaskedUpdate)"#,
            r#""undelete_branch" => Some (Mutation :: Undelete { suffix : "/undelete" })"#,
            r#""generate_database_credential" => Some (Mutation :: NoLastingEffect)"#,
        ] {
            assert!(code.contains(arm), "no {arm} in {code}");
        }
        assert!(!code.contains("\"get_project\""), "{code}");
    }

    #[test]
    fn a_custom_method_without_a_rule_fails_the_generation() {
        let spec = r##"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /api/things/{thing_id}:
    get:
      operationId: get_thing
      summary: Get a thing.
      tags: [Things]
      parameters:
      - {name: thing_id, in: path, required: true, description: d, schema: {type: string, pattern: '^[a-z]+$'}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
  /api/things/{thing_id}/restart:
    post:
      operationId: restart_thing
      summary: Restart a thing.
      tags: [Things]
      x-lakebase-operation: {metadata: ThingOperationMetadata}
      parameters:
      - {name: thing_id, in: path, required: true, description: d, schema: {type: string, pattern: '^[a-z]+$'}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Operation'}}}}
components:
  schemas:
    Thing:
      type: object
      description: A thing.
      properties:
        name: {type: string, description: n, x-lakebase-name-pattern: 'things/{thing_id}'}
    ThingOperationMetadata: {type: object, description: m}
    Operation: {type: object, description: o, properties: {name: {type: string, description: n}}}
"##;
        let problems = table(spec).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("restart_thing: POST /api/things/{thing_id}/restart: no recovery rule"),
            "{problems:?}"
        );
    }
}
