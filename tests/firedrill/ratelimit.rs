//! A dependency's rate limit and per-step retries against what theory says they must do:
//! with a limit of L calls/s, a base of B > L calls/s and retries of every 429 without
//! backoff (n attempts), every refused first call is refused again at the same instant, so
//! the vendor is offered L + (B − L) × n calls/s (B × n once it refuses nearly all), of
//! which it admits L; a `SetRetries` adding backoff and a budget brings the offered load
//! back near B. Also: refused calls hold no connection, `Hold` keeps connections through a
//! backoff and `Release` does not, `EndAction` restores the retries, and bad values are
//! reported where they are.

use firedrill::drill::{load_str, parse_str};
use firedrill::sim::{RunOptions, Sim, SimTime};

const BASE: f64 = 80.0;
const LIMIT: f64 = 50.0;

/// The vendor drill: one search step at 80 calls/s against a limit of 50 calls/s, retried
/// three times on 429s without backoff; `faults` and `actions` spliced in.
fn vendor(faults: &str, actions: &str) -> firedrill::drill::Drill {
    let text = format!(
        r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "2h", seed: 5,
  traffic: Traffic(arrivals: Poisson, start_rps: {BASE}),
  service: Service(name: "s", steps: [
    Step(name: "search", time: Constant("100ms"),
         rate_limit: RateLimit(rps: {LIMIT}),
         retries: Retries(max_attempts: 3, on: [RateLimited])),
  ]),
  faults: [{faults}],
  actions: [{actions}],
)"#
    );
    parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn at(minutes: u64) -> SimTime {
    SimTime::from_nanos(minutes * 60_000_000_000)
}

/// The vendor's load between two moments of a run: calls offered (admitted and refused),
/// admitted and refused per second, and retries per second.
#[derive(Debug, Clone, Copy)]
struct Load {
    offered: f64,
    admitted: f64,
    refused: f64,
    retried: f64,
}

/// Runs `sim` from its current time to `to` minutes and measures the search step's load.
fn load_until(sim: &mut Sim, to: u64) -> Load {
    let from = sim.now().as_secs_f64();
    let before = sim.core().steps[0].totals;
    sim.run_until(at(to));
    let after = sim.core().steps[0].totals;
    let seconds = sim.now().as_secs_f64() - from;
    let admitted = (after.calls - before.calls) as f64 / seconds;
    let refused = (after.rate_limited - before.rate_limited) as f64 / seconds;
    Load {
        offered: admitted + refused,
        admitted,
        refused,
        retried: (after.retries - before.retries) as f64 / seconds,
    }
}

fn near(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance * want,
        "{what}: {got:.2}/s, expected {want:.2}/s within {:.0} %",
        tolerance * 100.0
    );
}

#[test]
fn retries_without_backoff_multiply_the_refused_load_and_set_retries_ends_it() {
    let d = vendor(
        "",
        r#"Action(name: "cap-retries", delay: "0s",
                  effect: SetRetries(step: "search", backoff: "1s", jitter: 1.0, budget: 0.1)),
           Action(name: "uncap", delay: "0s", effect: EndAction("cap-retries"))"#,
    );
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_until(at(5));
    // 30 minutes: about 144 000 first calls, so Poisson noise is about 0.3 %.
    let storm = load_until(&mut sim, 35);
    near("admitted", storm.admitted, LIMIT, 0.02);
    let attempts = 3.0;
    near(
        "offered",
        storm.offered,
        LIMIT + (BASE - LIMIT) * attempts,
        0.03,
    );
    near(
        "retried",
        storm.retried,
        (BASE - LIMIT) * (attempts - 1.0),
        0.03,
    );

    sim.order_action("cap-retries", &[]).unwrap();
    sim.run_until(at(40));
    let capped = load_until(&mut sim, 70);
    assert!(
        capped.offered >= BASE * 0.97 && capped.offered <= BASE * 1.13,
        "with backoff and a budget of 0.1 the offered load is back near the base: {capped:?}"
    );
    near("admitted with backoff", capped.admitted, LIMIT, 0.02);
    assert!(
        capped.refused < storm.refused / 2.0,
        "429s fall: {:.1}/s before, {:.1}/s after",
        storm.refused,
        capped.refused
    );
    assert!(
        capped.retried <= 0.1 * BASE * 1.03,
        "the budget caps retries at a tenth of first calls: {capped:?}"
    );

    // Ending the action restores the step's own retries, and with them the amplification.
    sim.order_action("uncap", &[]).unwrap();
    sim.run_until(at(75));
    let restored = load_until(&mut sim, 105);
    near(
        "offered after EndAction",
        restored.offered,
        LIMIT + (BASE - LIMIT) * attempts,
        0.03,
    );
}

#[test]
fn a_vendor_that_refuses_nearly_everything_sees_base_times_attempts() {
    // The vendor lowers its limit to 4 calls/s at 10m: nearly every call is refused, so it
    // is offered 4 + 76 × 3 = 232 calls/s, within 4 % of base × attempts = 240.
    let d = vendor(
        r#"Fault(name: "vendor-squeeze", at: "10m", effect: StepRateLimit(step: "search", rps: 4.0))"#,
        "",
    );
    let mut sim = Sim::new(&d, &RunOptions::default());
    sim.run_until(at(12));
    let squeezed = load_until(&mut sim, 42);
    near("admitted", squeezed.admitted, 4.0, 0.05);
    near("offered", squeezed.offered, 4.0 + (BASE - 4.0) * 3.0, 0.03);
    near(
        "offered against base × attempts",
        squeezed.offered,
        BASE * 3.0,
        0.05,
    );
}

