//! Request comparison (README "Replaying", step 2 and 3).
//!
//! * method: exact;
//! * path: exact on the raw bytes, except that percent-escapes of unreserved characters
//!   (`A-Za-z0-9-._~`) are decoded on both sides and hex digits of the remaining escapes
//!   are upper-cased; a `/` sent as `%2F` therefore still differs from `/`;
//! * query: the multiset of decoded `(key, value)` pairs (`+` is a space, then
//!   percent-decoding);
//! * headers: `Content-Type`, `Accept`, `Authorization`, `X-Databricks-Workspace-Id` present
//!   with the recorded value (names case-insensitive); `X-Databricks-Workspace-Id` absent
//!   when not recorded; `Content-Type` absent when the request has no body;
//! * body: semantic JSON ([`crate::jsoncmp`]); `null` means no body at all;
//! * count: exactly as many requests as exchanges.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::cassette::{Exchange, RecordedRequest};
use crate::jsoncmp;
use crate::replay::RawRequest;

/// The headers whose recorded value must be sent.
pub const CHECKED_HEADERS: &[&str] = &["Content-Type", "Accept", "Authorization", "X-Databricks-Workspace-Id"];

/// Compares the requests received with the exchanges of a cassette. Each entry names
/// the exchange index and the field.
pub fn compare_requests(exchanges: &[Exchange], received: &[RawRequest]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (exchange, actual)) in exchanges.iter().zip(received.iter()).enumerate() {
        for d in compare_request(&exchange.request, actual) {
            out.push(format!(
                "exchange {i} ({} {}): {d}",
                exchange.request.method, exchange.request.path
            ));
        }
    }
    if received.len() != exchanges.len() {
        out.push(format!(
            "request count: expected {} requests, got {}",
            exchanges.len(),
            received.len()
        ));
        for (i, extra) in received.iter().enumerate().skip(exchanges.len()) {
            out.push(format!("exchange {i}: unexpected extra request {}", extra.summary()));
        }
        for (i, missing) in exchanges.iter().enumerate().skip(received.len()) {
            let r = &missing.request;
            let q = if r.raw_query.is_empty() {
                String::new()
            } else {
                format!("?{}", r.raw_query)
            };
            out.push(format!(
                "exchange {i}: expected request {} {}{q} was never sent",
                r.method, r.path
            ));
        }
    }
    out
}

/// Compares one request with its recording; returns the differences.
pub fn compare_request(expected: &RecordedRequest, actual: &RawRequest) -> Vec<String> {
    let mut out = Vec::new();
    if expected.method != actual.method {
        out.push(format!("method: expected {}, got {}", expected.method, actual.method));
    }
    let (ep, ap) = (normalize_path(&expected.path), normalize_path(&actual.path));
    if ep != ap {
        out.push(format!("path: expected {:?}, got {:?}", expected.path, actual.path));
    }
    out.extend(compare_query(&expected.query, &actual.raw_query));
    out.extend(compare_headers(expected, actual));
    out.extend(compare_body(&expected.body, &actual.body));
    out
}

