//! Reading JSON strings without copying them.
//!
//! serde's `Deserialize` for `Cow<str>` always builds an owned `String`, so a type that
//! only parses its text (durations, enum values) paid an allocation, a copy and a free
//! per field. [`parse_str`] hands the parser the text where it lies instead: borrowed
//! from the body when the string has no escapes, serde_json's scratch buffer otherwise.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Visitor};

/// Reads a string and returns `parse`'s result on it; `expecting` names the value in
/// the error for a non-string (`"a duration string"`).
pub fn parse_str<'de, D, T, F>(deserializer: D, expecting: &'static str, parse: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    deserializer.deserialize_str(ParseStr {
        expecting,
        parse,
        value: PhantomData,
    })
}

struct ParseStr<F, T> {
    expecting: &'static str,
    parse: F,
    value: PhantomData<T>,
}

impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for ParseStr<F, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_len(json: &str) -> Result<usize, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        parse_str(&mut de, "a short string", |s| {
            if s.len() < 5 {
                Ok(s.len())
            } else {
                Err(format!("{s:?} is too long"))
            }
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn hands_the_text_to_the_parser_with_or_without_escapes() {
        assert_eq!(parse_len(r#""abc""#), Ok(3));
        assert_eq!(parse_len(r#""a\"c""#), Ok(3));
        assert_eq!(parse_len(r#""\u00e9""#), Ok(2));
    }

    #[test]
    fn keeps_the_parser_and_type_errors() {
        assert!(parse_len(r#""abcdef""#).unwrap_err().contains("\"abcdef\" is too long"));
        let err = parse_len("12").unwrap_err();
        assert!(err.contains("expected a short string"), "{err}");
    }
}
