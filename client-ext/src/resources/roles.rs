//! Postgres roles of a branch.

use crate::call::run;
use crate::resources::{List, check_required, into_future, list_fetch};
use crate::{BranchName, Client, Error, FieldMask, Operation, RoleName, types};

/// The operation of a role create or update.
pub type RoleOperation = Operation<types::Role, types::RoleOperationMetadata>;

impl Client {
    /// Creates a role in `parent`. Set its id with `.role_id(..)` (4–63 lowercase
    /// letters, digits, hyphens); without one the server picks it.
    pub fn create_role(&self, parent: &BranchName, role: types::Role) -> CreateRole<'_> {
        CreateRole {
            client: self,
            parent: parent.clone(),
            role,
            role_id: None,
            replace_existing: None,
        }
    }

    /// Gets a role.
    pub async fn get_role(&self, name: &RoleName) -> Result<types::Role, Error> {
        run(
            "Role",
            self.raw().get_role(name.project_id(), name.branch_id(), name.role_id()),
        )
        .await
    }

    /// Lists the roles of a branch.
    pub fn list_roles(&self, parent: &BranchName) -> List<types::Role> {
        let parent = parent.clone();
        List::new(list_fetch!(self, ListRolesResponse, [parent], |raw, query, token| raw
            .list_roles(parent.project_id(), parent.branch_id(), query.page_size, token)))
    }

    /// Changes the fields of a role named in `update_mask` (only `spec.membership_roles`
    /// and `spec.attributes.*` are mutable).
    pub async fn update_role(
        &self,
        name: &RoleName,
        role: types::Role,
        update_mask: &FieldMask,
    ) -> Result<RoleOperation, Error> {
        let mask = update_mask.to_string();
        let raw = self.raw();
        let op = run(
            "Operation",
            raw.update_role(name.project_id(), name.branch_id(), name.role_id(), &mask, &role),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Deletes a role; `.reassign_owned_to(..)` hands its objects to another role.
    pub fn delete_role(&self, name: &RoleName) -> DeleteRole<'_> {
        DeleteRole {
            client: self,
            name: name.clone(),
            reassign_owned_to: None,
        }
    }

    /// Reveals the password of a password-authenticated role.
    pub async fn reveal_role_password(&self, name: &RoleName) -> Result<types::RevealRolePasswordResponse, Error> {
        let body = types::EmptyRequest(serde_json::Map::new());
        let raw = self.raw();
        run(
            "RevealRolePasswordResponse",
            raw.reveal_role_password(name.project_id(), name.branch_id(), name.role_id(), &body),
        )
        .await
    }
}

/// Request builder of [`Client::create_role`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct CreateRole<'c> {
    client: &'c Client,
    parent: BranchName,
    role: types::Role,
    role_id: Option<String>,
    replace_existing: Option<bool>,
}

impl CreateRole<'_> {
    /// The id of the new role (4–63 lowercase letters, digits, hyphens). Without one, or with
    /// `""` (sent as is, like the official SDK does), the server generates one.
    pub fn role_id(mut self, role_id: impl Into<String>) -> Self {
        self.role_id = Some(role_id.into());
        self
    }

    /// When the role exists, update its mutable fields instead of failing (needs `role_id`).
    pub fn replace_existing(mut self, replace_existing: bool) -> Self {
        self.replace_existing = Some(replace_existing);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<RoleOperation, Error> {
        if let Some(id) = self.role_id.as_deref().filter(|id| !id.is_empty()) {
            self.parent.role(id)?;
        }
        check_required("role", &self.role)?;
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.create_role(
                self.parent.project_id(),
                self.parent.branch_id(),
                self.replace_existing,
                self.role_id.as_deref(),
                &self.role,
            ),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(CreateRole => RoleOperation);

/// Request builder of [`Client::delete_role`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct DeleteRole<'c> {
    client: &'c Client,
    name: RoleName,
    reassign_owned_to: Option<String>,
}

impl DeleteRole<'_> {
    /// The Postgres role that takes over the objects the deleted role owns (needs a
    /// running compute).
    pub fn reassign_owned_to(mut self, role: impl Into<String>) -> Self {
        self.reassign_owned_to = Some(role.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Operation<(), types::RoleOperationMetadata>, Error> {
        let raw = self.client.raw();
        let n = &self.name;
        let op = run(
            "Operation",
            raw.delete_role(
                n.project_id(),
                n.branch_id(),
                n.role_id(),
                self.reassign_owned_to.as_deref(),
            ),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(DeleteRole => Operation<(), types::RoleOperationMetadata>);
