//! The command line: global options and every command, with the examples `--help` shows.

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use crate::output::Format;

/// A database branch per pull request in one command, and every Lakebase Postgres API
/// operation from the shell.
#[derive(Debug, Parser)]
#[command(name = "lakebase", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "\
Authentication: `lakebase auth login --host URL` (browser OAuth), DATABRICKS_HOST with
DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET), the Databricks CLI's
login, or a ~/.databrickscfg profile (--profile, DATABRICKS_CONFIG_PROFILE).

Exit codes: 0 ok, 1 schemas differ (schema-diff), 2 usage or configuration error,
3 API or network error, 4 timeout, 5 psql/pg_dump missing or failed.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Profile of ~/.databrickscfg to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Workspace URL (overrides DATABRICKS_HOST and the profile's host).
    #[arg(long, global = true, value_name = "URL")]
    pub host: Option<String>,
    /// Output format: text, or json (one JSON object per command) [possible values: text, json]
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    pub output: Format,
    /// No spinners on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Longest time any wait (operations, endpoints) may take.
    #[arg(long, global = true, value_name = "DURATION", default_value = "20m")]
    pub timeout: humantime::Duration,
    /// How long failed requests (429, 503, unreachable host) are retried.
    #[arg(long, global = true, value_name = "DURATION", default_value = "60s")]
    pub retry_budget: humantime::Duration,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, reset, delete and list branches.
    #[command(subcommand)]
    Branch(BranchCommand),
    /// Workflows for CI systems.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Log in as a person (browser OAuth), print tokens, describe the login, list profiles.
    #[command(subcommand)]
    Auth(crate::auth::AuthCommand),
    /// Open psql on a branch with a fresh database credential.
    #[command(after_help = "\
Examples:
  lakebase connect my-app/dev
  lakebase connect my-app/dev --database app -- -c 'select 1'
  lakebase connect my-app/pr-42 -- -f migrations/001_init.sql

The credential reaches psql through PGPASSWORD, never its command line. PGPORT (default 5432)
and PGSSLMODE (default require) are passed through; psql's exit code is lakebase's.")]
    Connect(ConnectArgs),
    /// Print a connection string (with a fresh credential) for a branch.
    #[command(after_help = "\
Examples:
  export DATABASE_URL=$(lakebase connection-string my-app/dev)
  eval \"$(lakebase connection-string my-app/dev --format env)\"
  lakebase connection-string my-app/dev --format json | jq -r .password

The output contains a database credential (valid for an hour): it is printed because you asked.")]
    ConnectionString(ConnectionStringArgs),
    /// Compare the schema of a branch with its parent's (or another branch's).
    #[command(after_help = "\
Examples:
  lakebase schema-diff my-app/pr-42
  lakebase schema-diff my-app/pr-42 --base my-app/staging --database app
  lakebase schema-diff my-app/pr-42 --format markdown > comment.md

Both sides are dumped with pg_dump --schema-only --no-owner; comments, SET lines and blank-line
runs are dropped before the unified diff. Exit code 1 when the schemas differ, 0 when not.")]
    SchemaDiff(SchemaDiffArgs),
    /// Call any operation of the API with JSON in and out.
    Api(crate::api::ApiArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  lakebase completions bash > ~/.local/share/bash-completion/completions/lakebase
  lakebase completions zsh > \"${fpath[1]}/_lakebase\"
  lakebase completions fish > ~/.config/fish/completions/lakebase.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// `lakebase branch ...`.
#[derive(Debug, Subcommand)]
pub enum BranchCommand {
    /// Create a branch, or extend the expiry of the one that exists; wait until it can be used.
    #[command(after_help = "\
Examples:
  lakebase branch ensure my-app/dev --from production --no-expiry
  lakebase branch ensure my-app/pr-42 --from production --ttl 7d
  lakebase branch ensure my-app/demo --expire-time 2030-01-01T00:00:00Z -o json

An existing branch from the same parent is kept (its expiry is moved when one is given); one
from another parent is an error. Waits for the branch and its read-write endpoint (created when
the branch has none) and prints the branch, its host, whether it was created, and its expiry.")]
    Ensure(EnsureArgs),
    /// Recreate a branch from its parent's current state.
    #[command(after_help = "\
Examples:
  lakebase branch reset my-app/pr-42
  lakebase branch reset my-app/dev -o json

The API has no reset: the branch is deleted for good (purged) and created again with the same
id, parent and expiry, and its read-write endpoint with the same id and settings. Everything
written on the branch since it was created is lost. Branches that are the default, protected,
or the parent of other branches are refused. Prints the new host when it changed.")]
    Reset(TargetArgs),
    /// Delete a branch.
    #[command(after_help = "\
Examples:
  lakebase branch delete my-app/pr-42 --allow-missing
  lakebase branch delete my-app/old --purge

Without --purge the branch is soft-deleted: it can be restored (lakebase api undelete-branch)
and its id stays taken. With --allow-missing a branch that does not exist is success.")]
    Delete(DeleteArgs),
    /// List the branches of a project.
    #[command(after_help = "\
Examples:
  lakebase branch list my-app
  lakebase branch list my-app --show-deleted -o json")]
    List(ListArgs),
}

/// A branch given as `<project>/<branch>`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The branch: <project>/<branch> (or projects/<project>/branches/<branch>).
    #[arg(value_name = "PROJECT/BRANCH")]
    pub branch: String,
}

/// `branch ensure`.
#[derive(Debug, Args)]
pub struct EnsureArgs {
    /// The branch: <project>/<branch>.
    #[arg(value_name = "PROJECT/BRANCH")]
    pub branch: String,
    /// The parent branch (an id in the same project).
    #[arg(long, value_name = "BRANCH", default_value = "production")]
    pub from: String,
    #[command(flatten)]
    pub expiry: ExpiryArgs,
}

/// The expiry options (at most one).
#[derive(Debug, Args, Default)]
#[group(multiple = false)]
pub struct ExpiryArgs {
    /// Expire this long from now (e.g. 3d, 12h, 1w).
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<humantime::Duration>,
    /// Expire at this time (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub expire_time: Option<String>,
    /// Never expire (the default for a new branch when no expiry is given).
    #[arg(long)]
    pub no_expiry: bool,
}

/// `branch delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The branch: <project>/<branch>.
    #[arg(value_name = "PROJECT/BRANCH")]
    pub branch: String,
    /// Delete for good: no undelete, and the id can be used again at once.
    #[arg(long)]
    pub purge: bool,
    /// Succeed when the branch does not exist.
    #[arg(long)]
    pub allow_missing: bool,
}

