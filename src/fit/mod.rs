//! `firedrill fit`: the system part of a drill from a team's telemetry. A source (an
//! OpenMetrics file, saved `query_range` answers, or a running Prometheus: [`source`]) gives
//! raw series ([`series`]); [`observe`] reads what they say in firedrill's own metric names
//! (docs/metrics.md); [`model`] fits the traffic curve, each step's share, time distribution
//! and error rate, and each pool's size; [`write`] writes the drill, which must load and
//! pass `check`; and the fitted drill is simulated over the same window and read back the
//! same way, so the goodness report compares observed with simulated quantity by quantity.
//!
//! This layer fits; it does not decide what the incident is (faults, roles, the reference
//! come from `firedrill new`'s template), and it does no I/O but the source's reads.

pub mod map;
pub mod model;
pub mod observe;
pub mod rules;
pub mod series;
pub mod source;
pub mod write;

use serde::Serialize;

use crate::drill::spec::Drill;
use crate::export;
use crate::telemetry::prometheus::{Kind, METRICS, Point};
use model::{TimeFit, TrafficFit};
use observe::Observed;
use series::{Dataset, Series};

/// Everything that stops a fit, each naming what and where.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("{what}: {message}\n  hint: {hint}")]
    Input {
        what: String,
        message: String,
        hint: String,
    },
    #[error("{name}: no such series in the source\n  hint: {hint}")]
    Missing { name: String, hint: String },
    #[error("the Prometheus server refused the query `{query}`: {message}")]
    Server { query: String, message: String },
    #[error("{0}")]
    Connect(String),
    #[error("the fitted drill does not load (a bug in fit; please report it):\n{0}")]
    Invalid(String),
}

/// The acquire timeout written when the map gives none (telemetry cannot show one).
pub const DEFAULT_ACQUIRE_TIMEOUT_S: f64 = 2.0;

/// A fitted step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFitted {
    pub name: String,
    pub calls: f64,
    /// Below 1 when some requests do not call it; `None` for every request.
    pub share: Option<f64>,
    pub time: TimeFit,
    /// The fit's largest distance from the histogram's cumulative distribution.
    pub distance: f64,
    pub error_rate: f64,
    pub pools: Vec<String>,
    /// Why the pools were chosen, or why none was.
    pub pool_note: Option<String>,
    /// Requests went on without the step after a connection wait timed out.
    pub degrades: bool,
}

/// A fitted pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolFitted {
    pub name: String,
    pub size: i64,
    pub acquire_timeout_s: f64,
    pub timeout_from_map: bool,
}

/// The fitted system, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitted {
    pub source: String,
    pub service: String,
    pub start: String,
    pub end: String,
    pub clock_start: String,
    pub duration_s: f64,
    pub bucket_s: f64,
    pub window_s: f64,
    pub windows: usize,
    pub traffic: TrafficFit,
    pub steps: Vec<StepFitted>,
    pub pools: Vec<PoolFitted>,
    pub retried_per_s: f64,
    /// The team's alerting rules read back (`--rules`), when given.
    pub rules: Option<rules::Rules>,
}

/// One line of the goodness report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub quantity: String,
    pub observed: f64,
    pub simulated: f64,
    /// Relative difference (for the traffic row: the RMS over the windows).
    pub error: f64,
    /// Beyond [`GOODNESS_LIMIT`].
    pub marked: bool,
}

/// Differences beyond this are marked.
pub const GOODNESS_LIMIT: f64 = 0.10;

impl Row {
    fn new(quantity: String, observed: f64, simulated: f64) -> Row {
        let error = if observed.abs() > 1e-12 {
            (simulated - observed).abs() / observed.abs()
        } else {
            (simulated - observed).abs()
        };
        Row {
            quantity,
            observed,
            simulated,
            error,
            marked: error.is_nan() || error > GOODNESS_LIMIT,
        }
    }

