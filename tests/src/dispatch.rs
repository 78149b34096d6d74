//! Cassette method + arguments → one typed call of the `lakebase` client.
//!
//! Every method of `PostgresAPI` (52, [`METHOD_ARGS`]) and every parameter of each is
//! handled; an unknown method, an argument the method does not take, an argument that
//! could not be used or a value that cannot be expressed with the typed API is a
//! [`DispatchError`] (a failure, never a skip).
//!
//! A name, id or update mask that is well-formed JSON but that our client's validation
//! refuses (a `NameError`, a `FieldMaskError`) is not a harness problem: it is the call's
//! outcome, `Err(Error::InvalidInput(..))`, with nothing sent, exactly what a user writing
//! the call gets (see [`dispatch`]). Every argument is read and shape-checked before such a
//! refusal is returned, so a structural problem of the cassette is never hidden by one.
//!
//! The outcome is our result rendered to wire JSON with serde (the SDK rendering rules
//! are applied later, see [`crate::rules`]), or our error.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use lakebase::names::NameError;
use lakebase::operation::OperationResult;
use lakebase::{
    BranchName, CatalogName, CdfConfigName, CdfStatusName, Client, DataApiName, DatabaseName, EndpointName, Error,
    FieldMask, Operation, OperationName, ProjectName, RoleName, SnapshotName, SnapshotScheduleName, SyncedTableName,
    types,
};
use lakebase_generated::OperationSpec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The cassette cannot be turned into a call (unknown method, unknown or unusable
/// argument, value not expressible with the typed API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchError(pub String);

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dispatcher cannot run this cassette: {}", self.0)
    }
}

/// What the call produced: our result as wire JSON, or our error.
pub type Outcome = Result<Value, Error>;

/// An argument converted to our typed input, or the error our client's validation gives
/// for it (always [`Error::InvalidInput`]); used with `?` only once every argument is read.
pub type Checked<T> = Result<T, Error>;

/// Every method and the keyword arguments it takes (the SDK's parameters, in order).
pub const METHOD_ARGS: &[(&str, &[&str])] = &[
    ("create_branch", &["parent", "branch", "branch_id", "replace_existing"]),
    ("create_catalog", &["catalog", "catalog_id"]),
    ("create_cdf_config", &["parent", "cdf_config", "cdf_config_id"]),
    ("create_data_api", &["parent", "data_api"]),
    (
        "create_database",
        &["parent", "database", "database_id", "replace_existing"],
    ),
    (
        "create_endpoint",
        &["parent", "endpoint", "endpoint_id", "replace_existing"],
    ),
    ("create_project", &["project", "project_id"]),
    ("create_role", &["parent", "role", "replace_existing", "role_id"]),
    ("create_snapshot", &["parent", "snapshot", "snapshot_id"]),
    ("create_synced_table", &["synced_table", "synced_table_id"]),
    ("delete_branch", &["name", "purge"]),
    ("delete_catalog", &["name"]),
    ("delete_cdf_config", &["name", "force"]),
    ("delete_data_api", &["name"]),
    ("delete_database", &["name"]),
    ("delete_endpoint", &["name"]),
    ("delete_project", &["name", "purge"]),
    ("delete_role", &["name", "reassign_owned_to"]),
    ("delete_snapshot", &["name"]),
    ("delete_synced_table", &["name"]),
    (
        "generate_database_credential",
        &["endpoint", "claims", "expire_time", "ttl"],
    ),
    ("get_branch", &["name"]),
    ("get_catalog", &["name"]),
    ("get_cdf_config", &["name"]),
    ("get_cdf_status", &["name"]),
    ("get_data_api", &["name"]),
    ("get_database", &["name"]),
    ("get_endpoint", &["name"]),
    ("get_operation", &["name"]),
    ("get_project", &["name"]),
    ("get_role", &["name"]),
    ("get_snapshot", &["name"]),
    ("get_snapshot_schedule", &["name"]),
    ("get_synced_table", &["name"]),
    ("list_branches", &["parent", "page_size", "page_token", "show_deleted"]),
    ("list_cdf_configs", &["parent", "page_size", "page_token"]),
    ("list_cdf_statuses", &["parent", "page_size", "page_token"]),
    ("list_databases", &["parent", "page_size", "page_token"]),
    ("list_endpoints", &["parent", "page_size", "page_token"]),
    ("list_projects", &["page_size", "page_token", "show_deleted"]),
    ("list_roles", &["parent", "page_size", "page_token"]),
    ("list_snapshots", &["parent", "page_size", "page_token"]),
    ("reveal_role_password", &["name"]),
    ("undelete_branch", &["name"]),
    ("undelete_project", &["name"]),
    ("update_branch", &["name", "branch", "update_mask"]),
    ("update_data_api", &["name", "data_api", "update_mask"]),
    ("update_database", &["name", "database", "update_mask"]),
    ("update_endpoint", &["name", "endpoint", "update_mask"]),
    ("update_project", &["name", "project", "update_mask"]),
    ("update_role", &["name", "role", "update_mask"]),
    (
        "update_snapshot_schedule",
        &["name", "snapshot_schedule", "update_mask"],
    ),
];

