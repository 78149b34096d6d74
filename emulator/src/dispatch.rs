//! The Postgres API's routes and the dispatcher.
//!
//! Routes come from the spec's operation catalog (`lakebase_generated::OPERATIONS`): a
//! request is matched against every operation's path template (one raw, not
//! percent-decoded, segment per placeholder) and method. What is kept here is only which
//! hand-written handler serves which operation ([`HANDLERS`]); the standard methods of a
//! collection without one are served by [`generic`](crate::resources::generic). Operation
//! names are opaque and looked up verbatim.

use axum::http::Method;
use lakebase_generated::{OPERATIONS, OperationSpec};

use crate::errors::ApiError;
use crate::resources::{
    Handler, branches, catalogs, cdf, credentials, data_api, databases, endpoints, generic, projects, roles, snapshots,
    synced_tables,
};

/// The prefix of every operation's path in the catalog.
const PATH_PREFIX: &str = "/api/2.0/postgres/";

/// The verbatim operation-name route (`get_operation`), served by the server itself.
const OPERATION_ROUTE: &str = "{name}";

/// Operation id to the hand-written handler serving it.
const HANDLERS: &[(&str, Handler)] = &[
    ("create_project", projects::create),
    ("list_projects", projects::list),
    ("get_project", projects::get),
    ("update_project", projects::update),
    ("delete_project", projects::delete),
    ("undelete_project", projects::undelete),
    ("create_branch", branches::create),
    ("list_branches", branches::list),
    ("get_branch", branches::get),
    ("update_branch", branches::update),
    ("delete_branch", branches::delete),
    ("undelete_branch", branches::undelete),
    ("get_snapshot_schedule", branches::get_schedule),
    ("update_snapshot_schedule", branches::update_schedule),
    ("create_endpoint", endpoints::create),
    ("list_endpoints", endpoints::list),
    ("get_endpoint", endpoints::get),
    ("update_endpoint", endpoints::update),
    ("delete_endpoint", endpoints::delete),
    ("create_role", roles::create),
    ("list_roles", roles::list),
    ("get_role", roles::get),
    ("update_role", roles::update),
    ("delete_role", roles::delete),
    ("reveal_role_password", roles::reveal_password),
    ("create_database", databases::create),
    ("list_databases", databases::list),
    ("get_database", databases::get),
    ("update_database", databases::update),
    ("delete_database", databases::delete),
    ("create_data_api", data_api::create),
    ("get_data_api", data_api::get),
    ("update_data_api", data_api::update),
    ("delete_data_api", data_api::delete),
    ("create_cdf_config", cdf::create),
    ("list_cdf_configs", cdf::list),
    ("get_cdf_config", cdf::get),
    ("delete_cdf_config", cdf::delete),
    ("list_cdf_statuses", cdf::list_statuses),
    ("get_cdf_status", cdf::get_status),
    ("create_snapshot", snapshots::create),
    ("list_snapshots", snapshots::list),
    ("get_snapshot", snapshots::get),
    ("delete_snapshot", snapshots::delete),
    ("create_catalog", catalogs::create),
    ("get_catalog", catalogs::get),
    ("delete_catalog", catalogs::delete),
    ("create_synced_table", synced_tables::create),
    ("get_synced_table", synced_tables::get),
    ("delete_synced_table", synced_tables::delete),
    ("generate_database_credential", credentials::generate),
];

/// The handler of an operation: its hand-written one, else the generic standard method.
fn handler_of(op: &OperationSpec) -> Option<Handler> {
    HANDLERS
        .iter()
        .find(|(id, _)| *id == op.id)
        .map(|(_, h)| *h)
        .or_else(|| generic::standard(op))
}

/// A request resolved to an API operation.
pub enum Resolved {
    /// A resource method with its captured ids.
    Method(&'static OperationSpec, Handler, Vec<String>),
    /// `GET /api/2.0/postgres/{operation name}`.
    Operation(String),
}

impl Resolved {
    /// SDK method name of the request (for request counting).
    pub fn op_name(&self) -> &'static str {
        match self {
            Resolved::Method(op, _, _) => op.id,
            Resolved::Operation(_) => "get_operation",
        }
    }
}

/// An operation's path template below the API prefix (`projects/{project_id}`).
pub fn relative(path: &'static str) -> &'static str {
    path.strip_prefix(PATH_PREFIX).unwrap_or(path)
}

/// Whether the segments of a name match a path template (placeholders match any segment).
fn template_matches(template: &str, segs: &[&str]) -> bool {
    let mut parts = template.split('/');
    segs.iter().all(|s| match parts.next() {
        Some(p) if p.starts_with('{') => segment_ok(s),
        Some(p) => p == *s,
        None => false,
    }) && parts.next().is_none()
}

/// The resource schema a full resource name belongs to (`projects/p` -> `Project`), from
/// the catalog's single-resource reads.
pub fn resource_at(name: &str) -> Option<&'static str> {
    let segs: Vec<&str> = name.split('/').collect();
    OPERATIONS
        .iter()
        .find(|op| op.method == "GET" && op.resource.is_some() && template_matches(relative(op.path), &segs))
        .and_then(|op| op.resource)
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255
}

