//! The incident's key moments and the intervals between them, from the engine's ground truth
//! (fault start, alerts pending and firing, recovery) and the team's log (ack, declare,
//! diagnose, actions, resolve), each interval beside the drill's objective and the best time
//! the alerting allowed.
//!
//! Every interval counts from the *cause*: the earliest start of a fault the drill marks as a
//! cause (every fault but those with `cause: false`), and pages of the alerts attributed to a
//! cause (see [`crate::sim::attribution`]). A distraction that pages first does not start the
//! clock.
//!
//! Definitions, as the debrief states them:
//! - **first user impact**: the start of the first metric bucket that ends after the fault
//!   start in which either the share of failed, rejected and degraded requests exceeds twice
//!   the share before the fault (and is above zero), or a latency quantile that some alert
//!   watches with `Above` exceeds that alert's threshold; never before the fault start.
//! - **best possible page**: the earliest `first pending + for` over the cause's page alerts,
//!   the moment the cause's first page could have fired.
//! - **detected**: the first acknowledgement at or after the cause's start.
//! - **first mitigation**: the first drill action ordered that mitigated: without it, the run
//!   would have harmed more users by the team's end (at least [`MITIGATION_MIN_SHARE`] of the
//!   run's harm, and one user), judged by replaying the team's other inputs
//!   ([`counterfactual::harmed_without`]). A line of one of the drill's wrong responses (the
//!   same words) that the reference does not say too is not one, without a run. An action
//!   that changed nothing, or made things worse, ordered first is not the mitigation.
//! - **mitigated**: the drill's `Recovered` (every cause page resolved and staying resolved,
//!   with the team's throttles shedding less than the drill's `shed_tolerance`).
//!
//! This module reads a finished run; the one simulation it asks for is the counterfactual
//! of each action it judges, in order, until one mitigated.

use serde::Serialize;

use crate::drill::spec::{Alert, Condition, Drill, Metric, Say, Severity};
use crate::drill::{ClockTime, Duration};
use crate::score::counterfactual;
use crate::session::Session;
use crate::session::command::Command;
use crate::session::team::{Detail, Entry};
use crate::sim::SimTime;
use crate::sim::world::Truth;
use crate::telemetry::series::Bucket;

/// The rule for "first user impact", printed in every report.
pub const IMPACT_RULE: &str = "the start of the first metric bucket after the fault start in which the share of failed, rejected and degraded requests is above zero and more than twice its pre-fault share, or a latency quantile watched by an alert exceeds that alert's threshold";

/// An instant of the run: seconds from the start and the drill's clock reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    pub seconds: f64,
    /// `09:27:10` on the drill's clock, or `T+00:42:10` without one.
    pub clock: String,
}

impl Moment {
    #[must_use]
    pub fn new(clock_start: Option<ClockTime>, t: SimTime) -> Moment {
        Moment {
            seconds: t.as_secs_f64(),
            clock: crate::session::clock_text(clock_start, t),
        }
    }

    #[must_use]
    pub fn time(&self) -> SimTime {
        SimTime::from_secs_f64(self.seconds)
    }
}

/// A wrong `diagnose`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guess {
    pub at: Moment,
    pub role: String,
    pub cause: String,
}

/// A span between two moments, measured in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// `page`, `detect`, `acknowledge`, `act`, `diagnose`, `mitigate`, `resolve`.
    pub name: String,
    pub from: String,
    pub to: String,
    pub seconds: Option<f64>,
    /// `6m30s`, or `—` when it never happened.
    pub text: String,
    /// The drill's objective for this interval, if any.
    pub target_seconds: Option<f64>,
    /// The fastest the alerting allowed, if it bounds this interval.
    pub best_seconds: Option<f64>,
    pub best_text: Option<String>,
}

/// Every key moment of the run and the intervals between them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timings {
    pub fault_start: Option<Moment>,
    pub first_impact: Option<Moment>,
    pub first_page_pending: Option<Moment>,
    pub best_page: Option<Moment>,
    pub first_page: Option<Moment>,
    pub acknowledged: Option<Moment>,
    pub declared: Option<Moment>,
    pub severity: Option<u8>,
    pub diagnosed: Option<Moment>,
    pub wrong_diagnoses: Vec<Guess>,
    pub first_mitigation: Option<Moment>,
    /// The first action as typed (`throttle rps=150`).
    pub first_mitigation_input: Option<String>,
    /// How many more users the run would have harmed, by the team's end, without it.
    pub first_mitigation_avoided: Option<u64>,
    pub mitigated: Option<Moment>,
    pub resolved: Option<Moment>,
    pub intervals: Vec<Interval>,
    pub impact_rule: String,
}

