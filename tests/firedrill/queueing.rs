//! The engine checked against queueing theory (DESIGN.md "Validation", `reference/queueing.md`).
//!
//! Every family is a table of cases and one function that runs and checks a case: M/M/c pools
//! against Erlang C, pools with an acquire timeout against Zeltyn–Mandelbaum's M/M/c+D, Little's
//! law, pools too large to queue (M/G/∞), the step-time samplers, arrival counts against the
//! integral of the rate curve, and the seeding invariants (determinism, one stream per source).
//!
//! The statistics follow `queueing.md`: fixed seeds, independent replications of ≥ 10⁵ requests,
//! the first 5 % of simulated time deleted, and each simulated mean compared with its exact
//! value through a 99.9 % t-interval across replications, |mean − exact| / (s/√n) < t(0.9995,
//! n−1) (the |z| < 3.3 rule, for a t-statistic). What holds on every sample path (Little's law
//! up to edge effects, exact zeros, identical streams) is checked in every replication. Every
//! result is printed as a table (`cargo test --test firedrill queueing -- --nocapture`); a
//! failure lists every check that failed with the exact value, the mean, the half-width and n.
//!
//! The exact formulas are in [`crate::theory`]; nothing here knows how the engine works.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use firedrill::drill::{Drill, Duration, parse_str};
use firedrill::sim::{Latency, PoolSummary, RunOptions, Sim, Summary, simulate};

use crate::theory::{Mmc, normal_quantile, t_critical};

/// Independent replications per case, each with its own seed.
const REPLICATIONS: u64 = 20;
/// The share of simulated time deleted before measuring.
const WARMUP_SHARE: f64 = 0.05;
/// Replications run in parallel on this many threads.
const THREADS: usize = 2;
/// Relative tolerance of relations that hold per run up to edge effects (Little's law).
const LITTLE_TOLERANCE: f64 = 0.02;
/// Relative tolerance of latency quantiles: a ~1 % histogram and sampling error.
const QUANTILE_TOLERANCE: f64 = 0.02;
/// |z| bound for Poisson counts, whose variance is known exactly.
const Z_BOUND: f64 = 3.3;

// ---------------------------------------------------------------------------------------------
// Harness: drills as text, replications, intervals and a report of every check.
// ---------------------------------------------------------------------------------------------

fn parse(text: &str) -> Drill {
    parse_str(text).unwrap_or_else(|e| panic!("test drill does not parse: {e}\n{text}"))
}

fn seconds(text: &str) -> f64 {
    Duration::parse(text)
        .unwrap_or_else(|e| panic!("bad duration {text:?} in a test case: {e}"))
        .as_secs_f64()
}

/// The seeds of a case's replications. Every case uses the same seeds, so cases share their
/// underlying draws (seed 1's holding times run 0.5 % short in every pool case): replications
/// within a case are independent, cases are not independent of each other.
fn seeds() -> Vec<u64> {
    (1..=REPLICATIONS).collect()
}

/// The warm-up for a run of `duration` seconds.
fn warmup_for(duration: u64) -> Duration {
    Duration::from_secs_f64(WARMUP_SHARE * duration as f64)
}

/// Runs `drill_text` once per seed, with `warmup` deleted, on [`THREADS`] threads; the
/// summaries come back in the order of `seeds`.
fn replicate(drill_text: &str, seeds: &[u64], warmup: Duration) -> Vec<Summary> {
    let drill = parse(drill_text);
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Summary)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&seed) = seeds.get(index) else {
                            break mine;
                        };
                        let options = RunOptions {
                            seed: Some(seed),
                            warmup,
                            ..RunOptions::default()
                        };
                        mine.push((index, simulate(&drill, &options)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a replication panicked"))
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, summary)| summary).collect()
}

/// Simulated time over which a run's statistics were taken.
fn observed(summary: &Summary, warmup: Duration) -> f64 {
    summary.simulated_seconds - warmup.as_secs_f64()
}

/// The mean of replications with its standard error.
#[derive(Debug, Clone, Copy)]
struct Interval {
    n: usize,
    mean: f64,
    se: f64,
}

impl Interval {
    /// Half-width of the 99.9 % t-interval.
    fn half_width(self) -> f64 {
        t_critical(self.n - 1) * self.se
    }

    fn t(self, exact: f64) -> f64 {
        let off = self.mean - exact;
        if off == 0.0 { 0.0 } else { off / self.se }
    }
}

/// Mean and standard error s/√n of `samples`. The standard error is at least `se_floor`: a
/// proportion near 0 or 1 can come out the same in every replication, and a constant has no
/// spread, so the caller supplies the smallest error the estimate can honestly have.
fn t_interval(samples: &[f64], se_floor: f64) -> Interval {
    let n = samples.len();
    assert!(n >= 2, "a t-interval needs at least two replications");
    let mean = samples.iter().sum::<f64>() / n as f64;
    let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Interval {
        n,
        mean,
        se: (variance / n as f64).sqrt().max(se_floor),
    }
}

