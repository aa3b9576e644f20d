//! Live drills end to end, through the binary: scripted sessions on a pipe, transcripts,
//! replay, resume after a kill, and the scripted reference team.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const MONDAY: &str = "drills/monday-rush.ron";

/// A scripted team on monday-rush: ack, declare, throttle, scale, notes, resolve.
const SCRIPT: &str = "\
help
wait until page
ops: ack
ic: declare sev2
assign comms sam
scribe: note \"Paged on latency; pool db at 20/20\"
ops: diagnose db-pool-exhaustion
trottle rps=150
ops: throttle rps=150
scale-pool size=40
wait 5m
scribe: note \"Throttled at 150 rps, pool resizing to 40\"
comms: update \"Aria is answering slowly; we are investigating\"
wait 15m
ic: resolve
scribe: note \"recovered\"
wait 10m
end
";

fn firedrill(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("stdin takes the script");
    child.wait_with_output().expect("the binary finishes")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn temp(name: &str) -> PathBuf {
    crate::temp_file("session", name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The summary that closes a live run's output.
fn closing_summary(out: &str) -> &str {
    &out[out.find("\n== ").map_or(0, |i| i + 1)..]
}

#[test]
fn scripted_session_shows_the_incident_and_replays_exactly() {
    let t = temp("scripted.jsonl");
    let live = stdout(&firedrill(&["run", MONDAY, "--transcript", s(&t)], SCRIPT));
    for expected in [
        "FIRING   DbAcquireTimeouts [PAGE]",
        "error: unknown command `trottle` (did you mean `throttle`?)",
        "throttle: ordered; takes effect in 1m",
        "throttle has taken effect",
        "scale-pool has taken effect",
        "resolved DbAcquireTimeouts",
        "resolved AriaLatencyHigh",
        "Support lead: \"Three customers say Aria quoted them the wrong refund policy.\"",
        "ended by the team",
    ] {
        assert!(live.contains(expected), "missing `{expected}` in:\n{live}");
    }
    let replayed = stdout(&firedrill(&["replay", s(&t)], ""));
    assert_eq!(closing_summary(&live), replayed);

    // The JSON summary of a live run equals the replay's, byte for byte.
    let t2 = temp("scripted-json.jsonl");
    let live_json = stdout(&firedrill(
        &["run", MONDAY, "--json", "--transcript", s(&t2)],
        SCRIPT,
    ));
    let replay_json = stdout(&firedrill(&["replay", s(&t2), "--json"], ""));
    let start = live_json.find("\n{\n").expect("a JSON summary at the end") + 1;
    assert_eq!(&live_json[start..], replay_json);
    let v: Value = serde_json::from_str(&replay_json).unwrap();
    assert_eq!(v["team"]["severity"], 2);
    assert_eq!(v["team"]["wrong_diagnoses"], 0);
    assert_eq!(v["ended_by"], "end");
    // The refused line is not in the transcript: header + 17 accepted commands.
    assert_eq!(std::fs::read_to_string(&t2).unwrap().lines().count(), 18);
}

#[test]
fn a_killed_session_resumes_to_the_same_transcript_and_summary() {
    let whole = temp("whole.jsonl");
    let whole_out = stdout(&firedrill(
        &["run", MONDAY, "--transcript", s(&whole)],
        SCRIPT,
    ));
    let text = std::fs::read_to_string(&whole).unwrap();

    // A kill leaves the lines written so far, maybe with a torn last line.
    for kept in [1, 4, 9, 12] {
        let killed = temp(&format!("killed-{kept}.jsonl"));
        let mut partial: String = text
            .lines()
            .take(kept + 1)
            .flat_map(|l| [l, "\n"])
            .collect();
        partial.push_str("{\"at_ns\":12");
        std::fs::write(&killed, &partial).unwrap();
        // The rest of the script: the lines after the `kept` accepted commands (the
        // refused `trottle` line is the 8th script line and was never accepted).
        let script_lines: Vec<&str> = SCRIPT.lines().collect();
        let typed = if kept >= 7 { kept + 1 } else { kept };
        let rest: String = script_lines[typed..]
            .iter()
            .flat_map(|l| [*l, "\n"])
            .collect();
        let out = stdout(&firedrill(&["run", "--resume", s(&killed)], &rest));
        assert!(out.starts_with("resuming monday-rush"), "{out}");
        assert_eq!(
            std::fs::read_to_string(&killed).unwrap(),
            text,
            "transcript after resuming at {kept}"
        );
        assert_eq!(
            closing_summary(&out),
            closing_summary(&whole_out),
            "summary after resuming at {kept}"
        );
    }
}

#[test]
fn the_reference_response_recovers_and_every_page_resolves() {
    let t = temp("reference.jsonl");
    let out = firedrill(
        &[
            "play",
            MONDAY,
            "--reference",
            "--json",
            "--quiet",
            "--transcript",
            s(&t),
        ],
        "",
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["truth"]["recovered_seconds"].is_number(), "{v:#}");
    for alert in v["simulation"]["alerts"].as_array().unwrap() {
        let fired = alert["fired_at_seconds"].as_array().unwrap().len();
        let resolved = alert["resolved_at_seconds"].as_array().unwrap().len();
        assert_eq!(
            fired, resolved,
            "{} still firing at the end: {alert}",
            alert["name"]
        );
    }
    assert_eq!(v["ended_by"], "duration");
    assert_eq!(
        v["points"]["earned"], v["points"]["possible"],
        "the reference earns every point: {:#}",
        v["checklist"]
    );
    // Its transcript replays to the same summary.
    let replayed: Value =
        serde_json::from_str(&stdout(&firedrill(&["replay", s(&t), "--json"], ""))).unwrap();
    assert_eq!(replayed, v);
}

#[test]
fn with_no_team_the_pages_keep_firing() {
    let out = stdout(&firedrill(&["run", MONDAY, "--json"], "wait 2h\n"));
    let v: Value = serde_json::from_str(&out[out.find("\n{\n").unwrap() + 1..]).unwrap();
    assert!(v["truth"]["recovered_seconds"].is_null());
    let pages: Vec<&Value> = v["simulation"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["severity"] == "page")
        .collect();
    assert!(
        pages
            .iter()
            .all(|a| a["resolved_at_seconds"].as_array().unwrap().is_empty()),
        "{pages:?}"
    );
    assert!(
        v["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "missed")
    );
}

#[test]
fn refused_lines_change_nothing() {
    let clean = "wait 50m\nops: ack\nwait 10m\nend\n";
    let noisy = "wait 50m\nops: ack\nopps: ack\nack NoSuchAlert\nthrottle\nthrottle rps=-5\ndeclare high\nwait 0s\nnote\nwait 10m\nend\n";
    let (a, b) = (temp("clean.jsonl"), temp("noisy.jsonl"));
    let out = stdout(&firedrill(&["run", MONDAY, "--transcript", s(&a)], clean));
    let noisy_out = stdout(&firedrill(&["run", MONDAY, "--transcript", s(&b)], noisy));
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read_to_string(&b).unwrap()
    );
    assert_eq!(closing_summary(&out), closing_summary(&noisy_out));
    for message in [
        "error: no role `opps` (did you mean `ops:`?)",
        "error: no alert `NoSuchAlert`",
        "error: `throttle` needs rps=N",
        "error: rps must be a number ≥ 0, not -5",
        "error: `high` is not a severity",
        "error: `wait` needs a duration above zero",
        "error: `note` needs the note's text",
    ] {
        assert!(
            noisy_out.contains(message),
            "missing `{message}` in:\n{noisy_out}"
        );
    }
}

#[test]
fn transcripts_that_do_not_fit_are_refused_clearly() {
    let t = temp("tampered.jsonl");
    stdout(&firedrill(
        &["run", MONDAY, "--transcript", s(&t)],
        "wait 1m\nend\n",
    ));
    let text = std::fs::read_to_string(&t)
        .unwrap()
        .replace("size: 20", "size: 21");
    std::fs::write(&t, text).unwrap();
    let out = firedrill(&["replay", s(&t)], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its recorded SHA-256"));

    let missing = firedrill(&["replay", "no/such/transcript.jsonl"], "");
    assert_eq!(missing.status.code(), Some(2));
    let garbage = temp("garbage.jsonl");
    std::fs::write(&garbage, "not json\n").unwrap();
    let out = firedrill(&["replay", s(&garbage)], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1: not a firedrill transcript header"));
}

/// `play --json` carries the score as the debrief's JSON has it: the total, its parts and the
/// arithmetic; `replay --json` of its transcript says the same.
#[test]
fn play_json_carries_the_debriefs_score() {
    let t = temp("scored.jsonl");
    let mini = "tests/data/mini-rush.ron";
    let played = firedrill(
        &[
            "play",
            mini,
            "--reference",
            "--json",
            "--quiet",
            "--transcript",
            s(&t),
        ],
        "",
    );
    let v: Value = serde_json::from_str(&stdout(&played)).unwrap();
    let debrief: Value = serde_json::from_str(&stdout(&firedrill(
        &["debrief", s(&t), "--format", "json"],
        "",
    )))
    .unwrap();
    assert!(v["score"].is_u64(), "{v:#}");
    assert_eq!(v["score"], debrief["score"]);
    assert_eq!(v["scoring"], debrief["scoring"]);
    let arithmetic = v["scoring"]["arithmetic"].as_str().unwrap();
    assert!(
        arithmetic.ends_with(&format!("→ {}", v["score"])),
        "{arithmetic}"
    );
    // The summary is still all there beside it.
    assert!(
        v["checklist"].is_array() && v["simulation"].is_object(),
        "{v:#}"
    );
    let replayed: Value =
        serde_json::from_str(&stdout(&firedrill(&["replay", s(&t), "--json"], ""))).unwrap();
    assert_eq!(replayed, v);
}
