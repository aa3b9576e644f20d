//! Scoring and the debrief (issue 4), through the library: scripted teams play a drill, their
//! transcript is written, read back and replayed, and the debrief of the replay is checked —
//! timings, objectives, checklists, impact against the counterfactual, the score — and
//! rendered: JSON and Markdown snapshots, an HTML page with no external references, escaped
//! team text, and byte-identical output for the same transcript.
//!
//! Every case goes through one helper, [`debrief_of`]: a drill text and a script of
//! `(anchor, role, input)` lines.

use std::path::PathBuf;

use firedrill::drill::spec::{Anchor, Event, Say};
use firedrill::drill::{Duration, load_str};
use firedrill::report;
use firedrill::score::debrief::{Debrief, debrief};
use firedrill::session::Session;
use firedrill::session::play::{Step, play};
use firedrill::session::transcript::{ClockMode, Header, Line, Transcript, Writer};

const MONDAY: &str = include_str!("../../drills/monday-rush.ron");
const MINI: &str = include_str!("../data/mini-rush.ron");

fn at(d: &str) -> Anchor {
    Anchor::At(Duration::parse(d).expect("a duration"))
}

fn after(event: Event, d: &str) -> Anchor {
    Anchor::After(event, Duration::parse(d).expect("a duration"))
}

fn say(at: Anchor, role: &str, input: &str) -> Say {
    Say {
        at,
        role: role.to_owned(),
        input: input.to_owned(),
    }
}

fn temp(name: &str) -> PathBuf {
    crate::temp_file("debrief", name)
}

/// Plays `script` on `drill_text` to the drill's end, writes the transcript, reads it back,
/// replays it and returns the debrief of the replay.
fn debrief_of(name: &str, drill_text: &str, script: &[Say]) -> Debrief {
    let drill = load_str(name, drill_text).expect("the drill loads");
    let seed = drill.seed;
    let path = temp(&format!("{name}.jsonl"));
    // Transcripts are never overwritten: a test that writes the same name again starts afresh.
    let _ = std::fs::remove_file(&path);
    let mut writer = Writer::create(
        &path,
        &Header::new(drill_text, &drill, seed, ClockMode::Turns, 1.0),
    )
    .expect("transcript");
    let mut session = Session::new(drill, Some(seed));
    let mut lines = Vec::new();
    let refused = play(&mut session, script, &mut |_, step| {
        if let Step::Accepted(a) = step {
            lines.push(Line {
                at_ns: a.at.nanos(),
                role: a.role,
                input: a.input,
                ..Line::default()
            });
        }
    });
    assert!(
        refused.is_empty(),
        "{name}: script lines never played: {refused:?}"
    );
    // As `firedrill play` does: the transcript ends with `end` where the session ended.
    lines.push(Line {
        at_ns: session.now().nanos(),
        role: session.current_role().to_owned(),
        input: "end".into(),
        ..Line::default()
    });
    for line in &lines {
        writer.write(line).expect("transcript line");
    }
    let transcript = Transcript::read(&path).expect("the transcript reads");
    let replayed = transcript.replay(&path).expect("the transcript replays");
    debrief(&replayed)
}

/// Replays the transcript `name` wrote and debriefs it again.
fn debrief_again(name: &str) -> Debrief {
    let path = temp(&format!("{name}.jsonl"));
    debrief(
        &Transcript::read(&path)
            .expect("reads")
            .replay(&path)
            .expect("replays"),
    )
}

fn reference(drill_text: &str) -> Vec<Say> {
    load_str("reference", drill_text)
        .expect("the drill loads")
        .reference
}

fn task<'a>(d: &'a Debrief, id: &str) -> &'a firedrill::score::debrief::TaskRow {
    d.checklists
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no task {id}"))
}

fn objective(d: &Debrief, name: &str) -> bool {
    d.objectives
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no objective {name}"))
        .met
}

