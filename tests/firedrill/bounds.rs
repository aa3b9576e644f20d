//! Nothing crashes (issue 12): exports that stay valid whatever the drill's strings hold, a
//! `/metrics` endpoint that bounds what a client can make it hold, drills whose run would be
//! too big refused by `check`, bounded `simulate` and `calibrate`, and a seeded fuzz of the
//! drill loader.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use firedrill::export::{self, Format, Settings};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn monday_text() -> String {
    std::fs::read_to_string(root().join("drills/monday-rush.ron")).expect("monday-rush")
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bounds-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// The value of a `key: "..."` line, decoded (the export's quoting is valid JSON too).
fn quoted_value(line: &str, key: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix(key)?.strip_prefix(": ")?;
    Some(serde_json::from_str(rest).expect("a quoted scalar"))
}

/// `text` as a RON string literal.
fn ron_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

const HOSTILE_NAME: &str = "evil\"\nname: injected\r\n# \u{85}x\u{2028}y\u{7f}\u{1b}[2J";
const HOSTILE_SUMMARY: &str = "p95 \"high\"\n  annotations: {x: 1}\u{85}\u{2029}\u{9b}\u{feff}";
const HOSTILE_RUNBOOK: &str = "https://x/\"\n- alert: Injected\\";

#[test]
fn exported_rules_quote_hostile_drill_names_summaries_and_runbooks() {
    let text = monday_text()
        .replace("\"monday-rush\"", &ron_string(HOSTILE_NAME))
        .replace("duration: \"2h\"", "duration: \"45m\"")
        .replace(
            "\"Aria p95 latency is above 5 s\"",
            &format!(
                "{}, runbook: {}",
                ron_string(HOSTILE_SUMMARY),
                ron_string(HOSTILE_RUNBOOK)
            ),
        );
    let drill = firedrill::drill::load_str("hostile.ron", &text).expect("the hostile drill loads");
    let run = export::run_drill(drill, None);
    let settings = |format| Settings {
        format,
        start_ms: None,
        rule_file: "rules.yml".into(),
    };
    let rules = export::render(&run, &settings(Format::PrometheusRules));
    let test = export::render(&run, &settings(Format::PromtoolTest));
    for (what, yaml) in [("rules", &rules), ("rule test", &test)] {
        for (n, line) in yaml.lines().enumerate() {
            assert!(
                !line
                    .chars()
                    .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')),
                "{what} line {n} holds a raw control or line-break character: {line:?}"
            );
            let trimmed = line.trim_start();
            assert!(
                line.starts_with('#')
                    || trimmed.starts_with("- ")
                    || trimmed.split_once(':').is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    }),
                "{what} line {n} is not a comment, an item or a plain key: {line:?}"
            );
            assert!(
                !trimmed.starts_with("name: injected") && !trimmed.starts_with("- alert: Injected"),
                "{what} line {n} was injected: {line:?}"
            );
        }
    }
    // Each hostile string reads back as itself.
    let lines: Vec<&str> = rules.lines().collect();
    let group = lines
        .iter()
        .find_map(|l| quoted_value(l, "- name"))
        .expect("group name");
    assert_eq!(group, format!("firedrill-{HOSTILE_NAME}"));
    let summaries: Vec<String> = lines
        .iter()
        .filter_map(|l| quoted_value(l, "summary"))
        .collect();
    assert!(summaries.iter().any(|s| s == HOSTILE_SUMMARY), "{rules}");
    let runbooks: Vec<String> = lines
        .iter()
        .filter_map(|l| quoted_value(l, "runbook_url"))
        .collect();
    assert_eq!(runbooks, [HOSTILE_RUNBOOK]);
    // The same drill with a plain name gives the same number of lines: nothing was added.
    let plain = firedrill::drill::load_str(
        "plain.ron",
        &monday_text().replace("duration: \"2h\"", "duration: \"45m\""),
    )
    .expect("loads");
    let plain_rules = export::render(
        &export::run_drill(plain, None),
        &settings(Format::PrometheusRules),
    );
    assert_eq!(
        rules.lines().count(),
        plain_rules.lines().count() + 1,
        "{rules}"
    );

    if promtool_installed() {
        let dir = scratch("hostile-rules");
        std::fs::write(dir.join("rules.yml"), &rules).expect("write");
        let (ok, out) = crate::prometheus::promtool(&["check", "rules", "rules.yml"], None, &dir);
        assert!(ok, "promtool check rules:\n{out}\n{rules}");
        assert!(out.contains("3 rules found"), "{out}");
    } else {
        eprintln!("skipped promtool check rules: promtool not found");
    }
}

fn promtool_installed() -> bool {
    Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn firedrill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("firedrill runs")
}

#[test]
fn calibrate_refuses_runs_beyond_its_maximum_before_allocating() {
    for args in [
        &[
            "calibrate",
            "tests/data/mini-rush.ron",
            "--runs",
            "1000000000",
        ][..],
        &[
            "calibrate",
            "tests/data/mini-rush.ron",
            "--runs",
            "4294967295",
            "--shard",
            "1/8",
        ],
        &["list", "--calibrate", "--runs", "1000000000"],
    ] {
        let out = firedrill(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is more than the 100000 seeds one calibration keeps")
                && err.contains("--shard"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn calibrate_caps_jobs_at_the_run_count_and_refuses_absurd_jobs() {
    let out = firedrill(&["calibrate", "tests/data/mini-rush.ron", "--jobs", "100000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--jobs 100000 is more than 1024 worker threads"),
        "{err}"
    );
    // As many jobs as allowed on one seed: two threads are started, and the report is the
    // one a single job gives.
    let run = |jobs: &str| {
        let out = firedrill(&[
            "calibrate",
            "tests/data/mini-rush.ron",
            "--runs",
            "1",
            "--json",
            "--jobs",
            jobs,
        ]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        json["wall_seconds"] = serde_json::Value::Null;
        json
    };
    assert_eq!(run("1024"), run("1"));
}
