//! The drill's alerts as Prometheus alerting rules, and a `promtool test rules` file that
//! checks those rules against a run.
//!
//! Each rule mirrors one drill alert: its expression computes the alert's metric from the
//! exported series over the engine's look-back window (`rate(...[1m])`, and
//! `histogram_quantile` for latency), compares it with the same threshold, and holds for the
//! alert's `for`; the group is evaluated once per metric bucket, as the engine evaluates.
//! Written by hand as YAML: every string the drill supplies is double-quoted with every
//! character outside YAML's printable set (and every line break) escaped, and text in comments
//! is reduced to one printable line, so no name, summary or runbook can end a scalar or a
//! comment early.

use std::fmt::Write as _;
use std::path::Path;

use super::Run;
use crate::drill::Duration;
use crate::drill::spec::{Alert, Condition, Metric, Severity};
use crate::telemetry::prometheus::{Kind, METRICS, Point, escape_label, number};

/// A YAML double-quoted scalar of `text`. JSON's escapes are valid YAML ones, but JSON leaves
/// characters raw that YAML forbids (DEL, C1 controls, U+FFFE) or reads as line breaks (NEL,
/// U+2028, U+2029): those are escaped as `\uXXXX` too.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if yaml_printable(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// Whether YAML lets `c` stand as itself inside a quoted scalar or a comment: its printable
/// set, less the characters it takes for line breaks and the byte-order mark.
fn yaml_printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// `text` as it may stand in a YAML comment: one line of printable characters, the others
/// shown as `?`.
pub(crate) fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if yaml_printable(c) { c } else { '?' })
        .collect()
}

/// A Prometheus duration: `1h30m`, `2m`, `10s`, `250ms`.
#[must_use]
pub fn prom_duration(d: Duration) -> String {
    let mut ms = d.as_nanos() / 1_000_000;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if ms >= size {
            let _ = write!(out, "{}{unit}", ms / size);
            ms %= size;
        }
    }
    out
}

/// Whether `alert` becomes a Prometheus rule: not when it watches ground truth.
fn exported(alert: &Alert) -> bool {
    !alert.when.metric().is_ground_truth()
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

/// The PromQL expression for `metric` over `window`, on `service`'s series. A ground-truth
/// metric (`WrongAnswerRatio`) has no exported series; its expression names the counter a
/// real system would need, and the rule files leave such alerts out.
#[must_use]
pub fn metric_expr(metric: &Metric, service: &str, window: Duration) -> String {
    let w = prom_duration(window);
    let s = format!("{{service=\"{}\"}}", escape_label(service));
    let p = |pool: &str| {
        format!(
            "{{service=\"{}\",pool=\"{}\"}}",
            escape_label(service),
            escape_label(pool)
        )
    };
    let step = |step: &str| {
        format!(
            "{{service=\"{}\",step=\"{}\"}}",
            escape_label(service),
            escape_label(step)
        )
    };
    let rate = |name: &str| format!("rate({name}_total{s}[{w}])");
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (service, le) (rate(firedrill_request_duration_seconds_bucket{s}[{w}])))"
        )
    };
    let (completed, failed, rejected) = (
        rate("firedrill_requests_completed"),
        rate("firedrill_requests_failed"),
        rate("firedrill_requests_rejected"),
    );
    match metric {
        Metric::ArrivalRate => rate("firedrill_requests_arrived"),
        Metric::Throughput => completed,
        Metric::ErrorRate => failed,
        Metric::RejectedRate => rejected,
        Metric::ErrorRatio => {
            format!("({failed} + {rejected}) / ({completed} + {failed} + {rejected})")
        }
        Metric::DegradedRatio => format!("{} / {completed}", rate("firedrill_answers_degraded")),
        Metric::WrongAnswerRatio => format!("{} / {completed}", rate("firedrill_answers_wrong")),
        Metric::LatencyP50 => quantile("0.5"),
        Metric::LatencyP95 => quantile("0.95"),
        Metric::LatencyP99 => quantile("0.99"),
        Metric::InFlight => rate("firedrill_requests_in_flight_seconds"),
        Metric::PoolUtilization(pool) => format!(
            "rate(firedrill_pool_connections_active_seconds_total{0}[{w}]) / clamp_min(firedrill_pool_connections_max{0}, 1)",
            p(pool)
        ),
        Metric::PoolWaiting(pool) => format!(
            "rate(firedrill_pool_connections_pending_seconds_total{}[{w}])",
            p(pool)
        ),
        Metric::PoolSize(pool) => format!("firedrill_pool_connections_max{}", p(pool)),
        Metric::RetryRate => rate("firedrill_requests_retried"),
        Metric::TokenRate => rate("firedrill_model_tokens"),
        Metric::CostRate => format!("{} * 3600", rate("firedrill_model_cost_dollars")),
        Metric::EvalWrongAnswerRatio => format!(
            "{} / {}",
            rate("firedrill_eval_answers_wrong"),
            rate("firedrill_eval_answers_graded")
        ),
        Metric::PoolTimeoutRate(pool) => {
            format!(
                "rate(firedrill_pool_connection_timeouts_total{}[{w}])",
                p(pool)
            )
        }
        Metric::StepTime(name) => format!(
            "rate(firedrill_step_seconds_total{0}[{w}]) / rate(firedrill_step_calls_total{0}[{w}])",
            step(name)
        ),
        Metric::StepErrorRatio(name) => format!(
            "rate(firedrill_step_errors_total{0}[{w}]) / rate(firedrill_step_calls_total{0}[{w}])",
            step(name)
        ),
        Metric::StepRateLimitedRate(name) => {
            format!("rate(firedrill_step_rate_limited_total{}[{w}])", step(name))
        }
        Metric::StepRetryRate(name) => {
            format!("rate(firedrill_step_retries_total{}[{w}])", step(name))
        }
    }
}

