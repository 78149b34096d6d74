//! [`Secret`]: a string that never shows up in logs.
//!
//! Tokens, OAuth client secrets and database passwords are held as `Secret` everywhere in the
//! crate. `Debug` and `Display` print `***`; the value is only reachable through
//! [`Secret::expose`], so leaking it takes an explicit, greppable call.

use std::fmt;

/// A sensitive string (token, client secret, password) whose `Debug`/`Display` print `***`.
///
/// ```
/// use lakebase::secret::Secret;
/// let token = Secret::from("dapi-123".to_string());
/// assert_eq!(format!("{token:?} {token}"), "*** ***");
/// assert_eq!(token.expose(), "dapi-123");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a sensitive value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Only call this where the value must go on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_everywhere() {
        let s = Secret::from("super-secret-value");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "super-secret-value");
        assert!(!s.is_empty());
        assert!(Secret::new(String::new()).is_empty());
    }
}
