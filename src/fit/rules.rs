//! `fit --rules`: a team's Prometheus alerting rules read back into drill alerts.
//!
//! A rule becomes an alert when its expression has a form firedrill exports
//! (`export --format prometheus-rules`, docs/metrics.md's table): one metric's expression over
//! a look-back window, compared with a number by `>` or `<`. The form is recognised by
//! writing each metric's expression for the rule's service, step, pool and window with the
//! same function the export uses, and comparing it with the rule's (whitespace aside), so what
//! is read back is exactly what firedrill itself would write. Every other rule — recording
//! rules, other expressions, a service, step or pool the fitted system lacks, an unknown
//! severity — is listed by name with the reason and left out; nothing is guessed.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::FitError;
use crate::drill::Duration;
use crate::drill::spec::{Alert, Condition, Expect, Metric, Severity};
use crate::export::rules::metric_expr;

/// The most a rules file may hold.
pub const RULES_LIMIT: u64 = 16 << 20;

/// What a rules file gave: the alerts, and the rules left out with the reason for each.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Rules {
    pub file: String,
    pub alerts: Vec<Alert>,
    /// The look-back window the converted rules share, when they share one.
    pub window: Option<Duration>,
    pub left_out: Vec<LeftOut>,
}

/// A rule that did not become an alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeftOut {
    pub name: String,
    pub reason: String,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    name: String,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    expr: Option<serde_norway::Value>,
    #[serde(rename = "for", default)]
    hold: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// What the fitted system has, which a rule must name.
pub struct System<'a> {
    pub service: &'a str,
    pub steps: &'a [String],
    pub pools: &'a [String],
}

/// Reads the rules file `text` (named `file` in messages) against the fitted `system`.
///
/// # Errors
/// The file is not YAML, or not a Prometheus rules file (`groups:` of `rules:`).
pub fn read(text: &str, file: &str, system: &System) -> Result<Rules, FitError> {
    let parsed: File = serde_norway::from_str(text).map_err(|e| {
        let place = e.location().map_or_else(
            || file.to_owned(),
            |l| format!("{file}:{}:{}", l.line(), l.column()),
        );
        FitError::Input {
            what: place,
            message: format!("not a Prometheus rules file: {e}"),
            hint: "give the file Prometheus loads with rule_files (groups: - name: .. rules: - alert: ..); `promtool check rules FILE` checks it".into(),
        }
    })?;
    let mut out = Rules {
        file: file.to_owned(),
        ..Rules::default()
    };
    let mut windows: Vec<Duration> = Vec::new();
    for group in &parsed.groups {
        for (i, rule) in group.rules.iter().enumerate() {
            let name = rule
                .alert
                .clone()
                .or_else(|| rule.record.clone())
                .unwrap_or_else(|| format!("rule {} of group {}", i + 1, group.name));
            match convert(rule, system) {
                Ok((alert, window)) => {
                    windows.extend(window);
                    out.alerts.push(alert);
                }
                Err(reason) => out.left_out.push(LeftOut { name, reason }),
            }
        }
    }
    windows.dedup();
    if let [one] = windows.as_slice() {
        out.window = Some(*one);
    }
    Ok(out)
}

/// One rule as a drill alert and the window its expression looks back over, or the reason
/// it cannot be one.
fn convert(rule: &Rule, system: &System) -> Result<(Alert, Option<Duration>), String> {
    let Some(name) = &rule.alert else {
        return Err(
            "a recording rule: firedrill's alerts are computed from the drill's own series".into(),
        );
    };
    let expr = match &rule.expr {
        Some(serde_norway::Value::String(s)) => s.clone(),
        Some(serde_norway::Value::Number(n)) => n.to_string(),
        _ => return Err("no `expr`".into()),
    };
    let (lhs, op, threshold) = comparison(&expr)?;
    let (metric, window) = form(lhs, system)?;
    let condition = match op {
        '>' => Condition::Above { metric, threshold },
        _ => Condition::Below { metric, threshold },
    };
    let hold = match &rule.hold {
        None => Duration::from_nanos(0),
        Some(text) => prom_duration(text).ok_or_else(|| {
            format!("`for: {text}` is not a Prometheus duration (e.g. 2m, 1h30m)")
        })?,
    };
    let severity = match rule.labels.get("severity").map(|s| s.to_ascii_lowercase()) {
        None => Severity::Ticket,
        Some(s) => match s.as_str() {
            "page" | "critical" | "error" => Severity::Page,
            "ticket" | "warning" | "info" | "none" => Severity::Ticket,
            other => {
                return Err(format!(
                    "severity `{other}`: firedrill pages for page, critical or error, and files a ticket for ticket, warning, info or none"
                ));
            }
        },
    };
    let unliteral = |t: &String| t.replace("{{ \"{{\" }}", "{{");
    Ok((
        Alert {
            name: name.clone(),
            when: condition,
            hold,
            severity,
            summary: rule
                .annotations
                .get("summary")
                .map(unliteral)
                .unwrap_or_default(),
            runbook: rule
                .annotations
                .get("runbook_url")
                .or_else(|| rule.annotations.get("runbook"))
                .map(unliteral),
            // A team's real alert may or may not fire on the incident the author adds.
            expect: Expect::Either,
        },
        window,
    ))
}

