//! Step 5: edits of progenitor's syntax tree where it has no setting.
//!
//! * [`drop_api_version_header`]: progenitor sends `api-version: <info.version>` on every
//!   request; the Postgres API has no such header and the official SDK never sends it.
//! * [`insert_verbatim_params`]: progenitor percent-encodes every path parameter
//!   (`/` becomes `%2F`). A parameter marked `x-lakebase-verbatim` (the operation name
//!   of `get_operation`) is inserted byte for byte, as the official SDK does.
//! * [`own_path_encoding`]: the other path parameters are encoded by the generated crate's
//!   `encode_path`, which quotes like the official SDKs' HTTP stack (progenitor's own leaves
//!   `|`, `^` and `\` as they are, which the official SDKs encode).
//! * [`fast_timestamps`]: optional `date-time` fields are read by the generated crate's
//!   `timestamp` module (the service's shape directly, anything else by chrono).
//! * [`own_response_decoding`]: 2xx bodies are decoded by the generated crate's
//!   `decode_response`, which checks UTF-8 once per body instead of once per string.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit_mut::VisitMut;

use crate::passes::SpecFacts;

/// Applies every edit.
pub fn apply(file: &mut syn::File, facts: &SpecFacts) {
    drop_api_version_header(file);
    own_path_encoding(file);
    own_response_decoding(file);
    fast_timestamps(file);
    for op in &facts.operations {
        if !op.verbatim_params.is_empty() {
            insert_verbatim_params(file, &op.id, &op.verbatim_params);
        }
    }
}

/// Removes the `api-version` header from every generated method.
pub fn drop_api_version_header(file: &mut syn::File) {
    struct Dropper;
    impl VisitMut for Dropper {
        fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
            let before = f.block.stmts.len();
            f.block
                .stmts
                .retain(|stmt| !stmt.to_token_stream().to_string().contains("\"api-version\""));
            if f.block.stmts.len() != before && !f.block.to_token_stream().to_string().contains("header_map . append") {
                for stmt in &mut f.block.stmts {
                    if let syn::Stmt::Local(local) = stmt
                        && let syn::Pat::Ident(pat) = &mut local.pat
                        && pat.ident == "header_map"
                    {
                        pat.mutability = None;
                    }
                }
            }
            syn::visit_mut::visit_impl_item_fn_mut(self, f);
        }
    }
    Dropper.visit_file_mut(file);
}

/// Takes `encode_path` from `crate::encode_path` instead of `progenitor_client`: removes it
/// from the `use progenitor_client::{..}` list and imports ours.
pub fn own_path_encoding(file: &mut syn::File) {
    let mut at = None;
    for (index, item) in file.items.iter_mut().enumerate() {
        if let syn::Item::Use(item) = item
            && let syn::UseTree::Path(path) = &mut item.tree
            && path.ident == "progenitor_client"
            && let syn::UseTree::Group(group) = path.tree.as_mut()
        {
            let before = group.items.len();
            group.items = std::mem::take(&mut group.items)
                .into_iter()
                .filter(|tree| !matches!(tree, syn::UseTree::Name(name) if name.ident == "encode_path"))
                .collect();
            if group.items.len() != before {
                at = Some(index + 1);
            }
        }
    }
    if let Some(index) = at {
        file.items.insert(
            index,
            syn::parse_quote! {
                use crate::encode_path;
            },
        );
    }
}

/// Reads every optional `DateTime<Utc>` field through the generated crate's
/// `timestamp::deserialize_option` (chrono's parser stays the fallback).
pub fn fast_timestamps(file: &mut syn::File) {
    struct Fields;
    impl VisitMut for Fields {
        fn visit_field_mut(&mut self, field: &mut syn::Field) {
            let ty = field.ty.to_token_stream().to_string().replace(' ', "");
            if ty == "::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>" {
                field.attrs.push(syn::parse_quote!(
                    #[serde(default, deserialize_with = "crate::timestamp::deserialize_option")]
                ));
            }
            syn::visit_mut::visit_field_mut(self, field);
        }
    }
    Fields.visit_file_mut(file);
}

