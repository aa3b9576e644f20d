//! How fast `firedrill fit` fits a day of telemetry: a 5-step service with two pools,
//! simulated for 24 hours with 15-second buckets and exported as OpenMetrics (about 5,760
//! samples of each of some 150 series), then read and fitted as `fit --openmetrics` does —
//! the text parsed, every series checked, the traffic curve and each step fitted, the drill
//! written and loaded, and the fitted drill simulated over the same day for the goodness
//! report. The target is under 10 s on 2 cores (docs/performance.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use firedrill::export::{self, Format, Settings};
use firedrill::fit;

const DAY: &str = r#"Drill(
    name: "day",
    title: "A day",
    briefing: "An ordinary day.",
    clock_start: "00:00",
    duration: "24h",
    seed: 3,
    telemetry: Telemetry(bucket: "15s", window: "1m"),
    traffic: Traffic(arrivals: Poisson, start_rps: 4.0, stages: [
        Stage(over: "7h", to_rps: 5.0),
        Stage(over: "2h", to_rps: 30.0),
        Stage(over: "8h", to_rps: 25.0),
        Stage(over: "3h", to_rps: 8.0),
        Stage(over: "4h", to_rps: 4.0),
    ]),
    pools: [
        Pool(name: "db", size: 20, acquire_timeout: "2s"),
        Pool(name: "vectors", size: 10, acquire_timeout: "1s"),
    ],
    service: Service(
        name: "agent",
        steps: [
            Step(name: "auth", time: Constant("5ms")),
            Step(name: "retrieve", pool: "db", time: LogNormal(median: "90ms", p99: "450ms")),
            Step(name: "search", pool: "vectors", share: 0.5, time: Exponential(mean: "120ms")),
            Step(name: "tool", share: 0.3, error_rate: 0.01, time: LogNormal(median: "300ms", p99: "2s")),
            Step(name: "generate", time: LogNormal(median: "1.4s", p99: "5s")),
        ],
    ),
)"#;

fn fit_a_day(c: &mut Criterion) {
    let drill = firedrill::drill::load_str("day", DAY).expect("the day loads");
    let run = export::run_drill(drill, None);
    let text = export::render(
        &run,
        &Settings {
            format: Format::Openmetrics,
            start_ms: None,
            rule_file: "rules.yml".into(),
        },
    );
    let mut group = c.benchmark_group("fit");
    group
        .sample_size(10)
        .measurement_time(Duration::from_mins(1))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("a day of 15 s data, 5 steps", |b| {
        b.iter(|| {
            let data = fit::series::parse_openmetrics(black_box(&text), "day.om").expect("parses");
            let outcome = fit::fit(&data, "day.om", &fit::Settings::default()).expect("fits");
            black_box(outcome.text.len())
        });
    });
    group.finish();
}

criterion_group!(benches, fit_a_day);
criterion_main!(benches);
