//! Scripted teams and small truths (issue 22): every bad line of a responses file reported at
//! its line, `play` refusing to start on one (or skipping them with `--skip-bad-lines`), `check
//! DRILL --responses FILE`, and the format as docs/drill-format.md documents it.

use std::path::Path;
use std::process::{Command, Output};

use firedrill::drill::load::load_responses_str;
use firedrill::drill::load_str;

const MONDAY: &str = "drills/monday-rush.ron";

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("firedrill runs")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A responses file in this test's directory.
fn responses(test: &str, text: &str) -> std::path::PathBuf {
    let dir = crate::scratch_dir("scripted", test);
    let path = dir.join("team.ron");
    std::fs::write(&path, text).unwrap();
    path
}

/// Two typos (an unknown command, an out-of-bounds size) among good lines; line numbers are
/// the file's.
const TYPOS: &str = r#"// a team with typos
[
    Say(at: After(FirstPage, "1m"), role: "ops", input: "ack"),
    Say(at: After(FirstPage, "2m"), role: "ops", input: "rollback-promt"),
    Say(at: After(FirstPage, "3m"), role: "ic", input: "declare sev2"),
    Say(at: After(FirstPage, "4m"), role: "ops",
        input: "scale-pool size=500"),
]
"#;

#[test]
fn a_typo_in_a_responses_file_stops_play_with_its_line_even_when_quiet() {
    let file = responses("typo", TYPOS);
    let o = firedrill(&["play", MONDAY, "--responses", s(&file), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    let name = s(&file);
    assert!(
        e.contains(&format!(
            "{name}:4:57: error: unknown command `rollback-promt`"
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "{name}:7:16: error: `size` must be a whole number from 1 to 100, not 500"
        )),
        "{e}"
    );
    assert!(e.contains("help:"), "{e}");
    assert!(
        e.contains("2 bad line(s)") && e.contains("--skip-bad-lines"),
        "{e}"
    );
    // Refused before playing: no summary.
    assert_eq!(out(&o), "", "nothing plays");
}

#[test]
fn skip_bad_lines_plays_the_others_and_lists_the_bad_ones() {
    let file = responses("skip", TYPOS);
    let o = firedrill(&[
        "play",
        MONDAY,
        "--responses",
        s(&file),
        "--quiet",
        "--skip-bad-lines",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains(":4:57: error: unknown command"), "{e}");
    assert!(e.contains("skipping 2 bad line(s)"), "{e}");
    let summary: serde_json::Value = serde_json::from_str(&out(&o)).expect("the summary");
    // The two good lines played (ack, declare); the bad ones did not.
    assert_eq!(summary["team"]["commands"], 2, "{summary}");
    assert!(summary["team"]["declared_seconds"].is_number(), "{summary}");
    assert!(
        summary["team"]["actions"].as_array().unwrap().is_empty(),
        "{summary}"
    );
}

#[test]
fn a_line_refused_as_it_plays_is_reported_at_its_line_and_fails_play() {
    let file = responses(
        "refused",
        r#"[
    Say(at: At("10m"), role: "ic", input: "declare sev2"),
    Say(at: At("11m"), role: "ic", input: "declare sev2"),
]
"#,
    );
    let o = firedrill(&["play", MONDAY, "--responses", s(&file), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains(&format!("{}:3: error: `declare sev2`", s(&file)))
            && e.contains("already declared at sev2"),
        "{e}"
    );
    assert!(
        out(&o).contains("the team (1 commands)"),
        "the summary is still printed: {}",
        out(&o)
    );
    let skipped = firedrill(&[
        "play",
        MONDAY,
        "--responses",
        s(&file),
        "--quiet",
        "--skip-bad-lines",
    ]);
    assert_eq!(skipped.status.code(), Some(0), "{}", err(&skipped));
    assert!(err(&skipped).contains(":3: error:"), "{}", err(&skipped));
}

#[test]
fn check_checks_a_responses_file_against_its_drill() {
    let file = responses(
        "check",
        r#"[
    Say(at: "10m", role: "ic", input: "declare sev2"),
    Say(at: At("11m"), role: "ic", input: "declare high"),
    Say(at: At("12m"), role: "opz", input: "ack"),
    Say(at: At("13m"), role: "ops", input: "metric latency_p59"),
    Say(at: At("9h"), role: "ops", input: "ack"),
    Say(at: At("14m"), role: "ops", input: "dash"),
]
"#,
    );
    let o = firedrill(&["check", MONDAY, "--responses", s(&file)]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    let name = s(&file);
    for expected in [
        format!("{name}:2:13: error: expected a time anchor, found `\"10m\"`"),
        format!("{name}:3:"),
        "`high` is not a severity".to_owned(),
        format!("{name}:4:"),
        "unknown role `opz`".to_owned(),
        format!("{name}:5:"),
        "did you mean `latency_p50`".to_owned(),
        format!("{name}:6:"),
        "when the drill is already over".to_owned(),
        format!("{name}: 5 bad line(s) of 6"),
    ] {
        assert!(text.contains(&expected), "{expected}\n{text}");
    }
    assert!(!text.contains(&format!("{name}:7:")), "{text}");
    let good = responses(
        "check-good",
        "[Say(at: After(FirstPage, \"1m\"), role: \"ops\", input: \"ack\")]",
    );
    let o = firedrill(&["check", MONDAY, "--responses", s(&good)]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("ok  {} (1 lines for drill monday-rush)", s(&good))),
        "{}",
        out(&o)
    );
    let two = firedrill(&["check", MONDAY, MONDAY, "--responses", s(&good)]);
    assert_eq!(two.status.code(), Some(2), "{}", err(&two));
}

/// The example in docs/drill-format.md, "Responses files", is a valid responses file for
/// monday-rush, and the section says what `play` does with a bad line.
#[test]
fn the_documented_responses_format_reads() {
    let doc = include_str!("../../docs/drill-format.md");
    let section = doc
        .split("## Responses files")
        .nth(1)
        .expect("docs/drill-format.md has a \"Responses files\" section");
    let example = section
        .split("```ron\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an example");
    let drill = load_str(MONDAY, include_str!("../../drills/monday-rush.ron")).unwrap();
    let read = load_responses_str("docs", example, &drill, &|input| {
        firedrill::session::command::check(input, &drill).map_err(|e| (e.message, e.hint))
    })
    .expect("the example reads");
    assert!(read.problems.is_none(), "{:?}", read.problems);
    assert_eq!(read.lines.len(), 7);
    assert_eq!(read.lines[0].line, 3, "lines are counted in the file");
    for promise in [
        "--skip-bad-lines",
        "check DRILL --responses FILE",
        "FILE:LINE",
    ] {
        assert!(section.contains(promise), "{promise}");
    }
}

// ---- looking commands in a checklist ----

const MINI: &str = include_str!("../data/mini-rush.ron");

/// mini-rush with an ops task done by looking: `task` is the `Task(...)` inserted.
fn mini_with(task: &str) -> String {
    let at = r#"Task(id: "ack", "#;
    assert!(MINI.contains(at));
    MINI.replacen(at, &format!("{task}\n            {at}"), 1)
}

const VERIFY: &str = r#"Task(id: "verify", text: "Verify recovery on the dashboard",
                 done_by: Command("dash"), due: After(Recovered, "5m"), points: 5),"#;

/// The `verify` task's result after `drill` is played by its reference plus `extra`.
fn verify_after(drill: &firedrill::drill::Drill, extra: &[&str]) -> serde_json::Value {
    use firedrill::drill::spec::Say;
    let mut says = drill.reference.clone();
    for line in extra {
        let say: Say = firedrill::drill::ron_options()
            .from_str(line)
            .expect("a Say");
        says.push(say);
    }
    let mut session = firedrill::session::Session::new(drill.clone(), None);
    let unplayed = firedrill::session::play::play(&mut session, &says, &mut |_, _| {});
    assert!(unplayed.is_empty(), "{unplayed:?}");
    let results = firedrill::session::checklist::evaluate_all(
        session.drill(),
        session.sim().truth(),
        session.team(),
        session.now(),
        true,
    );
    let verify = results.iter().find(|r| r.id == "verify").expect("the task");
    let recovered = session
        .sim()
        .truth()
        .recovered
        .expect("the reference recovers");
    let mut value = serde_json::to_value(verify).unwrap();
    value["recovered"] = recovered.as_secs_f64().into();
    value
}

#[test]
fn a_look_after_its_deadlines_event_completes_a_task() {
    let drill = load_str("mini.ron", &mini_with(VERIFY)).expect("a look task is valid");
    // Looks before recovery do not verify it, however many.
    let early = verify_after(
        &drill,
        &[
            r#"Say(at: After(FirstPage, "1m"), role: "ops", input: "dash")"#,
            r#"Say(at: After(FirstPage, "2m"), role: "ops", input: "dash")"#,
        ],
    );
    assert_eq!(early["status"], "missed", "{early}");
    // A look after recovery does, on time.
    let late = verify_after(
        &drill,
        &[
            r#"Say(at: After(FirstPage, "1m"), role: "ops", input: "dash")"#,
            r#"Say(at: After(Recovered, "2m"), role: "ops", input: "dashboard")"#,
        ],
    );
    assert_eq!(late["status"], "on_time", "{late}");
    assert_eq!(late["earned"], 5, "{late}");
    assert_eq!(late["by"], "ops", "{late}");
    let at = late["at"].as_f64().unwrap();
    assert!(
        at >= late["recovered"].as_f64().unwrap() + 120.0,
        "the look that counted is the one after recovery: {late}"
    );
    // Too late: half the points.
    let slow = verify_after(
        &drill,
        &[r#"Say(at: After(Recovered, "9m"), role: "ops", input: "dash")"#],
    );
    assert_eq!(slow["status"], "late", "{slow}");
    assert_eq!(slow["earned"], 2, "{slow}");
    // Other looks count too: logs and metric.
    for (look, input) in [
        ("logs", "logs level=error"),
        ("metric", "metric latency_p95"),
    ] {
        let task = VERIFY.replace("Command(\"dash\")", &format!("Command(\"{look}\")"));
        let drill = load_str("mini.ron", &mini_with(&task)).expect("valid");
        let line = format!(r#"Say(at: After(Recovered, "1m"), role: "ops", input: "{input}")"#);
        let done = verify_after(&drill, &[&line]);
        assert_eq!(done["status"], "on_time", "{look}: {done}");
    }
}

#[test]
fn check_validates_look_tasks() {
    let at = VERIFY.replace(r#"After(Recovered, "5m")"#, r#"At("30m")"#);
    let e = load_str("mini.ron", &mini_with(&at)).unwrap_err();
    let text = e.plain().to_string();
    assert!(
        text.contains(
            "task `verify` is done by looking (`dash`), but its deadline has no event to look after"
        ) && text.contains("After(Recovered"),
        "{text}"
    );
    let alias = VERIFY.replace("Command(\"dash\")", "Command(\"dashboard\")");
    let text = load_str("mini.ron", &mini_with(&alias))
        .unwrap_err()
        .plain()
        .to_string();
    assert!(
        text.contains("write `dash`") || text.contains("alias of `dash`"),
        "{text}"
    );
    let typo = VERIFY.replace("Command(\"dash\")", "Command(\"dahs\")");
    let text = load_str("mini.ron", &mini_with(&typo))
        .unwrap_err()
        .plain()
        .to_string();
    assert!(text.contains("unknown command `dahs`"), "{text}");
    let counted = VERIFY.replace("Command(\"dash\")", "Count(Command(\"logs\"), 2)");
    assert!(load_str("mini.ron", &mini_with(&counted)).is_ok());
}

/// The checker's looking commands are the session's: `is_look` agrees with `LOOK_COMMANDS`
/// for every built-in command.
#[test]
fn the_checker_knows_the_looking_commands() {
    use firedrill::drill::validate::LOOK_COMMANDS;
    use firedrill::session::command::{BUILTINS, parse};
    let drill = load_str(MONDAY, include_str!("../../drills/monday-rush.ron")).unwrap();
    for (name, _, _) in BUILTINS {
        let line = match *name {
            "wait" => "wait 1m".to_owned(),
            "speed" => "speed 2".to_owned(),
            "metric" => "metric latency_p95".to_owned(),
            "declare" => "declare sev2".to_owned(),
            "assign" => "assign ops Ana".to_owned(),
            "update" | "note" | "diagnose" => format!("{name} x"),
            other => other.to_owned(),
        };
        let parsed = parse(&line, &drill).unwrap().unwrap();
        assert_eq!(
            parsed.command.is_look(),
            LOOK_COMMANDS.contains(name),
            "{name}"
        );
    }
}

// ---- --people without --team ----

#[test]
fn people_reach_the_debrief_without_a_team() {
    let dir = crate::scratch_dir("scripted", "people");
    let transcript = dir.join("t.jsonl");
    let page = dir.join("debrief.html");
    let o = firedrill(&[
        "play",
        MONDAY,
        "--reference",
        "--quiet",
        "--people",
        "ops=Ana,ic=Bo",
        "--transcript",
        s(&transcript),
        "--debrief",
        s(&page),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(!err(&o).contains("recorded"), "no store without --team");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Ana") && html.contains("Bo"),
        "the HTML names them"
    );
    // From the transcript, in every format: the people are inputs, kept in its header.
    let json = firedrill(&["debrief", s(&transcript), "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", err(&json));
    let debrief: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let person = |role: &str| {
        debrief["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == role)
            .map(|r| r["person"].clone())
            .unwrap()
    };
    assert_eq!(person("ops"), "Ana");
    assert_eq!(person("ic"), "Bo");
    // The reference assigns comms to someone itself; an unnamed role stays unassigned.
    assert!(person("scribe").is_null(), "{debrief}");
    let md = firedrill(&["debrief", s(&transcript), "--format", "md"]);
    let md = out(&md);
    assert!(md.contains("Ana") && md.contains("Bo"), "{md}");
    // A role the drill does not have is refused before anything plays.
    let bad = firedrill(&["play", MONDAY, "--reference", "--people", "pilot=Ana"]);
    assert_eq!(bad.status.code(), Some(2), "{}", err(&bad));
    assert!(err(&bad).contains("no role `pilot`"), "{}", err(&bad));
    assert_eq!(out(&bad), "");
}