/// The collection words operations live under (`projects`, `catalogs`, ...): the first
/// segment of every path.
fn is_root_collection(word: &str) -> bool {
    OPERATIONS
        .iter()
        .any(|op| relative(op.path).split('/').next() == Some(word) && !word.starts_with('{'))
}

/// Resolves a verb and the raw path after `/api/2.0/postgres/`.
pub fn resolve(method: &Method, rest: &str, full_path: &str) -> Result<Resolved, ApiError> {
    if let Some((root, tail)) = rest.split_once("/operations/") {
        let mut parts = root.split('/');
        let kind = parts.next().unwrap_or_default();
        let id = parts.next().unwrap_or_default();
        if parts.next().is_none() && is_root_collection(kind) && segment_ok(id) && !tail.is_empty() {
            return if *method == Method::GET {
                Ok(Resolved::Operation(rest.to_string()))
            } else {
                Err(ApiError::no_route(method.as_str(), full_path))
            };
        }
    }
    let segs: Vec<&str> = rest.split('/').collect();
    for op in OPERATIONS {
        let template = relative(op.path);
        if template == OPERATION_ROUTE || op.method != method.as_str() || !template_matches(template, &segs) {
            continue;
        }
        let ids = template
            .split('/')
            .zip(&segs)
            .filter(|(p, _)| p.starts_with('{'))
            .map(|(_, s)| (*s).to_string())
            .collect();
        return match handler_of(op) {
            Some(handler) => Ok(Resolved::Method(op, handler, ids)),
            None => Err(ApiError::no_route(method.as_str(), full_path)),
        };
    }
    Err(ApiError::no_route(method.as_str(), full_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the catalog has a handler (its own, or the generic standard
    /// method), and every hand-written handler serves an operation of the catalog.
    fn drift(operations: &[OperationSpec]) -> Vec<String> {
        let missing = operations
            .iter()
            .filter(|op| relative(op.path) != OPERATION_ROUTE && handler_of(op).is_none())
            .map(|op| format!("no handler for {}", op.id));
        let extra = HANDLERS
            .iter()
            .filter(|(id, _)| !operations.iter().any(|op| op.id == *id))
            .map(|(id, _)| format!("handler {id} serves no operation"));
        missing.chain(extra).collect()
    }

    #[test]
    fn every_operation_of_the_catalog_has_a_handler() {
        assert_eq!(OPERATIONS.len(), 52);
        assert_eq!(drift(OPERATIONS), Vec::<String>::new());
    }

    #[test]
    fn drift_from_the_catalog_fails() {
        let renamed: Vec<OperationSpec> = OPERATIONS
            .iter()
            .map(|op| {
                let mut op = *op;
                if op.id == "reveal_role_password" {
                    op.id = "show_role_password";
                }
                op
            })
            .collect();
        assert_eq!(
            drift(&renamed),
            vec![
                "no handler for show_role_password",
                "handler reveal_role_password serves no operation",
            ]
        );
    }

    #[test]
    fn standard_methods_of_a_new_collection_are_served_generically() {
        let base = OperationSpec::find("get_snapshot").copied().unwrap();
        let get = OperationSpec {
            id: "get_widget",
            path: "/api/2.0/postgres/projects/{project_id}/widgets/{widget_id}",
            resource: Some("Widget"),
            ..base
        };
        assert!(generic::standard(&get).is_some());
        let custom = OperationSpec {
            id: "polish_widget",
            method: "POST",
            path: "/api/2.0/postgres/projects/{project_id}/widgets/{widget_id}/polish",
            ..get
        };
        assert!(generic::standard(&custom).is_none());
        assert_eq!(drift(&[custom])[0], "no handler for polish_widget");
    }

    #[test]
    fn routes_follow_the_catalog() {
        let r = resolve(&Method::GET, "projects/p/branches/b", "/x").ok();
        assert!(matches!(r, Some(Resolved::Method(op, _, ids)) if op.id == "get_branch" && ids == ["p", "b"]));
        let r = resolve(&Method::POST, "projects/p/branches/b/roles/r/password", "/x").ok();
        assert!(matches!(r, Some(Resolved::Method(op, _, _)) if op.id == "reveal_role_password"));
        assert!(resolve(&Method::PUT, "projects/p", "/x").is_err());
        assert!(resolve(&Method::GET, "projects/p/nothing", "/x").is_err());
        assert_eq!(resource_at("projects/p/branches/b/databases/d"), Some("Database"));
    }

    #[test]
    fn operation_names_resolve_verbatim() {
        let r = resolve(&Method::GET, "projects/p/operations/a+b/c==", "/x").ok();
        assert!(matches!(r, Some(Resolved::Operation(n)) if n == "projects/p/operations/a+b/c=="));
    }
}
