//! Minimal app on the Rust peer `community-databricks-sdk`: the same listing.

use community_databricks_sdk::WorkspaceClient;
use community_databricks_sdk::service::postgres::ListProjectsRequest;
use futures_util::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let w = WorkspaceClient::from_env().await?;
    let mut projects = w.postgres().list_projects(ListProjectsRequest::default().with_page_size(100));
    while let Some(project) = projects.try_next().await? {
        println!("{}", project.name.unwrap_or_default());
    }
    Ok(())
}
