//! What an API call does to the real databases, and the gate that keeps its long-running
//! operation `done: false` until that work has finished.
//!
//! Handlers decide effects while they hold the store lock and hand them to the project's
//! queue in that order, so "create role, then create a database it owns" reaches
//! PostgreSQL in the order the API accepted it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::PgError;
use super::history::RecoveryTarget;

/// A SQL statement; may hold a password, so it is never printed.
#[derive(Clone)]
pub struct Statement(pub String);

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Statement(<redacted>)")
    }
}

/// Where a new branch's data comes from.
#[derive(Debug, Clone)]
pub enum CloneSource {
    /// The current state of another branch's cluster.
    Branch(String),
    /// A snapshot's (stopped) data directory.
    Snapshot(String),
    /// Another branch's cluster as it was at a point of its history.
    PointInTime(String, RecoveryTarget),
}

/// One piece of work on the real databases.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A new project's root branch: a fresh cluster with `databricks_postgres` owned by a
    /// role named after the creating identity.
    InitProject {
        /// Cluster id (the root branch's uid).
        cluster: String,
        /// Identity of the creator (its Postgres role name).
        owner: String,
    },
    /// A new branch: a copy of its source.
    CloneBranch {
        /// Cluster id of the new branch.
        cluster: String,
        /// Its data source.
        source: CloneSource,
    },
    /// A snapshot: a stopped copy of a branch (now, or at a point of its history).
    Snapshot {
        /// Snapshot id (its uid).
        snapshot: String,
        /// Cluster id of the branch.
        source: String,
        /// The point of the branch's history (`None`: now).
        at: Option<RecoveryTarget>,
    },
    /// Start a cluster's server.
    Start {
        /// Cluster id.
        cluster: String,
    },
    /// Stop a cluster's server (sessions end).
    Stop {
        /// Cluster id.
        cluster: String,
    },
    /// Stop a cluster's server and remove its data.
    Remove {
        /// Cluster id.
        cluster: String,
    },
    /// Run statements, one at a time, on a database of a cluster.
    Sql {
        /// Cluster id.
        cluster: String,
        /// Database to connect to.
        database: String,
        /// Statements.
        statements: Vec<Statement>,
    },
    /// Drop a role, first handing what it owns in every database to another role if asked.
    DropRole {
        /// Cluster id.
        cluster: String,
        /// Postgres role name.
        role: String,
        /// Postgres role that takes over what it owns.
        reassign_to: Option<String>,
    },
    /// Rename a database (its sessions are ended first).
    RenameDatabase {
        /// Cluster id.
        cluster: String,
        /// Current name.
        from: String,
        /// New name.
        to: String,
    },
    /// Drop a database (its sessions are ended).
    DropDatabase {
        /// Cluster id.
        cluster: String,
        /// Database name.
        name: String,
    },
}

/// Completion of the effects of one API call.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<GateState>);

#[derive(Debug, Default)]
struct GateState {
    done: AtomicBool,
    error: Mutex<Option<String>>,
    learned: Mutex<Vec<(String, serde_json::Value)>>,
}

/// Where a gate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateStatus {
    /// Work still running.
    Pending,
    /// All work done.
    Done,
    /// Work failed with this message.
    Failed(String),
}

impl Gate {
    /// Records the outcome of the work.
    pub fn finish(&self, result: Result<(), PgError>) {
        if let Err(e) = result
            && let Ok(mut slot) = self.0.error.lock()
        {
            *slot = Some(e.to_string());
        }
        self.0.done.store(true, Ordering::SeqCst);
    }

    /// Notes a field of the resource that only the work found out (a new branch's
    /// `status.source_branch_lsn`), for the operation's response.
    pub fn learn(&self, path: &str, value: serde_json::Value) {
        if let Ok(mut l) = self.0.learned.lock() {
            l.push((path.to_string(), value));
        }
    }

    /// Fields the work found out, as dotted paths and values.
    pub fn learned(&self) -> Vec<(String, serde_json::Value)> {
        self.0.learned.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The current status.
    pub fn status(&self) -> GateStatus {
        if !self.0.done.load(Ordering::SeqCst) {
            return GateStatus::Pending;
        }
        match self.0.error.lock().ok().and_then(|e| e.clone()) {
            Some(message) => GateStatus::Failed(message),
            None => GateStatus::Done,
        }
    }
}

/// `"name"`: an identifier quoted for SQL.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`: a string literal for SQL (`standard_conforming_strings` is on).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Role attributes set through the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleAttributes {
    /// May log in.
    pub login: bool,
    /// `CREATEDB`.
    pub createdb: bool,
    /// `CREATEROLE`.
    pub createrole: bool,
    /// `BYPASSRLS`.
    pub bypassrls: bool,
}