/// The binomial standard error of a proportion near `p` estimated from `trials` in all.
fn binomial_se(p: f64, trials: u64) -> f64 {
    (p * (1.0 - p) / trials as f64).sqrt()
}

/// A relative tolerance as people read it: `2 %`, or `1e-9` when it is about rounding.
fn tolerance_text(tolerance: f64) -> String {
    if tolerance >= 1e-3 {
        format!("{} %", 100.0 * tolerance)
    } else {
        format!("{tolerance:e}")
    }
}

/// One line of the results table.
struct Row {
    ok: bool,
    case: String,
    what: String,
    detail: String,
}

/// Every check of one family, printed as a table; [`Checks::finish`] fails with all failures.
struct Checks {
    family: &'static str,
    rows: Vec<Row>,
}

impl Checks {
    fn new(family: &'static str) -> Self {
        Checks {
            family,
            rows: Vec::new(),
        }
    }

    fn record(&mut self, ok: bool, case: &str, what: &str, detail: String) {
        self.rows.push(Row {
            ok,
            case: case.to_owned(),
            what: what.to_owned(),
            detail,
        });
    }

    /// The mean over replications against an exact value, by the 99.9 % t-interval.
    fn mean(&mut self, case: &str, what: &str, exact: f64, samples: &[f64], se_floor: f64) {
        let interval = t_interval(samples, se_floor);
        let t = interval.t(exact);
        let detail = format!(
            "exact {exact:>11.6}  sim {:>11.6} ± {:<9.6} n = {}  t = {t:+.2}",
            interval.mean,
            interval.half_width(),
            interval.n,
        );
        self.record(t.abs() < t_critical(interval.n - 1), case, what, detail);
    }

    /// `measured` within `tolerance` (relative) of `expected` in every replication; the worst
    /// replication is reported.
    fn close_each(&mut self, case: &str, what: &str, pairs: &[(f64, f64)], tolerance: f64) {
        let relative = |&(expected, measured): &(f64, f64)| {
            (measured - expected).abs() / expected.abs().max(f64::MIN_POSITIVE)
        };
        let (worst, &(expected, measured)) = pairs
            .iter()
            .enumerate()
            .max_by(|a, b| relative(a.1).total_cmp(&relative(b.1)))
            .expect("no replications");
        let detail = format!(
            "worst of {} replications (#{}): expected {expected:.6}, measured {measured:.6} ({:+.3} %, tolerance {})",
            pairs.len(),
            worst + 1,
            100.0 * (measured - expected) / expected,
            tolerance_text(tolerance),
        );
        self.record(relative(&pairs[worst]) <= tolerance, case, what, detail);
    }

    /// `measured` within `tolerance` (relative) of `expected`.
    fn close(&mut self, case: &str, what: &str, expected: f64, measured: f64, tolerance: f64) {
        let error = (measured - expected) / expected;
        let detail = format!(
            "exact {expected:>11.6}  sim {measured:>11.6} ({:+.3} %, tolerance {})",
            100.0 * error,
            tolerance_text(tolerance),
        );
        self.record(error.abs() <= tolerance, case, what, detail);
    }

    /// `measured` equal to `expected` in every replication.
    fn equal_each<T: PartialEq + Debug>(
        &mut self,
        case: &str,
        what: &str,
        expected: &T,
        measured: &[T],
    ) {
        let wrong: Vec<String> = measured
            .iter()
            .enumerate()
            .filter(|(_, m)| *m != expected)
            .map(|(i, m)| format!("#{}: {m:?}", i + 1))
            .collect();
        let detail = if wrong.is_empty() {
            format!("{expected:?} in all {} runs", measured.len())
        } else {
            format!("expected {expected:?}, got {}", wrong.join(", "))
        };
        self.record(wrong.is_empty(), case, what, detail);
    }

    /// A yes/no fact with its evidence.
    fn holds(&mut self, case: &str, what: &str, ok: bool, evidence: &str) {
        self.record(ok, case, what, evidence.to_owned());
    }

    /// Poisson counts against their means: the largest |z| = |N − Λ|/√Λ.
    fn poisson(&mut self, case: &str, what: &str, pairs: &[(f64, u64)]) {
        let z = |&(expected, count): &(f64, u64)| (count as f64 - expected) / expected.sqrt();
        let (worst, pair) = pairs
            .iter()
            .enumerate()
            .max_by(|a, b| z(a.1).abs().total_cmp(&z(b.1).abs()))
            .expect("no counts");
        let detail = format!(
            "worst of {} (#{}): expected {:.1}, counted {}, z = {:+.2}",
            pairs.len(),
            worst + 1,
            pair.0,
            pair.1,
            z(pair),
        );
        self.record(z(pair).abs() < Z_BOUND, case, what, detail);
    }

