//! What the series say about the system, in firedrill's own names (docs/metrics.md): the
//! arrival rate window by window, and over the whole range each step's calls, errors and
//! time histogram and each pool's size and busy time. The same reading serves the source
//! and the simulation of the fitted drill, so the goodness report compares like with like.
//!
//! Every series is checked before it is used: a counter that goes down (a reset), a gap in
//! the samples, a histogram without `+Inf`, a range too short to fit — each is refused by
//! name, never smoothed over.

use std::collections::BTreeMap;

use super::FitError;
use super::series::{Dataset, Series};

/// The shortest range `fit` works with.
pub const MIN_RANGE_MS: i64 = 5 * 60_000;
/// The window of the traffic curve when the range allows it.
pub const WINDOW_MS: i64 = 5 * 60_000;

/// One step, over the whole range.
#[derive(Debug, Clone, PartialEq)]
pub struct StepObs {
    pub name: String,
    pub calls: f64,
    pub errors: f64,
    pub skipped: f64,
    /// `(le, cumulative count)` ascending, ending with `+Inf`; empty when the source has no
    /// histogram for the step.
    pub buckets: Vec<(f64, f64)>,
    /// The histogram's sum and count (seconds and calls).
    pub sum: f64,
    pub count: f64,
    /// Busy seconds of the step's calls (`firedrill_step_seconds_total`), when given.
    pub seconds: Option<f64>,
}

impl StepObs {
    /// Mean call time in seconds.
    #[must_use]
    pub fn mean(&self) -> f64 {
        if self.count > 0.0 {
            self.sum / self.count
        } else {
            self.seconds.unwrap_or(0.0) / self.calls.max(1.0)
        }
    }

    /// The `q`-quantile as `histogram_quantile` interpolates it from the buckets.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        histogram_quantile(q, &self.buckets)
    }
}

/// One pool, over the whole range.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolObs {
    pub name: String,
    /// The largest size seen.
    pub size: f64,
    /// Busy connection-seconds over the range.
    pub busy_seconds: f64,
    pub timeouts: f64,
}

/// What the series say, over `[start_ms, end_ms]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub service: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The typical spacing of the samples.
    pub interval_ms: i64,
    /// The width of the traffic windows.
    pub window_ms: i64,
    /// Arrivals per second in each window, from `start_ms` on.
    pub rates: Vec<f64>,
    pub arrived: f64,
    pub admitted: f64,
    pub retried: f64,
    pub steps: Vec<StepObs>,
    pub pools: Vec<PoolObs>,
}

impl Observed {
    #[must_use]
    pub fn seconds(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / 1000.0
    }

    /// A pool's mean busy connections over its size.
    #[must_use]
    pub fn utilization(&self, pool: &PoolObs) -> f64 {
        if pool.size <= 0.0 {
            return 0.0;
        }
        pool.busy_seconds / self.seconds() / pool.size
    }
}

/// `histogram_quantile(q, ...)` over cumulative `(le, count)` buckets ending in `+Inf`:
/// linear within a bucket, the last finite bound for the `+Inf` bucket.
#[must_use]
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, c) in buckets {
        if c >= rank {
            if le.is_infinite() {
                return lower.0;
            }
            if c - lower.1 <= 0.0 {
                return le;
            }
            return lower.0 + (le - lower.0) * (rank - lower.1) / (c - lower.1);
        }
        lower = (le, c);
    }
    lower.0
}

/// The typical spacing of a series' samples (their median), in ms.
fn spacing(s: &Series) -> Option<i64> {
    let mut d: Vec<i64> = s.samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    Some(d[d.len() / 2])
}

fn time(ms: i64) -> String {
    crate::export::time::format_rfc3339_ms(ms)
}

