//! Route table of the Postgres API and the dispatcher.
//!
//! Resource names span several path segments, so the API is served by one catch-all
//! route; the raw (not percent-decoded) path is matched here against [`ROUTES`].
//! Operation names are opaque and looked up verbatim.

use axum::http::Method;

use crate::errors::ApiError;
use crate::resources::{
    Handler, branches, catalogs, cdf, credentials, data_api, databases, endpoints, projects, roles, snapshots,
    synced_tables,
};

/// One API operation: verb, path pattern (`*` = one id segment), SDK method name, handler.
struct Route(Method, &'static str, &'static str, Handler);

macro_rules! routes {
    ($($m:ident $pat:literal $op:literal $h:path;)*) => {
        &[$(Route(Method::$m, $pat, $op, $h)),*]
    };
}

const ROUTES: &[Route] = routes! {
    POST "projects" "create_project" projects::create;
    GET "projects" "list_projects" projects::list;
    GET "projects/*" "get_project" projects::get;
    PATCH "projects/*" "update_project" projects::update;
    DELETE "projects/*" "delete_project" projects::delete;
    POST "projects/*/undelete" "undelete_project" projects::undelete;
    POST "projects/*/branches" "create_branch" branches::create;
    GET "projects/*/branches" "list_branches" branches::list;
    GET "projects/*/branches/*" "get_branch" branches::get;
    PATCH "projects/*/branches/*" "update_branch" branches::update;
    DELETE "projects/*/branches/*" "delete_branch" branches::delete;
    POST "projects/*/branches/*/undelete" "undelete_branch" branches::undelete;
    GET "projects/*/branches/*/snapshot-schedule" "get_snapshot_schedule" branches::get_schedule;
    PATCH "projects/*/branches/*/snapshot-schedule" "update_snapshot_schedule" branches::update_schedule;
    POST "projects/*/branches/*/endpoints" "create_endpoint" endpoints::create;
    GET "projects/*/branches/*/endpoints" "list_endpoints" endpoints::list;
    GET "projects/*/branches/*/endpoints/*" "get_endpoint" endpoints::get;
    PATCH "projects/*/branches/*/endpoints/*" "update_endpoint" endpoints::update;
    DELETE "projects/*/branches/*/endpoints/*" "delete_endpoint" endpoints::delete;
    POST "projects/*/branches/*/roles" "create_role" roles::create;
    GET "projects/*/branches/*/roles" "list_roles" roles::list;
    GET "projects/*/branches/*/roles/*" "get_role" roles::get;
    PATCH "projects/*/branches/*/roles/*" "update_role" roles::update;
    DELETE "projects/*/branches/*/roles/*" "delete_role" roles::delete;
    POST "projects/*/branches/*/roles/*/password" "reveal_role_password" roles::reveal_password;
    POST "projects/*/branches/*/databases" "create_database" databases::create;
    GET "projects/*/branches/*/databases" "list_databases" databases::list;
    GET "projects/*/branches/*/databases/*" "get_database" databases::get;
    PATCH "projects/*/branches/*/databases/*" "update_database" databases::update;
    DELETE "projects/*/branches/*/databases/*" "delete_database" databases::delete;
    POST "projects/*/branches/*/databases/*/data-api" "create_data_api" data_api::create;
    GET "projects/*/branches/*/databases/*/data-api" "get_data_api" data_api::get;
    PATCH "projects/*/branches/*/databases/*/data-api" "update_data_api" data_api::update;
    DELETE "projects/*/branches/*/databases/*/data-api" "delete_data_api" data_api::delete;
    POST "projects/*/branches/*/databases/*/cdf-configs" "create_cdf_config" cdf::create;
    GET "projects/*/branches/*/databases/*/cdf-configs" "list_cdf_configs" cdf::list;
    GET "projects/*/branches/*/databases/*/cdf-configs/*" "get_cdf_config" cdf::get;
    DELETE "projects/*/branches/*/databases/*/cdf-configs/*" "delete_cdf_config" cdf::delete;
    GET "projects/*/branches/*/databases/*/cdf-configs/*/cdf-statuses" "list_cdf_statuses" cdf::list_statuses;
    GET "projects/*/branches/*/databases/*/cdf-configs/*/cdf-statuses/*" "get_cdf_status" cdf::get_status;
    POST "projects/*/snapshots" "create_snapshot" snapshots::create;
    GET "projects/*/snapshots" "list_snapshots" snapshots::list;
    GET "projects/*/snapshots/*" "get_snapshot" snapshots::get;
    DELETE "projects/*/snapshots/*" "delete_snapshot" snapshots::delete;
    POST "catalogs" "create_catalog" catalogs::create;
    GET "catalogs/*" "get_catalog" catalogs::get;
    DELETE "catalogs/*" "delete_catalog" catalogs::delete;
    POST "synced_tables" "create_synced_table" synced_tables::create;
    GET "synced_tables/*" "get_synced_table" synced_tables::get;
    DELETE "synced_tables/*" "delete_synced_table" synced_tables::delete;
    POST "credentials" "generate_database_credential" credentials::generate;
};

/// A request resolved to an API operation.
pub enum Resolved {
    /// A resource method with its captured ids.
    Method(&'static str, Handler, Vec<String>),
    /// `GET /api/2.0/postgres/{operation name}`.
    Operation(String),
}

impl Resolved {
    /// SDK method name of the request (for request counting).
    pub fn op_name(&self) -> &'static str {
        match self {
            Resolved::Method(op, _, _) => op,
            Resolved::Operation(_) => "get_operation",
        }
    }
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255
}