/// The score is the stated formula, recomputed here from the debrief's facts: checklists 50,
/// objectives 20 shared, outcome 30 (harm avoided against no response as a share of what the
/// reference avoided, clamped to 0..1), parts the drill lacks giving way in proportion; 0 for
/// a response that did more harm than no response.
fn assert_score_adds_up(d: &Debrief) {
    let s = &d.scoring;
    let cf = &d.counterfactual;
    // Harm: the users harmed, each once (failed, rejected, or answered degraded or wrong).
    let harm = |o: &firedrill::score::impact::Outcome| {
        assert_eq!(o.harmed, o.users_failed + o.users_rejected + o.users_poor);
        o.harmed as f64
    };
    let none = harm(&cf.no_response);
    let avoided = none - harm(&d.impact);
    let reference = cf
        .reference
        .as_ref()
        .map(|r| none - harm(r))
        .filter(|r| *r > 0.0);
    let yardstick = reference.unwrap_or(none);
    let objectives = d.objectives.len();
    let weights = [
        if s.checklist_possible > 0 { 50.0 } else { 0.0 },
        if objectives > 0 { 20.0 } else { 0.0 },
        if yardstick > 0.0 { 30.0 } else { 0.0 },
    ];
    let scale = 100.0 / weights.iter().sum::<f64>();
    let share = if yardstick > 0.0 {
        (avoided / yardstick).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let met = d.objectives.iter().filter(|o| o.met).count() as f64;
    let expected = if avoided < 0.0 {
        0.0
    } else {
        scale
            * (s.checklist_earned as f64 / s.checklist_possible.max(1) as f64 * weights[0]
                + met / objectives.max(1) as f64 * weights[1]
                + share * weights[2])
    };
    assert!(
        (s.exact - expected).abs() < 0.01 && d.score == expected.round() as u32,
        "expected {expected}: {}",
        s.arithmetic
    );
    assert_eq!(s.outcome.worse_than_none, avoided < 0.0);
    let last = if s.outcome.worse_than_none {
        "total 0".to_owned()
    } else {
        format!("→ {}", d.score)
    };
    assert!(s.arithmetic.ends_with(&last), "{}", s.arithmetic);
    let earned: i64 = d.checklists.iter().map(|t| t.earned).sum();
    assert_eq!(earned, s.checklist_earned);
}

#[test]
fn the_reference_response_is_on_time_and_recovers() {
    let d = debrief_of("mini-reference", MINI, &reference(MINI));
    assert_score_adds_up(&d);
    assert!(
        d.checklists.iter().all(|t| t.status == "on_time"),
        "{:#?}",
        d.checklists
    );
    assert!(
        objective(&d, "detect") && objective(&d, "mitigate"),
        "{:#?}",
        d.objectives
    );
    let t = &d.timings;
    let (fault, page, ack) = (
        t.fault_start.as_ref().unwrap(),
        t.first_page.as_ref().unwrap(),
        t.acknowledged.as_ref().unwrap(),
    );
    assert_eq!(fault.seconds, 300.0);
    assert_eq!(fault.clock, "09:05:00");
    assert_eq!(ack.seconds, page.seconds + 60.0);
    let impact = t.first_impact.as_ref().unwrap().seconds;
    assert!(
        impact >= fault.seconds && impact <= page.seconds,
        "first impact {impact}"
    );
    // The page fires no earlier than the alerting allows.
    assert!(t.best_page.as_ref().unwrap().seconds <= page.seconds);
    assert!(t.mitigated.is_some() && t.resolved.is_some());
    // The team's run is the reference run: it avoided exactly what the reference would have.
    let cf = &d.counterfactual;
    assert_eq!(Some(&cf.avoided), cf.reference_avoided.as_ref());
    assert!(
        cf.avoided.degraded > 0 && cf.avoided.page_breach_minutes > 0.0,
        "{cf:#?}"
    );
    assert_eq!(
        d.roles
            .iter()
            .find(|r| r.id == "comms")
            .unwrap()
            .person
            .as_deref(),
        Some("sam")
    );
    assert_eq!(d.drill.ended_by, "it ran its course");
}

#[test]
fn a_late_team_loses_half_points_and_misses_its_objectives() {
    let p = |m: &str| after(Event::FirstPage, m);
    let script = [
        say(p("4m"), "ops", "ack"),
        say(p("5m"), "ic", "declare sev2"),
        say(p("11m"), "comms", "update \"looking into it\""),
        say(p("12m"), "ops", "diagnose db-pool-exhaustion"),
        say(p("12m"), "ops", "scale-pool size=12"),
        say(after(Event::Recovered, "8m"), "ic", "resolve"),
    ];
    let d = debrief_of("mini-late", MINI, &script);
    assert_score_adds_up(&d);
    for (id, due_after_page, done_after_page) in [
        ("ack", 2.0, 4.0),
        ("declare", 3.0, 5.0),
        ("mitigate", 6.0, 12.0),
        ("diagnose", 8.0, 12.0),
    ] {
        let t = task(&d, id);
        assert_eq!(t.status, "late", "{id}: {t:#?}");
        assert_eq!(
            t.late_seconds,
            Some((done_after_page - due_after_page) * 60.0),
            "{id}"
        );
        assert_eq!(t.earned, t.points / 2, "{id}");
    }
    // Due 5m after `declare`, done 6m after it.
    assert_eq!(task(&d, "update").late_text.as_deref(), Some("1m"));
    assert_eq!(task(&d, "resolve").status, "late");
    assert!(!objective(&d, "detect"), "{:#?}", d.objectives);
    let detect = d
        .timings
        .intervals
        .iter()
        .find(|i| i.name == "detect")
        .unwrap();
    assert!(detect.seconds.unwrap() > detect.best_seconds.unwrap());
    // Late, but still better than nothing.
    assert!(d.counterfactual.avoided.degraded > 0);
    let reference = d.counterfactual.reference_avoided.as_ref().unwrap();
    assert!(
        reference.degraded > d.counterfactual.avoided.degraded,
        "{:#?}",
        d.counterfactual
    );
}

#[test]
fn a_team_that_only_acknowledges_misses_everything_else() {
    let d = debrief_of(
        "mini-missed",
        MINI,
        &[say(after(Event::FirstPage, "1m"), "ops", "ack")],
    );
    assert_score_adds_up(&d);
    assert_eq!(task(&d, "ack").status, "on_time");
    for t in d.checklists.iter().filter(|t| t.id != "ack") {
        assert_eq!((t.status.as_str(), t.earned), ("missed", 0), "{t:#?}");
    }
    assert_eq!(d.scoring.checklist_earned, 5);
    assert!(objective(&d, "detect"));
    assert!(!objective(&d, "mitigate"));
    // Acknowledging changes nothing for the users: no outcome points.
    assert_eq!(d.counterfactual.avoided.harmed, 0);
    assert_eq!(d.score, (5.0f64 / 45.0 * 50.0 + 10.0).round() as u32);
}

#[test]
fn wrong_diagnoses_are_counted_and_shown() {
    let p = |m: &str| after(Event::FirstPage, m);
    let script = [
        say(p("1m"), "ops", "ack"),
        say(p("2m"), "ops", "diagnose bad-deploy"),
        say(p("3m"), "ops", "diagnose model-outage"),
        say(p("4m"), "ops", "diagnose pool-exhaustion"),
    ];
    let d = debrief_of("mini-wrong", MINI, &script);
    let t = &d.timings;
    let causes: Vec<&str> = t.wrong_diagnoses.iter().map(|g| g.cause.as_str()).collect();
    assert_eq!(causes, ["bad-deploy", "model-outage"]);
    assert_eq!(
        t.diagnosed.as_ref().unwrap().seconds,
        t.first_page.as_ref().unwrap().seconds + 240.0
    );
    assert_eq!(task(&d, "diagnose").status, "on_time");
    let rc = d.root_cause.as_ref().unwrap();
    assert_eq!(
        (rc.wrong_guesses.len(), rc.diagnosed_by.as_deref()),
        (2, Some("ops"))
    );
    assert!(
        d.timeline
            .iter()
            .any(|e| e.text == "diagnose bad-deploy (wrong)")
    );
    assert!(
        d.timeline
            .iter()
            .any(|e| e.text == "diagnose pool-exhaustion (correct)")
    );
    let md = report::markdown(&d);
    assert!(md.contains("Diagnosed (after 2 wrong guesses)"), "{md}");
    // Each wrong guess before the right one halves the diagnose task's points (rounded down).
    let diagnose = task(&d, "diagnose");
    assert_eq!(diagnose.wrong_guesses, 2);
    assert_eq!(diagnose.earned, diagnose.points / 4, "{diagnose:#?}");
    let cost = diagnose.guess_cost.as_deref().expect("the cost is stated");
    assert!(md.contains(cost), "{md}");
    assert!(report::html(&d).contains(cost));
}

#[test]
fn wrong_diagnoses_cost_the_diagnose_task_as_the_drill_says() {
    let p = |m: &str| after(Event::FirstPage, m);
    let guesses = |n: usize| {
        let mut script = vec![say(p("1m"), "ops", "ack")];
        for i in 0..n {
            script.push(say(
                p("2m"),
                "ops",
                &format!("diagnose bad deploy number {i}"),
            ));
        }
        // Free text with every word of an accepted phrase, in another order and case.
        script.push(say(p("4m"), "ops", "diagnose Exhaustion of the POOL!"));
        // A wrong guess after the right one costs nothing.
        script.push(say(p("5m"), "ops", "diagnose model outage"));
        script
    };
    let points = |drill: &str, n: usize| {
        let d = debrief_of(&format!("mini-guesses-{n}"), drill, &guesses(n));
        assert_score_adds_up(&d);
        assert!(d.timings.diagnosed.is_some(), "free text matched");
        let t = task(&d, "diagnose");
        assert_eq!(t.wrong_guesses as usize, n);
        (t.points, t.earned)
    };
    let (full, none) = points(MINI, 0);
    assert_eq!(none, full);
    let halved: Vec<i64> = (1..=5).map(|n| points(MINI, n).1).collect();
    let expected: Vec<i64> = (1..=5).map(|n| full >> n).collect();
    assert_eq!(halved, expected, "halved per wrong guess, never below zero");
    let free = MINI.replace(
        "explanation: \"The surge needs",
        "kept_per_wrong_guess: 1.0, explanation: \"The surge needs",
    );
    assert_eq!(
        points(&free, 3).1,
        full,
        "guessing is free when the drill says so"
    );
}

#[test]
fn with_no_response_every_objective_fails_and_nothing_is_avoided() {
    for (name, text) in [("mini-none", MINI), ("monday-none", MONDAY)] {
        let d = debrief_of(name, text, &[]);
        assert_score_adds_up(&d);
        assert_eq!(d.score, 0, "{name}");
        assert!(
            !d.objectives.is_empty() && d.objectives.iter().all(|o| !o.met),
            "{name}: {:#?}",
            d.objectives
        );
        assert!(d.checklists.iter().all(|t| t.status == "missed"), "{name}");
        let a = &d.counterfactual.avoided;
        assert_eq!(
            (
                a.failed,
                a.rejected,
                a.degraded,
                a.wrong_answers,
                a.harmed,
                a.page_breach_minutes
            ),
            (0, 0, 0, 0, 0, 0.0),
            "{name}"
        );
        assert_eq!(
            d.impact, d.counterfactual.no_response,
            "{name}: the team's run is the no-response run"
        );
        assert!(
            d.impact.degraded > 0 && d.impact.recovered.is_none(),
            "{name}"
        );
        assert!(
            d.counterfactual.summary.contains("it harmed as many users"),
            "{name}"
        );
        let json: serde_json::Value = serde_json::from_str(&report::json(&d)).expect("JSON");
        for o in json["objectives"].as_array().unwrap() {
            assert_eq!(o["met"], false);
            assert!(
                o["target_seconds"].is_number()
                    && o.get("actual_seconds").is_some()
                    && o.get("name").is_some()
            );
        }
        for key in ["score", "timings", "roles", "impact", "counterfactual"] {
            assert!(json.get(key).is_some(), "{name}: no `{key}` in the JSON");
        }
    }
}

#[test]
fn team_text_is_escaped_everywhere() {
    let p = |m: &str| after(Event::FirstPage, m);
    let script = [
        say(p("1m"), "ops", "ack"),
        say(p("1m"), "ops", "note <script>alert(1)</script>"),
        say(p("2m"), "ic", "assign comms <img src=x onerror=alert(1)>"),
        say(p("2m"), "ops", "diagnose </td><b>pwned</b>"),
    ];
    let d = debrief_of("mini-xss", MINI, &script);
    let html = report::html(&d);
    assert!(
        html.contains("note &lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("note &lt;script&gt;alert(1)&lt;/script&gt;"),
        "the note is not shown as text"
    );
    for raw in ["<script", "<img", "<b>pwned"] {
        assert!(!html.contains(raw), "raw `{raw}` in the HTML");
    }
    let md = report::markdown(&d);
    assert!(
        md.contains("note &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{md}"
    );
    assert!(!md.contains("<script") && !md.contains("<img"));
    // JSON carries the text as it was typed: it is data, escaped by the JSON encoder.
    assert!(report::json(&d).contains("note <script>alert(1)</script>"));
}

#[test]
fn the_html_page_is_self_contained() {
    let d = debrief_of("mini-page", MINI, &reference(MINI));
    let html = report::html(&d);
    let lower = html.to_lowercase();
    for banned in [
        "http:", "https:", "//", "src=", "<script", "@import", "url(", "<link", "<iframe",
        "<object",
    ] {
        if banned == "//" {
            // Only inside text, never as a protocol-relative reference.
            assert!(
                !lower.contains("=\"//") && !lower.contains("='//"),
                "a protocol-relative reference"
            );
            continue;
        }
        assert!(!lower.contains(banned), "`{banned}` in the HTML");
    }
    for (i, _) in lower.match_indices("href=") {
        assert!(
            lower[i..].starts_with("href=\"#"),
            "an href that is not an anchor: {}",
            &lower[i..i + 40]
        );
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(lower.contains("prefers-color-scheme: dark") && lower.contains("@media print"));
    // Five charts (traffic, latency, errors, the pool's connections and its queue), each with
    // the fault shaded and markers.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 5);
    assert_eq!(html.matches("<rect class=\"span\"").count(), 5);
    assert!(
        html.contains("m-alert")
            && html.contains("m-inject")
            && html.contains("m-team")
            && html.contains("m-recovered")
    );
    assert!(html.contains(" cf\" points="), "the counterfactual line");
    assert!(html.contains(&format!("<div class=\"big\">{}</div>", d.score)));
    assert!(html.contains("db-pool-exhaustion") && html.contains("Which alert told you first?"));
}

#[test]
fn the_same_transcript_gives_the_same_bytes() {
    let first = debrief_of("mini-same", MINI, &reference(MINI));
    let again = debrief_again("mini-same");
    assert_eq!(report::html(&first), report::html(&again));
    assert_eq!(report::json(&first), report::json(&again));
    assert_eq!(report::markdown(&first), report::markdown(&again));
}

/// The JSON without its chart series (checked apart: one point per bucket).
fn json_without_charts(d: &Debrief) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&report::json(d)).expect("JSON");
    let charts = v.as_object_mut().unwrap().remove("charts").unwrap();
    assert_eq!(charts["team"]["t"].as_array().unwrap().len(), 40);
    assert_eq!(
        charts["no_response"]["latency_p95"]
            .as_array()
            .unwrap()
            .len(),
        40
    );
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn snapshot_of_the_reference_debrief() {
    let d = debrief_of("mini-snapshot", MINI, &reference(MINI));
    insta::assert_snapshot!("mini_reference_json", json_without_charts(&d));
    insta::assert_snapshot!("mini_reference_md", report::markdown(&d));
}

#[test]
fn snapshot_of_a_late_team_on_monday_rush() {
    let p = |m: &str| after(Event::FirstPage, m);
    let script = [
        say(p("6m"), "ops", "ack"),
        say(p("9m"), "ic", "declare sev1"),
        say(p("10m"), "ic", "assign ops kim"),
        say(p("12m"), "ops", "diagnose database-slow"),
        say(p("18m"), "ops", "throttle rps=160"),
        say(p("22m"), "ops", "diagnose db-pool-exhaustion"),
        say(p("24m"), "ops", "scale-pool size=40"),
        say(at("1h55m"), "ic", "resolve"),
    ];
    let d = debrief_of("monday-late", MONDAY, &script);
    assert_score_adds_up(&d);
    insta::assert_snapshot!("monday_late_md", report::markdown(&d));
}

/// The checklist work of monday-rush's reference, with `actions` in place of its mitigation.
fn monday_with(actions: &[Say]) -> Vec<Say> {
    let p = |m: &str| after(Event::FirstPage, m);
    let mut script = vec![
        say(p("1m"), "ops", "ack"),
        say(p("2m"), "ic", "declare sev2"),
        say(p("3m"), "ic", "assign comms sam"),
        say(
            p("3m"),
            "scribe",
            "note \"Paged on latency; pool db at 20/20\"",
        ),
        say(
            p("5m"),
            "comms",
            "update \"Aria is answering slowly; we are investigating\"",
        ),
        say(p("7m"), "ops", "diagnose db-pool-exhaustion"),
        say(p("10m"), "scribe", "note \"Mitigation ordered\""),
        say(p("12m"), "scribe", "note \"Watching the pool\""),
        say(after(Event::Recovered, "5m"), "ic", "resolve"),
    ];
    script.extend_from_slice(actions);
    script
}

/// A team on monday-rush that only acknowledges the page (computed once).
fn monday_ack_only() -> &'static Debrief {
    static D: std::sync::OnceLock<Debrief> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        debrief_of(
            "monday-ack-only",
            MONDAY,
            &[say(after(Event::FirstPage, "1m"), "ops", "ack")],
        )
    })
}

