//! The metrics a view can show, by the names the team types: every name `metric` accepts
//! (`latency_p95`, `pool_waiting:db`, `step_time:generate`), the resolution of a typed name to
//! a signal the team may see (with a suggestion for a typo and the reason a ground-truth metric
//! is refused), the unit each signal reads in and how its values and thresholds are written.
//!
//! It does not draw anything ([`super::layout`] does) and does not decide which metrics a view
//! shows.

use crate::drill::suggest;
use crate::telemetry::observed::{Observable, ObservedBucket};
use crate::telemetry::series::Signal;
pub(super) use crate::telemetry::series::Unit;

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
const STEP_METRICS: [(&str, StepSignal); 4] = [
    ("step_time", Signal::StepTime),
    ("step_error_ratio", Signal::StepErrorRatio),
    ("step_rate_limited_rate", Signal::StepRateLimitedRate),
    ("step_retry_rate", Signal::StepRetryRate),
];

/// Every metric name `metric` accepts for a drill with these pools and steps, in a fixed
/// order: the service-wide ones a real team can observe, then three per pool
/// (`pool_utilization:db`, ...), then four per step (`step_time:generate`, ...).
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

impl Unit {
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn least_scale(self) -> f64 {
        match self {
            Unit::PerSecond | Unit::Seconds => 0.1,
            Unit::Percent => 0.01,
            Unit::Count | Unit::DollarsPerHour => 1.0,
        }
    }

    /// A value for a table or dashboard row (ratios are stored as fractions).
    pub(super) fn format(self, value: f64) -> String {
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
    pub(super) fn format_threshold(self, value: f64) -> String {
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
pub(super) fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// What the alert conditions saw for `signal` at the end of `bucket` (zero for a pool or step
/// the bucket does not know).
pub(super) fn observed(bucket: ObservedBucket, signal: Observable) -> f64 {
    finite(bucket.value(signal).unwrap_or(0.0))
}

/// A signal the dashboard always shows; none of them is ground truth.
pub(super) fn shown(signal: Signal) -> Observable {
    Observable::new(signal).expect("the default dashboard shows only observable signals")
}

/// The name the team types for `signal`.
pub(super) fn signal_name(signal: Signal, pools: &[String], steps: &[String]) -> String {
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
        Signal::StepRateLimitedRate(i) => format!("step_rate_limited_rate:{}", name(steps, i)),
        Signal::StepRetryRate(i) => format!("step_retry_rate:{}", name(steps, i)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_cover_every_signal() {
        let pools = vec!["db".to_owned(), "cache".to_owned()];
        let steps = vec!["retrieve".to_owned(), "generate".to_owned()];
        let names = metric_names(&pools, &steps);
        // Every service-wide metric but the one that is ground truth.
        assert_eq!(
            names.len(),
            GLOBAL_METRICS.len() - 1 + POOL_METRICS.len() * 2 + STEP_METRICS.len() * 2
        );
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
}
