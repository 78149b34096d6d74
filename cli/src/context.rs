//! What every command shares: the API client, the output format, spinners and the wait
//! deadline, built from the global options.

use std::sync::Arc;
use std::time::Duration;

use lakebase::{Client, Config, ExponentialRetry, PollingPolicy};

use crate::args::GlobalArgs;
use crate::exit::Failure;
use crate::output::{Format, Progress};

/// The shared state of one invocation.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// `-o`.
    pub format: Format,
    /// Spinners on stderr.
    pub progress: Progress,
    /// `--timeout`: the longest any wait may take.
    pub timeout: Duration,
}

impl Context {
    /// Resolves the configuration (flags, then `DATABRICKS_*`, then `~/.databrickscfg`).
    pub fn new(global: &GlobalArgs) -> Result<Self, Failure> {
        let mut builder = Config::builder()
            .polling_policy(PollingPolicy::default().with_deadline(Some(global.timeout.into())))
            .retry_policy(Arc::new(
                ExponentialRetry::default().with_budget(global.retry_budget.into()),
            ))
            .user_agent_extra("cli", env!("CARGO_PKG_VERSION"));
        if let Some(host) = &global.host {
            builder = builder.host(host);
        }
        if let Some(profile) = &global.profile {
            builder = builder.profile(profile);
        }
        let config = builder.build()?;
        Ok(Context {
            client: Client::new(config)?,
            format: global.output,
            progress: Progress::new(global.quiet),
            timeout: global.timeout.into(),
        })
    }
}