#[test]
fn the_reference_scores_100_on_monday_rush_with_its_outcome_shown() {
    let d = debrief_of("monday-reference", MONDAY, &reference(MONDAY));
    assert_score_adds_up(&d);
    assert_eq!(d.score, 100, "{}", d.scoring.arithmetic);
    let o = &d.scoring.outcome;
    assert!(o.avoided > 0 && o.share == 1.0, "{o:#?}");
    assert!(
        d.scoring.arithmetic.contains("outcome avoided"),
        "{}",
        d.scoring.arithmetic
    );
    let md = report::markdown(&d);
    assert!(md.contains(&format!("**Outcome:** {}", o.summary)), "{md}");
    let html = report::html(&d);
    assert!(html.contains(&o.summary), "the HTML shows the outcome");
    let json: serde_json::Value = serde_json::from_str(&report::json(&d)).expect("JSON");
    assert_eq!(json["scoring"]["outcome"]["avoided"], o.avoided);
    assert_eq!(json["scoring"]["outcome_weight"], 30.0);
}

#[test]
fn a_throttle_to_a_trickle_never_lifted_scores_below_only_acknowledging() {
    let mut trickle = monday_with(&[say(after(Event::FirstPage, "3m"), "ops", "throttle rps=10")]);
    // Shedding nearly every user is no recovery, so the line waiting for it never plays.
    trickle.retain(|s| !matches!(s.at, Anchor::After(Event::Recovered, _)));
    let d = debrief_of("monday-trickle", MONDAY, &trickle);
    assert_score_adds_up(&d);
    let ack = monday_ack_only();
    assert_score_adds_up(ack);
    assert!(
        d.scoring.outcome.worse_than_none,
        "{:#?}",
        d.scoring.outcome
    );
    assert!(
        d.impact.harmed > d.counterfactual.no_response.harmed,
        "the trickle turns away more users than the surge harms"
    );
    assert!(
        d.score < ack.score,
        "trickle {} ({}) against ack only {} ({})",
        d.score,
        d.scoring.arithmetic,
        ack.score,
        ack.scoring.arithmetic
    );
    assert!(
        d.objectives.iter().all(|o| o.earned == 0.0),
        "{:#?}",
        d.objectives
    );
    let md = report::markdown(&d);
    assert!(md.contains("more harm than no response at all"), "{md}");
    // Said plainly: the floor zeroed the objectives, no "+0.0" sums for what it threw away.
    let arithmetic = &d.scoring.arithmetic;
    assert!(
        arithmetic.starts_with("the outcome floor zeroed the score")
            && arithmetic.contains("earn nothing")
            && arithmetic.ends_with("total 0"),
        "{arithmetic}"
    );
    assert!(!arithmetic.contains("+0.0"), "{arithmetic}");
    for o in d.objectives.iter().filter(|o| o.met) {
        assert!(o.verdict.contains("zeroed by the outcome floor"), "{o:#?}");
        assert!(
            arithmetic.contains(&format!("{} met", o.name)),
            "{arithmetic}"
        );
    }
    // One `harmed` in the JSON: the users harmed, which the score counts as `harm`.
    let json: serde_json::Value = serde_json::from_str(&report::json(&d)).expect("JSON");
    let n = |v: &serde_json::Value| v.as_u64().expect("a count");
    let outcome = &json["scoring"]["outcome"];
    assert!(outcome.get("harmed").is_none() && outcome.get("no_response_harmed").is_none());
    assert_eq!(n(&outcome["harm"]), n(&json["impact"]["harmed"]));
    let none = &json["counterfactual"]["no_response"];
    assert_eq!(n(&outcome["no_response_harm"]), n(&none["harmed"]));
    assert_eq!(
        n(&json["impact"]["harmed"]),
        n(&json["impact"]["users_failed"])
            + n(&json["impact"]["users_rejected"])
            + n(&json["impact"]["users_poor"])
    );
}

