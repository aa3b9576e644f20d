//! Causes and distractions (issue 10, items 1 and 7's recovery): attribution of pages to the
//! faults that caused them, timings and objectives measured from the cause, a `Recovered` that
//! neither waits for a distraction's page nor counts a throttle that never lifts, calibrate's
//! verdicts per fault, and `check`'s warnings about ambiguous or unattainable drills.
//!
//! The drill is `tests/data/red-herring.ron`: a slow model (a distraction that pages) at 3m,
//! then a surge that drains the pool (the cause) at 8m.

use firedrill::calibrate::{self, Plan, Shard, report::Check};
use firedrill::drill::spec::Say;
use firedrill::drill::{Drill, load_str};
use firedrill::score::debrief::debrief;
use firedrill::session::Session;
use firedrill::session::play::play;
use firedrill::sim::SimTime;

const HERRING: &str = include_str!("../data/red-herring.ron");
const MINI: &str = include_str!("../data/mini-rush.ron");

fn load(name: &str, text: &str) -> Drill {
    load_str(name, text).expect("the drill loads")
}

/// `drill` played by `script` (the drill's reference when `None`) on the drill's seed, to
/// its end.
fn played(drill: &Drill, script: Option<&[Say]>) -> Session {
    let mut session = Session::new(drill.clone(), None);
    let says = script.unwrap_or(&drill.reference).to_vec();
    let refused = play(&mut session, &says, &mut |_, _| {});
    assert!(refused.is_empty(), "lines never played: {refused:?}");
    session
}

fn alert_index(drill: &Drill, name: &str) -> usize {
    drill
        .alerts
        .iter()
        .position(|a| a.name == name)
        .expect("the alert")
}

fn minutes(m: f64) -> SimTime {
    SimTime::from_secs_f64(m * 60.0)
}

#[test]
fn each_page_is_attributed_to_the_fault_that_caused_it() {
    let drill = load("red-herring.ron", HERRING);
    let session = Session::new(drill.clone(), None);
    let a = session.attribution();
    let slow = alert_index(&drill, "ModelSlow");
    let timeouts = alert_index(&drill, "AcquireTimeouts");
    assert_eq!(a.alerts_of(0), &[slow], "{a:?}");
    assert!(a.alerts_of(1).contains(&timeouts), "{a:?}");
    assert!(!a.alerts_of(1).contains(&slow), "{a:?}");
    assert_eq!(a.cause_alerts, vec![timeouts], "{a:?}");
    assert!(!a.fallback);
    // The full run and one run per fault left out.
    assert_eq!(a.runs, 3);
}

#[test]
fn a_distraction_before_its_cause_does_not_start_the_clock() {
    let drill = load("red-herring.ron", HERRING);
    let session = played(&drill, None);
    let d = debrief(&session);
    let t = &d.timings;
    // The distraction paged first: FirstPage is its page, but the timings count from the cause.
    let truth = session.sim().truth();
    assert!(truth.first_page < truth.first_cause_page, "{truth:?}");
    assert_eq!(
        t.fault_start
            .as_ref()
            .map(firedrill::score::timings::Moment::time),
        Some(minutes(8.0))
    );
    assert_eq!(
        t.first_page
            .as_ref()
            .map(firedrill::score::timings::Moment::time),
        truth.first_cause_page
    );
    assert!(
        t.first_impact
            .as_ref()
            .is_some_and(|m| m.time() >= minutes(8.0))
    );
    assert!(
        t.best_page
            .as_ref()
            .is_some_and(|m| m.time() > minutes(8.0))
    );
    for o in &d.objectives {
        assert!(o.met, "objective {} missed: {o:?}\n{t:?}", o.name);
        assert!(o.actual_seconds.is_some_and(|s| s < 18.0 * 60.0), "{o:?}");
    }
    assert_eq!(d.score, 100, "{}", d.scoring.arithmetic);
    let rows: Vec<(&str, bool, Vec<&str>)> = d
        .faults
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.cause,
                f.alerts.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(rows[0], ("slow-model", false, vec!["ModelSlow"]));
    assert_eq!(rows[1].0, "surge");
    assert!(
        rows[1].1 && rows[1].2.contains(&"AcquireTimeouts"),
        "{rows:?}"
    );
    let md = firedrill::report::markdown::render(&d);
    assert!(md.contains("**slow-model** (distraction)"), "{md}");
}

