//! The engine's effects and client behaviour, each checked against what it must do:
//! retries against their expected count, budgets, rollbacks, restarts, contention,
//! fallbacks, the delayed evaluation signal, tokens and cost, and the per-step statistics.

use firedrill::drill::parse_str;
use firedrill::sim::{RunOptions, Sim, SimTime};

/// A one-step service drill with `extra` spliced into the service and `rest` after it.
fn drill(service: &str, steps: &str, rest: &str) -> firedrill::drill::Drill {
    let text = format!(
        r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "1h", seed: 3,
  traffic: Traffic(arrivals: Poisson, start_rps: 50.0),
  pools: [Pool(name: "db", size: 8, acquire_timeout: "2s", cores: 4)],
  service: Service(name: "s", {service} steps: [{steps}]),
  {rest})"#
    );
    parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn at(minutes: u64) -> SimTime {
    SimTime::from_nanos(minutes * 60_000_000_000)
}

/// Sum of a per-bucket count over buckets starting in [from, to) minutes.
fn sum(sim: &Sim, from: u64, to: u64, f: fn(&firedrill::telemetry::series::Bucket) -> u64) -> u64 {
    let (from, to) = ((from * 60) as f64, (to * 60) as f64);
    sim.telemetry()
        .buckets()
        .iter()
        .filter(|b| b.start >= from && b.start < to)
        .map(f)
        .sum()
}

#[test]
fn retries_follow_the_geometric_expectation_and_the_budget_caps_them() {
    // Each attempt fails with probability 1/2; with 3 attempts a request makes on average
    // 1 + 1/2 + 1/4 attempts, so retries are 3/4 of first attempts.
    let step = r#"Step(name: "llm", time: Constant("10ms"), error_rate: 0.5)"#;
    let free = drill(
        r#"retries: Retries(max_attempts: 3, backoff: "100ms"),"#,
        step,
        "",
    );
    let s = firedrill::sim::simulate(&free, &RunOptions::default());
    let first = (s.requests.arrived - s.requests.retries) as f64;
    let ratio = s.requests.retries as f64 / first;
    // Binomial noise on ~180k first attempts is far below 1%.
    assert!(
        (ratio - 0.75).abs() < 0.01,
        "retries per first attempt {ratio}"
    );
    // Failures that remain: all three attempts failed, 1/8 of requests.
    let final_failures = s.requests.failed as f64 - s.requests.retries as f64;
    assert!(
        (final_failures / first - 0.125).abs() < 0.01,
        "{}",
        final_failures / first
    );

    let budget = drill(
        r#"retries: Retries(max_attempts: 3, backoff: "100ms", budget: 0.1),"#,
        step,
        "",
    );
    let b = firedrill::sim::simulate(&budget, &RunOptions::default());
    let first = (b.requests.arrived - b.requests.retries) as f64;
    let ratio = b.requests.retries as f64 / first;
    assert!(
        ratio <= 0.1 + 10.0 / first && ratio > 0.09,
        "budgeted retries per first attempt {ratio}"
    );
}

#[test]
fn a_rollback_ends_its_fault_and_a_restart_brings_leaked_connections_back() {
    let steps = r#"Step(name: "q", pool: "db", time: Exponential(mean: "20ms"))"#;
    let rest = r#"faults: [
        Fault(name: "bad-release", at: "10m", effect: StepErrorRate(step: "q", rate: 0.3)),
        Fault(name: "leak", at: "0s", effect: ConnectionLeak(pool: "db", fraction: 0.00005)),
      ],
      actions: [
        Action(name: "rollback", delay: "1m", effect: EndFault("bad-release")),
        Action(name: "restart", delay: "0s", effect: RestartPool(pool: "db", dip: "30s")),
      ],"#;
    let mut d = drill("", steps, rest);
    d.pools[0].size = 30;
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_until(at(20));
    assert!(
        sum(&sim, 11, 20, |b| b.failed) > 1000,
        "the fault makes requests fail"
    );
    sim.order_action("rollback", &[]).unwrap();
    sim.run_until(at(21));
    assert!(sim.truth().fault_ended[0].is_some());
    sim.run_until(at(30));
    assert_eq!(
        sum(&sim, 21, 30, |b| b.failed),
        0,
        "no failures after the rollback"
    );

    let leaked = sim.core().pools[0].leaked;
    assert!(leaked > 0, "connections leaked");
    sim.order_action("restart", &[]).unwrap();
    sim.run_until(at(30).after(firedrill::drill::Duration::from_secs(10)));
    assert_eq!(sim.core().pools[0].leaked, 0);
    assert_eq!(sim.core().pools[0].size, 0, "no connections during the dip");
    sim.run_until(at(31));
    assert_eq!(sim.core().pools[0].size, 30, "the dip ends after 30s");
}

