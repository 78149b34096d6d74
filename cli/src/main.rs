//! `lakebase`: a database branch per pull request in one command, and every operation of
//! the Lakebase Postgres API from the shell.
//!
//! Exit codes, JSON shapes and authentication are documented in `cli/README.md`.

mod api;
mod args;
mod auth;
mod auth_file;
mod branch;
mod ci;
mod connect;
mod context;
mod exit;
mod expiry;
mod generated;
mod output;
mod pg_tools;
mod schema_diff;
mod target;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::exit::{Exit, Failure};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            let _ = e.print();
            return code.into();
        }
    };
    let format = cli.global.output;
    let outcome = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => Err(Failure::new(Exit::Api, format!("cannot start the async runtime: {e}"))),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(failure) => {
            failure.report(format);
            failure.exit.into()
        }
    }
}

async fn run(cli: Cli) -> Result<Exit, Failure> {
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(
            *shell,
            &mut <Cli as clap::CommandFactory>::command(),
            "lakebase",
            &mut std::io::stdout(),
        );
        return Ok(Exit::Ok);
    }
    if let Command::Auth(command) = cli.command {
        return auth::run(&cli.global, command).await;
    }
    let ctx = Context::new(&cli.global)?;
    let host = ctx.client.host().to_string();
    let outcome = match cli.command {
        Command::Branch(command) => branch::run(&ctx, command).await,
        Command::Ci(command) => ci::run(&ctx, command).await,
        Command::Connect(args) => connect::connect(&ctx, args).await,
        Command::ConnectionString(args) => connect::connection_string(&ctx, args).await,
        Command::SchemaDiff(args) => schema_diff::run(&ctx, args).await,
        Command::Api(args) => api::run(&ctx, args).await,
        // Handled above, before any credentials are resolved.
        Command::Completions { .. } | Command::Auth(_) => Ok(Exit::Ok),
    };
    outcome.map_err(|failure| failure.unreachable_host(&host))
}
