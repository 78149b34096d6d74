//! `lakebase api <operation>`: every operation of the spec, with JSON in and out.
//!
//! The operations come from a table generated from the spec (`generated/api.rs`, by
//! `codegen/src/surface/cli.rs`); this module turns each entry into a clap command and runs
//! any of them the same way: the name argument is parsed with the `lakebase` name type of the
//! resource (structure checked before anything is sent), a created resource's id is checked
//! against the API's id rule, query parameters become flags, the body is `--json`, and the
//! request goes through the SDK's client (authentication, retries). Long-running operations
//! are waited for (`--no-wait` prints the operation instead); lists follow every page.

use std::io::Read;

use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::generated::api::{BASE_PATH, OPERATIONS};
use crate::output::Format;

/// One operation of the spec, as the CLI needs it (entries are generated).
#[derive(Debug)]
pub struct ApiOperation {
    /// The command: the operation id in kebab case (`create-branch`).
    pub command: &'static str,
    /// The operation id (`create_branch`).
    pub operation_id: &'static str,
    /// The resource family (the spec's tag).
    pub family: &'static str,
    /// One line of help.
    pub summary: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// The resource name the path is built from, if any.
    pub name: Option<NameArg>,
    /// What follows the name in the path (the whole path after [`BASE_PATH`] without one).
    pub suffix: &'static str,
    /// The id of the resource a create makes, sent as a query parameter.
    pub create_id: Option<CreateId>,
    /// The other query parameters.
    pub query: &'static [QueryParam],
    /// The request body.
    pub body: Body,
    /// What the response is.
    pub result: ResultKind,
}

/// The positional `NAME` or `PARENT`: a full resource name.
#[derive(Debug)]
pub struct NameArg {
    /// `NAME` or `PARENT`.
    pub value_name: &'static str,
    /// The resource kind, for messages (`branch`).
    pub kind: &'static str,
    /// Parses (and checks the structure of) a name, with the `lakebase` name type.
    pub parse: fn(&str) -> Result<String, lakebase::NameError>,
}

/// The id of a created resource (positional, after `PARENT`).
#[derive(Debug)]
pub struct CreateId {
    /// The query parameter (`branch_id`).
    pub param: &'static str,
    /// Whether the API requires it (else the server picks one).
    pub required: bool,
    /// Checks the id against the API's rule (`parent`, `id`).
    pub check: fn(&str, &str) -> Result<(), lakebase::NameError>,
}

/// A query parameter, as a `--flag`.
#[derive(Debug)]
pub struct QueryParam {
    /// Its name on the wire (`update_mask`); the flag is `--update-mask`.
    pub name: &'static str,
    /// Its type.
    pub kind: QueryKind,
    /// Whether the API requires it.
    pub required: bool,
    /// One line of help.
    pub help: &'static str,
}

/// The type of a query parameter.
#[derive(Debug, Clone, Copy)]
pub enum QueryKind {
    /// `--flag` or `--flag=false`.
    Bool,
    /// A 32-bit integer.
    Int,
    /// A string.
    String,
}

/// The request body.
#[derive(Debug)]
pub enum Body {
    /// No body.
    None,
    /// The literal `{}`.
    Empty,
    /// A message (`--json`, default `{}`).
    Message {
        /// Its schema in the spec.
        schema: &'static str,
    },
}

/// What the response is.
#[derive(Debug)]
pub enum ResultKind {
    /// A message, printed as is.
    Plain,
    /// A page of a list; `items` is the field holding the items.
    List {
        /// The items field (`branches`).
        items: &'static str,
    },
    /// An `Operation`, waited for unless `--no-wait`.
    LongRunning,
}

/// `lakebase api <operation> ...`: the chosen operation and its arguments.
#[derive(Debug)]
pub struct ApiArgs {
    operation: &'static ApiOperation,
    matches: ArgMatches,
}

