//! Small inline-SVG line charts for the debrief: time on the x axis (the drill's clock), one
//! linear y axis from zero, shaded spans (fault windows) and vertical markers (alerts,
//! injects, team actions, recovery), each with a `<title>` tooltip.
//!
//! Colours come from CSS classes (`s1`…`s4`, `cf`, `m-alert`, ...) that the page styles, so
//! the charts follow the page into dark mode and print. Every text is escaped here; numbers
//! are written with fixed precision so the same data gives the same bytes.

use std::fmt::Write as _;

use crate::score::debrief::{Marker, Span};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 226.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 42.0;
const BOTTOM: f64 = 26.0;

/// One line of a chart.
pub struct Line<'a> {
    pub label: &'a str,
    /// x values: seconds from the start of the drill.
    pub t: &'a [f64],
    pub values: Vec<f64>,
    /// A CSS class: `s1`…`s4`.
    pub class: &'a str,
    /// The counterfactual: drawn faint and dashed.
    pub faint: bool,
}

/// What every chart of a debrief shares: the time axis, spans and markers.
pub struct Frame<'a> {
    pub horizon_seconds: f64,
    /// The drill's clock at its start, for axis labels (`09:30`); `None` labels `T+30m`.
    pub clock_start_seconds: Option<u32>,
    pub spans: &'a [Span],
    pub markers: &'a [Marker],
}

