//! `connect` (psql with a fresh credential) and `connection-string`.

use lakebase::connection::ConnectionString;
use lakebase::{BranchName, EndpointName, Secret};
use serde_json::json;

use crate::args::{ConnectArgs, ConnectionFormat, ConnectionStringArgs};
use crate::branch::{existing_read_write_endpoint, timestamp};
use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::output::{Format, emit};
use crate::{pg_tools, target};

/// The database every project starts with.
pub const DEFAULT_DATABASE: &str = "databricks_postgres";

/// Everything needed to log in to a branch's read-write endpoint.
pub struct Login {
    /// The endpoint.
    pub endpoint: EndpointName,
    /// Its host.
    pub host: String,
    /// `PGPORT`, else 5432.
    pub port: u16,
    /// The database.
    pub database: String,
    /// The Postgres user: the identity the credential was issued to.
    pub user: String,
    /// The database credential.
    pub password: Secret,
    /// When the credential stops being accepted for new logins.
    pub expire_time: Option<String>,
}

impl Login {
    /// A fresh credential for the read-write endpoint of `branch`.
    pub async fn for_branch(ctx: &Context, branch: &BranchName, database: &str) -> Result<Login, Failure> {
        let (endpoint, host) = existing_read_write_endpoint(ctx, branch).await?;
        Login::for_endpoint(ctx, endpoint, host, database).await
    }

    /// A fresh credential for `endpoint` at `host`.
    pub async fn for_endpoint(
        ctx: &Context,
        endpoint: EndpointName,
        host: String,
        database: &str,
    ) -> Result<Login, Failure> {
        if database.is_empty() {
            return Err(Failure::usage("--database must not be empty"));
        }
        let port = pg_port()?;
        let user = ctx.client.postgres_user(None).await?;
        let credential = ctx.client.generate_database_credential(&endpoint).await?;
        let token = credential
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Failure::new(Exit::Api, "the API returned a database credential without a token"))?;
        Ok(Login {
            endpoint,
            host,
            port,
            database: database.to_string(),
            user,
            password: Secret::new(token),
            expire_time: credential.expire_time.map(timestamp),
        })
    }

    /// The connection string (password hidden by its `Display`).
    pub fn url(&self) -> ConnectionString {
        ConnectionString::new(&self.host, &self.database, &self.user, self.password.clone()).with_port(self.port)
    }

    /// The libpq environment of this login: host, port, user, database, password, TLS.
    /// `PGSSLMODE` is kept when set (e.g. `verify-full` with `PGSSLROOTCERT`), else `require`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGDATABASE", self.database.clone()),
            ("PGUSER", self.user.clone()),
            ("PGPASSWORD", self.password.expose().to_string()),
            ("PGSSLMODE", sslmode()),
        ]
    }
}

fn sslmode() -> String {
    std::env::var("PGSSLMODE")
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "require".to_string())
}

/// `PGPORT`, else 5432.
fn pg_port() -> Result<u16, Failure> {
    match std::env::var("PGPORT").ok().filter(|p| !p.is_empty()) {
        None => Ok(5432),
        Some(p) => p
            .parse()
            .map_err(|_| Failure::usage(format!("PGPORT {p:?} is not a port number"))),
    }
}

/// `lakebase connect`: replaces this process with psql (on Unix), the credential in its environment.
pub async fn connect(ctx: &Context, args: ConnectArgs) -> Result<Exit, Failure> {
    let branch = target::branch(&args.branch)?;
    let psql = pg_tools::find("psql")?;
    let login = Login::for_branch(ctx, &branch, &args.database).await?;
    let mut command = std::process::Command::new(&psql);
    command.args(&args.psql_args).envs(login.env());
    if std::env::var_os("PGAPPNAME").is_none() {
        command.env("PGAPPNAME", "lakebase-cli");
    }
    run_psql(command, &psql)
}

#[cfg(unix)]
fn run_psql(mut command: std::process::Command, psql: &std::path::Path) -> Result<Exit, Failure> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    Err(Failure::new(
        Exit::Tool,
        format!("cannot run {}: {error}", psql.display()),
    ))
}

#[cfg(not(unix))]
fn run_psql(mut command: std::process::Command, psql: &std::path::Path) -> Result<Exit, Failure> {
    let status = command
        .status()
        .map_err(|e| Failure::new(Exit::Tool, format!("cannot run {}: {e}", psql.display())))?;
    std::process::exit(status.code().unwrap_or(1))
}

/// `lakebase connection-string`.
pub async fn connection_string(ctx: &Context, args: ConnectionStringArgs) -> Result<Exit, Failure> {
    let branch = target::branch(&args.branch)?;
    let login = Login::for_branch(ctx, &branch, &args.database).await?;
    let format = if ctx.format == Format::Json {
        ConnectionFormat::Json
    } else {
        args.format
    };
    let url = login.url().expose();
    let value = json!({
        "branch": branch.to_string(),
        "endpoint": login.endpoint.to_string(),
        "host": login.host,
        "port": login.port,
        "database": login.database,
        "user": login.user,
        "password": login.password.expose(),
        "sslmode": sslmode(),
        "url": url,
        "expire_time": login.expire_time,
    });
    let text = match format {
        ConnectionFormat::Url => url,
        ConnectionFormat::Env => login
            .env()
            .into_iter()
            .map(|(k, v)| format!("export {k}={}", shell_quote(&v)))
            .collect::<Vec<_>>()
            .join("\n"),
        ConnectionFormat::Json => value.to_string(),
    };
    emit(Format::Text, &value, || text);
    Ok(Exit::Ok)
}

/// Single-quotes a value for POSIX shells.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
