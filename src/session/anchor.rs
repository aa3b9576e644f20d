//! Resolving time anchors (`At("40m")`, `After(FirstPage, "5m")`, ...) against what has
//! happened so far in a run: the engine's ground truth and the team's log. Injects, the
//! reference response and checklist deadlines all resolve through [`resolve`].
//!
//! An anchor whose event has not happened (yet) resolves to `None`.

use super::team::Team;
use crate::drill::spec::{Anchor, Drill, Event};
use crate::sim::SimTime;
use crate::sim::world::Truth;

/// When `event` happened, if it has.
#[must_use]
pub fn event_time(event: &Event, drill: &Drill, truth: &Truth, team: &Team) -> Option<SimTime> {
    match event {
        Event::FirstPage => truth.first_page,
        Event::Recovered => truth.recovered,
        Event::Command(name) => team.first(name).map(|e| e.at),
        Event::FaultStart(name) => {
            let i = drill.faults.iter().position(|f| &f.name == name)?;
            truth.fault_started.get(i).copied().flatten()
        }
        Event::AlertFires(name) => {
            let i = drill.alerts.iter().position(|a| &a.name == name)?;
            truth.alert_first_fired.get(i).copied().flatten()
        }
    }
}

/// The time `anchor` names, if it can be known yet.
#[must_use]
pub fn resolve(anchor: &Anchor, drill: &Drill, truth: &Truth, team: &Team) -> Option<SimTime> {
    match anchor {
        Anchor::At(d) => Some(SimTime::from(*d)),
        Anchor::After(event, d) => event_time(event, drill, truth, team).map(|t| t.after(*d)),
    }
}

/// How an anchor reads in a report: `40m`, `5m after the first page`.
#[must_use]
pub fn describe(anchor: &Anchor) -> String {
    match anchor {
        Anchor::At(d) => format!("at {d}"),
        Anchor::After(event, d) => {
            let what = match event {
                Event::FirstPage => "the first page".to_owned(),
                Event::Recovered => "recovery".to_owned(),
                Event::Command(c) => format!("`{c}`"),
                Event::FaultStart(f) => format!("fault {f} begins"),
                Event::AlertFires(a) => format!("{a} fires"),
            };
            if d.is_zero() {
                format!("by {what}")
            } else {
                format!("{d} after {what}")
            }
        }
    }
}