/// How [`METHOD_ARGS`] (as `method_args`) differs from the generated operation catalog:
/// a method missing on either side, a query parameter the dispatcher does not take, or a
/// resource body it does not take under the body schema's snake-case name. Empty when
/// they agree.
pub fn catalog_drift(method_args: &[(&str, &[&str])], operations: &[OperationSpec]) -> Vec<String> {
    let mut problems = Vec::new();
    for op in operations {
        let Some((_, args)) = method_args.iter().find(|(m, _)| *m == op.id) else {
            problems.push(format!("operation {} is not dispatched", op.id));
            continue;
        };
        for q in op.query {
            if !args.contains(q) {
                problems.push(format!("{} does not take the query parameter {q}", op.id));
            }
        }
        let resource_body = op.body.filter(|b| !b.ends_with("Request"));
        if let Some(body) = resource_body.map(snake_case)
            && !args.contains(&body.as_str())
        {
            problems.push(format!("{} does not take the body `{body}`", op.id));
        }
    }
    for (method, _) in method_args {
        if !operations.iter().any(|op| op.id == *method) {
            problems.push(format!("dispatched method {method} is no operation of the catalog"));
        }
    }
    problems
}

/// `SnapshotSchedule` -> `snapshot_schedule`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The arguments a method takes, or `None` for an unknown method.
pub fn method_args(method: &str) -> Option<&'static [&'static str]> {
    METHOD_ARGS.iter().find(|(m, _)| *m == method).map(|(_, a)| *a)
}

/// The keyword arguments of a cassette, consumed one by one; leftovers are an error.
#[derive(Debug)]
pub struct Args {
    method: String,
    map: Map<String, Value>,
    used: BTreeSet<String>,
}

