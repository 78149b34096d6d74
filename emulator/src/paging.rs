//! List pagination with opaque, tamper-evident page tokens.
//!
//! A token is standard base64 of 16 bytes: the creation sequence number of the last item
//! returned (8 bytes) and a keyed hash binding it to the emulator instance, the collection
//! and the list filter (8 bytes). Tokens the emulator did not issue are rejected with 400.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::query::Query;
use crate::store::Store;

/// Parameters of one list call.
pub struct ListSpec<'a> {
    /// Collection to list (e.g. `projects/p/branches`).
    pub collection: &'a str,
    /// JSON key of the items array (e.g. `branches`).
    pub key: &'a str,
    /// Whether soft-deleted resources are included (`show_deleted=true`).
    pub show_deleted: bool,
    /// Largest accepted page size; larger requests are clamped to it.
    pub max_page_size: usize,
}

fn tag(salt: u64, collection: &str, show_deleted: bool, seq: u64) -> u64 {
    let mut h = DefaultHasher::new();
    (salt, collection, show_deleted, seq).hash(&mut h);
    h.finish()
}

fn encode(salt: u64, spec: &ListSpec<'_>, seq: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seq.to_be_bytes());
    bytes[8..].copy_from_slice(&tag(salt, spec.collection, spec.show_deleted, seq).to_be_bytes());
    STANDARD.encode(bytes)
}

fn decode(salt: u64, spec: &ListSpec<'_>, token: &str) -> Result<u64, ApiError> {
    let bad = || ApiError::invalid(format!("Invalid page_token '{token}'"));
    let bytes = STANDARD.decode(token).map_err(|_| bad())?;
    let arr: [u8; 16] = bytes.try_into().map_err(|_| bad())?;
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&arr[..8]);
    let mut t = [0u8; 8];
    t.copy_from_slice(&arr[8..]);
    let seq = u64::from_be_bytes(seq);
    if u64::from_be_bytes(t) != tag(salt, spec.collection, spec.show_deleted, seq) {
        return Err(bad());
    }
    Ok(seq)
}

/// Answers a list call: `{<key>: [...], next_page_token?}`, or `{}` for an empty page.
pub fn list(
    store: &Store,
    spec: &ListSpec<'_>,
    query: &Query,
    default_page_size: usize,
    salt: u64,
    now: Instant,
) -> Result<Value, ApiError> {
    let size = match query.int("page_size")? {
        None | Some(0) => default_page_size.min(spec.max_page_size),
        Some(n) if n < 0 => return Err(ApiError::invalid("page_size must not be negative")),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(spec.max_page_size),
    }
    .max(1);
    let after = match query.get("page_token").filter(|t| !t.is_empty()) {
        Some(t) => decode(salt, spec, t)?,
        None => 0,
    };
    let mut items = Vec::new();
    let mut last_seq = after;
    let mut more = false;
    for (seq, name) in store.names_after(spec.collection, after) {
        let Some(v) = store.view(name, now) else {
            continue;
        };
        if !spec.show_deleted && crate::resources::is_deleted(&v) {
            continue;
        }
        if items.len() == size {
            more = true;
            break;
        }
        items.push(v);
        last_seq = seq;
    }
    let mut out = Map::new();
    if !items.is_empty() {
        out.insert(spec.key.to_string(), Value::Array(items));
    }
    if more {
        out.insert("next_page_token".into(), Value::String(encode(salt, spec, last_seq)));
    }
    Ok(Value::Object(out))
}