/// `6m30s`, rounded to the second.
#[must_use]
pub fn duration_text(seconds: f64) -> String {
    Duration::from_secs(seconds.max(0.0).round() as u64).to_string()
}

/// The earliest moment the cause's first page could fire: min over the cause's page alerts of
/// first pending + `for`.
#[must_use]
pub fn best_page(session: &Session) -> Option<SimTime> {
    let drill = session.drill();
    let truth = session.sim().truth();
    drill
        .alerts
        .iter()
        .enumerate()
        .filter(|(i, a)| is_cause_page(truth, *i, a))
        .filter_map(|(i, a)| {
            truth
                .alert_first_pending
                .get(i)
                .copied()
                .flatten()
                .map(|p| p.after(a.hold))
        })
        .min()
}

/// Whether alert `index` is a page alert the cause's timings watch.
fn is_cause_page(truth: &Truth, index: usize, alert: &Alert) -> bool {
    alert.severity == Severity::Page && truth.cause_alert.get(index).copied().unwrap_or(true)
}

/// The earliest start of a cause fault in the run (of any fault, when the drill marks none as
/// a cause).
#[must_use]
pub fn fault_start(session: &Session) -> Option<SimTime> {
    cause_start(session.drill(), session.sim().truth())
}

/// The earliest start of a cause fault in a run's `truth` (of any fault, when the drill marks
/// none as a cause).
#[must_use]
pub fn cause_start(drill: &Drill, truth: &Truth) -> Option<SimTime> {
    let any_cause = drill.faults.iter().any(|f| f.cause);
    truth
        .fault_started
        .iter()
        .enumerate()
        .filter(|(i, _)| !any_cause || drill.faults.get(*i).is_some_and(|f| f.cause))
        .filter_map(|(_, t)| *t)
        .min()
}

/// First user impact by [`IMPACT_RULE`], from the run's buckets.
#[must_use]
pub fn first_impact(drill: &Drill, buckets: &[Bucket], fault: SimTime) -> Option<SimTime> {
    let fault_s = fault.as_secs_f64();
    let bad = |b: &Bucket| b.failed + b.rejected + b.degraded;
    let (base_bad, base_arrived) = buckets
        .iter()
        .filter(|b| b.start + b.width <= fault_s)
        .fold((0u64, 0u64), |(x, n), b| (x + bad(b), n + b.arrived));
    let base_share = if base_arrived == 0 {
        0.0
    } else {
        base_bad as f64 / base_arrived as f64
    };
    let latency: Vec<(&Metric, f64)> = drill
        .alerts
        .iter()
        .filter_map(|a| match &a.when {
            Condition::Above {
                metric: m @ (Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99),
                threshold,
            } => Some((m, *threshold)),
            _ => None,
        })
        .collect();
    buckets
        .iter()
        .filter(|b| b.start + b.width > fault_s)
        .find_map(|b| {
            let share = if b.arrived == 0 {
                0.0
            } else {
                bad(b) as f64 / b.arrived as f64
            };
            let hurt = bad(b) > 0 && share > 2.0 * base_share;
            let slow = latency.iter().any(|(m, threshold)| {
                let v = match m {
                    Metric::LatencyP50 => b.latency_p50,
                    Metric::LatencyP95 => b.latency_p95,
                    _ => b.latency_p99,
                };
                v > *threshold
            });
            (hurt || slow).then(|| SimTime::from_secs_f64(b.start).max(fault))
        })
}

/// The least share of the harm an action must have avoided to count as a mitigation: a
/// change smaller than this is the noise of a run whose path the action moved.
pub const MITIGATION_MIN_SHARE: f64 = 0.005;

/// Whether the ordered action `entry` is a line of a wrong response the reference does not
/// say too (the same words).
fn a_wrong_line(drill: &Drill, entry: &Entry) -> bool {
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let input = words(&entry.input);
    let says = |lines: &[Say]| lines.iter().any(|s| words(&s.input) == input);
    drill.wrong_responses.iter().any(|r| says(&r.says)) && !says(&drill.reference)
}

/// The first action of `session`'s team that mitigated (the module's definitions), and how
/// many more users the run would have harmed without it; `harmed` is the users the run
/// harmed by its end.
fn first_mitigation(session: &Session, harmed: u64) -> Option<(&Entry, u64)> {
    let drill = session.drill();
    session
        .team()
        .log
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.command, Command::Action { .. }) && !a_wrong_line(drill, e))
        .find_map(|(i, e)| {
            let without = counterfactual::harmed_without(session, i);
            let avoided = without.saturating_sub(harmed);
            let least = (without as f64 * MITIGATION_MIN_SHARE).ceil().max(1.0) as u64;
            (avoided >= least).then_some((e, avoided))
        })
}

