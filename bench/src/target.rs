//! The server a benchmark runs against: the embedded emulator, the neutral mock server
//! of `shared/bench` (recognised by its `/__config` control plane), or any other host.
//!
//! Whatever a scenario needs from the server (seeding projects, the time operations
//! take, injected faults, request counts) goes through [`Target`], which answers `None`
//! or `false` when the server cannot do it, so scenarios can skip with a note instead
//! of reporting made-up numbers.

use std::sync::Arc;
use std::time::Duration;

use lakebase::{Client, Config, Sleeper};
use lakebase_emulator::{Emulator, FaultConfig};
use serde_json::{Value, json};

/// What kind of server answers.
pub enum Server {
    /// The embedded emulator, owned by the bench.
    Emulator(Emulator),
    /// The neutral mock server (`mock_server.py`), configured through `/__config`.
    Mock {
        /// Its configuration when the bench connected, restored by [`Target::restore`].
        initial: Value,
    },
    /// Anything else (a real workspace): nothing can be configured.
    Other,
}

/// Which faults to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FaultKind {
    /// `503 TEMPORARILY_UNAVAILABLE` without `Retry-After`: the client's backoff decides.
    #[value(name = "503")]
    Unavailable,
    /// `429 REQUEST_LIMIT_EXCEEDED` with `Retry-After: 1`.
    #[value(name = "429")]
    TooManyRequests,
    /// Half of the rate each.
    Mixed,
}

impl FaultKind {
    /// The 503 and 429 rates for a total fault `rate`.
    fn rates(self, rate: f64) -> (f64, f64) {
        match self {
            FaultKind::Unavailable => (rate, 0.0),
            FaultKind::TooManyRequests => (0.0, rate),
            FaultKind::Mixed => (rate / 2.0, rate / 2.0),
        }
    }

    /// Name for the report.
    pub fn label(self) -> &'static str {
        match self {
            FaultKind::Unavailable => "503",
            FaultKind::TooManyRequests => "429",
            FaultKind::Mixed => "mixed",
        }
    }
}

/// A server and how to reach it.
pub struct Target {
    /// Base URL.
    pub host: String,
    /// Bearer token.
    pub token: String,
    /// What it is.
    pub server: Server,
    control: reqwest::Client,
}

impl Target {
    /// Connects to `host`, or starts an emulator when `host` is `None`; a host is probed
    /// for the mock server's `/__config` control plane.
    pub async fn connect(host: Option<String>, token: String) -> Result<Target, String> {
        let control = reqwest::Client::new();
        let Some(host) = host else {
            let emulator = Emulator::builder()
                .op_latency(Duration::from_millis(200))
                .start()
                .await
                .map_err(|e| format!("cannot start the emulator: {e}"))?;
            return Ok(Target {
                host: emulator.base_url(),
                token,
                server: Server::Emulator(emulator),
                control,
            });
        };
        let host = host.trim_end_matches('/').to_string();
        let config = match control.get(format!("{host}/__config")).send().await {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
            _ => None,
        };
        let server = match config {
            Some(initial) if initial.get("op_delay").is_some() => Server::Mock { initial },
            _ => Server::Other,
        };
        Ok(Target {
            host,
            token,
            server,
            control,
        })
    }

    /// A target for a child process: the host as given, never probed (the child measures
    /// its own start-up, which must not include bench-only requests).
    pub fn unprobed(host: String, token: String) -> Target {
        Target {
            host,
            token,
            server: Server::Other,
            control: reqwest::Client::new(),
        }
    }

    /// A client with the default policies, as a user would build it.
    pub fn client(&self) -> Result<Client, String> {
        Client::new(self.config()?).map_err(|e| e.to_string())
    }

    /// A client with the default policies whose sleeps (retries and polls) go through
    /// `sleeper`.
    pub fn client_with(&self, sleeper: Arc<dyn Sleeper>) -> Result<Client, String> {
        Client::with_sleeper(self.config()?, sleeper).map_err(|e| e.to_string())
    }

    fn config(&self) -> Result<Config, String> {
        Config::builder()
            .host(&self.host)
            .token(self.token.as_str())
            .build()
            .map_err(|e| e.to_string())
    }

