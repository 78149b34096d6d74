//! Step 6b: required-field checks.
//!
//! [`crate::passes::relax_required_fields`] makes every generated field optional so
//! responses never fail on a missing field. What the spec marks required is enforced
//! before a request leaves instead: every message gets an impl of the hand-written
//! `RequiredFields` trait listing the dotted paths that are missing; it looks into the
//! messages that have required fields somewhere below them (never into `status`, which
//! the server fills). A resource's `spec` left out entirely misses the required fields
//! of the spec message: a create cannot do without them.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::passes::{FieldFact, SpecFacts};

/// Output-only fields that are never checked: the server fills them.
const OUTPUT_ONLY: &[&str] = &["status"];

/// The tokens of `required.rs`.
pub fn required_field_checks(facts: &SpecFacts) -> TokenStream {
    let checked = messages_with_requirements(&facts.objects);
    // Every message gets an impl (empty where nothing is required) so callers can check
    // any request body without knowing which ones have requirements.
    let impls = facts.objects.keys().map(|name| {
        let ty = Ident::new(name, Span::call_site());
        let checks = facts.objects[name]
            .iter()
            .filter(|f| !OUTPUT_ONLY.contains(&f.name.as_str()))
            .map(|f| check(f, &checked, &facts.objects));
        quote! {
            impl RequiredFields for types::#ty {
                fn collect_missing(&self, prefix: &str, missing: &mut Vec<String>) {
                    let _ = (prefix, &missing);
                    #(#checks)*
                }
            }
        }
    });
    quote! {
        use crate::{types, RequiredFields};
        #(#impls)*
    }
}

/// The field holding a resource's desired state: what a create sends. When its message
/// has required fields, leaving the whole `spec` out misses them too.
const DESIRED_STATE: &str = "spec";

fn check(field: &FieldFact, checked: &BTreeSet<String>, objects: &BTreeMap<String, Vec<FieldFact>>) -> TokenStream {
    let ident = field_ident(&field.name);
    let name = &field.name;
    let presence = if field.required {
        if field.repeated {
            quote! {
                if self.#ident.is_empty() {
                    missing.push(format!("{prefix}{}", #name));
                }
            }
        } else {
            quote! {
                if self.#ident.is_none() {
                    missing.push(format!("{prefix}{}", #name));
                }
            }
        }
    } else {
        quote! {}
    };
    let recurse = match &field.message {
        Some(m) if checked.contains(m) && field.repeated => quote! {
            for (i, item) in self.#ident.iter().enumerate() {
                item.collect_missing(&format!("{prefix}{}[{i}].", #name), missing);
            }
        },
        Some(m) if checked.contains(m) => {
            let absent: Vec<String> = if field.name == DESIRED_STATE {
                objects[m]
                    .iter()
                    .filter(|f| f.required)
                    .map(|f| format!("{}.{}", field.name, f.name))
                    .collect()
            } else {
                Vec::new()
            };
            if absent.is_empty() {
                quote! {
                    if let Some(value) = &self.#ident {
                        value.collect_missing(&format!("{prefix}{}.", #name), missing);
                    }
                }
            } else {
                quote! {
                    match &self.#ident {
                        Some(value) => value.collect_missing(&format!("{prefix}{}.", #name), missing),
                        None => {
                            #(missing.push(format!("{prefix}{}", #absent));)*
                        }
                    }
                }
            }
        }
        _ => quote! {},
    };
    quote! { #presence #recurse }
}

/// Rust field name typify gives a JSON property.
fn field_ident(name: &str) -> Ident {
    match name {
        "type" | "ref" | "self" | "match" | "use" | "mod" | "fn" | "struct" => Ident::new_raw(name, Span::call_site()),
        _ => Ident::new(name, Span::call_site()),
    }
}

/// Messages with a required field somewhere below them (not through `status`).
pub fn messages_with_requirements(objects: &BTreeMap<String, Vec<FieldFact>>) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = objects
        .iter()
        .filter(|(_, fields)| fields.iter().any(|f| f.required))
        .map(|(name, _)| name.clone())
        .collect();
    loop {
        let before = set.len();
        for (name, fields) in objects {
            let reaches = fields.iter().any(|f| {
                !OUTPUT_ONLY.contains(&f.name.as_str()) && f.message.as_ref().is_some_and(|m| set.contains(m))
            });
            if reaches {
                set.insert(name.clone());
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, required: bool, message: Option<&str>, repeated: bool) -> FieldFact {
        FieldFact {
            name: name.into(),
            required,
            message: message.map(str::to_string),
            repeated,
        }
    }

    #[test]
    fn propagates_requirements_upwards_but_not_through_status() {
        let mut objects = BTreeMap::new();
        objects.insert("Spec".to_string(), vec![field("kind", true, None, false)]);
        objects.insert("Status".to_string(), vec![field("min", true, None, false)]);
        objects.insert(
            "Thing".to_string(),
            vec![
                field("spec", false, Some("Spec"), false),
                field("status", false, Some("Status"), false),
            ],
        );
        objects.insert("Free".to_string(), vec![field("x", false, None, false)]);
        let set = messages_with_requirements(&objects);
        assert_eq!(set.into_iter().collect::<Vec<_>>(), ["Spec", "Status", "Thing"]);
    }

    #[test]
    fn checks_presence_and_recurses_into_lists() {
        let checked: BTreeSet<String> = ["Col".to_string()].into();
        let objects = BTreeMap::from([("Col".to_string(), vec![field("name", true, None, false)])]);
        let tokens = check(&field("cols", false, Some("Col"), true), &checked, &objects).to_string();
        assert!(tokens.contains("enumerate"), "{tokens}");
        let tokens = check(&field("kind", true, None, false), &checked, &objects).to_string();
        assert!(tokens.contains("is_none"), "{tokens}");
    }

    #[test]
    fn an_absent_spec_misses_its_required_fields() {
        let checked: BTreeSet<String> = ["Spec".to_string()].into();
        let objects = BTreeMap::from([("Spec".to_string(), vec![field("kind", true, None, false)])]);
        let tokens = check(&field("spec", false, Some("Spec"), false), &checked, &objects).to_string();
        assert!(tokens.contains("\"spec.kind\""), "{tokens}");
        let tokens = check(&field("other", false, Some("Spec"), false), &checked, &objects).to_string();
        assert!(
            !tokens.contains("\"other.kind\""),
            "only the desired state counts: {tokens}"
        );
    }
}
