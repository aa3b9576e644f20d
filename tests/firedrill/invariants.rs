//! Random models, random faults and alerts, random teams: whatever the parameters, a run keeps
//! its books. Each model is a drill drawn at random (pools, steps of every time distribution,
//! timeouts that fail or degrade, retries, an in-flight limit, faults of every kind at random
//! times, alerts on service, pool and step metrics) and run to its end; every run must balance
//! its counts, order its quantiles, give the same result when run in random slices, and agree
//! with its own metric buckets. Each random team types commands good and bad into a built-in
//! drill; what it had accepted, replayed, must give the same session.

use std::fmt::Write as _;

use firedrill::drill::load_str;
use firedrill::sim::{RunOptions, Sim, SimTime, Summary};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

fn ms(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> String {
    format!("\"{}ms\"", rng.random_range(lo..=hi))
}

fn time_dist(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..4) {
        0 => format!("Constant({})", ms(rng, 1, 300)),
        1 => format!("Exponential(mean: {})", ms(rng, 1, 300)),
        2 => {
            let median = rng.random_range(1..200);
            let p99 = median + rng.random_range(0..800);
            format!("LogNormal(median: \"{median}ms\", p99: \"{p99}ms\")")
        }
        _ => {
            let min = rng.random_range(0..200);
            let max = min + rng.random_range(0..300);
            format!("Uniform(min: \"{min}ms\", max: \"{max}ms\")")
        }
    }
}