    /// A short name of the server kind, for the report.
    pub fn kind(&self) -> &'static str {
        match self.server {
            Server::Emulator(_) => "emulator",
            Server::Mock { .. } => "mock_server.py",
            Server::Other => "other host",
        }
    }

    /// Whether this is the mock server.
    pub fn is_mock(&self) -> bool {
        matches!(self.server, Server::Mock { .. })
    }

    /// Makes exactly `n` projects listable (no faults, counters zeroed) and returns the
    /// id of one of them; `None` on a server the bench cannot set up.
    pub async fn prepare_projects(&self, n: usize) -> Result<Option<String>, String> {
        match &self.server {
            Server::Emulator(emulator) => {
                // Idempotent: seed-00000 .. seed-{n-1}. Only grows: a smaller n after a
                // larger one still lists the larger set (scenarios report `items`).
                emulator.seed_projects(n).map_err(|e| e.to_string())?;
                emulator.set_faults(FaultConfig::default());
                Ok(Some("seed-00000".to_string()))
            }
            Server::Mock { .. } => {
                self.mock_config(json!({"projects": n, "fault_503": 0.0, "fault_429": 0.0, "fail_next": []}))
                    .await?;
                self.mock_reset().await?;
                // The mock names its projects p-00001.. with at least 5 digits.
                let width = n.to_string().len().max(5);
                Ok(Some(format!("p-{:0width$}", 1)))
            }
            Server::Other => Ok(None),
        }
    }

    /// The id of some project the host has: seeded when possible, else the first listed.
    pub async fn any_project_id(&self) -> Result<Option<String>, String> {
        if let Some(id) = self.prepare_projects(1).await? {
            return Ok(Some(id));
        }
        let first = self
            .client()?
            .list_projects()
            .page_size(1)
            .pager()
            .first_page()
            .await
            .map_err(|e| e.to_string())?;
        Ok(first.items.into_iter().find_map(|p| p.project_id))
    }

    /// Sets the time operations take; `false` when the server cannot be configured.
    pub async fn set_op_delay(&self, delay: Duration) -> Result<bool, String> {
        match &self.server {
            Server::Emulator(emulator) => {
                emulator.set_op_latency(delay);
                Ok(true)
            }
            Server::Mock { .. } => {
                self.mock_config(json!({"op_delay": delay.as_secs_f64()})).await?;
                Ok(true)
            }
            Server::Other => Ok(false),
        }
    }

    /// Injects faults of `kind` at `rate` (seeded, so every run meets the same faults)
    /// and zeroes the counters; `false` when the server cannot be configured.
    pub async fn set_faults(&self, kind: FaultKind, rate: f64) -> Result<bool, String> {
        let (rate_503, rate_429) = kind.rates(rate);
        match &self.server {
            Server::Emulator(emulator) => {
                emulator.set_faults(FaultConfig {
                    rate_503,
                    rate_429,
                    retry_after_secs: 1,
                    seed: 42,
                    ..Default::default()
                });
                Ok(true)
            }
            Server::Mock { .. } => {
                self.mock_config(json!({
                    "fault_503": rate_503, "fault_429": rate_429,
                    "retry_after_429": 1, "retry_after_503": null, "seed": 42,
                }))
                .await?;
                self.mock_reset().await?;
                Ok(true)
            }
            Server::Other => Ok(false),
        }
    }

    /// API requests the server received so far, when it counts them.
    pub async fn requests(&self) -> Option<u64> {
        match &self.server {
            Server::Emulator(emulator) => Some(emulator.total_requests()),
            Server::Mock { .. } => self
                .mock_stats()
                .await
                .ok()
                .and_then(|s| s.get("total").and_then(Value::as_u64)),
            Server::Other => None,
        }
    }

    /// `get_operation` requests the server received so far, when it counts them.
    pub fn operation_polls(&self) -> Option<u64> {
        match &self.server {
            Server::Emulator(emulator) => Some(emulator.request_count("get_operation")),
            _ => None,
        }
    }

    /// Faults the mock server injected since the last reset (`{"503": n, "429": m}`).
    pub async fn injected_faults(&self) -> Option<u64> {
        if !self.is_mock() {
            return None;
        }
        let stats = self.mock_stats().await.ok()?;
        let faults = stats.get("faults")?.as_object()?;
        Some(faults.values().filter_map(Value::as_u64).sum())
    }

    /// The mock server's `/__stats`.
    pub async fn mock_stats(&self) -> Result<Value, String> {
        let r = self
            .control
            .get(format!("{}/__stats", self.host))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        r.json().await.map_err(|e| e.to_string())
    }

    /// Puts the server back as the bench found it (the mock's projects, operation time,
    /// faults; the emulator is dropped with the bench).
    pub async fn restore(&self) -> Result<(), String> {
        if let Server::Mock { initial } = &self.server {
            let mut config = serde_json::Map::new();
            for key in [
                "projects",
                "op_delay",
                "fault_503",
                "fault_429",
                "retry_after_429",
                "retry_after_503",
                "seed",
                "default_page_size",
            ] {
                if let Some(value) = initial.get(key) {
                    config.insert(key.to_string(), value.clone());
                }
            }
            self.mock_config(Value::Object(config)).await?;
            self.mock_reset().await?;
        }
        Ok(())
    }

    async fn mock_config(&self, config: Value) -> Result<(), String> {
        let r = self
            .control
            .post(format!("{}/__config", self.host))
            .json(&config)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("/__config answered {}", r.status()))
        }
    }

    async fn mock_reset(&self) -> Result<(), String> {
        self.control
            .post(format!("{}/__reset", self.host))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
