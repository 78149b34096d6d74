//! Output: text or one JSON object per command on stdout, spinners on stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// `-o text|json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per command (stable; documented in cli/README.md).
    Json,
}

/// Prints a command's result: `value` as one JSON line in JSON mode, `text` otherwise.
pub fn emit(format: Format, value: &Value, text: impl FnOnce() -> String) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Json => writeln!(out, "{value}"),
        Format::Text => {
            let text = text();
            if text.ends_with('\n') || text.is_empty() {
                write!(out, "{text}")
            } else {
                writeln!(out, "{text}")
            }
        }
    };
}

/// Under GitHub Actions (`GITHUB_ACTIONS=true`), prints one `::add-mask::` workflow command
/// per secret on stdout, before anything else of the command, so the runner hides them in
/// every later log line. Anywhere else it prints nothing: the line would only show the secret
/// on the terminal and break the JSON document on stdout.
pub fn mask_in_actions(secrets: &[&str]) {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return;
    }
    let mut out = std::io::stdout().lock();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "::add-mask::{secret}");
    }
    let _ = out.flush();
}

/// Spinners while waiting, drawn on stderr only when it is a terminal and `--quiet` is off.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Spinners on or off for this process.
    pub fn new(quiet: bool) -> Self {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// A spinner with `message` until the returned guard is dropped.
    pub fn spinner(&self, message: impl Into<String>) -> Spinner {
        if !self.enabled {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }
}

/// A running spinner; cleared from the terminal when dropped.
pub struct Spinner(Option<ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
