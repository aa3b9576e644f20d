//! Capacity: the load test. The largest multiplier of a drill's whole traffic curve at which
//! every service-level objective holds, found by bisection to 1 %, and what limits it (the
//! pool that saturates first). Faults are off unless asked for (then the surge rides on the
//! fault: the "simultaneous peaks" of a postmortem).
//!
//! An SLO is `METRIC OP VALUE` with a metric as the prompt's `metric NAME` names it
//! (`latency_p99 < 5s`, `error_ratio < 0.01`, `pool_utilization:db <= 80%`), read per telemetry
//! window: it holds in a run when no window of the run breaches it, and holds at a multiplier
//! when it holds in at least [`HOLD_SHARE`] of the runs. Runs go in parallel across seeds; the
//! verdict at each multiplier is a pure function of the seeds, so the answer does not depend on
//! `--jobs`.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calibrate::{CalibrateError, check_jobs};
use crate::drill::Drill;
use crate::drill::validate::limits::MAX_RPS;
use crate::sim::sampler::Sampler;
use crate::sim::{RunOptions, Sim, SimTime};
use crate::telemetry::series::{Bucket, Signal};

/// The share of runs in which every SLO must hold for a multiplier to pass.
pub const HOLD_SHARE: f64 = 0.95;

/// How close the bisection gets: the upper bound within 1 % of the lower.
pub const PRECISION: f64 = 0.01;

/// The smallest multiplier tried before giving up (the SLO fails even with almost no traffic).
const MIN_MULTIPLIER: f64 = 1.0 / 1024.0;

/// A comparison in an SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
}

impl Op {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Below => value < threshold,
            Op::AtMost => value <= threshold,
            Op::Above => value > threshold,
            Op::AtLeast => value >= threshold,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Below => "<",
            Op::AtMost => "<=",
            Op::Above => ">",
            Op::AtLeast => ">=",
        }
    }
}

/// One objective, as typed and resolved against the drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// As typed: `latency_p99 < 5s`.
    pub text: String,
    pub metric: String,
    pub op: Op,
    /// In the metric's own unit (seconds, a ratio, per second).
    pub threshold: f64,
    #[serde(skip)]
    signal: Option<Signal>,
}