#[test]
fn a_slow_but_right_response_scores_above_only_acknowledging() {
    let p = |m: &str| after(Event::FirstPage, m);
    let late = [
        say(p("4m"), "ops", "ack"),
        say(p("8m"), "ic", "declare sev2"),
        say(p("14m"), "ic", "assign comms sam"),
        say(p("16m"), "comms", "update \"Aria is slow; we are on it\""),
        say(p("18m"), "ops", "diagnose db-pool-exhaustion"),
        say(p("20m"), "ops", "throttle rps=150"),
        say(p("25m"), "ops", "scale-pool size=40"),
        say(p("31m"), "ops", "throttle rps=400"),
        say(after(Event::Recovered, "15m"), "ic", "resolve"),
    ];
    let d = debrief_of("monday-slow-right", MONDAY, &late);
    assert_score_adds_up(&d);
    let ack = monday_ack_only();
    let o = &d.scoring.outcome;
    assert!(
        !o.worse_than_none && o.share > 0.0 && o.share < 1.0,
        "{o:#?}"
    );
    assert!(
        d.score > ack.score,
        "slow but right {} ({}) against ack only {} ({})",
        d.score,
        d.scoring.arithmetic,
        ack.score,
        ack.scoring.arithmetic
    );
}

#[test]
fn resolving_before_the_system_recovered_earns_nothing() {
    // The late team on monday-rush never lifts its throttle, so the system never recovers;
    // its `resolve` (due 10 minutes after recovery) is premature, not on time.
    let mut script = monday_with(&[say(after(Event::FirstPage, "3m"), "ops", "throttle rps=10")]);
    script.retain(|s| !matches!(s.at, Anchor::After(Event::Recovered, _)));
    script.push(say(after(Event::FirstPage, "40m"), "ic", "resolve"));
    let d = debrief_of("monday-premature-resolve", MONDAY, &script);
    assert!(d.timings.mitigated.is_none(), "the trickle never recovers");
    let resolve = d
        .checklists
        .iter()
        .find(|t| t.id == "resolve")
        .expect("monday-rush has a resolve task");
    assert_eq!(resolve.status, "premature", "{resolve:#?}");
    assert_eq!(resolve.earned, 0);
    assert!(report::markdown(&d).contains("premature: done before the system recovered"));
}