#[test]
fn recovery_does_not_wait_for_a_distractions_page() {
    let drill = load("red-herring.ron", HERRING);
    let session = played(&drill, None);
    let recovered = session
        .sim()
        .truth()
        .recovered
        .expect("the reference recovers");
    let slow = alert_index(&drill, "ModelSlow");
    let (_, state) = &session.sim().alert_states()[slow];
    // The slow model lasts until 33m; its page resolves after that, well after recovery.
    let resolved = state
        .resolved_at
        .first()
        .copied()
        .expect("ModelSlow resolves");
    assert!(resolved > minutes(33.0), "{resolved:?}");
    assert!(recovered < minutes(30.0), "recovered at {recovered:?}");
}

#[test]
fn a_team_that_throttles_to_a_trickle_and_never_lifts_it_does_not_recover() {
    let drill = load("mini-rush.ron", MINI);
    let trickle: Vec<Say> = firedrill::drill::parse_str(
        r#"Drill(name: "x", title: "x", duration: "1m", traffic: Traffic(start_rps: 1.0),
              service: Service(name: "x", steps: []),
              reference: [
                Say(at: After(FirstPage, "1m"), role: "ops", input: "ack"),
                Say(at: After(FirstPage, "1m"), role: "ops", input: "throttle rps=1"),
              ])"#,
    )
    .expect("a script")
    .reference;
    let session = played(&drill, Some(&trickle));
    let truth = session.sim().truth();
    assert!(truth.first_page.is_some());
    // With the pages quiet, the throttle alone still rejects most arrivals.
    let (_, states): (Vec<_>, Vec<_>) = session.sim().alert_states().iter().cloned().unzip();
    assert!(
        states
            .iter()
            .all(|s| s.fired_at.is_empty() || !s.resolved_at.is_empty())
    );
    assert_eq!(truth.recovered, None, "a trickle is not a recovery");
    // The reference (which only scales the pool) does recover.
    let reference = played(&drill, None);
    assert!(reference.sim().truth().recovered.is_some());
}

#[test]
fn calibrate_checks_each_fault_against_its_own_expectation() {
    let plan = Plan::new(3, 1, Shard::WHOLE).expect("a plan");
    let calibrate = |text: &str| {
        let drill = load("red-herring.ron", text);
        calibrate::calibrate(&drill, text, &plan, 1, &|| {}).expect("calibrates")
    };
    let verdict = |c: &calibrate::Calibration, check: Check, subject: &str| {
        c.verdicts
            .iter()
            .find(|v| v.check == check && v.subject.as_deref() == Some(subject))
            .cloned()
            .unwrap_or_else(|| panic!("no {check:?} verdict on {subject}: {:?}", c.verdicts))
    };
    let c = calibrate(HERRING);
    let slow = &c.faults[0];
    assert!(!slow.cause);
    assert_eq!(
        slow.alerts
            .iter()
            .map(|a| (a.name.as_str(), a.attributed.runs))
            .collect::<Vec<_>>(),
        vec![("ModelSlow", 3)]
    );
    assert!(
        c.faults[1]
            .alerts
            .iter()
            .any(|a| a.name == "AcquireTimeouts" && a.attributed.runs == 3)
    );
    let cause = verdict(&c, Check::CausePaged, "surge");
    assert!(cause.pass, "{cause:?}");
    assert!(
        cause
            .message
            .starts_with("the cause `surge` is paged in 100%"),
        "{}",
        cause.message
    );
    let distraction = verdict(&c, Check::DistractionPages, "slow-model");
    assert!(distraction.pass);
    assert!(
        distraction
            .message
            .starts_with("the distraction `slow-model` pages in 100%")
    );

    // A distraction expected to stay quiet fails, and only its verdict does.
    let quiet = HERRING.replace("cause: false,", "cause: false, expect: Quiet,");
    let c = calibrate(&quiet);
    assert!(!verdict(&c, Check::DistractionPages, "slow-model").pass);
    assert!(verdict(&c, Check::CausePaged, "surge").pass);

    // A cause too weak to page fails, and only its verdict does.
    let weak = HERRING.replace("TrafficMultiplier(6.0)", "TrafficMultiplier(1.1)");
    let c = calibrate(&weak);
    assert!(!verdict(&c, Check::CausePaged, "surge").pass);
    assert!(verdict(&c, Check::DistractionPages, "slow-model").pass);
    assert!(
        c.render_text().contains("stood in for the causes"),
        "{}",
        c.render_text()
    );
}

