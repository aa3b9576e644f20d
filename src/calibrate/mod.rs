//! Calibration: does a drill work across seeds, not just the seed its author tried? For each
//! seed it runs the drill with no team, with the drill's reference response and with each of
//! its wrong responses (scored as the debrief scores a team), and keeps a small record of each
//! run ([`SeedRun`]). [`report`] turns the records
//! into statistics and verdicts a drill author can act on; [`merge`] joins the records of
//! sharded runs into the report one unsharded run would have given.
//!
//! Runs go in parallel on a local rayon pool, but the records are collected in seed order and
//! every statistic is computed from that ordered list, so the result is the same whatever the
//! number of threads. This module reads no clock and draws no progress bar: the caller times
//! the run and is told, through a callback, when each seed is done.
//!
//! It reuses the engine ([`Sim`]), the scripted team ([`play`]) and the impact counting of
//! scoring ([`impact::outcome`]); it adds no model of its own.

pub mod merge;
pub mod report;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use report::{Calibration, Subject, Verdict};

use crate::drill::Drill;
use crate::drill::spec::{Response, Say};
use crate::score::{debrief, impact};
use crate::session::{Session, play};
use crate::sim::attribution::{self, Attribution, FiredRun};
use crate::sim::{RunOptions, Sim, SimTime};

/// Why a calibration cannot start, or its results cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("--runs must be at least 1")]
    NoRuns,
    #[error(
        "--runs {0} is more than the {max} seeds one calibration keeps; split a larger one into --shard K/N runs of at most {max} each and --merge them",
        max = MAX_RUNS
    )]
    TooManyRuns(u32),
    #[error(
        "--jobs {0} is more than {max} worker threads; give at most {max} (the default is one per core)",
        max = MAX_JOBS
    )]
    TooManyJobs(usize),
    #[error("`{0}` is not a shard; write K/N with 1 <= K <= N, e.g. --shard 2/4")]
    BadShard(String),
    #[error("--shard {index}/{count} has no seeds: there are only {runs} runs")]
    EmptyShard { index: u32, count: u32, runs: u32 },
    #[error("seeds {start} + {runs} runs go past the largest seed")]
    SeedOverflow { start: u64, runs: u32 },
    #[error("cannot start {0} worker threads")]
    Threads(String),
    #[error("{0}")]
    Merge(String),
}

/// The most seeds one calibration runs (its records are all kept for the report, a few
/// hundred bytes each); a larger one is sharded and merged.
pub const MAX_RUNS: u32 = 100_000;

/// The most worker threads `--jobs` may ask for.
pub const MAX_JOBS: usize = 1024;

/// `--jobs` checked: 0 (one per core) or at most [`MAX_JOBS`].
pub fn check_jobs(jobs: usize) -> Result<usize, CalibrateError> {
    if jobs > MAX_JOBS {
        return Err(CalibrateError::TooManyJobs(jobs));
    }
    Ok(jobs)
}

