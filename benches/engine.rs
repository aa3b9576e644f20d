//! Engine benchmarks (criterion; run with `cargo bench --bench engine`, or
//! `bash benches/compare.sh` for the full comparison with SimPy).
//!
//! Group `mmc_1m` runs the 1M-customer M/M/20 model (drills/reference/mmc.ron: λ = 90/s,
//! exponential holding times of mean 200 ms, 11112 s simulated ≈ 1M arrivals) two ways, in
//! the same run so the machine's state is the same for both:
//! - `firedrill`: the real engine through `firedrill::sim::simulate`, telemetry buckets,
//!   alert evaluation and request log included;
//! - `plain_rust_heap`: a hand-written M/M/c loop (a `BinaryHeap` of (time, seq, kind)
//!   events and a `VecDeque` FIFO queue) drawing from the same RNG family (ChaCha8 + `Exp1`),
//!   so RNG cost is equal. It is the floor the engine is measured against.
//!
//! Group `day_at_100rps` runs a 24-hour drill at 100 requests/s (the drill in
//! benches/day-at-100rps.ron, built from the text below).
//!
//! Before a contender is timed, one run of it prints a `bench-stats:` line (customers, events,
//! mean wait) that benches/compare.sh reads to derive ns/customer and ns/event.

use std::hint::black_box;
use std::sync::Once;
use std::time::{Duration as WallDuration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use firedrill::drill::{Drill, Duration};
use firedrill::sim::{RunOptions, Summary, simulate};

#[path = "support/plain_mmc.rs"]
mod plain_mmc;
use plain_mmc::plain_mmc;

/// The reference M/M/c model.
const MMC: &str = include_str!("../drills/reference/mmc.ron");
/// Simulated seconds for ≈ 1M arrivals at 90/s.
const MMC_SECONDS: u64 = 11_112;
const SERVERS: usize = 20;
const LAMBDA: f64 = 90.0;
const MEAN_SERVICE: f64 = 0.2;

/// A 24-hour drill at 100 requests/s: one pool of 30, the steps and alerts of monday-rush,
/// no faults. The text is the file itself, so the memory measurement
/// (`/usr/bin/time -v ./target/release/firedrill simulate benches/day-at-100rps.ron`) runs
/// exactly the drill timed here.
const DAY_AT_100RPS: &str = include_str!("day-at-100rps.ron");

/// Each contender prints its `bench-stats:` line and checks its answer once per process.
static ENGINE_ONCE: Once = Once::new();
static PLAIN_ONCE: Once = Once::new();
static DAY_ONCE: Once = Once::new();

fn parse(text: &str) -> Drill {
    firedrill::drill::parse_str(text).expect("the bench drill parses")
}

fn mmc_options() -> RunOptions {
    RunOptions {
        duration: Some(Duration::from_secs(MMC_SECONDS)),
        ..Default::default()
    }
}

/// Erlang C mean wait in queue, Wq, for an M/M/c queue (seconds).
fn erlang_c_wq(c: usize, lambda: f64, mean_service: f64) -> f64 {
    let a = lambda * mean_service;
    let rho = a / c as f64;
    // Sum of a^k / k! for k < c, and a^c / c!, built iteratively.
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let top = term / (1.0 - rho);
    let p_wait = top / (sum + top);
    p_wait * mean_service / (c as f64 - a)
}

fn print_engine_stats(contender: &str, summary: &Summary) {
    let wait = summary
        .pools
        .values()
        .next()
        .map_or(0.0, |p| p.wait_mean_seconds);
    println!(
        "bench-stats: contender={contender} customers={} events={} mean_wait={wait:.5}",
        summary.requests.arrived, summary.events
    );
}

/// Engine and plain loop timed alternately, `PAIRS` times each, so both see the same load
/// on a shared machine: prints the median of the per-pair time ratios (engine / plain),
/// a cross-check on the criterion medians, which time the two minutes apart, and the ratio
/// of each contender's fastest run (the least disturbed by other load).
fn paired_ratio(drill: &Drill, options: &RunOptions, horizon: f64) {
    const PAIRS: usize = 11;
    let mut ratios = Vec::with_capacity(PAIRS);
    let (mut fastest_engine, mut fastest_plain) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..PAIRS {
        let started = Instant::now();
        black_box(simulate(black_box(drill), black_box(options)));
        let engine = started.elapsed().as_secs_f64();
        let started = Instant::now();
        black_box(plain_mmc(
            black_box(1),
            SERVERS,
            LAMBDA,
            MEAN_SERVICE,
            horizon,
        ));
        let plain = started.elapsed().as_secs_f64();
        ratios.push(engine / plain);
        fastest_engine = fastest_engine.min(engine);
        fastest_plain = fastest_plain.min(plain);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "bench-stats: contender=paired pairs={PAIRS} engine_plain_median={:.3} min={:.3} max={:.3} \
         fastest_engine_ms={:.1} fastest_plain_ms={:.1} fastest_ratio={:.3}",
        ratios[PAIRS / 2],
        ratios[0],
        ratios[PAIRS - 1],
        fastest_engine * 1e3,
        fastest_plain * 1e3,
        fastest_engine / fastest_plain
    );
}

fn bench_mmc(c: &mut Criterion) {
    let drill = parse(MMC);
    let options = mmc_options();
    let wq = erlang_c_wq(SERVERS, LAMBDA, MEAN_SERVICE);
    let horizon = MMC_SECONDS as f64;

    let mut group = c.benchmark_group("mmc_1m");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(WallDuration::from_secs(2))
        .measurement_time(WallDuration::from_secs(8));

    group.bench_function("firedrill", |b| {
        ENGINE_ONCE.call_once(|| {
            let summary = simulate(&drill, &options);
            print_engine_stats("firedrill", &summary);
            let wait = summary.pools["db"].wait_mean_seconds;
            assert!(
                (wait - wq).abs() < 0.1 * wq,
                "engine mean wait {wait} is far from Erlang C {wq}"
            );
            if !std::env::args().any(|a| a == "--test") {
                paired_ratio(&drill, &options, horizon);
            }
        });
        b.iter(|| simulate(black_box(&drill), black_box(&options)));
    });

    group.bench_function("plain_rust_heap", |b| {
        PLAIN_ONCE.call_once(|| {
            let s = plain_mmc(1, SERVERS, LAMBDA, MEAN_SERVICE, horizon);
            println!(
                "bench-stats: contender=plain_rust_heap customers={} events={} mean_wait={:.5} erlang_c_wq={wq:.5}",
                s.customers, s.events, s.mean_wait
            );
            assert!(
                (s.mean_wait - wq).abs() < 0.1 * wq,
                "plain loop mean wait {} is far from Erlang C {wq}",
                s.mean_wait
            );
        });
        b.iter(|| {
            plain_mmc(
                black_box(1),
                SERVERS,
                black_box(LAMBDA),
                MEAN_SERVICE,
                horizon,
            )
            .mean_wait
        });
    });
    group.finish();
}

fn bench_day(c: &mut Criterion) {
    let drill = parse(DAY_AT_100RPS);
    let options = RunOptions::default();
    let mut group = c.benchmark_group("day_at_100rps");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(WallDuration::from_secs(1))
        .measurement_time(WallDuration::from_secs(40));
    group.bench_function("firedrill_24h", |b| {
        DAY_ONCE.call_once(|| {
            let summary = simulate(&drill, &options);
            print_engine_stats("firedrill_24h", &summary);
            assert!(
                (summary.simulated_seconds - 86_400.0).abs() < 1.0,
                "the day drill runs 24 hours"
            );
        });
        b.iter(|| simulate(black_box(&drill), black_box(&options)));
    });
    group.finish();
}

criterion_group!(benches, bench_mmc, bench_day);
criterion_main!(benches);
