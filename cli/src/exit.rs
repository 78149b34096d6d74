//! Exit codes and the one-line error every failure ends with.

use std::fmt;

use serde_json::json;

use crate::output::Format;

/// The process exit codes (documented in `cli/README.md`; stable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// `schema-diff`: the schemas differ.
    Different = 1,
    /// Bad arguments, an invalid id or name, missing or invalid configuration (profile, host).
    Usage = 2,
    /// The API (or the network on the way to it) failed: an error response, an unreachable
    /// host, failed authentication, a failed operation, a conflict found by a workflow.
    Api = 3,
    /// A wait ran past `--timeout`.
    Timeout = 4,
    /// A local tool (`psql`, `pg_dump`) is missing or failed.
    Tool = 5,
}

impl Exit {
    fn label(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Different => "different",
            Exit::Usage => "usage",
            Exit::Api => "api",
            Exit::Timeout => "timeout",
            Exit::Tool => "tool",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// A failed command: its exit code and one line saying what went wrong.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    message: String,
    status: Option<u16>,
    error_code: Option<String>,
    /// The request never got an answer (connect, TLS, timeout, I/O).
    unreachable: bool,
}

impl Failure {
    /// A failure with a message (newlines are folded into one line when reported).
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            status: None,
            error_code: None,
            unreachable: false,
        }
    }

    /// For a request that got no answer: says which host could not be reached.
    pub fn unreachable_host(self, host: &str) -> Self {
        if self.unreachable {
            self.context(format!("cannot reach {host}"))
        } else {
            self
        }
    }

    /// A usage failure.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The message, on one line.
    pub fn line(&self) -> String {
        self.message.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Writes the failure to stderr: `error: <message>` in text mode, one JSON object
    /// (`{"error": {"exit_code", "kind", "message", "status", "error_code"}}`) in JSON mode.
    pub fn report(&self, format: Format) {
        match format {
            Format::Text => eprintln!("error: {}", self.line()),
            Format::Json => eprintln!(
                "{}",
                json!({"error": {
                    "exit_code": self.exit as u8,
                    "kind": self.exit.label(),
                    "message": self.line(),
                    "status": self.status,
                    "error_code": self.error_code,
                }})
            ),
        }
    }
}

impl From<lakebase::Error> for Failure {
    fn from(error: lakebase::Error) -> Self {
        use lakebase::{Error as E, TimeoutKind};
        match error {
            // The retry budget ran out: the last error is what the user needs to see.
            E::Timeout {
                kind: TimeoutKind::RetryBudget,
                last_error: Some(last),
                ..
            } => Failure::from(*last),
            error => {
                let exit = match &error {
                    E::InvalidInput(_) | E::Config(_) => Exit::Usage,
                    E::Timeout {
                        kind: TimeoutKind::OperationWait { .. } | TimeoutKind::EndpointSettle,
                        ..
                    } => Exit::Timeout,
                    _ => Exit::Api,
                };
                let message = match &error {
                    E::Api(api) => {
                        let mut m = format!("{} ({}): {}", api.error_code.as_str(), api.status, api.message);
                        if let Some(context) = &api.auth_context {
                            m.push_str(&format!(" [{context}]"));
                        }
                        m
                    }
                    E::Transport(transport) => with_sources(transport),
                    other => other.to_string(),
                };
                Failure {
                    exit,
                    message,
                    status: error.status(),
                    error_code: error.error_code().map(|c| c.as_str().to_string()),
                    unreachable: matches!(error, E::Transport(_)),
                }
            }
        }
    }
}

/// An error and its chain of causes, each said once (`connect error: ...: Connection refused`).
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

impl From<lakebase::NameError> for Failure {
    fn from(error: lakebase::NameError) -> Self {
        Failure::usage(error.to_string())
    }
}