#[test]
fn with_contention_a_bigger_pool_makes_queries_slower() {
    // 4 cores: 8 busy connections run each query at half speed.
    let steps = r#"Step(name: "q", pool: "db", time: Constant("50ms"))"#;
    let mean_latency = |size: u32| {
        let d = drill("", steps, "");
        let mut d = d;
        d.pools[0].size = i64::from(size);
        d.traffic.start_rps = 150.0;
        firedrill::sim::simulate(&d, &RunOptions::default())
            .requests
            .latency_seconds
            .mean
    };
    let (small, big) = (mean_latency(4), mean_latency(32));
    assert!(
        big > small,
        "pool 32: {big:.4}s should be slower than pool 4: {small:.4}s"
    );
}

#[test]
fn a_fallback_runs_at_its_own_speed_and_quality() {
    let steps = r#"Step(name: "llm", time: Constant("2s"), wrong_answer_rate: 0.0,
                        fallback: Fallback(time: Constant("500ms"), wrong_answer_rate: 0.2))"#;
    let rest = r#"actions: [Action(name: "failover", effect: UseFallback(step: "llm"))],"#;
    let d = drill("", steps, rest);
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_until(at(10));
    assert_eq!(sum(&sim, 0, 10, |b| b.wrong_answers), 0);
    sim.order_action("failover", &[]).unwrap();
    sim.run_until(at(30));
    let last = sim.telemetry().buckets().last().unwrap();
    assert!(
        (last.latency_p50 - 0.5).abs() < 0.01,
        "p50 {}",
        last.latency_p50
    );
    let (wrong, done) = (
        sum(&sim, 11, 30, |b| b.wrong_answers),
        sum(&sim, 11, 30, |b| b.completed),
    );
    let ratio = wrong as f64 / done as f64;
    assert!((ratio - 0.2).abs() < 0.02, "wrong-answer ratio {ratio}");
}

#[test]
fn the_evaluation_signal_arrives_late_and_sampled() {
    let steps = r#"Step(name: "llm", time: Constant("100ms"))"#;
    let rest = r#"telemetry: Telemetry(eval_sample: 0.2, eval_delay: "10m"),
      faults: [Fault(name: "prompt", at: "10m", effect: WrongAnswerRate(step: "llm", rate: 0.3))],
      alerts: [Alert(name: "Quality", when: Above(metric: EvalWrongAnswerRatio, threshold: 0.1), for: "0s")],"#;
    let d = drill("", steps, rest);
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_to_end();
    let fired = sim.truth().alert_first_fired[0].expect("the quality alert fires");
    // Wrong answers begin at 10m; the pipeline reports them 10m later.
    assert!(fired >= at(20) && fired <= at(21), "fired at {fired}");
    let late = sim
        .telemetry()
        .buckets()
        .last()
        .unwrap()
        .window
        .eval_wrong_answer_ratio;
    assert!((late - 0.3).abs() < 0.05, "evaluated ratio {late}");
    // Graded answers are about a fifth of all.
    let (graded, done) = (
        sum(&sim, 0, 60, |b| b.eval_graded),
        sum(&sim, 0, 60, |b| b.completed),
    );
    assert!((graded as f64 / done as f64 - 0.2).abs() < 0.01);
}

#[test]
fn tokens_cost_and_a_token_blowup_slow_the_step() {
    let steps = r#"Step(name: "llm", time: Constant("1s"), tokens: 500.0)"#;
    let rest = r#"faults: [Fault(name: "verbose", at: "30m", effect: TokenMultiplier(step: "llm", factor: 3.0))],"#;
    let d = drill("cost_per_1k_tokens: 0.01,", steps, rest);
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_until(at(29));
    let before = sim.telemetry().buckets().last().unwrap().clone();
    sim.run_to_end();
    let after = sim.telemetry().buckets().last().unwrap();
    assert!((before.latency_p50 - 1.0).abs() < 0.01);
    assert!(
        (after.latency_p50 - 3.0).abs() < 0.03,
        "three times the tokens take three times as long"
    );
    // 50 requests/s × 500 tokens × $0.01 per 1000 tokens = $0.25/s = $900/h.
    assert!(
        (before.window.cost_rate - 900.0).abs() < 60.0,
        "cost {}",
        before.window.cost_rate
    );
    assert!((after.window.cost_rate / before.window.cost_rate - 3.0).abs() < 0.3);
    let summary = firedrill::sim::Summary::of(&sim, &d);
    assert!((summary.requests.cost_dollars - summary.requests.tokens / 1000.0 * 0.01).abs() < 1e-6);
}

