//! `cli/src/generated/api.rs`: the table behind `lakebase api <operation>`.
//!
//! One [`ApiOperation`]-shaped entry per operation of the spec, in spec order: the command
//! name (`create-branch`), how its path is built (a full resource name typed by the
//! `lakebase` name type that parses it, then a fixed suffix), the id of a created resource
//! and the name-type constructor that checks it, every query parameter, the body, and the
//! result shape (plain, list, long-running). The CLI turns the table into clap commands and
//! one generic executor, so a new operation in the spec is a new command after
//! `cargo xtask regenerate`, and the table carries no behaviour of its own.
//!
//! [`ApiOperation`]: ../../../cli/src/api.rs

use proc_macro2::TokenStream;
use quote::quote;

use super::{Call, Surface, Target};
use crate::passes::{OperationKind, ParamLocation, ParamType};

/// Where the generated table lives, relative to the workspace root.
pub const CLI_API_PATH: &str = "cli/src/generated/api.rs";

/// The tokens of the CLI's operation table, or the operations it cannot express.
pub fn api_table(surface: &Surface) -> Result<TokenStream, Vec<String>> {
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for c in &surface.calls {
        match entry(surface, c) {
            Ok(tokens) => entries.push(tokens),
            Err(why) => problems.push(format!("{}: {why}", c.op.id)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let base = &surface.base_path;
    Ok(quote! {
        use crate::api::{ApiOperation, Body, CreateId, NameArg, QueryKind, QueryParam, ResultKind};

        /// The path every operation's path starts with.
        pub const BASE_PATH: &str = #base;

        /// One entry per operation of the spec, in spec order.
        pub const OPERATIONS: &[ApiOperation] = &[#(#entries),*];
    })
}

fn entry(surface: &Surface, c: &Call) -> Result<TokenStream, String> {
    let op = &c.op;
    let command = op.id.replace('_', "-");
    let id = &op.id;
    let family = &op.tag;
    let summary = &op.summary;
    let method = &op.method;
    let rel = op
        .path
        .strip_prefix(surface.base_path.as_str())
        .ok_or("path outside the base path")?;
    let (name, suffix) = match &c.target {
        Target::None | Target::TopCollection(_) => (quote!(None), rel.to_string()),
        Target::Verbatim { param, type_name } => {
            let suffix = rel
                .strip_prefix(&format!("/{{{param}}}"))
                .ok_or("verbatim parameter is not the whole path")?;
            (name_arg("NAME", "operation", type_name)?, suffix.to_string())
        }
        Target::Resource(i) => {
            let r = &surface.resources[*i];
            let suffix = rel
                .strip_prefix(&format!("/{}", r.pattern))
                .ok_or("path does not start with its resource's pattern")?;
            (name_arg("NAME", &r.method(), &r.type_name())?, suffix.to_string())
        }
        Target::Collection { parent, .. } => {
            let r = &surface.resources[*parent];
            let suffix = rel
                .strip_prefix(&format!("/{}", r.pattern))
                .ok_or("path does not start with its parent's pattern")?;
            (name_arg("PARENT", &r.method(), &r.type_name())?, suffix.to_string())
        }
    };
    let created = match &c.target {
        Target::TopCollection(child) | Target::Collection { child, .. } => Some(&surface.resources[*child]),
        _ => None,
    };
    let created_id = created.and_then(|r| r.own_id());
    let mut create_id = quote!(None);
    let mut query = Vec::new();
    for p in &op.params {
        if p.location != ParamLocation::Query {
            continue;
        }
        let pname = &p.name;
        let required = p.required;
        if Some(pname.as_str()) == created_id && op.method == "POST" {
            let child = created.ok_or("created id without a created resource")?;
            let ty =
                syn::parse_str::<syn::Path>(&format!("lakebase::{}", child.type_name())).map_err(|e| e.to_string())?;
            let check = match &c.target {
                Target::Collection { parent, .. } => {
                    let parent_ty =
                        syn::parse_str::<syn::Path>(&format!("lakebase::{}", surface.resources[*parent].type_name()))
                            .map_err(|e| e.to_string())?;
                    let method = syn::Ident::new(&child.method(), proc_macro2::Span::call_site());
                    quote!(|parent, id| parent.parse::<#parent_ty>()?.#method(id).map(drop))
                }
                _ => quote!(|_, id| #ty::new(id).map(drop)),
            };
            create_id = quote!(Some(CreateId { param: #pname, required: #required, check: #check }));
            continue;
        }
        let kind = match p.ty {
            ParamType::Bool => quote!(QueryKind::Bool),
            ParamType::Int32 => quote!(QueryKind::Int),
            ParamType::String => quote!(QueryKind::String),
            ParamType::Other => return Err(format!("query parameter {pname} has an unsupported type")),
        };
        let help = first_sentence(&p.description);
        query.push(quote!(QueryParam { name: #pname, kind: #kind, required: #required, help: #help }));
    }
    let body = match &op.body {
        None => quote!(Body::None),
        Some(schema) => {
            let empty = match surface.schemas.get(schema).map(|s| &s.schema_kind) {
                Some(openapiv3::SchemaKind::Type(openapiv3::Type::Object(o))) => o.properties.is_empty(),
                _ => return Err(format!("body schema {schema} is not an object")),
            };
            if empty {
                quote!(Body::Empty)
            } else {
                quote!(Body::Message { schema: #schema })
            }
        }
    };
    let result = match &op.kind {
        OperationKind::Call => quote!(ResultKind::Plain),
        OperationKind::List { items, .. } => quote!(ResultKind::List { items: #items }),
        OperationKind::LongRunning { .. } => quote!(ResultKind::LongRunning),
    };
    Ok(quote! {
        ApiOperation {
            command: #command,
            operation_id: #id,
            family: #family,
            summary: #summary,
            method: #method,
            name: #name,
            suffix: #suffix,
            create_id: #create_id,
            query: &[#(#query),*],
            body: #body,
            result: #result,
        }
    })
}

fn name_arg(value_name: &str, kind: &str, type_name: &str) -> Result<TokenStream, String> {
    let ty = syn::parse_str::<syn::Path>(&format!("lakebase::{type_name}")).map_err(|e| e.to_string())?;
    let kind = kind.replace('_', " ");
    Ok(quote!(Some(NameArg {
        value_name: #value_name,
        kind: #kind,
        parse: |s| s.parse::<#ty>().map(|n| n.to_string()),
    })))
}

/// The first sentence of a description, for a one-line `--help`.
fn first_sentence(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.find(". ") {
        Some(end) => line[..=end].to_string(),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentences() {
        assert_eq!(first_sentence("Page size. At most 100.\nMore."), "Page size.");
        assert_eq!(first_sentence("One line"), "One line");
        assert_eq!(first_sentence(""), "");
    }
}
