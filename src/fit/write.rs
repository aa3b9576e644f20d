//! The fitted drill as RON text: a header comment (where and when it was fitted, and how
//! well), the system part from the fit, and the rest — faults, alerts, roles, checklists,
//! the reference — from `firedrill new`'s commented template, with its pool names replaced
//! by the fitted system's, so the author adds their incident to their own system.

use std::fmt::Write as _;

use super::model::TimeFit;
use super::rules::Rules;
use super::{Fitted, Goodness};
use crate::drill::library::NEW_DRILL_TEMPLATE;
use crate::export::rules::comment_text;

/// A duration as the drill format writes it: `90.12ms`, `1.4s`, `5m`.
#[must_use]
pub fn duration(seconds: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if seconds < 1.0 {
        let ms = trim(format!("{:.2}", seconds * 1000.0));
        if ms == "0" {
            "10us".into()
        } else {
            format!("{ms}ms")
        }
    } else if seconds.fract() == 0.0 && seconds % 3600.0 == 0.0 {
        format!("{}h", (seconds / 3600.0) as u64)
    } else if seconds.fract() == 0.0 && seconds % 60.0 == 0.0 {
        format!("{}m", (seconds / 60.0) as u64)
    } else {
        format!("{}s", trim(format!("{seconds:.3}")))
    }
}

fn rate(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_owned()
    }
}

fn time(t: &TimeFit) -> String {
    match *t {
        TimeFit::Constant { seconds } => format!("Constant(\"{}\")", duration(seconds)),
        TimeFit::Exponential { mean } => format!("Exponential(mean: \"{}\")", duration(mean)),
        TimeFit::LogNormal { median, p99 } => format!(
            "LogNormal(median: \"{}\", p99: \"{}\")",
            duration(median),
            duration(p99)
        ),
    }
}

