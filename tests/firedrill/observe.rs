//! What the team can observe: ground truth stays behind the boundary (the prompt, exports and
//! rules), the drill's own log messages land on the lines they concern, `check` explains the
//! mistakes an author can make with panels and log messages, and the end-of-drill summary
//! lists faults in time order.

use std::path::PathBuf;

use firedrill::drill::check::{ReportStyle, check};
use firedrill::drill::{Drill, load_str};
use firedrill::export::{openmetrics, rules, run_drill};
use firedrill::session::Session;
use firedrill::session::summary::SessionSummary;
use firedrill::sim::{RunOptions, Sim, SimTime};
use firedrill::telemetry::log::LogKind;

const MONDAY: &str = include_str!("../../drills/monday-rush.ron");

/// A billing agent whose vendor step holds a db connection: the vendor errors for five
/// minutes, then hangs. The step and the hang each say what the service logs.
const VENDOR: &str = r#"Drill(
    name: "vendor", title: "The vendor hangs", duration: "20m",
    telemetry: Telemetry(log_sample: 0.05, log_limit: 50),
    traffic: Traffic(start_rps: 20.0),
    pools: [Pool(name: "db", size: 4, acquire_timeout: "1s")],
    service: Service(name: "billing", steps: [
        Step(name: "billing-lookup", pool: "db", time: Constant("50ms"),
             log: "vendor lookup_invoice returned 502"),
        Step(name: "answer", time: Constant("100ms")),
    ]),
    faults: [
        Fault(name: "vendor-hangs", at: "12m", effect: StepTimeMultiplier(step: "billing-lookup", factor: 100.0),
              log: "vendor lookup_invoice slow"),
        Fault(name: "vendor-errors", at: "5m", lasts: "5m", effect: StepErrorRate(step: "billing-lookup", rate: 0.2)),
    ],
)"#;

fn load(text: &str) -> Drill {
    load_str("test", text).unwrap_or_else(|e| panic!("{}", e.plain()))
}

#[test]
fn metric_wrong_answer_ratio_is_refused_at_the_prompt() {
    let mut session = Session::new(load(MONDAY), None);
    session.execute("wait 60m").unwrap();
    let err = session.execute("metric wrong_answer_ratio").unwrap_err();
    assert!(
        err.message.contains("ground truth")
            && err
                .message
                .contains("a real team cannot see wrong answers as they happen")
            && err.message.contains("use `eval_wrong_answer_ratio`"),
        "{err}"
    );
    // Nothing was recorded: the team's log holds only accepted lines.
    assert!(
        !session
            .team()
            .log
            .iter()
            .any(|e| e.input.contains("wrong_answer_ratio"))
    );
    let eval = session.execute("metric eval_wrong_answer_ratio").unwrap();
    assert!(eval.unwrap().output.starts_with("eval_wrong_answer_ratio"));
}

#[test]
fn exports_hold_no_ground_truth() {
    let run = run_drill(load(MONDAY), None);
    let text = openmetrics::render(&run.snapshots, 0);
    assert!(
        text.contains("firedrill_answers_degraded_total"),
        "degraded answers are logged, so exported"
    );
    assert!(text.contains("firedrill_eval_answers_wrong_total"));
    assert!(
        !text.contains("firedrill_answers_wrong"),
        "wrong answers as they happen leaked"
    );
}

