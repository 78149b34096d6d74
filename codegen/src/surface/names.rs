//! `client-ext/src/generated/names.rs`: the resource-name types.
//!
//! Each resource gets a `{Schema}Name` newtype over the full name: structural parsing and
//! the trait impls come from the hand-written `resource_name!` macro of `lakebase::names`;
//! this file adds the id accessors, `new` for top-level resources, the child constructors
//! (validating the child's id against its rule) and the ancestor getters.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{Resource, Segment, Surface, pascal_case};

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The `IdKind` variant of an id placeholder: `cdf_config_id` -> `CdfConfig`.
pub fn id_kind(placeholder: &str) -> Ident {
    ident(&pascal_case(placeholder.strip_suffix("_id").unwrap_or(placeholder)))
}

/// The `static` holding the rule of an id placeholder: `cdf_config_id` -> `CDF_CONFIG_ID`.
pub fn rule_static(placeholder: &str) -> Ident {
    ident(&placeholder.to_ascii_uppercase())
}

/// The tokens of `names.rs`.
pub fn name_types(surface: &Surface) -> TokenStream {
    let kinds = surface.id_patterns.keys().map(|id| {
        let variant = id_kind(id);
        let doc = format!(" `{id}`.");
        quote! { #[doc = #doc] #variant, }
    });
    let kind_strs = surface.id_patterns.keys().map(|id| {
        let variant = id_kind(id);
        quote! { IdKind::#variant => #id, }
    });
    let kind_params = surface.id_patterns.keys().map(|id| {
        let variant = id_kind(id);
        quote! { #id => Some(IdKind::#variant), }
    });
    let kind_checks = surface.id_patterns.keys().map(|id| {
        let variant = id_kind(id);
        let rule = rule_static(id);
        quote! { IdKind::#variant => #rule.check(id), }
    });
    let rules = surface.id_patterns.iter().map(|(id, pattern)| {
        let name = rule_static(id);
        let variant = id_kind(id);
        let (observed, doc) = match surface.observed_patterns.get(id) {
            Some(o) => (
                quote!(Some(#o)),
                format!(
                    " The rule of `{id}`: the `pattern` of its path parameters, or the rule the \
                     service was observed to apply (`x-lakebase-observed-pattern`)."
                ),
            ),
            None => (
                quote!(None),
                format!(" The rule of `{id}`, from the `pattern` of its path parameters."),
            ),
        };
        quote! {
            #[doc = #doc]
            pub(crate) static #name: IdRule = IdRule::new(IdKind::#variant, #pattern, #observed);
        }
    });
    let types = surface.resources.iter().map(|r| name_type(surface, r));
    quote! {
        use crate::names::{IdRule, NameError, Segment, resource_name, segment, prefix};

        /// The kind of id a [`NameError::InvalidId`] is about: one per id placeholder of
        /// the spec's name patterns.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum IdKind {
            #(#kinds)*
        }

        impl IdKind {
            /// The parameter name of this id, e.g. `"branch_id"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    #(#kind_strs)*
                }
            }

            /// The kind whose parameter is named `param` (`"branch_id"`).
            pub fn from_param(param: &str) -> Option<IdKind> {
                match param {
                    #(#kind_params)*
                    _ => None,
                }
            }

            /// Checks `id` against the rule of this kind, as building a name from it does:
            /// refused only when it breaks both the spec's pattern and the rule the service
            /// was observed to apply.
            pub fn check(self, id: &str) -> Result<(), NameError> {
                match self {
                    #(#kind_checks)*
                }
            }
        }

        #(#rules)*

        #(#types)*
    }
}

fn name_type(surface: &Surface, r: &Resource) -> TokenStream {
    let ty = ident(&r.type_name());
    let pattern = &r.pattern;
    let schema = &r.schema;
    let doc = format!(" `{pattern}`: the name of a [`{schema}`](crate::types::{schema}).");
    let segments = r.segments.iter().map(|s| match s {
        Segment::Literal(word) => quote!(Segment::Literal(#word)),
        Segment::Id(_) => quote!(Segment::Id),
    });
    let accessors = r.ids().map(|(i, id)| {
        let f = ident(id);
        let doc = format!(" The `{id}`.");
        quote! {
            #[doc = #doc]
            pub fn #f(&self) -> &str {
                segment(self.as_str(), #i)
            }
        }
    });
    let new = (surface.ancestors(r).is_empty() && r.segments.len() == 2)
        .then(|| r.own_id())
        .flatten()
        .map(|id| {
            let arg = ident(id);
            let rule = rule_static(id);
            let word = match &r.segments[0] {
                Segment::Literal(w) => w.as_str(),
                Segment::Id(_) => "",
            };
            let format = format!("{word}/{{{id}}}");
            let doc = format!(" `{pattern}`, checking `{id}` against its rule.");
            quote! {
                #[doc = #doc]
                pub fn new(#arg: &str) -> Result<Self, NameError> {
                    #rule.check(#arg)?;
                    Ok(Self(format!(#format)))
                }
            }
        });
    let children = surface.children(r).map(|c| {
        let child_ty = ident(&c.type_name());
        let method = ident(&c.method());
        let word = c
            .segments
            .iter()
            .rev()
            .find_map(|s| match s {
                Segment::Literal(w) => Some(w.as_str()),
                Segment::Id(_) => None,
            })
            .unwrap_or_default();
        match c.own_id() {
            Some(id) => {
                let arg = ident(id);
                let rule = rule_static(id);
                let format = format!("{{}}/{word}/{{{id}}}");
                let doc = format!(
                    " The {} `{id}` of this {}, checking the id against its rule.",
                    c.schema, r.schema
                );
                quote! {
                    #[doc = #doc]
                    pub fn #method(&self, #arg: &str) -> Result<#child_ty, NameError> {
                        #rule.check(#arg)?;
                        Ok(#child_ty(format!(#format, self.0)))
                    }
                }
            }
            None => {
                let format = format!("{{}}/{word}");
                let doc = format!(" The {} of this {} (a singleton).", c.schema, r.schema);
                quote! {
                    #[doc = #doc]
                    pub fn #method(&self) -> #child_ty {
                        #child_ty(format!(#format, self.0))
                    }
                }
            }
        }
    });
    let ancestors = surface.ancestors(r).into_iter().map(|a| {
        let a_ty = ident(&a.type_name());
        let method = ident(&a.method());
        let n = a.segments.len();
        let doc = format!(" The {} this {} belongs to.", a.schema, r.schema);
        quote! {
            #[doc = #doc]
            pub fn #method(&self) -> #a_ty {
                #a_ty(prefix(self.as_str(), #n))
            }
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct #ty(String);

        resource_name!(#ty, #pattern, [#(#segments),*]);

        impl #ty {
            #new
            #(#accessors)*
            #(#ancestors)*
            #(#children)*
        }
    }
}