/// A counter's checked samples: no gap wider than three times its spacing, never down.
fn check_counter(s: &Series, interval: i64) -> Result<(), FitError> {
    for w in s.samples.windows(2) {
        let ((t0, v0), (t1, v1)) = (w[0], w[1]);
        if t1 - t0 > 3 * interval {
            return Err(FitError::Input {
                what: s.display(),
                message: format!(
                    "has a gap: no samples from {} to {} (samples are {} s apart elsewhere)",
                    time(t0),
                    time(t1),
                    interval / 1000
                ),
                hint: "fit a range without the gap (--start/--end), or fill it at the source"
                    .into(),
            });
        }
        if v1 < v0 {
            return Err(FitError::Input {
                what: s.display(),
                message: format!(
                    "goes down from {v0} to {v1} at {} (a counter reset: a restart of the process?)",
                    time(t1)
                ),
                hint: "fit a range on one side of the reset (--start/--end)".into(),
            });
        }
        if !v1.is_finite() {
            return Err(FitError::Input {
                what: s.display(),
                message: format!("has the value {v1} at {}", time(t1)),
                hint: "a counter's samples must be finite numbers".into(),
            });
        }
    }
    Ok(())
}

/// The value at `t`: the last sample at or before it (the first sample before the series starts).
fn value_at(s: &Series, t: i64) -> f64 {
    let i = s.samples.partition_point(|&(ts, _)| ts <= t);
    if i == 0 {
        s.samples.first().map_or(0.0, |x| x.1)
    } else {
        s.samples[i - 1].1
    }
}

fn increase(s: &Series, from: i64, to: i64) -> f64 {
    value_at(s, to) - value_at(s, from)
}

/// The one series named `name` for `service`, or an error naming it.
fn one<'a>(data: &'a Dataset, name: &'a str, service: &str) -> Result<&'a Series, FitError> {
    let found: Vec<&Series> = data
        .named(name)
        .filter(|s| s.label("service").is_none_or(|v| v == service))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(FitError::Missing {
            name: name.to_owned(),
            hint: format!(
                "fit reads firedrill's metric names (docs/metrics.md); is {name} exported?"
            ),
        }),
        several => Err(several_series(
            name.to_owned(),
            several,
            "choose the service with --service",
        )),
    }
}