#[test]
fn an_alert_on_ground_truth_is_left_out_of_rules_and_check_warns() {
    let text = MONDAY.replacen(
        "alerts: [",
        "alerts: [\n        Alert(name: \"WrongAnswers\", when: Above(metric: WrongAnswerRatio, threshold: 0.05), for: \"1m\", severity: Ticket),",
        1,
    );
    let run = run_drill(load(&text), None);
    let rules = rules::render_rules(&run);
    assert!(
        rules.contains("# WrongAnswers is left out: it watches WrongAnswerRatio"),
        "{rules}"
    );
    assert!(!rules.contains("alert: \"WrongAnswers\""), "{rules}");
    assert!(rules.contains("alert: \"DbPoolSaturated\""), "{rules}");
    let test = rules::render_test(&run, &PathBuf::from("rules.yml"));
    assert!(!test.contains("\"WrongAnswers\""), "{test}");

    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("observe-truth-alert.ron");
    std::fs::write(&path, &text).unwrap();
    let mut out = Vec::new();
    let outcome = check(std::slice::from_ref(&path), ReportStyle::Plain, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        outcome.all_valid(),
        "a warning does not make the drill invalid: {out}"
    );
    assert!(
        out.contains("warning: ")
            && out.contains("alerts[0].when.metric: alert `WrongAnswers` watches `WrongAnswerRatio`, which no real system measures")
            && out.contains("help: watch `EvalWrongAnswerRatio`"),
        "{out}"
    );
    // The shipped drill has nothing to warn about.
    let mut out = Vec::new();
    check(
        &[PathBuf::from("drills/monday-rush.ron")],
        ReportStyle::Plain,
        &mut out,
    )
    .unwrap();
    assert!(!String::from_utf8(out).unwrap().contains("warning"));
}

#[test]
fn step_and_fault_log_messages_land_on_the_lines_they_concern() {
    let drill = load(VENDOR);
    let mut sim = Sim::new(&drill, &RunOptions::default());
    sim.run_to_end();
    let log = sim.telemetry().log();
    let hang = SimTime::from_secs_f64(12.0 * 60.0).nanos();

    let errors: Vec<_> = log
        .iter()
        .filter(|l| l.kind == LogKind::StepError)
        .collect();
    assert!(!errors.is_empty());
    for line in &errors {
        assert_eq!(line.step.as_deref(), Some("billing-lookup"));
        assert!(
            line.message()
                .starts_with("step billing-lookup failed: vendor lookup_invoice returned 502"),
            "{}",
            line.message()
        );
    }

    // The hang's message is on the lines of the calls that ran into it: every answer, and
    // the step's lines whose call ran; a wait for a connection that timed out never called
    // the vendor, so it does not say the vendor was slow.
    let mut noted = 0;
    for line in log {
        let concerned = line.kind == LogKind::Completed
            || (line.step.as_deref() == Some("billing-lookup")
                && line.kind != LogKind::AcquireTimeout);
        let slow = line.message().contains("vendor lookup_invoice slow");
        if line.at_nanos < hang || !concerned {
            assert!(!slow, "not a call the hang touched: {}", line.message());
        } else {
            assert!(slow, "during the hang: {}", line.message());
            noted += 1;
        }
    }
    assert!(noted > 0, "no line during the hang");
    // The step's connection waits that timed out are its error lines too, each with its
    // message.
    let waits: Vec<_> = log
        .iter()
        .filter(|l| l.kind == LogKind::AcquireTimeout)
        .collect();
    assert!(
        waits.iter().any(|l| l.at_nanos >= hang),
        "the hang should exhaust the pool"
    );
    let noted = waits
        .iter()
        .filter(|l| {
            l.notes.first().map(String::as_str) == Some("vendor lookup_invoice returned 502")
        })
        .count();
    assert_eq!(noted, waits.len(), "{waits:#?}");
    assert!(
        waits
            .iter()
            .all(|l| l.step.as_deref() == Some("billing-lookup"))
    );
}

/// A vendor step with a few errors of its own; the faults slow a fifth of its calls tenfold
/// and fail another fifth, each saying so in the log.
const PARTIAL: &str = r#"Drill(
    name: "partial", title: "Some vendor calls hang", duration: "20m",
    telemetry: Telemetry(log_sample: 1.0, log_limit: 100000),
    traffic: Traffic(start_rps: 20.0),
    pools: [Pool(name: "db", size: 40, acquire_timeout: "1s")],
    service: Service(name: "billing", steps: [
        Step(name: "lookup", pool: "db", time: Constant("50ms"), error_rate: 0.1,
             log: "vendor lookup failed"),
        Step(name: "answer", time: Constant("100ms")),
    ]),
    faults: [
        Fault(name: "slow", at: "5m", lasts: "10m",
              effect: StepTimeMultiplier(step: "lookup", factor: 10.0, share: 0.2),
              log: "vendor call slow"),
        Fault(name: "errors", at: "5m", lasts: "10m",
              effect: StepErrorRate(step: "lookup", rate: 1.0, share: 0.2),
              log: "vendor returned 503"),
    ],
)"#;

