//! Typed resource names of the Lakebase Postgres API.
//!
//! Every resource is addressed by a hierarchical name such as
//! `projects/my-app/branches/dev/endpoints/ep1`. This module gives each kind of name its own type
//! so a branch name can't be passed where an endpoint name is expected, and so ids are checked
//! before a request leaves the machine.
//!
//! Two ways to get a name, with deliberately different strictness:
//!
//! * **Constructing** from ids ([`ProjectName::new`], [`ProjectName::branch`], …) validates each id
//!   against the rules the API documents (lengths, character sets), so typos fail fast with a
//!   [`NameError::InvalidId`] naming the rule.
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

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of id a [`NameError::InvalidId`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdKind {
    /// `project_id`.
    Project,
    /// `branch_id`.
    Branch,
    /// `endpoint_id`.
    Endpoint,
    /// `role_id`.
    Role,
    /// `database_id`.
    Database,
    /// `catalog_id` (a Unity Catalog catalog name).
    Catalog,
    /// `synced_table_id` (`catalog.schema.table`) or one of its three parts.
    SyncedTable,
    /// `snapshot_id`.
    Snapshot,
    /// `cdf_config_id`.
    CdfConfig,
    /// The id of a CDF status (a Postgres table name).
    CdfStatus,
}

impl IdKind {
    /// The query/field name of this id, e.g. `"branch_id"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Project => "project_id",
            IdKind::Branch => "branch_id",
            IdKind::Endpoint => "endpoint_id",
            IdKind::Role => "role_id",
            IdKind::Database => "database_id",
            IdKind::Catalog => "catalog_id",
            IdKind::SyncedTable => "synced_table_id",
            IdKind::Snapshot => "snapshot_id",
            IdKind::CdfConfig => "cdf_config_id",
            IdKind::CdfStatus => "cdf_status_id",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invalid id or a malformed resource name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// An id does not follow the API's rules for its kind.
    #[error("invalid {kind} {value:?}: {rule}")]
    InvalidId {
        /// Which id.
        kind: IdKind,
        /// The offending value.
        value: String,
        /// The rule it breaks, in words.
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

/// Behaviour shared by all typed resource names.
pub trait ResourceName:
    fmt::Display + FromStr<Err = NameError> + AsRef<str> + Clone + fmt::Debug + Eq + std::hash::Hash
{
    /// The name pattern, e.g. `projects/{project_id}/branches/{branch_id}`.
    const PATTERN: &'static str;

    /// The full name as a string slice.
    fn as_str(&self) -> &str;
}

// ---------------------------------------------------------------------------------------------
// ID rules
// ---------------------------------------------------------------------------------------------

const RULE_DNS_LABEL: &str =
    "must be 1-63 characters, start with a lowercase letter and contain only lowercase letters, digits and hyphens";
const RULE_PG_NAME: &str = "must be 4-63 characters and contain only lowercase letters, digits and hyphens";
const RULE_CDF_CONFIG: &str =
    "must match [a-z][a-z0-9_]{0,62} (a lowercase letter, then up to 62 lowercase letters, digits or underscores)";
const RULE_FREE_ID: &str = "must be 1-255 characters without '/', whitespace or control characters";
const RULE_CDF_STATUS: &str = "must be non-empty and must not contain '/'";
const RULE_SYNCED_TABLE: &str =
    "must be 'catalog.schema.table': three non-empty dot-separated parts without '/', whitespace or control characters";

fn invalid(kind: IdKind, value: &str, rule: &'static str) -> NameError {
    NameError::InvalidId {
        kind,
        value: value.to_owned(),
        rule,
    }
}

fn is_lower_digit_hyphen(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// project_id, branch_id, endpoint_id.
fn check_dns_label(kind: IdKind, id: &str) -> Result<(), NameError> {
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if first_ok && id.len() <= 63 && id.chars().all(is_lower_digit_hyphen) {
        Ok(())
    } else {
        Err(invalid(kind, id, RULE_DNS_LABEL))
    }
}

/// database_id, role_id.
fn check_pg_name(kind: IdKind, id: &str) -> Result<(), NameError> {
    // All accepted characters are ASCII, so the byte length is the character count.
    if (4..=63).contains(&id.len()) && id.chars().all(is_lower_digit_hyphen) {
        Ok(())
    } else {
        Err(invalid(kind, id, RULE_PG_NAME))
    }
}

fn check_cdf_config(id: &str) -> Result<(), NameError> {
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && id.len() <= 63 {
        Ok(())
    } else {
        Err(invalid(IdKind::CdfConfig, id, RULE_CDF_CONFIG))
    }
}

fn is_free_char(c: char) -> bool {
    c != '/' && !c.is_whitespace() && !c.is_control()
}

/// catalog_id, snapshot_id.
fn check_free_id(kind: IdKind, id: &str) -> Result<(), NameError> {
    let len = id.chars().count();
    if (1..=255).contains(&len) && id.chars().all(is_free_char) {
        Ok(())
    } else {
        Err(invalid(kind, id, RULE_FREE_ID))
    }
}

fn check_cdf_status(id: &str) -> Result<(), NameError> {
    if !id.is_empty() && !id.contains('/') {
        Ok(())
    } else {
        Err(invalid(IdKind::CdfStatus, id, RULE_CDF_STATUS))
    }
}

fn check_synced_table(id: &str) -> Result<(), NameError> {
    let parts: Vec<&str> = id.split('.').collect();
    let ok = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(is_free_char));
    if ok {
        Ok(())
    } else {
        Err(invalid(IdKind::SyncedTable, id, RULE_SYNCED_TABLE))
    }
}

// ---------------------------------------------------------------------------------------------
// Structural parsing shared by all name types
// ---------------------------------------------------------------------------------------------

/// One `/`-separated segment of a name pattern.
#[derive(Clone, Copy)]
enum Seg {
    /// A fixed collection word such as `projects`.
    Lit(&'static str),
    /// An id: any non-empty segment.
    Id,
    /// A synced table id: three non-empty dot-separated parts.
    Table,
}

fn parse_structure(value: &str, segs: &[Seg], expected: &'static str) -> Result<(), NameError> {
    let malformed = || NameError::Malformed {
        expected,
        value: value.to_owned(),
    };
    let mut parts = value.split('/');
    for seg in segs {
        let part = parts.next().ok_or_else(malformed)?;
        let ok = match seg {
            Seg::Lit(word) => part == *word,
            Seg::Id => !part.is_empty(),
            Seg::Table => {
                let mut dots = part.split('.');
                dots.by_ref().take(3).filter(|p| !p.is_empty()).count() == 3 && dots.next().is_none()
            }
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
fn segment(name: &str, i: usize) -> &str {
    name.split('/').nth(i).unwrap_or_default()
}

/// The first `n` segments of an already validated name (the name of an ancestor).
fn prefix(name: &str, n: usize) -> String {
    name.split('/').take(n).collect::<Vec<_>>().join("/")
}

macro_rules! resource_name {
    ($(#[$doc:meta])* $name:ident, $pattern:literal, [$($seg:expr),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            const SEGMENTS: &'static [Seg] = &[$($seg),+];

            /// The full resource name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ResourceName for $name {
            const PATTERN: &'static str = $pattern;

            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;

            /// Parses a full name, checking its structure only (see the module docs).
            fn from_str(s: &str) -> Result<Self, NameError> {
                parse_structure(s, Self::SEGMENTS, $pattern)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

use Seg::{Id, Lit, Table};

resource_name!(
    /// `projects/{project_id}`.
    ProjectName, "projects/{project_id}", [Lit("projects"), Id]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}`.
    BranchName, "projects/{project_id}/branches/{branch_id}",
    [Lit("projects"), Id, Lit("branches"), Id]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}`.
    EndpointName, "projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("endpoints"), Id]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/roles/{role_id}`.
    RoleName, "projects/{project_id}/branches/{branch_id}/roles/{role_id}",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("roles"), Id]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/databases/{database_id}`.
    DatabaseName, "projects/{project_id}/branches/{branch_id}/databases/{database_id}",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("databases"), Id]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/snapshot-schedule` (a singleton).
    SnapshotScheduleName, "projects/{project_id}/branches/{branch_id}/snapshot-schedule",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("snapshot-schedule")]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/databases/{database_id}/data-api` (a singleton).
    DataApiName, "projects/{project_id}/branches/{branch_id}/databases/{database_id}/data-api",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("databases"), Id, Lit("data-api")]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/databases/{database_id}/cdf-configs/{cdf_config_id}`.
    CdfConfigName,
    "projects/{project_id}/branches/{branch_id}/databases/{database_id}/cdf-configs/{cdf_config_id}",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("databases"), Id, Lit("cdf-configs"), Id]
);
resource_name!(
    /// `projects/{project_id}/branches/{branch_id}/databases/{database_id}/cdf-configs/{cdf_config_id}/cdf-statuses/{cdf_status_id}`.
    CdfStatusName,
    "projects/{project_id}/branches/{branch_id}/databases/{database_id}/cdf-configs/{cdf_config_id}/cdf-statuses/{cdf_status_id}",
    [Lit("projects"), Id, Lit("branches"), Id, Lit("databases"), Id, Lit("cdf-configs"), Id,
     Lit("cdf-statuses"), Id]
);
resource_name!(
    /// `projects/{project_id}/snapshots/{snapshot_id}`.
    SnapshotName, "projects/{project_id}/snapshots/{snapshot_id}",
    [Lit("projects"), Id, Lit("snapshots"), Id]
);
resource_name!(
    /// `catalogs/{catalog_id}` (a Unity Catalog catalog registered with Lakebase).
    CatalogName, "catalogs/{catalog_id}", [Lit("catalogs"), Id]
);
resource_name!(
    /// `synced_tables/{catalog}.{schema}.{table}` (the id is one segment containing two dots).
    SyncedTableName, "synced_tables/{catalog}.{schema}.{table}", [Lit("synced_tables"), Table]
);

impl ProjectName {
    /// `projects/{project_id}`, validating the id (1-63 chars, lowercase letter first,
    /// `[a-z0-9-]`).
    pub fn new(project_id: &str) -> Result<Self, NameError> {
        check_dns_label(IdKind::Project, project_id)?;
        Ok(Self(format!("projects/{project_id}")))
    }

    /// The `project_id`.
    pub fn project_id(&self) -> &str {
        segment(&self.0, 1)
    }

    /// The branch `branch_id` of this project (id validated like a project id).
    pub fn branch(&self, branch_id: &str) -> Result<BranchName, NameError> {
        check_dns_label(IdKind::Branch, branch_id)?;
        Ok(BranchName(format!("{}/branches/{branch_id}", self.0)))
    }

    /// The snapshot `snapshot_id` of this project (1-255 chars, no `/`, whitespace or control
    /// characters).
    pub fn snapshot(&self, snapshot_id: &str) -> Result<SnapshotName, NameError> {
        check_free_id(IdKind::Snapshot, snapshot_id)?;
        Ok(SnapshotName(format!("{}/snapshots/{snapshot_id}", self.0)))
    }
}

impl BranchName {
    /// The `project_id`.
    pub fn project_id(&self) -> &str {
        segment(&self.0, 1)
    }

    /// The `branch_id`.
    pub fn branch_id(&self) -> &str {
        segment(&self.0, 3)
    }

    /// The parent project.
    pub fn project(&self) -> ProjectName {
        ProjectName(prefix(&self.0, 2))
    }

    /// The endpoint `endpoint_id` of this branch (id validated like a project id).
    pub fn endpoint(&self, endpoint_id: &str) -> Result<EndpointName, NameError> {
        check_dns_label(IdKind::Endpoint, endpoint_id)?;
        Ok(EndpointName(format!("{}/endpoints/{endpoint_id}", self.0)))
    }

    /// The role `role_id` of this branch (4-63 chars, `[a-z0-9-]`).
    pub fn role(&self, role_id: &str) -> Result<RoleName, NameError> {
        check_pg_name(IdKind::Role, role_id)?;
        Ok(RoleName(format!("{}/roles/{role_id}", self.0)))
    }

    /// The database `database_id` of this branch (4-63 chars, `[a-z0-9-]`).
    pub fn database(&self, database_id: &str) -> Result<DatabaseName, NameError> {
        check_pg_name(IdKind::Database, database_id)?;
        Ok(DatabaseName(format!("{}/databases/{database_id}", self.0)))
    }

    /// The snapshot schedule of this branch (a singleton).
    pub fn snapshot_schedule(&self) -> SnapshotScheduleName {
        SnapshotScheduleName(format!("{}/snapshot-schedule", self.0))
    }
}

macro_rules! branch_child {
    ($name:ident, $id_fn:ident, $id_doc:literal) => {
        impl $name {
            /// The `project_id`.
            pub fn project_id(&self) -> &str {
                segment(&self.0, 1)
            }

            /// The `branch_id`.
            pub fn branch_id(&self) -> &str {
                segment(&self.0, 3)
            }

            #[doc = $id_doc]
            pub fn $id_fn(&self) -> &str {
                segment(&self.0, 5)
            }

            /// The project this resource belongs to.
            pub fn project(&self) -> ProjectName {
                ProjectName(prefix(&self.0, 2))
            }

            /// The parent branch.
            pub fn branch(&self) -> BranchName {
                BranchName(prefix(&self.0, 4))
            }
        }
    };
}

branch_child!(EndpointName, endpoint_id, "The `endpoint_id`.");
branch_child!(RoleName, role_id, "The `role_id`.");
branch_child!(DatabaseName, database_id, "The `database_id`.");

impl SnapshotScheduleName {
    /// The `project_id`.
    pub fn project_id(&self) -> &str {
        segment(&self.0, 1)
    }

    /// The `branch_id`.
    pub fn branch_id(&self) -> &str {
        segment(&self.0, 3)
    }

    /// The branch this schedule belongs to.
    pub fn branch(&self) -> BranchName {
        BranchName(prefix(&self.0, 4))
    }
}

impl DatabaseName {
    /// The Data API of this database (a singleton).
    pub fn data_api(&self) -> DataApiName {
        DataApiName(format!("{}/data-api", self.0))
    }

    /// The CDF config `cdf_config_id` of this database (`[a-z][a-z0-9_]{0,62}`).
    pub fn cdf_config(&self, cdf_config_id: &str) -> Result<CdfConfigName, NameError> {
        check_cdf_config(cdf_config_id)?;
        Ok(CdfConfigName(format!("{}/cdf-configs/{cdf_config_id}", self.0)))
    }
}

macro_rules! database_child {
    ($name:ident) => {
        impl $name {
            /// The `project_id`.
            pub fn project_id(&self) -> &str {
                segment(&self.0, 1)
            }

            /// The `branch_id`.
            pub fn branch_id(&self) -> &str {
                segment(&self.0, 3)
            }

            /// The `database_id`.
            pub fn database_id(&self) -> &str {
                segment(&self.0, 5)
            }

            /// The database this resource belongs to.
            pub fn database(&self) -> DatabaseName {
                DatabaseName(prefix(&self.0, 6))
            }
        }
    };
}

database_child!(DataApiName);
database_child!(CdfConfigName);
database_child!(CdfStatusName);

impl CdfConfigName {
    /// The `cdf_config_id`.
    pub fn cdf_config_id(&self) -> &str {
        segment(&self.0, 7)
    }

    /// The status of the Postgres table `cdf_status_id` under this config (non-empty, no `/`).
    pub fn cdf_status(&self, cdf_status_id: &str) -> Result<CdfStatusName, NameError> {
        check_cdf_status(cdf_status_id)?;
        Ok(CdfStatusName(format!("{}/cdf-statuses/{cdf_status_id}", self.0)))
    }
}

impl CdfStatusName {
    /// The `cdf_config_id`.
    pub fn cdf_config_id(&self) -> &str {
        segment(&self.0, 7)
    }

    /// The id of this status (the Postgres table).
    pub fn cdf_status_id(&self) -> &str {
        segment(&self.0, 9)
    }

    /// The parent CDF config.
    pub fn cdf_config(&self) -> CdfConfigName {
        CdfConfigName(prefix(&self.0, 8))
    }
}

impl SnapshotName {
    /// The `project_id`.
    pub fn project_id(&self) -> &str {
        segment(&self.0, 1)
    }

    /// The `snapshot_id`.
    pub fn snapshot_id(&self) -> &str {
        segment(&self.0, 3)
    }

    /// The parent project.
    pub fn project(&self) -> ProjectName {
        ProjectName(prefix(&self.0, 2))
    }
}

impl CatalogName {
    /// `catalogs/{catalog_id}`, validating the id (1-255 chars, no `/`, whitespace or control
    /// characters).
    pub fn new(catalog_id: &str) -> Result<Self, NameError> {
        check_free_id(IdKind::Catalog, catalog_id)?;
        Ok(Self(format!("catalogs/{catalog_id}")))
    }

    /// The `catalog_id`.
    pub fn catalog_id(&self) -> &str {
        segment(&self.0, 1)
    }
}

impl SyncedTableName {
    /// `synced_tables/{synced_table_id}` from `catalog.schema.table`.
    ///
    /// ```
    /// use lakebase::names::SyncedTableName;
    /// let t = SyncedTableName::new("main.sales.customers")?;
    /// assert_eq!(t.as_str(), "synced_tables/main.sales.customers");
    /// assert_eq!((t.catalog(), t.schema(), t.table()), ("main", "sales", "customers"));
    /// assert!(SyncedTableName::new("main.customers").is_err());
    /// # Ok::<(), lakebase::names::NameError>(())
    /// ```
    pub fn new(synced_table_id: &str) -> Result<Self, NameError> {
        check_synced_table(synced_table_id)?;
        Ok(Self(format!("synced_tables/{synced_table_id}")))
    }

    /// `synced_tables/{catalog}.{schema}.{table}` from the three parts.
    pub fn from_parts(catalog: &str, schema: &str, table: &str) -> Result<Self, NameError> {
        Self::new(&format!("{catalog}.{schema}.{table}"))
    }

    /// The `synced_table_id` (`catalog.schema.table`).
    pub fn synced_table_id(&self) -> &str {
        segment(&self.0, 1)
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
        for bad in [
            "synced_tables/a.b",
            "synced_tables/a.b.c.d",
            "synced_tables/a..c",
            "synced_tables/.b.c",
            "synced_tables/a.b.",
            "synced_tables/a/b.c",
            "synced_tables/",
        ] {
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
                assert_eq!(rule, RULE_DNS_LABEL);
            }
        }
        let err = ProjectName::new("Bad").unwrap_err();
        assert_eq!(err.to_string(), format!("invalid project_id \"Bad\": {RULE_DNS_LABEL}"));
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
            assert_eq!(branch.database(id).is_ok(), *ok, "database {id:?}");
        }
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
