//! What the views' tests share: a monday-rush run up to a given minute, a drill with a quiet
//! pool and its own dashboard panels, the context of a run, and the sparkline of a dashboard
//! row.
//!
//! Built for tests only; no view reads it.

use super::ViewContext;
use super::layout::BARS;
use crate::drill::ClockTime;
use crate::drill::spec::Panel;
use crate::sim::{RunOptions, Sim, SimTime};
use crate::telemetry::observed::TeamView;

pub(super) const MONDAY: &str = include_str!("../../../drills/monday-rush.ron");

/// A monday-rush run up to `minutes`, with the drill's clock start.
pub(super) struct Run {
    pub(super) sim: Sim,
    clock_start: Option<ClockTime>,
}

impl Run {
    pub(super) fn monday(minutes: f64) -> Run {
        let drill = crate::drill::parse_str(MONDAY).unwrap();
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(minutes * 60.0));
        Run {
            sim,
            clock_start: drill.clock_start,
        }
    }

    pub(super) fn ctx(&self) -> ViewContext<'_> {
        context(&self.sim, self.clock_start, &[])
    }
}

/// The views' context of `sim` as of its `now`.
pub(super) fn context<'a>(
    sim: &'a Sim,
    clock_start: Option<ClockTime>,
    panels: &'a [Panel],
) -> ViewContext<'a> {
    ViewContext {
        telemetry: TeamView::new(sim.telemetry()),
        alerts: sim.alert_states(),
        now: sim.now(),
        clock_start,
        pools: sim.pool_names(),
        steps: sim.step_names(),
        panels,
    }
}

/// A drill whose pool of 40 holds about 4.5 connections: Poisson arrivals at 45/s, each
/// holding a connection for 100 ms on average.
pub(super) const QUIET_POOL: &str = r#"Drill(
    name: "quiet", title: "A quiet pool", duration: "30m",
    traffic: Traffic(start_rps: 45.0),
    pools: [Pool(name: "db", size: 40, acquire_timeout: "2s")],
    service: Service(name: "api", steps: [
        Step(name: "query", pool: "db", time: Exponential(mean: "100ms")),
        Step(name: "answer", time: Constant("50ms")),
    ]),
    dashboard: [
        Panel(title: "Answer time", metric: StepTime("answer")),
        Panel(title: "DB pool busy", metric: PoolUtilization("db")),
        Panel(title: "Requests per second", metric: Throughput, max: 100.0),
    ],
)"#;

/// The sparkline of a dashboard row.
pub(super) fn spark_of<'a>(dash: &'a str, label: &str) -> &'a str {
    let line = dash
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no row {label}: {dash}"));
    line.split("  ")
        .map(str::trim)
        .find(|part| part.chars().any(|c| BARS.contains(&c)))
        .unwrap_or_else(|| panic!("no sparkline in {line:?}"))
}
