//! The `dash` view: the current window values (what alerts see) in rows with a sparkline of
//! the last 15 minutes and their peak, grouped as traffic, latency and one section per pool
//! (or the drill's own panels, in order), then a line of the alerts that are pending or firing.
//! It fits in 80 columns.
//!
//! It does not list every alert rule ([`super::alerts`] does) and does not parse metric names:
//! a drill's panels were resolved and checked when the drill was loaded.

use std::fmt::Write as _;

use super::layout::{ago, axis, severity_name, spark, wrap};
use super::signals::{Unit, finite, observed, shown};
use super::{DEFAULT_SPAN, SCREEN_WIDTH, ViewContext};
use crate::sim::world::{AlertPhase, AlertRule, AlertState};
use crate::telemetry::observed::{Observable, ObservedBucket};
use crate::telemetry::series::Signal;

/// Sparkline characters on the dashboard (15 minutes of 10 s buckets: 20 s a character).
const DASHBOARD_SPARK: usize = 45;

/// One dashboard row: a label, the current value, the last 15 minutes, and their peak.
struct Row {
    label: String,
    now: String,
    line: String,
    peak: String,
}

/// The dashboard as of `now`: the current window values (what alerts see), a sparkline of each
/// over the last 15 minutes, and the alerts that are pending or firing. At most 80 columns.
#[must_use]
pub fn dashboard(ctx: &ViewContext) -> String {
    let mut out = String::new();
    let mut header = format!("DASHBOARD  {}", ctx.clock(ctx.now));
    if ctx.clock_start.is_some() {
        let _ = write!(header, "  ({})", ctx.now);
    }
    let mut notes = Vec::new();
    if !ctx.telemetry.window().is_zero() {
        notes.push(format!("values over {}", ctx.telemetry.window()));
    }
    if !ctx.telemetry.bucket_width().is_zero() {
        notes.push(format!("{} buckets", ctx.telemetry.bucket_width()));
    }
    if !notes.is_empty() {
        let notes = notes.join(", ");
        let pad = SCREEN_WIDTH.saturating_sub(header.chars().count() + notes.chars().count());
        let _ = write!(header, "{}{notes}", " ".repeat(pad.max(2)));
    }
    out.push_str(&header);
    out.push('\n');

    let Some(latest) = ctx.buckets().last() else {
        let _ = writeln!(
            out,
            "no data yet (first bucket closes at {})",
            ctx.first_close()
        );
        out.push_str(&alert_line(ctx));
        return out;
    };

    // One slot per bucket over the span, oldest first; slots before the first bucket are gaps.
    let recent = ctx.recent(DEFAULT_SPAN);
    let bucket_nanos = ctx.telemetry.bucket_width().as_nanos().max(1);
    let slots = (DEFAULT_SPAN.as_nanos().div_ceil(bucket_nanos) as usize)
        .max(recent.len())
        .max(1);
    let mut history: Vec<Option<ObservedBucket>> = vec![None; slots - recent.len()];
    history.extend(recent.iter().map(Some));

    // The drill's own panels are labelled by their titles: the label column widens to the
    // longest (within reason) and the sparklines give way, so a line stays within 80 columns.
    let label_width = ctx
        .panels
        .iter()
        .map(|p| p.title.chars().count() + 2)
        .fold(12, usize::max)
        .min(MAX_LABEL + 2);
    let value_width = 9;
    let spark_width = DASHBOARD_SPARK
        .min(SCREEN_WIDTH - 1 - (label_width + 1 + value_width + 2 + 2 + 8))
        .min(slots);

    let row =
        |label: &str, unit: Unit, now: String, scale: f64, f: &dyn Fn(ObservedBucket) -> f64| {
            let series: Vec<Option<f64>> = history
                .iter()
                .map(|b| b.as_ref().map(|b| finite(f(*b))))
                .collect();
            let peak = series.iter().flatten().copied().fold(0.0, f64::max);
            Row {
                label: label_text(label),
                now,
                line: spark(&series, spark_width, scale),
                peak: match unit {
                    Unit::Count => format!("{peak:.0}"),
                    _ => unit.format(peak),
                },
            }
        };
    let observable_row = |label: &str, signal: Observable, stated: Option<f64>| {
        let unit = Unit::of(signal.signal());
        let now = unit.format(observed(latest, signal));
        let scale = stated
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or_else(|| ctx.full_scale(signal));
        row(label, unit, now, scale, &|b: ObservedBucket| {
            observed(b, signal)
        })
    };
    let signal_row = |label: &str, signal: Signal| observable_row(label, shown(signal), None);

    let mut sections: Vec<(String, Vec<Row>)> = if ctx.panels.is_empty() {
        vec![
            (
                "traffic".to_owned(),
                vec![
                    signal_row("arrivals", Signal::ArrivalRate),
                    signal_row("throughput", Signal::Throughput),
                    signal_row("errors", Signal::ErrorRatio),
                    signal_row("degraded", Signal::DegradedRatio),
                    signal_row("in flight", Signal::InFlight),
                ],
            ),
            (
                "latency".to_owned(),
                vec![
                    signal_row("p50", Signal::LatencyP50),
                    signal_row("p95", Signal::LatencyP95),
                    signal_row("p99", Signal::LatencyP99),
                ],
            ),
        ]
    } else {
        // A panel that does not resolve (an unknown pool or step) or that watches ground truth
        // is refused by `check`; should one reach here, it is left out rather than shown.
        let rows = ctx
            .panels
            .iter()
            .filter_map(|panel| {
                let signal = Signal::resolve(&panel.metric, ctx.pools, ctx.steps)?;
                let signal = Observable::new(signal).ok()?;
                Some(observable_row(&panel.title, signal, panel.max))
            })
            .collect();
        vec![(String::new(), rows)]
    };
    for (p, name) in ctx.pools.iter().enumerate() {
        if !ctx.panels.is_empty() {
            break;
        }
        let size = |b: ObservedBucket| b.pool_size(p).unwrap_or(0);
        let utilization = shown(Signal::PoolUtilization(p));
        let in_use = |b: ObservedBucket| observed(b, utilization) * size(b) as f64;
        let now = format!("{}/{}", connections(in_use(latest)), size(latest));
        // In use is drawn against the pool's size (its largest since the start).
        let capacity = ctx
            .buckets()
            .iter()
            .map(|b| size(b) as f64)
            .fold(Unit::Count.least_scale(), f64::max);
        sections.push((
            format!("pool {name}"),
            vec![
                row("in use", Unit::Count, now, capacity, &in_use),
                signal_row("waiting", Signal::PoolWaiting(p)),
                signal_row("timeouts", Signal::PoolTimeoutRate(p)),
            ],
        ));
    }

    let _ = writeln!(
        out,
        "{:label_width$} {:>value_width$}  {:<spark_width$}  {:>8}",
        "",
        "now",
        format!("last {DEFAULT_SPAN}"),
        "peak"
    );
    for (title, rows) in &sections {
        if !title.is_empty() {
            let _ = writeln!(out, "{title}");
        }
        for r in rows {
            let line = format!(
                "  {:<w$} {:>value_width$}  {:<spark_width$}  {:>8}",
                r.label,
                r.now,
                r.line,
                r.peak,
                w = label_width - 2
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "{:label_width$} {:value_width$}  {}",
        "",
        "",
        axis(DEFAULT_SPAN, spark_width)
    );
    out.push_str(&alert_line(ctx));
    out
}

/// The longest label a dashboard row shows; a longer panel title is cut with `…`.
const MAX_LABEL: usize = 24;

/// `label`, cut to [`MAX_LABEL`] characters.
fn label_text(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_owned()
    } else {
        let mut cut: String = label.chars().take(MAX_LABEL - 1).collect();
        cut.push('…');
        cut
    }
}

/// Mean connections in use: whole when within a twentieth of a whole number, else one decimal.
fn connections(value: f64) -> String {
    let value = finite(value).max(0.0);
    if (value - value.round()).abs() < 0.05 {
        format!("{:.0}", value.round())
    } else {
        format!("{value:.1}")
    }
}

/// `alerts  FIRING X (page, 16m20s) · pending Y (ticket, 40s)` or `alerts  none ...`.
fn alert_line(ctx: &ViewContext) -> String {
    let mut active: Vec<&(AlertRule, AlertState)> = ctx
        .alerts
        .iter()
        .filter(|(_, s)| s.phase != AlertPhase::Inactive)
        .collect();
    if ctx.alerts.is_empty() {
        return "alerts  no alert rules in this drill\n".to_owned();
    }
    if active.is_empty() {
        return "alerts  none pending or firing\n".to_owned();
    }
    // Firing before pending, then drill order.
    active.sort_by_key(|(rule, state)| (state.phase != AlertPhase::Firing, rule.index));
    let items: Vec<String> = active
        .iter()
        .map(|(rule, state)| {
            let phase = if state.phase == AlertPhase::Firing {
                "FIRING"
            } else {
                "pending"
            };
            format!(
                "{phase} {} ({}, {})",
                rule.name,
                severity_name(rule.severity),
                ago(ctx.now.since(state.since))
            )
        })
        .collect();
    wrap("alerts  ", &items, " · ", SCREEN_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::super::layout::BARS;
    use super::super::testing::{QUIET_POOL, Run, context, spark_of};
    use super::*;
    use crate::sim::SimTime;
    use crate::sim::{RunOptions, Sim};

    #[test]
    fn before_the_first_bucket_the_dashboard_says_when_data_comes() {
        let run = Run::monday(0.05);
        let dash = dashboard(&run.ctx());
        assert!(
            dash.contains("no data yet (first bucket closes at 08:45:10)"),
            "{dash}"
        );
        assert!(dash.contains("alerts  none pending or firing"), "{dash}");
    }

    #[test]
    fn dashboard_after_the_surge_shows_a_full_pool_and_pages() {
        let run = Run::monday(60.0);
        let dash = dashboard(&run.ctx());
        for line in dash.lines() {
            assert!(line.chars().count() <= SCREEN_WIDTH, "too wide: {line:?}");
        }
        assert!(
            dash.starts_with("DASHBOARD  09:45:00  (T+01:00:00)"),
            "{dash}"
        );
        let in_use = dash.lines().find(|l| l.trim_start().starts_with("in use"));
        assert!(in_use.unwrap().contains("20/20"), "{dash}");
        let alert_line = dash
            .lines()
            .skip_while(|l| !l.starts_with("alerts"))
            .collect::<String>();
        for name in ["AriaLatencyHigh", "DbAcquireTimeouts", "DbPoolSaturated"] {
            assert!(alert_line.contains(&format!("FIRING {name}")), "{dash}");
        }
        assert!(!dash.contains("NaN"), "{dash}");
        // Before the surge: a quiet dashboard.
        let quiet = dashboard(&Run::monday(30.0).ctx());
        assert!(quiet.contains("alerts  none pending or firing"), "{quiet}");
    }

    #[test]
    fn dashboard_values_are_the_latest_window() {
        let run = Run::monday(20.0);
        let ctx = run.ctx();
        let latest = ctx.buckets().last().unwrap();
        let arrival_rate = observed(latest, shown(Signal::ArrivalRate));
        let dash = dashboard(&ctx);
        let row = dash
            .lines()
            .find(|l| l.trim_start().starts_with("arrivals"))
            .unwrap();
        assert!(row.contains(&format!("{arrival_rate:.1}/s")), "{row}");
    }

    fn run_quiet(minutes: f64, panels: bool) -> String {
        let mut drill = crate::drill::parse_str(QUIET_POOL).unwrap();
        if !panels {
            drill.dashboard.clear();
        }
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(minutes * 60.0));
        dashboard(&context(&sim, None, &drill.dashboard))
    }

    #[test]
    fn dash_sparklines_scale_pool_in_use_to_the_pool_size() {
        let dash = run_quiet(20.0, false);
        let in_use = spark_of(&dash, "in use");
        // About 4.5 of 40 connections: low bars, never full height (the window's own range
        // would draw its noise from ▁ to █).
        assert!(in_use.chars().all(|c| c <= '▂'), "{dash}");
        // A ratio is drawn against 0..100%: a pool that is 11% busy is a low line.
        let errors = spark_of(&dash, "errors");
        assert!(errors.chars().all(|c| c == '▁'), "{dash}");
        // A rate is drawn against its largest value since the start: steady traffic is a
        // band near the top, not noise from bottom to top.
        let arrivals = spark_of(&dash, "arrivals");
        assert!(arrivals.chars().all(|c| c >= '▆'), "{dash}");
    }

    #[test]
    fn dash_shows_the_drills_own_panels_in_order() {
        let dash = run_quiet(10.0, true);
        let labels: Vec<&str> = dash
            .lines()
            .filter(|l| l.chars().any(|c| BARS.contains(&c)))
            .map(|l| l.trim_start().split("  ").next().unwrap().trim())
            .collect();
        assert_eq!(
            labels,
            ["Answer time", "DB pool busy", "Requests per second"],
            "{dash}"
        );
        assert!(!dash.contains("pool db"), "{dash}");
        for line in dash.lines() {
            assert!(line.chars().count() <= SCREEN_WIDTH, "too wide: {line:?}");
        }
        // A stated scale: 45/s against 100/s is a middle band.
        let rps = spark_of(&dash, "Requests per second");
        assert!(rps.chars().all(|c| ('▃'..='▄').contains(&c)), "{dash}");
        // A constant 50 ms against the least scale of times (100 ms): a steady half height.
        assert!(
            spark_of(&dash, "Answer time").chars().all(|c| c == '▅'),
            "{dash}"
        );
    }
}
