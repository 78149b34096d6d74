//! # lakebase
//!
//! A typed Rust client for the Databricks Lakebase Autoscaling **Postgres API**:
//! projects, branches, compute endpoints, roles, databases, Unity Catalog catalogs,
//! synced tables, snapshots, change data feeds, the Data API, long-running operations
//! and database credentials.
//!
//! ```no_run
//! use lakebase::{Client, FieldMask, ProjectName, types};
//!
//! # async fn demo() -> Result<(), lakebase::Error> {
//! // DATABRICKS_HOST + DATABRICKS_TOKEN (or client id/secret, or a ~/.databrickscfg profile).
//! let client = Client::from_env()?;
//!
//! // Create a project and wait for it; the operation is polled for you.
//! let project = client.create_project("my-app", types::Project::default()).await?.wait().await?;
//! let name: ProjectName = project.name.unwrap_or_default().parse()?;
//!
//! // Branch off production, then list branches lazily, page by page.
//! let spec = types::BranchSpec { no_expiry: Some(true), ..Default::default() };
//! let dev = client.create_branch(&name, "dev", types::Branch { spec: Some(spec), ..Default::default() }).await?.wait().await?;
//! let branches = client.list_branches(&name).page_size(50).collect_all().await?;
//! println!("{} branches, new: {:?}", branches.len(), dev.name);
//!
//! // Update with an explicit field mask; an empty mask is rejected before any request.
//! let mut change = types::Project::default();
//! change.spec = Some(types::ProjectSpec { display_name: Some("My app".into()), ..Default::default() });
//! client.update_project(&name, change, &FieldMask::new(["spec.display_name"])?).await?.wait().await?;
//! # Ok(()) }
//! ```
//!
//! What the crate takes care of:
//! * **Names**: [`ProjectName`], [`BranchName`], ... validate ids before anything is
//!   sent and navigate the hierarchy (`project.branch("dev")?`, `branch.project()`).
//! * **Operations**: creates, updates and deletes return an [`Operation`] that polls on a
//!   [`PollingPolicy`] with a deadline.
//! * **Pagination**: list calls return a builder that streams items lazily through a [`Pager`].
//! * **Errors**: one [`Error`] type; API errors carry status, error code, message and
//!   details ([`ApiError`]).
//! * **Retries**: 429 and 503 (and connection failures) are retried within a budget,
//!   honouring `Retry-After` ([`retry`]).
//! * **Auth**: personal access tokens and OAuth M2M, from explicit settings, the
//!   environment or `~/.databrickscfg` ([`Config`]).

#![warn(missing_docs)]

pub mod auth;
mod call;
mod client;
pub mod config;
pub mod connection;
pub mod error;
pub mod field_mask;
mod generated;
pub mod identity;
mod json_call;
pub mod names;
pub mod operation;
pub mod pagination;
pub mod polling;
mod recovery;
pub mod retry;
pub mod secret;
pub mod tls;
mod transport;
pub mod user_agent;

pub use auth::CredentialsProvider;
pub use client::Client;
pub use config::Config;
pub use error::{
    ApiError, AuthError, Error, ErrorClass, ErrorCode, ErrorDetail, InputError, InvalidInput, TimeoutKind,
    TransportError,
};
pub use field_mask::FieldMask;
pub use field_mask::FieldMaskError;
pub use generated::*;
pub use identity::CurrentUser;
pub use names::*;
pub use operation::{Operation, OperationResult, OperationState};
pub use pagination::{ListPage, Pager};
pub use polling::PollingPolicy;
pub use retry::{ExponentialRetry, NoRetry, RetryPolicy, Sleeper};
pub use secret::Secret;

/// The API's messages and enums, generated from the spec.
pub mod types {
    pub use lakebase_generated::Duration;
    pub use lakebase_generated::enums::*;
    pub use lakebase_generated::types::*;
}

/// Crate version, as sent in the User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
