//! What the team sees at the drill prompt: the dashboard, the alert list, the request log and
//! single metrics, rendered as plain terminal text from the run's telemetry as of a moment.
//!
//! Every function here is pure: it reads a [`ViewContext`] (telemetry, alert states, the
//! simulated `now`, the drill's wall-clock start and its pool names) and returns a `String`
//! (or an error message for input the team typed wrongly). Output is deterministic, UTF-8, free
//! of ANSI colours and of `NaN`, and the dashboard fits in 80 columns. This module does not
//! parse commands, run the simulation, read the wall clock or print anything: the session
//! decides what to show and where.

use std::fmt::Write as _;

use crate::drill::spec::{Panel, Severity};
use crate::drill::{ClockTime, Duration, suggest};
use crate::sim::SimTime;
use crate::sim::world::{AlertPhase, AlertRule, AlertState};
use crate::telemetry::log::{Level, LogLine};
use crate::telemetry::observed::{Observable, ObservedBucket, ObservedBuckets, TeamView};
use crate::telemetry::series::Signal;

/// How far back the dashboard's sparklines and `metric` look by default.
pub const DEFAULT_SPAN: Duration = Duration::from_secs(15 * 60);

/// Request-log lines `logs` shows when no limit is given.
pub const DEFAULT_LOG_LIMIT: usize = 20;

/// The widest line the dashboard may print.
const SCREEN_WIDTH: usize = 80;

/// Sparkline characters on the dashboard (15 minutes of 10 s buckets: 20 s a character).
const DASHBOARD_SPARK: usize = 45;

/// Most sparkline characters `metric` prints.
const METRIC_SPARK: usize = 72;

/// Width of the bar next to each row of the `metric` table.
const METRIC_BAR: usize = 24;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

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

// ---------------------------------------------------------------------------------------------
// Metrics: names, units, values
// ---------------------------------------------------------------------------------------------

/// Metrics that are not about a pool, by the name the team types.
const GLOBAL_METRICS: [(&str, Signal); 15] = [
    ("arrival_rate", Signal::ArrivalRate),
    ("throughput", Signal::Throughput),
    ("error_rate", Signal::ErrorRate),
    ("error_ratio", Signal::ErrorRatio),
    ("rejected_rate", Signal::RejectedRate),
    ("degraded_ratio", Signal::DegradedRatio),
    ("wrong_answer_ratio", Signal::WrongAnswerRatio),
    ("latency_p50", Signal::LatencyP50),
    ("latency_p95", Signal::LatencyP95),
    ("latency_p99", Signal::LatencyP99),
    ("in_flight", Signal::InFlight),
    ("retry_rate", Signal::RetryRate),
    ("token_rate", Signal::TokenRate),
    ("cost_rate", Signal::CostRate),
    ("eval_wrong_answer_ratio", Signal::EvalWrongAnswerRatio),
];

/// Makes a per-pool signal from the pool's index.
type PoolSignal = fn(usize) -> Signal;

/// Metrics about one pool, written `name:pool`.
const POOL_METRICS: [(&str, PoolSignal); 4] = [
    ("pool_utilization", Signal::PoolUtilization),
    ("pool_waiting", Signal::PoolWaiting),
    ("pool_size", Signal::PoolSize),
    ("pool_timeout_rate", Signal::PoolTimeoutRate),
];

/// Makes a per-step signal from the step's index.
type StepSignal = fn(usize) -> Signal;

/// Metrics about one step, written `name:step`.
const STEP_METRICS: [(&str, StepSignal); 2] = [
    ("step_time", Signal::StepTime),
    ("step_error_ratio", Signal::StepErrorRatio),
];

/// Every metric name `metric` accepts for a drill with these pools and steps, in a fixed
/// order: the service-wide ones a real team can observe, then three per pool
/// (`pool_utilization:db`, ...), then two per step (`step_time:generate`, ...).
#[must_use]
pub fn metric_names(pools: &[String], steps: &[String]) -> Vec<String> {
    let mut names: Vec<String> = GLOBAL_METRICS
        .iter()
        .filter(|(_, signal)| !signal.is_ground_truth())
        .map(|(name, _)| (*name).to_owned())
        .collect();
    for pool in pools {
        for (name, _) in POOL_METRICS {
            names.push(format!("{name}:{pool}"));
        }
    }
    for step in steps {
        for (name, _) in STEP_METRICS {
            names.push(format!("{name}:{step}"));
        }
    }
    names
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    PerSecond,
    Percent,
    Seconds,
    Count,
    DollarsPerHour,
}

