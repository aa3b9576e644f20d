//! The prevention lab against theory and by hand: `capacity` on an M/M/c drill finds the
//! arrival rate at which Erlang C says the SLO is just met, and a change raises it as theory
//! says; what-if results do not depend on how runs are spread over threads or shards.

use firedrill::drill::change::Change;
use firedrill::drill::{Drill, parse_str};
use firedrill::whatif::capacity::{self, Slo};

use crate::theory::Mmc;

/// An M/M/c drill: `c` connections, exponential holds of `mean_hold` seconds, Poisson arrivals
/// at `rps`; a long telemetry window, so a window's mean queue is close to its expectation.
fn mmc_drill(c: u32, rps: f64, mean_hold_ms: u32) -> Drill {
    let text = format!(
        r#"Drill(
    name: "mmc-capacity",
    title: "M/M/{c} for capacity",
    duration: "2h",
    seed: 1,
    telemetry: Telemetry(bucket: "1m", window: "30m"),
    traffic: Traffic(arrivals: Poisson, start_rps: {rps:.1}, stages: []),
    pools: [Pool(name: "db", size: {c}, acquire_timeout: "1h")],
    service: Service(name: "svc", steps: [
        Step(name: "query", pool: "db", time: Exponential(mean: "{mean_hold_ms}ms")),
    ]),
)"#
    );
    parse_str(&text).unwrap_or_else(|e| panic!("the test drill parses: {e}\n{text}"))
}

