//! A [`Sleeper`] that really sleeps and records what it was asked to sleep: the client's
//! own account of its retries and polls, for hosts that do not count requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lakebase::Sleeper;

/// Sleeps on tokio's timer and records every requested duration.
#[derive(Clone, Debug, Default)]
pub struct RecordingRealSleeper {
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl RecordingRealSleeper {
    /// A new sleeper with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// The durations requested so far, in order.
    pub fn recorded(&self) -> Vec<Duration> {
        self.slept.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Sleeper for RecordingRealSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        if let Ok(mut v) = self.slept.lock() {
            v.push(duration);
        }
        Box::pin(tokio::time::sleep(duration))
    }
}
