//! Typed resource names of the Lakebase Postgres API.
//!
//! Every resource is addressed by a hierarchical name such as
//! `projects/my-app/branches/dev/endpoints/ep1`. This module gives each kind of name its own type
//! so a branch name can't be passed where an endpoint name is expected, and so ids are checked
//! before a request leaves the machine.
//!
//! The name types ([`ProjectName`], [`BranchName`], ...), their id accessors, parent getters and
//! child constructors are generated from the spec's `x-lakebase-name-pattern`s, and the id rules
//! from the `pattern`s of its path parameters (`client-ext/src/generated/names.rs`). This module
//! holds what they plug into: [`ResourceName`], [`NameError`], structural parsing and id rules,
//! plus the hand-written [`OperationName`] and the [`SyncedTableName`] extras.
//!
//! Two ways to get a name, with deliberately different strictness:
//!
//! * **Constructing** from ids ([`ProjectName::new`], [`ProjectName::branch`], …) validates each id
//!   against the rule the spec gives it (a `pattern`: lengths, character sets), so typos fail fast
//!   with a [`NameError::InvalidId`] naming the rule.
//! * **Parsing** a full name ([`FromStr`], serde) checks only the structure — the collection words,
//!   their order, the number of segments and that no segment is empty — so names returned by the
//!   server keep parsing even if the server widens its id character set.
//!
//! Every name type displays (and serializes) as exactly the string it was parsed from.
//!
//! ```
//! use lakebase::names::{BranchName, ProjectName};
//!
//! let project = ProjectName::new("my-app")?;
//! let branch = project.branch("dev")?;
//! let endpoint = branch.endpoint("ep1")?;
//! assert_eq!(endpoint.to_string(), "projects/my-app/branches/dev/endpoints/ep1");
//! assert_eq!(endpoint.branch(), branch);
//! assert_eq!(endpoint.branch().project().project_id(), "my-app");
//!
//! let parsed: BranchName = "projects/my-app/branches/dev".parse()?;
//! assert_eq!(parsed, branch);
//! assert!(ProjectName::new("My_App").is_err());
//! # Ok::<(), lakebase::names::NameError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::generated::names::*;

/// An invalid id or a malformed resource name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// An id does not follow the API's rule for its kind.
    #[error("invalid {kind} {value:?}: must match {rule}")]
    InvalidId {
        /// Which id.
        kind: IdKind,
        /// The offending value.
        value: String,
        /// A pattern it must match (an ECMAScript regular expression from the spec: the
        /// service's observed rule where the spec records one, else the documented one).
        rule: &'static str,
    },
    /// A full resource name does not have the expected structure.
    #[error("malformed resource name {value:?}: expected {expected}")]
    Malformed {
        /// The expected pattern, e.g. `projects/{project_id}/branches/{branch_id}`.
        expected: &'static str,
        /// The offending value.
        value: String,
    },
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Behaviour shared by all typed resource names.
pub trait ResourceName:
    fmt::Display + FromStr<Err = NameError> + AsRef<str> + Clone + fmt::Debug + Eq + std::hash::Hash
{
    /// The name pattern, e.g. `projects/{project_id}/branches/{branch_id}`.
    const PATTERN: &'static str;

    /// The full name as a string slice.
    fn as_str(&self) -> &str;
}

/// The rule of one kind of id: the `pattern` the spec gives its path parameters and, where
/// the service was observed to apply another rule, that one too (`x-lakebase-observed-pattern`).
/// An id is refused only when it breaks both, so the client never refuses an id the service
/// takes. Patterns compile on first use (ECMAScript syntax with the `u` flag, so lengths
/// count characters).
pub(crate) struct IdRule {
    kind: IdKind,
    pattern: &'static str,
    observed: Option<&'static str>,
    regex: OnceLock<Option<regress::Regex>>,
    observed_regex: OnceLock<Option<regress::Regex>>,
}

impl IdRule {
    /// The rule for `kind`: ids must match `pattern` or `observed` (anchored with `^` and `$`).
    pub(crate) const fn new(kind: IdKind, pattern: &'static str, observed: Option<&'static str>) -> Self {
        IdRule {
            kind,
            pattern,
            observed,
            regex: OnceLock::new(),
            observed_regex: OnceLock::new(),
        }
    }

