//! The model of a team's own system: request paths (a step only a share of requests take),
//! call timeouts (with a queueing check: a pool whose holders time out is an M/M/c queue
//! with service capped at the timeout), partial faults and several effects, steps that hold
//! two pools, bounded and reversible actions, and the smaller engine defects each guarded by
//! a test named after it.

use firedrill::drill::{Drill, parse_str};
use firedrill::session::Session;
use firedrill::sim::{RunOptions, Sim, SimTime, Summary, simulate};

use crate::theory::t_critical;

fn parse(text: &str) -> Drill {
    parse_str(text).unwrap_or_else(|e| panic!("test drill does not parse: {e}\n{text}"))
}

/// A drill with `pools`, `steps` (inside `Service(steps: [...])`) and `rest` after them.
fn drill(rps: f64, duration: &str, pools: &str, steps: &str, rest: &str) -> Drill {
    parse(&format!(
        r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "{duration}", seed: 7,
  traffic: Traffic(arrivals: Poisson, start_rps: {rps}),
  pools: [{pools}],
  service: Service(name: "s", steps: [{steps}]),
  {rest})"#
    ))
}

fn minutes(m: u64) -> SimTime {
    SimTime::from_nanos(m * 60_000_000_000)
}

/// |observed − p·n| within 3.3 binomial standard deviations.
fn binomial_ok(hits: u64, n: u64, p: f64) -> bool {
    let (hits, n) = (hits as f64, n as f64);
    (hits - p * n).abs() < 3.3 * (n * p * (1.0 - p)).sqrt()
}

// ---------------------------------------------------------------------------------------------
// Request paths
// ---------------------------------------------------------------------------------------------

#[test]
fn a_step_with_a_share_runs_for_that_share_of_requests() {
    let steps = r#"Step(name: "classify", time: Constant("5ms")),
        Step(name: "billing-lookup", time: Constant("20ms"), share: 0.3),
        Step(name: "answer", time: Constant("10ms"))"#;
    let s = simulate(&drill(50.0, "1h", "", steps, ""), &RunOptions::default());
    let (classify, billing, answer) = (&s.steps[0], &s.steps[1], &s.steps[2]);
    assert_eq!(
        classify.calls, answer.calls,
        "every request runs the others"
    );
    assert!(
        binomial_ok(billing.calls, classify.calls, 0.3),
        "billing-lookup ran {} of {} requests, expected 30% within sampling error",
        billing.calls,
        classify.calls
    );
    // The steps table shows the calls.
    let table = s.render_text();
    assert!(table.contains(&billing.calls.to_string()), "{table}");
}

#[test]
fn a_share_draws_from_its_own_stream_and_a_drill_without_share_is_unchanged() {
    let plain = r#"Step(name: "a", time: Exponential(mean: "20ms")),
        Step(name: "b", time: Exponential(mean: "30ms"), error_rate: 0.1)"#;
    let explicit = r#"Step(name: "a", time: Exponential(mean: "20ms"), share: 1.0),
        Step(name: "b", time: Exponential(mean: "30ms"), error_rate: 0.1, share: 1.0)"#;
    let options = RunOptions::default();
    let a = simulate(&drill(40.0, "20m", "", plain, ""), &options);
    let b = simulate(&drill(40.0, "20m", "", explicit, ""), &options);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap(),
        "share 1.0 must draw nothing"
    );
    // A share on step `a` leaves the arrivals and step `b`'s own draws alone.
    let shared = r#"Step(name: "a", time: Exponential(mean: "20ms"), share: 0.5),
        Step(name: "b", time: Exponential(mean: "30ms"), error_rate: 0.1)"#;
    let c = simulate(&drill(40.0, "20m", "", shared, ""), &options);
    assert_eq!(a.requests.arrived, c.requests.arrived);
    // Step `b` draws its times and errors from its own streams, call by call: the same
    // errors (its calls differ only by the requests still running at the end).
    assert_eq!(a.steps[1].errors, c.steps[1].errors);
    assert!(a.steps[1].calls.abs_diff(c.steps[1].calls) <= 5);
    assert!(c.steps[0].calls < a.steps[0].calls);
}

