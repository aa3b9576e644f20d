//! What a run did to its users, counted from its metric buckets up to a horizon: the users
//! harmed (each user request once, by its final outcome), failed, rejected and degraded
//! attempts, wrong answers, and minutes in breach of each alert's condition (buckets whose
//! look-back window breaches the condition, times their width). Also the per-bucket series the
//! debrief's charts draw.
//!
//! A user is one request, however many attempts its client made. It is harmed once: when it
//! ended without an answer (its last attempt failed or was rejected and no retry followed),
//! or when the attempt that answered was degraded or wrong (or both). Attempts are counted
//! beside users: a client that retries a rejection three times adds four rejected attempts
//! and one harmed user.
//!
//! The same counting applies to the team's run and to the counterfactual runs
//! ([`super::counterfactual`]), so their differences are fair.

use serde::Serialize;

use super::timings::Moment;
use crate::drill::spec::{Condition, Drill, Metric, Severity};
use crate::sim::SimTime;
use crate::sim::world::Truth;
use crate::telemetry::series::{Bucket, Signal};

/// Minutes one alert's condition was breached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    pub alert: String,
    /// `page` or `ticket`.
    pub severity: String,
    /// `LatencyP95 > 5`.
    pub condition: String,
    pub minutes: f64,
}

/// What users went through in one run, up to the horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub horizon_seconds: f64,
    /// Attempts that arrived (first attempts and client retries).
    pub arrived: u64,
    /// Users: requests whose first attempt arrived.
    pub users: u64,
    pub admitted: u64,
    pub completed: u64,
    /// Attempts that failed, and attempts admission rejected.
    pub failed: u64,
    pub rejected: u64,
    /// Answers that were degraded, and answers that were wrong (one answer may be both).
    pub degraded: u64,
    pub wrong_answers: u64,
    /// Failed + rejected attempts: attempts that got no answer.
    pub failed_attempts: u64,
    /// Users whose request ended failed, ended rejected, or was answered degraded or wrong.
    pub users_failed: u64,
    pub users_rejected: u64,
    pub users_poor: u64,
    /// The users harmed, each once: `users_failed + users_rejected + users_poor`. The harm
    /// the score counts.
    pub harmed: u64,
    pub breach: Vec<Breach>,
    /// Minutes in which at least one page alert's condition was breached.
    pub page_breach_minutes: f64,
    pub first_page: Option<Moment>,
    pub recovered: Option<Moment>,
}

/// The buckets that end by `horizon`.
#[must_use]
pub fn within(buckets: &[Bucket], horizon: SimTime) -> &[Bucket] {
    let h = horizon.as_secs_f64();
    let n = buckets
        .iter()
        .take_while(|b| b.start + b.width <= h + 1e-9)
        .count();
    &buckets[..n]
}

/// `LatencyP95`, `PoolTimeoutRate(db)`.
#[must_use]
pub fn metric_text(metric: &Metric) -> String {
    match metric {
        Metric::PoolUtilization(p) => format!("PoolUtilization({p})"),
        Metric::PoolWaiting(p) => format!("PoolWaiting({p})"),
        Metric::PoolSize(p) => format!("PoolSize({p})"),
        Metric::PoolTimeoutRate(p) => format!("PoolTimeoutRate({p})"),
        Metric::StepTime(s) => format!("StepTime({s})"),
        Metric::StepErrorRatio(s) => format!("StepErrorRatio({s})"),
        Metric::StepRateLimitedRate(s) => format!("StepRateLimitedRate({s})"),
        Metric::StepRetryRate(s) => format!("StepRetryRate({s})"),
        other => format!("{other:?}"),
    }
}

/// `LatencyP95 > 5`.
#[must_use]
pub fn condition_text(condition: &Condition) -> String {
    match condition {
        Condition::Above { metric, threshold } => format!("{} > {threshold}", metric_text(metric)),
        Condition::Below { metric, threshold } => format!("{} < {threshold}", metric_text(metric)),
    }
}

