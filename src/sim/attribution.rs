//! Attribution: which alerts each fault caused, from counterfactual runs with no team.
//!
//! An alert is *attributed* to a fault when, on the same seed and with no team, it begins
//! firing in the run with every fault at or after that fault's start, at a moment when it is
//! not firing in the run with that fault left out and does not begin to within the alert's
//! `for` after (a fault that only brings another fault's alert forward by less than its hold,
//! as a small error blip a minute before an outage does, did not cause it). A firing before a
//! fault started cannot be
//! that fault's: a distraction's alert that fires before the cause begins is not the cause's,
//! and an alert that one fault sets off early and another again later is each fault's. A drill's
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

use super::{RunOptions, Sim, SimTime};
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

/// One run with no team: when each alert fired and each fault started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredRun {
    /// Per alert (drill order): each firing, from when it began to when it resolved (`None`:
    /// still firing at the end).
    pub firings: Vec<Vec<(SimTime, Option<SimTime>)>>,
    /// Per fault (drill order): when it started, if it did.
    pub fault_started: Vec<Option<SimTime>>,
}

impl FiredRun {
    /// What a finished run with no team shows.
    #[must_use]
    pub fn of(sim: &Sim) -> FiredRun {
        let truth = sim.truth();
        let mut firings = vec![Vec::new(); truth.alert_first_fired.len()];
        for (rule, state) in sim.alert_states() {
            if let Some(slot) = firings.get_mut(rule.index) {
                *slot = state
                    .fired_at
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (*t, state.resolved_at.get(i).copied()))
                    .collect();
            }
        }
        FiredRun {
            firings,
            fault_started: truth.fault_started.clone(),
        }
    }

    /// Whether alert `alert` fired at all.
    #[must_use]
    pub fn fired(&self, alert: usize) -> bool {
        self.firings.get(alert).is_some_and(|f| !f.is_empty())
    }

    /// Whether alert `alert` was firing at any moment from `from` to `to`.
    #[must_use]
    pub fn firing_within(&self, alert: usize, from: SimTime, to: SimTime) -> bool {
        self.firings.get(alert).is_some_and(|f| {
            f.iter()
                .any(|(begin, end)| *begin <= to && end.is_none_or(|end| from < end))
        })
    }

    /// Whether alert `alert` fired because of a fault that started at `start`: one of its
    /// firings in this run (with the fault) began at or after `start`, when the run `without`
    /// the fault was not firing it and did not begin to within `grace` after (the alert's
    /// `for`: a firing the fault only brought forward is not its).
    #[must_use]
    pub fn caused(
        &self,
        alert: usize,
        start: SimTime,
        without: &FiredRun,
        grace: crate::drill::Duration,
    ) -> bool {
        self.firings.get(alert).is_some_and(|f| {
            f.iter().any(|(from, _)| {
                *from >= start && !without.firing_within(alert, *from, from.after(grace))
            })
        })
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
    let fired: Vec<bool> = (0..drill.alerts.len()).map(|a| full.fired(a)).collect();
    if fired.iter().any(|f| *f) {
        for (f, alerts) in by_fault.iter_mut().enumerate() {
            let Some(start) = full.fault_started.get(f).copied().flatten() else {
                continue;
            };
            // No alert fired at or after the fault's start: nothing can be its doing.
            if !(0..drill.alerts.len())
                .any(|a| full.firings[a].iter().any(|(from, _)| *from >= start))
            {
                continue;
            }
            let without = run(drill, seed, Some(f));
            runs += 1;
            *alerts = (0..drill.alerts.len())
                .filter(|a| full.caused(*a, start, &without, drill.alerts[*a].hold))
                .collect();
        }
    }
    finish(drill, by_fault, fired, runs)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> SimTime {
        SimTime::from_secs_f64(minutes as f64 * 60.0)
    }

    /// A run where one alert fired over `firings` (minutes; `None`: to the end).
    fn run_with(firings: &[(u64, Option<u64>)]) -> FiredRun {
        FiredRun {
            firings: vec![
                firings
                    .iter()
                    .map(|(from, to)| (at(*from), to.map(at)))
                    .collect(),
            ],
            fault_started: vec![Some(at(8))],
        }
    }

    #[test]
    fn a_firing_before_the_fault_started_is_not_the_faults() {
        // The alert fired at 4m, before the fault began at 8m; the run without the fault
        // happens not to fire it at all. Firing "with the fault and not without it" would
        // credit the fault; by time it cannot be.
        let hold = crate::drill::Duration::from_secs(120);
        let full = run_with(&[(4, Some(6))]);
        let without = run_with(&[]);
        assert!(!full.caused(0, at(8), &without, hold));
        // Fired again at 11m, with the fault, when the run without it is quiet: the fault's.
        let again = run_with(&[(4, Some(6)), (11, None)]);
        assert!(again.caused(0, at(8), &without, hold));
        // ... unless the run without the fault was firing it then too,
        let anyway = run_with(&[(10, None)]);
        assert!(!again.caused(0, at(8), &anyway, hold));
        // or began to within the alert's `for` after: the fault only brought it forward.
        let soon = run_with(&[(12, None)]);
        assert!(!again.caused(0, at(8), &soon, hold));
        let later = run_with(&[(14, None)]);
        assert!(again.caused(0, at(8), &later, hold));
        assert!(again.firing_within(0, at(5), at(5)) && !again.firing_within(0, at(7), at(7)));
    }
}
