//! Minimal app on bare reqwest (rustls) + tokio + serde_json: the same listing, untyped.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::env::var("DATABRICKS_HOST")?;
    let token = std::env::var("DATABRICKS_TOKEN")?;
    let http = reqwest::Client::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut query = vec![("page_size", "100".to_string())];
        if let Some(token) = &page_token {
            query.push(("page_token", token.clone()));
        }
        let page: serde_json::Value = http
            .get(format!("{}/api/2.0/postgres/projects", host.trim_end_matches('/')))
            .bearer_auth(&token)
            .query(&query)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for project in page["projects"].as_array().into_iter().flatten() {
            println!("{}", project["name"].as_str().unwrap_or_default());
        }
        match page["next_page_token"].as_str() {
            Some(next) if !next.is_empty() => page_token = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(())
}