/// Decodes the escapes of unreserved characters and upper-cases the hex of the others.
pub fn normalize_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = [bytes[i + 1], bytes[i + 2]];
            let v = u8::from_str_radix(std::str::from_utf8(&hex).expect("ascii"), 16).expect("hex");
            if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                out.push(v);
            } else {
                out.push(b'%');
                out.extend(hex.iter().map(|b| b.to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes a raw query string into `(key, value)` pairs (`+` is a space).
pub fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Compares the decoded query pairs as multisets.
pub fn compare_query(expected: &[(String, String)], actual_raw: &str) -> Vec<String> {
    let mut missing: Vec<(String, String)> = expected.to_vec();
    let mut unexpected = Vec::new();
    for pair in decode_query(actual_raw) {
        if let Some(pos) = missing.iter().position(|p| *p == pair) {
            missing.remove(pos);
        } else {
            unexpected.push(pair);
        }
    }
    let mut out = Vec::new();
    for (k, v) in &missing {
        let got: Vec<String> = decode_query(actual_raw)
            .into_iter()
            .filter(|(ak, _)| ak == k)
            .map(|(_, av)| format!("{av:?}"))
            .collect();
        if got.is_empty() {
            out.push(format!("query `{k}`: expected {v:?}, got nothing (parameter not sent)"));
        } else {
            out.push(format!("query `{k}`: expected {v:?}, got {}", got.join(", ")));
        }
    }
    for (k, v) in unexpected {
        if !missing.iter().any(|(mk, _)| *mk == k) {
            out.push(format!(
                "query `{k}`: expected nothing (parameter not recorded), got {v:?}"
            ));
        }
    }
    if !out.is_empty() {
        out.push(format!("(raw query sent: {actual_raw:?})"));
    }
    out
}

fn compare_headers(expected: &RecordedRequest, actual: &RawRequest) -> Vec<String> {
    let mut out = Vec::new();
    let recorded = |name: &str| {
        expected
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    for name in CHECKED_HEADERS {
        let got = actual.header_values(name);
        match recorded(name) {
            Some(want) => {
                if got.is_empty() {
                    out.push(format!(
                        "header `{name}`: expected {want:?}, got nothing (header not sent)"
                    ));
                } else if got.len() > 1 || got[0] != want {
                    out.push(format!("header `{name}`: expected {want:?}, got {got:?}"));
                }
            }
            None => {
                let must_be_absent = name.eq_ignore_ascii_case("X-Databricks-Workspace-Id")
                    || (name.eq_ignore_ascii_case("Content-Type") && actual.body.is_empty());
                if must_be_absent && !got.is_empty() {
                    out.push(format!("header `{name}`: expected nothing (not recorded), got {got:?}"));
                }
            }
        }
    }
    // Any recorded header outside the checked set is still checked.
    for (name, want) in &expected.headers {
        if CHECKED_HEADERS.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            continue;
        }
        let got = actual.header_values(name);
        if got.len() != 1 || got[0] != want {
            out.push(format!("header `{name}`: expected {want:?}, got {got:?}"));
        }
    }
    out
}

/// Compares a body with its recording (`null`: no body at all).
pub fn compare_body(expected: &Value, actual: &[u8]) -> Vec<String> {
    if expected.is_null() {
        if actual.is_empty() {
            return vec![];
        }
        return vec![format!(
            "body: expected no body, got {} bytes: {}",
            actual.len(),
            String::from_utf8_lossy(&actual[..actual.len().min(200)])
        )];
    }
    if actual.is_empty() {
        return vec![format!("body: expected {}, got no body", jsoncmp::render(expected))];
    }
    let parsed: Value = match serde_json::from_slice(actual) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!(
                "body: not JSON ({e}): {}",
                String::from_utf8_lossy(&actual[..actual.len().min(200)])
            )];
        }
    };
    jsoncmp::diff(expected, &parsed)
        .into_iter()
        .map(|d| format!("body {d}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalisation() {
        assert_eq!(normalize_path("/a/%7Ebob/%61"), "/a/~bob/a");
        assert_eq!(normalize_path("/a%2fb"), "/a%2Fb");
        assert_ne!(normalize_path("/a%2Fb"), normalize_path("/a/b"));
        assert_eq!(normalize_path("/x%2"), "/x%2");
        assert_eq!(normalize_path("/x%"), "/x%");
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            decode_query("a=x+y&b=%2B%2F%3D&c"),
            vec![
                ("a".into(), "x y".into()),
                ("b".into(), "+/=".into()),
                ("c".into(), "".into())
            ]
        );
        assert!(compare_query(&[("a".into(), "1".into()), ("b".into(), "2".into())], "b=2&a=1").is_empty());
        assert!(!compare_query(&[("a".into(), "1".into())], "a=1&a=1").is_empty());
        assert!(!compare_query(&[("a".into(), "1".into())], "a=2").is_empty());
    }
}
