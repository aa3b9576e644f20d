//! The HTML debrief: the built-in tera template (embedded with `include_str!`) rendered with
//! autoescaping over the [`Debrief`] (as `d`) and the pre-drawn SVG charts (as `charts`, the
//! only values marked safe, escaped by [`super::svg`] itself).

use serde::Serialize;

use super::svg::{self, Frame, Line};
use crate::drill::spec::Metric;
use crate::score::counterfactual::group;
use crate::score::debrief::Debrief;

/// The built-in template.
pub const TEMPLATE: &str = include_str!("../../templates/debrief.html");

/// One drawn chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartSvg {
    pub title: String,
    pub svg: String,
}

/// Renders `template` over `debrief`. The template is named `debrief.html`, so tera
/// autoescapes every value that is not explicitly marked `safe`.
///
/// # Errors
/// The template does not parse or fails to render.
pub fn render(debrief: &Debrief, template: &str) -> Result<String, tera::Error> {
    let mut tera = tera::Tera::new();
    tera.autoescape_on([".html"]);
    // Control characters the team typed are shown as escapes, then HTML-escaped.
    tera.set_escape_fn(|input, out| tera::escape_html(&crate::sanitize::shown(input), out));
    tera.register_filter("group", |n: i64, _: tera::Kwargs, _: &tera::State| group(n));
    tera.register_filter("fixed1", |x: f64, _: tera::Kwargs, _: &tera::State| {
        format!("{x:.1}")
    });
    tera.add_raw_template("debrief.html", template)?;
    let mut context = tera::Context::new();
    context.insert("d", debrief);
    context.insert("charts", &charts(debrief));
    // A distraction was active: the charts shade causes and distractions apart.
    context.insert(
        "distraction",
        &debrief.charts.faults.iter().any(|span| !span.cause),
    );
    context.insert("whatif", &super::whatif::debrief_sentences(debrief));
    tera.render("debrief.html", &context)
}

/// The debrief's charts: traffic, latency, errors, and one per pool.
#[must_use]
pub fn charts(d: &Debrief) -> Vec<ChartSvg> {
    let c = &d.charts;
    let frame = Frame {
        horizon_seconds: c.horizon_seconds,
        clock_start_seconds: c.clock_start_seconds,
        spans: &c.faults,
        markers: &c.markers,
    };
    let (team, none) = (&c.team, &c.no_response);
    let line = |label, t, values: &[f64], class, faint| Line {
        label,
        t,
        values: values.to_vec(),
        class,
        faint,
    };
    let percent = |v: &[f64]| v.iter().map(|x| x * 100.0).collect::<Vec<_>>();
    let mut out = Vec::new();
    // Each alert's threshold on the chart of its metric, in the chart's unit.
    let on = |pick: &dyn Fn(&Metric) -> Option<f64>| -> Vec<(String, f64)> {
        c.thresholds
            .iter()
            .filter_map(|t| pick(&t.metric).map(|scale| (t.alert.clone(), t.value * scale)))
            .collect()
    };
    let mut draw =
        |title: &str, unit: &str, lines: Vec<Line<'_>>, thresholds: Vec<(String, f64)>| {
            out.push(ChartSvg {
                title: title.to_owned(),
                svg: svg::chart(title, unit, &lines, &thresholds, &frame),
            });
        };
    draw(
        "Requests per second",
        "",
        vec![
            line("offered", &team.t, &team.offered_rps, "s1", false),
            line("admitted", &team.t, &team.admitted_rps, "s2", false),
            line("admitted", &none.t, &none.admitted_rps, "s2", true),
        ],
        on(&|m| matches!(m, Metric::ArrivalRate | Metric::Throughput).then_some(1.0)),
    );
    draw(
        "Latency (seconds)",
        "s",
        vec![
            line("p50", &team.t, &team.latency_p50, "s1", false),
            line("p95", &team.t, &team.latency_p95, "s2", false),
            line("p99", &team.t, &team.latency_p99, "s3", false),
            line("p95", &none.t, &none.latency_p95, "s2", true),
        ],
        on(&|m| {
            matches!(
                m,
                Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99
            )
            .then_some(1.0)
        }),
    );
    draw(
        "Errors and degraded answers (% of requests)",
        "%",
        vec![
            Line {
                label: "failed or rejected",
                t: &team.t,
                values: percent(&team.error_ratio),
                class: "s2",
                faint: false,
            },
            Line {
                label: "degraded",
                t: &team.t,
                values: percent(&team.degraded_ratio),
                class: "s3",
                faint: false,
            },
            Line {
                label: "failed or rejected",
                t: &none.t,
                values: percent(&none.error_ratio),
                class: "s2",
                faint: true,
            },
            Line {
                label: "degraded",
                t: &none.t,
                values: percent(&none.degraded_ratio),
                class: "s3",
                faint: true,
            },
        ],
        on(&|m| matches!(m, Metric::ErrorRatio | Metric::DegradedRatio).then_some(100.0)),
    );
    // Each pool on two charts, each on its own scale: connections (size and in use), and
    // requests waiting with timeouts, which can run to hundreds beside a pool of ten.
    for (p, q) in team.pools.iter().zip(&none.pools) {
        let of_pool = |pick: fn(&Metric) -> Option<&String>| {
            on(&|m| pick(m).filter(|n| **n == p.name).map(|_| 1.0))
        };
        draw(
            &format!("Pool {}: connections in use of its size", p.name),
            "",
            vec![
                line("size", &team.t, &p.size, "s4", false),
                line("in use", &team.t, &p.in_use, "s1", false),
                line("in use", &none.t, &q.in_use, "s1", true),
            ],
            of_pool(|m| match m {
                Metric::PoolSize(n) => Some(n),
                _ => None,
            }),
        );
        draw(
            &format!("Pool {}: requests waiting, timeouts per second", p.name),
            "",
            vec![
                line("waiting", &team.t, &p.waiting, "s2", false),
                line("timeouts/s", &team.t, &p.timeouts_per_second, "s3", false),
                line("waiting", &none.t, &q.waiting, "s2", true),
            ],
            of_pool(|m| match m {
                Metric::PoolWaiting(n) | Metric::PoolTimeoutRate(n) => Some(n),
                _ => None,
            }),
        );
    }
    // The drill's own dashboard panels, each with the alerts on its metric.
    for panel in &c.panels {
        let scale = if panel.unit == "%" { 100.0 } else { 1.0 };
        draw(
            &format!("Dashboard: {}", panel.title),
            panel.unit,
            vec![Line {
                label: &panel.metric,
                t: &panel.t,
                values: panel.values.clone(),
                class: "s1",
                faint: false,
            }],
            c.thresholds
                .iter()
                .filter(|t| crate::score::impact::metric_text(&t.metric) == panel.metric)
                .map(|t| (t.alert.clone(), t.value * scale))
                .collect(),
        );
    }
    out
}