/// The alert's full expression: the metric compared with the threshold.
#[must_use]
pub fn alert_expr(alert: &Alert, service: &str, window: Duration) -> String {
    let (op, threshold) = match &alert.when {
        Condition::Above { threshold, .. } => (">", threshold),
        Condition::Below { threshold, .. } => ("<", threshold),
    };
    let expr = metric_expr(alert.when.metric(), service, window);
    format!("{expr} {op} {}", number(*threshold))
}

/// Go templates would expand `{{`; a summary is shown as written.
fn template_literal(text: &str) -> String {
    text.replace("{{", "{{ \"{{\" }}")
}

/// The labels an alert carries besides `alertname`: severity and the expression's labels.
fn alert_labels(alert: &Alert, service: &str) -> Vec<(&'static str, String)> {
    let mut labels = vec![("severity", severity(alert.severity).to_owned())];
    labels.push(("service", service.to_owned()));
    if let Some(pool) = alert.when.metric().pool() {
        labels.push(("pool", pool.to_owned()));
    }
    if let Some(step) = alert.when.metric().step() {
        labels.push(("step", step.to_owned()));
    }
    labels.sort_by_key(|(k, _)| *k);
    labels
}

/// The drill's alerts as one Prometheus rule group.
#[must_use]
pub fn render_rules(run: &Run) -> String {
    let drill = &run.drill;
    let service = &drill.service.name;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Alerting rules generated by firedrill from the drill {} ({}).\n# They mirror the drill's alerts over the metrics in docs/metrics.md.",
        comment_text(&drill.name),
        comment_text(&drill.title)
    );
    let _ = writeln!(out, "groups:");
    let _ = writeln!(
        out,
        "  - name: {}",
        quote(&format!("firedrill-{}", drill.name))
    );
    let _ = writeln!(out, "    interval: {}", prom_duration(run.bucket));
    for alert in drill.alerts.iter().filter(|a| !exported(a)) {
        let _ = writeln!(
            out,
            "    # {} is left out: it watches {:?}, ground truth that no real system measures.",
            alert.name,
            alert.when.metric()
        );
    }
    if !drill.alerts.iter().any(exported) {
        let _ = writeln!(out, "    rules: []");
        return out;
    }
    let _ = writeln!(out, "    rules:");
    for alert in drill.alerts.iter().filter(|a| exported(a)) {
        let _ = writeln!(out, "      - alert: {}", quote(&alert.name));
        let _ = writeln!(
            out,
            "        expr: {}",
            quote(&alert_expr(alert, service, run.window))
        );
        let _ = writeln!(out, "        for: {}", prom_duration(alert.hold));
        let _ = writeln!(out, "        labels:");
        let _ = writeln!(
            out,
            "          severity: {}",
            quote(severity(alert.severity))
        );
        let mut annotations = Vec::new();
        if !alert.summary.is_empty() {
            annotations.push(("summary", template_literal(&alert.summary)));
        }
        if let Some(runbook) = &alert.runbook {
            annotations.push(("runbook_url", template_literal(runbook)));
        }
        if !annotations.is_empty() {
            let _ = writeln!(out, "        annotations:");
            for (k, v) in annotations {
                let _ = writeln!(out, "          {k}: {}", quote(&v));
            }
        }
    }
    out
}

