//! Checklist forms and credit (issue 21): a task done by any of several commands, `declare`
//! with a required severity, and a task done by someone other than its role — credited to
//! its role, and the debrief says who did it for whom. Each case plays a scripted team on
//! mini-rush with the task inserted into the ops checklist.

use firedrill::drill::load_str;
use firedrill::drill::spec::{Drill, Say};
use firedrill::report;
use firedrill::score::debrief::debrief;
use firedrill::session::Session;
use firedrill::session::checklist::{TaskResult, evaluate_all};
use firedrill::session::play::play;

const MINI: &str = include_str!("../data/mini-rush.ron");

/// mini-rush with `task` (a `Task(...)`) first on the ops checklist.
fn mini_with(task: &str) -> String {
    let at = r#"Task(id: "ack", "#;
    assert!(MINI.contains(at));
    MINI.replacen(at, &format!("{task}\n            {at}"), 1)
}

fn says(lines: &[&str]) -> Vec<Say> {
    lines
        .iter()
        .map(|l| firedrill::drill::ron_options().from_str(l).expect("a Say"))
        .collect()
}

/// `lines` played on `drill` to its end.
fn played(drill: &Drill, lines: &[&str]) -> Session {
    let mut session = Session::new(drill.clone(), None);
    let unplayed = play(&mut session, &says(lines), &mut |_, _| {});
    assert!(unplayed.is_empty(), "{unplayed:?}");
    session
}

fn result(session: &Session, id: &str) -> TaskResult {
    evaluate_all(
        session.drill(),
        session.sim().truth(),
        session.team(),
        session.now(),
        true,
    )
    .into_iter()
    .find(|r| r.id == id)
    .expect("the task")
}

fn status(session: &Session, id: &str) -> serde_json::Value {
    serde_json::to_value(result(session, id)).unwrap()
}

const EITHER: &str = r#"Task(id: "either", text: "Shed load or add connections",
                 done_by: AnyOf([Command("throttle"), Command("scale-pool")]),
                 due: After(FirstPage, "5m"), points: 4),"#;