// ---------------------------------------------------------------------------------------------
// Call timeouts
// ---------------------------------------------------------------------------------------------

/// M/M/c with service capped at T: holding time H = min(S, T), S ~ Exp(mean m).
/// E[H] = m(1 − e^{−T/m}); P(S > T) = e^{−T/m}; the pool's mean busy connections are λE[H]
/// (Little's law on the servers), its utilisation λE[H]/c; throughput is λ. Without the
/// timeout this pool would be overloaded (λm/c = 1.6): only a connection released at the
/// timeout keeps it stable.
#[test]
fn a_pool_whose_holders_time_out_behaves_like_mmc_with_capped_service() {
    let (lambda, mean, cap, c) = (40.0_f64, 0.4_f64, 0.3_f64, 10.0_f64);
    let text = |on_timeout: &str| {
        format!(
            r#"#![enable(implicit_some)]
Drill(name: "capped", title: "t", duration: "1h", seed: 1,
  traffic: Traffic(arrivals: Poisson, start_rps: {lambda}),
  pools: [Pool(name: "db", size: {c}, acquire_timeout: "1h")],
  service: Service(name: "s", steps: [
    Step(name: "q", pool: "db", time: Exponential(mean: "400ms"), timeout: "300ms"
         {on_timeout})]))"#
        )
    };
    let exact_hold = mean * (1.0 - (-cap / mean).exp());
    let p_timeout = (-cap / mean).exp();
    let warmup = firedrill::drill::Duration::from_secs(180);
    for (label, on_timeout) in [
        ("fail", String::new()),
        (
            "degrade",
            ", on_timeout: Degrade(wrong_answer_rate: 1.0)".to_owned(),
        ),
    ] {
        let d = parse(&text(&on_timeout));
        let runs: Vec<Summary> = (1..=10)
            .map(|seed| {
                simulate(
                    &d,
                    &RunOptions {
                        seed: Some(seed),
                        warmup,
                        ..RunOptions::default()
                    },
                )
            })
            .collect();
        let interval = |f: &dyn Fn(&Summary) -> f64| {
            let xs: Vec<f64> = runs.iter().map(f).collect();
            let n = xs.len() as f64;
            let m = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
            (m, t_critical(xs.len() - 1) * (var / n).sqrt())
        };
        let observed = 3600.0 - 180.0;
        let checks: [(&str, f64, (f64, f64)); 5] = [
            (
                "mean hold time E[min(S,T)]",
                exact_hold,
                interval(&|s| s.steps[0].time_mean_seconds),
            ),
            (
                "P(call timeout)",
                p_timeout,
                interval(&|s| s.steps[0].call_timeouts as f64 / s.steps[0].calls as f64),
            ),
            (
                "utilisation λE[H]/c",
                lambda * exact_hold / c,
                interval(&|s| s.pools["db"].utilization),
            ),
            (
                "busy connections λE[H]",
                lambda * exact_hold,
                interval(&|s| s.pools["db"].in_use_mean),
            ),
            (
                "throughput λ",
                lambda,
                interval(&|s| (s.requests.completed + s.requests.failed) as f64 / observed),
            ),
        ];
        let mut failed = Vec::new();
        for (what, exact, (m, half)) in checks {
            println!("{label:8} {what:30} exact {exact:.5} simulated {m:.5} ± {half:.5}");
            if (m - exact).abs() > half.max(1e-9) {
                failed.push(format!("{what}: exact {exact}, simulated {m} ± {half}"));
            }
        }
        // Little's law on the queue: mean waiting = λ · mean wait.
        for s in &runs {
            let pool = &s.pools["db"];
            let little = lambda * pool.wait_mean_seconds;
            assert!(
                (pool.waiting_mean - little).abs() <= 0.05 * little.max(0.05),
                "{label}: Little's law on the queue: L {} vs λW {little}",
                pool.waiting_mean
            );
            // Every timed-out call failed (Fail) or went on without the step (Degrade).
            if label == "fail" {
                assert!(s.requests.failed >= s.steps[0].call_timeouts);
                assert_eq!(s.steps[0].skipped, 0);
            } else {
                assert_eq!(s.requests.failed, 0);
                assert!(s.steps[0].skipped.abs_diff(s.steps[0].call_timeouts) <= 10);
            }
        }
        assert!(failed.is_empty(), "{label}: {failed:#?}");
    }
}

