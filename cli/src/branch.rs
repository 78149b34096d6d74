//! `lakebase branch ensure|reset|delete|list`, and the steps `ci pr-branch` shares.

use std::future::Future;
use std::time::{Duration, Instant};

use lakebase::types::{self, EndpointType};
use lakebase::{BranchName, EndpointName, FieldMask};
use serde_json::{Value, json};

use crate::args::{BranchCommand, DeleteArgs, EnsureArgs, ListArgs, TargetArgs};
use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::expiry::{EXPIRATION_MASK, Expiry};
use crate::output::emit;
use crate::target;

/// The endpoint id given to a read-write endpoint `ensure` creates.
const ENDPOINT_ID: &str = "primary";

/// Runs a `branch` command.
pub async fn run(ctx: &Context, command: BranchCommand) -> Result<Exit, Failure> {
    match command {
        BranchCommand::Ensure(args) => ensure_command(ctx, args).await,
        BranchCommand::Reset(args) => reset(ctx, args).await,
        BranchCommand::Delete(args) => delete(ctx, args).await,
        BranchCommand::List(args) => list(ctx, args).await,
    }
}

/// A branch that exists, is ready, and has a ready read-write endpoint.
#[derive(Debug)]
pub struct Ensured {
    /// The branch.
    pub name: BranchName,
    /// Its parent.
    pub parent: BranchName,
    /// Whether this run created it.
    pub created: bool,
    /// Its read-write endpoint.
    pub endpoint: EndpointName,
    /// The endpoint's host.
    pub host: String,
    /// When the branch expires (RFC 3339), if it does.
    pub expire_time: Option<String>,
}

impl Ensured {
    /// The documented JSON of `branch ensure`.
    pub fn json(&self) -> Value {
        json!({
            "name": self.name.to_string(),
            "project_id": self.name.project_id(),
            "branch_id": self.name.branch_id(),
            "parent": self.parent.to_string(),
            "created": self.created,
            "endpoint": self.endpoint.to_string(),
            "host": self.host,
            "expire_time": self.expire_time,
        })
    }
}

async fn ensure_command(ctx: &Context, args: EnsureArgs) -> Result<Exit, Failure> {
    let name = target::branch(&args.branch)?;
    let parent = target::parent(&name.project(), &args.from)?;
    let expiry = Expiry::from_args(&args.expiry)?;
    let ensured = ensure(ctx, &name, &parent, expiry).await?;
    emit(ctx.format, &ensured.json(), || {
        format!(
            "branch:  {} ({})\nhost:    {}\nparent:  {}\nexpires: {}",
            ensured.name,
            if ensured.created { "created" } else { "exists" },
            ensured.host,
            ensured.parent,
            ensured.expire_time.as_deref().unwrap_or("never"),
        )
    });
    Ok(Exit::Ok)
}

/// Creates `name` from `parent`, or keeps it when it exists from `parent` (moving its
/// expiry when one is given); then waits for it and its read-write endpoint.
pub async fn ensure(
    ctx: &Context,
    name: &BranchName,
    parent: &BranchName,
    expiry: Option<Expiry>,
) -> Result<Ensured, Failure> {
    let client = &ctx.client;
    let (branch, created) = match client.get_branch(name).await {
        Ok(existing) if is_deleted(&existing) => return Err(soft_deleted(name)),
        Ok(existing) => (keep(ctx, name, parent, existing, expiry).await?, false),
        Err(e) if e.is_not_found() => create(ctx, name, parent, expiry).await?,
        Err(e) => return Err(e.into()),
    };
    let branch = wait_branch_ready(ctx, name, branch).await?;
    let (endpoint, host) = read_write_endpoint(ctx, name).await?;
    Ok(Ensured {
        name: name.clone(),
        parent: parent.clone(),
        created,
        endpoint,
        host,
        expire_time: branch.status.and_then(|s| s.expire_time).map(timestamp),
    })
}

