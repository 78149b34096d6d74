//! Postgres tables kept in sync with Unity Catalog tables.

use crate::call::run;
use crate::resources::check_required;
use crate::{Client, Error, Operation, SyncedTableName, types};

impl Client {
    /// Creates synced table `catalog.schema.table` (build the name with
    /// [`SyncedTableName::new`] or [`SyncedTableName::from_parts`]).
    pub async fn create_synced_table(
        &self,
        name: &SyncedTableName,
        synced_table: types::SyncedTable,
    ) -> Result<Operation<types::SyncedTable, types::SyncedTableOperationMetadata>, Error> {
        check_required("synced_table", &synced_table)?;
        let op = run(
            "Operation",
            self.raw().create_synced_table(name.synced_table_id(), &synced_table),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Gets a synced table.
    pub async fn get_synced_table(&self, name: &SyncedTableName) -> Result<types::SyncedTable, Error> {
        run("SyncedTable", self.raw().get_synced_table(name.synced_table_id())).await
    }

    /// Deletes a synced table.
    pub async fn delete_synced_table(
        &self,
        name: &SyncedTableName,
    ) -> Result<Operation<(), types::SyncedTableOperationMetadata>, Error> {
        let op = run("Operation", self.raw().delete_synced_table(name.synced_table_id())).await?;
        Operation::new(self.clone(), op)
    }
}