/// Label values of `key` over the series named `name`, in source order, deduplicated.
/// Several series where one is expected, each named.
fn several_series(what: String, several: &[&Series], hint: &str) -> FitError {
    FitError::Input {
        what,
        message: format!(
            "{} series where one is expected: {}",
            several.len(),
            several
                .iter()
                .map(|s| s.display())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        hint: hint.into(),
    }
}

fn values_of(data: &Dataset, name: &str, key: &str, service: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in data.named(name) {
        if !service.is_empty() && s.label("service").is_some_and(|v| v != service) {
            continue;
        }
        if let Some(v) = s.label(key)
            && !out.iter().any(|o| o == v)
        {
            out.push(v.to_owned());
        }
    }
    out
}

/// The services the arrival counter names.
#[must_use]
pub fn services(data: &Dataset) -> Vec<String> {
    values_of(data, ARRIVED, "service", "")
        .into_iter()
        .chain(
            data.named(ARRIVED)
                .filter(|s| s.label("service").is_none())
                .map(|_| String::new()),
        )
        .collect()
}

pub const ARRIVED: &str = "firedrill_requests_arrived_total";

/// The sample names fit reads, as a source is asked for them (one query each).
pub const NAMES: &[&str] = &[
    ARRIVED,
    "firedrill_requests_admitted_total",
    "firedrill_requests_retried_total",
    "firedrill_step_calls_total",
    "firedrill_step_errors_total",
    "firedrill_step_skipped_total",
    "firedrill_step_seconds_total",
    "firedrill_step_duration_seconds_bucket",
    "firedrill_step_duration_seconds_sum",
    "firedrill_step_duration_seconds_count",
    "firedrill_pool_connections_max",
    "firedrill_pool_connections_active_seconds_total",
    "firedrill_pool_connection_timeouts_total",
];

/// Reads `data` for `service` (the only one when `None`).
///
/// # Errors
/// A missing or ambiguous series, a gap, a reset, a histogram without `+Inf`, a range too short.
pub fn observe(data: &Dataset, service: Option<&str>) -> Result<Observed, FitError> {
    let known = services(data);
    let service = match service {
        Some(s) => {
            if !known.iter().any(|k| k == s) {
                return Err(FitError::Input {
                    what: format!("--service {s}"),
                    message: format!(
                        "no such service in the source (it has: {})",
                        known.join(", ")
                    ),
                    hint: "name one of the services listed".into(),
                });
            }
            s.to_owned()
        }
        None => match known.as_slice() {
            [] => {
                return Err(FitError::Missing {
                    name: ARRIVED.into(),
                    hint: "the source holds no arrivals in the range: is the range right (--start/--end), and does the source hold firedrill's metric names?".into(),
                });
            }
            [one] => one.clone(),
            several => {
                return Err(FitError::Input {
                    what: ARRIVED.into(),
                    message: format!("several services: {}", several.join(", ")),
                    hint: "choose one with --service NAME".into(),
                });
            }
        },
    };
    let arrived = one(data, ARRIVED, &service)?;
    let interval = spacing(arrived).unwrap_or(0).max(1);
    let start = arrived.samples.first().map_or(0, |x| x.0);
    let end = arrived.samples.last().map_or(0, |x| x.0);
    if end - start < MIN_RANGE_MS || arrived.samples.len() < 5 {
        return Err(FitError::Input {
            what: ARRIVED.into(),
            message: format!(
                "the range from {} to {} holds {} samples over {} s; fit needs at least 5 samples over 5 minutes",
                time(start),
                time(end),
                arrived.samples.len(),
                (end - start) / 1000
            ),
            hint: "widen the range with --start/--end".into(),
        });
    }
    let window = if end - start >= 6 * WINDOW_MS {
        WINDOW_MS
    } else {
        ((end - start) / 6 / interval).max(1) * interval
    };
    let counted = |s: &Series| -> Result<f64, FitError> {
        check_counter(s, interval.max(spacing(s).unwrap_or(interval)))?;
        Ok(increase(s, start, end))
    };
    counted(arrived)?;
    let mut rates = Vec::new();
    let mut t = start;
    while t + window <= end {
        rates.push(increase(arrived, t, t + window) / (window as f64 / 1000.0));
        t += window;
    }
    let optional = |name: &str| -> Result<f64, FitError> {
        match one(data, name, &service) {
            Ok(s) => counted(s),
            Err(FitError::Missing { .. }) => Ok(0.0),
            Err(e) => Err(e),
        }
    };
    let arrived_total = increase(arrived, start, end);
    let admitted = match one(data, "firedrill_requests_admitted_total", &service) {
        Ok(s) => counted(s)?,
        Err(FitError::Missing { .. }) => arrived_total,
        Err(e) => return Err(e),
    };
    let retried = optional("firedrill_requests_retried_total")?;

    let per = |name: &str, key: &str, value: &str| -> Result<Option<f64>, FitError> {
        let found: Vec<&Series> = data
            .named(name)
            .filter(|s| {
                s.label("service").is_none_or(|v| v == service) && s.label(key) == Some(value)
            })
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [s] => counted(s).map(Some),
            several => Err(several_series(
                format!("{name}{{{key}=\"{value}\"}}"),
                several,
                "the source must hold one series per step and pool",
            )),
        }
    };
    let mut steps = Vec::new();
    for name in values_of(data, "firedrill_step_calls_total", "step", &service) {
        let calls = per("firedrill_step_calls_total", "step", &name)?.unwrap_or(0.0);
        let errors = per("firedrill_step_errors_total", "step", &name)?.unwrap_or(0.0);
        let skipped = per("firedrill_step_skipped_total", "step", &name)?.unwrap_or(0.0);
        let seconds = per("firedrill_step_seconds_total", "step", &name)?;
        let (buckets, sum, count) = step_histogram(data, &service, &name, interval, start, end)?;
        steps.push(StepObs {
            name,
            calls,
            errors,
            skipped,
            buckets,
            sum,
            count,
            seconds,
        });
    }
    let mut pools = Vec::new();
    for name in values_of(data, "firedrill_pool_connections_max", "pool", &service) {
        let size = data
            .named("firedrill_pool_connections_max")
            .filter(|s| {
                s.label("pool") == Some(&name) && s.label("service").is_none_or(|v| v == service)
            })
            .flat_map(|s| s.samples.iter().map(|x| x.1))
            .fold(0.0_f64, f64::max);
        let busy_seconds = per(
            "firedrill_pool_connections_active_seconds_total",
            "pool",
            &name,
        )?
        .unwrap_or(0.0);
        let timeouts =
            per("firedrill_pool_connection_timeouts_total", "pool", &name)?.unwrap_or(0.0);
        pools.push(PoolObs {
            name,
            size,
            busy_seconds,
            timeouts,
        });
    }
    Ok(Observed {
        service,
        start_ms: start,
        end_ms: end,
        interval_ms: interval,
        window_ms: window,
        rates,
        arrived: arrived_total,
        admitted,
        retried,
        steps,
        pools,
    })
}

