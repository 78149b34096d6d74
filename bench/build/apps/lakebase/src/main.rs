//! Minimal app on `lakebase`: every project of the workspace, page by page.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = lakebase::Client::from_env()?;
    let projects = client.list_projects().page_size(100).collect_all().await?;
    for project in &projects {
        println!("{}", project.name.as_deref().unwrap_or_default());
    }
    Ok(())
}
