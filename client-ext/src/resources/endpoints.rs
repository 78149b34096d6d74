//! Compute endpoints of a branch.

use crate::call::run;
use crate::resources::{List, check_required, into_future, list_fetch};
use crate::{BranchName, Client, EndpointName, Error, FieldMask, Operation, types};

/// The operation of an endpoint create or update.
pub type EndpointOperation = Operation<types::Endpoint, types::EndpointOperationMetadata>;

impl Client {
    /// Creates endpoint `endpoint_id` of `parent`. `spec.endpoint_type` is required; a
    /// branch has at most one read-write endpoint.
    pub fn create_endpoint(
        &self,
        parent: &BranchName,
        endpoint_id: &str,
        endpoint: types::Endpoint,
    ) -> CreateEndpoint<'_> {
        CreateEndpoint {
            client: self,
            parent: parent.clone(),
            endpoint_id: endpoint_id.to_string(),
            endpoint,
            replace_existing: None,
        }
    }

    /// Gets an endpoint (its `status.hosts` say where to connect).
    pub async fn get_endpoint(&self, name: &EndpointName) -> Result<types::Endpoint, Error> {
        run(
            "Endpoint",
            self.raw()
                .get_endpoint(name.project_id(), name.branch_id(), name.endpoint_id()),
        )
        .await
    }

    /// Lists the endpoints of a branch.
    pub fn list_endpoints(&self, parent: &BranchName) -> List<types::Endpoint> {
        let parent = parent.clone();
        List::new(list_fetch!(
            self,
            ListEndpointsResponse,
            [parent],
            |raw, query, token| raw.list_endpoints(parent.project_id(), parent.branch_id(), query.page_size, token)
        ))
    }

    /// Changes the fields of an endpoint named in `update_mask`.
    pub async fn update_endpoint(
        &self,
        name: &EndpointName,
        endpoint: types::Endpoint,
        update_mask: &FieldMask,
    ) -> Result<EndpointOperation, Error> {
        let mask = update_mask.to_string();
        let raw = self.raw();
        let op = run(
            "Operation",
            raw.update_endpoint(
                name.project_id(),
                name.branch_id(),
                name.endpoint_id(),
                &mask,
                &endpoint,
            ),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Deletes an endpoint.
    pub async fn delete_endpoint(
        &self,
        name: &EndpointName,
    ) -> Result<Operation<(), types::EndpointOperationMetadata>, Error> {
        let op = run(
            "Operation",
            self.raw()
                .delete_endpoint(name.project_id(), name.branch_id(), name.endpoint_id()),
        )
        .await?;
        Operation::new(self.clone(), op)
    }
}

/// Request builder of [`Client::create_endpoint`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct CreateEndpoint<'c> {
    client: &'c Client,
    parent: BranchName,
    endpoint_id: String,
    endpoint: types::Endpoint,
    replace_existing: Option<bool>,
}

impl CreateEndpoint<'_> {
    /// When the endpoint exists, update its mutable fields instead of failing.
    pub fn replace_existing(mut self, replace_existing: bool) -> Self {
        self.replace_existing = Some(replace_existing);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<EndpointOperation, Error> {
        let name = self.parent.endpoint(&self.endpoint_id)?;
        check_required("endpoint", &self.endpoint)?;
        let raw = self.client.raw();
        let op = run(
            "Operation",
            raw.create_endpoint(
                name.project_id(),
                name.branch_id(),
                name.endpoint_id(),
                self.replace_existing,
                &self.endpoint,
            ),
        )
        .await?;
        Operation::new(self.client.clone(), op)
    }
}

into_future!(CreateEndpoint => EndpointOperation);