// ---- issue 21: the first mitigation, the drill's panels, pool scales, causes and distractions ----

/// The largest y-axis label of the chart titled `title` in `charts`.
fn axis_top(charts: &[report::html::ChartSvg], title: &str) -> f64 {
    let svg = &charts
        .iter()
        .find(|c| c.title == title)
        .unwrap_or_else(|| {
            panic!(
                "no chart {title}: {:?}",
                charts.iter().map(|c| &c.title).collect::<Vec<_>>()
            )
        })
        .svg;
    svg.split("<text class=\"ax\"")
        .skip(1)
        .filter(|t| t.contains("text-anchor=\"end\">"))
        .filter_map(|t| {
            let v = t.split('>').nth(1)?.split('<').next()?;
            v.parse::<f64>().ok()
        })
        .fold(0.0, f64::max)
}

#[test]
fn a_wrong_action_is_not_the_first_mitigation() {
    // A line of one of the drill's wrong responses is not the first mitigation, even when it
    // helped; the words are compared, not the spacing. The bigger pool after it is.
    let wrong = MINI.replacen(
        "    reference: [",
        "    wrong_responses: [Response(name: \"small-step\", says: [\n        Say(at: After(FirstPage, \"3m\"), role: \"ops\", input: \"scale-pool size=5\"),\n    ])],\n    reference: [",
        1,
    );
    let d = debrief_of(
        "mini-wrong-line",
        &wrong,
        &[
            say(after(Event::FirstPage, "1m"), "ops", "ack"),
            say(after(Event::FirstPage, "2m"), "ops", "scale-pool  size=5"),
            say(after(Event::FirstPage, "3m"), "ops", "scale-pool size=13"),
        ],
    );
    assert_eq!(
        d.timings.first_mitigation_input.as_deref(),
        Some("scale-pool size=13"),
        "{:?}",
        d.timings
    );
}

