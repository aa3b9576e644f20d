//! What would have happened otherwise: the same drill and seed with no team at all, and with
//! the drill's reference response, compared with the team's run over the same horizon (the
//! team's end). Because every random stream is named and the arrivals do not depend on the
//! team, the differences are the response's doing, not noise.
//!
//! It also tells what one of the team's actions did: the team's run replayed without it
//! ([`harmed_without`]), which is how the debrief knows an action mitigated.
//!
//! This is the one place in scoring that runs simulations.

use std::fmt::Write as _;

use serde::Serialize;

use super::changed;
use super::impact::{self, Outcome, Series, round3};
use crate::drill::Drill;
use crate::session::transcript::Line;
use crate::session::{Session, play};
use crate::sim::attribution::Attribution;
use crate::sim::{RunOptions, Sim, SimTime};
use crate::telemetry::series::Bucket;

/// How many fewer users were harmed (and attempts failed, minutes in breach) in one run than
/// with no response. Negative numbers are harm the response added (throttling rejects
/// requests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Avoided {
    /// Attempts and answers.
    pub failed: i64,
    pub rejected: i64,
    pub degraded: i64,
    pub wrong_answers: i64,
    /// Users whose request ended failed, ended rejected, or was answered degraded or wrong.
    pub users_failed: i64,
    pub users_rejected: i64,
    pub users_poor: i64,
    /// Users harmed ([`Outcome::harmed`]).
    pub harmed: i64,
    pub page_breach_minutes: f64,
}

impl Avoided {
    #[must_use]
    pub fn between(no_response: &Outcome, run: &Outcome) -> Avoided {
        let d = |a: u64, b: u64| i64::try_from(i128::from(a) - i128::from(b)).unwrap_or(0);
        Avoided {
            failed: d(no_response.failed, run.failed),
            rejected: d(no_response.rejected, run.rejected),
            degraded: d(no_response.degraded, run.degraded),
            wrong_answers: d(no_response.wrong_answers, run.wrong_answers),
            users_failed: d(no_response.users_failed, run.users_failed),
            users_rejected: d(no_response.users_rejected, run.users_rejected),
            users_poor: d(no_response.users_poor, run.users_poor),
            harmed: d(no_response.harmed, run.harmed),
            page_breach_minutes: round3(no_response.page_breach_minutes - run.page_breach_minutes),
        }
    }

    /// `harmed 1,290 fewer users (1,234 fewer failed, 56 fewer answered degraded or wrong;
    /// 7,890 more rejected)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let kinds = [
            ("failed", self.users_failed),
            ("rejected", self.users_rejected),
            ("answered degraded or wrong", self.users_poor),
        ];
        let part = |word: &str, sign: i64| {
            kinds
                .iter()
                .filter(|(_, n)| n.signum() == sign)
                .map(|(k, n)| format!("{} {word} {k}", group(n.abs())))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let head = match self.harmed {
            0 => "harmed as many users".to_owned(),
            n if n > 0 => format!("harmed {} fewer users", group(n)),
            n => format!("harmed {} more users", group(-n)),
        };
        let parts: Vec<String> = [part("fewer", 1), part("more", -1)]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            head
        } else {
            format!("{head} ({})", parts.join("; "))
        }
    }
}

/// `1234567` as `1,234,567`.
#[must_use]
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The comparison the debrief reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counterfactual {
    pub horizon_seconds: f64,
    pub no_response: Outcome,
    /// `None` when the drill has no reference response.
    pub reference: Option<Outcome>,
    /// The team's run against no response.
    pub avoided: Avoided,
    /// The reference response against no response.
    pub reference_avoided: Option<Avoided>,
    /// One sentence: what the response avoided, and what the reference would have.
    pub summary: String,
}

/// The counterfactual runs' raw results.
pub struct Runs {
    pub no_response: Outcome,
    pub no_response_buckets: Vec<Bucket>,
    pub reference: Option<Outcome>,
}