#[test]
fn a_step_timeout_effect_sets_a_timeout_during_the_drill() {
    let steps = r#"Step(name: "vendor", pool: "db", time: Constant("5s"))"#;
    let rest = r#"actions: [Action(name: "set-timeout",
        effect: StepTimeout(step: "vendor", timeout: "2s"))],"#;
    let d = drill(
        2.0,
        "20m",
        r#"Pool(name: "db", size: 40, acquire_timeout: "1h")"#,
        steps,
        rest,
    );
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_until(minutes(10));
    let before = sim.core().steps[0].totals;
    assert_eq!(before.call_timeouts, 0);
    assert!((before.mean_seconds() - 5.0).abs() < 1e-9);
    let in_flight = sim.core().in_flight.value;
    sim.order_action("set-timeout", &[]).expect("orders");
    sim.run_until(minutes(20));
    let after = sim.core().steps[0].totals;
    let calls = after.calls - before.calls;
    let timeouts = after.call_timeouts;
    assert!(calls > 1000);
    // The calls running when it landed ran their 5 s; every later call stopped at 2 s
    // (its connection released then: the pool never queues).
    assert_eq!(calls, in_flight + timeouts, "{after:?}");
    assert_eq!(
        after.busy_nanos - before.busy_nanos,
        u128::from(in_flight * 5 + timeouts * 2) * 1_000_000_000
    );
    assert_eq!(sim.core().pools[0].totals.waited, 0);
}

// ---------------------------------------------------------------------------------------------
// Partial faults and several effects
// ---------------------------------------------------------------------------------------------

#[test]
fn a_step_effect_with_a_share_hits_that_share_of_calls() {
    let steps = r#"Step(name: "llm", time: Constant("100ms"))"#;
    let rest = r#"faults: [Fault(name: "flaky", at: "0s", effects: [
        StepErrorRate(step: "llm", rate: 1.0, share: 0.25),
        StepTimeMultiplier(step: "llm", factor: 3.0, share: 0.5),
    ])],"#;
    let s = simulate(&drill(50.0, "30m", "", steps, rest), &RunOptions::default());
    let llm = &s.steps[0];
    assert!(
        binomial_ok(llm.errors, llm.calls, 0.25),
        "{} errors of {} calls, expected 25%",
        llm.errors,
        llm.calls
    );
    // Half the calls take 300 ms, half 100 ms: 200 ms on average, ± sampling error.
    let sd = 0.1 / (llm.calls as f64).sqrt();
    assert!(
        (llm.time_mean_seconds - 0.2).abs() < 3.3 * sd,
        "mean call time {}",
        llm.time_mean_seconds
    );
}

#[test]
fn a_fault_with_several_effects_applies_all_of_them() {
    let steps = r#"Step(name: "llm", time: Constant("100ms"))"#;
    let rest = r#"faults: [Fault(name: "bad-model", at: "0s", effects: [
        StepErrorRate(step: "llm", rate: 0.2),
        WrongAnswerRate(step: "llm", rate: 0.5),
    ])],"#;
    let s = simulate(&drill(50.0, "20m", "", steps, rest), &RunOptions::default());
    let llm = &s.steps[0];
    assert!(binomial_ok(llm.errors, llm.calls, 0.2), "{llm:?}");
    assert!(
        binomial_ok(s.requests.wrong_answers, s.requests.completed, 0.5),
        "{:?}",
        s.requests
    );
}