/// A step on a pool of 20 whose calls take 100 ms, failing half the time, retried with a
/// 400 ms backoff that holds or releases the connection.
fn pool_drill(retries: &str, limit: &str) -> firedrill::drill::Drill {
    let text = format!(
        r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "30m", seed: 9,
  traffic: Traffic(arrivals: Poisson, start_rps: 40.0),
  pools: [Pool(name: "db", size: 200, acquire_timeout: "2s")],
  service: Service(name: "s", steps: [
    Step(name: "search", pool: "db", time: Constant("100ms"), {limit} {retries}),
  ]),
)"#
    );
    parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn refused_calls_hold_no_connection_and_hold_keeps_connections_through_the_backoff() {
    let busy = |d: &firedrill::drill::Drill| {
        let s = firedrill::sim::simulate(d, &RunOptions::default());
        s.pools.values().next().expect("one pool").in_use_mean
    };
    // 40 calls/s against a limit of 10 retried twice at once: 10 admitted calls/s of 100 ms
    // keep one connection busy; the 90 refused calls/s keep none (Little's law).
    let refused = busy(&pool_drill(
        "retries: Retries(max_attempts: 3, on: [RateLimited])",
        "rate_limit: RateLimit(rps: 10),",
    ));
    near("connections busy with 429s", refused, 1.0, 0.05);

    // Half the calls fail; with 3 attempts a request makes 1 + 1/2 + 1/4 calls (70/s, 7
    // connections busy running them) and backs off 1/2 + 1/4 times (30/s for 0.4 s: 12 more
    // connections held while holding, none while releasing).
    let retries = |hold: &str| {
        format!(
            r#"error_rate: 0.5, retries: Retries(max_attempts: 3, backoff: "400ms", multiplier: 1.0, hold: {hold})"#
        )
    };
    let held = busy(&pool_drill(&retries("Hold"), ""));
    let released = busy(&pool_drill(&retries("Release"), ""));
    near("busy while holding", held, 7.0 + 12.0, 0.05);
    near("busy while releasing", released, 7.0, 0.05);
}

/// Loads `text` and expects exactly these problems, in order, as `line:col` and a fragment.
fn expect_problems(text: &str, expected: &[(&str, &str)]) {
    let error = load_str("t.ron", text).expect_err("the drill must be refused");
    let found: Vec<(String, String)> = error
        .problems()
        .iter()
        .map(|p| {
            (
                format!("{}:{}", p.line(), p.column()),
                format!("{} {}", p.message(), p.hint().unwrap_or("")),
            )
        })
        .collect();
    assert_eq!(found.len(), expected.len(), "{}", error.plain());
    for ((at, text), (want_at, fragment)) in found.iter().zip(expected) {
        assert!(
            at == want_at && text.contains(fragment),
            "expected {want_at} `{fragment}`, found {at} `{text}`"
        );
    }
}

#[test]
fn bad_rate_limits_and_retries_are_reported_where_they_are() {
    let text = r#"Drill(name: "t", title: "t", duration: "1h",
  traffic: Traffic(start_rps: 10.0),
  service: Service(name: "s", steps: [
    Step(name: "search", time: Constant("50ms"),
         rate_limit: RateLimit(rps: 0, burst: 0.5),
         retries: Retries(max_attempts: 11, multiplier: 0.5, jitter: 1.5, budget: -1, on: [])),
  ]),
  actions: [
    Action(name: "cap", effect: SetRetries(step: "serch", max_attempts: 0, multiplier: 0)),
    Action(name: "nothing", effect: SetRetries()),
    Action(name: "squeeze", effect: StepRateLimit(step: "search", rps: -5)),
  ],
)"#;
    expect_problems(
        text,
        &[
            ("5:37", "a rate limit admits more than 0 calls/s"),
            ("5:47", "a bucket must hold at least one call"),
            ("6:41", "must be from 1 to 10"),
            ("6:57", "waits would shrink"),
            ("6:70", "`jitter` is 1.5"),
            ("6:83", "the retry `budget` is -1"),
            ("6:91", "retries no kind of failed call"),
            ("9:50", "unknown step `serch`"),
            ("9:73", "must be from 1 to 10"),
            ("9:88", "waits would shrink"),
            ("10:37", "changes nothing"),
            ("11:72", "the dependency's rate limit"),
        ],
    );
}

#[test]
fn a_well_formed_rate_limit_and_retries_load() {
    let text = r#"Drill(name: "t", title: "t", duration: "1h",
  traffic: Traffic(start_rps: 10.0),
  service: Service(name: "s", steps: [
    Step(name: "search", time: Constant("50ms"),
         rate_limit: RateLimit(rps: 50, burst: 10),
         retries: Retries(max_attempts: 3, backoff: "100ms", jitter: 0.5, budget: 0.1,
                          on: [RateLimited, Timeouts], hold: Release)),
  ]),
  actions: [
    Action(name: "cap", effect: SetRetries(step: "search", max_attempts: 2, backoff: "1s")),
    Action(name: "client", effect: SetRetries(max_attempts: 2)),
    Action(name: "buy", params: [Param(name: "rps", max: 1000)],
           effect: StepRateLimit(step: "search", rps: Param("rps"), burst: 100)),
  ],
)"#;
    load_str("t.ron", text).unwrap_or_else(|e| panic!("{}", e.plain()));
}
