//! Pool autoscalers (HPA semantics) on deterministic drills: evenly spaced arrivals and
//! constant step times, so that each decision can be computed by hand.

use firedrill::drill::{load_str, parse_str};
use firedrill::sim::{RunOptions, Sim, SimTime};

fn drill(pool: &str, stages: &str, rest: &str) -> firedrill::drill::Drill {
    let text = format!(
        r#"#![enable(implicit_some)]
Drill(name: "t", title: "t", duration: "40m", seed: 3,
  traffic: Traffic(arrivals: Even, start_rps: 6.0, stages: [{stages}]),
  pools: [{pool}],
  service: Service(name: "s", steps: [Step(name: "q", pool: "db", time: Constant("1s"))]),
  {rest})"#
    );
    parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn ms(ms: u64) -> SimTime {
    SimTime::from_nanos(ms * 1_000_000)
}

fn size(sim: &Sim) -> u32 {
    sim.core().pools[0].size
}

fn ordered(sim: &Sim) -> Option<u32> {
    sim.core().autoscalers[0].as_ref().map(|a| a.ordered)
}

#[test]
fn decisions_match_the_hand_computation() {
    // Busy connections = rate × 1 s. Target 0.4, so a decision wants ceil(busy ÷ 0.4).
    let pool = r#"Pool(name: "db", size: 20, acquire_timeout: "1s",
        autoscale: Autoscale(target: 0.4, min: 12, max: 48, every: "15s", ready_after: "30s",
                             tolerance: 0.1, down_window: "15s"))"#;
    let stages = r#"Stage(to_rps: 6.0, over: "60s"), Stage(to_rps: 30.0, over: "1ms"),
        Stage(to_rps: 30.0, over: "2m"), Stage(to_rps: 10.0, over: "1ms"),
        Stage(to_rps: 10.0, over: "1m"), Stage(to_rps: 4.0, over: "1ms")"#;
    let mut sim = Sim::new(&drill(pool, stages, ""), &RunOptions::default());
    // (time in seconds + 1 ms, serving size, ordered size), with why:
    let expected = [
        // busy ≈ 5.8 over the first period: ceil(14.5) = 15, a shrink at once.
        (16, 15, 15),
        // 6 ÷ 15 = 0.4: on target.
        (31, 15, 15),
        (61, 15, 15),
        // 30 rps saturates 15: ceil(≈14.9 ÷ 0.4) = 38, but one period adds at most 15.
        (76, 15, 30),
        // Still saturated: ceil(15 ÷ 0.4) = 38 over the ordered 30 (pending not doubled).
        (91, 15, 38),
        // The 30 ordered at 75 s are ready 30 s later; the 38 at 120 s.
        (106, 30, 38),
        // busy 30 over 30 ready: ceil(75) → at most 38 + 38, bounded by max 48.
        (121, 38, 48),
        (136, 38, 48),
        (151, 48, 48),
        (166, 48, 48),
        // 10 rps: busy ≈ 10.7 over the period, ceil(26.7) = 27, shrunk at once.
        (196, 27, 27),
        // 10 ÷ 27 = 0.37: within 10 % of the target, no change.
        (211, 27, 27),
        (226, 27, 27),
        // 4 rps: ceil(4.2 ÷ 0.4) = 11, bounded by min 12.
        (256, 12, 12),
        (271, 12, 12),
        (301, 12, 12),
    ];
    let mut found = Vec::new();
    for &(t, _, _) in &expected {
        sim.run_until(ms(t * 1000 + 1));
        found.push((t, size(&sim), ordered(&sim).unwrap()));
    }
    assert_eq!(found, expected);
    // The telemetry buckets carry the serving size (what `firedrill_pool_connections_max`
    // exports and `pool_size:db` shows).
    sim.run_to_end();
    let sizes: Vec<u64> = sim
        .telemetry()
        .buckets()
        .iter()
        .map(|b| b.pools[0].size)
        .collect();
    assert!(sizes.contains(&48) && sizes.contains(&27), "{sizes:?}");
    let lines: Vec<String> = sim
        .telemetry()
        .log()
        .iter()
        .filter(|l| l.kind == firedrill::telemetry::log::LogKind::Scaled)
        .map(firedrill::telemetry::log::LogLine::message)
        .collect();
    assert_eq!(lines.len(), 6, "{lines:#?}");
    assert!(
        lines[0].starts_with("scaled db 20 → 15 (utilization 0.29 over 15s, target 0.4)"),
        "{lines:#?}"
    );
}