#[test]
fn an_action_that_changed_nothing_or_made_things_worse_is_not_the_first_mitigation() {
    // A throttle far above the traffic changes nothing, a smaller pool makes things worse;
    // neither is in the drill's wrong responses. The bigger pool after them mitigated: the
    // run replayed without it harms more users, and the debrief says how many more.
    let d = debrief_of(
        "mini-no-help",
        MINI,
        &[
            say(after(Event::FirstPage, "1m"), "ops", "ack"),
            say(after(Event::FirstPage, "1m"), "ops", "throttle rps=10000"),
            say(after(Event::FirstPage, "2m"), "ops", "scale-pool size=3"),
            say(after(Event::FirstPage, "4m"), "ops", "scale-pool size=12"),
        ],
    );
    assert_eq!(
        d.timings.first_mitigation_input.as_deref(),
        Some("scale-pool size=12"),
        "{:?}",
        d.timings
    );
    let avoided = d
        .timings
        .first_mitigation_avoided
        .expect("how many it avoided");
    assert!(
        avoided as f64 > 0.05 * d.counterfactual.no_response.harmed as f64,
        "{avoided} of {:?}",
        d.counterfactual.no_response
    );
    let md = report::markdown(&d);
    assert!(
        md.contains("| First mitigation ordered (scale-pool size=12; without it "),
        "{md}"
    );
    // With only the useless actions the team ordered no mitigation, and recovery (if any)
    // is not the team's.
    let d = debrief_of(
        "mini-no-help-only",
        MINI,
        &[
            say(after(Event::FirstPage, "1m"), "ops", "ack"),
            say(after(Event::FirstPage, "1m"), "ops", "throttle rps=10000"),
        ],
    );
    assert_eq!(d.timings.first_mitigation, None, "{:?}", d.timings);
    assert!(!objective(&d, "mitigate"));
}

