//! The server a benchmark runs against: the embedded emulator, the neutral mock server
//! of `shared/bench` (recognised by its `/__config` control plane), or any other host.

use std::time::Duration;

use lakebase::{Client, Config};
use lakebase_emulator::{Emulator, FaultConfig};
use serde_json::{Value, json};

/// What kind of server answers.
pub enum Server {
    /// The embedded emulator, owned by the bench.
    Emulator(Emulator),
    /// The neutral mock server (`mock_server.py`), configured through `/__config`.
    Mock,
    /// Anything else (a real workspace): nothing can be configured.
    Other,
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
    /// Connects to `host`, or starts an emulator when `host` is `None`.
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
        let is_mock = match control.get(format!("{host}/__config")).send().await {
            Ok(r) => r.status().is_success() && r.json::<Value>().await.is_ok_and(|v| v.get("op_delay").is_some()),
            Err(_) => false,
        };
        let server = if is_mock { Server::Mock } else { Server::Other };
        Ok(Target {
            host,
            token,
            server,
            control,
        })
    }

    /// A client with the default policies, as a user would build it.
    pub fn client(&self) -> Result<Client, String> {
        let config = Config::builder()
            .host(&self.host)
            .token(self.token.as_str())
            .build()
            .map_err(|e| e.to_string())?;
        Client::new(config).map_err(|e| e.to_string())
    }

    /// A short name of the server kind, for the report.
    pub fn kind(&self) -> &'static str {
        match self.server {
            Server::Emulator(_) => "emulator",
            Server::Mock => "mock_server.py",
            Server::Other => "other",
        }
    }

    /// Makes `n` projects listable and returns the id of one of them, when the server
    /// can be set up; `None` on a server the bench cannot configure.
    pub async fn prepare_projects(&self, n: usize) -> Result<Option<String>, String> {
        match &self.server {
            Server::Emulator(emulator) => {
                // Idempotent: seed-00000 .. seed-{n-1}.
                emulator.seed_projects(n).map_err(|e| e.to_string())?;
                Ok(Some("seed-00000".to_string()))
            }
            Server::Mock => {
                self.mock_config(json!({"projects": n, "fault_503": 0.0, "fault_429": 0.0}))
                    .await?;
                self.mock_reset().await?;
                Ok(Some("p-00001".to_string()))
            }
            Server::Other => Ok(None),
        }
    }

    /// Sets the time operations take; `false` when the server cannot be configured.
    pub async fn set_op_delay(&self, delay: Duration) -> Result<bool, String> {
        match &self.server {
            Server::Emulator(emulator) => {
                emulator.set_op_latency(delay);
                Ok(true)
            }
            Server::Mock => {
                self.mock_config(json!({"op_delay": delay.as_secs_f64()})).await?;
                Ok(true)
            }
            Server::Other => Ok(false),
        }
    }

    /// Injects 503 faults at `rate` (seeded); `false` when the server cannot be configured.
    pub async fn set_fault_rate(&self, rate: f64) -> Result<bool, String> {
        match &self.server {
            Server::Emulator(emulator) => {
                emulator.set_faults(FaultConfig {
                    rate_503: rate,
                    seed: 42,
                    ..Default::default()
                });
                Ok(true)
            }
            Server::Mock => {
                self.mock_config(json!({"fault_503": rate, "seed": 42})).await?;
                self.mock_reset().await?;
                Ok(true)
            }
            Server::Other => Ok(false),
        }
    }

    /// Requests the server answered so far (API routes only), when it counts them.
    pub async fn requests(&self) -> Option<u64> {
        match &self.server {
            Server::Emulator(emulator) => Some(emulator.total_requests()),
            Server::Mock => self
                .mock_stats()
                .await
                .ok()
                .and_then(|s| s.get("total").and_then(Value::as_u64)),
            Server::Other => None,
        }
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
