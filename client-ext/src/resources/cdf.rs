//! Change-data-feed configurations and their per-table statuses.

use crate::call::run;
use crate::resources::{List, check_required, into_future, list_fetch};
use crate::{CdfConfigName, CdfStatusName, Client, DatabaseName, Error, Operation, types};

impl Client {
    /// Creates a change-data-feed configuration in `parent`; `catalog`, `schema` and
    /// `postgres_schema` are required. Its id defaults to the Postgres schema name; set
    /// one with `.cdf_config_id(..)` (`[a-z][a-z0-9_]{0,62}`).
    pub fn create_cdf_config(&self, parent: &DatabaseName, cdf_config: types::CdfConfig) -> CreateCdfConfig<'_> {
        CreateCdfConfig {
            client: self,
            parent: parent.clone(),
            cdf_config,
            cdf_config_id: None,
        }
    }

    /// Gets a change-data-feed configuration.
    pub async fn get_cdf_config(&self, name: &CdfConfigName) -> Result<types::CdfConfig, Error> {
        let raw = self.raw();
        run(
            "CdfConfig",
            raw.get_cdf_config(
                name.project_id(),
                name.branch_id(),
                name.database_id(),
                name.cdf_config_id(),
            ),
        )
        .await
    }

    /// Lists the change-data-feed configurations of a database.
    pub fn list_cdf_configs(&self, parent: &DatabaseName) -> List<types::CdfConfig> {
        let parent = parent.clone();
        List::new(list_fetch!(
            self,
            ListCdfConfigsResponse,
            [parent],
            |raw, query, token| raw.list_cdf_configs(
                parent.project_id(),
                parent.branch_id(),
                parent.database_id(),
                query.page_size,
                token
            )
        ))
    }

    /// Deletes a change-data-feed configuration; `.force(true)` also drops the Unity
    /// Catalog tables.
    pub fn delete_cdf_config(&self, name: &CdfConfigName) -> DeleteCdfConfig<'_> {
        DeleteCdfConfig {
            client: self,
            name: name.clone(),
            force: None,
        }
    }

    /// Gets the replication status of one table.
    pub async fn get_cdf_status(&self, name: &CdfStatusName) -> Result<types::CdfStatus, Error> {
        let config = name.cdf_config();
        let raw = self.raw();
        run(
            "CdfStatus",
            raw.get_cdf_status(
                config.project_id(),
                config.branch_id(),
                config.database_id(),
                name.cdf_config_id(),
                name.cdf_status_id(),
            ),
        )
        .await
    }

    /// Lists the replication status of every table of a configuration.
    pub fn list_cdf_statuses(&self, parent: &CdfConfigName) -> List<types::CdfStatus> {
        let parent = parent.clone();
        List::new(list_fetch!(
            self,
            ListCdfStatusesResponse,
            [parent],
            |raw, query, token| raw.list_cdf_statuses(
                parent.project_id(),
                parent.branch_id(),
                parent.database_id(),
                parent.cdf_config_id(),
                query.page_size,
                token
            )
        ))
    }
}

/// Request builder of [`Client::create_cdf_config`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct CreateCdfConfig<'c> {
    client: &'c Client,
    parent: DatabaseName,
    cdf_config: types::CdfConfig,
    cdf_config_id: Option<String>,
}

impl CreateCdfConfig<'_> {
    /// The id of the new configuration (`[a-z][a-z0-9_]{0,62}`). Without one, or with `""`
    /// (sent as is, like the official SDK does), the server uses the Postgres schema name.
    pub fn cdf_config_id(mut self, cdf_config_id: impl Into<String>) -> Self {
        self.cdf_config_id = Some(cdf_config_id.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Operation<types::CdfConfig, types::CdfConfigOperationMetadata>, Error> {
        if let Some(id) = self.cdf_config_id.as_deref().filter(|id| !id.is_empty()) {
            self.parent.cdf_config(id)?;
        }
        check_required("cdf_config", &self.cdf_config)?;
        let p = &self.parent;
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.create_cdf_config(
                p.project_id(),
                p.branch_id(),
                p.database_id(),
                self.cdf_config_id.as_deref(),
                &self.cdf_config,
            ),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(CreateCdfConfig => Operation<types::CdfConfig, types::CdfConfigOperationMetadata>);

/// Request builder of [`Client::delete_cdf_config`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct DeleteCdfConfig<'c> {
    client: &'c Client,
    name: CdfConfigName,
    force: Option<bool>,
}

impl DeleteCdfConfig<'_> {
    /// Also drop the Unity Catalog Delta tables.
    pub fn force(mut self, force: bool) -> Self {
        self.force = Some(force);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Operation<(), types::CdfConfigOperationMetadata>, Error> {
        let n = &self.name;
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.delete_cdf_config(
                n.project_id(),
                n.branch_id(),
                n.database_id(),
                n.cdf_config_id(),
                self.force,
            ),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(DeleteCdfConfig => Operation<(), types::CdfConfigOperationMetadata>);
