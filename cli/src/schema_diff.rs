//! `lakebase schema-diff`: schema-only dumps of two branches, normalised, as a unified diff.

use lakebase::BranchName;
use serde_json::json;
use similar::TextDiff;

use crate::args::{DiffFormat, SchemaDiffArgs};
use crate::connect::Login;
use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::output::emit;
use crate::{pg_tools, target};

/// Runs `schema-diff`; exit code [`Exit::Different`] when the schemas differ.
pub async fn run(ctx: &Context, args: SchemaDiffArgs) -> Result<Exit, Failure> {
    let branch = target::branch(&args.branch)?;
    let base = match &args.base {
        Some(base) => target::branch(base)?,
        None => parent_of(ctx, &branch).await?,
    };
    let pg_dump = pg_tools::find("pg_dump")?;
    let (ours, theirs) = {
        let _spinner = ctx
            .progress
            .spinner(format!("dumping the schemas of {branch} and {base}"));
        let ours = dump(ctx, &pg_dump, &branch, &args.database);
        let theirs = dump(ctx, &pg_dump, &base, &args.database);
        let (ours, theirs) = tokio::join!(ours, theirs);
        (ours?, theirs?)
    };
    let diff = unified_diff(&theirs, &ours, base.as_str(), branch.as_str());
    let different = !diff.is_empty();
    let value = json!({
        "branch": branch.to_string(),
        "base": base.to_string(),
        "database": args.database,
        "different": different,
        "diff": diff,
    });
    emit(ctx.format, &value, || match args.format {
        DiffFormat::Text if different => diff.clone(),
        DiffFormat::Text => format!("no schema differences between {branch} and {base}"),
        DiffFormat::Markdown => markdown(&branch, &base, &args.database, &diff),
    });
    Ok(if different { Exit::Different } else { Exit::Ok })
}

/// The branch a branch was created from.
async fn parent_of(ctx: &Context, branch: &BranchName) -> Result<BranchName, Failure> {
    let b = match ctx.client.get_branch(branch).await {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return Err(Failure::new(Exit::Api, format!("branch {branch} does not exist")));
        }
        Err(e) => return Err(e.into()),
    };
    let parent = b
        .status
        .and_then(|s| s.source_branch)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Failure::usage(format!("{branch} has no parent branch; name one with --base")))?;
    parent
        .parse()
        .map_err(|e| Failure::new(Exit::Api, format!("the parent of {branch} is not a branch name: {e}")))
}

/// `pg_dump --schema-only --no-owner` of one branch, credentials in the environment, normalised.
async fn dump(
    ctx: &Context,
    pg_dump: &std::path::Path,
    branch: &BranchName,
    database: &str,
) -> Result<String, Failure> {
    let login = Login::for_branch(ctx, branch, database).await?;
    let output = tokio::process::Command::new(pg_dump)
        .args(["--schema-only", "--no-owner", "--no-password"])
        .envs(login.env())
        .env("PGAPPNAME", "lakebase-cli schema-diff")
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Failure::new(Exit::Tool, format!("cannot run {}: {e}", pg_dump.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Failure::new(
            Exit::Tool,
            format!("pg_dump of {branch} failed ({}): {}", output.status, stderr.trim()),
        ));
    }
    Ok(normalise(&String::from_utf8_lossy(&output.stdout)))
}

/// Drops what differs between two dumps of the same schema: comments, `SET` and
/// `set_config` lines, the `\restrict`/`\unrestrict` lines of newer pg_dump (a random key),
/// and runs of blank lines.
pub fn normalise(dump: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in dump.lines() {
        let trimmed = line.trim_end();
        let noise = trimmed.starts_with("--")
            || trimmed.starts_with("SET ")
            || trimmed.starts_with("SELECT pg_catalog.set_config(")
            || trimmed.starts_with("\\restrict")
            || trimmed.starts_with("\\unrestrict");
        if noise {
            continue;
        }
        if trimmed.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        out.push_str(trimmed);
        out.push('\n');
        blank = false;
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A unified diff from `base` to `branch` (empty when equal).
pub fn unified_diff(base: &str, branch: &str, base_label: &str, branch_label: &str) -> String {
    if base == branch {
        return String::new();
    }
    TextDiff::from_lines(base, branch)
        .unified_diff()
        .context_radius(3)
        .header(base_label, branch_label)
        .to_string()
}

/// A pull request comment: a heading, a one-line summary and the diff in a `diff` block.
pub fn markdown(branch: &BranchName, base: &BranchName, database: &str, diff: &str) -> String {
    let heading = format!(
        "### Schema diff: `{}` vs `{}` (database `{database}`)\n\n",
        branch.branch_id(),
        base.branch_id()
    );
    if diff.is_empty() {
        return format!("{heading}No schema changes.\n");
    }
    let added = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    let removed = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    format!("{heading}{added} line(s) added, {removed} removed.\n\n```diff\n{diff}```\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\n\nCREATE TABLE public.t (\n    id integer\n);\n\n\n--\n-- done\n--\n\n\\unrestrict abc123\n\n";

    #[test]
    fn normalise_drops_noise() {
        assert_eq!(normalise(DUMP), "CREATE TABLE public.t (\n    id integer\n);\n");
        assert_eq!(normalise(&DUMP.replace("abc123", "zzz")), normalise(DUMP));
    }

    #[test]
    fn diff_and_markdown() {
        let a = "CREATE TABLE t (\n    id integer\n);\n";
        let b = "CREATE TABLE t (\n    id integer,\n    name text\n);\n";
        let diff = unified_diff(a, b, "base", "branch");
        assert!(diff.starts_with("--- base\n+++ branch\n@@"), "{diff}");
        assert!(
            diff.contains("-    id integer\n+    id integer,\n+    name text\n"),
            "{diff}"
        );
        assert_eq!(unified_diff(a, a, "x", "y"), "");
        let branch: BranchName = "projects/p/branches/pr-1".parse().unwrap();
        let base: BranchName = "projects/p/branches/production".parse().unwrap();
        let md = markdown(&branch, &base, "db", &diff);
        assert!(md.starts_with("### Schema diff: `pr-1` vs `production` (database `db`)\n\n2 line(s) added, 1 removed.\n\n```diff\n--- base"), "{md}");
        assert_eq!(
            markdown(&branch, &base, "db", ""),
            "### Schema diff: `pr-1` vs `production` (database `db`)\n\nNo schema changes.\n"
        );
    }
}
