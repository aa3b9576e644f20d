//! Attribution: which alerts each fault caused, from counterfactual runs with no team.
//!
//! An alert is *attributed* to a fault when, on the same seed and with no team, it fires in
//! the run with every fault and does not fire in the run with that fault left out. A drill's
//! faults are causes (the default) or distractions (`cause: false`); the page alerts
//! attributed to some cause are the *cause alerts*, whose first page starts the incident's
//! timings and whose quiet `Recovered` waits for. When no page alert is attributed to any
//! cause (a cause that pages only together with another fault, say), every page alert stands
//! in for the causes, as before attribution existed, and [`Attribution::fallback`] says so.
//!
//! This module runs whole simulations, so it is computed once per drill and seed, before a
//! session starts (the session must know the cause alerts online: `Recovered` anchors the
//! reference response). It is a pure function of the drill and the seed. It skips the runs
//! that cannot change the answer: none for a drill without faults or alerts, and no run
//! leaving out a fault when no alert fired at all or when that fault never started.

use serde::{Deserialize, Serialize};

use super::{RunOptions, Sim};
use crate::drill::Drill;
use crate::drill::spec::Severity;

/// Which alerts each fault caused, and which page alerts stand for the causes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attribution {
    /// Per fault (drill order): the alerts (their indices in the drill, ascending) that fired
    /// with it and did not fire without it.
    pub by_fault: Vec<Vec<usize>>,
    /// Per alert (drill order): whether it fired in the run with every fault and no team.
    pub fired: Vec<bool>,
    /// The page alerts (indices, ascending) that `Recovered` and the timings watch: those
    /// attributed to a cause fault, or every page alert when [`Attribution::fallback`].
    pub cause_alerts: Vec<usize>,
    /// No page alert is attributed to a cause fault, so every page alert stands in.
    pub fallback: bool,
    /// How many simulations the attribution took (the counterfactual runs).
    pub runs: u32,
}

impl Attribution {
    /// The alerts attributed to fault `fault` (indices in the drill).
    #[must_use]
    pub fn alerts_of(&self, fault: usize) -> &[usize] {
        self.by_fault.get(fault).map_or(&[], Vec::as_slice)
    }

    /// The faults (indices in the drill) that alert `alert` is attributed to.
    #[must_use]
    pub fn faults_of(&self, alert: usize) -> Vec<usize> {
        (0..self.by_fault.len())
            .filter(|f| self.by_fault[*f].contains(&alert))
            .collect()
    }
}

/// One run with no team: which alerts fired and which faults started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredRun {
    pub alert_fired: Vec<bool>,
    pub fault_started: Vec<bool>,
}

impl FiredRun {
    /// What a finished run with no team shows.
    #[must_use]
    pub fn of(sim: &Sim) -> FiredRun {
        let truth = sim.truth();
        FiredRun {
            alert_fired: truth
                .alert_first_fired
                .iter()
                .map(Option::is_some)
                .collect(),
            fault_started: truth.fault_started.iter().map(Option::is_some).collect(),
        }
    }
}

/// Runs `drill` with `seed` and no team to its end, leaving out fault `leave_out`.
fn run(drill: &Drill, seed: u64, leave_out: Option<usize>) -> FiredRun {
    let mut sim = Sim::new(
        drill,
        &RunOptions {
            seed: Some(seed),
            leave_out_fault: leave_out,
            ..RunOptions::default()
        },
    );
    sim.run_to_end();
    FiredRun::of(&sim)
}

/// Attributes `drill`'s alerts to its faults on `seed`.
#[must_use]
pub fn attribute(drill: &Drill, seed: u64) -> Attribution {
    if drill.faults.is_empty() || drill.alerts.is_empty() {
        return finish(drill, vec![Vec::new(); drill.faults.len()], Vec::new(), 0);
    }
    let full = run(drill, seed, None);
    attribute_given(drill, seed, &full, 1)
}

/// [`attribute`], given the run with every fault and no team (which a caller such as
/// calibrate has already made); `runs` counts the runs made so far.
#[must_use]
pub fn attribute_given(drill: &Drill, seed: u64, full: &FiredRun, runs: u32) -> Attribution {
    let mut runs = runs;
    let mut by_fault = vec![Vec::new(); drill.faults.len()];
    if full.alert_fired.iter().any(|f| *f) {
        for (f, alerts) in by_fault.iter_mut().enumerate() {
            if !full.fault_started.get(f).copied().unwrap_or(false) {
                continue;
            }
            let without = run(drill, seed, Some(f));
            runs += 1;
            *alerts = (0..drill.alerts.len())
                .filter(|a| {
                    full.alert_fired.get(*a).copied().unwrap_or(false)
                        && !without.alert_fired.get(*a).copied().unwrap_or(false)
                })
                .collect();
        }
    }
    finish(drill, by_fault, full.alert_fired.clone(), runs)
}

fn finish(drill: &Drill, by_fault: Vec<Vec<usize>>, fired: Vec<bool>, runs: u32) -> Attribution {
    let is_page = |a: usize| drill.alerts[a].severity == Severity::Page;
    let mut cause_alerts: Vec<usize> = by_fault
        .iter()
        .zip(&drill.faults)
        .filter(|(_, fault)| fault.cause)
        .flat_map(|(alerts, _)| alerts.iter().copied())
        .filter(|a| is_page(*a))
        .collect();
    cause_alerts.sort_unstable();
    cause_alerts.dedup();
    let fallback = cause_alerts.is_empty();
    if fallback {
        cause_alerts = (0..drill.alerts.len()).filter(|a| is_page(*a)).collect();
    }
    Attribution {
        by_fault,
        fired,
        cause_alerts,
        fallback,
        runs,
    }
}