/// An existing branch: same parent or fail; move the expiry when asked.
async fn keep(
    ctx: &Context,
    name: &BranchName,
    parent: &BranchName,
    existing: types::Branch,
    expiry: Option<Expiry>,
) -> Result<types::Branch, Failure> {
    let source = existing.status.as_ref().and_then(|s| s.source_branch.clone());
    if source.as_deref() != Some(parent.as_str()) {
        return Err(Failure::new(
            Exit::Api,
            format!(
                "branch {name} exists with parent {} instead of {parent}; delete it or choose another branch id",
                source.as_deref().unwrap_or("(none)")
            ),
        ));
    }
    let Some(expiry) = expiry else {
        return Ok(existing);
    };
    let mut spec = types::BranchSpec::default();
    expiry.apply(&mut spec);
    let change = types::Branch {
        spec: Some(spec),
        ..Default::default()
    };
    let mask = FieldMask::new([EXPIRATION_MASK]).map_err(|e| Failure::new(Exit::Api, e.to_string()))?;
    let op = ctx.client.update_branch(name, change, &mask).await?;
    let _spinner = ctx.progress.spinner(format!("updating the expiry of {name}"));
    Ok(op.wait().await?)
}

/// A missing branch: the parent must exist; create and wait.
async fn create(
    ctx: &Context,
    name: &BranchName,
    parent: &BranchName,
    expiry: Option<Expiry>,
) -> Result<(types::Branch, bool), Failure> {
    let client = &ctx.client;
    match client.get_branch(parent).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {
            return Err(Failure::new(
                Exit::Api,
                format!("parent branch {parent} does not exist"),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let mut spec = types::BranchSpec {
        source_branch: Some(parent.to_string()),
        ..Default::default()
    };
    expiry.unwrap_or(Expiry::Never).apply(&mut spec);
    let branch = types::Branch {
        spec: Some(spec),
        ..Default::default()
    };
    let op = match client.create_branch(&name.project(), name.branch_id(), branch).await {
        Ok(op) => op,
        Err(e) if e.is_already_exists() => {
            // Created meanwhile by someone else, or soft-deleted (its id stays taken).
            return match client.get_branch(name).await {
                Ok(existing) if !is_deleted(&existing) => Ok((keep(ctx, name, parent, existing, None).await?, false)),
                Ok(_) => Err(soft_deleted(name)),
                Err(g) if g.is_not_found() => Err(soft_deleted(name)),
                Err(g) => Err(g.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let _spinner = ctx.progress.spinner(format!("creating {name}"));
    Ok((op.wait().await?, true))
}

/// Whether a branch is soft-deleted (reads of it still answer, with a `delete_time`).
fn is_deleted(branch: &types::Branch) -> bool {
    branch.status.as_ref().is_some_and(|s| s.delete_time.is_some())
}

/// A soft-deleted branch keeps its id until purged: say how to get it back or free it.
fn soft_deleted(name: &BranchName) -> Failure {
    Failure::new(
        Exit::Api,
        format!(
            "branch {name} was deleted without --purge and its id is still taken; restore it with `lakebase api undelete-branch {name}` or purge it with `lakebase api delete-branch {name} --purge`"
        ),
    )
}

/// Polls `read` every second until it yields `Some`, or fails with a timeout after `--timeout`.
async fn poll_until<T, F, Fut>(ctx: &Context, what: &str, mut read: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, Failure>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = read().await? {
            return Ok(value);
        }
        if started.elapsed() >= ctx.timeout {
            return Err(Failure::new(
                Exit::Timeout,
                format!("timed out after {:?} waiting for {what}", ctx.timeout),
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits until the branch is `READY` with nothing pending.
async fn wait_branch_ready(ctx: &Context, name: &BranchName, branch: types::Branch) -> Result<types::Branch, Failure> {
    let ready = |b: &types::Branch| {
        b.status.as_ref().is_some_and(|s| {
            s.pending_state.is_none() && matches!(s.current_state, Some(types::BranchStatusState::Ready) | None)
        })
    };
    if ready(&branch) {
        return Ok(branch);
    }
    let _spinner = ctx.progress.spinner(format!("waiting for {name} to be ready"));
    poll_until(ctx, &format!("{name} to be ready"), || async {
        let b = ctx.client.get_branch(name).await?;
        Ok(ready(&b).then_some(b))
    })
    .await
}

/// Whether an endpoint is the read-write one (GET shows `status`, a create's result `spec`).
fn is_read_write(e: &types::Endpoint) -> bool {
    let kind = e
        .status
        .as_ref()
        .and_then(|s| s.endpoint_type.clone())
        .or_else(|| e.spec.as_ref().and_then(|s| s.endpoint_type.clone()));
    kind == Some(EndpointType::ReadWrite)
}

/// The host of a settled endpoint (nothing pending), if it has one.
fn settled_host(e: &types::Endpoint) -> Option<String> {
    let status = e.status.as_ref()?;
    if status.pending_state.is_some() {
        return None;
    }
    status.hosts.as_ref()?.host.clone().filter(|h| !h.is_empty())
}

fn endpoint_name(e: &types::Endpoint) -> Result<EndpointName, Failure> {
    e.name.as_deref().unwrap_or_default().parse().map_err(|err| {
        Failure::new(
            Exit::Api,
            format!("the API returned an endpoint without a valid name: {err}"),
        )
    })
}

/// The branch's read-write endpoint, created when it has none, once it is settled with a host.
pub async fn read_write_endpoint(ctx: &Context, branch: &BranchName) -> Result<(EndpointName, String), Failure> {
    let client = &ctx.client;
    let existing = client.list_endpoints(branch).await?;
    let endpoint = match existing.into_iter().find(is_read_write) {
        Some(e) => e,
        None => {
            let spec = types::EndpointSpec {
                endpoint_type: Some(EndpointType::ReadWrite),
                ..Default::default()
            };
            let endpoint = types::Endpoint {
                spec: Some(spec),
                ..Default::default()
            };
            let op = client.create_endpoint(branch, ENDPOINT_ID, endpoint).await?;
            let _spinner = ctx
                .progress
                .spinner(format!("creating a read-write endpoint for {branch}"));
            op.wait_until_settled().await?
        }
    };
    let name = endpoint_name(&endpoint)?;
    if let Some(host) = settled_host(&endpoint) {
        return Ok((name, host));
    }
    let _spinner = ctx.progress.spinner(format!("waiting for {name}"));
    let host = poll_until(ctx, &format!("{name} to have a host"), || async {
        Ok(settled_host(&client.get_endpoint(&name).await?))
    })
    .await?;
    Ok((name, host))
}

/// The branch's read-write endpoint without creating or waiting: for `connect` and friends.
pub async fn existing_read_write_endpoint(
    ctx: &Context,
    branch: &BranchName,
) -> Result<(EndpointName, String), Failure> {
    let endpoints = match ctx.client.list_endpoints(branch).await {
        Ok(endpoints) => endpoints,
        Err(e) if e.is_not_found() => {
            return Err(Failure::new(Exit::Api, format!("branch {branch} does not exist")));
        }
        Err(e) => return Err(e.into()),
    };
    let endpoint = endpoints.into_iter().find(is_read_write).ok_or_else(|| {
        Failure::new(
            Exit::Api,
            format!("branch {branch} has no read-write endpoint; `lakebase branch ensure` creates one"),
        )
    })?;
    let name = endpoint_name(&endpoint)?;
    let host = endpoint
        .status
        .as_ref()
        .and_then(|s| s.hosts.as_ref())
        .and_then(|h| h.host.clone())
        .ok_or_else(|| Failure::new(Exit::Api, format!("{name} has no host yet (is it still starting?)")))?;
    Ok((name, host))
}

/// RFC 3339, seconds precision or finer as needed, `Z`.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

async fn reset(ctx: &Context, args: TargetArgs) -> Result<Exit, Failure> {
    let client = &ctx.client;
    let name = target::branch(&args.branch)?;
    let branch = match client.get_branch(&name).await {
        Ok(b) if is_deleted(&b) => return Err(soft_deleted(&name)),
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return Err(Failure::new(Exit::Api, format!("branch {name} does not exist")));
        }
        Err(e) => return Err(e.into()),
    };
    let status = branch.status.clone().unwrap_or_default();
    if status.default == Some(true) {
        return Err(Failure::new(
            Exit::Api,
            format!("{name} is the project's default branch; it cannot be reset"),
        ));
    }
    if status.is_protected == Some(true) {
        return Err(Failure::new(
            Exit::Api,
            format!("{name} is protected; it cannot be reset"),
        ));
    }
    let parent: BranchName = match status.source_branch.as_deref().filter(|s| !s.is_empty()) {
        Some(p) => p
            .parse()
            .map_err(|e| Failure::new(Exit::Api, format!("the parent of {name} is not a branch name: {e}")))?,
        None => {
            return Err(Failure::new(
                Exit::Api,
                format!(
                    "{name} has no parent branch (a root branch or one restored from a snapshot); nothing to reset to"
                ),
            ));
        }
    };
    let children: Vec<String> = client
        .list_branches(&name.project())
        .await?
        .into_iter()
        .filter(|b| b.status.as_ref().and_then(|s| s.source_branch.as_deref()) == Some(name.as_str()))
        .filter_map(|b| b.name)
        .collect();
    if !children.is_empty() {
        return Err(Failure::new(
            Exit::Api,
            format!(
                "{name} is the parent of {}; reset would orphan them",
                children.join(", ")
            ),
        ));
    }
    let endpoints = client.list_endpoints(&name).await?;
    let old_host = endpoints.iter().find(|e| is_read_write(e)).and_then(any_host);
    let expiry = match status.expire_time {
        Some(t) if t > chrono::Utc::now() => Expiry::At(t),
        _ => Expiry::Never,
    };

    {
        let _spinner = ctx.progress.spinner(format!("deleting {name}"));
        client.delete_branch(&name).purge(true).await?.wait().await?;
    }
    let recreate = async {
        let mut spec = types::BranchSpec {
            source_branch: Some(parent.to_string()),
            ..Default::default()
        };
        expiry.apply(&mut spec);
        let body = types::Branch {
            spec: Some(spec),
            ..Default::default()
        };
        let op = client.create_branch(&name.project(), name.branch_id(), body).await?;
        let _spinner = ctx.progress.spinner(format!("creating {name} from {parent}"));
        op.wait().await?;
        let now: Vec<String> = client
            .list_endpoints(&name)
            .await?
            .into_iter()
            .filter_map(|e| e.endpoint_id)
            .collect();
        for old in &endpoints {
            let Some(id) = old.endpoint_id.as_deref().filter(|id| !now.iter().any(|n| n == id)) else {
                continue;
            };
            let op = client.create_endpoint(&name, id, endpoint_like(old)).await?;
            op.wait_until_settled().await?;
        }
        Ok::<_, Failure>(())
    };
    recreate.await.map_err(|e| {
        e.context(format!(
            "{name} was deleted but not fully recreated; run `lakebase branch ensure {}/{} --from {}` to finish",
            name.project_id(),
            name.branch_id(),
            parent.branch_id()
        ))
    })?;
    let (endpoint, host) = read_write_endpoint(ctx, &name).await?;
    let branch = client.get_branch(&name).await?;
    let value = json!({
        "name": name.to_string(),
        "parent": parent.to_string(),
        "endpoint": endpoint.to_string(),
        "host": host,
        "previous_host": old_host,
        "host_changed": old_host.as_deref() != Some(host.as_str()),
        "expire_time": branch.status.and_then(|s| s.expire_time).map(timestamp),
    });
    emit(ctx.format, &value, || {
        let mut text = format!("reset {name} to the current state of {parent}\nhost: {host}");
        if old_host.as_deref() != Some(host.as_str()) {
            text.push_str(&format!(" (was {})", old_host.as_deref().unwrap_or("none")));
        }
        text
    });
    Ok(Exit::Ok)
}

fn any_host(e: &types::Endpoint) -> Option<String> {
    e.status.as_ref()?.hosts.as_ref()?.host.clone()
}

/// A create request for an endpoint like `old` (its type and compute settings, read from
/// its status since reads carry no spec).
fn endpoint_like(old: &types::Endpoint) -> types::Endpoint {
    let status = old.status.clone().unwrap_or_default();
    let from_spec = old.spec.clone().unwrap_or_default();
    let spec = types::EndpointSpec {
        endpoint_type: status.endpoint_type.or(from_spec.endpoint_type),
        autoscaling_limit_min_cu: status.autoscaling_limit_min_cu.or(from_spec.autoscaling_limit_min_cu),
        autoscaling_limit_max_cu: status.autoscaling_limit_max_cu.or(from_spec.autoscaling_limit_max_cu),
        suspend_timeout_duration: status.suspend_timeout_duration.or(from_spec.suspend_timeout_duration),
        ..Default::default()
    };
    types::Endpoint {
        spec: Some(spec),
        ..Default::default()
    }
}

async fn delete(ctx: &Context, args: DeleteArgs) -> Result<Exit, Failure> {
    let name = target::branch(&args.branch)?;
    let missing = |what: &str| {
        if args.allow_missing {
            Ok(false)
        } else {
            Err(Failure::new(
                Exit::Api,
                format!("branch {name} {what} (--allow-missing makes this a success)"),
            ))
        }
    };
    // A soft-deleted branch still reads; deleting it again without --purge would change nothing.
    let deleted = match ctx.client.get_branch(&name).await {
        Ok(b) if is_deleted(&b) && !args.purge => missing("is already deleted")?,
        Ok(_) => {
            let op = ctx.client.delete_branch(&name).purge(args.purge).await?;
            let _spinner = ctx.progress.spinner(format!("deleting {name}"));
            op.wait().await?;
            true
        }
        Err(e) if e.is_not_found() => missing("does not exist")?,
        Err(e) => return Err(e.into()),
    };
    let value = json!({"name": name.to_string(), "deleted": deleted, "purged": deleted && args.purge});
    emit(ctx.format, &value, || match (deleted, args.purge) {
        (true, true) => format!("deleted {name} (purged)"),
        (true, false) => format!("deleted {name}"),
        (false, _) => format!("{name} does not exist or is already deleted; nothing to do"),
    });
    Ok(Exit::Ok)
}

async fn list(ctx: &Context, args: ListArgs) -> Result<Exit, Failure> {
    let project = target::project(&args.project)?;
    let branches = ctx
        .client
        .list_branches(&project)
        .show_deleted(args.show_deleted)
        .await?;
    let rows: Vec<Value> = branches.iter().map(branch_json).collect();
    let value = json!({"project": project.to_string(), "branches": rows});
    emit(ctx.format, &value, || {
        let mut table = vec![[
            "BRANCH".to_string(),
            "STATE".to_string(),
            "PARENT".to_string(),
            "EXPIRES".to_string(),
        ]];
        for row in &rows {
            let text = |k: &str| row[k].as_str().unwrap_or("-").to_string();
            let parent = row["parent"]
                .as_str()
                .map_or("-".to_string(), |p| p.rsplit('/').next().unwrap_or(p).to_string());
            let mut state = text("state");
            if row["default"] == true {
                state.push_str(" (default)");
            }
            if row["deleted"] == true {
                state = "DELETED".to_string();
            }
            table.push([text("branch_id"), state, parent, text("expire_time")]);
        }
        render_table(&table)
    });
    Ok(Exit::Ok)
}

/// The documented JSON of one branch in `branch list`.
fn branch_json(b: &types::Branch) -> Value {
    let status = b.status.clone().unwrap_or_default();
    json!({
        "name": b.name,
        "branch_id": b.branch_id.clone().or(status.branch_id.clone()),
        "parent": status.source_branch,
        "state": status.current_state.as_ref().map(|s| s.as_str().to_string()),
        "default": status.default.unwrap_or(false),
        "protected": status.is_protected.unwrap_or(false),
        "deleted": status.delete_time.is_some(),
        "expire_time": status.expire_time.map(timestamp),
        "create_time": b.create_time.map(timestamp),
    })
}

fn render_table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