/// One slice of the seeds: `index` (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// All the seeds.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    #[must_use]
    pub fn is_whole(self) -> bool {
        self.count == 1
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl FromStr for Shard {
    type Err = CalibrateError;

    /// `2/4`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || CalibrateError::BadShard(text.to_owned());
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Which seeds to run: `runs` seeds from `seed_start`, or one shard of them. Seed number `i`
/// (from 0) belongs to shard `i % count + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub runs: u32,
    pub seed_start: u64,
    pub shard: Shard,
}

impl Plan {
    /// A validated plan.
    pub fn new(runs: u32, seed_start: u64, shard: Shard) -> Result<Plan, CalibrateError> {
        if runs == 0 {
            return Err(CalibrateError::NoRuns);
        }
        if runs > MAX_RUNS {
            return Err(CalibrateError::TooManyRuns(runs));
        }
        if shard.index == 0 || shard.index > shard.count {
            return Err(CalibrateError::BadShard(shard.to_string()));
        }
        if shard.index > runs {
            return Err(CalibrateError::EmptyShard {
                index: shard.index,
                count: shard.count,
                runs,
            });
        }
        if seed_start.checked_add(u64::from(runs) - 1).is_none() {
            return Err(CalibrateError::SeedOverflow {
                start: seed_start,
                runs,
            });
        }
        Ok(Plan {
            runs,
            seed_start,
            shard,
        })
    }

    /// The seeds this plan runs, in order.
    #[must_use]
    pub fn seeds(&self) -> Vec<u64> {
        (0..self.runs)
            .filter(|i| i % self.shard.count == self.shard.index - 1)
            .map(|i| self.seed_start + u64::from(i))
            .collect()
    }

    /// The same seeds, unsharded.
    #[must_use]
    pub fn whole(&self) -> Plan {
        Plan {
            shard: Shard::WHOLE,
            ..*self
        }
    }
}

/// What users went through in one run over the whole drill (from [`impact::outcome`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Harm {
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    /// The users harmed, each once ([`impact::Outcome::harmed`]): the harm the score counts.
    pub harmed: u64,
    pub page_breach_minutes: f64,
}

impl From<&impact::Outcome> for Harm {
    fn from(o: &impact::Outcome) -> Self {
        Harm {
            failed: o.failed,
            rejected: o.rejected,
            degraded: o.degraded,
            wrong_answers: o.wrong_answers,
            harmed: o.harmed,
            page_breach_minutes: o.page_breach_minutes,
        }
    }
}

/// The run with no team. Times are seconds from the start of the drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoTeamRun {
    /// Each alert's first firing (drill order), at any time.
    pub alert_fired: Vec<Option<f64>>,
    /// Each alert's first firing at or after the start it counts from, in seconds after it:
    /// the first start of the faults it is attributed to; for an alert attributed to none,
    /// the first cause's start (the first fault's when no cause started; the drill's start
    /// when it has no faults).
    pub alert_delay: Vec<Option<f64>>,
    /// When each fault started (drill order).
    pub fault_started: Vec<Option<f64>>,
    /// Per fault (drill order): the alerts (indices in the drill) attributed to it: they fired
    /// in this run and did not fire with the fault left out.
    pub attributed: Vec<Vec<usize>>,
    /// No page alert was attributed to a cause fault on this seed (every page alert stood in).
    pub attribution_fallback: bool,
    pub first_page: Option<f64>,
    /// A page fired before any fault had started.
    pub early_page: bool,
    pub harm: Harm,
}

/// The run with the reference response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRun {
    /// The first page of an alert attributed to a cause.
    pub first_page: Option<f64>,
    /// When the system recovered (no cause page alert pending or firing, and the team's
    /// throttles shedding under `shed_tolerance`, for 5 minutes after the
    /// first page), if it did.
    pub recovered: Option<f64>,
    pub harm: Harm,
    /// Its score, as the debrief would give it.
    #[serde(default)]
    pub score: u32,
}

/// The run with one of the drill's wrong responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrongRun {
    pub name: String,
    /// When the system recovered, if it did.
    pub recovered: Option<f64>,
    pub harm: Harm,
    /// Its score, as the debrief would give it.
    pub score: u32,
}

/// Both runs of one seed: the raw material of every statistic, kept in the JSON so that
/// shards merge exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    pub seed: u64,
    pub no_team: NoTeamRun,
    /// `None` when the drill has no reference response.
    pub reference: Option<ReferenceRun>,
    /// One per wrong response, in drill order.
    #[serde(default)]
    pub wrong: Vec<WrongRun>,
}

/// Runs the drill with no team with `seed`, to its end, and attributes its alerts to its
/// faults (with one more run per fault that started; see [`attribution`]).
#[must_use]
pub fn run_no_team(drill: &Drill, seed: u64) -> (NoTeamRun, Attribution) {
    let sim = no_team_sim(drill, seed);
    let attribution = attribute(drill, seed, &sim);
    (record_no_team(drill, &sim, &attribution), attribution)
}

