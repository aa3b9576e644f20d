//! The structured request log: a sample of what happened to requests, as an operator would
//! see it in their log search. Errors and warnings are kept up to a limit per bucket; a
//! fraction of successful requests is kept, chosen by a hash of the request id so that no
//! random stream is consumed.

use serde::Serialize;

pub use crate::drill::log_target::LogTarget;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Level> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

/// What happened, in a fixed vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    Completed,
    Degraded,
    AcquireTimeout,
    StepError,
    Rejected,
    /// A call ran into its step's timeout and the request failed.
    CallTimeout,
    /// A call ran into its step's timeout and the request went on without the step.
    CallTimeoutDegraded,
}

impl LogTarget {
    /// Whether `line` is one of this target's lines.
    #[must_use]
    pub fn covers(&self, line: &LogLine) -> bool {
        match self {
            LogTarget::StepAndCompleted(step) => {
                line.kind == LogKind::Completed || line.step.as_deref() == Some(step)
            }
            LogTarget::StepErrors(step) => {
                line.kind == LogKind::StepError && line.step.as_deref() == Some(step)
            }
            LogTarget::Pool(pool) => line.pool.as_deref() == Some(pool),
            LogTarget::Rejected => line.kind == LogKind::Rejected,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// Simulated time in nanoseconds.
    pub at_nanos: u64,
    pub level: Level,
    pub request: u64,
    pub kind: LogKind,
    /// The step involved, if any.
    pub step: Option<String>,
    /// The pool involved, if any.
    pub pool: Option<String>,
    /// Request latency so far, in seconds.
    pub latency_seconds: f64,
    /// Time spent waiting for a connection, in seconds (zero when no pool was involved); for
    /// an acquire timeout, the wait for that one connection; for a call timeout, how long
    /// the call ran.
    pub wait_seconds: f64,
    /// What the drill's author says the service prints here: the step's `log` on its error
    /// lines, and the `log` of every fault in effect whose calls the line is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl LogLine {
    /// The human message, derived from the structured fields, then the author's notes:
    /// `step billing-lookup failed: vendor lookup_invoice returned 502`.
    #[must_use]
    pub fn message(&self) -> String {
        let mut message = self.plain_message();
        for note in &self.notes {
            message.push_str(": ");
            message.push_str(note);
        }
        message
    }

    /// The message without the author's notes.
    fn plain_message(&self) -> String {
        let step = self.step.as_deref().unwrap_or("-");
        let pool = self.pool.as_deref().unwrap_or("-");
        match self.kind {
            LogKind::Completed => format!("request completed in {:.3}s", self.latency_seconds),
            LogKind::Degraded => format!(
                "answered without step {step}: no {pool} connection after {:.3}s",
                self.wait_seconds
            ),
            LogKind::AcquireTimeout => format!(
                "step {step}: timed out after {:.3}s waiting for a {pool} connection",
                self.wait_seconds
            ),
            LogKind::StepError => format!("step {step} failed"),
            LogKind::CallTimeout => format!(
                "step {step}: call timed out after {:.3}s",
                self.wait_seconds
            ),
            LogKind::CallTimeoutDegraded => format!(
                "answered without step {step}: call timed out after {:.3}s",
                self.wait_seconds
            ),
            LogKind::Rejected => "request rejected at admission".to_owned(),
        }
    }
}