    /// Prints the table and fails with every failed row.
    fn finish(self) {
        let case_width = self
            .rows
            .iter()
            .map(|r| r.case.chars().count())
            .max()
            .unwrap_or(0);
        let what_width = self
            .rows
            .iter()
            .map(|r| r.what.chars().count())
            .max()
            .unwrap_or(0);
        let line = |row: &Row| {
            format!(
                "{}  {:<case_width$}  {:<what_width$}  {}",
                if row.ok { "  ok" } else { "FAIL" },
                row.case,
                row.what,
                row.detail
            )
        };
        println!("== {} ==", self.family);
        for row in &self.rows {
            println!("{}", line(row));
        }
        let failures: Vec<String> = self.rows.iter().filter(|r| !r.ok).map(line).collect();
        assert!(
            failures.is_empty(),
            "{}: {} of {} checks failed:\n{}",
            self.family,
            failures.len(),
            self.rows.len(),
            failures.join("\n")
        );
    }
}

/// A step-time distribution as the drill writes it, with its exact moments and quantiles.
#[derive(Debug, Clone, Copy)]
enum Time {
    Constant(&'static str),
    Exponential(&'static str),
    LogNormal {
        median: &'static str,
        p99: &'static str,
    },
    Uniform {
        min: &'static str,
        max: &'static str,
    },
}

impl Time {
    fn ron(self) -> String {
        match self {
            Time::Constant(t) => format!("Constant(\"{t}\")"),
            Time::Exponential(mean) => format!("Exponential(mean: \"{mean}\")"),
            Time::LogNormal { median, p99 } => {
                format!("LogNormal(median: \"{median}\", p99: \"{p99}\")")
            }
            Time::Uniform { min, max } => format!("Uniform(min: \"{min}\", max: \"{max}\")"),
        }
    }

    /// μ and σ of the log: the median is e^μ and the p99 is e^(μ + z₀.₉₉·σ).
    fn log_normal(median: &str, p99: &str) -> (f64, f64) {
        let mu = seconds(median).ln();
        (mu, (seconds(p99).ln() - mu) / normal_quantile(0.99))
    }

    fn mean(self) -> f64 {
        match self {
            Time::Constant(t) => seconds(t),
            Time::Exponential(mean) => seconds(mean),
            Time::LogNormal { median, p99 } => {
                let (mu, sigma) = Time::log_normal(median, p99);
                (mu + sigma * sigma / 2.0).exp()
            }
            Time::Uniform { min, max } => f64::midpoint(seconds(min), seconds(max)),
        }
    }

    fn quantile(self, p: f64) -> f64 {
        match self {
            Time::Constant(t) => seconds(t),
            Time::Exponential(mean) => -seconds(mean) * (1.0 - p).ln(),
            Time::LogNormal { median, p99 } => {
                let (mu, sigma) = Time::log_normal(median, p99);
                (mu + sigma * normal_quantile(p)).exp()
            }
            Time::Uniform { min, max } => seconds(min) + p * (seconds(max) - seconds(min)),
        }
    }
}

/// One pool `db` of `size` connections, Poisson arrivals at `lambda`, one step holding a
/// connection for `time`.
fn pool_drill(size: u32, lambda: f64, time: Time, timeout: &str, duration: u64) -> String {
    let time = time.ron();
    format!(
        r#"#![enable(implicit_some)]
Drill(name: "validation", title: "validation", duration: "{duration}s", seed: 1,
  traffic: Traffic(arrivals: Poisson, start_rps: {lambda:?}, stages: []),
  pools: [Pool(name: "db", size: {size}, acquire_timeout: "{timeout}")],
  service: Service(name: "svc", steps: [Step(name: "query", pool: "db", time: {time})]))"#
    )
}

// ---------------------------------------------------------------------------------------------
// M/M/c and M/M/c+D pools, with Little's law.
// ---------------------------------------------------------------------------------------------

/// An M/M/c pool: `c` connections, Poisson arrivals at `lambda`/s, exponential holds of mean
/// `hold`; with `patience` a request gives up after waiting that long (M/M/c+D), without it the
/// timeout is an hour (P(wait > 1 h) is nil in every case). `requests` per replication.
struct PoolCase {
    name: &'static str,
    c: u32,
    lambda: f64,
    hold: &'static str,
    patience: Option<&'static str>,
    requests: f64,
}

/// An M/M/c case: (name, c, λ, mean hold, requests per replication).
const fn mmc(
    name: &'static str,
    c: u32,
    lambda: f64,
    hold: &'static str,
    requests: f64,
) -> PoolCase {
    PoolCase {
        name,
        c,
        lambda,
        hold,
        patience: None,
        requests,
    }
}

/// An M/M/c+D case: (name, c, λ, mean hold, τ, requests per replication).
const fn mmcd(
    name: &'static str,
    c: u32,
    lambda: f64,
    hold: &'static str,
    tau: &'static str,
    requests: f64,
) -> PoolCase {
    PoolCase {
        name,
        c,
        lambda,
        hold,
        patience: Some(tau),
        requests,
    }
}

/// Erlang C: the first table of `queueing.md` and pools of other shapes.
#[rustfmt::skip]
const ERLANG_C_CASES: &[PoolCase] = &[
    //  name                      c    λ/s    mean hold  requests
    mmc("M/M/20 ρ=0.50",          20,  50.0,  "200ms",   1e5),
    mmc("M/M/20 ρ=0.80",          20,  80.0,  "200ms",   1e5),
    mmc("M/M/20 ρ=0.90",          20,  90.0,  "200ms",   2e5),
    mmc("M/M/20 ρ=0.95",          20,  95.0,  "200ms",   4e5),
    mmc("M/M/5 ρ=0.70 hold 1s",   5,   3.5,   "1s",      1e5),
    mmc("M/M/50 ρ=0.85 hold 1s",  50,  42.5,  "1s",      1e5),
    mmc("M/M/1 ρ=0.70",           1,   7.0,   "100ms",   1e5),
];

/// M/M/c+D: the second table of `queueing.md`, critical load (d = 0) and a small slow pool.
#[rustfmt::skip]
const PATIENCE_CASES: &[PoolCase] = &[
    //   name                        c    λ/s     mean hold  τ        requests
    mmcd("M/M/20+D ρ=0.9 τ=50ms",    20,  90.0,   "200ms",   "50ms",  1e5),
    mmcd("M/M/20+D ρ=1.2 τ=50ms",    20,  120.0,  "200ms",   "50ms",  1e5),
    mmcd("M/M/20+D ρ=1.5 τ=250ms",   20,  150.0,  "200ms",   "250ms", 1e5),
    mmcd("M/M/10+D ρ=1.0 τ=100ms",   10,  50.0,   "200ms",   "100ms", 1e5),
    mmcd("M/M/3+D ρ=0.8 τ=2s",       3,   2.4,    "1s",      "2s",    1e5),
];

fn check_pool(checks: &mut Checks, case: &PoolCase) {
    let name = case.name;
    let queue = Mmc::new(case.c, case.lambda, seconds(case.hold));
    let duration = (case.requests / case.lambda).ceil() as u64;
    let warmup = warmup_for(duration);
    let tau = case.patience.map(seconds);
    let text = pool_drill(
        case.c,
        case.lambda,
        Time::Exponential(case.hold),
        case.patience.unwrap_or("1h"),
        duration,
    );
    let runs = replicate(&text, &seeds(), warmup);
    let pools: Vec<_> = runs.iter().map(|run| &run.pools["db"]).collect();
    let joined: Vec<u64> = pools.iter().map(|p| p.acquired + p.timed_out).collect();
    let trials: u64 = joined.iter().sum();
    let share = |count: fn(&PoolSummary) -> u64| -> Vec<f64> {
        pools
            .iter()
            .zip(&joined)
            .map(|(p, &n)| count(p) as f64 / n as f64)
            .collect()
    };
    let p_wait = share(|p| p.waited);
    let wait: Vec<f64> = pools.iter().map(|p| p.wait_mean_seconds).collect();
    let waiting: Vec<f64> = pools.iter().map(|p| p.waiting_mean).collect();
    let in_use: Vec<f64> = pools.iter().map(|p| p.in_use_mean).collect();

    let (p_wait_exact, p_timeout_exact) = match tau {
        None => (queue.p_wait(), 0.0),
        Some(tau) => {
            let exact = queue.with_patience(tau);
            (exact.p_wait, exact.p_timeout)
        }
    };
    let p_wait_se = binomial_se(p_wait_exact, trials);
    checks.mean(name, "P(wait)", p_wait_exact, &p_wait, p_wait_se);
    if tau.is_some() {
        let p_timeout = share(|p| p.timed_out);
        let se = binomial_se(p_timeout_exact, trials);
        checks.mean(name, "P(timeout)", p_timeout_exact, &p_timeout, se);
    } else {
        checks.mean(name, "Wq (s)", queue.mean_wait(), &wait, 0.0);
        checks.mean(name, "Lq (time average)", queue.mean_queue(), &waiting, 0.0);
        let timed_out: Vec<u64> = pools.iter().map(|p| p.timed_out).collect();
        checks.equal_each(name, "timed out", &0, &timed_out);
    }
    // By PASTA the share of time some connection is idle is the share of arrivals that do not
    // wait, so the time-average in use is resolved no better than c times that proportion's
    // error. It matters only when nearly everyone waits (ρ = 1.5: the pool is full in every
    // replication and the sample spread is zero).
    let served_load = queue.offered_load() * (1.0 - p_timeout_exact);
    let in_use_se = f64::from(case.c) * p_wait_se;
    checks.mean(name, "connections in use", served_load, &in_use, in_use_se);

    // Little's law, per run: the queue's time average is the arrival rate times the mean time
    // spent in it, min(W, τ) (timed-out requests waited exactly τ); connections in use are
    // the rate of acquisitions times the mean hold.
    let little_queue: Vec<(f64, f64)> = runs
        .iter()
        .zip(&pools)
        .map(|(run, p)| {
            let queued =
                p.acquired as f64 * p.wait_mean_seconds + p.timed_out as f64 * tau.unwrap_or(0.0);
            (queued / observed(run, warmup), p.waiting_mean)
        })
        .collect();
    checks.close_each(
        name,
        "Little: Lq = λ·E[min(W,τ)]",
        &little_queue,
        LITTLE_TOLERANCE,
    );
    let little_busy: Vec<(f64, f64)> = runs
        .iter()
        .zip(&pools)
        .map(|(run, p)| {
            (
                p.acquired as f64 / queue.mu / observed(run, warmup),
                p.in_use_mean,
            )
        })
        .collect();
    checks.close_each(
        name,
        "Little: busy = λ_acq·E[S]",
        &little_busy,
        LITTLE_TOLERANCE,
    );
    let utilization: Vec<(f64, f64)> = pools
        .iter()
        .map(|p| (p.in_use_mean / f64::from(case.c), p.utilization))
        .collect();
    checks.close_each(name, "utilization = busy/size", &utilization, 1e-9);
    let sizes: Vec<u64> = pools.iter().map(|p| p.size).collect();
    checks.equal_each(name, "size", &u64::from(case.c), &sizes);
}

#[test]
fn queueing_erlang_c_pools_match_theory() {
    let mut checks = Checks::new("M/M/c against Erlang C, with Little's law");
    for case in ERLANG_C_CASES {
        check_pool(&mut checks, case);
    }
    checks.finish();
}

#[test]
fn queueing_pools_with_timeouts_match_zeltyn_mandelbaum() {
    let mut checks = Checks::new("M/M/c+D against Zeltyn–Mandelbaum, with Little's law");
    for case in PATIENCE_CASES {
        check_pool(&mut checks, case);
    }
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// Pools far larger than the load: nobody waits, whatever the holding time (M/G/∞).
// ---------------------------------------------------------------------------------------------

/// `size` connections for offered load λ·E[S] far below it.
struct InfiniteCase {
    name: &'static str,
    size: u32,
    lambda: f64,
    time: Time,
    requests: f64,
}

#[rustfmt::skip]
const INFINITE_CASES: &[InfiniteCase] = &[
    InfiniteCase { name: "M/M/∞ a=90", size: 2000, lambda: 90.0, time: Time::Exponential("1s"), requests: 1e5 },
    InfiniteCase {
        name: "M/G/∞ log-normal a≈105", size: 2000, lambda: 90.0,
        time: Time::LogNormal { median: "900ms", p99: "4s" }, requests: 1e5,
    },
];

#[test]
fn queueing_pools_larger_than_the_load_never_wait() {
    let mut checks = Checks::new("M/G/∞: no waits, connections in use = λ·E[S]");
    for case in INFINITE_CASES {
        let name = case.name;
        let duration = (case.requests / case.lambda).ceil() as u64;
        let warmup = warmup_for(duration);
        let text = pool_drill(case.size, case.lambda, case.time, "1h", duration);
        let runs = replicate(&text, &seeds(), warmup);
        let pools: Vec<_> = runs.iter().map(|run| &run.pools["db"]).collect();
        let waited: Vec<u64> = pools.iter().map(|p| p.waited).collect();
        let timed_out: Vec<u64> = pools.iter().map(|p| p.timed_out).collect();
        let wait: Vec<f64> = pools.iter().map(|p| p.wait_mean_seconds).collect();
        let waiting: Vec<f64> = pools.iter().map(|p| p.waiting_mean).collect();
        checks.equal_each(name, "waited", &0, &waited);
        checks.equal_each(name, "timed out", &0, &timed_out);
        checks.equal_each(name, "wait_mean_seconds", &0.0, &wait);
        checks.equal_each(name, "waiting_mean", &0.0, &waiting);
        let in_use: Vec<f64> = pools.iter().map(|p| p.in_use_mean).collect();
        checks.mean(
            name,
            "connections in use",
            case.lambda * case.time.mean(),
            &in_use,
            0.0,
        );
    }
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// Step-time samplers: a step without a pool, so a request's latency is its sampled time.
// ---------------------------------------------------------------------------------------------

const SAMPLER_CASES: &[Time] = &[
    Time::Constant("100ms"),
    Time::Exponential("200ms"),
    Time::LogNormal {
        median: "90ms",
        p99: "450ms",
    },
    Time::LogNormal {
        median: "1.4s",
        p99: "5s",
    },
    Time::Uniform {
        min: "10ms",
        max: "30ms",
    },
];

/// Arrivals per second, and seconds of arrivals per replication: 10⁵ counted requests each.
const SAMPLER_RATE: f64 = 200.0;
const SAMPLER_ARRIVALS: u64 = 530;
/// Seconds without arrivals at the end, so that every counted request completes: latency is
/// measured over completed requests, and a run that simply stopped would leave out the long
/// ones that arrived last (a bias of −Var(S)/T in the mean, −0.17 % for the 1.4 s log-normal).
const SAMPLER_DRAIN: u64 = 30;

/// One step without a pool at `lambda` per second for `arrivals` seconds; then the rate falls to
/// zero in a second and the run goes on for `drain` seconds.
fn service_drill(time: Time, lambda: f64, arrivals: u64, drain: u64) -> String {
    let time = time.ron();
    let duration = arrivals + drain;
    format!(
        r#"#![enable(implicit_some)]
Drill(name: "validation", title: "validation", duration: "{duration}s", seed: 1,
  traffic: Traffic(arrivals: Poisson, start_rps: {lambda:?},
    stages: [Stage(over: "{arrivals}s", to_rps: {lambda:?}), Stage(over: "1s", to_rps: 0.0)]),
  service: Service(name: "svc", steps: [Step(name: "work", time: {time})]))"#
    )
}

#[test]
fn queueing_samplers_have_their_exact_moments() {
    let mut checks = Checks::new("Step-time samplers: mean latency and quantiles");
    for &time in SAMPLER_CASES {
        let name = time.ron();
        let text = service_drill(time, SAMPLER_RATE, SAMPLER_ARRIVALS, SAMPLER_DRAIN);
        let runs = replicate(
            &text,
            &seeds(),
            warmup_for(SAMPLER_ARRIVALS + SAMPLER_DRAIN),
        );
        let unfinished: Vec<u64> = runs
            .iter()
            .map(|run| run.requests.arrived - run.requests.completed)
            .collect();
        checks.equal_each(&name, "counted but unfinished", &0, &unfinished);
        let latency: Vec<&Latency> = runs
            .iter()
            .map(|run| &run.requests.latency_seconds)
            .collect();
        let means: Vec<f64> = latency.iter().map(|l| l.mean).collect();
        // A constant has no spread: its mean must then be exact to rounding.
        let se_floor = 1e-9 * time.mean();
        checks.mean(&name, "mean latency (s)", time.mean(), &means, se_floor);
        let mean_of = |pick: fn(&Latency) -> f64| {
            latency.iter().map(|l| pick(l)).sum::<f64>() / latency.len() as f64
        };
        for (label, p, measured) in [
            ("p50 (mean of runs)", 0.5, mean_of(|l| l.p50)),
            ("p95 (mean of runs)", 0.95, mean_of(|l| l.p95)),
            ("p99 (mean of runs)", 0.99, mean_of(|l| l.p99)),
        ] {
            checks.close(&name, label, time.quantile(p), measured, QUANTILE_TOLERANCE);
        }
    }
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// Arrival counts against the integral of the rate curve.
// ---------------------------------------------------------------------------------------------

/// A rate curve (start rate, then stages of (over, to_rps)), its arrival process, the bucket
/// width, and how many buckets make one window of the Poisson check.
struct ArrivalCase {
    name: &'static str,
    arrivals: &'static str,
    start_rps: f64,
    stages: &'static [(&'static str, f64)],
    duration: &'static str,
    bucket: &'static str,
    window: usize,
}

const ARRIVAL_CASES: &[ArrivalCase] = &[
    ArrivalCase {
        name: "ramp up, hold, ramp down",
        arrivals: "Poisson",
        start_rps: 20.0,
        stages: &[("10m", 100.0), ("10m", 100.0), ("10m", 10.0)],
        duration: "40m",
        bucket: "10s",
        window: 30,
    },
    ArrivalCase {
        name: "from zero, 15s buckets",
        arrivals: "Poisson",
        start_rps: 0.0,
        stages: &[("20m", 200.0), ("5m", 50.0)],
        duration: "30m",
        bucket: "15s",
        window: 20,
    },
    ArrivalCase {
        name: "even at 50/s",
        arrivals: "Even",
        start_rps: 50.0,
        stages: &[],
        duration: "10m",
        bucket: "10s",
        window: 30,
    },
];

/// Seeds per arrival case: counts are checked window by window within each run.
const ARRIVAL_SEEDS: &[u64] = &[1, 2, 3];

/// ∫ rate dt over [from, to] for a piecewise-linear curve that holds its last rate.
fn rate_integral(start_rps: f64, stages: &[(f64, f64)], from: f64, to: f64) -> f64 {
    let mut total = 0.0;
    let (mut t0, mut r0) = (0.0, start_rps);
    let rate_at =
        |t0: f64, r0: f64, t1: f64, r1: f64, t: f64| r0 + (r1 - r0) * (t - t0) / (t1 - t0);
    for &(over, r1) in stages {
        let t1 = t0 + over;
        let (lo, hi) = (from.max(t0), to.min(t1));
        if hi > lo {
            total +=
                (hi - lo) * f64::midpoint(rate_at(t0, r0, t1, r1, lo), rate_at(t0, r0, t1, r1, hi));
        }
        (t0, r0) = (t1, r1);
    }
    let lo = from.max(t0);
    if to > lo {
        total += (to - lo) * r0;
    }
    total
}

fn arrival_drill(case: &ArrivalCase) -> String {
    let stages: Vec<String> = case
        .stages
        .iter()
        .map(|(over, to)| format!("Stage(over: \"{over}\", to_rps: {to:?})"))
        .collect();
    format!(
        r#"#![enable(implicit_some)]
Drill(name: "validation", title: "validation", duration: "{}", seed: 1,
  telemetry: Telemetry(bucket: "{}"),
  traffic: Traffic(arrivals: {}, start_rps: {:?}, stages: [{}]),
  service: Service(name: "svc", steps: [Step(name: "work", time: Constant("10ms"))]))"#,
        case.duration,
        case.bucket,
        case.arrivals,
        case.start_rps,
        stages.join(", "),
    )
}

#[test]
fn queueing_arrivals_follow_the_rate_curve() {
    let mut checks = Checks::new("Arrivals per bucket and window against ∫ rate");
    for case in ARRIVAL_CASES {
        let drill = parse(&arrival_drill(case));
        let stages: Vec<(f64, f64)> = case
            .stages
            .iter()
            .map(|&(over, to)| (seconds(over), to))
            .collect();
        let (duration, width) = (seconds(case.duration), seconds(case.bucket));
        for &seed in ARRIVAL_SEEDS {
            let name = format!("{} #{seed}", case.name);
            let options = RunOptions {
                seed: Some(seed),
                ..RunOptions::default()
            };
            let mut sim = Sim::new(&drill, &options);
            sim.run_to_end();
            let buckets = sim.telemetry().buckets();

            // The buckets tile [0, duration]: each starts where the last ended, full width but
            // perhaps the last.
            let mut end = 0.0_f64;
            let mut tiled = true;
            for (i, b) in buckets.iter().enumerate() {
                let full =
                    (b.width - width).abs() < 1e-9 || (i + 1 == buckets.len() && b.width <= width);
                tiled &= (b.start - end).abs() < 1e-9 && full;
                end = b.start + b.width;
            }
            tiled &= (end - duration).abs() < 1e-9;
            checks.holds(
                &name,
                "buckets tile the run",
                tiled,
                &format!(
                    "{} buckets of {width} s ending at {end} s (run {duration} s)",
                    buckets.len()
                ),
            );

            let counted: u64 = buckets.iter().map(|b| b.arrived).sum();
            let summary = simulate(&drill, &options);
            checks.equal_each(
                &name,
                "Σ buckets = summary arrived",
                &summary.requests.arrived,
                &[counted],
            );

            let expected: Vec<(f64, u64)> = buckets
                .iter()
                .map(|b| {
                    (
                        rate_integral(case.start_rps, &stages, b.start, b.start + b.width),
                        b.arrived,
                    )
                })
                .collect();
            let total = (
                rate_integral(case.start_rps, &stages, 0.0, duration),
                counted,
            );
            if case.arrivals == "Even" {
                // Evenly spaced: every bucket is within one arrival of its integral.
                let worst = expected
                    .iter()
                    .map(|&(e, n)| (n as f64 - e).abs())
                    .fold(0.0, f64::max);
                checks.holds(
                    &name,
                    "|count − ∫ rate| ≤ 1",
                    worst <= 1.0 + 1e-9 && (total.1 as f64 - total.0).abs() <= 1.0 + 1e-9,
                    &format!(
                        "worst bucket off by {worst}, total {} vs {}",
                        total.1, total.0
                    ),
                );
                continue;
            }
            let windows: Vec<(f64, u64)> = expected
                .chunks(case.window)
                .map(|chunk| {
                    chunk
                        .iter()
                        .fold((0.0, 0), |(e, n), &(be, bn)| (e + be, n + bn))
                })
                .collect();
            checks.poisson(&name, "per window", &windows);
            checks.poisson(&name, "total", &[total]);
            // Poisson dispersion: Σ (N − Λ)²/Λ over buckets is χ²-like, mean k, sd ≈ √(2k).
            let dense: Vec<&(f64, u64)> = expected.iter().filter(|(e, _)| *e >= 20.0).collect();
            let k = dense.len() as f64;
            let chi2: f64 = dense
                .iter()
                .map(|&&(e, n)| (n as f64 - e).powi(2) / e)
                .sum();
            let z = (chi2 - k) / (2.0 * k).sqrt();
            checks.holds(
                &name,
                "dispersion is Poisson's",
                z.abs() < Z_BOUND,
                &format!("Σ (N−Λ)²/Λ = {chi2:.1} over {k} buckets, z = {z:+.2}"),
            );
        }
    }
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// Seeding: the same seed gives the same run, and each source has its own stream.
// ---------------------------------------------------------------------------------------------

/// The summary as JSON without what depends on the wall clock (and, for comparing two seeds,
/// without the seed itself).
fn fingerprint(summary: &Summary, keep_seed: bool) -> String {
    let mut value = serde_json::to_value(summary).expect("a summary serialises");
    let object = value.as_object_mut().expect("a summary is a JSON object");
    object.remove("wall_seconds");
    object.remove("events_per_second");
    if !keep_seed {
        object.remove("seed");
    }
    value.to_string()
}

fn determinism_cases() -> Vec<(&'static str, String)> {
    vec![
        (
            "M/M/20+D 10 min",
            pool_drill(20, 110.0, Time::Exponential("200ms"), "50ms", 600),
        ),
        (
            "monday-rush",
            include_str!("../../drills/monday-rush.ron").to_owned(),
        ),
    ]
}

#[test]
fn queueing_same_seed_same_summary() {
    let mut checks = Checks::new("Determinism");
    for (name, text) in determinism_cases() {
        let drill = parse(&text);
        let run = |seed| {
            simulate(
                &drill,
                &RunOptions {
                    seed: Some(seed),
                    ..RunOptions::default()
                },
            )
        };
        let (first, again, other) = (run(11), run(11), run(12));
        checks.holds(
            name,
            "same seed → same JSON",
            fingerprint(&first, true) == fingerprint(&again, true),
            &format!(
                "{} events, {} arrivals",
                first.events, first.requests.arrived
            ),
        );
        checks.holds(
            name,
            "other seed → other JSON",
            fingerprint(&first, false) != fingerprint(&other, false),
            &format!(
                "arrivals {} vs {}",
                first.requests.arrived, other.requests.arrived
            ),
        );
    }
    // Replications in parallel are the same runs as one by one.
    let (name, text) = &determinism_cases()[0];
    let warmup = Duration::from_secs(30);
    let parallel = replicate(text, &[5, 6, 7], warmup);
    let drill = parse(text);
    let same = [5, 6, 7].iter().zip(&parallel).all(|(&seed, p)| {
        let options = RunOptions {
            seed: Some(seed),
            warmup,
            ..RunOptions::default()
        };
        fingerprint(&simulate(&drill, &options), true) == fingerprint(p, true)
    });
    checks.holds(
        name,
        "parallel = sequential",
        same,
        "seeds 5, 6, 7 on two threads",
    );
    checks.finish();
}

/// A pool drill with a rate ramp whose step time, pool size and steps vary while the arrival
/// stream must not.
fn isolation_drill(time: &str, size: u32, extra_step: bool) -> String {
    let extra = if extra_step {
        r#", Step(name: "generate", time: LogNormal(median: "1.4s", p99: "5s"))"#
    } else {
        ""
    };
    format!(
        r#"#![enable(implicit_some)]
Drill(name: "validation", title: "validation", duration: "15m", seed: 1,
  traffic: Traffic(arrivals: Poisson, start_rps: 50.0, stages: [Stage(over: "5m", to_rps: 120.0)]),
  pools: [Pool(name: "db", size: {size}, acquire_timeout: "100ms")],
  service: Service(name: "svc", steps: [Step(name: "query", pool: "db", time: {time}){extra}]))"#
    )
}

/// (what changes, step time, pool size, a second step) against the base drill.
const ISOLATION_CASES: &[(&str, &str, u32, bool)] = &[
    (
        "mean 200ms → 300ms",
        r#"Exponential(mean: "300ms")"#,
        20,
        false,
    ),
    (
        "exponential → log-normal",
        r#"LogNormal(median: "150ms", p99: "600ms")"#,
        20,
        false,
    ),
    ("pool 20 → 5", r#"Exponential(mean: "200ms")"#, 5, false),
    ("another step", r#"Exponential(mean: "200ms")"#, 20, true),
];

#[test]
fn queueing_step_times_do_not_move_arrivals() {
    let mut checks = Checks::new("Stream isolation: arrivals do not depend on the service");
    let base = parse(&isolation_drill(r#"Exponential(mean: "200ms")"#, 20, false));
    for seed in [1, 2] {
        let options = RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        };
        let arrivals_of = |drill: &Drill| -> (Summary, Vec<u64>) {
            let mut sim = Sim::new(drill, &options);
            sim.run_to_end();
            let buckets = sim
                .telemetry()
                .buckets()
                .iter()
                .map(|b| b.arrived)
                .collect();
            (simulate(drill, &options), buckets)
        };
        let (base_summary, base_buckets) = arrivals_of(&base);
        for &(change, time, size, extra) in ISOLATION_CASES {
            let name = format!("{change} #{seed}");
            let (summary, buckets) = arrivals_of(&parse(&isolation_drill(time, size, extra)));
            checks.equal_each(
                &name,
                "requests arrived",
                &base_summary.requests.arrived,
                &[summary.requests.arrived],
            );
            let first_difference = base_buckets.iter().zip(&buckets).position(|(a, b)| a != b);
            checks.holds(
                &name,
                "arrivals per bucket",
                base_buckets.len() == buckets.len() && first_difference.is_none(),
                &format!(
                    "{} vs {} buckets, first difference at {first_difference:?}",
                    base_buckets.len(),
                    buckets.len()
                ),
            );
            // The change did change the run: the check above is not vacuous.
            let base_latency = base_summary.requests.latency_seconds.mean;
            let latency = summary.requests.latency_seconds.mean;
            checks.holds(
                &name,
                "the service did change",
                fingerprint(&base_summary, true) != fingerprint(&summary, true),
                &format!("mean latency {base_latency:.6} s → {latency:.6} s"),
            );
        }
    }
    checks.finish();
}