/// A random drill of a few minutes, valid by construction.
fn random_drill(rng: &mut ChaCha8Rng) -> String {
    let pools = ["db", "kb"];
    let mut text =
        String::from("#![enable(implicit_some)]\nDrill(name: \"random\", title: \"random\",\n");
    let duration = rng.random_range(60..400);
    let _ = writeln!(
        text,
        "  duration: \"{duration}s\", seed: {},",
        rng.random_range(1..1000)
    );
    let arrivals = if rng.random_bool(0.8) {
        "Poisson"
    } else {
        "Even"
    };
    let stages: Vec<String> = (0..rng.random_range(0..4))
        .map(|_| {
            format!(
                "Stage(over: \"{}s\", to_rps: {:.1})",
                rng.random_range(1..120),
                rng.random_range(0.0..300.0)
            )
        })
        .collect();
    let _ = writeln!(
        text,
        "  traffic: Traffic(arrivals: {arrivals}, start_rps: {:.1}, stages: [{}]),",
        rng.random_range(0.0..300.0),
        stages.join(", ")
    );
    text += "  pools: [\n";
    for pool in pools {
        let cores = if rng.random_bool(0.3) {
            format!(", cores: {}", rng.random_range(1..16))
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "    Pool(name: \"{pool}\", size: {}, acquire_timeout: {}{cores}),",
            rng.random_range(1..40),
            ms(rng, 1, 3000)
        );
    }
    text += "  ],\n  service: Service(name: \"svc\",";
    if rng.random_bool(0.3) {
        let _ = write!(text, " max_in_flight: {},", rng.random_range(1..500));
    }
    if rng.random_bool(0.4) {
        let _ = write!(
            text,
            " retries: Retries(max_attempts: {}, backoff: {}, jitter: {:.2}{}),",
            rng.random_range(1..5),
            ms(rng, 1, 2000),
            rng.random_range(0.0..1.0),
            if rng.random_bool(0.5) {
                ", budget: 0.2"
            } else {
                ""
            }
        );
    }
    text += " steps: [\n";
    let steps = rng.random_range(1..4);
    for s in 0..steps {
        let pool = match rng.random_range(0..3) {
            0 => String::new(),
            p => format!("pool: \"{}\", ", pools[p - 1]),
        };
        let on_timeout = if rng.random_bool(0.5) {
            format!(
                ", on_timeout: Degrade(wrong_answer_rate: {:.2})",
                rng.random_range(0.0..1.0)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "    Step(name: \"s{s}\", {pool}time: {}, error_rate: {:.3}{on_timeout}),",
            time_dist(rng),
            if rng.random_bool(0.5) {
                0.0
            } else {
                rng.random_range(0.0..0.3)
            }
        );
    }
    text += "  ]),\n  faults: [\n";
    for f in 0..rng.random_range(0..4) {
        let step = format!("s{}", rng.random_range(0..steps));
        let pool = pools[rng.random_range(0..2)];
        let effect = match rng.random_range(0..8) {
            0 => format!("TrafficMultiplier({:.2})", rng.random_range(0.0..4.0)),
            1 => format!(
                "PoolSize(pool: \"{pool}\", size: {})",
                rng.random_range(1..40)
            ),
            2 => format!(
                "StepTimeMultiplier(step: \"{step}\", factor: {:.2})",
                rng.random_range(0.1..10.0)
            ),
            3 => format!(
                "StepErrorRate(step: \"{step}\", rate: {:.2})",
                rng.random_range(0.0..1.0)
            ),
            4 => format!(
                "ConnectionLeak(pool: \"{pool}\", fraction: {:.3})",
                rng.random_range(0.0..0.05)
            ),
            5 => format!("AdmissionLimit(rps: {:.1})", rng.random_range(0.0..200.0)),
            6 => format!("MaxInFlight(limit: {})", rng.random_range(1..300)),
            _ => format!("RestartPool(pool: \"{pool}\", dip: {})", ms(rng, 0, 20_000)),
        };
        let ramp = if rng.random_bool(0.3) {
            format!(", ramp: \"{}s\"", rng.random_range(1..60))
        } else {
            String::new()
        };
        let lasts = if rng.random_bool(0.4) {
            format!(", lasts: \"{}s\"", rng.random_range(1..120))
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "    Fault(name: \"f{f}\", at: \"{}s\"{ramp}{lasts}, effect: {effect}),",
            rng.random_range(0..duration)
        );
    }
    text += "  ],\n  alerts: [\n";
    for a in 0..rng.random_range(0..4) {
        let step = format!("s{}", rng.random_range(0..steps));
        let pool = pools[rng.random_range(0..2)];
        let (metric, ratio) = match rng.random_range(0..8) {
            0 => ("LatencyP95".to_owned(), false),
            1 => ("ErrorRatio".to_owned(), true),
            2 => ("ArrivalRate".to_owned(), false),
            3 => (format!("PoolUtilization(\"{pool}\")"), true),
            4 => (format!("PoolTimeoutRate(\"{pool}\")"), false),
            5 => (format!("StepTime(\"{step}\")"), false),
            6 => (format!("StepErrorRatio(\"{step}\")"), true),
            _ => ("DegradedRatio".to_owned(), true),
        };
        let threshold = if ratio {
            rng.random_range(0.01..1.0)
        } else {
            rng.random_range(0.01..200.0)
        };
        let condition = if rng.random_bool(0.8) {
            "Above"
        } else {
            "Below"
        };
        let _ = writeln!(
            text,
            "    Alert(name: \"a{a}\", when: {condition}(metric: {metric}, threshold: {threshold:.3}), for: \"{}s\"),",
            rng.random_range(0..120)
        );
    }
    text += "  ],\n)\n";
    text
}

/// Every way a run's books must balance, whatever the model.
fn check_books(s: &Summary, what: &str) {
    let r = &s.requests;
    assert_eq!(r.arrived, r.admitted + r.rejected, "{what}: {r:?}");
    assert_eq!(
        r.admitted,
        r.completed + r.failed + r.in_flight_at_end,
        "{what}: {r:?}"
    );
    assert!(
        r.degraded <= r.completed && r.wrong_answers <= r.completed,
        "{what}: {r:?}"
    );
    assert!(r.retries <= r.arrived, "{what}: {r:?}");
    let l = &r.latency_seconds;
    assert!(
        0.0 <= l.p50 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max && l.mean <= l.max,
        "{what}: {l:?}"
    );
    if r.completed == 0 {
        assert_eq!((l.mean, l.max), (0.0, 0.0), "{what}");
    }
    for (name, p) in &s.pools {
        assert!(
            p.waited <= p.acquired + p.timed_out,
            "{what}: pool {name} {p:?}"
        );
        for x in [
            p.wait_mean_seconds,
            p.utilization,
            p.in_use_mean,
            p.waiting_mean,
        ] {
            assert!(x.is_finite() && x >= 0.0, "{what}: pool {name} {p:?}");
        }
    }
    for step in &s.steps {
        assert!(step.errors <= step.calls, "{what}: {step:?}");
        assert!(step.time_mean_seconds >= 0.0, "{what}: {step:?}");
    }
    // Every completed answer went through (or skipped) the last step.
    if let Some(last) = s.steps.last() {
        assert!(
            last.calls - last.errors + last.skipped >= r.completed,
            "{what}: {last:?} {r:?}"
        );
    }
}

#[test]
fn random_models_keep_their_books_and_do_not_depend_on_slicing() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for case in 0..60 {
        let text = random_drill(&mut rng);
        let what = format!("case {case}:\n{text}");
        let drill = load_str("random.ron", &text)
            .unwrap_or_else(|e| panic!("{what}\nthe generator wrote a bad drill: {}", e.plain()));
        // Every third case leaves a warm-up out of its statistics.
        let warmup = if case % 3 == 2 {
            firedrill::drill::Duration::from_secs(rng.random_range(1..60))
        } else {
            firedrill::drill::Duration::ZERO
        };
        let options = RunOptions {
            warmup,
            ..RunOptions::default()
        };

        let mut whole = Sim::new(&drill, &options);
        whole.run_to_end();
        let summary = Summary::of(&whole, &drill);
        check_books(&summary, &what);

        // The metric buckets count every request; without a warm-up they add up to the
        // run's totals, with one they count at least as many.
        let buckets = whole.telemetry().buckets();
        let arrived: u64 = buckets.iter().map(|b| b.arrived).sum();
        let rejected: u64 = buckets.iter().map(|b| b.rejected).sum();
        let totals = (summary.requests.arrived, summary.requests.rejected);
        if warmup.is_zero() {
            assert_eq!((arrived, rejected), totals, "{what}");
        } else {
            assert!(arrived >= totals.0 && rejected >= totals.1, "{what}");
        }

        // The same run, advanced in random slices, ends identical.
        let mut sliced = Sim::new(&drill, &options);
        let end = sliced.end().nanos();
        let mut t = 0;
        while t < end {
            t = (t + rng.random_range(1..30_000_000_000)).min(end);
            sliced.run_until(SimTime::from_nanos(t));
        }
        assert_eq!(Summary::of(&sliced, &drill), summary, "{what}");
        assert_eq!(
            sliced.telemetry().buckets(),
            whole.telemetry().buckets(),
            "{what}"
        );
    }
}

