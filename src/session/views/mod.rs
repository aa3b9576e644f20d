//! What the team sees at the drill prompt: the dashboard, the alert list, the request log and
//! single metrics, rendered as plain terminal text from the run's telemetry as of a moment.
//!
//! Every function here is pure: it reads a [`ViewContext`] (telemetry, alert states, the
//! simulated `now`, the drill's wall-clock start and its pool names) and returns a `String`
//! (or an error message for input the team typed wrongly). Output is deterministic, UTF-8, free
//! of ANSI colours and of `NaN`, and the dashboard fits in 80 columns. This module does not
//! parse commands, run the simulation, read the wall clock or print anything: the session
//! decides what to show and where.
//!
//! This file owns what every view shares: the [`ViewContext`], the clock readings and the
//! screen's width. Each view has a file of its own (`dashboard`, `alerts`, `logs`, `metric`);
//! `signals` names, parses and formats the metrics; `layout` draws sparklines, bars, axes,
//! tables and wrapped lines.

mod alerts;
mod dashboard;
mod layout;
mod logs;
mod metric;
mod signals;
#[cfg(test)]
mod testing;

use crate::drill::spec::Panel;
use crate::drill::{ClockTime, Duration};
use crate::sim::SimTime;
use crate::sim::world::{AlertRule, AlertState};
use crate::telemetry::observed::{Observable, ObservedBucket, ObservedBuckets, TeamView};

pub use self::alerts::alerts;
pub use self::dashboard::dashboard;
pub use self::layout::sparkline;
pub use self::logs::{DEFAULT_LOG_LIMIT, LogFilter, logs};
pub use self::metric::metric;
use self::signals::{Unit, observed};
pub use self::signals::{metric_names, parse_metric};

/// How far back the dashboard's sparklines and `metric` look by default.
pub const DEFAULT_SPAN: Duration = Duration::from_secs(15 * 60);

/// The widest line the dashboard may print.
const SCREEN_WIDTH: usize = 80;

/// Everything a view needs to know, borrowed from the session.
#[derive(Debug, Clone, Copy)]
pub struct ViewContext<'a> {
    /// Metric buckets (each with the `window` values alerts saw) and the request log, as a
    /// real team sees them: ground truth cannot be read through it.
    pub telemetry: TeamView<'a>,
    /// The drill's alert rules in drill order, with their states.
    pub alerts: &'a [(AlertRule, AlertState)],
    /// The moment shown: buckets and log lines after it are left out.
    pub now: SimTime,
    /// The drill's wall clock at T+0, for `09:27:10`-style times; without it times read `T+00:42:10`.
    pub clock_start: Option<ClockTime>,
    /// Pool names in drill order (the index of `PoolBucket` and `PoolWindow`).
    pub pools: &'a [String],
    /// Step names in pipeline order (the index of `StepWindow`).
    pub steps: &'a [String],
    /// The drill's own dashboard panels, in order; empty for the default dashboard.
    pub panels: &'a [Panel],
}

impl ViewContext<'_> {
    /// `t` on this drill's clock; see [`clock`].
    #[must_use]
    pub fn clock(&self, t: SimTime) -> String {
        clock(self.clock_start, t)
    }

    /// The buckets that have closed by `now`, oldest first.
    fn buckets(&self) -> ObservedBuckets<'_> {
        self.telemetry
            .buckets()
            .prefix_while(|b| bucket_end(b) <= self.now)
    }

    /// The buckets that closed within `span` before `now`, oldest first.
    fn recent(&self, span: Duration) -> ObservedBuckets<'_> {
        let from = self.now.nanos().saturating_sub(span.as_nanos());
        self.buckets().from_first(|b| bucket_end(b).nanos() <= from)
    }

    /// The full scale a sparkline or bar of `signal` is drawn against, so that its height
    /// reads as the metric's level and not as the window's own range: ratios against 0..1,
    /// and rates, times and counts against the largest value seen since the start of the
    /// drill (never below the unit's least scale).
    fn full_scale(&self, signal: Observable) -> f64 {
        let unit = Unit::of(signal.signal());
        match unit {
            Unit::Percent => 1.0,
            _ => self
                .buckets()
                .iter()
                .map(|b| observed(b, signal))
                .fold(unit.least_scale(), f64::max),
        }
    }

    /// When the first bucket closes, for "no data yet" messages.
    fn first_close(&self) -> String {
        let width = self.telemetry.bucket_width();
        if width.is_zero() {
            "the end of the first bucket".to_owned()
        } else {
            self.clock(SimTime::from(width))
        }
    }
}

/// `t` as a wall-clock reading (`09:27:10`) when the drill has a clock start, else as an offset
/// from the start of the drill (`T+00:42:10`).
#[must_use]
pub fn clock(clock_start: Option<ClockTime>, t: SimTime) -> String {
    match clock_start {
        Some(start) => start.after(t.since_start()),
        None => t.to_string(),
    }
}

/// [`clock`] with milliseconds: `09:27:10.123`.
fn clock_millis(clock_start: Option<ClockTime>, t: SimTime) -> String {
    format!(
        "{}.{:03}",
        clock(clock_start, t),
        (t.nanos() / 1_000_000) % 1000
    )
}

/// The instant a bucket closed.
fn bucket_end(bucket: ObservedBucket) -> SimTime {
    SimTime::from_secs_f64(bucket.start() + bucket.width())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_wall_time_or_offset() {
        let t = SimTime::from_secs_f64(42.0 * 60.0 + 10.0);
        let start = ClockTime::parse("08:45").ok();
        assert_eq!(clock(start, t), "09:27:10");
        assert_eq!(clock(None, t), "T+00:42:10");
        let t = SimTime::from_nanos(t.nanos() + 123_456_789);
        assert_eq!(clock_millis(start, t), "09:27:10.123");
    }

    #[test]
    fn empty_telemetry_renders_without_data() {
        let telemetry = crate::sim::world::Telemetry::default();
        let ctx = ViewContext {
            telemetry: TeamView::new(&telemetry),
            alerts: &[],
            now: SimTime::ZERO,
            clock_start: None,
            pools: &[],
            steps: &[],
            panels: &[],
        };
        let dash = dashboard(&ctx);
        assert!(dash.contains("no data yet"), "{dash}");
        assert_eq!(alerts(&ctx), "no alert rules in this drill\n");
        assert!(logs(&ctx, &LogFilter::default()).unwrap().contains("empty"));
        let metric = metric(&ctx, "throughput", None).unwrap();
        assert!(metric.contains("no data yet"), "{metric}");
        for text in [dash, metric] {
            assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
        }
    }
}