/// A name safe inside a RON string and a drill's slug.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "fitted".into() } else { s }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// The drill text for `fit`, with `goodness` in its header when known.
#[must_use]
pub fn drill(fit: &Fitted, goodness: Option<&Goodness>) -> String {
    let mut out = String::new();
    let name = slug(&fit.service);
    let _ = writeln!(
        out,
        "// {}: fitted by `firedrill fit` from {}",
        fit.service, fit.source
    );
    let _ = writeln!(out, "// over {} to {} (UTC).", fit.start, fit.end);
    if let Some(g) = goodness {
        let _ = writeln!(
            out,
            "// Goodness (observed against this drill simulated over the same window):"
        );
        for row in &g.rows {
            let _ = writeln!(out, "//   {}", row.line());
        }
    }
    let _ = writeln!(
        out,
        "// What telemetry cannot show is marked below, and everything after `service` comes from\n\
         // `firedrill new`'s template: replace it with the incident you want to rehearse.\n\
         //     firedrill check {name}.ron\n\
         //     firedrill simulate {name}.ron\n\
         //\n\
         // Teaches: (write what this drill teaches)\n\
         // Difficulty: 2/5"
    );
    let _ = writeln!(out, "Drill(");
    let _ = writeln!(out, "    name: {},", quoted(&name));
    let _ = writeln!(
        out,
        "    title: {},",
        quoted(&format!("{} (fitted)", fit.service))
    );
    let _ = writeln!(
        out,
        "    briefing: {},",
        quoted(&format!(
            "{} on an ordinary day. You are on call.",
            fit.service
        ))
    );
    let _ = writeln!(out, "    clock_start: {},", quoted(&fit.clock_start));
    let _ = writeln!(out, "    duration: {},", quoted(&duration(fit.duration_s)));
    let _ = writeln!(out, "    seed: 1,");
    let rules_window = fit
        .rules
        .as_ref()
        .and_then(|r| r.window)
        .map(crate::drill::Duration::as_secs_f64)
        .filter(|w| *w >= fit.bucket_s);
    if rules_window.is_some() {
        let _ = writeln!(
            out,
            "    // The window is the one the team's alerting rules look back over."
        );
    }
    let _ = writeln!(
        out,
        "    telemetry: Telemetry(bucket: {}, window: {}),",
        quoted(&duration(fit.bucket_s)),
        quoted(&duration(rules_window.unwrap_or(fit.bucket_s * 2.0)))
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "    // Fitted from {} windows of {}: {} stage(s), {:.1} % RMS from the observed rate.",
        fit.windows,
        duration(fit.window_s),
        fit.traffic.stages.len(),
        fit.traffic.rms * 100.0
    );
    let _ = write!(
        out,
        "    traffic: Traffic(arrivals: Poisson, start_rps: {}, stages: [",
        rate(fit.traffic.start_rps)
    );
    if fit.traffic.stages.is_empty() {
        let _ = writeln!(out, "]),");
    } else {
        let _ = writeln!(out);
        for s in &fit.traffic.stages {
            let _ = writeln!(
                out,
                "        Stage(over: {}, to_rps: {}),",
                quoted(&duration(s.over_s)),
                rate(s.to_rps)
            );
        }
        let _ = writeln!(out, "    ]),");
    }
    let _ = writeln!(out);
    if fit.pools.is_empty() {
        let _ = writeln!(out, "    pools: [],");
    } else {
        let _ = writeln!(
            out,
            "    // Sizes are the largest observed. Telemetry cannot show an acquire timeout: {}.",
            if fit.pools.iter().all(|p| p.timeout_from_map) {
                "these come from the map"
            } else {
                "set your pool's own (HikariCP's connectionTimeout, pgbouncer's query_wait_timeout)"
            }
        );
        let _ = writeln!(out, "    pools: [");
        for p in &fit.pools {
            let _ = writeln!(
                out,
                "        Pool(name: {}, size: {}, acquire_timeout: {}),{}",
                quoted(&p.name),
                p.size,
                quoted(&duration(p.acquire_timeout_s)),
                if p.timeout_from_map {
                    ""
                } else {
                    " // the timeout is a default"
                }
            );
        }
        let _ = writeln!(out, "    ],");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "    // Steps in the order the source listed them: put them in your service's order."
    );
    let _ = writeln!(out, "    service: Service(");
    let _ = writeln!(out, "        name: {},", quoted(&fit.service));
    let _ = writeln!(out, "        max_in_flight: 100000,");
    let _ = writeln!(out, "        steps: [");
    for s in &fit.steps {
        let _ = writeln!(
            out,
            "            // {} calls; time fitted as {} ({:.3} from the histogram's buckets){}.",
            s.calls as u64,
            s.time.name(),
            s.distance,
            match s.pool_note.as_deref() {
                Some(note) => format!("; {note}"),
                None => String::new(),
            }
        );
        let mut fields = vec![format!("name: {}", quoted(&s.name))];
        match s.pools.as_slice() {
            [] => {}
            [one] => fields.push(format!("pool: {}", quoted(one))),
            several => fields.push(format!(
                "pools: [{}]",
                several
                    .iter()
                    .map(|p| quoted(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
        fields.push(format!("time: {}", time(&s.time)));
        if let Some(share) = s.share {
            fields.push(format!("share: {share:.3}"));
        }
        if s.error_rate > 0.0 {
            fields.push(format!("error_rate: {:.4}", s.error_rate));
        }
        if s.degrades {
            fields.push("on_timeout: Degrade(wrong_answer_rate: 0.5) /* how often a degraded answer is wrong: not in telemetry */".into());
        }
        let _ = writeln!(out, "            Step({}),", fields.join(", "));
    }
    let _ = writeln!(out, "        ],");
    let _ = writeln!(out, "    ),");
    if fit.retried_per_s > 0.0 {
        let _ = writeln!(
            out,
            "    // Clients retried {} requests per second on average: add `retries: Retries(...)` to the service (docs/drill-format.md).",
            rate(fit.retried_per_s)
        );
    }
    let _ = writeln!(out);
    let rest = template_rest(fit);
    match &fit.rules {
        Some(rules) => out.push_str(&with_alerts(&rest, rules)),
        None => out.push_str(&rest),
    }
    out
}

/// The template with its alerts replaced by the team's, and the rules left out listed.
fn with_alerts(rest: &str, rules: &Rules) -> String {
    let start = rest.find("    alerts: [").expect("the template has alerts");
    let end = start + rest[start..].find("\n    ],\n").expect("the alerts end") + 8;
    let mut block = String::new();
    let _ = writeln!(
        block,
        "    // The team's alerting rules from {}, read back ({} of {} rules); `expect: Either`\n    // until you know which your incident should fire (then `Fires`; `Quiet` for those it must not).",
        comment_text(&rules.file),
        rules.alerts.len(),
        rules.alerts.len() + rules.left_out.len()
    );
    for left in &rules.left_out {
        let _ = writeln!(
            block,
            "    // Left out: {}: {}",
            comment_text(&left.name),
            comment_text(&left.reason)
        );
    }
    let _ = writeln!(block, "    alerts: [");
    for a in &rules.alerts {
        let mut fields = vec![
            format!("name: {}", quoted(&a.name)),
            format!(
                "when: {}",
                ron::to_string(&a.when).expect("a condition is plain data")
            ),
            format!("for: {}", quoted(&duration(a.hold.as_secs_f64()))),
            format!("severity: {:?}", a.severity),
        ];
        if !a.summary.is_empty() {
            fields.push(format!("summary: {}", quoted(&a.summary)));
        }
        if let Some(runbook) = &a.runbook {
            fields.push(format!("runbook: {}", quoted(runbook)));
        }
        fields.push("expect: Either".into());
        let _ = writeln!(block, "        Alert({}),", fields.join(", "));
    }
    let _ = writeln!(block, "    ],");
    format!("{}{block}{}", &rest[..start], &rest[end..])
}

/// `firedrill new`'s template from its faults on, with its `db` pool replaced by the first
/// fitted pool (or its pool alerts, action and reference line left out when there is none).
fn template_rest(fit: &Fitted) -> String {
    let start = NEW_DRILL_TEMPLATE
        .find("    // The failure:")
        .expect("the template has its faults");
    let rest = &NEW_DRILL_TEMPLATE[start..];
    let Some(pool) = fit.pools.first() else {
        let mut out = String::new();
        let mut skip = false;
        for line in rest.lines() {
            if line.contains("PoolTimeoutRate") || line.contains("PoolUtilization") {
                skip = true;
            }
            if line.contains("scale-pool") {
                continue;
            }
            if !skip {
                out.push_str(line);
                out.push('\n');
            }
            if skip && line.trim_end().ends_with("),") {
                skip = false;
            }
        }
        return out;
    };
    rest.replace("\"db\"", &quoted(&pool.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back() {
        for (s, text) in [
            (0.09012, "90.12ms"),
            (1.4, "1.4s"),
            (300.0, "5m"),
            (2400.0, "40m"),
            (7200.0, "2h"),
            (90.5, "90.5s"),
            (0.5, "500ms"),
        ] {
            assert_eq!(duration(s), text);
            crate::drill::Duration::parse(text).unwrap();
        }
    }
}
