//! The `User-Agent` header: `lakebase-rs/<version> rust/<rustc> os/<os> auth/<auth_type>`
//! followed by optional caller-supplied `key/value` tokens.

use std::fmt;

use crate::error::{Error, InvalidInput};

/// Builder of the `User-Agent` header value.
///
/// ```
/// use lakebase::user_agent::UserAgent;
/// let ua = UserAgent::new("pat").with_extra("my-app", "1.2.3")?;
/// let s = ua.to_string();
/// assert!(s.starts_with(&format!("lakebase-rs/{} rust/", env!("CARGO_PKG_VERSION"))));
/// assert!(s.ends_with(" auth/pat my-app/1.2.3"));
/// assert!(UserAgent::new("pat").with_extra("bad key", "1").is_err());
/// # Ok::<(), lakebase::error::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgent {
    auth_type: String,
    extras: Vec<(String, String)>,
}

/// Characters allowed in user-agent keys and values (as in the official SDKs:
/// `[0-9A-Za-z_.+-]`, enough for names and semantic versions).
fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

/// Checks a `key/value` pair for [`UserAgent::with_extra`].
pub(crate) fn check_extra(key: &str, value: &str) -> Result<(), Error> {
    for (what, s) in [("key", key), ("value", value)] {
        if !valid_token(s) {
            return Err(InvalidInput::new(
                format!("user agent {what}"),
                format!("{s:?} must be non-empty and contain only [0-9A-Za-z_.+-]"),
            )
            .into());
        }
    }
    Ok(())
}

impl UserAgent {
    /// The base user agent for a client using `auth_type` (e.g. `"pat"`, `"oauth-m2m"`).
    pub fn new(auth_type: impl Into<String>) -> Self {
        Self {
            auth_type: auth_type.into(),
            extras: Vec::new(),
        }
    }

    /// Appends a `key/value` token; both must match `[0-9A-Za-z_.+-]+`.
    pub fn with_extra(mut self, key: &str, value: &str) -> Result<Self, Error> {
        check_extra(key, value)?;
        self.extras.push((key.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The header value (the string is always a valid header value).
    pub fn header_value(&self) -> http::HeaderValue {
        http::HeaderValue::from_str(&self.to_string()).unwrap_or_else(|_| http::HeaderValue::from_static("lakebase-rs"))
    }
}

/// The version of the compiler that built this crate (recorded by `build.rs`).
fn rustc_version() -> &'static str {
    env!("LAKEBASE_RUSTC_VERSION")
}

impl fmt::Display for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = if valid_token(&self.auth_type) {
            self.auth_type.as_str()
        } else {
            "unknown"
        };
        write!(
            f,
            "lakebase-rs/{} rust/{} os/{} auth/{}",
            env!("CARGO_PKG_VERSION"),
            rustc_version(),
            std::env::consts::OS,
            auth
        )?;
        for (k, v) in &self.extras {
            write!(f, " {k}/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format() {
        let ua = UserAgent::new("oauth-m2m")
            .with_extra("tool", "terraform")
            .unwrap()
            .with_extra("tool-version", "1.0.0+build.1")
            .unwrap();
        let s = ua.to_string();
        let tokens: Vec<&str> = s.split(' ').collect();
        assert_eq!(tokens[0], format!("lakebase-rs/{}", env!("CARGO_PKG_VERSION")));
        assert!(tokens[1].starts_with("rust/1."), "{s}");
        assert_eq!(tokens[2], format!("os/{}", std::env::consts::OS));
        assert_eq!(
            &tokens[3..],
            ["auth/oauth-m2m", "tool/terraform", "tool-version/1.0.0+build.1"]
        );
        assert_eq!(ua.header_value().to_str().unwrap(), s);
        for (k, v) in [
            ("", "1"),
            ("a", ""),
            ("a/b", "1"),
            ("a", "1 2"),
            ("ü", "1"),
            ("a", "x\n"),
        ] {
            assert!(UserAgent::new("pat").with_extra(k, v).is_err(), "{k:?} {v:?}");
        }
        assert!(UserAgent::new("weird type").to_string().contains(" auth/unknown"));
    }
}