impl Unit {
    fn of(signal: Signal) -> Unit {
        match signal {
            Signal::ArrivalRate
            | Signal::Throughput
            | Signal::ErrorRate
            | Signal::RejectedRate
            | Signal::RetryRate
            | Signal::TokenRate
            | Signal::PoolTimeoutRate(_) => Unit::PerSecond,
            Signal::ErrorRatio
            | Signal::DegradedRatio
            | Signal::WrongAnswerRatio
            | Signal::EvalWrongAnswerRatio
            | Signal::PoolUtilization(_)
            | Signal::StepErrorRatio(_) => Unit::Percent,
            Signal::CostRate => Unit::DollarsPerHour,
            Signal::LatencyP50 | Signal::LatencyP95 | Signal::LatencyP99 | Signal::StepTime(_) => {
                Unit::Seconds
            }
            Signal::InFlight | Signal::PoolWaiting(_) | Signal::PoolSize(_) => Unit::Count,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::PerSecond => "per second",
            Unit::Percent => "%",
            Unit::Seconds => "seconds",
            Unit::Count => "count",
            Unit::DollarsPerHour => "dollars per hour",
        }
    }

    /// The smallest full scale a sparkline or bar of this unit is drawn to: a change smaller
    /// than this is noise to an operator.
    fn least_scale(self) -> f64 {
        match self {
            Unit::PerSecond | Unit::Seconds => 0.1,
            Unit::Percent => 0.01,
            Unit::Count | Unit::DollarsPerHour => 1.0,
        }
    }

    /// A value for a table or dashboard row (ratios are stored as fractions).
    fn format(self, value: f64) -> String {
        let value = finite(value);
        match self {
            Unit::PerSecond => format!("{value:.1}/s"),
            Unit::Percent => format!("{:.1}%", value * 100.0),
            Unit::Seconds => format!("{value:.2} s"),
            Unit::Count => format!("{value:.1}"),
            Unit::DollarsPerHour => format!("${value:.2}/h"),
        }
    }

    /// A threshold, as short as it is exact to two decimals: `5s`, `95%`, `1/s`.
    fn format_threshold(self, value: f64) -> String {
        let value = finite(value);
        match self {
            Unit::PerSecond => format!("{}/s", compact(value)),
            Unit::Percent => format!("{}%", compact(value * 100.0)),
            Unit::Seconds => format!("{}s", compact(value)),
            Unit::Count => compact(value),
            Unit::DollarsPerHour => format!("${}/h", compact(value)),
        }
    }
}

/// `5`, `0.95`, `12.5`: two decimals with trailing zeros removed.
fn compact(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The value, or zero when it is not a finite number.
fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// What the alert conditions saw for `signal` at the end of `bucket` (zero for a pool or step
/// the bucket does not know).
fn observed(bucket: ObservedBucket, signal: Observable) -> f64 {
    finite(bucket.value(signal).unwrap_or(0.0))
}

/// A signal the dashboard always shows; none of them is ground truth.
fn shown(signal: Signal) -> Observable {
    Observable::new(signal).expect("the default dashboard shows only observable signals")
}

/// The name the team types for `signal`.
fn signal_name(signal: Signal, pools: &[String], steps: &[String]) -> String {
    let name =
        |names: &[String], i: usize| names.get(i).map_or_else(|| format!("#{i}"), Clone::clone);
    if let Some((name, _)) = GLOBAL_METRICS.iter().find(|(_, s)| *s == signal) {
        return (*name).to_owned();
    }
    match signal {
        Signal::PoolUtilization(i) => format!("pool_utilization:{}", name(pools, i)),
        Signal::PoolWaiting(i) => format!("pool_waiting:{}", name(pools, i)),
        Signal::PoolSize(i) => format!("pool_size:{}", name(pools, i)),
        Signal::PoolTimeoutRate(i) => format!("pool_timeout_rate:{}", name(pools, i)),
        Signal::StepTime(i) => format!("step_time:{}", name(steps, i)),
        Signal::StepErrorRatio(i) => format!("step_error_ratio:{}", name(steps, i)),
        _ => format!("{signal:?}"),
    }
}

/// Lower case without `_` and `-`, so `LatencyP95`, `latency-p95` and `latency_p95` agree.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Resolves a metric name as typed (`latency_p95`, `pool_waiting:db`, `step_time:generate`)
/// to a signal the team may see; a ground-truth metric is refused with the reason.
pub fn parse_metric(text: &str, pools: &[String], steps: &[String]) -> Result<Observable, String> {
    let signal = parse_signal(text, pools, steps)?;
    Observable::new(signal).map_err(|truth| truth.to_string())
}

/// Resolves a metric name as typed, ground truth included.
fn parse_signal(text: &str, pools: &[String], steps: &[String]) -> Result<Signal, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!(
            "which metric? one of: {}",
            metric_names(pools, steps).join(", ")
        ));
    }
    if let Some((first, rest)) = text.split_once(char::is_whitespace) {
        let rest = rest.trim();
        let key = normalize(first);
        let kind = if POOL_METRICS.iter().any(|(n, _)| normalize(n) == key) {
            Some("pool")
        } else if STEP_METRICS.iter().any(|(n, _)| normalize(n) == key) {
            Some("step")
        } else {
            None
        };
        if let Some(kind) = kind {
            return Err(format!(
                "write the {kind} after a colon: `{}:{rest}`",
                first.to_lowercase()
            ));
        }
        return Err(format!(
            "`{text}` is not a metric name (one word, e.g. `latency_p95` or `pool_waiting:db`)"
        ));
    }
    let (base, qualifier) = match text.split_once(':') {
        Some((base, qualifier)) => (base, Some(qualifier.trim())),
        None => (text, None),
    };
    let key = normalize(base);
    if let Some((name, signal)) = GLOBAL_METRICS.iter().find(|(n, _)| normalize(n) == key) {
        return match qualifier {
            None => Ok(*signal),
            Some(_) => Err(format!(
                "`{name}` is not a pool or step metric: write just `{name}`"
            )),
        };
    }
    if let Some((name, make)) = POOL_METRICS.iter().find(|(n, _)| normalize(n) == key) {
        return qualified(name, qualifier, pools, "pool", *make);
    }
    if let Some((name, make)) = STEP_METRICS.iter().find(|(n, _)| normalize(n) == key) {
        return qualified(name, qualifier, steps, "step", *make);
    }
    let names = metric_names(pools, steps);
    let near = closest(text, &names);
    let hint = if near.is_empty() {
        format!("metrics are: {}", names.join(", "))
    } else {
        let quoted: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
        match quoted.split_last() {
            Some((last, init)) if !init.is_empty() => {
                format!("did you mean {} or {last}?", init.join(", "))
            }
            _ => format!("did you mean {}?", quoted.join("")),
        }
    };
    Err(format!("unknown metric `{text}`: {hint}"))
}