#[test]
fn check_warns_of_unmarked_faults_and_unattainable_detect_targets() {
    use firedrill::drill::warnings::warnings;
    let drill = load("red-herring.ron", HERRING);
    assert_eq!(warnings(&drill, HERRING), vec![]);
    let unmarked = HERRING.replace("cause: false,", "");
    let w = warnings(&load("x.ron", &unmarked), &unmarked);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].path, "faults");
    let marked = HERRING.replace("cause: false,", "cause: true,");
    assert_eq!(warnings(&load("x.ron", &marked), &marked), vec![]);
    // The earliest page: the first evaluation after 8m (9m) plus the shortest `for` (1m).
    let short = HERRING.replace("detect_within: \"8m\"", "detect_within: \"90s\"");
    let w = warnings(&load("x.ron", &short), &short);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].path, "objectives.detect_within");
    assert!(w[0].message.contains("sooner than 2m"), "{}", w[0].message);
}

/// Issue 22: attribution by firing time. In this variant the slow model lasts 4 minutes and
/// the page alert watches overall latency: the distraction sets it off at 5m, before the surge
/// (the cause) begins at 8m; it resolves, and the surge sets it off again. Each fault is
/// credited with its own firing, and the incident's first cause page is the one after the
/// surge began, not the distraction's.
#[test]
fn a_distractions_alert_that_fires_before_the_cause_is_not_the_causes_page() {
    let text = HERRING
        .replace(
            r#"Fault(name: "slow-model", at: "3m", lasts: "30m","#,
            r#"Fault(name: "slow-model", at: "3m", lasts: "4m","#,
        )
        .replace(
            r#"when: Above(metric: StepTime("generate"), threshold: 2.5)"#,
            "when: Above(metric: LatencyP95, threshold: 5.0)",
        );
    assert_ne!(text, HERRING);
    let drill = load("shared-alert.ron", &text);
    let session = Session::new(drill.clone(), None);
    let a = session.attribution();
    let latency = alert_index(&drill, "ModelSlow");
    let timeouts = alert_index(&drill, "AcquireTimeouts");
    assert!(a.alerts_of(0).contains(&latency), "{a:?}");
    assert!(
        a.alerts_of(1).contains(&latency) && a.alerts_of(1).contains(&timeouts),
        "{a:?}"
    );
    let played = played(&drill, None);
    let truth = played.sim().truth();
    let surge = truth.fault_started[1].expect("the surge starts");
    assert_eq!(surge, minutes(8.0));
    let first_fired = truth.alert_first_fired[latency].expect("it fires");
    assert!(
        first_fired < surge,
        "the distraction fires it first: {first_fired:?}"
    );
    let cause_page = truth.first_cause_page.expect("the cause pages");
    assert!(cause_page >= surge, "{cause_page:?} is after {surge:?}");
    assert!(truth.first_page.expect("a page") < surge);
}
