//! The same incident on a changed system, one run at a time: the drill (changed or not) on
//! one seed with no team, or with a team's recorded inputs at their simulated times, counted
//! as the debrief counts a run ([`Measures`]). `crate::whatif` runs these over seeds and
//! changes and aggregates them; the debrief's "what if" section runs them once, on the
//! session's seed.

use serde::{Deserialize, Serialize};

use super::impact;
use crate::drill::Drill;
use crate::session::Session;
use crate::session::transcript::Line;
use crate::sim::attribution::{self, Attribution, FiredRun};
use crate::sim::{RunOptions, Sim, SimTime, Summary};

/// What one run did to its users and cost (the figures a what-if compares).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    /// The users harmed, each once by its request's final outcome (the harm the score
    /// counts, [`impact::Outcome::harmed`]); the attempts and answers below beside them.
    pub harmed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    /// A page alert fired.
    pub paged: bool,
    /// When the first page fired, seconds from the drill's start.
    pub first_page_seconds: Option<f64>,
    /// Minutes in which a page alert's condition was breached.
    pub minutes_in_breach: f64,
    /// The 99th percentile of every answered request's latency.
    pub latency_p99_seconds: f64,
    /// Model tokens' cost.
    pub model_dollars: f64,
    /// Connections provisioned × hours (what a bigger pool or an autoscaler costs).
    pub connection_hours: f64,
}

impl Measures {
    /// The users harmed: requests that ended failed or rejected, or were answered degraded
    /// or wrong, each once.
    #[must_use]
    pub fn harm(&self) -> u64 {
        self.harmed
    }

    /// Counts `sim` (run to `end`) as the debrief counts a run.
    #[must_use]
    pub fn of(drill: &Drill, sim: &Sim, end: SimTime) -> Measures {
        let buckets = sim.telemetry().buckets();
        let outcome = impact::outcome(drill, buckets, sim.truth(), end);
        let summary = Summary::of(sim, drill);
        let connection_hours = impact::within(buckets, end)
            .iter()
            .map(|b| b.pools.iter().map(|p| p.size as f64).sum::<f64>() * b.width)
            .sum::<f64>()
            / 3600.0;
        Measures {
            harmed: outcome.harmed,
            failed: outcome.failed,
            rejected: outcome.rejected,
            degraded: outcome.degraded,
            wrong_answers: outcome.wrong_answers,
            paged: sim.truth().first_page.is_some_and(|t| t <= end),
            first_page_seconds: sim
                .truth()
                .first_page
                .filter(|t| *t <= end)
                .map(SimTime::as_secs_f64),
            minutes_in_breach: outcome.page_breach_minutes,
            latency_p99_seconds: impact::round3(summary.requests.latency_seconds.p99),
            model_dollars: (summary.requests.cost_dollars * 100.0).round() / 100.0,
            connection_hours: impact::round3(connection_hours),
        }
    }
}

/// One input of the team's that a changed system refused (an action it no longer has, a
/// value out of its bounds): listed and skipped, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Skipped {
    /// The clock time of the input.
    pub at: String,
    pub role: String,
    pub input: String,
    pub reason: String,
}

/// The clock commands of a transcript: time moves to each input's recorded moment instead.
const CLOCK_COMMANDS: &[&str] = &["wait", "pause", "resume", "speed", "end"];

/// Runs `drill` on `seed` with no team to its end.
#[must_use]
pub fn run_no_team(drill: &Drill, seed: u64) -> Measures {
    run_no_team_attributed(drill, seed).0
}

/// [`run_no_team`], and the fault attribution of `drill` on `seed`, which starts from this
/// very run (a team's session on the same system and seed needs it: [`run_team_with`]).
#[must_use]
pub fn run_no_team_attributed(drill: &Drill, seed: u64) -> (Measures, Attribution) {
    let mut sim = Sim::new(
        drill,
        &RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    );
    let end = sim.end();
    sim.run_until(end);
    let attribution = if drill.faults.is_empty() || drill.alerts.is_empty() {
        attribution::attribute(drill, seed)
    } else {
        attribution::attribute_given(drill, seed, &FiredRun::of(&sim), 1)
    };
    (Measures::of(drill, &sim, end), attribution)
}

/// Runs `drill` on `seed` with the team's `inputs` at their recorded times (clock commands
/// aside), to the drill's end; inputs the drill refuses are returned, not fatal.
#[must_use]
pub fn run_team(drill: &Drill, seed: u64, inputs: &[Line]) -> (Measures, Vec<Skipped>) {
    run_team_with(drill, seed, inputs, attribution::attribute(drill, seed))
}

/// [`run_team`] with the drill's attribution on `seed` already made
/// ([`run_no_team_attributed`]), which saves the run it starts from.
#[must_use]
pub fn run_team_with(
    drill: &Drill,
    seed: u64,
    inputs: &[Line],
    attribution: Attribution,
) -> (Measures, Vec<Skipped>) {
    let mut session = Session::with_attribution(drill.clone(), Some(seed), attribution);
    let skipped = replay(&mut session, inputs);
    let end = session.sim().end();
    if session.now() < end && session.ended().is_none() {
        session.advance_to(end);
    }
    let measures = Measures::of(drill, session.sim(), end);
    (measures, skipped)
}

/// Gives `session` the team's `inputs` at their recorded times (clock commands and injects
/// aside); returns the inputs it refused.
pub fn replay(session: &mut Session, inputs: &[Line]) -> Vec<Skipped> {
    let mut skipped = Vec::new();
    for line in inputs {
        if line.inject_from.is_some() {
            continue;
        }
        let name = line.input.split_whitespace().next().unwrap_or("");
        if CLOCK_COMMANDS.contains(&name) {
            continue;
        }
        if line.at() > session.now() {
            session.advance_to(line.at());
        }
        if session.ended().is_some() {
            break;
        }
        let reason = if session.knows_role(&line.role) {
            session
                .execute_as(&line.role, &line.input)
                .err()
                .map(|e| e.to_string())
        } else {
            Some(session.unknown_role(&line.role))
        };
        if let Some(reason) = reason {
            skipped.push(Skipped {
                at: session.clock_text(line.at()),
                role: line.role.clone(),
                input: line.input.clone(),
                reason,
            });
        }
    }
    skipped
}