#[test]
fn the_drills_own_panels_are_charted() {
    let drill = MINI.replacen(
        "    roles: [",
        "    dashboard: [\n        Panel(title: \"Pool busy\", metric: PoolUtilization(\"db\")),\n        Panel(title: \"p95\", metric: LatencyP95),\n    ],\n    roles: [",
        1,
    );
    let d = debrief_of("mini-panels", &drill, &reference(&drill));
    let html = report::html(&d);
    for (title, metric) in [("Pool busy", "PoolUtilization(db)"), ("p95", "LatencyP95")] {
        assert!(
            html.contains(&format!("<svg class=\"chart\" viewBox=\"0 0 760 226\" role=\"img\" aria-label=\"Dashboard: {title}\">")),
            "{title}"
        );
        let md = report::markdown(&d);
        assert!(md.contains(&format!("| {title} | `{metric}` |")), "{md}");
    }
    // The busy pool is full in the surge; the chart is in percent, with the alert on it.
    let busy = d
        .charts
        .panels
        .iter()
        .find(|p| p.title == "Pool busy")
        .unwrap();
    assert_eq!(busy.unit, "%");
    assert!(busy.values.iter().any(|v| *v > 95.0), "{:?}", busy.values);
    let charts = report::html::charts(&d);
    let chart = charts
        .iter()
        .find(|c| c.title == "Dashboard: Pool busy")
        .unwrap();
    assert!(
        chart.svg.contains("PoolSaturated fires at 95%"),
        "{}",
        chart.svg
    );
    // The alert on the panel's metric is drawn on it.
    let p95 = charts.iter().find(|c| c.title == "Dashboard: p95").unwrap();
    assert!(
        p95.svg.contains("LatencyHigh fires at"),
        "the LatencyHigh threshold"
    );
    // Without panels, no such chart; the JSON debrief leaves the series out.
    let plain = debrief_of("mini-no-panels", MINI, &reference(MINI));
    assert!(!report::html(&plain).contains("Dashboard: "));
    assert_eq!(report::json(&d).matches("Pool busy").count(), 0);
}

