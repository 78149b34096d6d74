//! Bodies of the fuzz targets: one function per parser family that reads untrusted bytes.
//!
//! Each function takes the fuzzer's input and feeds it to the parsers, asserting the
//! properties that must hold for every input (no panic; what parses displays as what was
//! read; what is encoded parses back). The binaries in `fuzz_targets/` hand libFuzzer's
//! inputs to them; `tests/fuzz_corpora.rs` (a workspace test) replays the checked-in corpora
//! through the same functions on stable, without libFuzzer.

use std::str::FromStr;
use std::time::SystemTime;

use lakebase::error::{ApiError, parse_retry_after};
use lakebase::names::{
    BranchName, CatalogName, CdfConfigName, CdfStatusName, DataApiName, DatabaseName, EndpointName, OperationName,
    ProjectName, ResourceName, RoleName, SnapshotName, SnapshotScheduleName, SyncedTableName,
};
use lakebase::{FieldMask, types};
use lakebase_emulator::fuzzing::ApiHarness;
use lakebase_emulator::pg::protocol::{self, Initial};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Every name type: a name that parses displays and serializes as exactly its input and
/// parses back to itself.
fn parses_verbatim<N: ResourceName + Serialize + DeserializeOwned>(s: &str) {
    let Ok(name) = s.parse::<N>() else { return };
    assert_eq!(name.as_str(), s);
    assert_eq!(name.to_string(), s);
    let json = serde_json::to_string(&name).expect("a name serializes");
    assert_eq!(
        serde_json::from_str::<N>(&json).expect("a serialized name parses"),
        name
    );
}

/// Resource names and operation names: structural parsing of every name type, id rules of
/// every constructor, and the navigation methods on whatever parsed.
pub fn names(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    parses_verbatim::<ProjectName>(s);
    parses_verbatim::<BranchName>(s);
    parses_verbatim::<EndpointName>(s);
    parses_verbatim::<RoleName>(s);
    parses_verbatim::<DatabaseName>(s);
    parses_verbatim::<DataApiName>(s);
    parses_verbatim::<CdfConfigName>(s);
    parses_verbatim::<CdfStatusName>(s);
    parses_verbatim::<SnapshotName>(s);
    parses_verbatim::<SnapshotScheduleName>(s);
    parses_verbatim::<CatalogName>(s);
    parses_verbatim::<SyncedTableName>(s);
    parses_verbatim::<OperationName>(s);
    if let Ok(t) = s.parse::<SyncedTableName>() {
        let _ = (t.catalog(), t.schema(), t.table());
    }
    if let Ok(s) = s.parse::<CdfStatusName>() {
        assert!(
            s.as_str()
                .starts_with(s.cdf_config().database().branch().project().as_str())
        );
    }
    // The input as ids: `/`-separated pieces go to the constructors, each level's child made
    // from the next piece.
    let mut ids = s.split('/');
    let id = ids.next().unwrap_or_default();
    let _ = CatalogName::new(id);
    let _ = SyncedTableName::new(id);
    let mut parts = id.splitn(3, '.');
    let (c, sc, t) = (parts.next(), parts.next(), parts.next());
    if let (Some(c), Some(sc), Some(t)) = (c, sc, t) {
        let _ = SyncedTableName::from_parts(c, sc, t);
    }
    let Ok(project) = ProjectName::new(id) else { return };
    assert_eq!(project.project_id(), id);
    let next = ids.next().unwrap_or_default();
    let _ = project.snapshot(next);
    let Ok(branch) = project.branch(next) else { return };
    assert_eq!(branch.project(), project);
    let next = ids.next().unwrap_or_default();
    let _ = (branch.endpoint(next), branch.role(next), branch.snapshot_schedule());
    let Ok(database) = branch.database(next) else { return };
    let _ = database.data_api();
    let Ok(cdf) = database.cdf_config(ids.next().unwrap_or_default()) else {
        return;
    };
    if let Ok(status) = cdf.cdf_status(ids.next().unwrap_or_default()) {
        assert_eq!(status.cdf_config(), cdf);
    }
}

