//! In-memory resource store: resources as JSON objects keyed by full name, plus
//! per-collection creation order (for listing) and long-running operations.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::Instant;

use serde_json::Value;

use crate::operations::OpRecord;
use crate::wire;

/// A stored resource.
#[derive(Debug, Clone)]
pub struct Record {
    /// The resource in its settled (final) state.
    pub value: Value,
    /// A transient status overlay shown until the instant passes (e.g. `current_state: INIT`).
    pub overlay: Option<(Instant, Value)>,
    seq: u64,
}

/// A database credential: who it was issued to and until when it opens sessions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IssuedCredential {
    /// The identity (Postgres user name) it logs in as.
    pub identity: String,
    /// Its `expire_time`.
    pub expire_time: chrono::DateTime<chrono::Utc>,
}

/// The SHA-256 (hex) of a credential token: how the store keys credentials.
pub fn credential_key(token: &str) -> String {
    use sha2::Digest;
    hex_string(&sha2::Sha256::digest(token.as_bytes()))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The whole emulator state.
#[derive(Debug, Default)]
pub struct Store {
    records: HashMap<String, Record>,
    collections: HashMap<String, BTreeMap<u64, String>>,
    /// Long-running operations by name.
    pub ops: HashMap<String, OpRecord>,
    /// Role passwords by role name.
    pub passwords: HashMap<String, String>,
    /// Database credentials issued, by SHA-256 of the token (the token itself is not kept).
    pub credentials: HashMap<String, IssuedCredential>,
    /// Endpoints reconciling after a change, and branches after an endpoint deletion, with
    /// the end of their window (not kept across restarts).
    pub reconciling: HashMap<String, Instant>,
    next_seq: u64,
}

/// The collection a resource name belongs to (`projects/p/branches/b` → `projects/p/branches`).
pub fn collection_of(name: &str) -> &str {
    name.rsplit_once('/').map_or("", |(c, _)| c)
}

impl Store {
    /// Whether a resource with this name exists (soft-deleted ones included).
    pub fn contains(&self, name: &str) -> bool {
        self.records.contains_key(name)
    }

    /// The settled value of a resource.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.records.get(name).map(|r| &r.value)
    }

    /// Mutable access to the settled value of a resource.
    pub fn value_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.records.get_mut(name).map(|r| &mut r.value)
    }

    /// The resource as a client sees it at `now`: the settled value plus any live overlay,
    /// in the service's read shape ([`public`]).
    pub fn view(&self, name: &str, now: Instant) -> Option<Value> {
        self.records.get(name).map(|r| public(render(r, now)))
    }

    /// Inserts or replaces a resource; a replaced resource keeps its list position.
    pub fn put(&mut self, name: &str, value: Value, overlay: Option<(Instant, Value)>) {
        if let Some(r) = self.records.get_mut(name) {
            r.value = value;
            r.overlay = overlay;
            return;
        }
        self.next_seq += 1;
        let seq = self.next_seq;
        self.collections
            .entry(collection_of(name).to_string())
            .or_default()
            .insert(seq, name.to_string());
        self.records.insert(name.to_string(), Record { value, overlay, seq });
    }

    /// Hard-deletes a resource and everything below it.
    pub fn remove_tree(&mut self, name: &str) {
        let prefix = format!("{name}/");
        let doomed: Vec<String> = self
            .records
            .keys()
            .filter(|k| k.as_str() == name || k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in doomed {
            if let Some(r) = self.records.remove(&k)
                && let Some(c) = self.collections.get_mut(collection_of(&k))
            {
                c.remove(&r.seq);
            }
            self.passwords.remove(&k);
        }
        self.collections
            .retain(|k, c| !(k == name || k.starts_with(&prefix) || c.is_empty()));
    }

    /// Names in a collection in creation order, strictly after sequence number `after`.
    pub fn names_after(&self, collection: &str, after: u64) -> impl Iterator<Item = (u64, &str)> {
        self.collections
            .get(collection)
            .into_iter()
            .flat_map(move |c| c.range((Bound::Excluded(after), Bound::Unbounded)))
            .map(|(s, n)| (*s, n.as_str()))
    }

    /// Every resource (settled value) in creation order.
    pub fn all_in_order(&self) -> Vec<(&str, &Value)> {
        let mut all: Vec<(&u64, &str, &Value)> = self
            .records
            .iter()
            .map(|(n, r)| (&r.seq, n.as_str(), &r.value))
            .collect();
        all.sort_by_key(|(seq, _, _)| **seq);
        all.into_iter().map(|(_, n, v)| (n, v)).collect()
    }

    /// Names of every resource strictly under `prefix` (`prefix/...`), sorted.
    pub fn names_under(&self, prefix: &str) -> Vec<String> {
        let p = format!("{prefix}/");
        let mut names: Vec<String> = self.records.keys().filter(|k| k.starts_with(&p)).cloned().collect();
        names.sort();
        names
    }

    /// Values of all resources of a collection (settled state), in creation order.
    pub fn values_in(&self, collection: &str) -> Vec<(&str, &Value)> {
        self.names_after(collection, 0)
            .filter_map(|(_, n)| self.records.get(n).map(|r| (n, &r.value)))
            .collect()
    }
}

/// What the service answers of a stored resource: a resource with a `status` is read back
/// without its `spec` (the service never echoes `spec`, nor the input-only `no_expiry`,
/// `replace_existing` or `purge`, which live there or in the query). The emulator keeps the
/// spec internally, to apply update masks to it.
pub fn public(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut()
        && obj.get("status").is_some_and(Value::is_object)
    {
        obj.remove("spec");
    }
    v
}

fn render(r: &Record, now: Instant) -> Value {
    match &r.overlay {
        Some((until, patch)) if now < *until => {
            let mut v = r.value.clone();
            wire::merge(&mut v, patch);
            v
        }
        _ => r.value.clone(),
    }
}