impl Args {
    /// Checks the argument names against the method's parameters.
    pub fn new(method: &str, map: &Map<String, Value>) -> Result<Args, DispatchError> {
        let allowed = method_args(method).ok_or_else(|| DispatchError(format!("unknown method `{method}`")))?;
        let unknown: Vec<&String> = map.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
        if !unknown.is_empty() {
            return Err(DispatchError(format!(
                "`{method}` takes no argument(s) {unknown:?} (its parameters: {allowed:?})"
            )));
        }
        Ok(Args {
            method: method.to_string(),
            map: map.clone(),
            used: BTreeSet::new(),
        })
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.used.insert(key.to_string());
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.clone()),
        }
    }

    fn bad(&self, key: &str, why: impl fmt::Display) -> DispatchError {
        DispatchError(format!("`{}` argument `{key}`: {why}", self.method))
    }

    fn required<T>(&self, key: &str, v: Option<T>) -> Result<T, DispatchError> {
        v.ok_or_else(|| self.bad(key, "required by the SDK signature but missing (or null)"))
    }

    /// An optional string argument.
    pub fn opt_str(&mut self, key: &str) -> Result<Option<String>, DispatchError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.bad(key, format!("expected a string, got {other}"))),
        }
    }

    /// A required string argument.
    pub fn str(&mut self, key: &str) -> Result<String, DispatchError> {
        let v = self.opt_str(key)?;
        self.required(key, v)
    }

    /// A required resource name. The argument must be a string (else a [`DispatchError`]);
    /// the inner result is the name, or the [`Error::InvalidInput`] our client's parsing
    /// (`FromStr`, a [`NameError`]) gives for it: a call outcome, not a harness failure.
    pub fn name<T: FromStr<Err = NameError>>(&mut self, key: &str) -> Result<Checked<T>, DispatchError> {
        let s = self.str(key)?;
        Ok(s.parse::<T>().map_err(Error::from))
    }

    /// An optional boolean argument.
    pub fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, DispatchError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.bad(key, format!("expected a boolean, got {other}"))),
        }
    }

    /// An optional page size (the client takes `u32`).
    pub fn opt_page_size(&mut self, key: &str) -> Result<Option<u32>, DispatchError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) => Ok(Some(v)),
                None => Err(self.bad(key, format!("{n} cannot be expressed as the client's u32 page size"))),
            },
            Some(other) => Err(self.bad(key, format!("expected an integer, got {other}"))),
        }
    }

    /// A required message argument given as wire JSON.
    pub fn message<T: DeserializeOwned>(&mut self, key: &str) -> Result<T, DispatchError> {
        let v = self.take(key);
        let v = self.required(key, v)?;
        serde_json::from_value(v).map_err(|e| self.bad(key, format!("does not decode into the client's type: {e}")))
    }

    /// An optional list of messages.
    pub fn opt_messages<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<Vec<T>>, DispatchError> {
        match self.take(key) {
            None => Ok(None),
            Some(v @ Value::Array(_)) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| self.bad(key, format!("does not decode into the client's type: {e}"))),
            Some(other) => Err(self.bad(key, format!("expected a list, got {other}"))),
        }
    }

    /// A required field mask (the comma-separated wire string). The argument must be a
    /// string (else a [`DispatchError`]); the inner result is the mask, or the
    /// [`Error::InvalidInput`] our `FieldMask` parsing (a [`FieldMaskError`](lakebase::field_mask::FieldMaskError)) gives for it.
    pub fn mask(&mut self, key: &str) -> Result<Checked<FieldMask>, DispatchError> {
        let s = self.str(key)?;
        Ok(FieldMask::from_str(&s).map_err(Error::from))
    }

    /// An optional RFC 3339 timestamp.
    pub fn opt_timestamp(&mut self, key: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, DispatchError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| Some(t.with_timezone(&chrono::Utc)))
                .map_err(|e| self.bad(key, format!("{s:?} is not an RFC 3339 timestamp: {e}"))),
        }
    }

    /// An optional duration (`"<seconds>s"`).
    pub fn opt_duration(&mut self, key: &str) -> Result<Option<types::Duration>, DispatchError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => s.parse::<types::Duration>().map(Some).map_err(|e| self.bad(key, e)),
        }
    }

    /// Fails when an argument was given but never used by the dispatcher arm.
    pub fn finish(self) -> Result<(), DispatchError> {
        let unused: Vec<&String> = self.map.keys().filter(|k| !self.used.contains(*k)).collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(DispatchError(format!(
                "`{}`: argument(s) {unused:?} not handled by the dispatcher",
                self.method
            )))
        }
    }
}

/// Result of a call that returns an operation: the initial `Operation` as wire JSON, or
/// with `wait` the waited result (`null` for deletes and undeletes).
async fn lro<R, M>(started: Result<Operation<R, M>, Error>, wait: bool) -> Outcome
where
    R: OperationResult + Serialize,
    M: DeserializeOwned,
{
    let op = started?;
    if wait {
        Ok(json(&op.wait().await?))
    } else {
        Ok(json(op.raw()))
    }
}

/// The page arguments every list method takes, read before the list is built.
struct PageArgs {
    size: Option<u32>,
    token: Option<String>,
}

impl PageArgs {
    fn take(a: &mut Args) -> Result<PageArgs, DispatchError> {
        Ok(PageArgs {
            size: a.opt_page_size("page_size")?,
            token: a.opt_str("page_token")?,
        })
    }
}

/// Applies the `page_size` and `page_token` of a [`PageArgs`] to a list builder (each list
/// call has its own builder type).
macro_rules! paged {
    ($page:expr, $list:expr) => {{
        let page: PageArgs = $page;
        let mut list = $list;
        if let Some(n) = page.size {
            list = list.page_size(n);
        }
        if let Some(t) = page.token {
            list = list.page_token(t);
        }
        list
    }};
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("client types serialize to JSON")
}

/// Why [`run`] stopped before producing an outcome by itself.
enum Stop {
    /// The cassette cannot be turned into a call.
    Harness(DispatchError),
    /// The call ended with this error of our client: a refused argument (a name, id or
    /// mask our validation rejects) or the error the call returned.
    Outcome(Error),
}

