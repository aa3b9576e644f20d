//! Where a fault's `log` message goes: [`LogTarget`], the request-log lines a fault's effect
//! touches, and why an effect touches none. It is part of the drill format because validation
//! rejects a `log` on a fault that has no line to write it on.
//!
//! It does not know the log itself: whether a line is one of a target's lines
//! (`LogTarget::covers`) is in [`crate::telemetry::log`], which re-exports this type.

use super::spec::Effect;

/// Which request-log lines a fault's `log` message is written on while the fault is in effect:
/// the lines of the calls its effect touches, as the service would log them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Lines of the step's calls that ran (not its connection waits that timed out, which
    /// never reached the dependency), and every completed request's line (each ran the step): a slow
    /// step or longer outputs show in every answer's latency.
    StepAndCompleted(String),
    /// The step's error lines.
    StepErrors(String),
    /// Lines naming the pool: waits that timed out, answers given without it.
    Pool(String),
    /// Requests rejected at admission.
    Rejected,
}

impl Effect {
    /// Whether the effect hits only a share of a step's calls, drawn per call (a `share`
    /// below 1): the engine marks the calls it hits, and its fault's `log` goes on those.
    #[must_use]
    pub fn hits_a_share(&self) -> bool {
        match self {
            Effect::StepTimeMultiplier { share, .. }
            | Effect::StepErrorRate { share, .. }
            | Effect::WrongAnswerRate { share, .. }
            | Effect::TokenMultiplier { share, .. }
            | Effect::UseFallback { share, .. } => share.is_some_and(|s| s < 1.0),
            _ => false,
        }
    }
}

impl LogTarget {
    /// Where a fault with `effect` writes its message, or why it cannot have one (a reason
    /// that completes "a fault that ...").
    ///
    /// # Errors
    /// The effect touches no call the service logs (more traffic, wrong answers, ending
    /// another fault).
    pub fn of(effect: &Effect) -> Result<LogTarget, &'static str> {
        match effect {
            Effect::StepTimeMultiplier { step, .. }
            | Effect::TokenMultiplier { step, .. }
            | Effect::UseFallback { step, .. }
            | Effect::StepShare { step, .. }
            | Effect::StepTimeout { step, .. }
            | Effect::StepRateLimit { step, .. }
            | Effect::SetRetries {
                step: Some(step), ..
            } => Ok(LogTarget::StepAndCompleted(step.clone())),
            Effect::SetRetries { step: None, .. } => Err(
                "changes the client's retries: the service logs the requests, not how often they are tried",
            ),
            Effect::StepErrorRate { step, .. } => Ok(LogTarget::StepErrors(step.clone())),
            Effect::PoolSize { pool, .. }
            | Effect::ConnectionLeak { pool, .. }
            | Effect::RestartPool { pool, .. } => Ok(LogTarget::Pool(pool.clone())),
            Effect::AdmissionLimit { .. } | Effect::MaxInFlight { .. } => Ok(LogTarget::Rejected),
            Effect::TrafficMultiplier(_) => Err(
                "changes traffic: the service logs the requests, not that there are more of them",
            ),
            Effect::WrongAnswerRate { .. } => Err(
                "makes answers wrong: the service cannot tell a wrong answer, so it logs nothing about it",
            ),
            Effect::Autoscale { .. } => Err(
                "turns an autoscaler on: it logs its scale events itself, not the requests' calls",
            ),
            Effect::EndFault(_) | Effect::EndAction(_) => {
                Err("ends another fault or action: it touches no call itself")
            }
        }
    }
}
