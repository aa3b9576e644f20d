//! The structured request log: a sample of what happened to requests, as an operator would
//! see it in their log search. Errors and warnings are kept up to a limit per bucket; a
//! fraction of successful requests is kept, chosen by a hash of the request id so that no
//! random stream is consumed.

use serde::Serialize;

use crate::drill::SimTime;
pub use crate::drill::log_target::LogTarget;
use crate::drill::spec::Drill;

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
    /// A pool's autoscaler changed its size (the line's note says how and why).
    Scaled,
    /// The step's dependency refused the call (its rate limit) and the request failed.
    RateLimited,
}

impl LogKind {
    /// A line of a step's call that went wrong: it failed, its connection wait timed out, the
    /// call ran into its timeout (whether the request then failed or went on without the
    /// step) or the dependency refused it. A step's `log` goes on these.
    #[must_use]
    pub fn is_step_error(self) -> bool {
        matches!(
            self,
            LogKind::StepError
                | LogKind::AcquireTimeout
                | LogKind::Degraded
                | LogKind::CallTimeout
                | LogKind::CallTimeoutDegraded
                | LogKind::RateLimited
        )
    }

    /// Whether the line's call of its step ran (reached the step's dependency): not a wait for
    /// a connection that timed out, which never called it, so no effect on the step's calls
    /// touched it.
    #[must_use]
    pub fn call_ran(self) -> bool {
        !matches!(self, LogKind::AcquireTimeout | LogKind::Degraded)
    }
}

impl LogTarget {
    /// Whether `line` is one of this target's lines.
    #[must_use]
    pub fn covers(&self, line: &LogLine) -> bool {
        match self {
            LogTarget::StepAndCompleted(step) => {
                line.kind == LogKind::Completed
                    || (line.step.as_deref() == Some(step) && line.kind.call_ran())
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
    /// lines ([`LogKind::is_step_error`]), and the `log` of every fault in effect whose calls the line is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The faults whose effects on a share of the calls hit the request (bit `f` for fault
    /// `f`, the first 32): such a fault's `log` goes on these lines only.
    #[serde(skip)]
    pub hit_faults: u32,
}

impl LogLine {
    /// The human message, derived from the structured fields, then the author's notes:
    /// `step billing-lookup failed: vendor lookup_invoice returned 502`.
    #[must_use]
    pub fn message(&self) -> String {
        if self.kind == LogKind::Scaled
            && let Some(text) = self.notes.first()
        {
            return text.clone();
        }
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
            LogKind::Scaled => format!("scaled {pool}"),
            LogKind::RateLimited => format!("step {step}: 429 Too Many Requests"),
        }
    }
}

/// What the drill's author says the service logs: each step's `log` on the step's error lines,
/// and each fault's `log` on the lines of the calls it touches while it is in effect
/// ([`LogTarget`]).
#[derive(Debug, Default)]
pub struct LogNotes {
    /// Step name and message.
    steps: Vec<(String, String)>,
    /// Fault index, the lines it goes on, whether it hits only a share of the calls (then
    /// only the lines of requests it hit carry it), and message.
    faults: Vec<(usize, Vec<LogTarget>, bool, String)>,
}

impl LogNotes {
    /// The notes of `drill`'s steps and faults.
    #[must_use]
    pub fn of(drill: &Drill) -> LogNotes {
        LogNotes {
            steps: drill
                .service
                .steps
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.log.clone()?)))
                .collect(),
            faults: drill
                .faults
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let effects = f.all_effects();
                    let targets: Vec<LogTarget> = effects
                        .iter()
                        .filter_map(|e| LogTarget::of(e).ok())
                        .collect();
                    // The engine marks the calls of the first 32 faults; a later one's message
                    // goes on every line of its targets.
                    let on_a_share = i < 32 && effects.iter().any(|e| e.hits_a_share());
                    (!targets.is_empty()).then_some((i, targets, on_a_share, f.log.clone()?))
                })
                .collect(),
        }
    }

    /// Whether the drill gives no message at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.faults.is_empty()
    }

    /// Adds the notes that concern each line, steps first, then faults in drill order; a
    /// fault's note goes on the lines between its start and its end (by fault index, as the
    /// run's ground truth records them).
    pub fn annotate(
        &self,
        lines: &mut [LogLine],
        fault_started: &[Option<SimTime>],
        fault_ended: &[Option<SimTime>],
    ) {
        for line in lines {
            if line.kind == LogKind::Scaled {
                continue;
            }
            if line.kind.is_step_error()
                && let Some((_, message)) = self
                    .steps
                    .iter()
                    .find(|(step, _)| line.step.as_deref() == Some(step))
            {
                line.notes.push(message.clone());
            }
            let at = SimTime::from_nanos(line.at_nanos);
            for (fault, targets, on_a_share, message) in &self.faults {
                let started = fault_started[*fault].is_some_and(|t| t <= at);
                let ended = fault_ended[*fault].is_some_and(|t| t <= at);
                let hit = !on_a_share || line.hit_faults & (1 << fault) != 0;
                if started && !ended && hit && targets.iter().any(|t| t.covers(line)) {
                    line.notes.push(message.clone());
                }
            }
        }
    }
}
