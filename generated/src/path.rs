//! How an id becomes one segment of a request path.
//!
//! The official SDKs insert ids into the path and let their HTTP stack quote the URL
//! (`requests.utils.requote_uri` in Python): it keeps RFC 3986's unreserved characters and
//! the delimiters `! $ & ' ( ) * + , ; = : @ [ ]` as they are and percent-encodes the rest
//! as UTF-8 (`|` becomes `%7C`, `é` becomes `%C3%A9`). [`encode_path`] does the same, so the
//! server sees the same bytes from us as from them. It also encodes what those SDKs would let
//! change the URL's meaning: `/` (another segment), `?`, `#` and `%`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but what a path segment carries as is.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'[')
    .remove(b']');

/// Percent-encodes one path segment the way the official SDKs' HTTP stack quotes it:
/// unreserved characters and `! $ & ' ( ) * + , ; = : @ [ ]` stay, everything else becomes
/// UTF-8 percent escapes, including `/`, `?`, `#` and `%`.
///
/// ```
/// use lakebase_generated::encode_path;
/// assert_eq!(encode_path("main.sales.customers"), "main.sales.customers");
/// assert_eq!(encode_path("a|b^c d"), "a%7Cb%5Ec%20d");
/// assert_eq!(encode_path("a/b?c#d%"), "a%2Fb%3Fc%23d%25");
/// assert_eq!(encode_path("x+y=z:@!"), "x+y=z:@!");
/// ```
pub fn encode_path(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ASCII character against what Python's `requests` does to it in a path
    /// (`quote(c, safe="!#$%&'()*+,/:;=?@[]~")`), except the four we also encode.
    #[test]
    fn ascii_table() {
        const PYTHON_KEEPS: &str = "!#$%&'()*+,/:;=?@[]~-._";
        const WE_ENCODE_TOO: &str = "/?#%";
        for byte in 0u8..=127 {
            let c = byte as char;
            let kept = c.is_ascii_alphanumeric() || (PYTHON_KEEPS.contains(c) && !WE_ENCODE_TOO.contains(c));
            let want = if kept { c.to_string() } else { format!("%{byte:02X}") };
            assert_eq!(encode_path(&c.to_string()), want, "{c:?}");
        }
    }

    #[test]
    fn non_ascii_is_utf8_percent_encoded() {
        assert_eq!(encode_path("é"), "%C3%A9");
    }
}
