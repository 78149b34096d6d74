//! Long-running operations by name.

use serde::de::DeserializeOwned;

use crate::call::run;
use crate::operation::OperationResult;
use crate::{Client, Error, Operation, OperationName, types};

impl Client {
    /// Fetches an operation once, by the name the server gave it (sent verbatim). A
    /// failed operation is returned as data, not as an error.
    pub async fn get_operation(&self, name: &OperationName) -> Result<types::Operation, Error> {
        run("Operation", self.raw().get_operation(name.as_str())).await
    }

    /// A typed handle on an operation started earlier, e.g. one whose name was stored
    /// before a restart. Nothing is sent until it is polled.
    ///
    /// ```no_run
    /// # async fn demo(client: lakebase::Client) -> Result<(), lakebase::Error> {
    /// use lakebase::types;
    /// let name = "projects/my-app/operations/abc".parse()?;
    /// let branch = client.resume_operation::<types::Branch, types::BranchOperationMetadata>(name).wait().await?;
    /// # Ok(()) }
    /// ```
    pub fn resume_operation<R: OperationResult, M: DeserializeOwned>(&self, name: OperationName) -> Operation<R, M> {
        Operation::resume(self.clone(), name)
    }
}
