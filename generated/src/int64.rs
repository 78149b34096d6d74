//! 64-bit integers as the API may send them: JSON numbers, or numeric strings (the
//! canonical protobuf JSON form, which the official SDK also accepts).

use std::fmt;

/// A 64-bit integer field (sizes in bytes, row counts, versions).
///
/// Serialized as a JSON number; deserialized from a number or a numeric string.
///
/// ```
/// use lakebase_generated::Int64;
/// let a: Int64 = serde_json::from_str("8796093022208").unwrap();
/// let b: Int64 = serde_json::from_str("\"8796093022208\"").unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.get(), 8_796_093_022_208);
/// assert_eq!(serde_json::to_string(&b).unwrap(), "8796093022208");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Int64(pub i64);

impl Int64 {
    /// The value.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for Int64 {
    fn from(value: i64) -> Self {
        Int64(value)
    }
}

impl From<Int64> for i64 {
    fn from(value: Int64) -> Self {
        value.0
    }
}

impl fmt::Display for Int64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Int64 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Int64 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Int64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 64-bit integer as a JSON number or a numeric string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Int64, E> {
                Ok(Int64(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Int64, E> {
                i64::try_from(v)
                    .map(Int64)
                    .map_err(|_| E::custom(format!("{v} does not fit in 64 signed bits")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Int64, E> {
                if v.fract() == 0.0 && v >= i64::MIN as f64 && v <= i64::MAX as f64 {
                    Ok(Int64(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not a 64-bit integer")))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Int64, E> {
                v.trim()
                    .parse()
                    .map(Int64)
                    .map_err(|_| E::custom(format!("{v:?} is not a 64-bit integer")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_numbers_and_numeric_strings_only() {
        for (json, value) in [
            ("0", 0),
            ("-5", -5),
            ("\"42\"", 42),
            ("1e3", 1000),
            ("\"9223372036854775807\"", i64::MAX),
        ] {
            assert_eq!(serde_json::from_str::<Int64>(json).unwrap(), Int64(value), "{json}");
        }
        for json in ["\"4x\"", "1.5", "true", "null", "18446744073709551615"] {
            assert!(serde_json::from_str::<Int64>(json).is_err(), "{json}");
        }
    }
}
