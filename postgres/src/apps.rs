//! Databricks Apps conventions: the variables an app's runtime injects (`PGAPPNAME`, and
//! `PGHOST` beside `LAKEBASE_ENDPOINT`) and what the pool makes of them.
//!
//! * `PGAPPNAME` becomes the sessions' `application_name` unless the builder sets one, so
//!   `pg_stat_activity` names the app.
//! * When the host is given (`PGHOST` or [`PoolBuilder::host`](crate::PoolBuilder::host))
//!   as well as the endpoint, the pool checks once, in the background and bounded by
//!   [`HOST_CHECK_TIMEOUT`], that the host is one of the endpoint's, and logs a warning when
//!   it is not: a stale `PGHOST` quietly serves another branch's database.

use std::time::Duration;

use lakebase::config::Env;
use lakebase::{Client, EndpointName};

/// Longest the background host check waits for the endpoint.
pub const HOST_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// `application_name` of the sessions: the builder's, else a non-empty `PGAPPNAME`, else
/// `lakebase-rs/<version>`.
pub(crate) fn application_name(explicit: Option<&str>, env: &dyn Env) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| env.var("PGAPPNAME").filter(|name| !name.trim().is_empty()))
        .unwrap_or_else(|| format!("lakebase-rs/{}", lakebase::VERSION))
}

/// What the host check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostCheck {
    /// The host is the endpoint's read-write or read-only host.
    Matches,
    /// The endpoint has other hosts.
    Mismatch {
        /// The endpoint's hosts.
        hosts: Vec<String>,
    },
    /// The endpoint could not be read in time; nothing is known.
    Unknown(String),
}

/// Whether `host` is one of `endpoint`'s hosts (names compared without case).
pub(crate) async fn check_host(client: &Client, endpoint: &EndpointName, host: &str) -> HostCheck {
    let endpoint_read = tokio::time::timeout(HOST_CHECK_TIMEOUT, client.get_endpoint(endpoint));
    let hosts = match endpoint_read.await {
        Ok(Ok(endpoint)) => endpoint.status.and_then(|s| s.hosts).unwrap_or_default(),
        Ok(Err(error)) => return HostCheck::Unknown(error.to_string()),
        Err(_) => return HostCheck::Unknown(format!("no answer within {HOST_CHECK_TIMEOUT:?}")),
    };
    let hosts: Vec<String> = [hosts.host, hosts.read_only_host]
        .into_iter()
        .flatten()
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.iter().any(|h| h.eq_ignore_ascii_case(host.trim())) {
        HostCheck::Matches
    } else {
        HostCheck::Mismatch { hosts }
    }
}

/// Runs [`check_host`] in the background and logs what it found: a warning on a mismatch,
/// a debug line when it could not tell. The pool is usable meanwhile.
pub(crate) fn spawn_host_check(client: Client, endpoint: EndpointName, host: String) {
    tokio::spawn(async move {
        match check_host(&client, &endpoint, &host).await {
            HostCheck::Matches => {
                tracing::debug!(%endpoint, %host, "the configured host is the endpoint's");
            }
            HostCheck::Mismatch { hosts } => tracing::warn!(
                %endpoint,
                %host,
                endpoint_hosts = ?hosts,
                "the configured host (PGHOST) is not a host of the endpoint (LAKEBASE_ENDPOINT): \
                 a stale PGHOST quietly serves another branch's database"
            ),
            HostCheck::Unknown(why) => {
                tracing::debug!(%endpoint, %host, %why, "could not check the configured host against the endpoint");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakebase::config::MapEnv;

    #[test]
    fn application_name_prefers_the_builder_then_pgappname() {
        let env = MapEnv::new().with_var("PGAPPNAME", "my-app");
        assert_eq!(application_name(Some("explicit"), &env), "explicit");
        assert_eq!(application_name(None, &env), "my-app");
        let blank = MapEnv::new().with_var("PGAPPNAME", " ");
        assert!(application_name(None, &blank).starts_with("lakebase-rs/"));
        assert!(application_name(None, &MapEnv::new()).starts_with("lakebase-rs/"));
    }

    async fn emulator_client() -> (lakebase_emulator::Emulator, Client, EndpointName) {
        let emu = lakebase_emulator::Emulator::builder()
            .op_latency(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let config = lakebase::Config::builder()
            .host(emu.base_url())
            .token("t")
            .env(std::sync::Arc::new(MapEnv::new()))
            .build()
            .unwrap();
        let client = Client::new(config).unwrap();
        client
            .create_project("apps", lakebase::types::Project::default())
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let endpoint: EndpointName = "projects/apps/branches/production/endpoints/primary".parse().unwrap();
        (emu, client, endpoint)
    }

    #[tokio::test]
    async fn host_check_tells_the_endpoints_host_from_a_stale_one() {
        let (_emu, client, endpoint) = emulator_client().await;
        let hosts = client
            .get_endpoint(&endpoint)
            .await
            .unwrap()
            .status
            .unwrap()
            .hosts
            .unwrap();
        let real = hosts.host.unwrap();
        assert_eq!(
            check_host(&client, &endpoint, &real.to_uppercase()).await,
            HostCheck::Matches
        );
        assert_eq!(
            check_host(&client, &endpoint, "ep-stale.database.example.com").await,
            HostCheck::Mismatch { hosts: vec![real] }
        );
        let missing: EndpointName = "projects/apps/branches/gone/endpoints/primary".parse().unwrap();
        assert!(matches!(
            check_host(&client, &missing, "h").await,
            HostCheck::Unknown(_)
        ));
    }

    /// Everything logged, as text.
    #[derive(Clone, Default)]
    struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_pool_with_a_stale_pghost_warns_once_in_the_background() {
        let (_emu, client, endpoint) = emulator_client().await;
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::WARN)
            .without_time()
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let env = MapEnv::new()
            .with_var("LAKEBASE_ENDPOINT", endpoint.to_string())
            .with_var("PGHOST", "ep-stale.database.example.com")
            .with_var("PGUSER", "someone@example.com");
        let _pool = crate::Pool::builder()
            .client(client.clone())
            .env(std::sync::Arc::new(env))
            .build()
            .await
            .expect("the pool builds: the check does not hold it up");
        // The check runs on this (current-thread) runtime: poll until it has logged.
        let requests = || _emu.request_count("get_endpoint");
        while requests() == 0 {
            tokio::task::yield_now().await;
        }
        let deadline = tokio::time::Instant::now() + HOST_CHECK_TIMEOUT;
        while logs.0.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("WARN"), "{text}");
        assert!(text.contains("a stale PGHOST"), "{text}");
        assert!(text.contains("ep-stale.database.example.com"), "{text}");
        assert_eq!(requests(), 1, "checked once");
    }
}