/// `5s`, `250ms`, `1%`, `0.01`, `1e3` as a number in the metric's unit.
fn parse_value(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix('%') {
        (n, 0.01)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let x: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{t}` is not a number (e.g. `5s`, `250ms`, `1%`, `0.01`)"))?;
    if !x.is_finite() {
        return Err(format!("`{t}` is not a finite number"));
    }
    Ok(x * scale)
}

impl Slo {
    /// Reads `METRIC OP VALUE` for `drill`.
    ///
    /// # Errors
    /// What is wrong with the text, and how to write it.
    pub fn parse(text: &str, drill: &Drill) -> Result<Slo, String> {
        let ops = [
            ("<=", Op::AtMost),
            (">=", Op::AtLeast),
            ("<", Op::Below),
            (">", Op::Above),
        ];
        let Some((at, token, op)) = ops
            .iter()
            .filter_map(|(t, op)| text.find(t).map(|at| (at, *t, *op)))
            .min_by_key(|(at, t, _)| (*at, usize::MAX - t.len()))
        else {
            return Err(format!(
                "--slo `{text}` has no comparison: write METRIC < VALUE, e.g. 'latency_p99 < 5s'"
            ));
        };
        let metric = text[..at].trim();
        let value = text[at + token.len()..].trim();
        let pools: Vec<String> = drill.pools.iter().map(|p| p.name.clone()).collect();
        let steps: Vec<String> = drill.service.steps.iter().map(|s| s.name.clone()).collect();
        let observable = crate::session::views::parse_metric(metric, &pools, &steps)
            .map_err(|e| format!("--slo `{text}`: {e}"))?;
        let threshold = parse_value(value).map_err(|e| format!("--slo `{text}`: {e}"))?;
        Ok(Slo {
            text: format!("{metric} {} {value}", op.text()),
            metric: metric.to_owned(),
            op,
            threshold,
            signal: Some(observable.signal()),
        })
    }

    /// Whether the bucket's window keeps the objective (a window without the value does).
    fn kept_in(&self, bucket: &Bucket) -> bool {
        let Some(signal) = self.signal else {
            return true;
        };
        match bucket.window.get(signal) {
            Some(v) if v.is_finite() => self.op.holds(v, self.threshold),
            _ => true,
        }
    }
}

/// `drill` with its whole traffic curve multiplied by `m`, and its faults off unless
/// `with_faults`.
#[must_use]
pub fn scaled(drill: &Drill, m: f64, with_faults: bool) -> Drill {
    let mut d = drill.clone();
    d.traffic.start_rps *= m;
    for stage in &mut d.traffic.stages {
        stage.to_rps *= m;
    }
    if !with_faults {
        d.faults.clear();
    }
    d
}

/// The highest rate of the drill's traffic curve.
#[must_use]
pub fn peak_rps(drill: &Drill) -> f64 {
    drill
        .traffic
        .stages
        .iter()
        .map(|s| s.to_rps)
        .fold(drill.traffic.start_rps, f64::max)
}

/// One run at one multiplier: whether every SLO held, and how near each pool came to
/// saturation.
#[derive(Debug, Clone, PartialEq)]
struct Probe {
    held: bool,
    /// Each pool's highest mean utilization in a bucket (over the part of the run simulated).
    peak_utilization: Vec<f64>,
}

/// How much simulated time a probe runs between looks at its SLOs.
const LOOK_EVERY_BUCKETS: u64 = 30;

/// Runs `drill` on `seed` and reads every closed bucket's window against `slos`. Unless
/// `whole`, it stops at the first breach (the run has failed) or when `give_up` says the
/// multiplier has already failed in enough other runs.
fn probe(drill: &Drill, seed: u64, slos: &[Slo], whole: bool, give_up: &dyn Fn() -> bool) -> Probe {
    let mut sim = Sim::new(
        drill,
        &RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    );
    let end = sim.end();
    let step = drill.telemetry.bucket.as_nanos().max(1) * LOOK_EVERY_BUCKETS;
    let mut peak_utilization = vec![0.0_f64; drill.pools.len()];
    let mut held = true;
    let mut seen = 0;
    let mut t = SimTime::ZERO;
    while t < end {
        t = SimTime::from_nanos(t.nanos().saturating_add(step)).min(end);
        sim.run_until(t);
        let buckets = &sim.telemetry().buckets()[seen..];
        seen += buckets.len();
        for b in buckets {
            held &= slos.iter().all(|slo| slo.kept_in(b));
            for (peak, p) in peak_utilization.iter_mut().zip(&b.pools) {
                if p.size > 0 {
                    *peak = peak.max(p.in_use / p.size as f64);
                }
            }
        }
        if !whole && (!held || give_up()) {
            return Probe {
                held: false,
                peak_utilization,
            };
        }
    }
    Probe {
        held,
        peak_utilization,
    }
}

/// How many runs of `n` may breach an SLO for a multiplier still to hold.
fn allowed_failures(n: usize) -> usize {
    let needed = (HOLD_SHARE * n as f64 - 1e-9).ceil() as usize;
    n - needed.min(n)
}

/// Whether every SLO holds at this multiplier in enough runs. Runs stop as soon as the
/// answer is known to be no, so the verdict (not the runs' figures) is what comes back.
fn holds(drill: &Drill, seeds: &[u64], slos: &[Slo]) -> bool {
    let allowed = allowed_failures(seeds.len());
    let failed = AtomicUsize::new(0);
    seeds.par_iter().for_each(|&s| {
        if failed.load(Ordering::Relaxed) > allowed {
            return;
        }
        let run = probe(drill, s, slos, false, &|| {
            failed.load(Ordering::Relaxed) > allowed
        });
        if !run.held {
            failed.fetch_add(1, Ordering::Relaxed);
        }
    });
    failed.into_inner() <= allowed
}

/// The answer for one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub title: String,
    /// The largest multiplier of the traffic curve at which every SLO holds (0 when none
    /// does, even at 1/1024 of the traffic).
    pub max_multiplier: f64,
    /// The curve's peak at that multiplier, requests per second.
    pub max_peak_rps: f64,
    /// What gives out first just above it: `pool db`, or `no pool saturates` with why.
    pub limited_by: String,
    /// The share of runs that held at the smallest multiplier that failed (how sharply it
    /// breaks); 1 when none failed.
    pub held_share_above: f64,
    pub runs: usize,
    /// Multipliers tried, in order, with whether every SLO held there.
    pub probes: Vec<(f64, bool)>,
}

/// Where the search stops: the drill's highest rate may not pass firedrill's ceiling.
fn ceiling(drill: &Drill) -> f64 {
    let peak = peak_rps(drill);
    if peak > 0.0 {
        (MAX_RPS / peak).min(1e6)
    } else {
        1.0
    }
}

/// Bisects the multiplier of `drill`'s traffic for `slos` over `seeds`.
fn search(
    title: &str,
    drill: &Drill,
    slos: &[Slo],
    seeds: &[u64],
    with_faults: bool,
    done: &(dyn Fn() + Sync),
) -> Capacity {
    let mut probes: Vec<(f64, bool)> = Vec::new();
    let mut at = |m: f64| -> bool {
        let ok = holds(&scaled(drill, m, with_faults), seeds, slos);
        done();
        probes.push((round4(m), ok));
        ok
    };
    let top = ceiling(drill);
    // `lo` holds; `hi` (when `failed`) does not.
    let (mut lo, mut hi) = (1.0, 1.0);
    let mut failed = true;
    if at(1.0) {
        failed = false;
        while lo < top {
            hi = (lo * 2.0).min(top);
            if !at(hi) {
                failed = true;
                break;
            }
            lo = hi;
        }
    } else {
        lo = 0.5;
        while !at(lo) {
            hi = lo;
            if lo <= MIN_MULTIPLIER {
                lo = 0.0;
                break;
            }
            lo /= 2.0;
        }
    }
    if lo > 0.0 && failed {
        while hi / lo > 1.0 + PRECISION {
            let mid = (lo * hi).sqrt();
            if at(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
    }
    // What gives out: every run at the smallest multiplier that failed, simulated whole.
    let (limited_by, held_share_above) = if failed {
        let d = scaled(drill, hi, with_faults);
        let runs: Vec<Probe> = seeds
            .par_iter()
            .map(|&s| probe(&d, s, slos, true, &|| false))
            .collect();
        done();
        let held = runs.iter().filter(|p| p.held).count() as f64 / runs.len().max(1) as f64;
        (limit_of(drill, &runs), round4(held))
    } else {
        (
            format!(
                "not reached: every SLO holds up to the most traffic firedrill simulates ({}×)",
                round4(top)
            ),
            1.0,
        )
    };
    Capacity {
        title: title.to_owned(),
        max_multiplier: round4(lo),
        max_peak_rps: round4(lo * peak_rps(drill)),
        limited_by,
        held_share_above,
        runs: seeds.len(),
        probes,
    }
}

/// What gives out in the runs just above the capacity: the pool nearest saturation (highest
/// median peak utilization; the first in the drill on a tie), or the service's own step
/// times when no pool is half busy.
fn limit_of(drill: &Drill, runs: &[Probe]) -> String {
    let busiest = (0..drill.pools.len())
        .map(|i| {
            let peaks: Vec<f64> = runs.iter().map(|p| p.peak_utilization[i]).collect();
            (i, crate::whatif::quantile(&peaks, 0.5))
        })
        .fold(None::<(usize, f64)>, |best, (i, u)| match best {
            Some((_, b)) if b >= u => best,
            _ => Some((i, u)),
        });
    match busiest {
        Some((i, u)) if u >= 0.5 => format!(
            "pool {} (peak utilization {:.0} %)",
            drill.pools[i].name,
            u * 100.0
        ),
        _ => {
            let slowest = drill.service.steps.iter().max_by(|a, b| {
                Sampler::new(&a.time)
                    .mean()
                    .total_cmp(&Sampler::new(&b.time).mean())
            });
            match slowest {
                Some(step) => format!(
                    "no pool is near saturation: the objective breaks on the steps' own times \
                     (the slowest is step {})",
                    step.name
                ),
                None => "no pool is near saturation".to_owned(),
            }
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A capacity search over the base drill and each changed system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub drill: String,
    pub slos: Vec<Slo>,
    pub with_faults: bool,
    pub runs: usize,
    pub hold_share: f64,
    #[serde(flatten)]
    pub base: Capacity,
    pub changes: Vec<Capacity>,
}

/// Finds the capacity of `variants` (the base first) for `slos` on `seeds`, on `jobs` threads.
///
/// # Errors
/// A bad `--jobs`, or threads that cannot start.
pub fn run(
    variants: &[(String, &Drill)],
    slos: &[Slo],
    seeds: &[u64],
    with_faults: bool,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Capacity>, CalibrateError> {
    let jobs = check_jobs(jobs)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(if jobs == 0 {
            0
        } else {
            jobs.min(seeds.len().max(1))
        })
        .thread_name(|i| format!("capacity-{i}"))
        .build()
        .map_err(|e| CalibrateError::Threads(e.to_string()))?;
    Ok(pool.install(|| {
        variants
            .iter()
            .map(|(title, drill)| search(title, drill, slos, seeds, with_faults, done))
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_units() {
        assert_eq!(parse_value("5s"), Ok(5.0));
        assert_eq!(parse_value("250ms"), Ok(0.25));
        assert_eq!(parse_value("1%"), Ok(0.01));
        assert_eq!(parse_value("0.01"), Ok(0.01));
        assert!(parse_value("fast").is_err());
    }
}
