//! A small web service on the pool: notes stored in Postgres.
//!
//! ```sh
//! cargo run -p lakebase-postgres --example axum_service      # local emulator, or set LAKEBASE_ENDPOINT...
//! curl -X POST localhost:3000/notes -H 'content-type: application/json' -d '{"text": "hello"}'
//! curl localhost:3000/notes
//! curl localhost:3000/health                                 # pool and credential status
//! ```
//!
//! Every handler takes a connection with `pool.get()`: credentials, refreshes, reconnects
//! after scale-to-zero and connection recycling all happen underneath.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lakebase_postgres::Pool;
use serde_json::{Value, json};

/// An error answered as JSON: 503 when no connection could be had, 500 otherwise.
struct ApiError(StatusCode, String);

impl From<lakebase_postgres::Error> for ApiError {
    fn from(error: lakebase_postgres::Error) -> Self {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

use lakebase_postgres::tokio_postgres;

async fn list_notes(State(pool): State<Pool>) -> Result<Json<Value>, ApiError> {
    let conn = pool.get().await?;
    let rows = conn.query("select id, text from notes order by id", &[]).await?;
    let notes: Vec<Value> = rows
        .iter()
        .map(|r| json!({"id": r.get::<_, i64>(0), "text": r.get::<_, String>(1)}))
        .collect();
    Ok(Json(json!({ "notes": notes })))
}

async fn add_note(State(pool): State<Pool>, Json(body): Json<Value>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(text) = body.get("text").and_then(Value::as_str) else {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "expected {\"text\": \"...\"}".to_owned(),
        ));
    };
    let conn = pool.get().await?;
    let row = conn
        .query_one("insert into notes (text) values ($1) returning id", &[&text])
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": row.get::<_, i64>(0), "text": text})),
    ))
}

async fn health(State(pool): State<Pool>) -> Json<Value> {
    let status = pool.status();
    let credentials = pool.credentials().stats();
    Json(json!({
        "endpoint": pool.endpoint().to_string(),
        "pool": {"max_size": status.max_size, "size": status.size, "available": status.available, "waiting": status.waiting},
        "credentials": {"minted": credentials.minted, "failed": credentials.failed, "rejected": credentials.rejected},
    }))
}

/// The service's routes on `pool`.
fn app(pool: Pool) -> Router {
    Router::new()
        .route("/notes", get(list_notes).post(add_note))
        .route("/health", get(health))
        .with_state(pool)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let (pool, _emulator) = if std::env::var_os("LAKEBASE_ENDPOINT").is_some() {
        (Pool::from_env().await?, None)
    } else {
        let emulator = lakebase_emulator::Emulator::builder()
            .postgres(true)
            .pg_port(0)
            .start()
            .await?;
        let env = std::sync::Arc::new(lakebase::config::MapEnv::new());
        let config = lakebase::Config::builder()
            .host(emulator.base_url())
            .token("example-token")
            .env(env.clone())
            .build()?;
        let client = lakebase::Client::new(config)?;
        client.create_project("notes", Default::default()).await?.wait().await?;
        let pool = Pool::builder()
            .client(client)
            .endpoint("projects/notes/branches/production/endpoints/primary")
            .port(emulator.pg_port().ok_or("no pg port")?)
            .ca_cert_pem(emulator.ca_cert_pem().ok_or("no CA")?)
            .env(env)
            .build()
            .await?;
        (pool, Some(emulator))
    };
    pool.get()
        .await?
        .batch_execute("create table if not exists notes (id bigserial primary key, text text not null)")
        .await?;
    let address = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(%address, endpoint = %pool.endpoint(), "serving");
    axum::serve(listener, app(pool))
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