    /// `traffic (RMS per 5m window)   12.0   11.9   0.8 %`.
    #[must_use]
    pub fn line(&self) -> String {
        format!(
            "{:<34} {:>10} {:>10} {:>7.1} %{}",
            self.quantity,
            number(self.observed),
            number(self.simulated),
            self.error * 100.0,
            if self.marked { "  <- beyond 10 %" } else { "" }
        )
    }
}

fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

/// The goodness report: observed against simulated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Goodness {
    pub rows: Vec<Row>,
}

impl Goodness {
    /// The report as text, a header line then one row per quantity.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = format!(
            "{:<34} {:>10} {:>10} {:>9}\n",
            "quantity", "observed", "simulated", "diff"
        );
        for r in &self.rows {
            out.push_str(&r.line());
            out.push('\n');
        }
        out
    }
}

/// What `fit` produces: the fit, the drill's text (checked), and the goodness report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub fitted: Fitted,
    pub goodness: Goodness,
    #[serde(skip)]
    pub text: String,
    #[serde(skip)]
    pub drill: Drill,
}

/// How to fit.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The service to fit when the source holds several.
    pub service: Option<String>,
    /// Acquire timeouts by pool name, in seconds (the rest get the default).
    pub acquire_timeouts: Vec<(String, f64)>,
    /// A Prometheus rules file's name and text (`--rules`), whose alerts the drill takes.
    pub rules: Option<(String, String)>,
}

/// The simulated run's series, as a source would give them (timestamps from `start_ms`).
#[must_use]
pub fn dataset_of(run: &export::Run, start_ms: i64) -> Dataset {
    let Some(first) = run.snapshots.first() else {
        return Dataset::default();
    };
    let mut out: Vec<Series> = Vec::new();
    for (j, s) in first.series.iter().enumerate() {
        let def = &METRICS[s.family];
        let labels: std::collections::BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let ts = |at: f64| start_ms + (at * 1000.0).round() as i64;
        match &s.point {
            Point::Counter(_) | Point::Gauge(_) => {
                let name = if def.kind == Kind::Counter {
                    def.sample_name()
                } else {
                    def.name.to_owned()
                };
                let samples = run
                    .snapshots
                    .iter()
                    .map(|snap| match snap.series[j].point {
                        Point::Counter(v) | Point::Gauge(v) => (ts(snap.at), v),
                        Point::Histogram { .. } => (ts(snap.at), f64::NAN),
                    })
                    .collect();
                out.push(Series {
                    name,
                    labels,
                    samples,
                });
            }
            Point::Histogram { buckets, .. } => {
                for (b, &(le, _)) in buckets.iter().enumerate() {
                    let mut l = labels.clone();
                    l.insert("le".into(), crate::telemetry::prometheus::number(le));
                    let samples = run
                        .snapshots
                        .iter()
                        .map(|snap| match &snap.series[j].point {
                            Point::Histogram { buckets, .. } => (ts(snap.at), buckets[b].1 as f64),
                            _ => (ts(snap.at), f64::NAN),
                        })
                        .collect();
                    out.push(Series {
                        name: format!("{}_bucket", def.name),
                        labels: l,
                        samples,
                    });
                }
                for (suffix, pick) in [("_sum", 0), ("_count", 1)] {
                    let samples = run
                        .snapshots
                        .iter()
                        .map(|snap| match &snap.series[j].point {
                            Point::Histogram { sum, count, .. } => {
                                (ts(snap.at), if pick == 0 { *sum } else { *count as f64 })
                            }
                            _ => (ts(snap.at), f64::NAN),
                        })
                        .collect();
                    out.push(Series {
                        name: format!("{}{suffix}", def.name),
                        labels: labels.clone(),
                        samples,
                    });
                }
            }
        }
    }
    Dataset { series: out }
}