/// Replaces `ResponseValue::from_response` by `crate::decode_response` everywhere.
pub fn own_response_decoding(file: &mut syn::File) {
    struct Decoder;
    impl VisitMut for Decoder {
        fn visit_expr_path_mut(&mut self, e: &mut syn::ExprPath) {
            let names: Vec<String> = e.path.segments.iter().map(|s| s.ident.to_string()).collect();
            if names == ["ResponseValue", "from_response"] {
                *e = syn::parse_quote!(crate::decode_response);
            }
            syn::visit_mut::visit_expr_path_mut(self, e);
        }
    }
    Decoder.visit_file_mut(file);
}

/// In method `method`, replaces `encode_path(&param.to_string())` by `param.to_string()`
/// for each named parameter.
pub fn insert_verbatim_params(file: &mut syn::File, method: &str, params: &[String]) {
    struct Verbatim<'a> {
        method: &'a str,
        params: &'a [String],
        inside: bool,
    }
    impl VisitMut for Verbatim<'_> {
        fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
            self.inside = f.sig.ident == self.method;
            syn::visit_mut::visit_impl_item_fn_mut(self, f);
            self.inside = false;
        }
        fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
            if self.inside {
                m.tokens = unwrap_encode_path(m.tokens.clone(), self.params);
            }
        }
    }
    Verbatim {
        method,
        params,
        inside: false,
    }
    .visit_file_mut(file);
}

/// Token-level rewrite inside `format!(...)`, which `syn` does not parse.
fn unwrap_encode_path(tokens: TokenStream, params: &[String]) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if let (TokenTree::Ident(ident), Some(TokenTree::Group(args))) = (&trees[i], trees.get(i + 1))
            && ident == "encode_path"
        {
            let inner: Vec<TokenTree> = args.stream().into_iter().collect();
            let names_param = matches!(
                (inner.first(), inner.get(1)),
                (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(name))) if p.as_char() == '&' && params.iter().any(|x| name == x)
            );
            if names_param {
                out.extend(inner.into_iter().skip(1));
                i += 2;
                continue;
            }
        }
        match &trees[i] {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), unwrap_encode_path(g.stream(), params));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(src: &str) -> syn::File {
        syn::parse_str(src).unwrap()
    }

    const METHODS: &str = r#"
        impl Client {
            pub async fn get_operation(&self, name: &str) -> u8 {
                let url = format!("{}/api/2.0/postgres/{}", self.baseurl, encode_path(&name.to_string()));
                let mut header_map = HeaderMap::with_capacity(1);
                header_map.append(HeaderName::from_static("api-version"), HeaderValue::from_static(Client::api_version()));
                0
            }
            pub async fn get_project(&self, project_id: &str) -> u8 {
                let url = format!("{}/api/2.0/postgres/projects/{}", self.baseurl, encode_path(&project_id.to_string()));
                0
            }
        }
    "#;

    #[test]
    fn verbatim_parameter_skips_encoding_only_where_marked() {
        let mut f = file(METHODS);
        insert_verbatim_params(&mut f, "get_operation", &["name".to_string()]);
        let out = f.to_token_stream().to_string();
        assert!(out.contains("self . baseurl , name . to_string ()"), "{out}");
        assert!(out.contains("encode_path (& project_id . to_string ())"), "{out}");
    }

    #[test]
    fn drops_api_version_and_the_needless_mut() {
        let mut f = file(METHODS);
        drop_api_version_header(&mut f);
        let out = f.to_token_stream().to_string();
        assert!(!out.contains("api-version"), "{out}");
        assert!(out.contains("let header_map"), "{out}");
    }

    #[test]
    fn responses_are_decoded_by_the_generated_crate() {
        let mut f = file(
            r#"
            impl Client {
                pub async fn get_project(&self) -> u8 {
                    match 1 { 200u16 => ResponseValue::from_response(response).await, _ => 0 }
                }
            }
        "#,
        );
        own_response_decoding(&mut f);
        let out = prettyplease::unparse(&f);
        assert!(out.contains("crate::decode_response(response).await"), "{out}");
        assert!(!out.contains("from_response"), "{out}");
    }

    #[test]
    fn encode_path_comes_from_the_generated_crate() {
        let mut f = file("use progenitor_client::{encode_path, ClientHooks, OperationInfo};");
        own_path_encoding(&mut f);
        let out = f.to_token_stream().to_string();
        assert_eq!(
            out,
            "use progenitor_client :: { ClientHooks , OperationInfo } ; use crate :: encode_path ;"
        );
    }
}
