//! Warnings of `firedrill check`: a drill that loads but will likely be scored wrong or can
//! never be won in part. Unlike [`super::validate`]'s problems they do not make a drill
//! invalid (the exit code stays 0); they say what is ambiguous and how to settle it.
//!
//! - Several faults and none marked: attribution cannot tell a cause from a red herring, so
//!   every fault counts as a cause and the clock starts at the earliest of them.
//! - A `detect_within` shorter than the earliest possible page: no team can meet it.
//! - An alert on ground truth (found by [`super::validate::warnings`]): it pages on something no
//!   real system measures.

use super::Duration;
use super::spec::{Drill, Severity};

/// One warning: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where it is, as a path into the drill (`objectives.detect_within`).
    pub path: String,
    pub message: String,
    pub hint: String,
}

/// Whether `text` writes a `cause:` field (as in `Fault(..., cause: false)`; `root_cause:`
/// and line comments do not count).
fn marks_a_cause(text: &str) -> bool {
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .any(|line| {
            line.match_indices("cause").any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + "cause".len()..].trim_start();
                before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) && after.starts_with(':')
            })
        })
}

/// The earliest a page can fire after the earliest cause fault starts: the first bucket end
/// after it (when alerts are first evaluated on the fault's metrics) plus the shortest `for`
/// of a page alert. `None` without faults or page alerts.
#[must_use]
pub fn earliest_page_after_fault(drill: &Drill) -> Option<Duration> {
    let any_cause = drill.faults.iter().any(|f| f.cause);
    let start = drill
        .faults
        .iter()
        .filter(|f| f.cause || !any_cause)
        .map(|f| f.at.as_nanos())
        .min()?;
    let hold = drill
        .alerts
        .iter()
        .filter(|a| a.severity == Severity::Page)
        .map(|a| a.hold.as_nanos())
        .min()?;
    let bucket = if drill.telemetry.bucket.is_zero() {
        Duration::from_secs(10).as_nanos()
    } else {
        drill.telemetry.bucket.as_nanos()
    };
    let first_evaluation = (start / bucket + 1) * bucket;
    Some(Duration::from_nanos(first_evaluation - start + hold))
}

/// The warnings of `drill`, whose file text is `text`.
#[must_use]
pub fn warnings(drill: &Drill, text: &str) -> Vec<Warning> {
    let mut out = Vec::new();
    if drill.faults.len() > 1 && drill.faults.iter().all(|f| f.cause) && !marks_a_cause(text) {
        out.push(Warning {
            path: "faults".to_owned(),
            message: format!(
                "the drill has {} faults and marks none as a cause or a distraction: all count as causes, so objectives, timings and recovery count from the earliest of them",
                drill.faults.len()
            ),
            hint: "mark a red herring `cause: false` (it may page without delaying recovery), or write `cause: true` on the faults that are all causes".to_owned(),
        });
    }
    if let (Some(target), Some(earliest)) = (
        drill.objectives.as_ref().and_then(|o| o.detect_within),
        earliest_page_after_fault(drill),
    ) && target < earliest
    {
        out.push(Warning {
            path: "objectives.detect_within".to_owned(),
            message: format!(
                "`detect_within` is {target}, but no page can fire sooner than {earliest} after the cause starts (the first alert evaluation after it plus the shortest `for` of a page alert): the objective can never be met"
            ),
            hint: format!("give the team at least {earliest} plus time to acknowledge, e.g. `detect_within: \"{}\"`", Duration::from_secs(earliest.as_secs_f64().ceil() as u64 + 120)),
        });
    }
    // What the team observes: an alert on ground truth.
    out.extend(
        super::validate::warnings(drill)
            .into_iter()
            .map(|problem| Warning {
                path: problem.path.to_string(),
                message: problem.message,
                hint: problem.hint.unwrap_or_default(),
            }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_field_is_told_from_root_cause() {
        assert!(marks_a_cause("Fault(name: \"x\", cause: false)"));
        assert!(marks_a_cause("Fault(name: \"x\",cause :true)"));
        assert!(!marks_a_cause("root_cause: RootCause(id: \"x\")"));
        assert!(!marks_a_cause("because: it"));
        assert!(!marks_a_cause("// the cause: a surge\nFault(name: \"x\")"));
    }
}