/// Fits `observed` into a drill's system part.
#[must_use]
pub fn fit_observed(observed: &Observed, source: &str, settings: &Settings) -> Fitted {
    let width = observed.window_ms as f64 / 1000.0;
    let traffic = model::fit_traffic(&observed.rates, width);
    let seconds = observed.seconds();
    // Requests that reach each step: the admitted, less those an earlier step's error ended.
    let mut reached = observed.admitted;
    let mut steps = Vec::new();
    for s in &observed.steps {
        let (time, distance) = model::fit_time(&s.buckets, s.mean());
        let taken = s.calls + s.skipped;
        let share = if reached > 0.0 {
            (taken / reached).min(1.0)
        } else {
            1.0
        };
        steps.push(StepFitted {
            name: s.name.clone(),
            calls: s.calls,
            share: (share < 0.995 && share > 0.0).then_some((share * 1000.0).round() / 1000.0),
            time,
            distance,
            error_rate: if s.calls > 0.0 {
                s.errors / s.calls
            } else {
                0.0
            },
            pools: Vec::new(),
            pool_note: None,
            degrades: s.skipped > 0.0,
        });
        reached -= s.errors;
    }
    // Which steps hold which pool: the steps whose busy time together best matches the
    // pool's (a pool is often shared: a session load, a retrieval and a save on one database).
    let busy_of: Vec<f64> = observed
        .steps
        .iter()
        .map(|s| s.seconds.unwrap_or(s.sum))
        .collect();
    for p in &observed.pools {
        let busy = p.busy_seconds;
        let Some((set, diff)) = holders(&busy_of, busy) else {
            continue;
        };
        // Within 25 %: the steps hold the pool. Up to twice off (leaked connections, a
        // pool's own slowdowns), the closest steps hold it, said as a guess.
        if diff >= 1.0 || busy <= 0.0 {
            continue;
        }
        let shared = set.len() > 1;
        for &i in &set {
            steps[i].pools.push(p.name.clone());
            let with = if shared {
                format!(" with {} other step(s)", set.len() - 1)
            } else {
                String::new()
            };
            steps[i].pool_note = Some(if diff < 0.25 {
                format!(
                    "holds {}{with} (their busy time is within {:.0} % of the pool's)",
                    p.name,
                    diff * 100.0
                )
            } else {
                format!(
                    "holds {}{with} as a guess: the busy time is {:.0} % off the pool's (leaked connections? a slow database?)",
                    p.name,
                    diff * 100.0
                )
            });
        }
    }
    let pools = observed
        .pools
        .iter()
        .map(|p| {
            let given = settings
                .acquire_timeouts
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|x| x.1);
            PoolFitted {
                name: p.name.clone(),
                size: (p.size.round() as i64).max(1),
                acquire_timeout_s: given.unwrap_or(DEFAULT_ACQUIRE_TIMEOUT_S),
                timeout_from_map: given.is_some(),
            }
        })
        .collect();
    let clock = observed.start_ms.rem_euclid(86_400_000) / 60_000;
    Fitted {
        source: source.to_owned(),
        service: observed.service.clone(),
        start: export::time::format_rfc3339_ms(observed.start_ms),
        end: export::time::format_rfc3339_ms(observed.end_ms),
        clock_start: format!("{:02}:{:02}", clock / 60, clock % 60),
        duration_s: seconds.round().max(1.0),
        bucket_s: (observed.interval_ms as f64 / 1000.0).max(1.0).round(),
        window_s: width,
        windows: observed.rates.len(),
        traffic,
        steps,
        pools,
        retried_per_s: observed.retried / seconds.max(1e-9),
        rules: None,
    }
}

/// The set of steps whose busy seconds (`busy_of`) sum closest to a pool's `busy` seconds,
/// and how far off it is (relative); fewer steps win a tie. Every subset is tried for up to
/// 16 steps, single steps beyond.
fn holders(busy_of: &[f64], busy: f64) -> Option<(Vec<usize>, f64)> {
    let n = busy_of.len();
    let off = |sum: f64| (sum - busy).abs() / busy.max(1e-9);
    let mut best: Option<(Vec<usize>, f64)> = None;
    // Smaller sets first; a larger set must be closer by two points, not by noise.
    let mut consider = |set: Vec<usize>, diff: f64| {
        let better = best.as_ref().is_none_or(|(b, d)| {
            if set.len() > b.len() {
                diff < *d - 0.02
            } else {
                diff < *d
            }
        });
        if better {
            best = Some((set, diff));
        }
    };
    if n <= 16 {
        let mut masks: Vec<u32> = (1_u32..(1 << n)).collect();
        masks.sort_by_key(|m| m.count_ones());
        for mask in masks {
            let set: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let sum: f64 = set.iter().map(|&i| busy_of[i]).sum();
            consider(set, off(sum));
        }
    } else {
        for (i, b) in busy_of.iter().enumerate() {
            consider(vec![i], off(*b));
        }
    }
    best
}