/// The arrival rate at which an M/M/c queue's mean queue length is `target` (bisection on
/// Erlang C's `Lq = C·ρ/(1−ρ)`, increasing in λ).
fn lambda_for_queue(c: u32, mean_hold: f64, target: f64) -> f64 {
    let (mut lo, mut hi) = (1e-6, f64::from(c) / mean_hold * (1.0 - 1e-9));
    for _ in 0..200 {
        let mid = f64::midpoint(lo, hi);
        if Mmc::new(c, mid, mean_hold).mean_queue() < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn capacity_agrees_with_erlang_c_and_a_bigger_pool_raises_it_as_theory_says() {
    let (c, hold) = (20, 0.2);
    let target = 5.0; // requests waiting for a connection, on average over the window
    let base = mmc_drill(c, 50.0, 200);
    let slo = Slo::parse(&format!("pool_waiting:db < {target}"), &base).expect("an SLO");
    let change: Change = firedrill::drill::ron_options()
        .from_str(r#"Change(title: "30 connections", pools: [Pool(name: "db", size: 30, acquire_timeout: "1h")])"#)
        .expect("a change");
    let changed = firedrill::drill::change::apply(&base, &[&change]).expect("applies");
    let seeds: Vec<u64> = (1..=20).collect();
    let found = capacity::run(
        &[("base".into(), &base), ("30 connections".into(), &changed)],
        &[slo],
        &seeds,
        false,
        0,
        &|| {},
    )
    .expect("runs");
    for (result, c) in found.iter().zip([20, 30]) {
        let exact = lambda_for_queue(c, hold, target);
        let error = (result.max_peak_rps - exact) / exact;
        eprintln!(
            "capacity M/M/{c}: found {:.2} req/s ({}x of 50), Erlang C {exact:.2} req/s, error {:+.2} %, limited by {}",
            result.max_peak_rps,
            result.max_multiplier,
            error * 100.0,
            result.limited_by
        );
        assert!(
            error.abs() <= 0.05,
            "M/M/{c}: capacity {:.2} req/s is not within 5 % of Erlang C's {exact:.2} req/s (probes {:?})",
            result.max_peak_rps,
            result.probes
        );
        assert!(
            result.limited_by.starts_with("pool db ("),
            "{}",
            result.limited_by
        );
    }
    assert!(found[1].max_peak_rps > found[0].max_peak_rps * 1.4);
}

#[test]
fn an_slo_is_read_with_units_and_refused_with_a_reason() {
    let drill = mmc_drill(20, 50.0, 200);
    let slo = Slo::parse("latency_p99 < 250ms", &drill).expect("parses");
    assert!((slo.threshold - 0.25).abs() < 1e-12);
    let err = Slo::parse("latency_p99 fast", &drill).unwrap_err();
    assert!(err.contains("no comparison"), "{err}");
    let err = Slo::parse("pool_waiting:nope < 3", &drill).unwrap_err();
    assert!(err.contains("nope"), "{err}");
    let err = Slo::parse("wrong_answer_ratio < 0.01", &drill).unwrap_err();
    assert!(err.contains("ground truth"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// `firedrill whatif` end to end.
// ---------------------------------------------------------------------------------------------

/// Runs the binary; returns (exit code, stdout, stderr).
fn firedrill(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("firedrill runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

const POOL_40: &str = "drills/changes/monday-pool-40.ron";
const PAGE_EARLIER: &str = "drills/changes/monday-page-on-saturation.ron";

#[test]
fn whatif_a_bigger_pool_prevents_the_monday_page_that_the_base_fires() {
    let (code, out, err) = firedrill(&["whatif", "drills/monday-rush.ron", POOL_40, "--json"]);
    assert_eq!(code, 0, "{err}");
    let w = json(&out);
    let base = &w["base"]["no_team"];
    assert_eq!(base["runs"], 1);
    assert_eq!(base["pages"]["fired_share"], 1.0, "the base pages");
    assert!(base["harm"]["total"].as_f64().unwrap() > 100_000.0);
    let change = &w["changes"][0];
    assert_eq!(change["title"], "Grow the db pool to 40");
    assert_eq!(change["owner"], "ops");
    assert_eq!(change["kind"], "Prevent");
    assert_eq!(change["no_team"]["pages"]["fired_share"], 0.0);
    assert_eq!(
        change["no_team"]["pages"]["first_page_seconds_p50"],
        serde_json::Value::Null
    );
    assert_eq!(change["no_team"]["harm"]["total"], 0.0);
    // A bigger pool costs connections: twice the connection-hours.
    let hours = |v: &serde_json::Value| v["cost"]["connection_hours"].as_f64().unwrap();
    assert!((hours(&change["no_team"]) - 2.0 * hours(base)).abs() < 1e-6);
    // With one change, all changes together is that change.
    assert_eq!(w["all"]["no_team"], change["no_team"]);
    // The seed is the drill's own, exactly.
    assert_eq!(w["plan"]["seed_start"], 7);
}

#[test]
fn whatif_is_the_same_whatever_the_threads_and_shards_merge_exactly() {
    let dir = crate::scratch_dir("prevention", "shards");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "whatif",
            "drills/monday-rush.ron",
            POOL_40,
            PAGE_EARLIER,
            "--runs",
            "6",
            "--json",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = firedrill(&args);
        assert_eq!(code, 0, "{err}");
        out
    };
    let one = run(&["--jobs", "1"]);
    let two = run(&["--jobs", "2"]);
    assert_eq!(one, two, "the result does not depend on --jobs");
    let mut parts = Vec::new();
    for k in 1..=3 {
        let path = dir.join(format!("shard-{k}.json"));
        std::fs::write(&path, run(&["--shard", &format!("{k}/3")])).unwrap();
        parts.push(path.to_string_lossy().into_owned());
    }
    let mut args = vec!["whatif", "--json", "--merge"];
    args.extend(parts.iter().map(String::as_str));
    let (code, merged, err) = firedrill(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        merged, one,
        "three shards merge into the unsharded result, byte for byte"
    );
    let w = json(&one);
    assert_eq!(w["base"]["records"].as_array().unwrap().len(), 6);
    assert_eq!(w["changes"].as_array().unwrap().len(), 2);
    // A shard missing is refused with its number.
    let (code, _, err) = firedrill(&["whatif", "--json", "--merge", &parts[0], &parts[1]]);
    assert_eq!(code, 2);
    assert!(err.contains("shard 3/3 is missing"), "{err}");
}

#[test]
fn whatif_replays_the_teams_inputs_on_the_changed_system_and_lists_what_it_refuses() {
    let dir = crate::scratch_dir("prevention", "team");
    let transcript = dir.join("monday.jsonl");
    // The reference, but the pool is resized to 60.
    let responses = dir.join("team.ron");
    std::fs::write(
        &responses,
        r#"[
        Say(at: After(FirstPage, "1m"), role: "ops", input: "ack"),
        Say(at: After(FirstPage, "2m"), role: "ic", input: "declare sev2"),
        Say(at: After(FirstPage, "7m"), role: "ops", input: "diagnose db-pool-exhaustion"),
        Say(at: After(FirstPage, "8m"), role: "ops", input: "throttle rps=150"),
        Say(at: After(FirstPage, "9m"), role: "ops", input: "scale-pool size=60"),
        Say(at: After(FirstPage, "15m"), role: "ops", input: "throttle rps=400"),
        Say(at: After(Recovered, "5m"), role: "ic", input: "resolve"),
    ]"#,
    )
    .unwrap();
    let (code, _, err) = firedrill(&[
        "play",
        "drills/monday-rush.ron",
        "--responses",
        responses.to_str().unwrap(),
        "--quiet",
        "--no-record",
        "--transcript",
        transcript.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // A change that caps the runbook's pool action at 50: the team's `scale-pool size=60` is
    // refused on the changed system (the drill's own reference, at 40, still passes).
    let change = dir.join("capped.ron");
    std::fs::write(
        &change,
        r#"Change(title: "Pool of 40, resizes capped at 50", kind: Prevent,
                 pools: [Pool(name: "db", size: 40, acquire_timeout: "2s")],
                 actions: [Action(name: "scale-pool", help: "resize the pool (at most 50)",
                                  params: [Param(name: "size", min: 1, max: 50, integer: true)],
                                  delay: "4m", effect: PoolSize(pool: "db", size: Param("size")))])"#,
    )
    .unwrap();
    let (code, out, err) = firedrill(&[
        "whatif",
        transcript.to_str().unwrap(),
        change.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let w = json(&out);
    assert_eq!(w["subject"]["source"], "transcript");
    let base_team = &w["base"]["team"];
    assert!(base_team.is_object(), "a transcript gives team runs");
    // The base with the team's inputs is the team's own run: it pages, and the team limits harm.
    assert_eq!(base_team["pages"]["fired_share"], 1.0);
    assert!(
        base_team["harm"]["total"].as_f64().unwrap()
            < w["base"]["no_team"]["harm"]["total"].as_f64().unwrap(),
        "the reference response harms fewer users than no response"
    );
    let skipped = w["changes"][0]["skipped_inputs"]
        .as_array()
        .expect("refused inputs are listed");
    assert!(
        skipped
            .iter()
            .any(|s| s["input"].as_str().unwrap().starts_with("scale-pool")),
        "{skipped:?}"
    );
    assert_eq!(w["changes"][0]["team"]["pages"]["fired_share"], 0.0);
    // The text names the refused input.
    let (_, text, _) = firedrill(&[
        "whatif",
        transcript.to_str().unwrap(),
        change.to_str().unwrap(),
    ]);
    assert!(text.contains("With the team's inputs"), "{text}");
    assert!(text.contains("scale-pool"), "{text}");
}

#[test]
fn whatif_refuses_a_change_of_the_incident_or_of_an_unknown_step_with_the_file_named() {
    let dir = crate::scratch_dir("prevention", "refused");
    let bad = dir.join("faults.ron");
    std::fs::write(&bad, r#"Change(title: "No surge", faults: [])"#).unwrap();
    let (code, _, err) = firedrill(&["whatif", "drills/monday-rush.ron", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("faults.ron:1:"), "{err}");
    assert!(err.contains("faults"), "{err}");
    let step = dir.join("step.ron");
    std::fs::write(
        &step,
        r#"Change(title: "Faster", steps: [Step(name: "nope", time: Constant("1ms"))])"#,
    )
    .unwrap();
    let (code, _, err) = firedrill(&["whatif", "drills/monday-rush.ron", step.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("step.ron") && err.contains("no step `nope`"),
        "{err}"
    );
    let small = dir.join("small.ron");
    std::fs::write(
        &small,
        r#"Change(title: "Tiny", pools: [Pool(name: "db", size: -3, acquire_timeout: "2s")])"#,
    )
    .unwrap();
    let (code, _, err) = firedrill(&["whatif", "drills/monday-rush.ron", small.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("small.ron"), "{err}");
}

#[test]
fn capacity_on_the_command_line_names_its_limit_and_a_change_raises_it() {
    let (code, out, err) = firedrill(&[
        "capacity",
        "drills/reference/mmc.ron",
        "--slo",
        "pool_utilization:db < 0.9",
        "--runs",
        "4",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let c = json(&out);
    let peak = c["max_peak_rps"].as_f64().unwrap();
    // Utilization is λ/(cμ): at most 0.9 in every window means λ a little under 90 req/s.
    assert!(peak > 80.0 && peak < 90.5, "{out}");
    assert!(
        c["limited_by"].as_str().unwrap().starts_with("pool db"),
        "{out}"
    );
    assert_eq!(c["runs"], 4);
    let (code, _, err) = firedrill(&[
        "capacity",
        "drills/reference/mmc.ron",
        "--slo",
        "latency_p99 5s",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no comparison"), "{err}");
}