/// `lhs > number` or `lhs < number` at the top level of `expr`.
fn comparison(expr: &str) -> Result<(&str, char, f64), String> {
    let mut depth = 0_i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut found = None;
    for (i, c) in expr.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '=' if depth == 0 && found.is_some_and(|(at, _): (usize, char)| at + 1 == i) => {
                // The second half of `>=`, `<=`, `==` or `!=`.
                found = found.map(|(at, _)| (at, '='));
            }
            '>' | '<' | '=' | '!' if depth == 0 => {
                if found.is_some() {
                    return Err(format!(
                        "`{}`: more than one comparison; firedrill's alerts compare one metric with a number",
                        one_line(expr)
                    ));
                }
                found = Some((i, c));
            }
            _ => {}
        }
    }
    let Some((at, op)) = found else {
        return Err(format!(
            "`{}`: no `>` or `<` comparison with a number",
            one_line(expr)
        ));
    };
    if op != '>' && op != '<' {
        return Err(format!(
            "`{}`: only `>` and `<` compare (a drill alert is Above or Below a threshold)",
            one_line(expr)
        ));
    }
    let rhs = expr[at + 1..].trim();
    let threshold: f64 = rhs.parse().map_err(|_| {
        format!(
            "`{}`: the comparison is with `{rhs}`, not a number",
            one_line(expr)
        )
    })?;
    Ok((expr[..at].trim(), op, threshold))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every metric an alert can watch, with this step and pool. The match below has no
/// catch-all, so a new metric must be listed here before the crate compiles.
fn metrics(step: &str, pool: &str) -> Vec<Metric> {
    let all = vec![
        Metric::ArrivalRate,
        Metric::Throughput,
        Metric::ErrorRate,
        Metric::ErrorRatio,
        Metric::RejectedRate,
        Metric::DegradedRatio,
        Metric::LatencyP50,
        Metric::LatencyP95,
        Metric::LatencyP99,
        Metric::InFlight,
        Metric::PoolUtilization(pool.into()),
        Metric::PoolWaiting(pool.into()),
        Metric::PoolSize(pool.into()),
        Metric::PoolTimeoutRate(pool.into()),
        Metric::StepTime(step.into()),
        Metric::StepErrorRatio(step.into()),
        Metric::StepRateLimitedRate(step.into()),
        Metric::StepRetryRate(step.into()),
        Metric::RetryRate,
        Metric::TokenRate,
        Metric::CostRate,
        Metric::EvalWrongAnswerRatio,
    ];
    for m in &all {
        match m {
            Metric::ArrivalRate
            | Metric::Throughput
            | Metric::ErrorRate
            | Metric::ErrorRatio
            | Metric::RejectedRate
            | Metric::DegradedRatio
            | Metric::LatencyP50
            | Metric::LatencyP95
            | Metric::LatencyP99
            | Metric::InFlight
            | Metric::PoolUtilization(_)
            | Metric::PoolWaiting(_)
            | Metric::PoolSize(_)
            | Metric::PoolTimeoutRate(_)
            | Metric::StepTime(_)
            | Metric::StepErrorRatio(_)
            | Metric::StepRateLimitedRate(_)
            | Metric::StepRetryRate(_)
            | Metric::RetryRate
            | Metric::TokenRate
            | Metric::CostRate
            | Metric::EvalWrongAnswerRatio
            // Ground truth has no exported series, so no rule can watch it.
            | Metric::WrongAnswerRatio => {}
        }
    }
    all
}