/// The simulation with no team, run to the drill's end.
fn no_team_sim(drill: &Drill, seed: u64) -> Sim {
    let mut sim = Sim::new(
        drill,
        &RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    );
    sim.run_to_end();
    sim
}

/// The drill's alerts attributed to its faults on `seed`, given its full run with no team.
fn attribute(drill: &Drill, seed: u64, sim: &Sim) -> Attribution {
    if drill.faults.is_empty() || drill.alerts.is_empty() {
        attribution::attribute(drill, seed)
    } else {
        attribution::attribute_given(drill, seed, &FiredRun::of(sim), 1)
    }
}

/// The record of a run with no team.
fn record_no_team(drill: &Drill, sim: &Sim, attribution: &Attribution) -> NoTeamRun {
    // The run's truth, watching the cause alerts as a session on this seed would.
    let mut truth = sim.truth().clone();
    for (i, cause) in truth.cause_alert.iter_mut().enumerate() {
        *cause = attribution.cause_alerts.contains(&i);
    }
    let truth = &truth;
    let harm = Harm::from(&impact::outcome(
        drill,
        sim.telemetry().buckets(),
        truth,
        sim.end(),
    ));
    let first_fault = truth.fault_started.iter().flatten().min().copied();
    // Alert timings count from the cause, as the debrief's do: a distraction that starts
    // earlier does not make the cause's alerts look slow, nor a cause's alert the
    // distraction's.
    let first_cause = truth
        .fault_started
        .iter()
        .zip(&drill.faults)
        .filter(|(_, f)| f.cause)
        .filter_map(|(t, _)| *t)
        .min();
    let origin = if drill.faults.is_empty() {
        Some(SimTime::ZERO)
    } else {
        first_cause.or(first_fault)
    };
    let mut alert_fired = vec![None; drill.alerts.len()];
    let mut alert_delay = vec![None; drill.alerts.len()];
    for (rule, state) in sim.alert_states() {
        let i = rule.index;
        if i >= drill.alerts.len() {
            continue;
        }
        alert_fired[i] = state.fired_at.first().map(|t| t.as_secs_f64());
        // An alert attributed to faults counts from the first of them to start (a
        // distraction's alert from the distraction); any other from the cause.
        let own = attribution
            .by_fault
            .iter()
            .zip(&truth.fault_started)
            .filter(|(alerts, _)| alerts.contains(&i))
            .filter_map(|(_, t)| *t)
            .min();
        alert_delay[i] = own.or(origin).and_then(|o| {
            state
                .fired_at
                .iter()
                .find(|t| **t >= o)
                .map(|t| t.since(o).as_secs_f64())
        });
    }
    let early_page = truth
        .first_page
        .is_some_and(|p| first_fault.is_none_or(|f| p < f));
    NoTeamRun {
        alert_fired,
        alert_delay,
        fault_started: truth
            .fault_started
            .iter()
            .map(|t| t.map(SimTime::as_secs_f64))
            .collect(),
        attributed: attribution.by_fault.clone(),
        attribution_fallback: attribution.fallback && !drill.faults.is_empty(),
        first_page: truth.first_page.map(SimTime::as_secs_f64),
        early_page,
        harm,
    }
}

/// Plays the drill's reference response with `seed`, to the drill's end, with the drill's
/// `attribution` on that seed; `None` when the drill has none.
#[must_use]
pub fn run_reference(drill: &Drill, seed: u64, attribution: &Attribution) -> Option<ReferenceRun> {
    let no_team = no_team_sim(drill, seed);
    let session = played(drill, seed, &drill.reference, attribution)?;
    Some(record_reference(drill, &session, &no_team))
}

/// A session of `drill` with `seed` in which `says` played to the drill's end (`None` for no
/// lines at all).
fn played(drill: &Drill, seed: u64, says: &[Say], attribution: &Attribution) -> Option<Session> {
    if says.is_empty() {
        return None;
    }
    let mut session = Session::with_attribution(drill.clone(), Some(seed), attribution.clone());
    play::play(&mut session, says, &mut |_, _| {});
    Some(session)
}

