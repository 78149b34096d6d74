//! Projects: the top-level containers.

use crate::call::run;
use crate::resources::{List, check_required, into_future, list_fetch};
use crate::{Client, Error, FieldMask, Operation, ProjectName, types};

/// The operation of a project create or update.
pub type ProjectOperation = Operation<types::Project, types::ProjectOperationMetadata>;

impl Client {
    /// Creates a project with id `project_id` (1–63 characters, a lowercase letter first,
    /// then lowercase letters, digits and hyphens). The project comes with a default
    /// `production` branch and a read-write compute.
    pub async fn create_project(&self, project_id: &str, project: types::Project) -> Result<ProjectOperation, Error> {
        let name = ProjectName::new(project_id)?;
        check_required("project", &project)?;
        let op = run("Operation", self.raw().create_project(name.project_id(), &project)).await?;
        Operation::new(self.clone(), op)
    }

    /// Gets a project.
    pub async fn get_project(&self, name: &ProjectName) -> Result<types::Project, Error> {
        run("Project", self.raw().get_project(name.project_id())).await
    }

    /// Lists the projects of the workspace.
    pub fn list_projects(&self) -> List<types::Project, true> {
        List::new(list_fetch!(self, ListProjectsResponse, [], |raw, query, token| raw
            .list_projects(query.page_size, token, query.show_deleted)))
    }

    /// Changes the fields of a project named in `update_mask`; `project` carries their new
    /// values.
    pub async fn update_project(
        &self,
        name: &ProjectName,
        project: types::Project,
        update_mask: &FieldMask,
    ) -> Result<ProjectOperation, Error> {
        let op = run(
            "Operation",
            self.raw()
                .update_project(name.project_id(), &update_mask.to_string(), &project),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Deletes a project: soft by default (restorable with
    /// [`undelete_project`](Self::undelete_project)), for good with `.purge(true)`.
    pub fn delete_project(&self, name: &ProjectName) -> DeleteProject<'_> {
        DeleteProject {
            client: self,
            name: name.clone(),
            purge: None,
        }
    }

    /// Restores a soft-deleted project.
    pub async fn undelete_project(
        &self,
        name: &ProjectName,
    ) -> Result<Operation<(), types::ProjectOperationMetadata>, Error> {
        let op = run(
            "Operation",
            self.raw()
                .undelete_project(name.project_id(), &types::EmptyRequest(serde_json::Map::new())),
        )
        .await?;
        Operation::new(self.clone(), op)
    }
}

/// Request builder of [`Client::delete_project`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct DeleteProject<'c> {
    client: &'c Client,
    name: ProjectName,
    purge: Option<bool>,
}

impl DeleteProject<'_> {
    /// Delete for good instead of soft-deleting.
    pub fn purge(mut self, purge: bool) -> Self {
        self.purge = Some(purge);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Operation<(), types::ProjectOperationMetadata>, Error> {
        let op = run(
            "Operation",
            self.client.raw().delete_project(self.name.project_id(), self.purge),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(DeleteProject => Operation<(), types::ProjectOperationMetadata>);
