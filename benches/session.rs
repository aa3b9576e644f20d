//! How fast a live drill answers: `wait 1m` on monday-rush during the surge, when requests
//! arrive at about 210 per second (the target is well under 50 ms).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use firedrill::drill::parse_str;
use firedrill::session::Session;
use firedrill::sim::SimTime;

fn wait_one_minute(c: &mut Criterion) {
    let drill = parse_str(include_str!("../drills/monday-rush.ron")).expect("monday-rush loads");
    let mut group = c.benchmark_group("session");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("wait 1m at 210 rps", |b| {
        b.iter_batched(
            || {
                let mut session = Session::new(drill.clone(), None);
                session.advance_to(SimTime::from_secs_f64(50.0 * 60.0));
                session
            },
            |mut session| black_box(session.execute("wait 1m").expect("wait is accepted")),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, wait_one_minute);
criterion_main!(benches);