impl From<DispatchError> for Stop {
    fn from(e: DispatchError) -> Self {
        Stop::Harness(e)
    }
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Outcome(e)
    }
}

/// Calls `method` with `args`. `wait` must only be set for methods returning an operation.
///
/// Every argument is read and checked for its JSON shape first (a structural problem is a
/// [`DispatchError`]); only then is a name, id or mask our client refuses turned into the
/// outcome `Err(Error::InvalidInput(..))`, through the crate's `From<NameError>` and
/// `From<FieldMaskError>` conversions, exactly as a user writing the call with `?` gets it,
/// and before anything is sent.
pub async fn dispatch(
    client: &Client,
    method: &str,
    args: &Map<String, Value>,
    wait: bool,
) -> Result<Outcome, DispatchError> {
    match run(client, method, args, wait).await {
        Ok(outcome) => Ok(outcome),
        Err(Stop::Outcome(e)) => Ok(Err(e)),
        Err(Stop::Harness(e)) => Err(e),
    }
}

/// The body of [`dispatch`]. In each arm the arguments are all taken and [`Args::finish`]
/// is called before the first `?` on a [`Checked`] value.
async fn run(client: &Client, method: &str, args: &Map<String, Value>, wait: bool) -> Result<Outcome, Stop> {
    let mut a = Args::new(method, args)?;
    let returns_operation = method.starts_with("create_")
        || method.starts_with("update_")
        || method.starts_with("delete_")
        || method.starts_with("undelete_");
    if wait && !returns_operation {
        return Err(DispatchError(format!(
            "`{method}` returns no operation, so `wait: true` cannot be honoured"
        ))
        .into());
    }
    let c = client;
    let outcome: Outcome = match method {
        // ---------------------------------------------------------------- projects
        "create_project" => {
            let project: types::Project = a.message("project")?;
            let id = a.str("project_id")?;
            a.finish()?;
            lro(c.create_project(&id, project).await, wait).await
        }
        "get_project" => {
            let name = a.name::<ProjectName>("name")?;
            a.finish()?;
            c.get_project(&name?).await.map(|v| json(&v))
        }
        "list_projects" => {
            let page = PageArgs::take(&mut a)?;
            let show_deleted = a.opt_bool("show_deleted")?;
            a.finish()?;
            let mut list = paged!(page, c.list_projects());
            if let Some(d) = show_deleted {
                list = list.show_deleted(d);
            }
            list.collect_all().await.map(|v| json(&v))
        }
        "update_project" => {
            let name = a.name::<ProjectName>("name")?;
            let project: types::Project = a.message("project")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_project(&name?, project, &mask?).await, wait).await
        }
        "delete_project" => {
            let name = a.name::<ProjectName>("name")?;
            let purge = a.opt_bool("purge")?;
            a.finish()?;
            let mut call = c.delete_project(&name?);
            if let Some(p) = purge {
                call = call.purge(p);
            }
            lro(call.await, wait).await
        }
        "undelete_project" => {
            let name = a.name::<ProjectName>("name")?;
            a.finish()?;
            lro(c.undelete_project(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- branches
        "create_branch" => {
            let parent = a.name::<ProjectName>("parent")?;
            let branch: types::Branch = a.message("branch")?;
            let id = a.str("branch_id")?;
            let replace = a.opt_bool("replace_existing")?;
            a.finish()?;
            let mut call = c.create_branch(&parent?, &id, branch);
            if let Some(r) = replace {
                call = call.replace_existing(r);
            }
            lro(call.await, wait).await
        }
        "get_branch" => {
            let name = a.name::<BranchName>("name")?;
            a.finish()?;
            c.get_branch(&name?).await.map(|v| json(&v))
        }
        "list_branches" => {
            let parent = a.name::<ProjectName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            let show_deleted = a.opt_bool("show_deleted")?;
            a.finish()?;
            let mut list = paged!(page, c.list_branches(&parent?));
            if let Some(d) = show_deleted {
                list = list.show_deleted(d);
            }
            list.collect_all().await.map(|v| json(&v))
        }
        "update_branch" => {
            let name = a.name::<BranchName>("name")?;
            let branch: types::Branch = a.message("branch")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_branch(&name?, branch, &mask?).await, wait).await
        }
        "delete_branch" => {
            let name = a.name::<BranchName>("name")?;
            let purge = a.opt_bool("purge")?;
            a.finish()?;
            let mut call = c.delete_branch(&name?);
            if let Some(p) = purge {
                call = call.purge(p);
            }
            lro(call.await, wait).await
        }
        "undelete_branch" => {
            let name = a.name::<BranchName>("name")?;
            a.finish()?;
            lro(c.undelete_branch(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- endpoints
        "create_endpoint" => {
            let parent = a.name::<BranchName>("parent")?;
            let endpoint: types::Endpoint = a.message("endpoint")?;
            let id = a.str("endpoint_id")?;
            let replace = a.opt_bool("replace_existing")?;
            a.finish()?;
            let mut call = c.create_endpoint(&parent?, &id, endpoint);
            if let Some(r) = replace {
                call = call.replace_existing(r);
            }
            lro(call.await, wait).await
        }
        "get_endpoint" => {
            let name = a.name::<EndpointName>("name")?;
            a.finish()?;
            c.get_endpoint(&name?).await.map(|v| json(&v))
        }
        "list_endpoints" => {
            let parent = a.name::<BranchName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            a.finish()?;
            paged!(page, c.list_endpoints(&parent?))
                .collect_all()
                .await
                .map(|v| json(&v))
        }
        "update_endpoint" => {
            let name = a.name::<EndpointName>("name")?;
            let endpoint: types::Endpoint = a.message("endpoint")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_endpoint(&name?, endpoint, &mask?).await, wait).await
        }
        "delete_endpoint" => {
            let name = a.name::<EndpointName>("name")?;
            a.finish()?;
            lro(c.delete_endpoint(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- roles
        "create_role" => {
            let parent = a.name::<BranchName>("parent")?;
            let role: types::Role = a.message("role")?;
            let id = a.opt_str("role_id")?;
            let replace = a.opt_bool("replace_existing")?;
            a.finish()?;
            let mut call = c.create_role(&parent?, role);
            if let Some(id) = id {
                call = call.role_id(id);
            }
            if let Some(r) = replace {
                call = call.replace_existing(r);
            }
            lro(call.await, wait).await
        }
        "get_role" => {
            let name = a.name::<RoleName>("name")?;
            a.finish()?;
            c.get_role(&name?).await.map(|v| json(&v))
        }
        "list_roles" => {
            let parent = a.name::<BranchName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            a.finish()?;
            paged!(page, c.list_roles(&parent?))
                .collect_all()
                .await
                .map(|v| json(&v))
        }
        "update_role" => {
            let name = a.name::<RoleName>("name")?;
            let role: types::Role = a.message("role")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_role(&name?, role, &mask?).await, wait).await
        }
        "delete_role" => {
            let name = a.name::<RoleName>("name")?;
            let reassign = a.opt_str("reassign_owned_to")?;
            a.finish()?;
            let mut call = c.delete_role(&name?);
            if let Some(r) = reassign {
                call = call.reassign_owned_to(r);
            }
            lro(call.await, wait).await
        }
        "reveal_role_password" => {
            let name = a.name::<RoleName>("name")?;
            a.finish()?;
            c.reveal_role_password(&name?).await.map(|v| json(&v))
        }
        // ---------------------------------------------------------------- databases
        "create_database" => {
            let parent = a.name::<BranchName>("parent")?;
            let database: types::Database = a.message("database")?;
            let id = a.opt_str("database_id")?;
            let replace = a.opt_bool("replace_existing")?;
            a.finish()?;
            let mut call = c.create_database(&parent?, database);
            if let Some(id) = id {
                call = call.database_id(id);
            }
            if let Some(r) = replace {
                call = call.replace_existing(r);
            }
            lro(call.await, wait).await
        }
        "get_database" => {
            let name = a.name::<DatabaseName>("name")?;
            a.finish()?;
            c.get_database(&name?).await.map(|v| json(&v))
        }
        "list_databases" => {
            let parent = a.name::<BranchName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            a.finish()?;
            paged!(page, c.list_databases(&parent?))
                .collect_all()
                .await
                .map(|v| json(&v))
        }
        "update_database" => {
            let name = a.name::<DatabaseName>("name")?;
            let database: types::Database = a.message("database")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_database(&name?, database, &mask?).await, wait).await
        }
        "delete_database" => {
            let name = a.name::<DatabaseName>("name")?;
            a.finish()?;
            lro(c.delete_database(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- catalogs
        "create_catalog" => {
            let catalog: types::Catalog = a.message("catalog")?;
            let id = a.str("catalog_id")?;
            a.finish()?;
            lro(c.create_catalog(&id, catalog).await, wait).await
        }
        "get_catalog" => {
            let name = a.name::<CatalogName>("name")?;
            a.finish()?;
            c.get_catalog(&name?).await.map(|v| json(&v))
        }
        "delete_catalog" => {
            let name = a.name::<CatalogName>("name")?;
            a.finish()?;
            lro(c.delete_catalog(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- synced tables
        "create_synced_table" => {
            let table: types::SyncedTable = a.message("synced_table")?;
            let id = a.str("synced_table_id")?;
            a.finish()?;
            lro(c.create_synced_table(&id, table).await, wait).await
        }
        "get_synced_table" => {
            let name = a.name::<SyncedTableName>("name")?;
            a.finish()?;
            c.get_synced_table(&name?).await.map(|v| json(&v))
        }
        "delete_synced_table" => {
            let name = a.name::<SyncedTableName>("name")?;
            a.finish()?;
            lro(c.delete_synced_table(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- snapshots
        "create_snapshot" => {
            let parent = a.name::<ProjectName>("parent")?;
            let snapshot: types::Snapshot = a.message("snapshot")?;
            let id = a.str("snapshot_id")?;
            a.finish()?;
            lro(c.create_snapshot(&parent?, &id, snapshot).await, wait).await
        }
        "get_snapshot" => {
            let name = a.name::<SnapshotName>("name")?;
            a.finish()?;
            c.get_snapshot(&name?).await.map(|v| json(&v))
        }
        "list_snapshots" => {
            let parent = a.name::<ProjectName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            a.finish()?;
            paged!(page, c.list_snapshots(&parent?))
                .collect_all()
                .await
                .map(|v| json(&v))
        }
        "delete_snapshot" => {
            let name = a.name::<SnapshotName>("name")?;
            a.finish()?;
            lro(c.delete_snapshot(&name?).await, wait).await
        }
        "get_snapshot_schedule" => {
            let name = a.name::<SnapshotScheduleName>("name")?;
            a.finish()?;
            c.get_snapshot_schedule(&name?).await.map(|v| json(&v))
        }
        "update_snapshot_schedule" => {
            let name = a.name::<SnapshotScheduleName>("name")?;
            let schedule: types::SnapshotSchedule = a.message("snapshot_schedule")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_snapshot_schedule(&name?, schedule, &mask?).await, wait).await
        }
        // ---------------------------------------------------------------- data api
        "create_data_api" => {
            let parent = a.name::<DatabaseName>("parent")?;
            let data_api: types::DataApi = a.message("data_api")?;
            a.finish()?;
            lro(c.create_data_api(&parent?, data_api).await, wait).await
        }
        "get_data_api" => {
            let name = a.name::<DataApiName>("name")?;
            a.finish()?;
            c.get_data_api(&name?).await.map(|v| json(&v))
        }
        "update_data_api" => {
            let name = a.name::<DataApiName>("name")?;
            let data_api: types::DataApi = a.message("data_api")?;
            let mask = a.mask("update_mask")?;
            a.finish()?;
            lro(c.update_data_api(&name?, data_api, &mask?).await, wait).await
        }
        "delete_data_api" => {
            let name = a.name::<DataApiName>("name")?;
            a.finish()?;
            lro(c.delete_data_api(&name?).await, wait).await
        }
        // ---------------------------------------------------------------- change data feed
        "create_cdf_config" => {
            let parent = a.name::<DatabaseName>("parent")?;
            let config: types::CdfConfig = a.message("cdf_config")?;
            let id = a.opt_str("cdf_config_id")?;
            a.finish()?;
            let mut call = c.create_cdf_config(&parent?, config);
            if let Some(id) = id {
                call = call.cdf_config_id(id);
            }
            lro(call.await, wait).await
        }
        "get_cdf_config" => {
            let name = a.name::<CdfConfigName>("name")?;
            a.finish()?;
            c.get_cdf_config(&name?).await.map(|v| json(&v))
        }
        "list_cdf_configs" => {
            let parent = a.name::<DatabaseName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            a.finish()?;
            paged!(page, c.list_cdf_configs(&parent?))
                .collect_all()
                .await
                .map(|v| json(&v))
        }
        "delete_cdf_config" => {
            let name = a.name::<CdfConfigName>("name")?;
            let force = a.opt_bool("force")?;
            a.finish()?;
            let mut call = c.delete_cdf_config(&name?);
            if let Some(f) = force {
                call = call.force(f);
            }
            lro(call.await, wait).await
        }
        "get_cdf_status" => {
            let name = a.name::<CdfStatusName>("name")?;
            a.finish()?;
            c.get_cdf_status(&name?).await.map(|v| json(&v))
        }
        "list_cdf_statuses" => {
            let parent = a.name::<CdfConfigName>("parent")?;
            let page = PageArgs::take(&mut a)?;
            a.finish()?;
            paged!(page, c.list_cdf_statuses(&parent?))
                .collect_all()
                .await
                .map(|v| json(&v))
        }
        // ---------------------------------------------------------------- credentials, operations
        "generate_database_credential" => {
            let endpoint = a.name::<EndpointName>("endpoint")?;
            let claims = a.opt_messages::<types::RequestedClaims>("claims")?;
            let expire_time = a.opt_timestamp("expire_time")?;
            let ttl = a.opt_duration("ttl")?;
            a.finish()?;
            let mut call = c.generate_database_credential(&endpoint?);
            if let Some(claims) = claims {
                call = call.claims(claims);
            }
            if let Some(t) = expire_time {
                call = call.expire_time(t);
            }
            if let Some(d) = ttl {
                call = call.ttl(d);
            }
            call.await.map(|v| json(&v))
        }
        "get_operation" => {
            let name = a.name::<OperationName>("name")?;
            a.finish()?;
            c.get_operation(&name?).await.map(|v| json(&v))
        }
        other => return Err(DispatchError(format!("unknown method `{other}`")).into()),
    };
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk_schema::sdk;
    use lakebase_generated::OPERATIONS;

    #[test]
    fn every_sdk_method_and_parameter_is_covered() {
        let schema = sdk();
        assert_eq!(METHOD_ARGS.len(), schema.methods.len());
        for (name, method) in &schema.methods {
            let ours = method_args(name).unwrap_or_else(|| panic!("method {name} is not dispatched"));
            let mut want: Vec<&str> = method.params.iter().map(|p| p.name.as_str()).collect();
            let mut have: Vec<&str> = ours.to_vec();
            want.sort();
            have.sort();
            assert_eq!(have, want, "parameters of {name}");
        }
    }

    #[test]
    fn methods_equal_the_operation_catalog() {
        assert_eq!(METHOD_ARGS.len(), OPERATIONS.len());
        assert_eq!(catalog_drift(METHOD_ARGS, OPERATIONS), Vec::<String>::new());
    }

    #[test]
    fn drift_from_the_catalog_fails() {
        let mut grown = OPERATIONS.to_vec();
        grown.push(OperationSpec {
            id: "get_compute_instance",
            method: "GET",
            path: "/api/2.0/postgres/projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}/compute-instances/{compute_instance_id}",
            tag: "ComputeInstances",
            query: &[],
            body: None,
            kind: lakebase_generated::OperationKind::Call,
            resource: Some("ComputeInstance"),
        });
        assert_eq!(
            catalog_drift(METHOD_ARGS, &grown),
            vec!["operation get_compute_instance is not dispatched"]
        );
        let without_purge: Vec<(&str, &[&str])> = METHOD_ARGS
            .iter()
            .map(|(m, a)| {
                if *m == "delete_branch" {
                    (*m, &["name"][..])
                } else {
                    (*m, *a)
                }
            })
            .collect();
        assert_eq!(
            catalog_drift(&without_purge, OPERATIONS),
            vec!["delete_branch does not take the query parameter purge"]
        );
        let renamed: Vec<(&str, &[&str])> = METHOD_ARGS
            .iter()
            .map(|(m, a)| {
                if *m == "update_data_api" {
                    ("update_data_apis", *a)
                } else {
                    (*m, *a)
                }
            })
            .collect();
        assert_eq!(
            catalog_drift(&renamed, OPERATIONS),
            vec![
                "operation update_data_api is not dispatched",
                "dispatched method update_data_apis is no operation of the catalog",
            ]
        );
    }

    #[test]
    fn unknown_arguments_are_rejected() {
        let args: Map<String, Value> = serde_json::from_str(r#"{"name": "projects/p", "bogus": 1}"#).unwrap();
        let err = Args::new("get_project", &args).unwrap_err();
        assert!(err.0.contains("bogus"), "{err}");
        assert!(Args::new("no_such_method", &Map::new()).is_err());
    }
}
