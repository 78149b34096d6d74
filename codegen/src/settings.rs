//! Step 4: how `progenitor` is driven, and the operation catalog emitted beside it.

use proc_macro2::TokenStream;
use quote::quote;

use crate::passes::{OperationKind, SpecFacts};

/// Per-request timeout of the generated client, as the official SDKs use (60 s), instead
/// of progenitor's 15 s default.
pub const REQUEST_TIMEOUT_SECS: u64 = 60;

/// progenitor settings: positional methods (required arguments checked by the compiler),
/// the hand-written hooks of `lakebase-generated` as the client's inner value, open enums
/// instead of progenitor's closed ones, the wire `Duration` for `format: duration` and the
/// lenient `Int64` (number or numeric string) for `format: int64`.
pub fn generation_settings(facts: &SpecFacts) -> progenitor::GenerationSettings {
    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote!(crate::hooks::Hooks))
        .with_timeout(REQUEST_TIMEOUT_SECS)
        .with_map_type("::std::collections::BTreeMap")
        .with_derive("PartialEq")
        .with_conversion(
            schemars::schema::SchemaObject {
                instance_type: Some(schemars::schema::InstanceType::String.into()),
                format: Some("duration".to_string()),
                ..Default::default()
            },
            "crate::Duration",
            std::iter::empty(),
        )
        .with_conversion(
            schemars::schema::SchemaObject {
                instance_type: Some(schemars::schema::InstanceType::Integer.into()),
                format: Some("int64".to_string()),
                ..Default::default()
            },
            "crate::Int64",
            std::iter::empty(),
        );
    for e in &facts.enums {
        settings.with_replacement(&e.name, format!("crate::enums::{}", e.name), std::iter::empty());
    }
    settings
}

/// `catalog.rs`: one [`OperationSpec`](../lakebase_generated/struct.OperationSpec.html)
/// per operation, and a `Page` impl per list response, both read from the spec's
/// `x-lakebase-*` extensions.
pub fn operation_catalog(facts: &SpecFacts, surface: &crate::surface::Surface) -> TokenStream {
    let entries = facts.operations.iter().map(|op| {
        let resource = match surface.resource_of(&op.id) {
            Some(r) => quote!(Some(#r)),
            None => quote!(None),
        };
        let id = &op.id;
        let method = &op.method;
        let path = &op.path;
        let tag = &op.tag;
        let query = &op.query_params;
        let body = match &op.body {
            Some(b) => quote!(Some(#b)),
            None => quote!(None),
        };
        let kind = match &op.kind {
            OperationKind::Call => quote!(OperationKind::Call),
            OperationKind::List { items, item, page } => {
                quote!(OperationKind::List { items: #items, item: #item, page: #page })
            }
            OperationKind::LongRunning { result, metadata } => {
                let result = match result {
                    Some(r) => quote!(Some(#r)),
                    None => quote!(None),
                };
                quote!(OperationKind::LongRunning { result: #result, metadata: #metadata })
            }
        };
        quote! {
            OperationSpec {
                id: #id,
                method: #method,
                path: #path,
                tag: #tag,
                query: &[#(#query),*],
                body: #body,
                kind: #kind,
                resource: #resource,
            },
        }
    });
    let pages = facts.operations.iter().filter_map(|op| match &op.kind {
        OperationKind::List { items, item, page } => Some((items, item, page)),
        _ => None,
    });
    let mut seen = std::collections::BTreeSet::new();
    let page_impls = pages
        .filter(|(_, _, page)| seen.insert((*page).clone()))
        .map(|(items, item, page)| {
            let page = syn::Ident::new(page, proc_macro2::Span::call_site());
            let item = syn::Ident::new(item, proc_macro2::Span::call_site());
            let field = syn::Ident::new(items, proc_macro2::Span::call_site());
            quote! {
                impl crate::Page for crate::types::#page {
                    type Item = crate::types::#item;
                    const ITEMS_FIELD: &'static str = #items;
                    fn next_page_token(&self) -> Option<&str> {
                        self.next_page_token.as_deref()
                    }
                    fn into_items(self) -> Vec<Self::Item> {
                        self.#field
                    }
                }
            }
        });
    let id_rules = surface.id_patterns.iter().map(|(param, pattern)| {
        let observed = match surface.observed_patterns.get(param) {
            Some(o) => quote!(Some(#o)),
            None => quote!(None),
        };
        quote! {
            IdRule { param: #param, pattern: #pattern, observed_pattern: #observed },
        }
    });
    quote! {
        use crate::{IdRule, OperationKind, OperationSpec};

        /// Every operation of the spec, in path order.
        pub const OPERATIONS: &[OperationSpec] = &[#(#entries)*];

        /// The rule of every id placeholder of the spec's name patterns, by parameter name.
        pub const ID_RULES: &[IdRule] = &[#(#id_rules)*];

        #(#page_impls)*
    }
}