impl FromArgMatches for ApiArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let (command, sub) = matches
            .subcommand()
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingSubcommand))?;
        let operation = OPERATIONS
            .iter()
            .find(|o| o.command == command)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))?;
        Ok(ApiArgs {
            operation,
            matches: sub.clone(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for ApiArgs {
    fn augment_args(cmd: Command) -> Command {
        cmd.subcommand_required(true)
            .subcommand_value_name("OPERATION")
            .after_help(
                "Examples:\n  lakebase api get-branch projects/my-app/branches/dev\n  lakebase api create-branch projects/my-app dev --json '{\"spec\": {\"source_branch\": \"projects/my-app/branches/production\", \"ttl\": \"86400s\"}}'\n  lakebase api update-branch projects/my-app/branches/dev --update-mask spec.expiration --json @change.json\n  lakebase api list-endpoints projects/my-app/branches/dev\n  lakebase api delete-branch projects/my-app/branches/dev --purge --no-wait\n\nNames are full resource names. Output is the JSON the API returns: a long-running\noperation's result once it is done (the operation itself with --no-wait), every item of a\nlist as {\"<items>\": [...]} (one page as the API sends it with --page-token).",
            )
            .subcommands(OPERATIONS.iter().map(command))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The clap command of one operation.
fn command(op: &'static ApiOperation) -> Command {
    let mut cmd = Command::new(op.command).about(format!("{} [{}]", op.summary, op.family));
    if let Some(name) = &op.name {
        cmd = cmd.arg(
            Arg::new("name")
                .value_name(name.value_name)
                .required(true)
                .help(format!("The {} (full resource name)", name.kind)),
        );
    }
    if let Some(id) = &op.create_id {
        cmd = cmd.arg(
            Arg::new("id")
                .value_name(id.param.to_ascii_uppercase())
                .required(id.required)
                .help(format!("The new resource's id (query parameter {})", id.param)),
        );
    }
    for q in op.query {
        let mut arg = Arg::new(q.name)
            .long(q.name.replace('_', "-"))
            .required(q.required)
            .help(q.help);
        arg = match q.kind {
            QueryKind::Bool => arg
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .value_parser(clap::value_parser!(bool)),
            QueryKind::Int => arg.value_parser(clap::value_parser!(i32)),
            QueryKind::String => arg,
        };
        cmd = cmd.arg(arg);
    }
    if let Body::Message { schema } = op.body {
        cmd = cmd.arg(Arg::new("json").long("json").value_name("JSON").help(format!(
            "The {schema} message: inline JSON, @file, or - for stdin (default {{}})"
        )));
    }
    if let ResultKind::LongRunning = op.result {
        cmd = cmd.arg(
            Arg::new("no-wait")
                .long("no-wait")
                .action(ArgAction::SetTrue)
                .help("Print the operation instead of waiting for it"),
        );
    }
    cmd
}

/// The request an invocation makes.
#[derive(Debug, PartialEq)]
struct Request {
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Request {
    fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.query)
            .finish();
        format!("{}?{query}", self.path)
    }
}

/// Builds the request from the arguments, checking names and ids before anything is sent.
fn request(op: &ApiOperation, m: &ArgMatches, stdin: &mut dyn Read) -> Result<Request, Failure> {
    let mut path = BASE_PATH.to_string();
    let mut name_value = String::new();
    if let Some(name) = &op.name {
        let given = m.get_one::<String>("name").map(String::as_str).unwrap_or_default();
        name_value =
            (name.parse)(given).map_err(|e| Failure::usage(format!("invalid {} name {given:?}: {e}", name.kind)))?;
        path.push('/');
        path.push_str(&name_value);
    }
    path.push_str(op.suffix);
    let mut query = Vec::new();
    if let Some(id) = &op.create_id
        && let Some(given) = m.get_one::<String>("id")
    {
        if !given.is_empty() || id.required {
            (id.check)(&name_value, given).map_err(|e| Failure::usage(e.to_string()))?;
        }
        query.push((id.param.to_string(), given.clone()));
    }
    for q in op.query {
        let value = match q.kind {
            QueryKind::Bool => m.get_one::<bool>(q.name).map(bool::to_string),
            QueryKind::Int => m.get_one::<i32>(q.name).map(i32::to_string),
            QueryKind::String => m.get_one::<String>(q.name).cloned(),
        };
        if let Some(value) = value {
            query.push((q.name.to_string(), value));
        }
    }
    let body = match op.body {
        Body::None => None,
        Body::Empty => Some(json!({})),
        Body::Message { .. } => Some(match m.get_one::<String>("json") {
            None => json!({}),
            Some(text) => read_json(text, stdin)?,
        }),
    };
    Ok(Request { path, query, body })
}

/// `--json`: inline JSON, `@file`, or `-` for stdin; must be an object.
fn read_json(arg: &str, stdin: &mut dyn Read) -> Result<Value, Failure> {
    let (text, source) = if arg == "-" {
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read --json from stdin: {e}")))?;
        (text, "stdin".to_string())
    } else if let Some(path) = arg.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read --json file {path}: {e}")))?;
        (text, path.to_string())
    } else {
        (arg.to_string(), "--json".to_string())
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{source} is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Failure::usage(format!("{source} must be a JSON object")));
    }
    Ok(value)
}

/// The `response` of a finished operation, kept as the JSON the server sent.
struct RawResponse(Value);

impl lakebase::OperationResult for RawResponse {
    fn from_response(response: &Map<String, Value>, _operation: &str) -> Result<Self, lakebase::Error> {
        Ok(RawResponse(Value::Object(response.clone())))
    }
}

/// Runs `lakebase api <operation>`.
pub async fn run(ctx: &Context, args: ApiArgs) -> Result<Exit, Failure> {
    let op = args.operation;
    let m = &args.matches;
    let request = request(op, m, &mut std::io::stdin())?;
    let method = http::Method::from_bytes(op.method.as_bytes())
        .map_err(|e| Failure::new(Exit::Api, format!("the spec's method {} is not valid: {e}", op.method)))?;
    let client = &ctx.client;
    let result = match op.result {
        ResultKind::Plain => {
            client
                .call_json(
                    method,
                    &request.path_and_query(),
                    request.body.as_ref(),
                    op.operation_id,
                )
                .await?
        }
        ResultKind::LongRunning => {
            let operation = client
                .call_json(
                    method,
                    &request.path_and_query(),
                    request.body.as_ref(),
                    op.operation_id,
                )
                .await?;
            if m.get_flag("no-wait") {
                operation
            } else {
                let name = operation["name"].as_str().unwrap_or_default();
                let name: lakebase::OperationName = name.parse().map_err(|e| {
                    Failure::new(
                        Exit::Api,
                        format!("the API returned an operation without a valid name: {e}"),
                    )
                })?;
                let _spinner = ctx.progress.spinner(format!("waiting for {name}"));
                let RawResponse(response) = client.resume_operation::<RawResponse, Value>(name).wait().await?;
                response
            }
        }
        ResultKind::List { items } => {
            if request.query.iter().any(|(k, _)| k == "page_token") {
                client
                    .call_json(method, &request.path_and_query(), None, op.operation_id)
                    .await?
            } else {
                list_all(ctx, op, request, items).await?
            }
        }
    };
    match ctx.format {
        Format::Json => println!("{result}"),
        Format::Text => println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default()),
    }
    Ok(Exit::Ok)
}

/// Follows `next_page_token` until the last page; `{"<items>": [every item]}`.
async fn list_all(ctx: &Context, op: &ApiOperation, mut request: Request, items: &str) -> Result<Value, Failure> {
    let mut all = Vec::new();
    loop {
        let page = ctx
            .client
            .call_json(http::Method::GET, &request.path_and_query(), None, op.operation_id)
            .await?;
        if let Some(Value::Array(found)) = page.get(items) {
            all.extend(found.iter().cloned());
        }
        match page
            .get("next_page_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            Some(token) => {
                request.query.retain(|(k, _)| k != "page_token");
                request.query.push(("page_token".to_string(), token.to_string()));
            }
            None => break,
        }
    }
    Ok(json!({ items: all }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(op: &'static ApiOperation, args: &[&str]) -> ArgMatches {
        command(op)
            .try_get_matches_from(std::iter::once(op.command).chain(args.iter().copied()))
            .unwrap()
    }

    fn op(id: &str) -> &'static ApiOperation {
        OPERATIONS.iter().find(|o| o.operation_id == id).unwrap()
    }

    #[test]
    fn every_catalog_operation_has_a_command() {
        let commands: Vec<&str> = OPERATIONS.iter().map(|o| o.operation_id).collect();
        for spec in lakebase_generated::OPERATIONS {
            assert!(commands.contains(&spec.id), "no `lakebase api` command for {}", spec.id);
            let cli = op(spec.id);
            assert_eq!(cli.method, spec.method, "{}", spec.id);
            assert_eq!(cli.command, spec.id.replace('_', "-"));
        }
        assert_eq!(OPERATIONS.len(), lakebase_generated::OPERATIONS.len());
    }

    #[test]
    fn every_path_is_the_catalogs_path() {
        // Build each operation's path from sample names and compare with the catalog's template.
        for spec in lakebase_generated::OPERATIONS {
            let cli = op(spec.id);
            let template = spec.path;
            let mut built = BASE_PATH.to_string();
            if cli.name.is_some() {
                let after = template.strip_prefix(BASE_PATH).unwrap();
                let end = after.len() - cli.suffix.len();
                built.push_str(&after[..end]);
            }
            built.push_str(cli.suffix);
            assert_eq!(built, template, "{}", spec.id);
            let mut query: Vec<&str> = cli.query.iter().map(|q| q.name).collect();
            query.extend(cli.create_id.as_ref().map(|c| c.param));
            let mut expected = spec.query.to_vec();
            query.sort();
            expected.sort();
            assert_eq!(query, expected, "{}", spec.id);
        }
    }

    #[test]
    fn requests_are_built_from_arguments() {
        let create = op("create_branch");
        let m = matches(
            create,
            &[
                "projects/app",
                "dev",
                "--json",
                r#"{"spec": {"no_expiry": true}, "extra": 1}"#,
            ],
        );
        let r = request(create, &m, &mut std::io::empty()).unwrap();
        assert_eq!(r.path, "/api/2.0/postgres/projects/app/branches");
        assert_eq!(r.query, vec![("branch_id".to_string(), "dev".to_string())]);
        assert_eq!(r.body, Some(json!({"spec": {"no_expiry": true}, "extra": 1})));

        let delete = op("delete_branch");
        let m = matches(delete, &["projects/app/branches/dev", "--purge"]);
        let r = request(delete, &m, &mut std::io::empty()).unwrap();
        assert_eq!(
            r.path_and_query(),
            "/api/2.0/postgres/projects/app/branches/dev?purge=true"
        );
        assert_eq!(r.body, None);

        let undelete = op("undelete_branch");
        let m = matches(undelete, &["projects/app/branches/dev"]);
        let r = request(undelete, &m, &mut std::io::empty()).unwrap();
        assert_eq!(r.path, "/api/2.0/postgres/projects/app/branches/dev/undelete");
        assert_eq!(r.body, Some(json!({})));

        let update = op("update_branch");
        let m = matches(
            update,
            &[
                "projects/app/branches/dev",
                "--update-mask",
                "spec.expiration",
                "--json",
                "-",
            ],
        );
        let r = request(update, &m, &mut r#"{"spec": {"ttl": "60s"}}"#.as_bytes()).unwrap();
        assert_eq!(
            r.path_and_query(),
            "/api/2.0/postgres/projects/app/branches/dev?update_mask=spec.expiration"
        );
        assert_eq!(r.body, Some(json!({"spec": {"ttl": "60s"}})));
    }

    #[test]
    fn bad_names_ids_and_json_are_usage_errors() {
        let create = op("create_branch");
        for (args, message) in [
            (vec!["projects/app/branches/x", "dev"], "invalid project name"),
            (vec!["projects/app", "Dev_1"], "invalid branch_id \"Dev_1\""),
            (vec!["projects/app", "dev", "--json", "{"], "--json is not valid JSON"),
            (
                vec!["projects/app", "dev", "--json", "[1]"],
                "--json must be a JSON object",
            ),
        ] {
            let m = matches(create, &args);
            let e = request(create, &m, &mut std::io::empty()).unwrap_err();
            assert_eq!(e.exit, Exit::Usage);
            assert!(e.line().contains(message), "{args:?}: {}", e.line());
        }
    }
}