/// Cumulative counts by `le` (ending in `+Inf`), sum and count.
type Histogram = (Vec<(f64, f64)>, f64, f64);

/// A step's histogram over the range.
fn step_histogram(
    data: &Dataset,
    service: &str,
    step: &str,
    interval: i64,
    start: i64,
    end: i64,
) -> Result<Histogram, FitError> {
    let mine = |s: &&Series| {
        s.label("service").is_none_or(|v| v == service) && s.label("step") == Some(step)
    };
    let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    let mut any = false;
    for s in data
        .named("firedrill_step_duration_seconds_bucket")
        .filter(mine)
    {
        any = true;
        let le = s.label("le").and_then(|v| match v {
            "+Inf" | "Inf" => Some(f64::INFINITY),
            v => v.parse::<f64>().ok(),
        });
        let Some(le) = le.filter(|le| !le.is_nan()) else {
            return Err(FitError::Input {
                what: s.display(),
                message: "a bucket without a numeric le label".into(),
                hint: "histogram buckets carry le=\"<upper bound>\"".into(),
            });
        };
        check_counter(s, interval.max(spacing(s).unwrap_or(interval)))?;
        by_le.insert(le.to_bits(), (le, increase(s, start, end)));
    }
    if !any {
        return Ok((Vec::new(), 0.0, 0.0));
    }
    let mut buckets: Vec<(f64, f64)> = by_le.into_values().collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0.is_finite()) {
        return Err(FitError::Input {
            what: format!("firedrill_step_duration_seconds_bucket{{step=\"{step}\"}}"),
            message: "the histogram has no +Inf bucket, so its count is unknown".into(),
            hint: "export every bucket of the histogram, le=\"+Inf\" included".into(),
        });
    }
    let total = buckets.last().map_or(0.0, |b| b.1);
    let pick = |name: &str| -> f64 {
        data.named(name)
            .find(|s| mine(s))
            .map_or(f64::NAN, |s| increase(s, start, end))
    };
    let sum = pick("firedrill_step_duration_seconds_sum");
    let count = pick("firedrill_step_duration_seconds_count");
    let count = if count.is_nan() { total } else { count };
    Ok((buckets, sum, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantile_interpolates_like_prometheus() {
        let b = [(1.0, 50.0), (2.0, 100.0), (f64::INFINITY, 100.0)];
        assert!((histogram_quantile(0.5, &b) - 1.0).abs() < 1e-12);
        assert!((histogram_quantile(0.75, &b) - 1.5).abs() < 1e-12);
        assert!(histogram_quantile(0.5, &[]).is_nan());
    }

    fn counter(samples: &[(i64, f64)]) -> Series {
        Series {
            name: "c_total".into(),
            labels: BTreeMap::new(),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn resets_and_gaps_are_named() {
        let reset = counter(&[(0, 1.0), (1000, 5.0), (2000, 2.0)]);
        let e = check_counter(&reset, 1000).unwrap_err().to_string();
        assert!(e.contains("c_total") && e.contains("reset"), "{e}");
        let gap = counter(&[(0, 1.0), (1000, 2.0), (9000, 3.0)]);
        let e = check_counter(&gap, 1000).unwrap_err().to_string();
        assert!(e.contains("gap"), "{e}");
        assert!(check_counter(&counter(&[(0, 1.0), (1000, 1.0), (2000, 4.0)]), 1000).is_ok());
    }
}