/// Compares the source with the fitted drill's simulation, quantity by quantity.
#[must_use]
pub fn goodness(observed: &Observed, simulated: &Observed) -> Goodness {
    let mut rows = Vec::new();
    let n = observed.rates.len().min(simulated.rates.len());
    let mean = observed.rates[..n].iter().sum::<f64>() / n.max(1) as f64;
    let rms = (observed.rates[..n]
        .iter()
        .zip(&simulated.rates[..n])
        .map(|(o, s)| (o - s).powi(2))
        .sum::<f64>()
        / n.max(1) as f64)
        .sqrt();
    let sim_mean = simulated.rates[..n].iter().sum::<f64>() / n.max(1) as f64;
    let mut traffic = Row::new(
        format!(
            "traffic rps (RMS per {} window)",
            write::duration(observed.window_ms as f64 / 1000.0)
        ),
        mean,
        sim_mean,
    );
    traffic.error = if mean > 0.0 { rms / mean } else { rms };
    traffic.marked = traffic.error.is_nan() || traffic.error > GOODNESS_LIMIT;
    rows.push(traffic);
    for o in &observed.steps {
        let Some(s) = simulated.steps.iter().find(|s| s.name == o.name) else {
            continue;
        };
        if o.buckets.is_empty() {
            continue;
        }
        for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
            rows.push(Row::new(
                format!("step {} {label} (s)", o.name),
                o.quantile(q),
                s.quantile(q),
            ));
        }
    }
    for o in &observed.pools {
        if let Some(s) = simulated.pools.iter().find(|s| s.name == o.name) {
            rows.push(Row::new(
                format!("pool {} mean utilization", o.name),
                observed.utilization(o),
                simulated.utilization(s),
            ));
        }
    }
    Goodness { rows }
}

/// Fits `data` (from `source`, named in messages and the header) and checks the result:
/// the drill loads and passes `check`, and its simulation is compared with the source.
///
/// # Errors
/// The source's series cannot be fitted, or (a bug) the fitted drill does not load.
pub fn fit(data: &Dataset, source: &str, settings: &Settings) -> Result<Outcome, FitError> {
    let observed = observe::observe(data, settings.service.as_deref())?;
    let mut fitted = fit_observed(&observed, source, settings);
    if let Some((file, text)) = &settings.rules {
        let steps: Vec<String> = fitted.steps.iter().map(|s| s.name.clone()).collect();
        let pools: Vec<String> = fitted.pools.iter().map(|p| p.name.clone()).collect();
        let system = rules::System {
            service: &fitted.service,
            steps: &steps,
            pools: &pools,
        };
        fitted.rules = Some(rules::read(text, file, &system)?);
    }
    let draft = write::drill(&fitted, None);
    let drill = crate::drill::load_str("fitted drill", &draft)
        .map_err(|e| FitError::Invalid(format!("{e:?}")))?;
    // The system alone: the template's faults are the author's to replace.
    let mut system = drill.clone();
    system.faults.clear();
    let run = export::run_drill(system, None);
    let simulated = observe::observe(
        &dataset_of(&run, observed.start_ms),
        Some(&observed.service),
    )?;
    let goodness = goodness(&observed, &simulated);
    let text = write::drill(&fitted, Some(&goodness));
    let drill = crate::drill::load_str("fitted drill", &text)
        .map_err(|e| FitError::Invalid(format!("{e:?}")))?;
    Ok(Outcome {
        fitted,
        goodness,
        text,
        drill,
    })
}
