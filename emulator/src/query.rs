//! Decoded query string with typed accessors.

use crate::errors::ApiError;

/// Decoded `application/x-www-form-urlencoded` query pairs.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw {
            None | Some("") => Ok(Self::default()),
            Some(q) => serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .map(Self)
                .map_err(|e| ApiError::malformed(format!("Invalid query string: {e}"))),
        }
    }

    /// First value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Boolean `key` (`true`/`false`), default false.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(ApiError::invalid(format!("Invalid boolean for '{key}': '{v}'"))),
        }
    }

    /// Integer `key`.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::invalid(format!("Invalid integer for '{key}': '{v}'")))
            })
            .transpose()
    }
}