// ---------------------------------------------------------------------------------------------
// Two pools per step
// ---------------------------------------------------------------------------------------------

#[test]
fn a_step_holds_two_pools_and_a_timeout_on_the_second_releases_the_first() {
    let pools = r#"Pool(name: "http", size: 30, acquire_timeout: "1h"),
        Pool(name: "db", size: 4, acquire_timeout: "50ms")"#;
    let steps = r#"Step(name: "lookup", pools: ["http", "db"], time: Exponential(mean: "100ms"))"#;
    // 60 rps against 4 db connections of 100 ms: the db pool times out often; then traffic
    // stops, so that every connection must come back.
    let d = parse(&format!(
        r#"#![enable(implicit_some)]
Drill(name: "two", title: "t", duration: "15m", seed: 5,
  traffic: Traffic(arrivals: Poisson, start_rps: 60.0,
    stages: [Stage(over: "10m", to_rps: 60.0), Stage(over: "1ms", to_rps: 0.0)]),
  pools: [{pools}],
  service: Service(name: "s", steps: [{steps}]))"#
    ));
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_to_end();
    let core = sim.core();
    let (http, db) = (&core.pools[0], &core.pools[1]);
    assert!(
        db.totals.timed_out > 1000,
        "db timeouts {}",
        db.totals.timed_out
    );
    assert_eq!(http.totals.timed_out, 0);
    // Every holder of an http connection went on to the db pool: it got a connection or
    // timed out there.
    assert_eq!(
        http.totals.acquired,
        db.totals.acquired + db.totals.timed_out
    );
    // Nothing is left held.
    assert_eq!((http.in_use, db.in_use), (0, 0));
    let s = Summary::of(&sim, &d);
    assert_eq!(s.steps[0].acquire_timeouts, db.totals.timed_out);
    assert_eq!(s.steps[0].calls, db.totals.acquired);
    // Each pool's metrics stay its own: http is busy for the db wait and the call, db only
    // for the call.
    assert!(s.pools["http"].in_use_mean > s.pools["db"].in_use_mean);
}

// ---------------------------------------------------------------------------------------------
// Bounded, reversible actions
// ---------------------------------------------------------------------------------------------

const BREAKER: &str = r#"actions: [
    Action(name: "breaker-open", help: "breaker-open: answer from the cache",
        effects: [StepErrorRate(step: "llm", rate: 0.3), WrongAnswerRate(step: "llm", rate: 0.4)]),
    Action(name: "breaker-close", effect: EndAction("breaker-open")),
    Action(name: "scale-pool", help: "scale-pool size=N (1 to 60)",
        params: [Param(name: "size", min: 1, max: 60, integer: true)],
        effect: PoolSize(pool: "db", size: Param("size"))),
    Action(name: "resize", params: ["size"], effect: PoolSize(pool: "db", size: Param("size"))),
    Action(name: "restart", effect: RestartPool(pool: "db", dip: "0s")),
],"#;

fn breaker_drill() -> Drill {
    drill(
        50.0,
        "30m",
        r#"Pool(name: "db", size: 20, acquire_timeout: "2s")"#,
        r#"Step(name: "q", pool: "db", time: Constant("10ms")),
           Step(name: "llm", time: Constant("50ms"), error_rate: 0.05, wrong_answer_rate: 0.1)"#,
        BREAKER,
    )
}