/// The drill on `seed` with no team, run to `until`, watching the cause alerts of
/// `attribution` (the drill's on this seed) as a session on that seed does. This is the one
/// no-response run: the debrief's counterfactual, the war room's running comparison and
/// what-if all take it from here.
#[must_use]
pub fn no_response(drill: &Drill, seed: u64, attribution: &Attribution, until: SimTime) -> Sim {
    let mut sim = Sim::new(
        drill,
        &RunOptions {
            seed: Some(seed),
            cause_alerts: Some(attribution.cause_alerts.clone()),
            ..RunOptions::default()
        },
    );
    sim.run_until(until);
    sim
}

/// The no-response run of `session`'s drill on its seed, to the drill's end, bucket by
/// bucket (what the facilitator compares the room's harm with as it plays).
#[must_use]
pub fn no_response_buckets(session: &Session) -> Vec<Bucket> {
    let drill = session.drill();
    let end = session.sim().end();
    let sim = no_response(drill, session.sim().seed(), session.attribution(), end);
    sim.telemetry().buckets().to_vec()
}

/// The users `session`'s run would have harmed up to its present had the team not given its
/// log entry `skip`: the same drill, seed and attribution, every other accepted command at
/// its time (those the system then refuses, such as lifting a throttle never set, are
/// left out).
#[must_use]
pub fn harmed_without(session: &Session, skip: usize) -> u64 {
    let drill = session.drill();
    let horizon = session.now();
    let inputs: Vec<Line> = session
        .team()
        .log
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, e)| Line {
            at_ns: e.at.nanos(),
            role: e.role.clone(),
            input: e.input.clone(),
            ..Line::default()
        })
        .collect();
    let mut without = Session::with_attribution(
        drill.clone(),
        Some(session.sim().seed()),
        session.attribution().clone(),
    );
    let _refused = changed::replay(&mut without, &inputs);
    if without.now() < horizon && without.ended().is_none() {
        without.advance_to(horizon);
    }
    let sim = without.sim();
    impact::outcome(drill, sim.telemetry().buckets(), sim.truth(), horizon).harmed
}

/// Runs `drill` with `seed` to `horizon` with no team, and (if the drill has one) with its
/// reference response; `attribution` is the drill's on this seed, so that both runs watch
/// the same cause alerts as the team's.
#[must_use]
pub fn run(drill: &Drill, seed: u64, horizon: SimTime, attribution: &Attribution) -> Runs {
    let sim = no_response(drill, seed, attribution, horizon);
    let no_response = impact::outcome(drill, sim.telemetry().buckets(), sim.truth(), horizon);
    let reference = (!drill.reference.is_empty()).then(|| {
        let mut session = Session::with_attribution(drill.clone(), Some(seed), attribution.clone());
        // `play` runs to the drill's end; only the buckets up to the horizon are counted.
        play::play(&mut session, &drill.reference, &mut |_, _| {});
        impact::outcome(
            drill,
            session.sim().telemetry().buckets(),
            session.sim().truth(),
            horizon,
        )
    });
    Runs {
        no_response,
        no_response_buckets: sim.telemetry().buckets().to_vec(),
        reference,
    }
}

impl Counterfactual {
    /// Compares the team's outcome with the counterfactual runs.
    #[must_use]
    pub fn compare(team: &Outcome, runs: &Runs) -> Counterfactual {
        let avoided = Avoided::between(&runs.no_response, team);
        let reference_avoided = runs
            .reference
            .as_ref()
            .map(|r| Avoided::between(&runs.no_response, r));
        let horizon = crate::drill::Duration::from_secs_f64(team.horizon_seconds);
        let mut summary = format!(
            "Your response harmed {} users ({} failed or rejected attempts). Against no response over the same {horizon}, it {}",
            group(i64::try_from(team.harmed).unwrap_or(i64::MAX)),
            group(i64::try_from(team.failed_attempts).unwrap_or(i64::MAX)),
            avoided.describe()
        );
        if let Some(r) = &reference_avoided {
            let _ = write!(
                summary,
                "; the reference response would have {}",
                r.describe()
            );
        }
        summary.push('.');
        Counterfactual {
            horizon_seconds: team.horizon_seconds,
            no_response: runs.no_response.clone(),
            reference: runs.reference.clone(),
            avoided,
            reference_avoided,
            summary,
        }
    }
}

/// The no-response run's chart series.
#[must_use]
pub fn no_response_series(drill: &Drill, runs: &Runs, horizon: SimTime) -> Series {
    impact::series(drill, &runs.no_response_buckets, horizon)
}
