//! Each role's checklist, evaluated against a run: which tasks are done (on time or late, by
//! whom), which are missed, which are still open. Deadlines are anchors resolved against
//! what actually happened in this run. A task done by looking (`Command("dash")`) counts only
//! the looks made once its deadline's event has happened.
//!
//! Points: a task done by its deadline earns its points; done late, half (rounded down);
//! missed, none. A `Diagnosis` task then keeps the drill's `kept_per_wrong_guess` share
//! (default half) per wrong diagnosis before the right one, rounded down.

use serde::Serialize;

use crate::drill::spec::{Anchor, Done, Drill, Event, Task};
use crate::drill::validate::LOOK_COMMANDS;
use crate::session::anchor;
use crate::session::command::Command;
use crate::session::team::{Detail, Entry, Team};
use crate::sim::SimTime;
use crate::sim::world::Truth;

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Done by the deadline (or with no deadline to miss).
    OnTime { at: SimTime, by: String },
    /// Done after the deadline, by this many seconds.
    Late {
        at: SimTime,
        by: String,
        late_seconds: f64,
    },
    /// Done before the system recovered, for a task due after recovery ("resolve once the
    /// system is healthy"): declaring victory over a system that is still failing earns nothing.
    Premature { at: SimTime, by: String },
    /// The drill ended without it.
    Missed,
    /// Not done, and its deadline has passed; it can still be done, late.
    Overdue,
    /// Not done, and the deadline has not passed yet.
    Open,
}