#[test]
fn end_action_restores_the_steps_error_and_wrong_answer_figures() {
    let d = breaker_drill();
    let mut sim = Sim::new(&d, &RunOptions::default());
    let snapshot = |sim: &Sim| {
        let c = sim.core();
        let llm = c.steps[1].totals;
        (
            llm.calls,
            llm.errors,
            c.totals.completed,
            c.totals.wrong_answers,
        )
    };
    let ratios = |a: (u64, u64, u64, u64), b: (u64, u64, u64, u64)| {
        (
            (b.1 - a.1) as f64 / (b.0 - a.0) as f64,
            (b.3 - a.3) as f64 / (b.2 - a.2) as f64,
        )
    };
    let start = snapshot(&sim);
    sim.run_until(minutes(10));
    let open = snapshot(&sim);
    sim.order_action("breaker-open", &[]).unwrap();
    sim.run_until(minutes(20));
    let closed = snapshot(&sim);
    sim.order_action("breaker-close", &[]).unwrap();
    sim.run_until(minutes(30));
    let end = snapshot(&sim);
    let before = ratios(start, open);
    let during = ratios(open, closed);
    let after = ratios(closed, end);
    // Before: 5% errors, 10% wrong; during: rates add, 35% errors and 50% wrong.
    assert!(
        (before.0 - 0.05).abs() < 0.01 && (before.1 - 0.1).abs() < 0.015,
        "{before:?}"
    );
    assert!(
        (during.0 - 0.35).abs() < 0.02 && (during.1 - 0.5).abs() < 0.02,
        "{during:?}"
    );
    assert!(
        (after.0 - 0.05).abs() < 0.01 && (after.1 - 0.1).abs() < 0.015,
        "{after:?}"
    );
    assert!(sim.core().effects.is_empty(), "{:?}", sim.core().effects);
}

#[test]
fn a_bounded_param_outside_its_bounds_is_refused_at_the_prompt_with_the_bounds_and_help() {
    let mut session = Session::new(breaker_drill(), Some(1));
    for (line, says) in [
        ("scale-pool size=61", "from 1 to 60"),
        ("scale-pool size=0", "from 1 to 60"),
        ("scale-pool size=2.5", "whole number"),
        ("scale-pool size=many", "not a number"),
    ] {
        let err = session.execute(line).expect_err(line).to_string();
        assert!(err.contains(says), "{line}: {err}");
        if says != "not a number" {
            assert!(err.contains("scale-pool size=N (1 to 60)"), "{line}: {err}");
        }
    }
    assert!(
        session
            .team()
            .log
            .iter()
            .all(|e| !e.input.contains("scale-pool")),
        "a refused line reached the team's log"
    );
    session
        .execute("scale-pool size=60")
        .expect("within bounds");
}

#[test]
fn actions_obey_the_pool_size_rules_of_the_drill_format() {
    // issue 12 item 13: size=0 and 2.5 were accepted, 4294967296 silently clamped.
    let mut session = Session::new(breaker_drill(), Some(1));
    for (line, says) in [
        ("resize size=0", "at least 1"),
        ("resize size=2.5", "whole number"),
        ("resize size=4294967296", "at most 100000"),
    ] {
        let err = session.execute(line).expect_err(line).to_string();
        assert!(err.contains(says), "{line}: {err}");
    }
    assert!(session.team().log.is_empty());
    session.execute("resize size=40").expect("a valid size");
}