    /// Fails with [`NameError::InvalidId`] when `id` breaks the rule. A pattern that does not
    /// compile refuses every id (codegen lints the spec's patterns, so this does not happen).
    pub(crate) fn check(&self, id: &str) -> Result<(), NameError> {
        let matches = |cell: &OnceLock<Option<regress::Regex>>, pattern: &str| {
            cell.get_or_init(|| regress::Regex::with_flags(pattern, "u").ok())
                .as_ref()
                .is_some_and(|r| r.find(id).is_some())
        };
        if matches(&self.regex, self.pattern) || self.observed.is_some_and(|o| matches(&self.observed_regex, o)) {
            Ok(())
        } else {
            Err(NameError::InvalidId {
                kind: self.kind,
                value: id.to_owned(),
                rule: self.observed.unwrap_or(self.pattern),
            })
        }
    }
}

/// One `/`-separated segment of a name pattern.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Segment {
    /// A fixed collection word such as `projects`.
    Literal(&'static str),
    /// An id: any non-empty segment.
    Id,
}

/// Checks the structure of a full name: the collection words, their order, the number of
/// segments, and that no id segment is empty.
pub(crate) fn parse_structure(value: &str, segments: &[Segment], expected: &'static str) -> Result<(), NameError> {
    let malformed = || NameError::Malformed {
        expected,
        value: value.to_owned(),
    };
    let mut parts = value.split('/');
    for seg in segments {
        let part = parts.next().ok_or_else(malformed)?;
        let ok = match seg {
            Segment::Literal(word) => part == *word,
            Segment::Id => !part.is_empty(),
        };
        if !ok {
            return Err(malformed());
        }
    }
    if parts.next().is_some() {
        return Err(malformed());
    }
    Ok(())
}

/// The `i`-th `/`-separated segment of an already validated name.
pub(crate) fn segment(name: &str, i: usize) -> &str {
    name.split('/').nth(i).unwrap_or_default()
}

/// The first `n` segments of an already validated name (the name of an ancestor).
pub(crate) fn prefix(name: &str, n: usize) -> String {
    name.split('/').take(n).collect::<Vec<_>>().join("/")
}

