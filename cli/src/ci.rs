//! `lakebase ci pr-branch`: the whole per-pull-request flow in one command.

use std::io::Write;

use serde_json::json;

use crate::args::{CiCommand, PrBranchArgs};
use crate::branch::ensure;
use crate::connect::Login;
use crate::context::Context;
use crate::exit::{Exit, Failure};
use crate::expiry::Expiry;
use crate::output::{emit, mask_in_actions};
use crate::target;

/// Runs a `ci` command.
pub async fn run(ctx: &Context, command: CiCommand) -> Result<Exit, Failure> {
    match command {
        CiCommand::PrBranch(args) => pr_branch(ctx, args).await,
    }
}

/// The branch id of a pull request: `pr-<N>` for a positive decimal number.
pub fn branch_id(pr: &str) -> Result<String, Failure> {
    let trimmed = pr.trim().trim_start_matches('#');
    match trimmed.parse::<u64>() {
        Ok(n) if n > 0 && trimmed.bytes().all(|b| b.is_ascii_digit()) => Ok(format!("pr-{n}")),
        _ => Err(Failure::usage(format!(
            "--pr {pr:?} is not a pull request number (a positive integer)"
        ))),
    }
}

async fn pr_branch(ctx: &Context, args: PrBranchArgs) -> Result<Exit, Failure> {
    let project = target::project(&args.project)?;
    let name = project
        .branch(&branch_id(&args.pr)?)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let parent = target::parent(&project, &args.from)?;
    let github_output = if args.github_output {
        Some(
            std::env::var_os("GITHUB_OUTPUT")
                .filter(|p| !p.is_empty())
                .ok_or_else(|| Failure::usage("--github-output needs GITHUB_OUTPUT to name a file"))?,
        )
    } else {
        None
    };
    let ttl: std::time::Duration = args.ttl.into();
    if ttl.is_zero() {
        return Err(Failure::usage("--ttl must be longer than zero"));
    }
    let ensured = ensure(ctx, &name, &parent, Some(Expiry::Ttl(ttl))).await?;
    let login = Login::for_endpoint(ctx, ensured.endpoint.clone(), ensured.host.clone(), &args.database).await?;
    let url = login.url().expose();
    // With --github-output the URL's destination is $GITHUB_OUTPUT: stdout shows it redacted.
    let shown_url = if github_output.is_some() {
        login.url().to_string()
    } else {
        url.clone()
    };
    if let Some(path) = github_output {
        mask_in_actions(&[login.password.expose(), &url]);
        let lines = [
            ("branch", ensured.name.branch_id().to_string()),
            ("branch_name", ensured.name.to_string()),
            ("host", ensured.host.clone()),
            ("database_url", url.clone()),
            ("created", ensured.created.to_string()),
            ("expire_time", ensured.expire_time.clone().unwrap_or_default()),
        ];
        let text = github_output_lines(&lines)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Failure::usage(format!("cannot open GITHUB_OUTPUT {}: {e}", path.to_string_lossy())))?;
        file.write_all(text.as_bytes())
            .map_err(|e| Failure::usage(format!("cannot write GITHUB_OUTPUT {}: {e}", path.to_string_lossy())))?;
    }
    let mut value = ensured.json();
    value["database"] = json!(login.database);
    value["user"] = json!(login.user);
    value["database_url"] = json!(shown_url);
    value["credential_expire_time"] = json!(login.expire_time);
    emit(ctx.format, &value, || {
        format!(
            "branch:       {} ({})\nhost:         {}\nexpires:      {}\ndatabase_url: {}",
            ensured.name,
            if ensured.created { "created" } else { "exists" },
            ensured.host,
            ensured.expire_time.as_deref().unwrap_or("never"),
            login.url(),
        )
    });
    Ok(Exit::Ok)
}

/// `key=value` lines for `$GITHUB_OUTPUT`; a value with a line break (which would let it
/// set other outputs) is refused.
fn github_output_lines(pairs: &[(&str, String)]) -> Result<String, Failure> {
    let mut text = String::new();
    for (key, value) in pairs {
        if value.contains(['\n', '\r']) {
            return Err(Failure::new(
                Exit::Api,
                format!("the {key} output contains a line break; not writing it to GITHUB_OUTPUT"),
            ));
        }
        text.push_str(&format!("{key}={value}\n"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_outputs_are_one_line_each() {
        let ok = github_output_lines(&[("branch", "pr-1".into()), ("created", "true".into())]).unwrap();
        assert_eq!(ok, "branch=pr-1\ncreated=true\n");
        let injected = github_output_lines(&[("host", "h\ndatabase_url=evil".into())]).unwrap_err();
        assert_eq!(injected.exit, Exit::Api);
    }

    #[test]
    fn pull_request_numbers() {
        assert_eq!(branch_id("42").unwrap(), "pr-42");
        assert_eq!(branch_id("#7").unwrap(), "pr-7");
        for bad in ["0", "-1", "abc", "4 2", "", "1e3", "+5"] {
            assert_eq!(branch_id(bad).unwrap_err().exit, Exit::Usage, "{bad}");
        }
    }
}
