//! The Data API (REST over Postgres) of a database.

use crate::call::run;
use crate::resources::check_required;
use crate::{Client, DataApiName, DatabaseName, Error, FieldMask, Operation, types};

/// The operation of a Data API create or update.
pub type DataApiOperation = Operation<types::DataApi, types::DataApiOperationMetadata>;

impl Client {
    /// Enables the Data API of a database.
    pub async fn create_data_api(
        &self,
        parent: &DatabaseName,
        data_api: types::DataApi,
    ) -> Result<DataApiOperation, Error> {
        check_required("data_api", &data_api)?;
        let raw = self.raw();
        let op = run(
            "Operation",
            raw.create_data_api(parent.project_id(), parent.branch_id(), parent.database_id(), &data_api),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Gets the Data API of a database.
    pub async fn get_data_api(&self, name: &DataApiName) -> Result<types::DataApi, Error> {
        run(
            "DataApi",
            self.raw()
                .get_data_api(name.project_id(), name.branch_id(), name.database_id()),
        )
        .await
    }

    /// Changes the Data API settings named in `update_mask`.
    pub async fn update_data_api(
        &self,
        name: &DataApiName,
        data_api: types::DataApi,
        update_mask: &FieldMask,
    ) -> Result<DataApiOperation, Error> {
        let mask = update_mask.to_string();
        let raw = self.raw();
        let op = run(
            "Operation",
            raw.update_data_api(
                name.project_id(),
                name.branch_id(),
                name.database_id(),
                &mask,
                &data_api,
            ),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Disables the Data API of a database.
    pub async fn delete_data_api(
        &self,
        name: &DataApiName,
    ) -> Result<Operation<(), types::DataApiOperationMetadata>, Error> {
        let op = run(
            "Operation",
            self.raw()
                .delete_data_api(name.project_id(), name.branch_id(), name.database_id()),
        )
        .await?;
        Operation::new(self.clone(), op)
    }
}
