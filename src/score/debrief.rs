//! The debrief: every fact the retrospective needs about one finished session, gathered in
//! one serialisable [`Debrief`] — the drill, the team, the score with its arithmetic, the
//! objectives, timings, checklists, impact, counterfactual, timeline, root cause, questions
//! and chart series. [`crate::report`] renders it as HTML, Markdown or JSON; it decides
//! nothing itself.
//!
//! Scoring formula (stated in every report, [`FORMULA`]): the checklists are worth 50 points,
//! the objectives share 20, and the outcome ([`super::outcome`]: the harm avoided against no
//! response, as a share of what the reference avoided) is worth 30; a part the drill lacks
//! gives its points to the others in proportion. A response that did more harm than no
//! response at all scores 0. The total is rounded to the nearest point.

use serde::Serialize;

use super::changed::{self, Measures, Skipped};
use super::counterfactual::{self, Counterfactual};
use super::impact::{self, Outcome, Series};
use super::outcome::OutcomePart;
use super::timings::{self, Guess, Moment, Timings, duration_text};
use crate::drill::spec::{Drill, Severity};
use crate::session::checklist::{self, Status};
use crate::session::command::Command;
use crate::session::team::Detail;
use crate::session::transcript::Line;
use crate::session::{Session, anchor};
use crate::sim::SimTime;

/// Weight of the checklists when the drill has every part.
pub const CHECKLIST_WEIGHT: f64 = 50.0;
/// Weight of the objectives (shared equally) when the drill has every part.
pub const OBJECTIVES_WEIGHT: f64 = 20.0;
/// Weight of the outcome when the drill has every part.
pub const OUTCOME_WEIGHT: f64 = 30.0;
/// The formula, as the reports print it.
pub const FORMULA: &str = "Checklists are worth 50 points: points earned ÷ points possible × 50 (a task done on time earns its points, done late half of them, rounded down; missed, or done before the system recovered when it is due after recovery, none; the diagnose task then keeps the drill's share of its points, by default half, per wrong guess before the right one, rounded down). The objectives share 20 equally; an objective earns its share only if met. The outcome is worth 30: the harm the response spared against no response at all (harm: the users harmed, each user request once by its final outcome — it ended failed or rejected with no retry to follow, or its answer was degraded or wrong; a client's retries are attempts, not more users), as a share of the harm the reference response spared, from 0 to 1 (without a reference that spares any, as a share of all the harm no response did). A part the drill lacks (no checklists, no objectives, no harm to avoid) gives its points to the others in proportion. A response that did more harm than no response at all scores 0, whatever its checklists and objectives: doing nothing would have served the users better, and no process can make up for that. The total is rounded to the nearest point.";

/// Everything the debrief shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Debrief {
    pub drill: DrillInfo,
    pub seed: u64,
    /// The score out of 100.
    pub score: u32,
    pub scoring: Scoring,
    pub roles: Vec<RoleInfo>,
    pub objectives: Vec<Objective>,
    pub timings: Timings,
    pub checklists: Vec<TaskRow>,
    /// The team's run, up to its end.
    pub impact: Outcome,
    pub counterfactual: Counterfactual,
    pub timeline: Vec<TimelineEntry>,
    pub root_cause: Option<RootCause>,
    /// The drill's faults: causes and distractions, and the alerts each caused.
    pub faults: Vec<FaultRow>,
    /// No page alert was attributed to a cause on this seed, so every page alert counted for
    /// the timings and `Recovered`.
    pub attribution_fallback: bool,
    pub questions: Vec<String>,
    pub charts: Charts,
    /// The drill's own what-if changes, tried on this very incident (left out when it has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub whatif: Vec<WhatIfRow>,
}

/// One of the drill's what-if changes on the session's seed: the base system and the changed
/// one, each with no one responding and with the team's own inputs, to the drill's end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfRow {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub kind: String,
    pub base_no_team: Measures,
    pub no_team: Measures,
    pub base_team: Measures,
    pub team: Measures,
    /// The team's inputs the changed system refused (skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// The drill's what-if changes tried on `session`'s incident.