impl Status {
    /// The status with its `by` as the checklists say it ([`done_by`]): `ops for comms`.
    #[must_use]
    pub fn by_role(self, role: &str) -> Status {
        match self {
            Status::OnTime { at, by } => Status::OnTime {
                at,
                by: done_by(&by, role),
            },
            Status::Late {
                at,
                by,
                late_seconds,
            } => Status::Late {
                at,
                by: done_by(&by, role),
                late_seconds,
            },
            Status::Premature { at, by } => Status::Premature {
                at,
                by: done_by(&by, role),
            },
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskResult {
    pub role: String,
    pub id: String,
    pub text: String,
    /// The deadline in this run, if its anchor resolved.
    pub due: Option<SimTime>,
    pub due_text: String,
    #[serde(flatten)]
    pub status: Status,
    pub points: i64,
    pub earned: i64,
    /// For a `Diagnosis` task done: the wrong diagnoses before the right one.
    pub wrong_guesses: u32,
}

/// Who did a task, as the checklists say it: `ops`, or `ops for comms` when someone other than
/// the role it is on did it. The task is credited to its own role either way.
#[must_use]
pub fn done_by(by: &str, role: &str) -> String {
    if by == role {
        by.to_owned()
    } else {
        format!("{by} for {role}")
    }
}

/// The entry that completes `done`, if any has yet (the n-th one for `Count`). Looks count only
/// at or after `looks_since` (none while its event has not happened); other commands always.
#[must_use]
pub fn completion<'a>(
    done: &Done,
    team: &'a Team,
    looks_since: Option<SimTime>,
) -> Option<&'a Entry> {
    let mut entries = team.log.iter();
    match done {
        Done::Count(inner, n) => {
            let n = (*n).max(1) as usize;
            entries
                .filter(|e| matches(inner, e, looks_since))
                .nth(n - 1)
        }
        other => entries.find(|e| matches(other, e, looks_since)),
    }
}

/// Whether `done` can be completed by looking (`Command("dash")`, or a count or choice of looks).
fn by_looking(done: &Done) -> bool {
    match done {
        Done::Command(name) => LOOK_COMMANDS.contains(&name.as_str()),
        Done::Count(inner, _) => by_looking(inner),
        Done::AnyOf(all) => all.iter().any(by_looking),
        Done::AnyAction | Done::Diagnosis => false,
    }
}

/// From when a look can complete `task`: the start, or for a task done by looking, once its
/// deadline's event has happened (`None` while it has not): the team glances at the dashboard
/// all the time, and "verify recovery on the dashboard" means a look after recovery.
fn looks_since(task: &Task, drill: &Drill, truth: &Truth, team: &Team) -> Option<SimTime> {
    if !by_looking(&task.done_by) {
        return Some(SimTime::ZERO);
    }
    match &task.due {
        Anchor::After(event, _) => anchor::event_time(event, drill, truth, team),
        Anchor::At(_) => Some(SimTime::ZERO),
    }
}

fn matches(done: &Done, entry: &Entry, looks_since: Option<SimTime>) -> bool {
    match done {
        Done::Command(text) if LOOK_COMMANDS.contains(&text.as_str()) => {
            entry.command.name() == text && looks_since.is_some_and(|t| entry.at >= t)
        }
        Done::Command(text) => match crate::drill::done_command(text) {
            Ok(("declare", Some(severity))) => entry.command == Command::Declare(severity),
            Ok((name, None)) => entry.command.name() == name,
            _ => false,
        },
        Done::AnyOf(all) => all.iter().any(|d| matches(d, entry, looks_since)),
        Done::AnyAction => matches!(entry.command, Command::Action { .. }),
        Done::Diagnosis => entry.detail == Detail::Diagnosis { correct: true },
        Done::Count(inner, _) => matches(inner, entry, looks_since),
    }
}

/// Evaluates one task at `now`; `finished` means the drill is over, so open tasks are missed.
#[must_use]
pub fn evaluate(
    role: &str,
    task: &Task,
    drill: &Drill,
    truth: &Truth,
    team: &Team,
    now: SimTime,
    finished: bool,
) -> TaskResult {
    let due = anchor::resolve(&task.due, drill, truth, team);
    let after_recovery = matches!(task.due, Anchor::After(Event::Recovered, _));
    let done = completion(&task.done_by, team, looks_since(task, drill, truth, team));
    let status = match (done, due) {
        (Some(e), _) if after_recovery && truth.recovered.is_none_or(|r| e.at < r) => {
            Status::Premature {
                at: e.at,
                by: e.role.clone(),
            }
        }
        (Some(e), Some(due)) if e.at > due => Status::Late {
            at: e.at,
            by: e.role.clone(),
            late_seconds: e.at.since(due).as_secs_f64(),
        },
        (Some(e), _) => Status::OnTime {
            at: e.at,
            by: e.role.clone(),
        },
        (None, _) if finished => Status::Missed,
        (None, Some(due)) if due < now => Status::Overdue,
        (None, _) => Status::Open,
    };
    let earned = match status {
        Status::OnTime { .. } => task.points,
        Status::Late { .. } => task.points / 2,
        Status::Premature { .. } | Status::Missed | Status::Overdue | Status::Open => 0,
    };
    let wrong_guesses = match (&task.done_by, done) {
        (Done::Diagnosis, Some(done)) => wrong_guesses_before(team, done),
        _ => 0,
    };
    let kept = drill
        .root_cause
        .as_ref()
        .map_or(1.0, |rc| rc.kept_per_wrong_guess);
    let earned = after_wrong_guesses(earned, kept, wrong_guesses);
    TaskResult {
        role: role.to_owned(),
        id: task.id.clone(),
        text: task.text.clone(),
        due,
        due_text: anchor::describe(&task.due),
        status,
        points: task.points,
        earned,
        wrong_guesses,
    }
}

/// The wrong diagnoses in `team`'s log before `done`.
fn wrong_guesses_before(team: &Team, done: &Entry) -> u32 {
    let n = team
        .log
        .iter()
        .take_while(|e| !std::ptr::eq(*e, done))
        .filter(|e| e.detail == Detail::Diagnosis { correct: false })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `points` after `wrong` wrong guesses that each keep `kept` of them: rounded down, never
/// below zero.
#[must_use]
pub fn after_wrong_guesses(points: i64, kept: f64, wrong: u32) -> i64 {
    if wrong == 0 || points <= 0 {
        return points;
    }
    let kept = kept
        .clamp(0.0, 1.0)
        .powi(i32::try_from(wrong).unwrap_or(i32::MAX));
    // The tolerance keeps 10 × 0.7 at 7 despite binary fractions.
    ((points as f64 * kept + 1e-9).floor() as i64).clamp(0, points)
}

/// Every role's tasks, in drill order.
#[must_use]
pub fn evaluate_all(
    drill: &Drill,
    truth: &Truth,
    team: &Team,
    now: SimTime,
    finished: bool,
) -> Vec<TaskResult> {
    drill
        .roles
        .iter()
        .flat_map(|r| r.checklist.iter().map(move |t| (r, t)))
        .map(|(r, t)| evaluate(&r.id, t, drill, truth, team, now, finished))
        .collect()
}
