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