fn whatif_rows(session: &Session) -> Vec<WhatIfRow> {
    let drill = session.drill();
    if drill.whatif.is_empty() {
        return Vec::new();
    }
    let seed = session.sim().seed();
    let inputs: Vec<Line> = session
        .team()
        .log
        .iter()
        .map(|e| Line {
            at_ns: e.at.nanos(),
            role: e.role.clone(),
            input: e.input.clone(),
            person: None,
            inject_from: None,
        })
        .collect();
    let mut base = drill.clone();
    base.whatif.clear();
    let base_no_team = changed::run_no_team(&base, seed);
    let (base_team, _) = changed::run_team(&base, seed, &inputs);
    drill
        .whatif
        .iter()
        .filter_map(|change| {
            let changed_drill = crate::drill::change::apply(&base, &[change]).ok()?;
            let (team, skipped) = changed::run_team(&changed_drill, seed, &inputs);
            Some(WhatIfRow {
                title: change.title.clone(),
                owner: change.owner.clone(),
                kind: change.kind().as_str().to_owned(),
                base_no_team: base_no_team.clone(),
                no_team: changed::run_no_team(&changed_drill, seed),
                base_team: base_team.clone(),
                team,
                skipped,
            })
        })
        .collect()
}

/// A fault of the drill, as the debrief tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRow {
    pub name: String,
    /// A cause of the incident, or a distraction (`cause: false`).
    pub cause: bool,
    pub started: Option<Moment>,
    /// The alerts attributed to it: they fired with it, and not without it, with no team.
    pub alerts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillInfo {
    pub name: String,
    pub title: String,
    pub briefing: String,
    /// `08:45`, if the drill sets a clock.
    pub clock_start: Option<String>,
    pub duration: String,
    /// Where the session stands (its end): seconds and clock.
    pub ended: Moment,
    /// `the team ended it`, `it ran its course`, or `in progress`.
    pub ended_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleInfo {
    pub id: String,
    pub title: String,
    /// Who held the role (`assign ROLE NAME`), if anyone was assigned.
    pub person: Option<String>,
    /// Commands typed in this role (looking included).
    pub commands: usize,
    pub earned: i64,
    pub possible: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objective {
    /// `detect` or `mitigate`.
    pub name: String,
    /// What is measured: `fault start → first acknowledgement`.
    pub measures: String,
    pub target_seconds: f64,
    pub target_text: String,
    pub actual_seconds: Option<f64>,
    pub actual_text: String,
    /// The fastest the alerting allowed (for `detect`).
    pub best_seconds: Option<f64>,
    pub met: bool,
    /// Why it is (not) met, in a few words.
    pub verdict: String,
    pub weight: f64,
    pub earned: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scoring {
    pub checklist_earned: i64,
    pub checklist_possible: i64,
    pub checklist_weight: f64,
    pub checklist_points: f64,
    pub objective_weight: f64,
    pub objectives_met: usize,
    pub objectives_points: f64,
    pub outcome_weight: f64,
    pub outcome_points: f64,
    /// The harm avoided against no response, measured against the reference.
    pub outcome: OutcomePart,
    /// The unrounded total.
    pub exact: f64,
    /// `checklists 50/65 × 50 = 38.5; detect met +10.0; mitigate missed +0.0; outcome avoided
    /// 37,249 of the 110,845 users harmed the reference avoided (share 0.336) × 30 = 10.1;
    /// total 58.6 → 59`.
    pub arithmetic: String,
    pub formula: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRow {
    pub role: String,
    pub role_title: String,
    pub id: String,
    pub text: String,
    /// `5m after the first page`.
    pub due_text: String,
    pub due: Option<Moment>,
    /// `on_time`, `late` or `missed`.
    pub status: String,
    pub done: Option<Moment>,
    pub by: Option<String>,
    pub late_seconds: Option<f64>,
    pub late_text: Option<String>,
    pub points: i64,
    pub earned: i64,
    /// For the diagnose task: wrong diagnoses before the right one.
    pub wrong_guesses: u32,
    /// What they cost: `after 2 wrong guesses: 15 → 3 (× 0.5 each)`.
    pub guess_cost: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: Moment,
    /// `fault`, `alert`, `inject`, `system`, `team` or `look` (a team command that only looked).
    pub kind: String,
    /// The role for team commands, the sender for injects, `system` otherwise.
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCause {
    pub id: String,
    pub explanation: String,
    pub diagnosed: Option<Moment>,
    pub diagnosed_by: Option<String>,
    pub wrong_guesses: Vec<Guess>,
    /// The share of the diagnose task's points kept per wrong guess before the right one.
    pub kept_per_wrong_guess: f64,
}

/// A vertical marker on every chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    pub seconds: f64,
    /// `alert`, `inject`, `team`, `action` (an ordered action landing) or `recovered`.
    pub kind: String,
    pub label: String,
}

/// A shaded span on every chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    pub from_seconds: f64,
    pub to_seconds: f64,
    pub label: String,
    /// A cause's span, or a distraction's (`cause: false`), shaded apart (the JSON debrief's
    /// `faults` say which).
    #[serde(skip)]
    pub cause: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charts {
    pub horizon_seconds: f64,
    pub bucket_seconds: f64,
    pub clock_start_seconds: Option<u32>,
    pub team: Series,
    pub no_response: Series,
    pub faults: Vec<Span>,
    pub markers: Vec<Marker>,
    /// Each alert's threshold on what the team could see, for the chart of its metric (the
    /// page draws it; the JSON debrief leaves it out).
    #[serde(skip)]
    pub thresholds: Vec<Threshold>,
    /// The drill's own dashboard panels over the run (the page charts them, the Markdown
    /// lists them; the JSON debrief leaves them out).
    #[serde(skip)]
    pub panels: Vec<crate::score::panels::PanelSeries>,
}

/// An alert's line on a chart: it fires above (or below) `value` of `metric`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub alert: String,
    pub metric: crate::drill::spec::Metric,
    pub value: f64,
}

/// Builds the debrief of `session` (a replayed transcript at its end). Runs the two
/// counterfactual simulations.
#[must_use]
pub fn debrief(session: &Session) -> Debrief {
    let drill = session.drill();
    let sim = session.sim();
    let team = session.team();
    let horizon = session.now();
    let clock = drill.clock_start;
    let m = |t: SimTime| Moment::new(clock, t);

    let impact = impact::outcome(drill, sim.telemetry().buckets(), sim.truth(), horizon);
    let timings = timings::timings(session, impact.harmed);
    let checklists = task_rows(session);
    let runs = counterfactual::run(drill, sim.seed(), horizon, session.attribution());
    let counterfactual = Counterfactual::compare(&impact, &runs);
    let mut objectives = objectives(session, &timings);
    let outcome = OutcomePart::measure(&impact, &runs.no_response, runs.reference.as_ref());
    let scoring = scoring(&checklists, &objectives, outcome);
    for o in &mut objectives {
        o.weight = scoring.objective_weight;
        o.earned = if o.met && !scoring.outcome.worse_than_none {
            o.weight
        } else {
            0.0
        };
        if o.met && scoring.outcome.worse_than_none {
            o.verdict.push_str(
                "; zeroed by the outcome floor: the response did more harm than no response at all",
            );
        }
    }

    let assigned = team.assignments();
    let roles = drill
        .roles
        .iter()
        .map(|r| RoleInfo {
            id: r.id.clone(),
            title: r.title.clone(),
            person: assigned
                .iter()
                .find(|(id, _)| id == &r.id)
                .map(|(_, p)| p.clone()),
            commands: team.log.iter().filter(|e| e.role == r.id).count(),
            earned: checklists
                .iter()
                .filter(|t| t.role == r.id)
                .map(|t| t.earned)
                .sum(),
            possible: checklists
                .iter()
                .filter(|t| t.role == r.id)
                .map(|t| t.points)
                .sum(),
        })
        .collect();

    let root_cause = drill.root_cause.as_ref().map(|rc| RootCause {
        id: rc.id.clone(),
        explanation: rc.explanation.clone(),
        diagnosed: team.diagnosed().map(|e| m(e.at)),
        diagnosed_by: team.diagnosed().map(|e| e.role.clone()),
        wrong_guesses: timings.wrong_diagnoses.clone(),
        kept_per_wrong_guess: rc.kept_per_wrong_guess,
    });

    let ended_by = match session.ended() {
        Some(_) if team.first("end").is_some_and(|e| e.at < sim.end()) => "the team ended it",
        Some(_) => "it ran its course",
        None => "in progress",
    };

    let charts = Charts {
        horizon_seconds: horizon.as_secs_f64(),
        bucket_seconds: sim.telemetry().bucket_width.as_secs_f64(),
        clock_start_seconds: clock.map(crate::drill::ClockTime::seconds_since_midnight),
        team: impact::series(drill, sim.telemetry().buckets(), horizon),
        no_response: counterfactual::no_response_series(drill, &runs, horizon),
        faults: fault_spans(session, horizon),
        markers: markers(session, horizon),
        thresholds: drill
            .alerts
            .iter()
            .filter(|a| !a.when.metric().is_ground_truth())
            .map(|a| Threshold {
                alert: a.name.clone(),
                metric: a.when.metric().clone(),
                value: match a.when {
                    crate::drill::spec::Condition::Above { threshold, .. }
                    | crate::drill::spec::Condition::Below { threshold, .. } => threshold,
                },
            })
            .collect(),
        panels: crate::score::panels::panels(
            drill,
            sim.telemetry().buckets(),
            sim.pool_names(),
            sim.step_names(),
            horizon,
        ),
    };

    Debrief {
        drill: DrillInfo {
            name: drill.name.clone(),
            title: drill.title.clone(),
            briefing: drill.briefing.clone(),
            clock_start: clock.map(|c| c.to_string()),
            duration: drill.duration.to_string(),
            ended: m(horizon),
            ended_by: ended_by.to_owned(),
        },
        seed: sim.seed(),
        score: scoring.exact.round() as u32,
        scoring,
        roles,
        objectives,
        timings,
        checklists,
        impact,
        counterfactual,
        timeline: timeline(session, horizon),
        root_cause,
        faults: fault_rows(session),
        attribution_fallback: session.attribution().fallback && !drill.faults.is_empty(),
        questions: drill.debrief.clone(),
        charts,
        whatif: whatif_rows(session),
    }
}

fn fault_rows(session: &Session) -> Vec<FaultRow> {
    let drill = session.drill();
    let truth = session.sim().truth();
    let attribution = session.attribution();
    drill
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| FaultRow {
            name: f.name.clone(),
            cause: f.cause,
            started: truth
                .fault_started
                .get(i)
                .copied()
                .flatten()
                .map(|t| Moment::new(drill.clock_start, t)),
            alerts: attribution
                .alerts_of(i)
                .iter()
                .filter_map(|a| drill.alerts.get(*a).map(|x| x.name.clone()))
                .collect(),
        })
        .collect()
}

fn task_rows(session: &Session) -> Vec<TaskRow> {
    let drill = session.drill();
    let m = |t: SimTime| Moment::new(drill.clock_start, t);
    checklist::evaluate_all(
        drill,
        session.sim().truth(),
        session.team(),
        session.now(),
        true,
    )
    .into_iter()
    .map(|r| {
        let (status, done, by, late) = match r.status {
            Status::OnTime { at, by } => ("on_time", Some(at), Some(by), None),
            Status::Late {
                at,
                by,
                late_seconds,
            } => ("late", Some(at), Some(by), Some(late_seconds)),
            Status::Premature { at, by } => ("premature", Some(at), Some(by), None),
            Status::Missed | Status::Overdue | Status::Open => ("missed", None, None, None),
        };
        let guess_cost = (r.wrong_guesses > 0).then(|| {
            let before = if late.is_some() {
                r.points / 2
            } else {
                r.points
            };
            let kept = drill
                .root_cause
                .as_ref()
                .map_or(1.0, |rc| rc.kept_per_wrong_guess);
            format!(
                "after {} wrong {}: {before} → {} (× {kept} each)",
                r.wrong_guesses,
                if r.wrong_guesses == 1 {
                    "guess"
                } else {
                    "guesses"
                },
                r.earned
            )
        });
        TaskRow {
            role_title: drill
                .roles
                .iter()
                .find(|x| x.id == r.role)
                .map(|x| x.title.clone())
                .unwrap_or_default(),
            role: r.role,
            id: r.id,
            text: r.text,
            due_text: r.due_text,
            due: r.due.map(m),
            status: status.to_owned(),
            done: done.map(m),
            by,
            late_seconds: late,
            late_text: late.map(duration_text),
            points: r.points,
            earned: r.earned,
            wrong_guesses: r.wrong_guesses,
            guess_cost,
        }
    })
    .collect()
}

fn objectives(session: &Session, timings: &Timings) -> Vec<Objective> {
    let Some(o) = &session.drill().objectives else {
        return Vec::new();
    };
    let interval = |name: &str| timings.intervals.iter().find(|i| i.name == name);
    let mut out = Vec::new();
    let mut push = |name: &str,
                    measures: &str,
                    target: crate::drill::Duration,
                    actual: Option<f64>,
                    best: Option<f64>,
                    extra: Option<&str>| {
        let t = target.as_secs_f64();
        let within = actual.is_some_and(|a| a <= t);
        let met = within && extra.is_none();
        let verdict = match (actual, extra) {
            (None, _) => "never happened".to_owned(),
            (Some(_), Some(why)) if within => why.to_owned(),
            (Some(a), _) if a <= t => format!("{} under the target", duration_text(t - a)),
            (Some(a), _) => format!("{} over the target", duration_text(a - t)),
        };
        out.push(Objective {
            name: name.to_owned(),
            measures: measures.to_owned(),
            target_seconds: t,
            target_text: target.to_string(),
            actual_seconds: actual,
            actual_text: actual.map_or_else(|| "—".to_owned(), duration_text),
            best_seconds: best,
            met,
            verdict,
            weight: 0.0,
            earned: 0.0,
        });
    };
    if let Some(target) = o.detect_within {
        let i = interval("detect");
        push(
            "detect",
            "fault start → first acknowledgement",
            target,
            i.and_then(|i| i.seconds),
            i.and_then(|i| i.best_seconds),
            None,
        );
    }
    if let Some(target) = o.mitigate_within {
        // Recovery counts as the team's mitigation only if the team ordered an action before it.
        let acted = match (&timings.first_mitigation, &timings.mitigated) {
            (Some(a), Some(r)) => a.seconds <= r.seconds,
            _ => false,
        };
        let extra = (!acted).then_some("recovered without a mitigation from the team");
        push(
            "mitigate",
            "fault start → recovered",
            target,
            interval("mitigate").and_then(|i| i.seconds),
            None,
            extra,
        );
    }
    out
}

/// The score of `session` (at its end) alone, without the rest of the debrief: `no_response`
/// and `reference` are the counterfactual runs' outcomes over the session's horizon. Used by
/// `calibrate` for scripted responses, whose counterfactual runs it already has.
#[must_use]
pub fn score_of(session: &Session, no_response: &Outcome, reference: Option<&Outcome>) -> Scoring {
    let drill = session.drill();
    let sim = session.sim();
    let team = impact::outcome(drill, sim.telemetry().buckets(), sim.truth(), session.now());
    let timings = timings::timings(session, team.harmed);
    let objectives = objectives(session, &timings);
    let outcome = OutcomePart::measure(&team, no_response, reference);
    scoring(&task_rows(session), &objectives, outcome)
}

/// The weights of the checklists, each objective and the outcome: [`CHECKLIST_WEIGHT`],
/// [`OBJECTIVES_WEIGHT`] and [`OUTCOME_WEIGHT`], those of the parts a drill lacks given to the
/// others in proportion, so that they always add up to 100 (or 0 when nothing can be scored).
fn weights(checklists: bool, objectives: usize, outcome: bool) -> (f64, f64, f64) {
    let c = if checklists { CHECKLIST_WEIGHT } else { 0.0 };
    let o = if objectives > 0 {
        OBJECTIVES_WEIGHT
    } else {
        0.0
    };
    let r = if outcome { OUTCOME_WEIGHT } else { 0.0 };
    let total = c + o + r;
    if total <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let scale = 100.0 / total;
    let each = if objectives > 0 {
        o * scale / objectives as f64
    } else {
        0.0
    };
    (c * scale, each, r * scale)
}

fn scoring(tasks: &[TaskRow], objectives: &[Objective], outcome: OutcomePart) -> Scoring {
    let earned: i64 = tasks.iter().map(|t| t.earned).sum();
    let possible: i64 = tasks.iter().map(|t| t.points).sum();
    let (checklist_weight, objective_weight, outcome_weight) =
        weights(possible > 0, objectives.len(), outcome.weighs());
    let checklist_points = if possible > 0 {
        earned as f64 / possible as f64 * checklist_weight
    } else {
        0.0
    };
    let worse = outcome.worse_than_none;
    let met = objectives.iter().filter(|o| o.met).count();
    // A response worse than none loses the objectives' points (it may have "recovered" by
    // turning users away).
    let objectives_points = if worse {
        0.0
    } else {
        met as f64 * objective_weight
    };
    let outcome_points = outcome.exact_share() * outcome_weight;
    let exact = if worse {
        0.0
    } else {
        checklist_points + objectives_points + outcome_points
    };
    if worse {
        let arithmetic = floor_sentence(tasks, objectives, &outcome);
        return Scoring {
            checklist_earned: earned,
            checklist_possible: possible,
            checklist_weight: impact::round3(checklist_weight),
            checklist_points: impact::round3(checklist_points),
            objective_weight: impact::round3(objective_weight),
            objectives_met: met,
            objectives_points: 0.0,
            outcome_weight: impact::round3(outcome_weight),
            outcome_points: impact::round3(outcome_points),
            outcome,
            exact: 0.0,
            arithmetic,
            formula: FORMULA.to_owned(),
        };
    }
    let mut parts = Vec::new();
    if possible > 0 {
        parts.push(format!(
            "checklists {earned}/{possible} × {checklist_weight:.0} = {checklist_points:.1}"
        ));
    }
    for o in objectives {
        let verdict = if o.met { "met" } else { "missed" };
        parts.push(format!(
            "{} {verdict} +{:.1}",
            o.name,
            if o.met { objective_weight } else { 0.0 }
        ));
    }
    if outcome.weighs() {
        parts.push(outcome.arithmetic(outcome_weight, outcome_points));
    }
    let arithmetic = format!("{}; total {exact:.1} → {}", parts.join("; "), exact.round());
    Scoring {
        checklist_earned: earned,
        checklist_possible: possible,
        checklist_weight: impact::round3(checklist_weight),
        checklist_points: impact::round3(checklist_points),
        objective_weight: impact::round3(objective_weight),
        objectives_met: met,
        objectives_points: impact::round3(objectives_points),
        outcome_weight: impact::round3(outcome_weight),
        outcome_points: impact::round3(outcome_points),
        outcome,
        exact: impact::round3(exact),
        arithmetic,
        formula: FORMULA.to_owned(),
    }
}

/// The arithmetic of a response that did more harm than no response: said plainly, with no
/// sums that the floor throws away ("detect met +0.0").
fn floor_sentence(tasks: &[TaskRow], objectives: &[Objective], outcome: &OutcomePart) -> String {
    let earned: i64 = tasks.iter().map(|t| t.earned).sum();
    let possible: i64 = tasks.iter().map(|t| t.points).sum();
    let mut zeroed = Vec::new();
    if possible > 0 {
        zeroed.push(format!(
            "the checklists ({earned} of {possible} points done)"
        ));
    }
    if !objectives.is_empty() {
        let each: Vec<String> = objectives
            .iter()
            .map(|o| format!("{} {}", o.name, if o.met { "met" } else { "missed" }))
            .collect();
        zeroed.push(format!("the objectives ({})", each.join(", ")));
    }
    let zeroed = if zeroed.is_empty() {
        String::new()
    } else {
        format!(", so {} earn nothing", zeroed.join(" and "))
    };
    format!(
        "the outcome floor zeroed the score: the response did more harm than no response at all ({} users harmed — requests that failed, were rejected, or were answered degraded or wrong — against {}, {} more){zeroed}; total 0",
        counterfactual::group(i64::try_from(outcome.harm).unwrap_or(i64::MAX)),
        counterfactual::group(i64::try_from(outcome.no_response_harm).unwrap_or(i64::MAX)),
        counterfactual::group(-outcome.avoided)
    )
}

fn fault_spans(session: &Session, horizon: SimTime) -> Vec<Span> {
    let truth = session.sim().truth();
    session
        .drill()
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let start = truth.fault_started.get(i).copied().flatten()?;
            let end = truth
                .fault_ended
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(horizon)
                .min(horizon);
            Some(Span {
                from_seconds: start.as_secs_f64(),
                to_seconds: end.as_secs_f64(),
                label: format!("fault {}", f.name),
                cause: f.cause,
            })
        })
        .collect()
}