/// The timings of `session` (a finished run), which harmed `harmed` users by its end
/// ([`crate::score::impact::Outcome::harmed`]).
#[must_use]
pub fn timings(session: &Session, harmed: u64) -> Timings {
    let drill = session.drill();
    let clock = drill.clock_start;
    let truth = session.sim().truth();
    let team = session.team();
    let m = |t: SimTime| Moment::new(clock, t);
    let fault = fault_start(session);
    let first_page_pending = drill
        .alerts
        .iter()
        .enumerate()
        .filter(|(i, a)| is_cause_page(truth, *i, a))
        .filter_map(|(i, _)| truth.alert_first_pending.get(i).copied().flatten())
        .min();
    let best = best_page(session);
    let mitigation = first_mitigation(session, harmed);
    let first_action = mitigation.map(|(e, _)| e);
    // An acknowledgement before the cause began answered something else (a distraction).
    let ack = team
        .all("ack")
        .map(|e| e.at)
        .find(|t| fault.is_none_or(|f| *t >= f));
    let diagnosed = team.diagnosed().map(|e| e.at);
    let resolved = team.first("resolve").map(|e| e.at);
    let wrong = team
        .log
        .iter()
        .filter(|e| e.detail == Detail::Diagnosis { correct: false })
        .map(|e| Guess {
            at: m(e.at),
            role: e.role.clone(),
            cause: match &e.command {
                Command::Diagnose(c) => c.clone(),
                _ => e.input.clone(),
            },
        })
        .collect();

    let objectives = drill.objectives.as_ref();
    let target = |d: Option<Duration>| d.map(Duration::as_secs_f64);
    let since = |from: Option<SimTime>, to: Option<SimTime>| match (from, to) {
        (Some(a), Some(b)) => Some(b.since(a).as_secs_f64()),
        _ => None,
    };
    let best_seconds = since(fault, best);
    let interval = |name: &str,
                    from: &str,
                    to: &str,
                    seconds: Option<f64>,
                    target_seconds: Option<f64>,
                    best: Option<f64>| Interval {
        name: name.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        seconds,
        text: seconds.map_or_else(|| "—".to_owned(), duration_text),
        target_seconds,
        best_seconds: best,
        best_text: best.map(duration_text),
    };
    let intervals = vec![
        interval(
            "page",
            "fault start",
            "first page",
            since(fault, truth.first_cause_page),
            None,
            best_seconds,
        ),
        interval(
            "detect",
            "fault start",
            "first acknowledgement",
            since(fault, ack),
            target(objectives.and_then(|o| o.detect_within)),
            best_seconds,
        ),
        interval(
            "acknowledge",
            "first page",
            "first acknowledgement",
            since(truth.first_cause_page, ack),
            None,
            None,
        ),
        interval(
            "act",
            "fault start",
            "first mitigation ordered",
            since(fault, first_action.map(|e| e.at)),
            None,
            None,
        ),
        interval(
            "diagnose",
            "fault start",
            "correct diagnosis",
            since(fault, diagnosed),
            None,
            None,
        ),
        interval(
            "mitigate",
            "fault start",
            "recovered",
            since(fault, truth.recovered),
            target(objectives.and_then(|o| o.mitigate_within)),
            None,
        ),
        interval(
            "resolve",
            "fault start",
            "resolved",
            since(fault, resolved),
            None,
            None,
        ),
    ];

    Timings {
        fault_start: fault.map(m),
        first_impact: fault
            .and_then(|f| first_impact(drill, session.sim().telemetry().buckets(), f))
            .map(m),
        first_page_pending: first_page_pending.map(m),
        best_page: best.map(m),
        first_page: truth.first_cause_page.map(m),
        acknowledged: ack.map(m),
        declared: team.first("declare").map(|e| m(e.at)),
        severity: team.severity(),
        diagnosed: diagnosed.map(m),
        wrong_diagnoses: wrong,
        first_mitigation: first_action.map(|e| m(e.at)),
        first_mitigation_input: first_action.map(|e| e.input.clone()),
        first_mitigation_avoided: mitigation.map(|(_, n)| n),
        mitigated: truth.recovered.map(m),
        resolved: resolved.map(m),
        intervals,
        impact_rule: IMPACT_RULE.to_owned(),
    }
}
