//! Ground truth: what the run has observed, recorded as it happens for scoring — faults'
//! starts and ends, each alert's first pending and firing, the first page and the first cause
//! page, and recovery (no cause page pending or firing for [`RECOVERY_QUIET`], with the team
//! serving its arrivals again).
//!
//! It never reaches the team's views (see [`crate::telemetry::observed`]).

// bevy systems take their parameters (`Res`, `Query`) by value.
#![allow(clippy::needless_pass_by_value)]

use bevy_ecs::prelude::*;

use super::alerts::{AlertPhase, AlertRule, AlertState};
use super::news::News;
use crate::drill::Duration;
use crate::drill::spec::Severity;
use crate::sim::SimTime;
use crate::sim::core::Core;
use crate::telemetry::store::Telemetry;

/// How long no page alert may be pending or firing before the system counts as recovered.
pub const RECOVERY_QUIET: Duration = Duration::from_secs(300);

/// What the run has observed, recorded as it happens (the ground truth for scoring).
#[derive(Resource, Debug, Clone, Default)]
pub struct Truth {
    pub first_page: Option<SimTime>,
    /// The first page of an alert attributed to a cause fault (see [`super::attribution`]);
    /// recovery and the incident's timings count from it.
    pub first_cause_page: Option<SimTime>,
    pub recovered: Option<SimTime>,
    quiet_since: Option<SimTime>,
    /// Since when every bucket's share of arrivals shed by the team's actions has stayed
    /// below the drill's `shed_tolerance` (tracked after the first cause page).
    served_since: Option<SimTime>,
    /// Per alert (drill order): whether it is a page alert attributed to a cause, the alerts
    /// whose quiet `Recovered` waits for.
    pub cause_alert: Vec<bool>,
    /// The drill's `shed_tolerance`.
    pub shed_tolerance: f64,
    /// Per fault (drill order): whether it is a cause. A cause alert's firing counts as the
    /// first cause page only if it began once a cause had started.
    pub cause_fault: Vec<bool>,
    pub fault_started: Vec<Option<SimTime>>,
    pub fault_ended: Vec<Option<SimTime>>,
    pub alert_first_fired: Vec<Option<SimTime>>,
    pub alert_first_pending: Vec<Option<SimTime>>,
}

impl Truth {
    /// Nothing observed yet, for `faults` faults and `alerts` alerts; `cause_alert` and
    /// `shed_tolerance` as the fields say.
    #[must_use]
    pub fn new(cause_alert: Vec<bool>, shed_tolerance: f64, faults: usize, alerts: usize) -> Truth {
        Truth {
            cause_alert,
            shed_tolerance,
            fault_started: vec![None; faults],
            fault_ended: vec![None; faults],
            alert_first_fired: vec![None; alerts],
            alert_first_pending: vec![None; alerts],
            ..Truth::default()
        }
    }
}

pub(super) fn track_truth(
    core: Res<Core>,
    telemetry: Res<Telemetry>,
    alerts: Query<(&AlertRule, &AlertState)>,
    mut truth: ResMut<Truth>,
    mut news: MessageWriter<News>,
) {
    let now = core.now;
    let mut page_active = false;
    // A page that began before any cause started cannot be the cause's (a distraction's
    // alert may stand for a cause too, when the cause sets it off again later). A drill
    // without cause faults counts any page.
    let causes = truth.cause_fault.iter().any(|c| *c);
    let cause_start = truth
        .fault_started
        .iter()
        .zip(&truth.cause_fault)
        .filter(|(_, cause)| **cause)
        .filter_map(|(start, _)| *start)
        .min();
    for (rule, state) in &alerts {
        if state.phase == AlertPhase::Firing && truth.alert_first_fired[rule.index].is_none() {
            truth.alert_first_fired[rule.index] = state.fired_at.first().copied();
        }
        if state.phase != AlertPhase::Inactive && truth.alert_first_pending[rule.index].is_none() {
            truth.alert_first_pending[rule.index] = state.pending_at.first().copied();
        }
        if rule.severity == Severity::Page {
            if state.phase == AlertPhase::Firing && truth.first_page.is_none() {
                truth.first_page = state.fired_at.first().copied();
            }
            if truth.cause_alert.get(rule.index).copied().unwrap_or(true) {
                page_active |= state.phase != AlertPhase::Inactive;
                if state.phase == AlertPhase::Firing && truth.first_cause_page.is_none() {
                    let began = state.fired_at.last().copied();
                    if !causes || began.zip(cause_start).is_some_and(|(b, s)| b >= s) {
                        truth.first_cause_page = began;
                    }
                }
            }
        }
    }
    if truth.first_cause_page.is_none() || truth.recovered.is_some() {
        return;
    }
    if page_active {
        truth.quiet_since = None;
    } else {
        truth.quiet_since.get_or_insert(now);
    }
    // Shedding load is a mitigation, not a recovery: the bucket just closed must have served
    // all but `shed_tolerance` of its arrivals, leaving aside what the drill's own limits and
    // faults rejected.
    let served = telemetry
        .last_counts()
        .is_none_or(|b| b.shed == 0 || (b.shed as f64) < truth.shed_tolerance * b.arrived as f64);
    if served {
        let start = telemetry
            .buckets()
            .last()
            .map_or(now, |b| SimTime::from_secs_f64(b.start));
        truth.served_since.get_or_insert(start);
    } else {
        truth.served_since = None;
    }
    if let (Some(quiet), Some(served)) = (truth.quiet_since, truth.served_since) {
        let from = quiet.max(served);
        if now.since(from) >= RECOVERY_QUIET {
            let at = from.after(RECOVERY_QUIET);
            truth.recovered = Some(at);
            news.write(News::Recovered { at });
        }
    }
}