/// The metric whose exported expression `lhs` is, and its window.
fn form(lhs: &str, system: &System) -> Result<(Metric, Option<Duration>), String> {
    let unsupported = || {
        format!(
            "`{}` is not an expression firedrill exports (docs/metrics.md lists the forms; `firedrill export --format prometheus-rules` writes them)",
            one_line(lhs)
        )
    };
    let service = label(lhs, "service").ok_or_else(unsupported)?;
    if service != system.service {
        return Err(format!(
            "for service `{service}`, not the fitted `{}`",
            system.service
        ));
    }
    let step = label(lhs, "step").unwrap_or_default();
    let pool = label(lhs, "pool").unwrap_or_default();
    let window = lhs
        .find('[')
        .and_then(|i| lhs[i + 1..].find(']').map(|j| &lhs[i + 1..i + 1 + j]))
        .map(|w| prom_duration(w).ok_or_else(unsupported))
        .transpose()?;
    let wanted = squeeze(lhs);
    let metric = metrics(&step, &pool)
        .into_iter()
        .find(|m| {
            squeeze(&metric_expr(
                m,
                &service,
                window.unwrap_or(Duration::from_secs(60)),
            )) == wanted
        })
        .ok_or_else(unsupported)?;
    if let Some(s) = metric.step()
        && !system.steps.iter().any(|x| x == s)
    {
        return Err(format!(
            "step `{s}` is not in the fitted system (it has: {})",
            system.steps.join(", ")
        ));
    }
    if let Some(p) = metric.pool()
        && !system.pools.iter().any(|x| x == p)
    {
        return Err(format!(
            "pool `{p}` is not in the fitted system (it has: {})",
            if system.pools.is_empty() {
                "none".into()
            } else {
                system.pools.join(", ")
            }
        ));
    }
    Ok((metric, window))
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The value of the first `key="..."` matcher in `expr`, unescaped.
fn label(expr: &str, key: &str) -> Option<String> {
    let needle = format!("{key}=\"");
    let mut from = 0;
    while let Some(i) = expr[from..].find(&needle) {
        let at = from + i;
        let before = expr[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            from = at + needle.len();
            continue;
        }
        let mut out = String::new();
        let mut chars = expr[at + needle.len()..].chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        return None;
    }
    None
}

/// A Prometheus duration: `1h30m`, `2m`, `250ms`, `1d`, `1w`, `1y`.
#[must_use]
pub fn prom_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let size: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        ms = ms.checked_add(n.checked_mul(size)?)?;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_nanos(ms.checked_mul(1_000_000)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> (Vec<String>, Vec<String>) {
        (vec!["retrieve".into()], vec!["db".into()])
    }

    #[test]
    fn exported_forms_read_back_and_others_are_named() {
        let (steps, pools) = system();
        let sys = System {
            service: "agent",
            steps: &steps,
            pools: &pools,
        };
        let yaml = r#"
groups:
  - name: team
    rules:
      - alert: PoolHot
        expr: "rate(firedrill_pool_connections_active_seconds_total{service=\"agent\",pool=\"db\"}[2m]) / clamp_min(firedrill_pool_connections_max{service=\"agent\",pool=\"db\"}, 1) > 0.9"
        for: 1m30s
        labels: {severity: critical}
        annotations: {summary: "db is hot {{ \"{{\" }}x}}"}
      - record: job:x:rate5m
        expr: rate(x[5m])
      - alert: Absent
        expr: absent(up)
      - alert: Joined
        expr: rate(a[5m]) > 3 and on() b > 1
"#;
        let rules = read(yaml, "team.yml", &sys).unwrap();
        assert_eq!(rules.alerts.len(), 1);
        let a = &rules.alerts[0];
        assert_eq!(a.name, "PoolHot");
        assert_eq!(
            a.when,
            Condition::Above {
                metric: Metric::PoolUtilization("db".into()),
                threshold: 0.9
            }
        );
        assert_eq!(a.hold, Duration::from_secs(90));
        assert_eq!(a.severity, Severity::Page);
        assert_eq!(a.summary, "db is hot {{x}}");
        assert_eq!(rules.window, Some(Duration::from_secs(120)));
        let names: Vec<&str> = rules.left_out.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["job:x:rate5m", "Absent", "Joined"]);
        assert!(rules.left_out[0].reason.contains("recording rule"));
        assert!(rules.left_out[1].reason.contains("no `>` or `<`"));
        assert!(
            rules.left_out[2]
                .reason
                .contains("more than one comparison")
        );
    }

    #[test]
    fn bad_yaml_is_placed() {
        let (steps, pools) = system();
        let sys = System {
            service: "agent",
            steps: &steps,
            pools: &pools,
        };
        let e = read("groups:\n  - name: [x\n", "r.yml", &sys).unwrap_err();
        assert!(e.to_string().starts_with("r.yml:"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(prom_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(
            prom_duration("250ms"),
            Some(Duration::from_nanos(250_000_000))
        );
        assert_eq!(prom_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(prom_duration("5"), None);
        assert_eq!(prom_duration("m"), None);
    }
}