fn is_clock(command: &Command) -> bool {
    matches!(
        command,
        Command::Wait(_)
            | Command::WaitUntilPage
            | Command::Pause
            | Command::Resume
            | Command::Speed(_)
            | Command::End
    )
}

/// Injects with the time they were delivered (resolved against the finished run): the
/// drill's, then those a facilitator pushed during play (`CEO (to ic)` when addressed to one
/// role).
fn injects(session: &Session, horizon: SimTime) -> Vec<(SimTime, String, &str)> {
    let drill = session.drill();
    let mut out: Vec<(SimTime, String, &str)> = drill
        .injects
        .iter()
        .filter_map(|i| {
            let at = anchor::resolve(&i.at, drill, session.sim().truth(), session.team())?;
            (at <= horizon).then_some((at, i.from.clone(), i.message.as_str()))
        })
        .collect();
    for i in session.adhoc_injects().iter().filter(|i| i.at <= horizon) {
        let from = match &i.to {
            Some(role) => format!("{} (to {role})", i.from),
            None => i.from.clone(),
        };
        out.push((i.at, from, i.message.as_str()));
    }
    out
}

fn markers(session: &Session, horizon: SimTime) -> Vec<Marker> {
    let mut out = Vec::new();
    let secs = SimTime::as_secs_f64;
    for (rule, state) in session.sim().alert_states() {
        for at in state.fired_at.iter().filter(|t| **t <= horizon) {
            out.push(Marker {
                seconds: secs(*at),
                kind: "alert".into(),
                label: format!(
                    "{} fires ({})",
                    rule.name,
                    impact::severity_text(rule.severity)
                ),
            });
        }
    }
    for (at, from, _) in injects(session, horizon) {
        out.push(Marker {
            seconds: secs(at),
            kind: "inject".into(),
            label: format!("inject from {from}"),
        });
    }
    for e in session
        .team()
        .acts()
        .filter(|e| !is_clock(&e.command))
        .take(MAX_TEAM_MARKERS)
    {
        out.push(Marker {
            seconds: secs(e.at),
            kind: "team".into(),
            label: format!("{}: {}", e.role, clipped(&e.input)),
        });
        if let Detail::Ordered { lands } = e.detail
            && lands <= horizon
        {
            out.push(Marker {
                seconds: secs(lands),
                kind: "action".into(),
                label: format!("{} takes effect", clipped(&e.input)),
            });
        }
    }
    if let Some(r) = session.sim().truth().recovered.filter(|t| *t <= horizon) {
        out.push(Marker {
            seconds: secs(r),
            kind: "recovered".into(),
            label: "recovered".into(),
        });
    }
    out.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    out
}