/// `name:qualifier` for a metric about one pool or step (`kind`), among `defined`.
fn qualified(
    name: &str,
    qualifier: Option<&str>,
    defined: &[String],
    kind: &str,
    make: fn(usize) -> Signal,
) -> Result<Signal, String> {
    let choices = || {
        if defined.is_empty() {
            format!("this drill has no {kind}s")
        } else {
            let all: Vec<String> = defined.iter().map(|d| format!("`{name}:{d}`")).collect();
            format!("try {}", all.join(" or "))
        }
    };
    let Some(wanted) = qualifier.filter(|q| !q.is_empty()) else {
        return Err(format!("`{name}` needs a {kind}: {}", choices()));
    };
    defined
        .iter()
        .position(|d| d == wanted)
        .or_else(|| defined.iter().position(|d| d.eq_ignore_ascii_case(wanted)))
        .map(make)
        .ok_or_else(|| format!("no {kind} named `{wanted}`: {}", choices()))
}

/// The candidates nearest to `name` (all of those tied), if within a third of the name's
/// length (at least one edit).
fn closest<'a>(name: &str, candidates: &'a [String]) -> Vec<&'a str> {
    let name = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    let scored: Vec<(usize, &str)> = candidates
        .iter()
        .map(|c| (suggest::edit_distance(&name, &c.to_lowercase()), c.as_str()))
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    let best = scored.iter().map(|(d, _)| *d).min();
    scored
        .into_iter()
        .filter(|(d, _)| Some(*d) == best)
        .map(|(_, c)| c)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sparklines and text layout
// ---------------------------------------------------------------------------------------------

/// `values` as `▁▂▃▄▅▆▇█`, scaled from zero to their maximum (all zero: all `▁`). More values
/// than `width` are resampled into `width` groups, each shown by its maximum so that no spike
/// disappears; fewer values are never stretched (one character each). Negative and non-finite
/// values count as zero.
#[must_use]
pub fn sparkline(values: &[f64], width: usize) -> String {
    let values: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
    spark(&values, width, 0.0)
}

/// [`sparkline`] with gaps (a group with no value is a space) and a least full scale, so that
/// noise around zero does not draw as a wall of full blocks.
fn spark(values: &[Option<f64>], width: usize, least_scale: f64) -> String {
    let n = values.len();
    let width = width.min(n);
    if width == 0 {
        return String::new();
    }
    let clean = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let groups: Vec<Option<f64>> = (0..width)
        .map(|i| {
            values[i * n / width..(i + 1) * n / width]
                .iter()
                .flatten()
                .map(|v| clean(*v))
                .reduce(f64::max)
        })
        .collect();
    let max = groups.iter().flatten().copied().fold(least_scale, f64::max);
    groups
        .iter()
        .map(|group| match group {
            None => ' ',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => BARS[((v / max * 7.0).round() as usize).min(7)],
        })
        .collect()
}

/// A horizontal bar of `value` against `max`, `width` characters at most, in eighths.
fn bar(value: f64, max: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max <= 0.0 || !value.is_finite() || value <= 0.0 {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        out.push(EIGHTHS[eighths % 8]);
    }
    out
}