impl RoleAttributes {
    fn sql(self) -> String {
        let flag = |on: bool, name: &str| if on { name.to_string() } else { format!("NO{name}") };
        [
            flag(self.login, "LOGIN"),
            flag(self.createdb, "CREATEDB"),
            flag(self.createrole, "CREATEROLE"),
            flag(self.bypassrls, "BYPASSRLS"),
        ]
        .join(" ")
    }
}

/// Statements creating a role.
pub fn create_role(
    role: &str,
    attrs: RoleAttributes,
    password: Option<&str>,
    superuser_member: bool,
) -> Vec<Statement> {
    let mut sql = format!("CREATE ROLE {} WITH {}", ident(role), attrs.sql());
    if let Some(p) = password {
        sql.push_str(&format!(" PASSWORD {}", literal(p)));
    }
    let mut out = vec![Statement(sql)];
    if superuser_member {
        out.push(Statement(format!("GRANT databricks_superuser TO {}", ident(role))));
    }
    out
}

/// Statements bringing a role's attributes and membership to the given state.
pub fn alter_role(role: &str, attrs: RoleAttributes, superuser_member: bool) -> Vec<Statement> {
    let membership = if superuser_member {
        format!("GRANT databricks_superuser TO {}", ident(role))
    } else {
        format!("REVOKE databricks_superuser FROM {}", ident(role))
    };
    vec![
        Statement(format!("ALTER ROLE {} WITH {}", ident(role), attrs.sql())),
        Statement(membership),
    ]
}

/// Statements creating a database owned by a role.
pub fn create_database(name: &str, owner: &str) -> Vec<Statement> {
    vec![
        Statement(format!("CREATE DATABASE {} OWNER {}", ident(name), ident(owner))),
        Statement(format!(
            "GRANT ALL ON DATABASE {} TO databricks_superuser WITH GRANT OPTION",
            ident(name)
        )),
    ]
}

/// Statement handing a database to another owner.
pub fn alter_database_owner(name: &str, owner: &str) -> Vec<Statement> {
    vec![Statement(format!(
        "ALTER DATABASE {} OWNER TO {}",
        ident(name),
        ident(owner)
    ))]
}

/// Statements run once on the template every project's cluster is copied from.
pub fn template_setup() -> Vec<Statement> {
    [
        "CREATE ROLE databricks_superuser WITH NOLOGIN CREATEDB CREATEROLE BYPASSRLS",
        "GRANT pg_read_all_data, pg_write_all_data, pg_signal_backend TO databricks_superuser WITH ADMIN OPTION",
        "CREATE DATABASE databricks_postgres",
        "GRANT ALL ON DATABASE databricks_postgres TO databricks_superuser WITH GRANT OPTION",
    ]
    .into_iter()
    .map(|s| Statement(s.to_string()))
    .collect()
}

/// Statements giving a new project's cluster its owner role.
pub fn project_owner(owner: &str) -> Vec<Statement> {
    vec![
        Statement(format!(
            "CREATE ROLE {} WITH LOGIN REPLICATION CREATEDB CREATEROLE IN ROLE databricks_superuser",
            ident(owner)
        )),
        Statement(format!("ALTER DATABASE databricks_postgres OWNER TO {}", ident(owner))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("alice@example.com"), "\"alice@example.com\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn role_statements_carry_every_attribute() {
        let attrs = RoleAttributes {
            login: true,
            createdb: true,
            ..Default::default()
        };
        let sql = create_role("app", attrs, Some("pw'1"), true);
        assert_eq!(
            sql[0].0,
            "CREATE ROLE \"app\" WITH LOGIN CREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD 'pw''1'"
        );
        assert_eq!(sql[1].0, "GRANT databricks_superuser TO \"app\"");
        assert_eq!(format!("{:?}", sql[0]), "Statement(<redacted>)");
        let alter = alter_role("app", RoleAttributes::default(), false);
        assert_eq!(alter[1].0, "REVOKE databricks_superuser FROM \"app\"");
    }

    #[test]
    fn a_gate_reports_pending_done_and_failure() {
        let g = Gate::default();
        assert_eq!(g.status(), GateStatus::Pending);
        g.finish(Ok(()));
        assert_eq!(g.status(), GateStatus::Done);
        let f = Gate::default();
        f.finish(Err(PgError::Sql("boom".into())));
        assert_eq!(f.status(), GateStatus::Failed("boom".into()));
    }
}
