//! The drill's own dashboard panels (`dashboard: [Panel(..)]`) over the whole run, for the
//! debrief's charts: each panel's metric as the team's dashboard read it, bucket by bucket
//! (the window values the alerts saw), in the unit a chart shows.

use crate::drill::spec::Drill;
use crate::score::impact::{metric_text, round3, within};
use crate::sim::SimTime;
use crate::telemetry::series::{Bucket, Signal, Unit};

/// One panel's series.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelSeries {
    pub title: String,
    /// `PoolUtilization(db)`.
    pub metric: String,
    /// `%`, `s`, `/s`, `$/h` or nothing (a count), as the chart's axis writes it.
    pub unit: &'static str,
    /// Each bucket's end, seconds from the start.
    pub t: Vec<f64>,
    /// In `unit` (ratios as percentages).
    pub values: Vec<f64>,
}

/// The unit a chart writes for `signal`, and the factor from the signal's own unit to it.
fn unit(signal: Signal) -> (&'static str, f64) {
    match Unit::of(signal) {
        Unit::Percent => ("%", 100.0),
        Unit::Seconds => ("s", 1.0),
        Unit::PerSecond => ("/s", 1.0),
        Unit::DollarsPerHour => ("$/h", 1.0),
        Unit::Count => ("", 1.0),
    }
}

/// Every panel of `drill`'s dashboard whose metric resolves, in drill order, up to `horizon`.
#[must_use]
pub fn panels(
    drill: &Drill,
    buckets: &[Bucket],
    pools: &[String],
    steps: &[String],
    horizon: SimTime,
) -> Vec<PanelSeries> {
    let buckets = within(buckets, horizon);
    drill
        .dashboard
        .iter()
        .filter_map(|p| {
            let signal = Signal::resolve(&p.metric, pools, steps)?;
            let (unit, scale) = unit(signal);
            Some(PanelSeries {
                title: p.title.clone(),
                metric: metric_text(&p.metric),
                unit,
                t: buckets.iter().map(|b| round3(b.start + b.width)).collect(),
                values: buckets
                    .iter()
                    .map(|b| round3(b.window.get(signal).unwrap_or(0.0) * scale))
                    .collect(),
            })
        })
        .collect()
}
