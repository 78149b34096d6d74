//! Unity Catalog catalogs backed by a Postgres database.

use crate::call::run;
use crate::resources::check_required;
use crate::{CatalogName, Client, Error, Operation, types};

impl Client {
    /// Registers Unity Catalog catalog `catalog_id`; `spec.postgres_database` is required.
    pub async fn create_catalog(
        &self,
        catalog_id: &str,
        catalog: types::Catalog,
    ) -> Result<Operation<types::Catalog, types::CatalogOperationMetadata>, Error> {
        let name = CatalogName::new(catalog_id)?;
        check_required("catalog", &catalog)?;
        let op = run("Operation", self.raw().create_catalog(name.catalog_id(), &catalog)).await?;
        Operation::new(self.clone(), op)
    }

    /// Gets a catalog.
    pub async fn get_catalog(&self, name: &CatalogName) -> Result<types::Catalog, Error> {
        run("Catalog", self.raw().get_catalog(name.catalog_id())).await
    }

    /// Removes a catalog registration.
    pub async fn delete_catalog(
        &self,
        name: &CatalogName,
    ) -> Result<Operation<(), types::CatalogOperationMetadata>, Error> {
        let op = run("Operation", self.raw().delete_catalog(name.catalog_id())).await?;
        Operation::new(self.clone(), op)
    }
}
