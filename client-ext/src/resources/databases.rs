//! Postgres databases of a branch.

use crate::call::run;
use crate::resources::{List, check_required, into_future, list_fetch};
use crate::{BranchName, Client, DatabaseName, Error, FieldMask, Operation, types};

/// The operation of a database create or update.
pub type DatabaseOperation = Operation<types::Database, types::DatabaseOperationMetadata>;

impl Client {
    /// Creates a database in `parent`; `spec.role` (the owner role's name) is required.
    /// Set its id with `.database_id(..)`; without one the server picks it.
    pub fn create_database(&self, parent: &BranchName, database: types::Database) -> CreateDatabase<'_> {
        CreateDatabase {
            client: self,
            parent: parent.clone(),
            database,
            database_id: None,
            replace_existing: None,
        }
    }

    /// Gets a database.
    pub async fn get_database(&self, name: &DatabaseName) -> Result<types::Database, Error> {
        run(
            "Database",
            self.raw()
                .get_database(name.project_id(), name.branch_id(), name.database_id()),
        )
        .await
    }

    /// Lists the databases of a branch.
    pub fn list_databases(&self, parent: &BranchName) -> List<types::Database> {
        let parent = parent.clone();
        List::new(list_fetch!(
            self,
            ListDatabasesResponse,
            [parent],
            |raw, query, token| raw.list_databases(parent.project_id(), parent.branch_id(), query.page_size, token)
        ))
    }

    /// Changes the fields of a database named in `update_mask`.
    pub async fn update_database(
        &self,
        name: &DatabaseName,
        database: types::Database,
        update_mask: &FieldMask,
    ) -> Result<DatabaseOperation, Error> {
        let mask = update_mask.to_string();
        let raw = self.raw();
        let op = run(
            "Operation",
            raw.update_database(
                name.project_id(),
                name.branch_id(),
                name.database_id(),
                &mask,
                &database,
            ),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Deletes a database.
    pub async fn delete_database(
        &self,
        name: &DatabaseName,
    ) -> Result<Operation<(), types::DatabaseOperationMetadata>, Error> {
        let op = run(
            "Operation",
            self.raw()
                .delete_database(name.project_id(), name.branch_id(), name.database_id()),
        )
        .await?;
        Operation::new(self.clone(), op)
    }
}

/// Request builder of [`Client::create_database`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct CreateDatabase<'c> {
    client: &'c Client,
    parent: BranchName,
    database: types::Database,
    database_id: Option<String>,
    replace_existing: Option<bool>,
}

impl CreateDatabase<'_> {
    /// The id of the new database (4–63 lowercase letters, digits, hyphens). Without one, or
    /// with `""` (sent as is, like the official SDK does), the server generates one.
    pub fn database_id(mut self, database_id: impl Into<String>) -> Self {
        self.database_id = Some(database_id.into());
        self
    }

    /// When the database exists, update its mutable fields instead of failing.
    pub fn replace_existing(mut self, replace_existing: bool) -> Self {
        self.replace_existing = Some(replace_existing);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<DatabaseOperation, Error> {
        if let Some(id) = self.database_id.as_deref().filter(|id| !id.is_empty()) {
            self.parent.database(id)?;
        }
        check_required("database", &self.database)?;
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.create_database(
                self.parent.project_id(),
                self.parent.branch_id(),
                self.database_id.as_deref(),
                self.replace_existing,
                &self.database,
            ),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(CreateDatabase => DatabaseOperation);