#[test]
fn step_statistics_count_calls_errors_skips_and_running_time() {
    // Two steps: a database query (exponential, mean 50 ms) behind a pool that is big
    // enough never to time out, then a model call of exactly 10 ms failing one time in ten.
    let text = r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "1h", seed: 5,
  traffic: Traffic(arrivals: Poisson, start_rps: 50.0),
  pools: [Pool(name: "db", size: 20, acquire_timeout: "5s")],
  service: Service(name: "s", steps: [
    Step(name: "query", pool: "db", time: Exponential(mean: "50ms")),
    Step(name: "llm", time: Constant("10ms"), error_rate: 0.1),
  ]))"#;
    let s = firedrill::sim::simulate(&parse_str(text).unwrap(), &RunOptions::default());
    let (query, llm) = (&s.steps[0], &s.steps[1]);
    assert_eq!((query.name.as_str(), llm.name.as_str()), ("query", "llm"));
    // ~180k exponential draws: the mean's standard error is 0.24%.
    assert!(
        (query.time_mean_seconds - 0.05).abs() < 0.0006,
        "query mean {}",
        query.time_mean_seconds
    );
    assert_eq!((query.errors, query.skipped), (0, 0));
    // Queries still running at the end acquired a connection but have not finished.
    let running = s.pools["db"].acquired - query.calls;
    assert!(running <= s.requests.in_flight_at_end, "{running}");
    assert!((llm.time_mean_seconds - 0.01).abs() < 1e-12, "{llm:?}");
    // Every failure is the model call's, and every answer passed through it.
    assert_eq!(llm.errors, s.requests.failed);
    assert_eq!(llm.calls, s.requests.completed + s.requests.failed);
    let share = llm.errors as f64 / llm.calls as f64;
    assert!((share - 0.1).abs() < 0.004, "error share {share}");
    // Nothing waits long enough to skip a step.
    assert_eq!(s.pools["db"].timed_out, 0);
}

#[test]
fn a_step_whose_connection_wait_times_out_is_skipped_and_counted() {
    // Twice the load the pool can carry: many waits time out and the step is skipped.
    let text = r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "20m", seed: 5,
  traffic: Traffic(arrivals: Poisson, start_rps: 200.0),
  pools: [Pool(name: "db", size: 10, acquire_timeout: "200ms")],
  service: Service(name: "s", steps: [
    Step(name: "query", pool: "db", time: Constant("100ms"),
         on_timeout: Degrade(wrong_answer_rate: 0.0)),
  ]))"#;
    let s = firedrill::sim::simulate(&parse_str(text).unwrap(), &RunOptions::default());
    let query = &s.steps[0];
    let db = &s.pools["db"];
    assert!(query.skipped > 100_000, "{query:?}");
    assert_eq!(query.skipped, db.timed_out);
    assert_eq!(query.skipped, s.requests.degraded);
    // The pool serves at most 100 queries a second: ten connections, 100 ms each.
    assert!(query.calls <= 20 * 60 * 100, "{query:?}");
    assert!((query.time_mean_seconds - 0.1).abs() < 1e-12, "{query:?}");
}

#[test]
fn alerts_on_a_step_fire_when_that_step_slows_down_or_fails() {
    // tests/data/step-alerts.ron: a model call of exactly 100 ms slows fourfold at 10m and
    // fails three times in ten from 20m; the alerts watch that step alone.
    let text = include_str!("../data/step-alerts.ron");
    let drill = parse_str(text).unwrap();
    let mut sim = Sim::new(&drill, &RunOptions::default());
    sim.run_until(at(9));
    let window = &sim.telemetry().buckets().last().unwrap().window;
    assert!(
        (window.steps[1].time - 0.1).abs() < 1e-9,
        "{:?}",
        window.steps
    );
    assert!(
        (window.steps[0].time - 0.02).abs() < 1e-9,
        "{:?}",
        window.steps
    );
    assert_eq!(window.steps[1].error_ratio, 0.0);
    sim.run_to_end();
    let fired = |name: &str| {
        sim.alert_states()
            .iter()
            .find(|(rule, _)| rule.name == name)
            .map(|(_, state)| state.fired_at.clone())
            .unwrap()
    };
    // Slow calls finish from 10m00.4s; the 1-minute window's mean passes 0.3 s when most of
    // its calls are slow, and the alert holds for a minute more.
    let slow = fired("ModelSlow");
    assert_eq!(slow.len(), 1, "{slow:?}");
    let latest = SimTime::from_nanos(at(12).nanos() + 30_000_000_000);
    assert!(slow[0] > at(11) && slow[0] < latest, "{slow:?}");
    let errors = fired("ModelErrors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0] > at(20) && errors[0] < at(22), "{errors:?}");
    assert!(fired("QuerySlow").is_empty());
    let window = &sim.telemetry().buckets().last().unwrap().window;
    assert!(
        (window.steps[1].time - 0.4).abs() < 1e-9,
        "{:?}",
        window.steps
    );
    assert!(
        (window.steps[1].error_ratio - 0.3).abs() < 0.05,
        "{:?}",
        window.steps
    );
}