/// A time axis under a sparkline of `width` characters covering `span` up to now: `-15m` at
/// the left, `now` at the right, and a mark at each third in between.
fn axis(span: Duration, width: usize) -> String {
    let mut line: Vec<char> = vec![' '; width];
    let mut put = |at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            if let Some(slot) = line.get_mut(at + i) {
                *slot = c;
            }
        }
    };
    let label = |ago: u64| format!("-{}", Duration::from_secs(ago));
    let secs = span.as_nanos() / 1_000_000_000;
    if width >= 24 && secs >= 3 {
        for third in 1..3u64 {
            let text = label(secs * (3 - third) / 3);
            let centre = width * third as usize / 3;
            put(centre.saturating_sub(text.chars().count() / 2), &text);
        }
    }
    put(0, &label(secs));
    put(width.saturating_sub(3), "now");
    line.into_iter().collect::<String>().trim_end().to_owned()
}

/// Lays out rows as columns two spaces apart; `right[i]` right-aligns column `i`.
fn table(rows: &[Vec<String>], right: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if right.get(c).copied().unwrap_or(false) {
                let _ = write!(line, "{cell:>w$}", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:<w$}", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `lead` and then `items` joined by `separator`, wrapping between items so that no line passes
/// `width` (an item longer than a line gets a line of its own); continuation lines are
/// indented to `lead`'s width.
fn wrap(lead: &str, items: &[String], separator: &str, width: usize) -> String {
    let indent = " ".repeat(lead.chars().count());
    let mut lines = vec![lead.to_owned()];
    let mut empty = true;
    for item in items {
        let line = lines.last_mut().expect("at least one line");
        let len = line.chars().count();
        if empty {
            line.push_str(item);
        } else if len + separator.chars().count() + item.chars().count() <= width {
            line.push_str(separator);
            line.push_str(item);
        } else {
            lines.push(format!("{indent}{item}"));
        }
        empty = false;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whole seconds of `d`, for "since" columns: `16m20s`.
fn ago(d: Duration) -> String {
    Duration::from_secs(d.as_nanos() / 1_000_000_000).to_string()
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

// ---------------------------------------------------------------------------------------------
// dashboard
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// alerts
// ---------------------------------------------------------------------------------------------

/// Every alert rule in drill order: severity, phase and since when, the last value it saw
/// against its condition, and how often it has fired.
#[must_use]
pub fn alerts(ctx: &ViewContext) -> String {
    if ctx.alerts.is_empty() {
        return "no alert rules in this drill\n".to_owned();
    }
    let count = |phase: AlertPhase| ctx.alerts.iter().filter(|(_, s)| s.phase == phase).count();
    let mut out = format!(
        "ALERTS  {}  {} firing, {} pending, {} inactive\n",
        ctx.clock(ctx.now),
        count(AlertPhase::Firing),
        count(AlertPhase::Pending),
        count(AlertPhase::Inactive)
    );
    let mut rows = vec![
        [
            "NAME",
            "SEVERITY",
            "STATE",
            "SINCE",
            "VALUE",
            "FIRED",
            "CONDITION",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for (rule, state) in ctx.alerts {
        let unit = Unit::of(rule.signal);
        let (phase, since) = match state.phase {
            AlertPhase::Inactive => ("inactive", String::new()),
            AlertPhase::Pending => ("pending", ctx.clock(state.since)),
            AlertPhase::Firing => ("FIRING", ctx.clock(state.since)),
        };
        let state_text = match state.phase {
            AlertPhase::Inactive => phase.to_owned(),
            _ => format!("{phase} {}", ago(ctx.now.since(state.since))),
        };
        let mut condition = format!(
            "{} {} {}",
            signal_name(rule.signal, ctx.pools, ctx.steps),
            if rule.above { ">" } else { "<" },
            unit.format_threshold(rule.threshold)
        );
        if !rule.hold.is_zero() {
            let _ = write!(condition, " for {}", rule.hold);
        }
        let evaluated = state.phase != AlertPhase::Inactive
            || !state.pending_at.is_empty()
            || !ctx.buckets().is_empty();
        rows.push(vec![
            rule.name.clone(),
            severity_name(rule.severity).to_owned(),
            state_text,
            since,
            if rule.signal.is_ground_truth() {
                // An alert on ground truth (`check` warns about it) still fires, but the team
                // is not shown the value it saw.
                "hidden".to_owned()
            } else if evaluated {
                unit.format(state.last_value)
            } else {
                "-".to_owned()
            },
            format!("{}×", state.fired_at.len()),
            condition,
        ]);
    }
    out.push_str(&table(
        &rows,
        &[false, false, false, false, true, true, false],
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// logs
// ---------------------------------------------------------------------------------------------

/// Which request-log lines `logs` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// The least severe level shown (`Warn` shows warnings and errors).
    pub level: Option<Level>,
    /// Only lines from this long before `now`.
    pub last: Option<Duration>,
    /// Only lines whose message, step or pool contains this, ignoring case.
    pub grep: Option<String>,
    /// The most lines shown: the latest ones.
    pub limit: usize,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            level: None,
            last: None,
            grep: None,
            limit: DEFAULT_LOG_LIMIT,
        }
    }
}

impl LogFilter {
    /// `level ≥ warn, last 5m, grep "timeout"`, or empty for no filter.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(level) = self.level.filter(|l| *l > Level::Info) {
            parts.push(format!("level ≥ {}", level.as_str()));
        }
        if let Some(last) = self.last {
            parts.push(format!("last {last}"));
        }
        if let Some(grep) = self.needle() {
            parts.push(format!("grep \"{grep}\""));
        }
        parts.join(", ")
    }

    fn needle(&self) -> Option<&str> {
        self.grep
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
    }
}

/// The latest `filter.limit` request-log lines up to `now` that pass `filter`, oldest first,
/// under a header that says how many matched in all.
pub fn logs(ctx: &ViewContext, filter: &LogFilter) -> Result<String, String> {
    if filter.limit == 0 {
        return Err("limit must be at least 1".to_owned());
    }
    if filter.last.is_some_and(Duration::is_zero) {
        return Err("`last` must be longer than 0s, e.g. last=5m".to_owned());
    }
    let now = ctx.now.nanos();
    let log = ctx.telemetry.log();
    let visible = &log[..log.partition_point(|l| l.at_nanos <= now)];
    let from = filter.last.map(|last| now.saturating_sub(last.as_nanos()));
    let needle = filter.needle().map(str::to_lowercase);
    let matches = |line: &LogLine| {
        filter.level.is_none_or(|min| line.level >= min)
            && from.is_none_or(|from| line.at_nanos >= from)
            && needle.as_deref().is_none_or(|needle| {
                line.message().to_lowercase().contains(needle)
                    || [&line.step, &line.pool]
                        .into_iter()
                        .flatten()
                        .any(|s| s.to_lowercase().contains(needle))
            })
    };
    let matched: Vec<&LogLine> = visible.iter().filter(|l| matches(l)).collect();
    let described = filter.describe();
    if matched.is_empty() {
        return Ok(if visible.is_empty() {
            let close = if ctx.buckets().is_empty() {
                format!(", first at {}", ctx.first_close())
            } else {
                String::new()
            };
            format!("the request log is empty so far (lines arrive as each bucket closes{close})\n")
        } else {
            format!(
                "no request-log lines match {described} ({} lines up to {})\n",
                visible.len(),
                ctx.clock(ctx.now)
            )
        });
    }
    let shown = &matched[matched.len().saturating_sub(filter.limit)..];
    let mut out = String::from("REQUEST LOG");
    if !described.is_empty() {
        let _ = write!(out, "  {described}");
    }
    if shown.len() < matched.len() {
        let _ = writeln!(
            out,
            "  (last {} of {} matching lines)",
            shown.len(),
            matched.len()
        );
    } else {
        let _ = writeln!(
            out,
            "  ({} matching line{})",
            matched.len(),
            if matched.len() == 1 { "" } else { "s" }
        );
    }
    let fields: Vec<String> = shown
        .iter()
        .map(|line| {
            let mut text = format!("req={}", line.request);
            if let Some(step) = &line.step {
                let _ = write!(text, " step={step}");
            }
            if let Some(pool) = &line.pool {
                let _ = write!(text, " pool={pool}");
            }
            text
        })
        .collect();
    let width = fields.iter().map(|f| f.chars().count()).max().unwrap_or(0);
    for (line, fields) in shown.iter().zip(&fields) {
        let _ = writeln!(
            out,
            "{} {:<5} {fields:<width$}  {}",
            clock_millis(ctx.clock_start, SimTime::from_nanos(line.at_nanos)),
            line.level.as_str().to_uppercase(),
            line.message()
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// metric
// ---------------------------------------------------------------------------------------------

/// One metric over `last` (default 15 minutes): the window value at every bucket as a
/// sparkline, then a table with a row per minute (the value at the bucket that closed on or
/// just after the minute).
pub fn metric(ctx: &ViewContext, name: &str, last: Option<Duration>) -> Result<String, String> {
    let observable = parse_metric(name, ctx.pools, ctx.steps)?;
    let signal = observable.signal();
    let span = last.unwrap_or(DEFAULT_SPAN);
    if span.is_zero() {
        return Err("`last` must be longer than 0s, e.g. last=15m".to_owned());
    }
    let name = signal_name(signal, ctx.pools, ctx.steps);
    let unit = Unit::of(signal);
    let recent = ctx.recent(span);
    let Some(latest) = recent.last() else {
        return Ok(if ctx.buckets().is_empty() {
            format!(
                "{name}: no data yet (first bucket closes at {})\n",
                ctx.first_close()
            )
        } else {
            format!("{name}: no bucket closed in the last {span}\n")
        });
    };
    let values: Vec<f64> = recent.iter().map(|b| observed(b, observable)).collect();
    let peak = values.iter().copied().fold(0.0, f64::max);
    let now = observed(latest, observable);
    let scale = ctx.full_scale(observable).max(peak);

    let mut out = format!("{name} ({})", unit.name());
    if !ctx.telemetry.window().is_zero() {
        let _ = write!(out, " over {}", ctx.telemetry.window());
    }
    let _ = writeln!(
        out,
        ", last {span}: now {}, peak {}",
        unit.format(now),
        unit.format(peak)
    );

    // Even groups of buckets per character, at most METRIC_SPARK characters.
    let group = values.len().div_ceil(METRIC_SPARK).max(1);
    let width = values.len().div_ceil(group);
    let slots: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
    let _ = writeln!(out, "  {}", spark(&slots, width, scale));
    let _ = writeln!(out, "  {}", axis(span, width));

    let mut rows = vec![vec!["TIME".to_owned(), "VALUE".to_owned(), String::new()]];
    for bucket in recent.iter() {
        let (start, end) = (bucket.start(), bucket.start() + bucket.width());
        if (end / 60.0 + 1e-9).floor() > (start / 60.0 + 1e-9).floor() {
            let value = observed(bucket, observable);
            rows.push(vec![
                ctx.clock(bucket_end(bucket)),
                unit.format(value),
                bar(value, scale, METRIC_BAR),
            ]);
        }
    }
    if rows.len() > 1 {
        out.push('\n');
        out.push_str(&table(&rows, &[false, true, false]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{RunOptions, Sim};

    const MONDAY: &str = include_str!("../../drills/monday-rush.ron");

    /// A monday-rush run up to `minutes`, with the drill's clock start.
    struct Run {
        sim: Sim,
        clock_start: Option<ClockTime>,
    }

    impl Run {
        fn monday(minutes: f64) -> Run {
            let drill = crate::drill::parse_str(MONDAY).unwrap();
            let mut sim = Sim::new(&drill, &RunOptions::default());
            sim.run_until(SimTime::from_secs_f64(minutes * 60.0));
            Run {
                sim,
                clock_start: drill.clock_start,
            }
        }

        fn ctx(&self) -> ViewContext<'_> {
            ViewContext {
                telemetry: TeamView::new(self.sim.telemetry()),
                alerts: self.sim.alert_states(),
                now: self.sim.now(),
                clock_start: self.clock_start,
                pools: self.sim.pool_names(),
                steps: self.sim.step_names(),
                panels: &[],
            }
        }
    }

    fn level_of(line: &str) -> &str {
        line.split_whitespace().nth(1).unwrap()
    }

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
    fn sparklines() {
        let ramp: Vec<f64> = (0..8).map(f64::from).collect();
        assert_eq!(sparkline(&ramp, 8), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[0.0; 5], 5), "▁▁▁▁▁");
        assert_eq!(sparkline(&[], 10), "");
        assert_eq!(sparkline(&[1.0, 2.0], 0), "");
        // Resampling keeps each group's maximum: the spike survives.
        assert_eq!(sparkline(&[0.0, 0.0, 0.0, 8.0, 0.0, 0.0], 3), "▁█▁");
        assert_eq!(sparkline(&ramp, 4), "▂▄▆█");
        // Never stretched; NaN and negatives count as zero.
        assert_eq!(sparkline(&[f64::NAN, -3.0, 2.0], 10), "▁▁█");
        // Views draw noise near zero flat, and gaps (no bucket yet) as spaces.
        assert_eq!(spark(&[Some(0.0), Some(0.003)], 2, 1.0), "▁▁");
        assert_eq!(spark(&[None, None, Some(1.0), Some(2.0)], 4, 0.0), "  ▅█");
    }

    #[test]
    fn wrapping_keeps_items_whole() {
        let items: Vec<String> = ["alpha beta", "gamma", "delta epsilon"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            wrap("x: ", &items, " · ", 20),
            "x: alpha beta\n   gamma\n   delta epsilon\n"
        );
        assert_eq!(
            wrap("x: ", &items, " · ", 80),
            "x: alpha beta · gamma · delta epsilon\n"
        );
    }

    #[test]
    fn metric_names_cover_every_signal() {
        let pools = vec!["db".to_owned(), "cache".to_owned()];
        let steps = vec!["retrieve".to_owned(), "generate".to_owned()];
        let names = metric_names(&pools, &steps);
        // Every service-wide metric but the one that is ground truth.
        assert_eq!(names.len(), GLOBAL_METRICS.len() - 1 + 3 * 2 + 2 * 2);
        for name in &names {
            let signal = parse_metric(name, &pools, &steps).unwrap().signal();
            assert_eq!(&signal_name(signal, &pools, &steps), name);
        }
        let parse = |name: &str| parse_metric(name, &pools, &steps).map(Observable::signal);
        assert_eq!(parse("LatencyP95"), Ok(Signal::LatencyP95));
        assert_eq!(parse("pool-waiting:cache"), Ok(Signal::PoolWaiting(1)));
        assert_eq!(parse("StepTime:Generate"), Ok(Signal::StepTime(1)));
    }

    #[test]
    fn metric_errors_say_what_to_type() {
        let pools = vec!["db".to_owned()];
        let steps = vec!["generate".to_owned()];
        let err = |name: &str| parse_metric(name, &pools, &steps).unwrap_err();
        assert_eq!(
            err("latency_p59"),
            "unknown metric `latency_p59`: did you mean `latency_p50`, `latency_p95` or `latency_p99`?"
        );
        assert_eq!(
            err("latnecy_p95"),
            "unknown metric `latnecy_p95`: did you mean `latency_p95`?"
        );
        assert!(err("througput").ends_with("did you mean `throughput`?"));
        assert!(err("pool_utilisation:db").contains("did you mean `pool_utilization:db`?"));
        assert!(err("pool_utilization").contains("`pool_utilization:db`"));
        assert!(err("pool_utilization db").contains("`pool_utilization:db`"));
        assert!(err("pool_waiting:cache").starts_with("no pool named `cache`"));
        assert!(err("throughput:db").contains("not a pool or step metric"));
        assert!(err("step_time").contains("needs a step: try `step_time:generate`"));
        assert!(err("step_time generate").contains("`step_time:generate`"));
        assert!(err("step_error_ratio:llm").starts_with("no step named `llm`"));
        assert!(err("qwertyuiop").contains("metrics are: arrival_rate"));
        assert!(
            parse_metric("pool_waiting:db", &[], &[])
                .unwrap_err()
                .contains("no pools")
        );
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

    #[test]
    fn alerts_list_every_rule_with_its_condition() {
        let run = Run::monday(60.0);
        let text = alerts(&run.ctx());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + run.sim.alert_states().len(), "{text}");
        assert!(lines[0].contains("3 firing"), "{text}");
        assert!(text.contains("latency_p95 > 5s for 3m"), "{text}");
        assert!(text.contains("pool_utilization:db > 95% for 2m"), "{text}");
        assert!(text.contains("pool_timeout_rate:db > 1/s for 2m"), "{text}");
        let quiet = alerts(&Run::monday(30.0).ctx());
        assert!(quiet.contains("0 firing, 0 pending, 3 inactive"), "{quiet}");
    }

    #[test]
    fn logs_filter_by_level_time_and_text() {
        let run = Run::monday(60.0);
        let ctx = run.ctx();
        let all = logs(&ctx, &LogFilter::default()).unwrap();
        assert_eq!(all.lines().count(), 1 + DEFAULT_LOG_LIMIT, "{all}");
        assert!(all.lines().next().unwrap().contains("of "), "{all}");

        let warn = LogFilter {
            level: Some(Level::Warn),
            limit: 200,
            ..LogFilter::default()
        };
        let text = logs(&ctx, &warn).unwrap();
        assert!(text.lines().count() > 1);
        for line in text.lines().skip(1) {
            assert!(matches!(level_of(line), "WARN" | "ERROR"), "{line}");
        }

        let grep = LogFilter {
            grep: Some("TIMED OUT".to_owned()),
            last: Some(Duration::from_secs(120)),
            ..LogFilter::default()
        };
        let text = logs(&ctx, &grep).unwrap();
        for line in text.lines().skip(1) {
            assert!(line.contains("timed out"), "{line}");
            assert!(line.as_bytes() >= b"09:43:00".as_slice(), "{line}");
        }

        let none = LogFilter {
            grep: Some("no such thing".to_owned()),
            ..LogFilter::default()
        };
        assert!(
            logs(&ctx, &none)
                .unwrap()
                .starts_with("no request-log lines match")
        );
        let zero = LogFilter {
            limit: 0,
            ..LogFilter::default()
        };
        assert!(logs(&ctx, &zero).is_err());
    }

    #[test]
    fn logs_stop_at_now() {
        let run = Run::monday(60.0);
        let mut ctx = run.ctx();
        ctx.now = SimTime::from_secs_f64(30.0 * 60.0);
        let text = logs(&ctx, &LogFilter::default()).unwrap();
        for line in text.lines().skip(1) {
            assert!(line.as_bytes() <= b"09:15:00.000".as_slice(), "{line}");
        }
    }

    #[test]
    fn metric_has_a_row_per_minute() {
        let run = Run::monday(60.0);
        let ctx = run.ctx();
        for (last, rows) in [(None, 15), (Some(Duration::from_secs(300)), 5)] {
            let text = metric(&ctx, "pool_waiting:db", last).unwrap();
            let table: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("TIME"))
                .collect();
            assert_eq!(table.len(), 1 + rows, "{text}");
            assert!(table.last().unwrap().starts_with("09:45:00"), "{text}");
        }
        let text = metric(&ctx, "latency_p95", None).unwrap();
        assert!(
            text.starts_with("latency_p95 (seconds) over 1m, last 15m: now"),
            "{text}"
        );
        let err = metric(&ctx, "latency_p59", None).unwrap_err();
        assert!(err.contains("`latency_p95` or `latency_p99`?"), "{err}");
    }

    /// A drill whose pool of 40 holds about 4.5 connections: Poisson arrivals at 45/s, each
    /// holding a connection for 100 ms on average.
    const QUIET_POOL: &str = r#"Drill(
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

    fn run_quiet(minutes: f64, panels: bool) -> String {
        let mut drill = crate::drill::parse_str(QUIET_POOL).unwrap();
        if !panels {
            drill.dashboard.clear();
        }
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(minutes * 60.0));
        dashboard(&ViewContext {
            telemetry: TeamView::new(sim.telemetry()),
            alerts: sim.alert_states(),
            now: sim.now(),
            clock_start: None,
            pools: sim.pool_names(),
            steps: sim.step_names(),
            panels: &drill.dashboard,
        })
    }

    /// The sparkline of a dashboard row.
    fn spark_of<'a>(dash: &'a str, label: &str) -> &'a str {
        let line = dash
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no row {label}: {dash}"));
        line.split("  ")
            .map(str::trim)
            .find(|part| part.chars().any(|c| BARS.contains(&c)))
            .unwrap_or_else(|| panic!("no sparkline in {line:?}"))
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
    fn metric_bars_scale_ratios_to_the_whole() {
        let drill = crate::drill::parse_str(QUIET_POOL).unwrap();
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(20.0 * 60.0));
        let ctx = ViewContext {
            telemetry: TeamView::new(sim.telemetry()),
            alerts: sim.alert_states(),
            now: sim.now(),
            clock_start: None,
            pools: sim.pool_names(),
            steps: sim.step_names(),
            panels: &[],
        };
        let text = metric(&ctx, "pool_utilization:db", None).unwrap();
        let spark = text.lines().nth(1).unwrap().trim();
        assert!(spark.chars().all(|c| c <= '▂'), "{text}");
        // The bars of the table: about 11% of 24 characters, three at most.
        for row in text.lines().skip_while(|l| !l.starts_with("TIME")).skip(1) {
            let bar = row.chars().filter(|c| *c == '█').count();
            assert!(bar <= 3, "{text}");
        }
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

    #[test]
    fn metric_wrong_answer_ratio_is_refused_as_ground_truth() {
        let run = Run::monday(60.0);
        let ctx = run.ctx();
        let err = metric(&ctx, "wrong_answer_ratio", None).unwrap_err();
        assert!(err.contains("ground truth"), "{err}");
        assert!(
            err.contains("a real team cannot see wrong answers"),
            "{err}"
        );
        assert!(err.contains("use `eval_wrong_answer_ratio`"), "{err}");
        assert!(metric(&ctx, "WrongAnswerRatio", None).is_err());
        assert!(metric(&ctx, "eval_wrong_answer_ratio", None).is_ok());
        let names = metric_names(ctx.pools, ctx.steps);
        assert!(
            !names.iter().any(|n| n == "wrong_answer_ratio"),
            "{names:?}"
        );
    }

    #[test]
    fn alerts_hide_the_value_of_an_alert_on_ground_truth() {
        let text = MONDAY.replacen(
            "alerts: [",
            "alerts: [\n        Alert(name: \"WrongAnswers\", when: Above(metric: WrongAnswerRatio, threshold: 0.05), for: \"1m\", severity: Ticket),",
            1,
        );
        let drill = crate::drill::parse_str(&text).unwrap();
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(60.0 * 60.0));
        let ctx = ViewContext {
            telemetry: TeamView::new(sim.telemetry()),
            alerts: sim.alert_states(),
            now: sim.now(),
            clock_start: None,
            pools: sim.pool_names(),
            steps: sim.step_names(),
            panels: &[],
        };
        let text = alerts(&ctx);
        let row = text
            .lines()
            .find(|l| l.starts_with("WrongAnswers"))
            .unwrap();
        assert!(row.contains("hidden"), "{text}");
        let db = text
            .lines()
            .find(|l| l.starts_with("DbPoolSaturated"))
            .unwrap();
        assert!(!db.contains("hidden") && db.contains('%'), "{text}");
    }
}