/// A line a team might type: commands with good and bad arguments, every role and action of
/// the drill, typos, noise.
fn random_line(rng: &mut ChaCha8Rng, drill: &firedrill::drill::Drill) -> String {
    let pick = |rng: &mut ChaCha8Rng, items: &[String]| {
        if items.is_empty() {
            "x".to_owned()
        } else {
            items[rng.random_range(0..items.len())].clone()
        }
    };
    let roles: Vec<String> = drill.roles.iter().map(|r| r.id.clone()).collect();
    let alerts: Vec<String> = drill.alerts.iter().map(|a| a.name.clone()).collect();
    let actions: Vec<String> = drill
        .actions
        .iter()
        .map(|a| {
            let params: Vec<String> = a
                .params
                .iter()
                .map(|p| format!("{p}={}", rng.random_range(-5..300)))
                .collect();
            format!("{} {}", a.name, params.join(" "))
        })
        .collect();
    let body = match rng.random_range(0..22) {
        0..=3 => format!("wait {}s", rng.random_range(0..400)),
        4 => "wait until page".to_owned(),
        5 => "dash".to_owned(),
        6 => "alerts".to_owned(),
        7 => format!("logs level=warn last={}m grep=db", rng.random_range(0..30)),
        8 => format!("metric latency_p95 last={}m", rng.random_range(1..30)),
        9 => format!("ack {}", pick(rng, &alerts)),
        10 => "ack".to_owned(),
        11 => format!("declare sev{}", rng.random_range(0..7)),
        12 => format!("assign {} {}", pick(rng, &roles), pick(rng, &roles)),
        13 => "update customers see slow answers; next update in 15m".to_owned(),
        14 => "note pool looks saturated".to_owned(),
        15 => format!("diagnose {}", pick(rng, &alerts)),
        16 | 17 => pick(rng, &actions),
        18 => "checklist".to_owned(),
        19 => "resolve".to_owned(),
        20 => [
            "",
            "   ",
            "# a comment",
            "wiat 5m",
            "ack \"unterminated",
            "é∂ƒ",
            "help",
        ][rng.random_range(0..7)]
        .to_owned(),
        _ => "end".to_owned(),
    };
    if rng.random_bool(0.5) {
        format!("{}: {body}", pick(rng, &roles))
    } else {
        body
    }
}

#[test]
fn random_sessions_never_panic_and_replay_to_the_same_summary() {
    use firedrill::session::Session;
    use firedrill::session::summary::SessionSummary;
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let (mut lines, mut orders) = (0, 0);
    for (name, text) in firedrill::drill::library::BUILTIN {
        let drill = load_str(name, text).expect("built-in drills load");
        for round in 0..3 {
            let mut live = Session::new(drill.clone(), Some(rng.random_range(1..100)));
            let seed = live.sim().seed();
            let mut accepted = Vec::new();
            for _ in 0..rng.random_range(10..60) {
                let line = random_line(&mut rng, &drill);
                if let Ok(Some(a)) = live.execute(&line) {
                    accepted.push((a.role, a.input));
                }
            }
            lines += accepted.len();
            orders += accepted
                .iter()
                .filter(|(_, input)| drill.actions.iter().any(|a| input.starts_with(&a.name)))
                .count();
            // What a transcript keeps (role and input of each accepted line) rebuilds it.
            let mut replayed = Session::new(drill.clone(), Some(seed));
            for (role, input) in &accepted {
                replayed
                    .execute_as(role, input)
                    .unwrap_or_else(|e| panic!("{name} round {round}: `{input}` refused: {e:?}"));
            }
            assert_eq!(
                SessionSummary::of(&replayed),
                SessionSummary::of(&live),
                "{name} round {round}: {accepted:?}"
            );
        }
    }
    // The sessions did things: many lines were accepted, mitigations among them.
    assert!(lines > 300 && orders > 10, "{lines} lines, {orders} orders");
}