/// What `sim` did to users up to `horizon`.
fn outcome_at(drill: &Drill, sim: &Sim, horizon: SimTime) -> impact::Outcome {
    impact::outcome(drill, sim.telemetry().buckets(), sim.truth(), horizon)
}

fn record_reference(drill: &Drill, session: &Session, no_team: &Sim) -> ReferenceRun {
    let sim = session.sim();
    let truth = sim.truth();
    let horizon = session.now();
    let own = outcome_at(drill, sim, horizon);
    let score = debrief::score_of(session, &outcome_at(drill, no_team, horizon), Some(&own));
    ReferenceRun {
        first_page: truth.first_cause_page.map(SimTime::as_secs_f64),
        recovered: truth.recovered.map(SimTime::as_secs_f64),
        harm: Harm::from(&outcome_at(drill, sim, sim.end())),
        score: score.exact.round() as u32,
    }
}

/// Plays one wrong response and scores it against the no-team and reference runs of the
/// same seed, over its own horizon.
fn run_wrong(
    drill: &Drill,
    seed: u64,
    response: &Response,
    no_team: &Sim,
    reference: Option<&Session>,
    attribution: &Attribution,
) -> WrongRun {
    let session = played(drill, seed, &response.says, attribution).unwrap_or_else(|| {
        Session::with_attribution(drill.clone(), Some(seed), attribution.clone())
    });
    let horizon = session.now();
    let reference = reference.map(|r| outcome_at(drill, r.sim(), horizon));
    let score = debrief::score_of(
        &session,
        &outcome_at(drill, no_team, horizon),
        reference.as_ref(),
    );
    let sim = session.sim();
    WrongRun {
        name: response.name.clone(),
        recovered: sim.truth().recovered.map(SimTime::as_secs_f64),
        harm: Harm::from(&outcome_at(drill, sim, sim.end())),
        score: score.exact.round() as u32,
    }
}

/// Every run of one seed: no team and the attribution of its alerts, the reference (which
/// needs that attribution), then each wrong response against them.
#[must_use]
pub fn run_seed(drill: &Drill, seed: u64) -> SeedRun {
    let no_team = no_team_sim(drill, seed);
    let attribution = attribute(drill, seed, &no_team);
    let reference = played(drill, seed, &drill.reference, &attribution);
    let wrong = drill
        .wrong_responses
        .iter()
        .map(|r| run_wrong(drill, seed, r, &no_team, reference.as_ref(), &attribution))
        .collect();
    SeedRun {
        seed,
        reference: reference
            .as_ref()
            .map(|r| record_reference(drill, r, &no_team)),
        no_team: record_no_team(drill, &no_team, &attribution),
        wrong,
    }
}

/// Runs every seed of `plan` on `jobs` threads (0: one per core; never more than two a seed,
/// one for each of its runs), calling `done` after each seed. The records come back in seed
/// order whatever `jobs` is.
pub fn run(
    drill: &Drill,
    plan: &Plan,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<SeedRun>, CalibrateError> {
    let seeds = plan.seeds();
    let jobs = check_jobs(jobs)?;
    let threads = if jobs == 0 {
        0
    } else {
        jobs.min(2 * seeds.len())
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("calibrate-{i}"))
        .build()
        .map_err(|e| CalibrateError::Threads(e.to_string()))?;
    Ok(pool.install(|| {
        seeds
            .par_iter()
            .map(|&seed| {
                let run = run_seed(drill, seed);
                done();
                run
            })
            .collect()
    }))
}

/// Calibrates `drill` (whose text is `text`): runs `plan` and reports. `wall_seconds` is left
/// at zero for the caller to fill in.
pub fn calibrate(
    drill: &Drill,
    text: &str,
    plan: &Plan,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Calibration, CalibrateError> {
    let runs = run(drill, plan, jobs, done)?;
    Ok(Calibration::new(Subject::of(drill, text), *plan, runs, 0.0))
}