#[must_use]
pub fn severity_text(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

/// Whether `bucket`'s window breaches `condition` (`None` if the metric names no pool or
/// step of the drill).
fn breached(
    condition: &Condition,
    bucket: &Bucket,
    pools: &[String],
    steps: &[String],
) -> Option<bool> {
    let signal = Signal::resolve(condition.metric(), pools, steps)?;
    let value = bucket.window.get(signal)?;
    Some(match condition {
        Condition::Above { threshold, .. } => value > *threshold,
        Condition::Below { threshold, .. } => value < *threshold,
    })
}

/// Counts `buckets` up to `horizon`; `truth` gives the run's first page and recovery.
#[must_use]
pub fn outcome(drill: &Drill, buckets: &[Bucket], truth: &Truth, horizon: SimTime) -> Outcome {
    let buckets = within(buckets, horizon);
    let pools: Vec<String> = drill.pools.iter().map(|p| p.name.clone()).collect();
    let steps: Vec<String> = drill.service.steps.iter().map(|s| s.name.clone()).collect();
    let sum = |f: fn(&Bucket) -> u64| buckets.iter().map(f).sum::<u64>();
    let minutes = |f: &dyn Fn(&Bucket) -> bool| {
        round3(
            buckets
                .iter()
                .filter(|b| f(b))
                .map(|b| b.width)
                .sum::<f64>()
                / 60.0,
        )
    };
    let breach = drill
        .alerts
        .iter()
        .map(|a| Breach {
            alert: a.name.clone(),
            severity: severity_text(a.severity).to_owned(),
            condition: condition_text(&a.when),
            minutes: minutes(&|b| breached(&a.when, b, &pools, &steps) == Some(true)),
        })
        .collect();
    // The cause's page alerts: a distraction's breach is not the incident's.
    let page_breach_minutes = minutes(&|b| {
        drill
            .alerts
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                a.severity == Severity::Page && truth.cause_alert.get(*i).copied().unwrap_or(true)
            })
            .map(|(_, a)| a)
            .any(|a| breached(&a.when, b, &pools, &steps) == Some(true))
    });
    let (failed, rejected) = (sum(|b| b.failed), sum(|b| b.rejected));
    let (users_failed, users_rejected, users_poor) = (
        sum(|b| b.users_failed),
        sum(|b| b.users_rejected),
        sum(|b| b.users_poor),
    );
    let moment = |t: Option<SimTime>| {
        t.filter(|t| *t <= horizon)
            .map(|t| Moment::new(drill.clock_start, t))
    };
    Outcome {
        horizon_seconds: horizon.as_secs_f64(),
        arrived: sum(|b| b.arrived),
        users: sum(|b| b.users),
        admitted: sum(|b| b.admitted),
        completed: sum(|b| b.completed),
        failed,
        rejected,
        degraded: sum(|b| b.degraded),
        wrong_answers: sum(|b| b.wrong_answers),
        failed_attempts: failed + rejected,
        users_failed,
        users_rejected,
        users_poor,
        harmed: users_failed + users_rejected + users_poor,
        breach,
        page_breach_minutes,
        first_page: moment(truth.first_page),
        recovered: moment(truth.recovered),
    }
}

/// Rounds to three decimals, so reports stay short and stable.
#[must_use]
pub fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// One pool's chart series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSeries {
    pub name: String,
    pub size: Vec<f64>,
    pub in_use: Vec<f64>,
    pub waiting: Vec<f64>,
    pub timeouts_per_second: Vec<f64>,
}

/// Per-bucket series of one run, for the charts. Every vector has one value per bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Each bucket's end, seconds from the start.
    pub t: Vec<f64>,
    pub offered_rps: Vec<f64>,
    pub admitted_rps: Vec<f64>,
    pub latency_p50: Vec<f64>,
    pub latency_p95: Vec<f64>,
    pub latency_p99: Vec<f64>,
    /// (failed + rejected) / (completed + failed + rejected) in the bucket.
    pub error_ratio: Vec<f64>,
    /// degraded / completed in the bucket.
    pub degraded_ratio: Vec<f64>,
    pub pools: Vec<PoolSeries>,
}

/// The chart series of `buckets` up to `horizon`.
#[must_use]
pub fn series(drill: &Drill, buckets: &[Bucket], horizon: SimTime) -> Series {
    let buckets = within(buckets, horizon);
    let col = |f: &dyn Fn(&Bucket) -> f64| buckets.iter().map(|b| round3(f(b))).collect::<Vec<_>>();
    let rate = |x: u64, b: &Bucket| {
        if b.width > 0.0 {
            x as f64 / b.width
        } else {
            0.0
        }
    };
    let ratio = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    Series {
        t: col(&|b| b.start + b.width),
        offered_rps: col(&|b| rate(b.arrived, b)),
        admitted_rps: col(&|b| rate(b.admitted, b)),
        latency_p50: col(&|b| b.latency_p50),
        latency_p95: col(&|b| b.latency_p95),
        latency_p99: col(&|b| b.latency_p99),
        error_ratio: col(&|b| ratio(b.failed + b.rejected, b.completed + b.failed + b.rejected)),
        degraded_ratio: col(&|b| ratio(b.degraded, b.completed)),
        pools: drill
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let pool = |b: &Bucket| b.pools.get(i).cloned().unwrap_or_default();
                PoolSeries {
                    name: p.name.clone(),
                    size: col(&|b| pool(b).size as f64),
                    in_use: col(&|b| pool(b).in_use),
                    waiting: col(&|b| pool(b).waiting),
                    timeouts_per_second: col(&|b| rate(pool(b).timeouts, b)),
                }
            })
            .collect(),
    }
}