/// How often the pool's size turns from growing to shrinking or back, sampled every 15 s.
fn direction_changes(down_window: &str) -> usize {
    let pool = format!(
        r#"Pool(name: "db", size: 20, acquire_timeout: "1s",
        autoscale: Autoscale(target: 0.5, min: 10, max: 80, down_window: "{down_window}"))"#
    );
    let mut stages = String::new();
    for _ in 0..8 {
        stages.push_str(
            r#"Stage(to_rps: 30.0, over: "1s"), Stage(to_rps: 30.0, over: "2m"),
               Stage(to_rps: 8.0, over: "1s"), Stage(to_rps: 8.0, over: "2m"),"#,
        );
    }
    let mut sim = Sim::new(&drill(&pool, &stages, ""), &RunOptions::default());
    let mut sizes = Vec::new();
    for i in 1..=120 {
        sim.run_until(ms(i * 15_000 + 1));
        sizes.push(size(&sim));
    }
    let steps: Vec<i64> = sizes
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .filter(|d| *d != 0)
        .map(i64::signum)
        .collect();
    steps.windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn a_short_stabilization_window_flaps_and_the_default_does_not() {
    let short = direction_changes("15s");
    let default = direction_changes("5m");
    assert!(short >= 8, "a 15s window changed direction {short} times");
    assert!(
        default <= 1,
        "the 5m window changed direction {default} times"
    );
}

#[test]
fn a_pool_size_action_sets_the_size_and_the_autoscaler_goes_on_from_there() {
    // 10 rps × 1 s = 10 busy; target 0.5 keeps 20.
    let pool = r#"Pool(name: "db", size: 20, acquire_timeout: "1s",
        autoscale: Autoscale(target: 0.5, min: 10, max: 60))"#;
    let rest = r#"actions: [Action(name: "resize", params: ["size"],
        effect: PoolSize(pool: "db", size: Param("size")))]"#;
    let mut sim = Sim::new(
        &drill(pool, r#"Stage(to_rps: 10.0, over: "1ms")"#, rest),
        &RunOptions::default(),
    );
    sim.run_until(ms(61_000));
    assert_eq!(size(&sim), 20);
    sim.order_action("resize", &[("size".into(), 40.0)])
        .unwrap();
    sim.run_until(ms(62_000));
    assert_eq!((size(&sim), ordered(&sim)), (40, Some(40)));
    assert!(
        sim.core().effects.is_empty(),
        "the size is not held by an effect"
    );
    // 10 ÷ 40 = 0.25: the stabilization window remembers only 20s, so it shrinks back.
    sim.run_until(ms(75_001));
    assert_eq!((size(&sim), ordered(&sim)), (20, Some(20)));
}

#[test]
fn ending_an_autoscale_action_keeps_the_size_it_reached() {
    let pool = r#"Pool(name: "db", size: 20, acquire_timeout: "1s")"#;
    let rest = r#"actions: [
        Action(name: "autoscale", effect: Autoscale(pool: "db", target: 0.5, min: 10, max: 60,
            down_window: "15s")),
        Action(name: "stop", effect: EndAction("autoscale"))]"#;
    // 20 rps saturates 20 connections; at 90 s traffic drops to 5 rps.
    let stages = r#"Stage(to_rps: 20.0, over: "1ms"), Stage(to_rps: 20.0, over: "90s"),
        Stage(to_rps: 5.0, over: "1ms")"#;
    let mut sim = Sim::new(&drill(pool, stages, rest), &RunOptions::default());
    assert_eq!(ordered(&sim), None);
    sim.run_until(ms(30_000));
    sim.order_action("autoscale", &[]).unwrap();
    // First decision at 45 s over [30 s, 45 s]: utilization 1, ceil(20 ÷ 0.5) = 40.
    sim.run_until(ms(45_001));
    assert_eq!((size(&sim), ordered(&sim)), (40, Some(40)));
    sim.run_until(ms(70_000));
    sim.order_action("stop", &[]).unwrap();
    sim.run_until(ms(71_000));
    assert_eq!((size(&sim), ordered(&sim)), (40, None));
    // Traffic drops, and nothing shrinks the pool any more.
    sim.run_until(ms(300_000));
    assert_eq!(size(&sim), 40);
}

#[test]
fn check_places_every_bad_autoscale_field() {
    let text = r#"Drill(name: "t", title: "t", duration: "10m", seed: 1,
  traffic: Traffic(start_rps: 5.0),
  pools: [Pool(name: "db", size: 20,
    autoscale: Autoscale(target: 1.5, min: 0, max: 200000, tolerance: 1.0, every: "0s"))],
  service: Service(name: "s", steps: [Step(name: "q", pool: "db", time: Constant("10ms"))]),
  actions: [Action(name: "a", effect: Autoscale(pool: "dbx", target: 0.0, min: 30, max: 20))])
"#;
    let problems = load_str("bad.ron", text).unwrap_err();
    let found: Vec<String> = problems
        .problems()
        .iter()
        .map(|p| format!("{}:{} {}", p.line(), p.column(), p.message()))
        .collect();
    for want in [
        "4:34 autoscale target 1.5",
        "4:44 autoscale min 0",
        "4:52 ",
        "4:71 autoscale tolerance 1",
        "4:83 autoscale `every` is zero",
        "6:55 ",
        "6:70 autoscale target 0",
        "6:89 autoscale max 20 is below min 30",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(want)),
            "no problem at {want}: {found:#?}"
        );
    }
    // And through the binary: the place and the field.
    let dir = std::env::temp_dir().join(format!("firedrill-autoscale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.ron");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("4:34") && all.contains("target"),
        "check said:\n{all}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