/// The trait impls every generated name type shares: [`ResourceName`], structural
/// [`FromStr`], `Display`, `AsRef<str>`, `Into<String>` and serde as a plain string.
macro_rules! resource_name {
    ($name:ident, $pattern:literal, [$($seg:expr),+ $(,)?]) => {
        impl $crate::names::ResourceName for $name {
            const PATTERN: &'static str = $pattern;

            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl $name {
            /// The full resource name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::NameError;

            /// Parses a full name, checking its structure only (see the module docs).
            fn from_str(s: &str) -> Result<Self, $crate::names::NameError> {
                $crate::names::parse_structure(s, &[$($seg),+], $pattern)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use resource_name;

/// Hand-written extras of the generated [`SyncedTableName`]: its id is `catalog.schema.table`.
impl SyncedTableName {
    /// `synced_tables/{catalog}.{schema}.{table}` from the three parts.
    ///
    /// ```
    /// use lakebase::names::SyncedTableName;
    /// let t = SyncedTableName::from_parts("main", "sales", "customers")?;
    /// assert_eq!(t.as_str(), "synced_tables/main.sales.customers");
    /// assert_eq!((t.catalog(), t.schema(), t.table()), ("main", "sales", "customers"));
    /// assert!(SyncedTableName::new("main.customers").is_err());
    /// # Ok::<(), lakebase::names::NameError>(())
    /// ```
    pub fn from_parts(catalog: &str, schema: &str, table: &str) -> Result<Self, NameError> {
        Self::new(&format!("{catalog}.{schema}.{table}"))
    }

    /// The catalog part.
    pub fn catalog(&self) -> &str {
        self.synced_table_id().split('.').next().unwrap_or_default()
    }

    /// The schema part.
    pub fn schema(&self) -> &str {
        self.synced_table_id().split('.').nth(1).unwrap_or_default()
    }

    /// The table part.
    pub fn table(&self) -> &str {
        self.synced_table_id().split('.').nth(2).unwrap_or_default()
    }
}

/// The name of a long-running operation, e.g. `projects/my-app/operations/AbC+/x=`.
///
/// Server-assigned and opaque. The service's operation ids are base64-like (`[A-Za-z0-9+/=]`),
/// so a name may hold `+`, `=`, `/`, and even an empty segment (`operations//x`, `operations/x/`)
/// when an id starts or ends with `/`. The name is kept verbatim and appended as-is to the API
/// base path, exactly as the official SDKs do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationName(String);

const OPERATION_PATTERN: &str =
    "a non-empty operation name that does not start with '/' and that a URL path carries unchanged";

impl OperationName {
    /// Wraps a server-assigned operation name.
    ///
    /// The name goes into the URL byte for byte, so a name that would change which URL is
    /// requested is refused: one that is empty or starts with `/`, holds `%` (the server would
    /// decode it into another name), or that the URL parser would rewrite (a `.`/`..` segment,
    /// `?`, `#`, `\`, whitespace, control, non-ASCII and other characters it escapes). Everything
    /// the service really sends (`+`, `=`, `/` anywhere, empty segments) is kept as it came.
    ///
    /// ```
    /// use lakebase::OperationName;
    ///
    /// let op = OperationName::new("projects/p/operations//AbC+d=").unwrap();
    /// assert_eq!(op.as_str(), "projects/p/operations//AbC+d=");
    /// assert!(OperationName::new("projects/p/operations/../x").is_err());
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        if name.is_empty() || name.starts_with('/') || name.contains('%') || !url_keeps_verbatim(&name) {
            return Err(NameError::Malformed {
                expected: OPERATION_PATTERN,
                value: name,
            });
        }
        Ok(Self(name))
    }

    /// The operation name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `path` survives as the tail of a URL path unchanged: no normalisation of dot
/// segments or backslashes, no escaping, no query or fragment split off.
fn url_keeps_verbatim(path: &str) -> bool {
    const BASE: &str = "http://host/base/";
    url::Url::parse(&format!("{BASE}{path}")).is_ok_and(|url| {
        url.query().is_none() && url.fragment().is_none() && url.path().strip_prefix("/base/") == Some(path)
    })
}

impl ResourceName for OperationName {
    const PATTERN: &'static str = OPERATION_PATTERN;

    fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OperationName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl fmt::Display for OperationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OperationName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<OperationName> for String {
    fn from(name: OperationName) -> String {
        name.0
    }
}

impl Serialize for OperationName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OperationName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<N>(s: &str)
    where
        N: ResourceName + Serialize + for<'de> Deserialize<'de>,
    {
        let n: N = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(n.to_string(), s);
        assert_eq!(n.as_ref(), s);
        assert_eq!(ResourceName::as_str(&n), s);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, serde_json::to_string(s).unwrap());
        let back: N = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n);
    }

    #[test]
    fn round_trips() {
        round_trip::<ProjectName>("projects/my-app");
        round_trip::<BranchName>("projects/my-app/branches/dev");
        round_trip::<EndpointName>("projects/p/branches/b/endpoints/ep-1");
        round_trip::<RoleName>("projects/p/branches/b/roles/app-owner");
        round_trip::<DatabaseName>("projects/p/branches/b/databases/app-db");
        round_trip::<SnapshotScheduleName>("projects/p/branches/b/snapshot-schedule");
        round_trip::<DataApiName>("projects/p/branches/b/databases/d/data-api");
        round_trip::<CdfConfigName>("projects/p/branches/b/databases/d/cdf-configs/c");
        round_trip::<CdfStatusName>("projects/p/branches/b/databases/d/cdf-configs/c/cdf-statuses/public.orders");
        round_trip::<SnapshotName>("projects/p/snapshots/snap-2025-01-01");
        round_trip::<CatalogName>("catalogs/app_catalog");
        round_trip::<SyncedTableName>("synced_tables/main.sales.customers");
        round_trip::<OperationName>("projects/p/operations/AbC+/x==");
        // Parsing is structural: a server-side charset widening keeps working.
        round_trip::<ProjectName>("projects/My_App.v2");
        round_trip::<BranchName>("projects/p/branches/Ünïcode");
    }

    #[test]
    fn malformed_names() {
        let cases: &[(&str, bool)] = &[
            ("projects/p/branches/b", true),
            ("", false),
            ("projects", false),
            ("projects/", false),
            ("projects/p", false),
            ("projects/p/branches", false),
            ("projects/p/branches/", false),
            ("projects/p/branches/b/", false),
            ("/projects/p/branches/b", false),
            ("projects//branches/b", false),
            ("projects/p/branchs/b", false),
            ("project/p/branches/b", false),
            ("projects/p/branches/b/endpoints/e", false),
            ("Projects/p/branches/b", false),
        ];
        for (input, ok) in cases {
            let r = input.parse::<BranchName>();
            assert_eq!(r.is_ok(), *ok, "{input:?}: {r:?}");
            if let Err(e) = r {
                assert_eq!(
                    e,
                    NameError::Malformed {
                        expected: "projects/{project_id}/branches/{branch_id}",
                        value: input.to_string()
                    }
                );
                assert!(e.to_string().contains("projects/{project_id}/branches/{branch_id}"));
            }
        }
        for bad in ["synced_tables/a/b.c", "synced_tables/", "synced_table/a.b.c"] {
            assert!(bad.parse::<SyncedTableName>().is_err(), "{bad}");
        }
        assert!(
            "projects/p/branches/b/snapshot-schedules"
                .parse::<SnapshotScheduleName>()
                .is_err()
        );
        assert!(
            "projects/p/branches/b/databases/d/data-api/x"
                .parse::<DataApiName>()
                .is_err()
        );
        assert!("".parse::<OperationName>().is_err());
        assert!("/projects/p/operations/x".parse::<OperationName>().is_err());
        for bad in [
            "projects/p/operations/a?b",
            "projects/p/operations/a#b",
            "projects/p/operations/a%2Fb",
            "projects/p/operations/a b",
            "projects/p/operations/../x",
            "projects/p/operations/./x",
            "projects/p/operations/x/..",
            "projects/p/operations/a\\b",
            "projects/p/operations/a\nb",
            "projects/p/operations/a\tb",
            "projects/p/operations/a\"b",
            "projects/p/operations/a<b>",
            "projects/p/operations/a{b}",
            "projects/p/operations/a`b",
            "projects/p/operations/é",
        ] {
            assert!(bad.parse::<OperationName>().is_err(), "{bad:?}");
        }
        // Base64-like ids as the service sends them: `/` may open, close or double up.
        for good in [
            "projects/p/operations/AbC+d/e=f==",
            "projects/p/operations/f17bb229-a1f8-5b92",
            "projects/lc-a/operations//GN99b/F0m2Vm/7jwNHlww==",
            "projects/p/operations/ab//cd==",
            "projects/p/operations/abc/",
            "projects/p/operations///",
            "catalogs/c/operations/+/+==",
        ] {
            assert_eq!(good.parse::<OperationName>().unwrap().as_str(), good);
        }
        assert!(serde_json::from_str::<ProjectName>("\"projects/\"").is_err());
        assert!(serde_json::from_str::<OperationName>("\"\"").is_err());
    }

    /// The spec's pattern of project, branch and endpoint ids.
    const DNS_LABEL: &str = "^[a-z][a-z0-9-]{0,62}$";

    #[test]
    fn dns_label_ids() {
        let long63 = format!("a{}", "b".repeat(62));
        let long64 = format!("a{}", "b".repeat(63));
        let cases: &[(&str, bool)] = &[
            ("", false),
            ("a", true),
            ("my-app", true),
            ("a1-", true),
            (&long63, true),
            (&long64, false),
            ("1abc", false),
            ("-abc", false),
            ("My-app", false),
            ("my_app", false),
            ("my/app", false),
            ("my app", false),
            ("café", false),
            ("my.app", false),
        ];
        for (id, ok) in cases {
            let p = ProjectName::new(id);
            assert_eq!(p.is_ok(), *ok, "project {id:?}: {p:?}");
            let parent = ProjectName::new("p").unwrap();
            let b = parent.branch(id);
            assert_eq!(b.is_ok(), *ok, "branch {id:?}");
            let e = parent.branch("b").unwrap().endpoint(id);
            assert_eq!(e.is_ok(), *ok, "endpoint {id:?}");
            if let Err(NameError::InvalidId { kind, value, rule }) = e {
                assert_eq!(kind, IdKind::Endpoint);
                assert_eq!(value, *id);
                assert_eq!(rule, DNS_LABEL);
            }
        }
        let err = ProjectName::new("Bad").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid project_id \"Bad\": must match {DNS_LABEL}")
        );
    }

    #[test]
    fn pg_name_ids() {
        let branch: BranchName = "projects/p/branches/b".parse().unwrap();
        let long63 = "a".repeat(63);
        let long64 = "a".repeat(64);
        let cases: &[(&str, bool)] = &[
            ("", false),
            ("abc", false),
            ("abcd", true),
            ("1234", true),
            ("-app", true),
            ("app-owner", true),
            (&long63, true),
            (&long64, false),
            ("App-owner", false),
            ("app_owner", false),
            ("app/owner", false),
            ("äpp-owner", false),
        ];
        for (id, ok) in cases {
            assert_eq!(branch.role(id).is_ok(), *ok, "role {id:?}");
        }
        // Database ids: the documented rule, or the one the service was observed to apply
        // (a letter first, 1-63, no trailing hyphen), so short ids like `db1` pass.
        for (id, ok) in cases {
            let observed = matches!(*id, "abc");
            assert_eq!(branch.database(id).is_ok(), *ok || observed, "database {id:?}");
        }
        for id in ["db1", "a", "x9"] {
            assert!(branch.database(id).is_ok(), "database {id:?}");
        }
        assert!(matches!(
            branch.database("1x"),
            Err(NameError::InvalidId {
                kind: IdKind::Database,
                rule: "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
                ..
            })
        ));
        assert!(matches!(
            branch.role("x"),
            Err(NameError::InvalidId { kind: IdKind::Role, .. })
        ));
    }

    #[test]
    fn cdf_ids() {
        let db: DatabaseName = "projects/p/branches/b/databases/app-db".parse().unwrap();
        let long63 = format!("a{}", "_".repeat(62));
        let long64 = format!("a{}", "_".repeat(63));
        for (id, ok) in [
            ("a", true),
            ("public", true),
            ("my_schema_2", true),
            (long63.as_str(), true),
            (long64.as_str(), false),
            ("", false),
            ("_x", false),
            ("1x", false),
            ("my-schema", false),
            ("Public", false),
        ] {
            assert_eq!(db.cdf_config(id).is_ok(), ok, "cdf config {id:?}");
        }
        let cfg = db.cdf_config("public").unwrap();
        assert!(cfg.cdf_status("").is_err());
        assert!(cfg.cdf_status("a/b").is_err());
        let status = cfg.cdf_status("Orders Table").unwrap();
        assert_eq!(status.cdf_status_id(), "Orders Table");
        assert_eq!(status.cdf_config(), cfg);
        assert_eq!(status.database(), db);
    }

    #[test]
    fn free_ids() {
        let project = ProjectName::new("p").unwrap();
        let long255 = "x".repeat(255);
        let long256 = "x".repeat(256);
        let uni255 = "é".repeat(255);
        for (id, ok) in [
            ("a", true),
            ("Main_Catalog-1", true),
            ("snap.2025-01-01", true),
            (long255.as_str(), true),
            (uni255.as_str(), true),
            (long256.as_str(), false),
            ("", false),
            ("a/b", false),
            ("a b", false),
            ("a\tb", false),
            ("a\u{7}b", false),
        ] {
            assert_eq!(CatalogName::new(id).is_ok(), ok, "catalog {id:?}");
            assert_eq!(project.snapshot(id).is_ok(), ok, "snapshot {id:?}");
        }
    }

    #[test]
    fn synced_tables() {
        for (id, ok) in [
            ("main.sales.customers", true),
            ("a.b.c", true),
            ("a.b", false),
            ("a.b.c.d", false),
            ("a..c", false),
            ("", false),
            ("a/x.b.c", false),
            ("a.b c.d", false),
        ] {
            assert_eq!(SyncedTableName::new(id).is_ok(), ok, "synced table {id:?}");
        }
        let t = SyncedTableName::from_parts("main", "sales", "orders").unwrap();
        assert_eq!(t.as_str(), "synced_tables/main.sales.orders");
        assert_eq!(t.synced_table_id(), "main.sales.orders");
        assert!(SyncedTableName::from_parts("main", "", "orders").is_err());
        assert!(SyncedTableName::from_parts("main", "a.b", "orders").is_err());
    }

    #[test]
    fn navigation() {
        let project = ProjectName::new("my-app").unwrap();
        assert_eq!(project.project_id(), "my-app");
        let branch = project.branch("dev").unwrap();
        assert_eq!((branch.project_id(), branch.branch_id()), ("my-app", "dev"));
        assert_eq!(branch.project(), project);

        let ep = branch.endpoint("ep1").unwrap();
        assert_eq!(ep.as_str(), "projects/my-app/branches/dev/endpoints/ep1");
        assert_eq!(
            (ep.project_id(), ep.branch_id(), ep.endpoint_id()),
            ("my-app", "dev", "ep1")
        );
        assert_eq!(ep.branch(), branch);
        assert_eq!(ep.project(), project);

        let role = branch.role("app-owner").unwrap();
        assert_eq!(role.role_id(), "app-owner");
        assert_eq!(role.branch(), branch);

        let db = branch.database("app-db").unwrap();
        assert_eq!(db.database_id(), "app-db");
        assert_eq!(db.branch(), branch);
        assert_eq!(db.project(), project);

        let sched = branch.snapshot_schedule();
        assert_eq!(sched.as_str(), "projects/my-app/branches/dev/snapshot-schedule");
        assert_eq!(sched.branch(), branch);
        assert_eq!((sched.project_id(), sched.branch_id()), ("my-app", "dev"));

        let api = db.data_api();
        assert_eq!(api.as_str(), "projects/my-app/branches/dev/databases/app-db/data-api");
        assert_eq!(api.database(), db);
        assert_eq!(
            (api.project_id(), api.branch_id(), api.database_id()),
            ("my-app", "dev", "app-db")
        );

        let cfg = db.cdf_config("public").unwrap();
        assert_eq!(cfg.cdf_config_id(), "public");
        assert_eq!(cfg.database(), db);

        let snap = project.snapshot("s1").unwrap();
        assert_eq!(snap.as_str(), "projects/my-app/snapshots/s1");
        assert_eq!((snap.project_id(), snap.snapshot_id()), ("my-app", "s1"));
        assert_eq!(snap.project(), project);

        let cat = CatalogName::new("app_catalog").unwrap();
        assert_eq!(cat.catalog_id(), "app_catalog");
        assert_eq!(String::from(cat), "catalogs/app_catalog");

        let op = OperationName::new("projects/my-app/operations/a+b/c=").unwrap();
        assert_eq!(op.as_str(), "projects/my-app/operations/a+b/c=");
        assert_eq!(<OperationName as ResourceName>::PATTERN, OPERATION_PATTERN);
        assert_eq!(<EndpointName as ResourceName>::PATTERN, EndpointName::PATTERN_FOR_TEST);
    }

    impl EndpointName {
        const PATTERN_FOR_TEST: &'static str = "projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}";
    }

    #[test]
    fn ordering_and_hash() {
        use std::collections::BTreeSet;
        let a = ProjectName::new("a").unwrap();
        let b = ProjectName::new("b").unwrap();
        let set: BTreeSet<_> = [b.clone(), a.clone()].into_iter().collect();
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![a, b]);
    }
}