#[test]
fn a_fault_on_a_share_of_calls_writes_its_message_on_the_calls_it_hit_only() {
    let drill = load(PARTIAL);
    let mut sim = Sim::new(&drill, &RunOptions::default());
    sim.run_to_end();
    let log = sim.telemetry().log();
    let (start, end) = (5 * 60 * 1_000_000_000, 15 * 60 * 1_000_000_000);
    let during: Vec<_> = log
        .iter()
        .filter(|l| (start..end).contains(&l.at_nanos))
        .collect();
    let has =
        |l: &&&firedrill::telemetry::log::LogLine, note: &str| l.notes.iter().any(|n| n == note);
    // Errors come from the fault (a fifth of the calls) and from the step itself (a tenth of
    // the others): only the fault's carry its message, all carry the step's.
    let errors: Vec<_> = during
        .iter()
        .filter(|l| l.kind == LogKind::StepError)
        .collect();
    assert!(errors.iter().all(|l| has(l, "vendor lookup failed")));
    let by_fault = errors
        .iter()
        .filter(|l| has(l, "vendor returned 503"))
        .count() as f64;
    // A fifth of the calls are hit (all fail) and a tenth of the other four fifths fail:
    // hit errors are 0.2 / (0.2 + 0.08) of the errors.
    let share = by_fault / errors.len() as f64;
    assert!((share - 0.714).abs() < 0.03, "{share} of {}", errors.len());
    // The slow calls' message is on the answers that waited for one (0.5 s + 0.1 s), and
    // on no other; about a fifth of the answers.
    let completed: Vec<_> = during
        .iter()
        .filter(|l| l.kind == LogKind::Completed)
        .collect();
    assert!(completed.len() > 5_000, "{}", completed.len());
    let slow: Vec<_> = completed
        .iter()
        .filter(|l| has(l, "vendor call slow"))
        .collect();
    assert!(
        slow.iter().all(|l| l.latency_seconds > 0.59),
        "slow answers"
    );
    assert!(
        completed
            .iter()
            .filter(|l| !has(l, "vendor call slow"))
            .all(|l| l.latency_seconds < 0.2),
        "fast answers"
    );
    let share = slow.len() as f64 / completed.len() as f64;
    assert!((share - 0.2).abs() < 0.02, "{share}");
    assert!(completed.iter().all(|l| !has(l, "vendor returned 503")));
    // Outside the fault no line carries its messages.
    assert!(
        log.iter()
            .filter(|l| !(start..end).contains(&l.at_nanos))
            .all(|l| {
                !l.notes
                    .iter()
                    .any(|n| n == "vendor call slow" || n == "vendor returned 503")
            })
    );
}