#[test]
fn a_param_on_an_action_without_params_says_the_action_takes_none() {
    let mut session = Session::new(breaker_drill(), Some(1));
    let err = session.execute("restart size=60").unwrap_err().to_string();
    assert!(err.contains("`restart` takes no parameters"), "{err}");
    assert!(!err.contains("this drill defines no"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Smaller defects
// ---------------------------------------------------------------------------------------------

#[test]
fn an_acquire_timeout_log_line_tells_the_wait_for_that_connection() {
    // Two steps on one saturated pool with a 2 s acquire timeout: a request that waited 2 s
    // at the first step and 2 s at the second used to be logged as "timed out after 4.000s".
    let d = drill(
        100.0,
        "10m",
        r#"Pool(name: "db", size: 2, acquire_timeout: "2s")"#,
        r#"Step(name: "a", pool: "db", time: Constant("50ms"),
                on_timeout: Degrade(wrong_answer_rate: 0.5)),
           Step(name: "b", pool: "db", time: Constant("50ms"))"#,
        "telemetry: Telemetry(log_limit: 1000),",
    );
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_to_end();
    let timeouts: Vec<_> = sim
        .telemetry()
        .log()
        .iter()
        .filter(|l| l.message().contains("waiting for a db connection"))
        .collect();
    assert!(!timeouts.is_empty());
    for line in timeouts {
        assert!(
            (line.wait_seconds - 2.0).abs() < 1e-6,
            "{}: {}",
            line.wait_seconds,
            line.message()
        );
    }
}

#[test]
fn acquire_timeouts_on_a_fail_step_appear_in_the_steps_table() {
    let d = drill(
        100.0,
        "10m",
        r#"Pool(name: "db", size: 2, acquire_timeout: "1s")"#,
        r#"Step(name: "query", pool: "db", time: Constant("50ms"))"#,
        "",
    );
    let s = simulate(&d, &RunOptions::default());
    let timed_out = s.pools["db"].timed_out;
    assert!(timed_out > 1000);
    assert_eq!(s.steps[0].acquire_timeouts, timed_out);
    let table = s.render_text();
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("query"))
        .expect("a row for the step");
    assert!(row.contains(&timed_out.to_string()), "{table}");
    assert!(table.contains("no conn"), "{table}");
}

#[test]
fn pool_utilization_after_a_resize_divides_by_the_time_weighted_size() {
    // Never a queue: about 4 connections busy (20 rps × 200 ms); the pool is 10 for the first
    // half hour and 30 for the second, 20 on average, so utilization is 4/20, not 4/30.
    let d = drill(
        20.0,
        "1h",
        r#"Pool(name: "db", size: 10, acquire_timeout: "1h")"#,
        r#"Step(name: "q", pool: "db", time: Constant("200ms"))"#,
        r#"faults: [Fault(name: "grow", at: "30m", effect: PoolSize(pool: "db", size: 30))],"#,
    );
    let s = simulate(&d, &RunOptions::default());
    let pool = &s.pools["db"];
    assert_eq!(pool.size, 30);
    let expected = pool.in_use_mean / 20.0;
    assert!(
        (pool.utilization - expected).abs() < 1e-6,
        "utilization {} expected {expected}",
        pool.utilization
    );
}

#[test]
fn an_explicit_some_is_accepted_wherever_a_value_is_optional() {
    // Every field with a default, written plainly (`{}` around each value is replaced by
    // nothing) or wrapped in RON's explicit `Some(..)`: both load to the same drill.
    let template = r#"Drill(name: "t", title: "t", duration: "1h", briefing: {"b"}, seed: {7},
  shed_tolerance: {0.1}, telemetry: {Telemetry(bucket: {"10s"}, log_sample: {0.5})},
  traffic: Traffic(arrivals: {Poisson}, start_rps: 1.0),
  pools: [Pool(name: "db", size: 2, acquire_timeout: {"1h"})],
  service: Service(name: "s", steps: [Step(name: "q", pool: Some("db"), time: Constant("1ms"),
    error_rate: {0.01}, wrong_answer_rate: {0.02}, tokens: {300.0}, on_timeout: {Fail})]),
  faults: [Fault(name: "f", at: "10m", lasts: Some("5m"), ramp: {"1m"}, cause: {true},
    effect: StepErrorRate(step: "q", rate: 0.5))],
  alerts: [Alert(name: "A", when: Above(metric: ErrorRatio, threshold: 0.1), for: {"1m"},
    severity: {Page}, summary: {"errors"}, expect: {Fires})],
)"#;
    let fill = |open: &str, close: &str| template.replace('{', open).replace('}', close);
    let load = |text: &str| {
        firedrill::drill::load_str("t.ron", text)
            .unwrap_or_else(|e| panic!("{}\n{text}", e.plain()))
    };
    let plain = load(&fill("", ""));
    let some = load(&fill("Some(", ")"));
    assert_eq!(some, plain);
    assert_eq!(plain.seed, 7);
    assert_eq!(
        plain.faults[0].ramp,
        firedrill::drill::Duration::from_secs(60)
    );

    // `None` is not a value: the message says to leave the field out.
    for (field, value) in [
        ("seed: {7}", "seed: None"),
        ("cause: {true}", "cause: None"),
    ] {
        let text = fill("", "").replace(&field.replace(['{', '}'], ""), value);
        let problems = firedrill::drill::load_str("t.ron", &text)
            .expect_err("None is refused")
            .problems()
            .iter()
            .map(|p| format!("{} | {}", p.message(), p.hint().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            problems.contains("leave the field out"),
            "{value}: {problems}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What `check` says about the new fields
// ---------------------------------------------------------------------------------------------

/// Loads `text` and compares its problems, in order, with `(line:col, fragment of message or
/// hint)`.
fn check_problems(name: &str, text: &str, expected: &[(&str, &str)]) -> Result<(), String> {
    let problems = match firedrill::drill::load_str(name, text) {
        Ok(_) if expected.is_empty() => return Ok(()),
        Ok(_) => return Err(format!("{name}: loaded, but expected {expected:?}")),
        Err(error) => error,
    };
    let found: Vec<(String, String)> = problems
        .problems()
        .iter()
        .map(|p| {
            (
                format!("{}:{}", p.line(), p.column()),
                format!("{} | {}", p.message(), p.hint().unwrap_or("")),
            )
        })
        .collect();
    let ok = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|((at, text), (want_at, fragment))| at == want_at && text.contains(fragment));
    if ok {
        Ok(())
    } else {
        Err(format!("{name}: expected {expected:?}, found:\n{found:#?}"))
    }
}

const HEAD: &str = r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  pools: [Pool(name: "db", size: 2), Pool(name: "http", size: 4)],"#;

/// A named drill text and the problems it must produce.
type Case = (
    &'static str,
    String,
    &'static [(&'static str, &'static str)],
);

#[test]
fn check_explains_every_new_mistake() {
    let cases: [Case; 5] = [
        (
            "steps: pools, share, timeout",
            format!(
                r#"{HEAD}
  service: Service(name: "api", steps: [
    Step(name: "a", pool: "db", pools: ["http"], time: Constant("1ms")),
    Step(name: "b", pools: ["http", "dbb", "http"], time: Constant("1ms"), share: 0.0),
    Step(name: "c", time: Constant("1ms"), share: 1.5, timeout: "0s"),
  ]),
)"#
            ),
            &[
                ("4:40", "gives both `pool` and `pools`"),
                ("5:37", "unknown pool `dbb`"),
                ("5:44", "holds pool `http` twice"),
                ("5:83", "a share must be more than 0"),
                ("6:51", "a share must be more than 0"),
                ("6:65", "call timeout of 0s"),
            ],
        ),
        (
            "effect lists written wrong",
            format!(
                r#"{HEAD}
  service: Service(name: "api", steps: [Step(name: "s", time: Constant("1ms"))]),
  faults: [
    Fault(name: "a", at: "1m", effect: [TrafficMultiplier(2.0), TrafficMultiplier(3.0)]),
    Fault(name: "b", at: "1m", effects: TrafficMultiplier(2.0)),
    Fault(name: "c", at: "1m", effect: TrafficMultiplier(2.0), effects: [TrafficMultiplier(2.0)]),
    Fault(name: "d", at: "1m"),
    Fault(name: "e", at: "1m", effects: []),
  ],
)"#
            ),
            &[
                (
                    "5:32",
                    "write `effects: [TrafficMultiplier(2.0), TrafficMultiplier(3.0)]`",
                ),
                ("6:41", "write `effects: [TrafficMultiplier(2.0)]`"),
                ("7:73", "gives both `effect` and `effects`"),
                ("8:5", "fault `d` has no effect"),
                ("9:41", "empty `effects` list"),
            ],
        ),
        (
            "partial effects, timeouts and EndAction",
            format!(
                r#"{HEAD}
  service: Service(name: "api", steps: [Step(name: "s", time: Constant("1ms"))]),
  faults: [
    Fault(name: "a", at: "1m", effects: [
      StepErrorRate(step: "s", rate: 0.5, share: 2.0),
      StepTimeout(step: "t", timeout: "0s"),
    ]),
  ],
  actions: [
    Action(name: "restart", effect: RestartPool(pool: "db", dip: "0s")),
    Action(name: "undo", effect: EndAction("restart")),
    Action(name: "undo2", effect: EndAction("nope")),
  ],
)"#
            ),
            &[
                ("6:50", "a share must be more than 0"),
                ("7:25", "unknown step `t`"),
                ("7:39", "call timeout of 0s"),
                ("12:44", "action `restart` has no lasting effect"),
                ("13:45", "unknown action `nope`"),
            ],
        ),
        (
            "bounded params",
            format!(
                r#"{HEAD}
  service: Service(name: "api", steps: [Step(name: "s", pool: "db", time: Constant("1ms"))]),
  actions: [
    Action(name: "scale", help: "scale size=N, 1 to 60",
      params: [Param(name: "size", min: 60, max: 1)],
      effect: PoolSize(pool: "db", size: Param("size"))),
    Action(name: "grow", help: "grow size=N, 1 to 60",
      params: [Param(name: "size", min: 1, max: 60, integer: true)],
      effect: PoolSize(pool: "db", size: Param("size"))),
  ],
  roles: [Role(id: "ops", title: "Ops")],
  reference: [
    Say(at: At("1m"), role: "ops", input: "grow size=61"),
    Say(at: At("2m"), role: "ops", input: "grow size=2.5"),
    Say(at: At("3m"), role: "ops", input: "grow size=6"),
  ],
)"#
            ),
            &[
                ("6:50", "min 60 above max 1"),
                ("14:43", "from 1 to 60"),
                ("15:43", "whole number"),
            ],
        ),
        (
            "explicit Some for a duration with a default",
            r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  pools: [Pool(name: "db", size: 2, acquire_timeout: Some("1h"))],
  service: Service(name: "api", steps: [Step(name: "s", pool: Some("db"), time: Constant("1ms"))]),
)"#
            .to_owned(),
            &[],
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, text, expected)| check_problems(name, text, expected).err())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn an_out_of_bounds_scripted_line_is_refused_and_never_reaches_the_team_log() {
    use firedrill::drill::spec::{Anchor, Say};
    use firedrill::session::play::{Step, play};
    let mut d = breaker_drill();
    d.roles = vec![firedrill::drill::spec::Role {
        id: "ops".into(),
        title: "Ops".into(),
        checklist: Vec::new(),
    }];
    let say = |minute: u64, input: &str| Say {
        at: Anchor::At(firedrill::drill::Duration::from_secs(minute * 60)),
        role: "ops".into(),
        input: input.into(),
    };
    let script = [say(1, "scale-pool size=500"), say(2, "scale-pool size=40")];
    let mut session = Session::new(d, Some(1));
    let mut refused = Vec::new();
    play(&mut session, &script, &mut |_, step| {
        if let Step::Refused { input, error, .. } = step {
            refused.push((input, error.to_string()));
        }
    });
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].1.contains("from 1 to 60"), "{refused:?}");
    let inputs: Vec<&str> = session
        .team()
        .log
        .iter()
        .map(|e| e.input.as_str())
        .collect();
    assert!(!inputs.iter().any(|i| i.contains("500")), "{inputs:?}");
    assert!(inputs.iter().any(|i| i.contains("size=40")), "{inputs:?}");
}