/// A `promtool test rules` file: the run's series (on the bucket grid) as input, and each
/// drill alert expected to be firing at every time it fired in the run, and not firing one
/// bucket before nor when it resolved.
#[must_use]
pub fn render_test(run: &Run, rule_file: &Path) -> String {
    let bucket = run.bucket.as_secs_f64();
    let on_grid: Vec<_> = run
        .snapshots
        .iter()
        .enumerate()
        .filter(|(i, s)| (s.at - *i as f64 * bucket).abs() < 1e-6)
        .map(|(_, s)| s)
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# promtool test rules: the drill {}'s alerts against its run, generated by firedrill.",
        comment_text(&run.drill.name)
    );
    let _ = writeln!(
        out,
        "rule_files:\n  - {}",
        quote(&rule_file.to_string_lossy())
    );
    let interval = prom_duration(run.bucket);
    let _ = writeln!(out, "evaluation_interval: {interval}");
    let _ = writeln!(out, "tests:\n  - interval: {interval}\n    input_series:");
    let Some(first) = on_grid.first() else {
        return out;
    };
    let mut add = |name: String, values: Vec<String>| {
        let _ = writeln!(out, "      - series: {}", quote(&name));
        let _ = writeln!(out, "        values: {}", quote(&values.join(" ")));
    };
    for (index, def) in METRICS.iter().enumerate() {
        for (j, series) in first.series.iter().enumerate() {
            if series.family != index {
                continue;
            }
            match &series.point {
                Point::Counter(_) | Point::Gauge(_) => {
                    let name = if def.kind == Kind::Counter {
                        def.sample_name()
                    } else {
                        def.name.to_owned()
                    };
                    let values = on_grid
                        .iter()
                        .map(|s| match s.series[j].point {
                            Point::Counter(v) | Point::Gauge(v) => number(v),
                            Point::Histogram { .. } => unreachable!("a family has one type"),
                        })
                        .collect();
                    add(format!("{name}{}", series.selector(&[])), values);
                }
                Point::Histogram { buckets, .. } => {
                    let hist = |s: &crate::telemetry::prometheus::Snapshot| match &s.series[j].point
                    {
                        Point::Histogram {
                            sum,
                            count,
                            buckets,
                        } => (*sum, *count, buckets.clone()),
                        _ => unreachable!("a family has one type"),
                    };
                    for (k, (le, _)) in buckets.iter().enumerate() {
                        let le = number(*le);
                        let values = on_grid.iter().map(|s| hist(s).2[k].1.to_string()).collect();
                        add(
                            format!("{}_bucket{}", def.name, series.selector(&[("le", &le)])),
                            values,
                        );
                    }
                    let counts = on_grid.iter().map(|s| hist(s).1.to_string()).collect();
                    add(
                        format!("{}_count{}", def.name, series.selector(&[])),
                        counts,
                    );
                    let sums = on_grid.iter().map(|s| number(hist(s).0)).collect();
                    add(format!("{}_sum{}", def.name, series.selector(&[])), sums);
                }
            }
        }
    }
    let last = on_grid.last().map_or(0.0, |s| s.at);
    let _ = writeln!(out, "    alert_rule_test:");
    let service = &run.drill.service.name;
    for (rule, state) in &run.alerts {
        let alert = &run.drill.alerts[rule.index];
        if !exported(alert) {
            continue;
        }
        let expect = |out: &mut String, at: f64, firing: bool| {
            let _ = writeln!(out, "      - eval_time: {}s", at.round() as u64);
            let _ = writeln!(out, "        alertname: {}", quote(&alert.name));
            if !firing {
                let _ = writeln!(out, "        exp_alerts: []");
                return;
            }
            let _ = writeln!(out, "        exp_alerts:\n          - exp_labels:");
            for (k, v) in alert_labels(alert, service) {
                let _ = writeln!(out, "              {k}: {}", quote(&v));
            }
            if !alert.summary.is_empty() || alert.runbook.is_some() {
                let _ = writeln!(out, "            exp_annotations:");
                if !alert.summary.is_empty() {
                    let _ = writeln!(out, "              summary: {}", quote(&alert.summary));
                }
                if let Some(r) = &alert.runbook {
                    let _ = writeln!(out, "              runbook_url: {}", quote(r));
                }
            }
        };
        if state.fired_at.is_empty() {
            expect(&mut out, last, false);
        }
        for (i, fired) in state.fired_at.iter().enumerate() {
            let fired = fired.as_secs_f64();
            if fired > last {
                continue;
            }
            if fired >= bucket {
                expect(&mut out, fired - bucket, false);
            }
            expect(&mut out, fired, true);
            if let Some(resolved) = state.resolved_at.get(i).map(|t| t.as_secs_f64())
                && resolved <= last
            {
                expect(&mut out, resolved - bucket, true);
                expect(&mut out, resolved, false);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_prometheus_writes_them() {
        assert_eq!(prom_duration(Duration::from_secs(180)), "3m");
        assert_eq!(prom_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(prom_duration(Duration::from_secs(0)), "0s");
        assert_eq!(
            prom_duration(Duration::from_nanos(1_500_000_000)),
            "1s500ms"
        );
    }

    #[test]
    fn quoted_strings_escape_what_yaml_forbids_or_reads_as_line_breaks() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(
            quote("\u{7f}\u{85}\u{9b}\u{2028}\u{2029}\u{feff}\u{1b}é✓"),
            r#""\u007F\u0085\u009B\u2028\u2029\uFEFF\u001Bé✓""#
        );
        assert_eq!(comment_text("a\nb\u{85}c\td"), "a?b?c?d");
    }
}