/// Resolves a verb and the raw path after `/api/2.0/postgres/`.
pub fn resolve(method: &Method, rest: &str, full_path: &str) -> Result<Resolved, ApiError> {
    if let Some((root, tail)) = rest.split_once("/operations/") {
        let mut parts = root.split('/');
        let kind = parts.next().unwrap_or_default();
        let id = parts.next().unwrap_or_default();
        if parts.next().is_none()
            && ["projects", "catalogs", "synced_tables"].contains(&kind)
            && segment_ok(id)
            && !tail.is_empty()
        {
            return if *method == Method::GET {
                Ok(Resolved::Operation(rest.to_string()))
            } else {
                Err(ApiError::no_route(method.as_str(), full_path))
            };
        }
    }
    let segs: Vec<&str> = rest.split('/').collect();
    for Route(m, pat, op, h) in ROUTES {
        let pats: Vec<&str> = pat.split('/').collect();
        if pats.len() != segs.len() {
            continue;
        }
        let mut ids = Vec::new();
        let ok = pats.iter().zip(&segs).all(|(p, s)| {
            if *p == "*" {
                ids.push((*s).to_string());
                segment_ok(s)
            } else {
                p == s
            }
        });
        if ok && m == method {
            return Ok(Resolved::Method(op, *h, ids));
        }
    }
    Err(ApiError::no_route(method.as_str(), full_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated operation catalog (`lakebase-generated`), read as text so the emulator
    /// needs no dependency on the client side.
    const CATALOG: &str = include_str!("../../generated/src/catalog.rs");

    /// `(METHOD, route pattern, operation id)` of every catalog entry, the path template
    /// turned into a route pattern (`{x}` -> `*`); a verbatim `{name}` stays as it is.
    fn catalog_routes(catalog: &str) -> Vec<(String, String, String)> {
        let field = |line: &str, key: &str| {
            line.trim()
                .strip_prefix(key)
                .and_then(|v| v.strip_prefix(" \""))
                .and_then(|v| v.strip_suffix("\","))
                .map(str::to_string)
        };
        let mut routes = Vec::new();
        let (mut id, mut method) = (None, None);
        for line in catalog.lines() {
            if let Some(v) = field(line, "id:") {
                id = Some(v);
            } else if let Some(v) = field(line, "method:") {
                method = Some(v);
            } else if let (Some(path), Some(i), Some(m)) = (field(line, "path:"), id.take(), method.take()) {
                let rest = path.strip_prefix("/api/2.0/postgres/").unwrap_or(&path);
                let pattern = rest
                    .split('/')
                    .map(|s| if s.starts_with('{') && s != "{name}" { "*" } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                routes.push((m, pattern, i));
            }
        }
        routes.sort();
        routes
    }

    /// How [`ROUTES`] (plus the operation-name route) differs from `catalog`.
    fn drift(catalog: &str) -> Vec<String> {
        let mut ours: Vec<(String, String, String)> = ROUTES
            .iter()
            .map(|Route(m, pat, op, _)| (m.to_string(), pat.to_string(), op.to_string()))
            .chain([("GET".into(), "{name}".into(), "get_operation".into())])
            .collect();
        ours.sort();
        let theirs = catalog_routes(catalog);
        let missing = theirs
            .iter()
            .filter(|r| !ours.contains(r))
            .map(|r| format!("no route for {r:?}"));
        let extra = ours
            .iter()
            .filter(|r| !theirs.contains(r))
            .map(|r| format!("route {r:?} is no operation"));
        missing.chain(extra).collect()
    }

    #[test]
    fn routes_equal_the_operation_catalog() {
        assert_eq!(catalog_routes(CATALOG).len(), 52);
        assert_eq!(drift(CATALOG), Vec::<String>::new());
    }

    #[test]
    fn drift_from_the_catalog_fails() {
        let renamed = CATALOG.replacen("id: \"get_branch\",", "id: \"fetch_branch\",", 1);
        assert_eq!(
            drift(&renamed),
            vec![
                r#"no route for ("GET", "projects/*/branches/*", "fetch_branch")"#,
                r#"route ("GET", "projects/*/branches/*", "get_branch") is no operation"#,
            ]
        );
        let added = CATALOG.replacen(
            "id: \"get_branch\",\n        method: \"GET\",\n        path: \"/api/2.0/postgres/projects/{project_id}/branches/{branch_id}\",",
            "id: \"get_compute_instance\",\n        method: \"GET\",\n        path: \"/api/2.0/postgres/projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}/compute-instances/{compute_instance_id}\",\n    }, OperationSpec {\n        id: \"get_branch\",\n        method: \"GET\",\n        path: \"/api/2.0/postgres/projects/{project_id}/branches/{branch_id}\",",
            1,
        );
        assert_eq!(
            drift(&added),
            vec![
                r#"no route for ("GET", "projects/*/branches/*/endpoints/*/compute-instances/*", "get_compute_instance")"#
            ]
        );
    }

    #[test]
    fn operation_names_resolve_verbatim() {
        let r = resolve(&Method::GET, "projects/p/operations/a+b/c==", "/x").ok();
        assert!(matches!(r, Some(Resolved::Operation(n)) if n == "projects/p/operations/a+b/c=="));
    }
}