fn timeline(session: &Session, horizon: SimTime) -> Vec<TimelineEntry> {
    let drill: &Drill = session.drill();
    let truth = session.sim().truth();
    let m = |t: SimTime| Moment::new(drill.clock_start, t);
    // (time, rank, entry): system facts before the team's commands at the same instant.
    let mut rows: Vec<(SimTime, u8, TimelineEntry)> = Vec::new();
    let mut push = |at: SimTime, rank: u8, kind: &str, who: &str, text: String| {
        if at <= horizon {
            rows.push((
                at,
                rank,
                TimelineEntry {
                    at: m(at),
                    kind: kind.to_owned(),
                    who: who.to_owned(),
                    text,
                },
            ));
        }
    };
    for (i, f) in drill.faults.iter().enumerate() {
        if let Some(t) = truth.fault_started.get(i).copied().flatten() {
            push(t, 0, "fault", "system", format!("fault {} begins", f.name));
        }
        if let Some(t) = truth.fault_ended.get(i).copied().flatten() {
            push(t, 0, "fault", "system", format!("fault {} ends", f.name));
        }
    }
    for (rule, state) in session.sim().alert_states() {
        let sev = impact::severity_text(rule.severity);
        for t in &state.pending_at {
            push(
                *t,
                1,
                "alert",
                "system",
                format!("{} pending ({sev})", rule.name),
            );
        }
        for t in &state.fired_at {
            let tag = if rule.severity == Severity::Page {
                "PAGE"
            } else {
                "ticket"
            };
            push(
                *t,
                1,
                "alert",
                "system",
                format!("{} FIRING [{tag}]", rule.name),
            );
        }
        for t in &state.resolved_at {
            push(*t, 1, "alert", "system", format!("{} resolved", rule.name));
        }
    }
    if let Some(t) = truth.recovered {
        push(
            t,
            2,
            "system",
            "system",
            format!(
                "recovered: no page of the cause pending or firing for 5 minutes, and the team's throttles rejecting under {}% of arrivals",
                impact::round3(session.drill().shed_tolerance * 100.0)
            ),
        );
    }
    for (at, from, message) in injects(session, horizon) {
        push(at, 2, "inject", &from, message.to_owned());
    }
    for e in &session.team().log {
        if is_clock(&e.command) {
            continue;
        }
        let kind = if e.command.is_look() { "look" } else { "team" };
        let mut text = clipped(&e.input);
        match &e.detail {
            Detail::Diagnosis { correct: false } => text.push_str(" (wrong)"),
            Detail::Diagnosis { correct: true } => text.push_str(" (correct)"),
            _ => {}
        }
        push(e.at, 3, kind, &e.role, text);
        if let Detail::Ordered { lands } = e.detail {
            push(
                lands,
                2,
                "system",
                "system",
                format!("{} takes effect", clipped(&e.input)),
            );
        }
    }
    rows.sort_by_key(|(t, rank, _)| (*t, *rank));
    let more = rows.len().saturating_sub(MAX_TIMELINE);
    let mut out: Vec<TimelineEntry> = rows
        .into_iter()
        .take(MAX_TIMELINE)
        .map(|(_, _, e)| e)
        .collect();
    if more > 0
        && let Some(last) = out.last()
    {
        let at = last.at.clone();
        out.push(TimelineEntry {
            at,
            kind: "system".to_owned(),
            who: "system".to_owned(),
            text: format!("{more} more entries not listed (the transcript holds every command)"),
        });
    }
    out
}

/// The most entries the timeline lists (a long session's debrief stays a readable page).
pub const MAX_TIMELINE: usize = 2000;
/// The most team markers the charts draw.
pub const MAX_TEAM_MARKERS: usize = 400;
/// The most characters of one typed line a timeline entry or marker shows.
pub const MAX_SHOWN_INPUT: usize = 300;

/// `text` cut to [`MAX_SHOWN_INPUT`] characters, marked with `…` when cut.
fn clipped(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_INPUT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}
