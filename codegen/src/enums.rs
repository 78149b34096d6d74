//! Step 6a: open enums.
//!
//! progenitor's enums are closed: one value the server adds tomorrow (or an
//! `*_UNSPECIFIED` value it sends today) would fail a whole response. Every enum of the
//! spec becomes an invocation of the hand-written `open_enum!` macro of
//! `lakebase-generated`, which adds an `Unknown(String)` variant that round-trips.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::passes::EnumFact;

/// The tokens of `enums.rs`.
pub fn open_enums(enums: &[EnumFact]) -> TokenStream {
    let items = enums.iter().map(|e| {
        let name = Ident::new(&e.name, Span::call_site());
        let doc = &e.description;
        let names = variant_names(&e.name, &e.values);
        let variants = e.values.iter().zip(&names).map(|(value, variant)| {
            let variant = Ident::new(variant, Span::call_site());
            let doc = format!("`{value}`");
            quote! {
                #[doc = #doc]
                #variant = #value,
            }
        });
        quote! {
            open_enum! {
                #[doc = #doc]
                #name {
                    #(#variants)*
                }
            }
        }
    });
    quote! {
        use crate::open_enum;
        #(#items)*
    }
}

/// Rust variant names for wire values, in UpperCamelCase. The prefix shared by all
/// values (at a `_` boundary) is dropped when it repeats the enum's own name, so
/// `EndpointType::ENDPOINT_TYPE_READ_ONLY` becomes `EndpointType::ReadOnly`.
pub fn variant_names(enum_name: &str, values: &[String]) -> Vec<String> {
    let mut prefix = common_word_prefix(values);
    let own_name = upper_snake(enum_name);
    // Shorten the shared prefix word by word until it repeats the enum's name.
    while !prefix.is_empty() && !own_name.contains(prefix.trim_end_matches('_')) {
        let shorter = prefix.trim_end_matches('_').rfind('_').map_or(0, |i| i + 1);
        prefix.truncate(shorter);
    }
    values
        .iter()
        .map(|v| {
            let rest = &v[prefix.len()..];
            let rest = if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()) {
                v.as_str()
            } else {
                rest
            };
            let name = upper_camel(rest);
            if name == CATCH_ALL {
                format!("{name}{}", last_word(enum_name))
            } else {
                name
            }
        })
        .collect()
}

fn common_word_prefix(values: &[String]) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let first = &values[0];
    let mut prefix_len = 0;
    for (i, _) in first.match_indices('_') {
        let candidate = &first[..=i];
        if values
            .iter()
            .all(|v| v.starts_with(candidate) && v.len() > candidate.len())
        {
            prefix_len = i + 1;
        } else {
            break;
        }
    }
    first[..prefix_len].to_string()
}

/// The name of the catch-all variant `open_enum!` adds.
const CATCH_ALL: &str = "Unknown";

fn last_word(name: &str) -> &str {
    let start = name.rfind(|c: char| c.is_ascii_uppercase()).unwrap_or(0);
    &name[start..]
}

fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn upper_camel(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(enum_name: &str, values: &[&str]) -> Vec<String> {
        variant_names(enum_name, &values.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn strips_the_shared_prefix() {
        assert_eq!(
            names("EndpointType", &["ENDPOINT_TYPE_READ_ONLY", "ENDPOINT_TYPE_READ_WRITE"]),
            ["ReadOnly", "ReadWrite"]
        );
        assert_eq!(
            names(
                "OpenApiMode",
                &["OPEN_API_MODE_DISABLED", "OPEN_API_MODE_IGNORE_PRIVILEGES"]
            ),
            ["Disabled", "IgnorePrivileges"]
        );
        assert_eq!(
            names("CdfState", &["CDF_STATE_SKIPPED", "CDF_STATE_STREAMING"]),
            ["Skipped", "Streaming"]
        );
        assert_eq!(
            names("SyncedTableState", &["SYNCED_TABLE_OFFLINE", "SYNCED_TABLE_ONLINE"]),
            ["Offline", "Online"]
        );
    }

    #[test]
    fn keeps_single_values_and_unshared_words() {
        assert_eq!(names("PermissionSet", &["READ_ONLY"]), ["ReadOnly"]);
        assert_eq!(names("State", &["ACTIVE", "IDLE"]), ["Active", "Idle"]);
        assert_eq!(
            names("ErrorCode", &["NOT_FOUND", "NOT_IMPLEMENTED"]),
            ["NotFound", "NotImplemented"]
        );
    }

    #[test]
    fn a_value_named_like_the_catch_all_is_renamed() {
        assert_eq!(names("ErrorCode", &["UNKNOWN", "ABORTED"]), ["UnknownCode", "Aborted"]);
    }

    #[test]
    fn emits_one_macro_call_per_enum() {
        let tokens = open_enums(&[EnumFact {
            name: "Color".into(),
            description: "A color.".into(),
            values: vec!["COLOR_RED".into(), "COLOR_GREEN".into()],
        }])
        .to_string();
        assert!(tokens.contains("open_enum !"), "{tokens}");
        assert!(tokens.contains("Red = \"COLOR_RED\""), "{tokens}");
    }
}