/// Escapes text for SVG/XML content and attributes.
#[must_use]
pub fn escape(text: &str) -> String {
    let text = crate::sanitize::shown(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Four times the smallest round step (1, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) with four steps
/// reaching `x`, so every grid line has a round label (1 for nothing to show).
fn nice_max(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    let quarter = x / 4.0;
    let p = 10f64.powf(quarter.log10().floor());
    4.0 * [1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= quarter * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

fn number(v: f64, max: f64) -> String {
    if max >= 20.0 {
        format!("{v:.0}")
    } else if max >= 2.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `09:42` on the drill's clock, or `T+0:42` without one.
pub(super) fn clock_label(start: Option<u32>, seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match start {
        Some(c) => {
            let t = (u64::from(c) + s) % 86_400;
            format!("{:02}:{:02}", t / 3600, (t / 60) % 60)
        }
        None => format!("T+{}:{:02}", s / 3600, (s / 60) % 60),
    }
}

/// Draws one chart.
#[must_use]
///
/// `thresholds` are alert lines (`label`, value in the chart's unit), drawn dashed across.
pub fn chart(
    title: &str,
    unit: &str,
    lines: &[Line<'_>],
    thresholds: &[(String, f64)],
    frame: &Frame<'_>,
) -> String {
    let horizon = frame.horizon_seconds.max(1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: f64| LEFT + (t / horizon).clamp(0.0, 1.0) * plot_w;
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .chain(thresholds.iter().map(|(_, v)| v * 1.1))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let ymax = nice_max(max);
    let y = |v: f64| TOP + plot_h - (v / ymax).clamp(0.0, 1.0) * plot_h;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH:.0} {HEIGHT:.0}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(s, "<title>{}</title>", escape(title));
    let _ = write!(
        s,
        r#"<text class="ct" x="{LEFT:.0}" y="16">{}</text>"#,
        escape(title)
    );

    // Legend, on its own row under the title.
    let mut lx = LEFT;
    for l in lines {
        let label = if l.faint {
            format!("{} (no response)", l.label)
        } else {
            l.label.to_owned()
        };
        let dash = if l.faint { " cf" } else { "" };
        let _ = write!(
            s,
            r#"<line class="{}{dash}" x1="{lx:.1}" y1="28" x2="{:.1}" y2="28"/><text class="lg" x="{:.1}" y="32">{}</text>"#,
            l.class,
            lx + 14.0,
            lx + 18.0,
            escape(&label)
        );
        lx += 18.0 + 6.2 * label.chars().count() as f64 + 14.0;
    }

    // Spans: causes and distractions shaded apart, with a key at the right of the title row
    // when the run had a distraction.
    if frame.spans.iter().any(|sp| !sp.cause) {
        let mut kx = WIDTH - RIGHT;
        for (class, label) in [("span dist", "distraction"), ("span", "cause")] {
            kx -= 6.2 * label.chars().count() as f64;
            let _ = write!(
                s,
                r#"<text class="lg" x="{kx:.1}" y="16">{label}</text><rect class="{class}" x="{:.1}" y="7" width="12" height="11"/>"#,
                kx - 16.0
            );
            kx -= 28.0;
        }
    }
    for span in frame.spans {
        let (x0, x1) = (x(span.from_seconds), x(span.to_seconds));
        let (class, kind) = if span.cause {
            ("span", "")
        } else {
            ("span dist", " (distraction)")
        };
        let _ = write!(
            s,
            r#"<rect class="{class}" x="{x0:.1}" y="{TOP:.1}" width="{:.1}" height="{plot_h:.1}"><title>{}{kind}</title></rect>"#,
            (x1 - x0).max(1.0),
            escape(&span.label)
        );
    }

    // Alert thresholds.
    for (label, v) in thresholds.iter().filter(|(_, v)| v.is_finite()) {
        let ty = y(*v);
        let _ = write!(
            s,
            r#"<g class="threshold"><line class="th" x1="{LEFT:.1}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}"/><text class="th" x="{:.1}" y="{:.1}" text-anchor="end">{} {}{}</text><title>{} fires at {}{}</title></g>"#,
            WIDTH - RIGHT,
            WIDTH - RIGHT - 2.0,
            ty - 3.0,
            escape(label),
            number(*v, ymax),
            escape(unit),
            escape(label),
            number(*v, ymax),
            escape(unit)
        );
    }

    // Grid and y labels.
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let gy = y(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT:.1}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}"/>"#,
            WIDTH - RIGHT
        );
        let _ = write!(
            s,
            r#"<text class="ax" x="{:.1}" y="{:.1}" text-anchor="end">{}{}</text>"#,
            LEFT - 4.0,
            gy + 4.0,
            number(v, ymax),
            escape(unit)
        );
    }

    // x ticks: the smallest step that gives at most 8 ticks.
    let step = [
        60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14_400.0, 21_600.0, 43_200.0, 86_400.0,
    ]
    .into_iter()
    .find(|st| horizon / st <= 8.0)
    .unwrap_or(86_400.0);
    let mut t = 0.0;
    while t <= horizon + 1e-9 {
        let tx = x(t);
        let _ = write!(
            s,
            r#"<line class="tick" x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}"/>"#,
            TOP + plot_h,
            TOP + plot_h + 4.0
        );
        let anchor = if tx > WIDTH - RIGHT - 20.0 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            r#"<text class="ax" x="{tx:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            HEIGHT - 8.0,
            clock_label(frame.clock_start_seconds, t)
        );
        t += step;
    }

    // Lines: the counterfactual first, underneath.
    for l in lines
        .iter()
        .filter(|l| l.faint)
        .chain(lines.iter().filter(|l| !l.faint))
    {
        let mut points = String::new();
        for (t, v) in l.t.iter().zip(&l.values) {
            if !points.is_empty() {
                points.push(' ');
            }
            let _ = write!(
                points,
                "{:.1},{:.1}",
                x(*t),
                y(if v.is_finite() { *v } else { 0.0 })
            );
        }
        let dash = if l.faint { " cf" } else { "" };
        let label = if l.faint {
            format!("{} with no response", l.label)
        } else {
            l.label.to_owned()
        };
        let _ = write!(
            s,
            r#"<polyline class="{}{dash}" points="{points}"><title>{}</title></polyline>"#,
            l.class,
            escape(&label)
        );
    }

    // Markers.
    for m in frame.markers {
        let mx = x(m.seconds);
        let (y0, y1) = match m.kind.as_str() {
            "team" => (TOP + plot_h - 12.0, TOP + plot_h),
            _ => (TOP, TOP + plot_h),
        };
        let _ = write!(
            s,
            r#"<line class="mk m-{}" x1="{mx:.1}" y1="{y0:.1}" x2="{mx:.1}" y2="{y1:.1}"><title>{} {}</title></line>"#,
            escape(&m.kind),
            clock_label(frame.clock_start_seconds, m.seconds),
            escape(&m.label)
        );
    }
    let _ = write!(
        s,
        r#"<rect class="frame" x="{LEFT:.1}" y="{TOP:.1}" width="{plot_w:.1}" height="{plot_h:.1}"/>"#
    );
    s.push_str("</svg>");
    s
}

// --- history: charts over dates and bars ---

/// One line of a chart over dates (the trends report).
pub struct DatedLine<'a> {
    pub label: &'a str,
    /// x values: days since the Unix epoch (fractions for times of day).
    pub days: Vec<f64>,
    pub values: Vec<f64>,
    /// A CSS class: `s1`…`s4`.
    pub class: &'a str,
    /// A target: drawn faint and dashed, without point marks.
    pub faint: bool,
}

fn date_label(day: f64) -> String {
    let (y, m, d) = crate::export::time::civil_from_days(day.floor() as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Draws a chart over dates: each line's points marked (a single session still shows), a
/// linear y axis from zero, dates on the x axis.
#[must_use]
pub fn dated_chart(title: &str, unit: &str, lines: &[DatedLine<'_>]) -> String {
    let all_days = lines.iter().flat_map(|l| l.days.iter().copied());
    let first = all_days.clone().fold(f64::INFINITY, f64::min);
    let last = all_days.fold(f64::NEG_INFINITY, f64::max);
    let (first, last) = if first.is_finite() {
        (first - 1.0, last.max(first) + 1.0)
    } else {
        (0.0, 1.0)
    };
    let span = (last - first).max(1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |d: f64| LEFT + ((d - first) / span).clamp(0.0, 1.0) * plot_w;
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let ymax = nice_max(max);
    let y = |v: f64| TOP + plot_h - (v / ymax).clamp(0.0, 1.0) * plot_h;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH:.0} {HEIGHT:.0}" role="img" aria-label="{t}"><title>{t}</title><text class="ct" x="{LEFT:.0}" y="16">{t}</text>"#,
        t = escape(title)
    );
    let mut lx = LEFT;
    for l in lines {
        let dash = if l.faint { " cf" } else { "" };
        let _ = write!(
            s,
            r#"<line class="{}{dash}" x1="{lx:.1}" y1="28" x2="{:.1}" y2="28"/><text class="lg" x="{:.1}" y="32">{}</text>"#,
            l.class,
            lx + 14.0,
            lx + 18.0,
            escape(l.label)
        );
        lx += 18.0 + 6.2 * l.label.chars().count() as f64 + 14.0;
    }
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let gy = y(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT:.1}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}"/><text class="ax" x="{:.1}" y="{:.1}" text-anchor="end">{}{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 4.0,
            gy + 4.0,
            number(v, ymax),
            escape(unit)
        );
    }
    // At most six date ticks, on whole days.
    let step = (span / 5.0).ceil().max(1.0);
    let mut d = first.ceil();
    while d <= last + 1e-9 {
        let tx = x(d);
        let anchor = if tx > WIDTH - RIGHT - 40.0 {
            "end"
        } else if tx < LEFT + 40.0 {
            "start"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            r#"<line class="tick" x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}"/><text class="ax" x="{tx:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            TOP + plot_h,
            TOP + plot_h + 4.0,
            HEIGHT - 8.0,
            date_label(d)
        );
        d += step;
    }
    for l in lines
        .iter()
        .filter(|l| l.faint)
        .chain(lines.iter().filter(|l| !l.faint))
    {
        let points: Vec<(f64, f64)> = l
            .days
            .iter()
            .zip(&l.values)
            .filter(|(_, v)| v.is_finite())
            .map(|(d, v)| (x(*d), y(*v)))
            .collect();
        let dash = if l.faint { " cf" } else { "" };
        let text: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="{}{dash}" points="{}"><title>{}</title></polyline>"#,
            l.class,
            text.join(" "),
            escape(l.label)
        );
        if !l.faint {
            for ((px, py), (d, v)) in points.iter().zip(l.days.iter().zip(&l.values)) {
                let _ = write!(
                    s,
                    r#"<circle class="pt {}" cx="{px:.1}" cy="{py:.1}" r="3.5"><title>{} {}: {}{}</title></circle>"#,
                    l.class,
                    escape(l.label),
                    date_label(*d),
                    number(*v, ymax),
                    escape(unit)
                );
            }
        }
    }
    let _ = write!(
        s,
        r#"<rect class="frame" x="{LEFT:.1}" y="{TOP:.1}" width="{plot_w:.1}" height="{plot_h:.1}"/></svg>"#
    );
    s
}

