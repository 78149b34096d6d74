//! A small web service on the pool: notes stored in Postgres.
//!
//! ```sh
//! cargo run -p lakebase-postgres --example axum_service      # local emulator, or set LAKEBASE_ENDPOINT...
//! curl -X POST localhost:3000/notes -H 'content-type: application/json' -d '{"text": "hello"}'
//! curl localhost:3000/notes
//! curl localhost:3000/health                                 # pool and credential status
//! curl localhost:3000/me -H "x-forwarded-access-token: $USER_TOKEN"   # as the signed-in user
//! ```
//!
//! Every handler takes a connection with `pool.get()`: credentials, refreshes, reconnects
//! after scale-to-zero and connection recycling all happen underneath.
//!
//! On behalf of users: a Databricks App forwards the signed-in user's OAuth token in the
//! `x-forwarded-access-token` header. `/me` takes that user's pool from [`UserPools`]
//! (logged in as the user, credentials minted with their token), so `current_user` is the
//! user and the row-level security policy on `notes` shows them only their notes.

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lakebase_postgres::{Pool, UserPools};
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

/// The header Databricks Apps forward the signed-in user's OAuth token in.
const FORWARDED_TOKEN: &str = "x-forwarded-access-token";

/// What the handlers share: the app's own pool and the per-user pools.
#[derive(Clone)]
struct AppState {
    pool: Pool,
    users: UserPools,
}

impl FromRef<AppState> for Pool {
    fn from_ref(state: &AppState) -> Pool {
        state.pool.clone()
    }
}

/// The pool of the user whose token the request forwards; 401 without one.
struct UserPool(Pool);

impl FromRequestParts<AppState> for UserPool {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(FORWARDED_TOKEN)
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, format!("no {FORWARDED_TOKEN} header")))?;
        let pool = state
            .users
            .get(token)
            .await
            .map_err(|e| ApiError(StatusCode::UNAUTHORIZED, e.to_string()))?;
        Ok(UserPool(pool))
    }
}

/// Who the database sees, and the notes row-level security lets them read.
async fn me(UserPool(pool): UserPool) -> Result<Json<Value>, ApiError> {
    let conn = pool.get().await?;
    let user: String = conn.query_one("select current_user::text", &[]).await?.get(0);
    let rows = conn.query("select id, text from notes order by id", &[]).await?;
    let notes: Vec<Value> = rows
        .iter()
        .map(|r| json!({"id": r.get::<_, i64>(0), "text": r.get::<_, String>(1)}))
        .collect();
    Ok(Json(json!({"user": user, "notes": notes})))
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

/// The service's routes.
fn app(state: AppState) -> Router {
    Router::new()
        .route("/notes", get(list_notes).post(add_note))
        .route("/me", get(me))
        .route("/health", get(health))
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let (pool, users, _emulator) = if std::env::var_os("LAKEBASE_ENDPOINT").is_some() {
        // In a Databricks App: LAKEBASE_ENDPOINT, PGHOST, PGAPPNAME, DATABRICKS_HOST, ...
        let users = UserPools::builder(Pool::builder()).build()?;
        (Pool::from_env().await?, users, None)
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
        let template = Pool::builder()
            .endpoint("projects/notes/branches/production/endpoints/primary")
            .port(emulator.pg_port().ok_or("no pg port")?)
            .ca_cert_pem(emulator.ca_cert_pem().ok_or("no CA")?)
            .env(env.clone());
        let users = UserPools::builder(template.clone())
            .workspace(emulator.base_url())
            .env(env)
            .build()?;
        let pool = template.client(client).build().await?;
        (pool, users, Some(emulator))
    };
    // Each user reads only the notes they wrote; the app's own role owns the table and sees all.
    pool.get()
        .await?
        .batch_execute(
            "create table if not exists notes (id bigserial primary key, text text not null,
                                               owner text not null default current_user);
             alter table notes enable row level security;
             drop policy if exists own_notes on notes;
             create policy own_notes on notes using (owner = current_user) with check (owner = current_user);
             grant select, insert on notes to public;
             grant usage on sequence notes_id_seq to public;",
        )
        .await?;
    let address = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(%address, endpoint = %pool.endpoint(), "serving");
    axum::serve(listener, app(AppState { pool, users }))
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