#[test]
fn pool_charts_give_in_use_and_waiting_scales_a_reader_can_see() {
    // No response: requests queue for the pool by the hundred while it holds 4.
    let d = debrief_of("mini-pool-scales", MINI, &[]);
    let pool = &d.charts.team.pools[0];
    let size = pool.size.iter().copied().fold(0.0, f64::max);
    let in_use = pool.in_use.iter().copied().fold(0.0, f64::max);
    let waiting = pool.waiting.iter().copied().fold(0.0, f64::max);
    assert!(
        waiting > 10.0 * size,
        "waiting {waiting} dwarfs the pool of {size}"
    );
    let charts = report::html::charts(&d);
    let connections = axis_top(&charts, "Pool db: connections in use of its size");
    assert!(
        connections >= size.max(in_use) && connections <= 2.0 * size,
        "connections on their own scale: top {connections} for a pool of {size}"
    );
    let queue = axis_top(&charts, "Pool db: requests waiting, timeouts per second");
    assert!(
        queue >= waiting,
        "the queue on its own: top {queue}, waiting {waiting}"
    );
}

#[test]
fn causes_and_distractions_are_shaded_apart() {
    let herring = include_str!("../data/red-herring.ron");
    let d = debrief_of("herring-spans", herring, &reference(herring));
    let charts = report::html::charts(&d);
    // Each chart: one span of each kind, and one swatch of each in its key.
    for c in &charts {
        assert_eq!(
            c.svg.matches("<rect class=\"span dist\" x=").count(),
            2,
            "{}",
            c.title
        );
        assert_eq!(
            c.svg.matches("<rect class=\"span\" x=").count(),
            2,
            "{}",
            c.title
        );
        assert!(c.svg.contains(">distraction</text>") && c.svg.contains(">cause</text>"));
        assert!(c.svg.contains("fault slow-model (distraction)</title>"));
    }
    let html = report::html(&d);
    assert!(html.contains("<span class=\"key k-dist\">distraction active</span>"));
    assert!(html.contains(".chart .span.dist { fill: var(--dist); }"));
    // A drill with no distraction keeps one shading and no key for the other.
    let plain = report::html(&debrief_of("mini-spans", MINI, &reference(MINI)));
    assert!(!plain.contains("span dist") && !plain.contains(">distraction</text>"));
    assert!(plain.contains("<span class=\"key k-span\">fault active</span>"));
}
