//! Branches of a project.

use crate::call::run;
use crate::resources::{List, check_required, into_future, list_fetch};
use crate::{BranchName, Client, Error, FieldMask, Operation, ProjectName, types};

/// The operation of a branch create or update.
pub type BranchOperation = Operation<types::Branch, types::BranchOperationMetadata>;

impl Client {
    /// Creates branch `branch_id` of `parent` (same id rules as projects). Without
    /// `spec.source_branch` it starts from the project's default branch.
    pub fn create_branch(&self, parent: &ProjectName, branch_id: &str, branch: types::Branch) -> CreateBranch<'_> {
        CreateBranch {
            client: self,
            parent: parent.clone(),
            branch_id: branch_id.to_string(),
            branch,
            replace_existing: None,
        }
    }

    /// Gets a branch.
    pub async fn get_branch(&self, name: &BranchName) -> Result<types::Branch, Error> {
        run("Branch", self.raw().get_branch(name.project_id(), name.branch_id())).await
    }

    /// Lists the branches of a project.
    pub fn list_branches(&self, parent: &ProjectName) -> List<types::Branch, true> {
        let parent = parent.clone();
        List::new(list_fetch!(
            self,
            ListBranchesResponse,
            [parent],
            |raw, query, token| raw.list_branches(parent.project_id(), query.page_size, token, query.show_deleted)
        ))
    }

    /// Changes the fields of a branch named in `update_mask`.
    pub async fn update_branch(
        &self,
        name: &BranchName,
        branch: types::Branch,
        update_mask: &FieldMask,
    ) -> Result<BranchOperation, Error> {
        let mask = update_mask.to_string();
        let op = run(
            "Operation",
            self.raw()
                .update_branch(name.project_id(), name.branch_id(), &mask, &branch),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Deletes a branch: soft by default, for good with `.purge(true)`.
    pub fn delete_branch(&self, name: &BranchName) -> DeleteBranch<'_> {
        DeleteBranch {
            client: self,
            name: name.clone(),
            purge: None,
        }
    }

    /// Restores a soft-deleted branch.
    pub async fn undelete_branch(
        &self,
        name: &BranchName,
    ) -> Result<Operation<(), types::BranchOperationMetadata>, Error> {
        let body = types::EmptyRequest(serde_json::Map::new());
        let op = run(
            "Operation",
            self.raw().undelete_branch(name.project_id(), name.branch_id(), &body),
        )
        .await?;
        Operation::new(self.clone(), op)
    }
}

/// Request builder of [`Client::create_branch`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct CreateBranch<'c> {
    client: &'c Client,
    parent: ProjectName,
    branch_id: String,
    branch: types::Branch,
    replace_existing: Option<bool>,
}

impl CreateBranch<'_> {
    /// When the branch exists, update its mutable fields instead of failing.
    pub fn replace_existing(mut self, replace_existing: bool) -> Self {
        self.replace_existing = Some(replace_existing);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<BranchOperation, Error> {
        let name = self.parent.branch(&self.branch_id)?;
        check_required("branch", &self.branch)?;
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.create_branch(name.project_id(), name.branch_id(), self.replace_existing, &self.branch),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(CreateBranch => BranchOperation);

/// Request builder of [`Client::delete_branch`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct DeleteBranch<'c> {
    client: &'c Client,
    name: BranchName,
    purge: Option<bool>,
}

impl DeleteBranch<'_> {
    /// Delete for good instead of soft-deleting.
    pub fn purge(mut self, purge: bool) -> Self {
        self.purge = Some(purge);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Operation<(), types::BranchOperationMetadata>, Error> {
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.delete_branch(self.name.project_id(), self.name.branch_id(), self.purge),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(DeleteBranch => Operation<(), types::BranchOperationMetadata>);