/// `branch list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The project id.
    #[arg(value_name = "PROJECT")]
    pub project: String,
    /// Include soft-deleted branches.
    #[arg(long)]
    pub show_deleted: bool,
}

/// `lakebase ci ...`.
#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Ensure the branch of a pull request and print what CI needs to use it.
    #[command(after_help = "\
Examples:
  lakebase ci pr-branch --project my-app --pr 42
  lakebase ci pr-branch --project my-app --pr \"$PR_NUMBER\" --from staging --ttl 7d --github-output

The branch is pr-<N>, created from --from (or kept, with its expiry moved to now + --ttl), with a
read-write endpoint; a fresh database credential (one hour) goes into database_url.
--github-output appends branch, branch_name, host, database_url, created and expire_time to
$GITHUB_OUTPUT (stdout then shows database_url redacted); under GitHub Actions
(GITHUB_ACTIONS=true) it first prints ::add-mask:: for the credential and the URL.")]
    PrBranch(PrBranchArgs),
}

/// `ci pr-branch`.
#[derive(Debug, Args)]
pub struct PrBranchArgs {
    /// The project id.
    #[arg(long, value_name = "PROJECT")]
    pub project: String,
    /// The pull request number.
    #[arg(long, value_name = "N")]
    pub pr: String,
    /// The parent branch.
    #[arg(long, value_name = "BRANCH", default_value = "production")]
    pub from: String,
    /// Expire this long from the last run.
    #[arg(long, value_name = "DURATION", default_value = "3d")]
    pub ttl: humantime::Duration,
    /// The database of database_url.
    #[arg(long, value_name = "NAME", default_value = crate::connect::DEFAULT_DATABASE)]
    pub database: String,
    /// Append the outputs to the file named by $GITHUB_OUTPUT, masking the credential.
    #[arg(long)]
    pub github_output: bool,
}

/// `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The branch: <project>/<branch>.
    #[arg(value_name = "PROJECT/BRANCH")]
    pub branch: String,
    /// The database.
    #[arg(long, short, value_name = "NAME", default_value = crate::connect::DEFAULT_DATABASE)]
    pub database: String,
    /// Arguments passed to psql (after --).
    #[arg(last = true, value_name = "PSQL_ARGS")]
    pub psql_args: Vec<String>,
}

/// `connection-string`.
#[derive(Debug, Args)]
pub struct ConnectionStringArgs {
    /// The branch: <project>/<branch>.
    #[arg(value_name = "PROJECT/BRANCH")]
    pub branch: String,
    /// The database.
    #[arg(long, short, value_name = "NAME", default_value = crate::connect::DEFAULT_DATABASE)]
    pub database: String,
    /// url: postgres://...; env: PG* variables for a shell; json: every part (also with -o json).
    #[arg(long, value_enum, default_value_t = ConnectionFormat::Url)]
    pub format: ConnectionFormat,
}

/// `connection-string --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConnectionFormat {
    /// A postgres:// URL.
    Url,
    /// `export PGHOST=...` lines.
    Env,
    /// One JSON object.
    Json,
}

/// `schema-diff`.
#[derive(Debug, Args)]
pub struct SchemaDiffArgs {
    /// The branch: <project>/<branch>.
    #[arg(value_name = "PROJECT/BRANCH")]
    pub branch: String,
    /// The branch to compare with (default: the branch's parent).
    #[arg(long, value_name = "PROJECT/BRANCH")]
    pub base: Option<String>,
    /// The database.
    #[arg(long, short, value_name = "NAME", default_value = crate::connect::DEFAULT_DATABASE)]
    pub database: String,
    /// text: a unified diff; markdown: a summary and the diff, fit for a pull request comment.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// `schema-diff --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A unified diff.
    Text,
    /// Markdown for a pull request comment.
    Markdown,
}