/// One bar of [`bars`]: a share from 0 to 1.
pub struct Bar<'a> {
    pub label: &'a str,
    pub share: f64,
    /// Shown after the bar: `7 of 9 on time`.
    pub note: String,
}

/// Horizontal bars of shares (0–100 %), one row each.
#[must_use]
pub fn bars(title: &str, rows: &[Bar<'_>]) -> String {
    const ROW: f64 = 24.0;
    const LABEL: f64 = 140.0;
    let height = TOP + ROW * rows.len() as f64 + 8.0;
    let plot_w = WIDTH - LABEL - RIGHT - 300.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH:.0} {height:.0}" role="img" aria-label="{t}"><title>{t}</title><text class="ct" x="{LEFT:.0}" y="16">{t}</text>"#,
        t = escape(title)
    );
    for (i, r) in rows.iter().enumerate() {
        let top = TOP - 10.0 + ROW * i as f64;
        let share = if r.share.is_finite() {
            r.share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            r#"<text class="lg" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="frame" x="{LABEL:.1}" y="{top:.1}" width="{plot_w:.1}" height="16"/><rect class="bar s{}" x="{LABEL:.1}" y="{top:.1}" width="{:.1}" height="16"><title>{}: {:.0}%</title></rect><text class="lg" x="{:.1}" y="{:.1}">{:.0}% · {}</text>"#,
            LABEL - 6.0,
            top + 12.0,
            escape(r.label),
            i % 4 + 1,
            share * plot_w,
            escape(r.label),
            share * 100.0,
            LABEL + plot_w + 8.0,
            top + 12.0,
            share * 100.0,
            escape(&r.note)
        );
    }
    s.push_str("</svg>");
    s
}