#[test]
fn panels_and_log_messages_are_checked() {
    let with = |dashboard: &str, log: &str| {
        let text = VENDOR
            .replacen(
                "    faults: [",
                &format!("    dashboard: [{dashboard}],\n    faults: ["),
                1,
            )
            .replacen("log: \"vendor lookup_invoice slow\"", log, 1);
        match load_str("test", &text) {
            Ok(_) => String::new(),
            Err(e) => e.plain().to_string(),
        }
    };
    let ok = with(
        "Panel(title: \"Vendor calls\", metric: StepTime(\"billing-lookup\")), Panel(title: \"Pool\", metric: PoolUtilization(\"db\"), max: 1.0)",
        "log: \"vendor lookup_invoice slow\"",
    );
    assert_eq!(ok, "");
    let cases = [
        (
            "Panel(title: \"Vendor\", metric: StepTime(\"billing\"))",
            "unknown step `billing`",
        ),
        (
            "Panel(title: \"Pool\", metric: PoolWaiting(\"cache\"))",
            "unknown pool `cache`",
        ),
        (
            "Panel(title: \"Quality\", metric: WrongAnswerRatio)",
            "panel `Quality` shows `WrongAnswerRatio`, which is ground truth",
        ),
        (
            "Panel(title: \" \", metric: Throughput)",
            "a dashboard panel has an empty title",
        ),
        (
            "Panel(title: \"Rate\", metric: Throughput, max: 0.0)",
            "panel `Rate` has full scale 0",
        ),
        ("Panel(title: \"Rate\", metric: Thruput)", "Thruput"),
    ];
    for (panel, expected) in cases {
        let out = with(panel, "log: \"vendor lookup_invoice slow\"");
        assert!(out.contains(expected), "{panel}: {out}");
    }
    let out = with("", "log: \"\"");
    assert!(
        out.contains("fault `vendor-hangs` has an empty log message"),
        "{out}"
    );
    let text = VENDOR.replacen(
        "rate: 0.2)),",
        "rate: 0.2)),\n        Fault(name: \"surge\", at: \"1m\", effect: TrafficMultiplier(2.0), log: \"more users\"),",
        1,
    );
    let out = load_str("test", &text).unwrap_err().plain().to_string();
    assert!(
        out.contains("fault `surge` has a log message, but a fault that changes traffic"),
        "{out}"
    );
    let text = VENDOR.replacen(
        "log: \"vendor lookup_invoice returned 502\"",
        "log: \"  \"",
        1,
    );
    let out = load_str("test", &text).unwrap_err().plain().to_string();
    assert!(
        out.contains("step `billing-lookup` has an empty log message"),
        "{out}"
    );
}

#[test]
fn summary_lists_faults_by_start_time() {
    // In the file the hang (12m) comes before the errors (5m).
    let mut session = Session::new(load(VENDOR), None);
    session.advance_to(SimTime::from_secs_f64(20.0 * 60.0));
    let text = SessionSummary::of(&session).render_text(&session);
    let errors = text.find("fault vendor-errors").expect("errors listed");
    let hang = text.find("fault vendor-hangs").expect("hang listed");
    assert!(errors < hang, "{text}");
}

#[test]
fn exported_log_lines_carry_the_drills_messages() {
    let run = run_drill(load(VENDOR), None);
    let text = firedrill::export::logs::render(&run, 0);
    let noted: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"notes\":[\"vendor lookup_invoice slow\"]"))
        .collect();
    assert!(
        !noted.is_empty(),
        "no exported line carries the fault's message"
    );
    for line in noted {
        assert!(line.contains(": vendor lookup_invoice slow\""), "{line}");
    }
    // Lines without a message have no `notes` field at all.
    let monday = run_drill(load(MONDAY), None);
    assert!(!firedrill::export::logs::render(&monday, 0).contains("\"notes\""));
}

#[test]
fn a_pending_alert_on_ground_truth_does_not_tell_its_value() {
    let text = MONDAY.replacen(
        "alerts: [",
        "alerts: [\n        Alert(name: \"WrongAnswers\", when: Above(metric: WrongAnswerRatio, threshold: 0.05), for: \"1m\", severity: Ticket),",
        1,
    );
    let mut session = Session::new(load(&text), None);
    let notices = session.advance_to(SimTime::from_secs_f64(60.0 * 60.0));
    let lines: Vec<String> = notices.iter().map(|n| session.render_notice(n)).collect();
    let truth = lines
        .iter()
        .find(|l| l.contains("pending  WrongAnswers"))
        .expect("the alert goes pending");
    assert!(!truth.contains("value"), "{truth}");
    let pool = lines
        .iter()
        .find(|l| l.contains("pending  DbPoolSaturated"))
        .expect("the pool alert goes pending");
    assert!(pool.contains("(value "), "{pool}");
}