/// Error responses: `[status: 2 bytes][Retry-After and x-request-id value]\n[body]`, parsed
/// as [`ApiError::from_response`] does (JSON, SCIM, text, HTML; details; `RetryInfo`
/// durations; `Retry-After` seconds and HTTP dates).
pub fn error_body(data: &[u8]) {
    let Some((status, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = u16::from_be_bytes(*status);
    let (header, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(header) {
        if let Ok(text) = value.to_str() {
            let _ = parse_retry_after(text, SystemTime::UNIX_EPOCH);
            let _ = parse_retry_after(text, SystemTime::now());
        }
        headers.insert(http::header::RETRY_AFTER, value.clone());
        headers.insert("x-request-id", value);
    }
    for reason in ["", "Bad Gateway"] {
        let e = ApiError::from_response(status, reason, &headers, body);
        let _ = (e.to_string(), e.class(), e.is_retryable(), e.error_info());
        let _ = lakebase::Error::from(e.clone()).to_string();
        assert_eq!(e.status, status);
    }
}

/// Decodes `data` as `T` and, when that works, checks that encoding and decoding again gives
/// the same value.
fn decodes_stably<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let json = serde_json::to_vec(&value).expect("a decoded value encodes");
    let again = serde_json::from_slice::<T>(&json).expect("an encoded value decodes");
    assert_eq!(again, value, "{}", String::from_utf8_lossy(&json));
}

/// The API's wire conventions: protobuf durations (`"1.5s"`), 64-bit integers as numbers or
/// strings, RFC 3339 timestamps, open enums, and the response messages that carry them.
pub fn wire_values(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(d) = types::Duration::from_str(s)
    {
        let shown = d.to_string();
        assert_eq!(
            types::Duration::from_str(&shown).ok(),
            Some(d),
            "{s:?} shown as {shown:?}"
        );
        if let Some(std) = d.to_std() {
            assert_eq!(types::Duration::from_std(std), d);
        }
    }
    decodes_stably::<types::Duration>(data);
    decodes_stably::<lakebase_generated::Int64>(data);
    decodes_stably::<types::Operation>(data);
    decodes_stably::<types::Project>(data);
    decodes_stably::<types::Branch>(data);
    decodes_stably::<types::Endpoint>(data);
    decodes_stably::<types::Role>(data);
    decodes_stably::<types::Database>(data);
    decodes_stably::<types::DatabaseCredential>(data);
    decodes_stably::<types::Snapshot>(data);
    decodes_stably::<types::SnapshotSchedule>(data);
    decodes_stably::<types::SyncedTable>(data);
    decodes_stably::<types::CdfConfig>(data);
    decodes_stably::<types::ListProjectsResponse>(data);
    decodes_stably::<types::ListBranchesResponse>(data);
    decodes_stably::<types::ListEndpointsResponse>(data);
}

/// Field masks: the comma-separated wire form, paths one per line, and masks derived from a
/// JSON resource.
pub fn field_mask(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(mask) = s.parse::<FieldMask>() {
            assert_eq!(mask.to_string(), s);
            assert_eq!(mask.as_query_value().parse::<FieldMask>().ok(), Some(mask));
        }
        if let Ok(mask) = FieldMask::new(s.split('\n')) {
            assert_eq!(mask.paths().len(), s.split('\n').count());
        }
    }
    if let Ok(resource) = serde_json::from_slice::<Value>(data) {
        for prefix in [None, Some("spec")] {
            if let Ok(mask) = FieldMask::from_set_fields(&resource, prefix) {
                assert_eq!(mask.to_string().parse::<FieldMask>().ok(), Some(mask));
            }
        }
    }
}

/// Most requests one input makes, so an input's cost stays bounded.
const MAX_REQUESTS: usize = 8;
/// Most follow-up pages fetched after one list answer.
const MAX_PAGES: usize = 4;

/// The emulator's HTTP API: requests separated by a NUL byte, each `METHOD path?query` on its
/// first line and the body after it, run against a fresh emulator state holding
/// `projects/seed`. Routing, query strings, JSON bodies, field masks, durations and
/// timestamps in bodies, and page tokens: each list answer's `next_page_token` is followed,
/// and the input's own `page_token`s are checked like any other.
pub fn emulator_api(data: &[u8]) {
    let api = ApiHarness::new();
    for request in data.split(|b| *b == 0).take(MAX_REQUESTS) {
        let (line, body) = match request.iter().position(|b| *b == b'\n') {
            Some(i) => (&request[..i], &request[i + 1..]),
            None => (request, &[][..]),
        };
        let Ok(line) = std::str::from_utf8(line) else { continue };
        let Some((method, target)) = line.split_once(' ') else {
            continue;
        };
        let (status, mut answer) = api.request(method.as_bytes(), target, body);
        assert!((200..600).contains(&status), "{status} for {line}");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        // The next page is asked for with the same parameters (a token is bound to them); the
        // first `page_token` is the one read.
        for _ in 0..MAX_PAGES {
            let Some(token) = answer.get("next_page_token").and_then(Value::as_str) else {
                break;
            };
            let next = format!("{path}?page_token={}&{query}", encode_query(token));
            let (status, page) = api.request(b"GET", &next, b"");
            assert_eq!(
                status, 200,
                "the emulator's own page token {token:?} for {path}: {page}"
            );
            answer = page;
        }
    }
}

/// `+`, `/` and `=` of a base64 token percent-encoded for a query string.
fn encode_query(token: &str) -> String {
    token.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

/// The endpoint front end's PostgreSQL messages, read in the order the proxy reads them: an
/// initial packet (length word, then startup, SSL, GSSAPI-encryption or cancel request),
/// then a typed message (the password); and the whole input framed as backend messages.
pub fn pg_frontend(data: &[u8]) {
    read_handshake(data);
    let mut rest = data;
    while let Some((tag, body, total)) = protocol::backend_message(rest) {
        assert!(total >= 5 && total <= rest.len());
        if tag == b'K' {
            let _ = protocol::backend_key(body);
        }
        rest = &rest[total..];
    }
}

fn read_handshake(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Ok(body_len) = protocol::initial_body_len(*len) else {
        return;
    };
    assert!((4..=protocol::MAX_STARTUP_LEN).contains(&body_len));
    let Some((body, rest)) = rest.split_at_checked(body_len) else {
        return;
    };
    match protocol::parse_initial(body) {
        Ok(Initial::Startup(mut startup)) => {
            assert!(!startup.user().is_empty());
            let _ = startup.database();
            let encoded = startup.encode();
            assert_eq!(&encoded[4..], body, "a startup packet encodes as it was read");
            startup.set("default_transaction_read_only", "on");
            let _ = startup.encode();
        }
        Ok(Initial::Cancel { pid, key }) => {
            assert_eq!(&protocol::cancel_request(pid, key)[4..], body);
        }
        Ok(Initial::Ssl | Initial::GssEnc) | Err(_) => {}
    }
    let Some((header, rest)) = rest.split_first_chunk::<5>() else {
        return;
    };
    let Ok((_, len)) = protocol::typed_body_len(*header, protocol::MAX_PASSWORD_LEN) else {
        return;
    };
    if let Some((body, _)) = rest.split_at_checked(len)
        && let Ok(password) = protocol::parse_password(body)
    {
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        assert_eq!(password.0.len() + 1, body.len());
    }
}
