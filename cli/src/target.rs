//! `<project>/<branch>` arguments.

use lakebase::{BranchName, ProjectName};

use crate::exit::Failure;

/// Parses `<project>/<branch>` (or a full `projects/<p>/branches/<b>`), checking both ids.
pub fn branch(arg: &str) -> Result<BranchName, Failure> {
    if arg.starts_with("projects/") {
        let name: BranchName = arg
            .parse()
            .map_err(|e| Failure::usage(format!("invalid branch {arg:?}: {e}")))?;
        return ProjectName::new(name.project_id())
            .and_then(|p| p.branch(name.branch_id()))
            .map_err(|e| Failure::usage(format!("invalid branch {arg:?}: {e}")));
    }
    let Some((project, branch)) = arg.split_once('/') else {
        return Err(Failure::usage(format!(
            "invalid branch {arg:?}: expected <project>/<branch>, e.g. my-app/dev"
        )));
    };
    ProjectName::new(project)
        .and_then(|p| p.branch(branch))
        .map_err(|e| Failure::usage(format!("invalid branch {arg:?}: {e}")))
}

/// Parses a project id.
pub fn project(arg: &str) -> Result<ProjectName, Failure> {
    let id = arg.strip_prefix("projects/").unwrap_or(arg);
    ProjectName::new(id).map_err(|e| Failure::usage(format!("invalid project {arg:?}: {e}")))
}

/// A parent given as a branch id of `project` (or `<project>/<branch>` of the same project).
pub fn parent(project: &ProjectName, arg: &str) -> Result<BranchName, Failure> {
    let parent = if arg.contains('/') {
        branch(arg)?
    } else {
        project
            .branch(arg)
            .map_err(|e| Failure::usage(format!("invalid parent {arg:?}: {e}")))?
    };
    if parent.project_id() != project.project_id() {
        return Err(Failure::usage(format!(
            "parent {parent} is not in project {}",
            project.project_id()
        )));
    }
    Ok(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_forms() {
        assert_eq!(
            branch("my-app/dev").unwrap().to_string(),
            "projects/my-app/branches/dev"
        );
        assert_eq!(
            branch("projects/my-app/branches/dev").unwrap().to_string(),
            "projects/my-app/branches/dev"
        );
        let p = project("my-app").unwrap();
        assert_eq!(
            parent(&p, "production").unwrap().to_string(),
            "projects/my-app/branches/production"
        );
    }

    #[test]
    fn bad_forms_are_usage_errors() {
        for bad in [
            "my-app",
            "my-app/Dev",
            "My_App/dev",
            "my-app/dev/x",
            "",
            "projects/a/branches/B_1",
        ] {
            let e = branch(bad).unwrap_err();
            assert_eq!(e.exit, crate::exit::Exit::Usage, "{bad}");
        }
        let p = project("my-app").unwrap();
        assert!(parent(&p, "other/production").is_err());
    }
}