#[test]
fn a_task_done_by_any_of_several_commands() {
    let drill = load_str("mini.ron", &mini_with(EITHER)).expect("AnyOf is valid");
    for input in ["throttle rps=40", "scale-pool size=12"] {
        let line = format!(r#"Say(at: After(FirstPage, "2m"), role: "ops", input: "{input}")"#);
        let s = played(&drill, &[&line]);
        let v = status(&s, "either");
        assert_eq!(v["status"], "on_time", "{input}: {v}");
        assert_eq!(v["earned"], 4, "{input}: {v}");
    }
    // Neither of the two: other commands do not count.
    let s = played(
        &drill,
        &[
            r#"Say(at: After(FirstPage, "1m"), role: "ops", input: "ack")"#,
            r#"Say(at: After(FirstPage, "2m"), role: "ic", input: "declare sev2")"#,
        ],
    );
    assert_eq!(status(&s, "either")["status"], "missed");
    // A count of either.
    let twice = EITHER
        .replace(
            "AnyOf([Command(\"throttle\"), Command(\"scale-pool\")])",
            "Count(AnyOf([Command(\"throttle\"), Command(\"scale-pool\")]), 2)",
        )
        .replace("\"5m\"", "\"9m\"");
    let drill = load_str("mini.ron", &mini_with(&twice)).expect("a count of AnyOf is valid");
    let one = played(
        &drill,
        &[r#"Say(at: After(FirstPage, "2m"), role: "ops", input: "throttle rps=40")"#],
    );
    assert_eq!(status(&one, "either")["status"], "missed");
    let two = played(
        &drill,
        &[
            r#"Say(at: After(FirstPage, "2m"), role: "ops", input: "throttle rps=40")"#,
            r#"Say(at: After(FirstPage, "3m"), role: "ops", input: "scale-pool size=12")"#,
        ],
    );
    assert_eq!(status(&two, "either")["status"], "on_time");
}

const SEV2: &str = r#"Task(id: "sev2", text: "Declare a sev2",
                 done_by: Command("declare sev2"), due: After(FirstPage, "5m"), points: 6),"#;

#[test]
fn a_declare_task_can_require_its_severity() {
    let drill = load_str("mini.ron", &mini_with(SEV2)).expect("declare sev2 is valid");
    // sev1 does not complete a task that asks for sev2; the ic's plain `declare` task it does.
    let s = played(
        &drill,
        &[r#"Say(at: After(FirstPage, "1m"), role: "ops", input: "declare sev1")"#],
    );
    assert_eq!(status(&s, "sev2")["status"], "missed");
    assert_eq!(status(&s, "declare")["status"], "on_time");
    // sev1 first, then SEV-2 (as the prompt accepts it): done at the second.
    let s = played(
        &drill,
        &[
            r#"Say(at: After(FirstPage, "1m"), role: "ops", input: "declare sev1")"#,
            r#"Say(at: After(FirstPage, "3m"), role: "ops", input: "declare SEV-2")"#,
        ],
    );
    let first_page = s.sim().truth().first_page.expect("pages").as_secs_f64();
    let v = status(&s, "sev2");
    assert_eq!(v["status"], "on_time", "{v}");
    assert_eq!(v["at"].as_f64().unwrap(), first_page + 180.0, "{v}");
    assert_eq!(v["earned"], 6);
}

#[test]
fn check_places_bad_checklist_commands() {
    let cases = [
        (
            EITHER.replace("Command(\"scale-pool\")", "Command(\"scale-pol\")"),
            "unknown command `scale-pol`",
            "did you mean `scale-pool`?",
            "done_by: AnyOf",
        ),
        (
            SEV2.replace("declare sev2", "declare sev9"),
            "`declare sev9` asks for a severity that does not exist",
            "sev1 (worst) to sev5",
            "sev9",
        ),
        (
            SEV2.replace("declare sev2", "ack LatencyHigh"),
            "a task names a command without its arguments",
            "write `Command(\"ack\")`",
            "ack LatencyHigh",
        ),
        (
            EITHER.replace(
                "AnyOf([Command(\"throttle\"), Command(\"scale-pool\")])",
                "AnyOf([])",
            ),
            "`AnyOf([])` can never be done",
            "list the ways",
            "AnyOf([])",
        ),
    ];
    for (task, what, hint, marker) in cases {
        let text = mini_with(&task);
        let e = load_str("mini.ron", &text).unwrap_err();
        let plain = e.plain().to_string();
        assert!(plain.contains(what), "{plain}");
        assert!(plain.contains(hint), "{plain}");
        // Placed at the offending value's line: the task is inserted on the ops checklist.
        let line = text
            .lines()
            .position(|l| l.contains(marker))
            .map(|i| i + 1)
            .expect("the line");
        assert!(
            plain.contains(&format!("mini.ron:{line}:")),
            "line {line}: {plain}"
        );
    }
}

#[test]
fn a_task_done_by_another_role_is_credited_to_its_own_and_says_so() {
    let drill = load_str("mini.ron", MINI).expect("mini-rush");
    // ops posts the status update that is on comms' checklist.
    let lines = [
        r#"Say(at: After(FirstPage, "1m"), role: "ops", input: "ack")"#,
        r#"Say(at: After(FirstPage, "1m"), role: "ic", input: "declare sev2")"#,
        r#"Say(at: After(FirstPage, "2m"), role: "ops", input: "update \"Slow answers; investigating\"")"#,
    ];
    let s = played(&drill, &lines);
    let v = status(&s, "update");
    assert_eq!(v["role"], "comms", "{v}");
    assert_eq!(v["by"], "ops", "who typed it: {v}");
    assert_eq!(v["status"], "on_time", "{v}");
    assert_eq!(v["earned"], 5, "{v}");
    let d = debrief(&s);
    let comms = d.roles.iter().find(|r| r.id == "comms").unwrap();
    assert_eq!(
        (comms.earned, comms.possible, comms.commands),
        (5, 5, 0),
        "credited to comms, who typed nothing"
    );
    let ops = d.roles.iter().find(|r| r.id == "ops").unwrap();
    assert_eq!((ops.earned, ops.commands), (5, 2), "ops: its ack only");
    let md = report::markdown(&d);
    let row = md
        .lines()
        .find(|l| l.contains("Post a status update"))
        .expect("the row");
    assert!(row.contains(" by ops for comms |"), "{row}");
    let ack = md
        .lines()
        .find(|l| l.contains("Acknowledge the page"))
        .unwrap();
    assert!(ack.contains(" by ops |"), "{ack}");
    let html = report::html(&d);
    assert!(
        html.contains("</span> by ops for comms</td>"),
        "the page says it too"
    );
    // And the prompt's own checklist and the end summary.
    let mut s = s;
    let shown = s.execute_as("comms", "checklist").unwrap().unwrap().output;
    assert!(shown.contains("by ops for comms"), "{shown}");
}
