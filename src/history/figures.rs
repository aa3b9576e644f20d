//! The figures the history store keeps of a session: the parts of its [`Debrief`] a team
//! compares across sessions (score, objectives, each task's status, timings, harm). They are
//! always computed from the transcript, by replay and the debrief, so a store can recompute
//! them when [`SCORING_VERSION`] changes.

use std::path::Path;

use serde::Serialize;

use crate::score::debrief::{self, Debrief};
use crate::session::Session;
use crate::session::transcript::{Transcript, TranscriptError};

/// The version of the scoring the stored figures come from. Raise it whenever a change to
/// `score/` changes any figure below: stores then recompute their sessions' figures from the
/// transcripts they keep.
///
/// Version 2: harm counts users (each request once, by its final outcome; a client's retries
/// are attempts, not more users), so `harmed` and `no_response_harmed` changed meaning.
/// Version 3: the first mitigation is the first action without which the run would have
/// harmed more users (the team's run replayed without it), so the `act` timing and the
/// `mitigate` objective changed for teams whose first action changed nothing or did harm.
pub const SCORING_VERSION: u32 = 3;

/// One session's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub score: u32,
    pub exact: f64,
    pub checklist_earned: i64,
    pub checklist_possible: i64,
    pub worse_than_none: bool,
    pub ended_seconds: f64,
    pub objectives: Vec<ObjectiveFigure>,
    pub tasks: Vec<TaskFigure>,
    pub timings: Vec<TimingFigure>,
    pub harm: HarmFigure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveFigure {
    pub name: String,
    pub target_seconds: f64,
    pub actual_seconds: Option<f64>,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskFigure {
    pub role: String,
    pub task: String,
    /// `on_time`, `late`, `premature` or `missed`, as the debrief says.
    pub status: String,
    pub points: i64,
    pub earned: i64,
    pub done_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingFigure {
    /// `page`, `detect`, `acknowledge`, `act`, `diagnose`, `mitigate`, `resolve`.
    pub name: String,
    pub seconds: Option<f64>,
    pub target_seconds: Option<f64>,
}

/// The harm of a session. `arrived`, `failed` and `rejected` count attempts (a client's
/// retries included), `degraded` and `wrong_answers` answers; `harmed` and
/// `no_response_harmed` count users, each once: requests that ended failed or rejected, or
/// were answered degraded or wrong — the harm the score counts (since scoring version 2;
/// before, failed + rejected + degraded attempts plus wrong answers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HarmFigure {
    pub arrived: u64,
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    pub harmed: u64,
    pub page_breach_minutes: f64,
    pub no_response_harmed: u64,
}

impl Figures {
    /// The figures of a debrief.
    #[must_use]
    pub fn of(d: &Debrief) -> Figures {
        Figures {
            score: d.score,
            exact: d.scoring.exact,
            checklist_earned: d.scoring.checklist_earned,
            checklist_possible: d.scoring.checklist_possible,
            worse_than_none: d.scoring.outcome.worse_than_none,
            ended_seconds: d.drill.ended.seconds,
            objectives: d
                .objectives
                .iter()
                .map(|o| ObjectiveFigure {
                    name: o.name.clone(),
                    target_seconds: o.target_seconds,
                    actual_seconds: o.actual_seconds,
                    met: o.met,
                })
                .collect(),
            tasks: d
                .checklists
                .iter()
                .map(|t| TaskFigure {
                    role: t.role.clone(),
                    task: t.id.clone(),
                    status: t.status.clone(),
                    points: t.points,
                    earned: t.earned,
                    done_seconds: t.done.as_ref().map(|m| m.seconds),
                })
                .collect(),
            timings: d
                .timings
                .intervals
                .iter()
                .map(|i| TimingFigure {
                    name: i.name.clone(),
                    seconds: i.seconds,
                    target_seconds: i.target_seconds,
                })
                .collect(),
            harm: HarmFigure {
                arrived: d.impact.arrived,
                failed: d.impact.failed,
                rejected: d.impact.rejected,
                degraded: d.impact.degraded,
                wrong_answers: d.impact.wrong_answers,
                harmed: d.impact.harmed,
                page_breach_minutes: d.impact.page_breach_minutes,
                no_response_harmed: d.counterfactual.no_response.harmed,
            },
        }
    }
}

/// A transcript's text read and replayed to its end; `label` names it in errors.
///
/// # Errors
/// The transcript does not parse or replay.
pub fn replay_text(label: &str, text: &str) -> Result<(Transcript, Session), TranscriptError> {
    let path = Path::new(label);
    let transcript = Transcript::parse(path, text.as_bytes())?;
    let session = transcript.replay(path)?;
    Ok((transcript, session))
}

/// The debrief of a finished session, and its figures.
#[must_use]
pub fn of_session(session: &Session) -> (Debrief, Figures) {
    let d = debrief::debrief(session);
    let f = Figures::of(&d);
    (d, f)
}
