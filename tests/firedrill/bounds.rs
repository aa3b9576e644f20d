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
    crate::scratch_dir("bounds", name)
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

    if crate::tools::promtool("exported_rules_quote_hostile_drill_names_summaries_and_runbooks")
        .is_some()
    {
        let dir = scratch("hostile-rules");
        std::fs::write(dir.join("rules.yml"), &rules).expect("write");
        let (ok, out) = crate::prometheus::promtool(&["check", "rules", "rules.yml"], None, &dir);
        assert!(ok, "promtool check rules:\n{out}\n{rules}");
        assert!(out.contains("3 rules found"), "{out}");
    }
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

/// monday-rush with each `(from, to)` replaced once.
fn monday_with(edits: &[(&str, &str)]) -> String {
    let mut text = monday_text();
    for (from, to) in edits {
        assert!(text.contains(from), "monday-rush has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

/// The problems `check` reports for `text`, as `line:column message`.
fn problems(text: &str) -> Vec<String> {
    match firedrill::drill::load_str("probe.ron", text) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| format!("{}:{} {}", p.line(), p.column(), p.message()))
            .collect(),
    }
}

#[test]
fn check_refuses_drills_whose_run_would_be_too_big() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("start_rps: 20.0", "start_rps: 1e308")],
            "20:20 a rate of requests of 1.0e308 requests per second is beyond the most a drill may use, 1000000",
        ),
        (
            &[("start_rps: 20.0", "start_rps: 1e12")],
            "20:20 a rate of requests of 1.0e12",
        ),
        (
            &[("TrafficMultiplier(3.0)", "TrafficMultiplier(1e308)")],
            "46:86 a traffic multiplier of 1.0e308 times is beyond the most a drill may use, 1000 times",
        ),
        (
            &[(
                "seed: 7,",
                "seed: 7, telemetry: Telemetry(bucket: \"1ns\"),",
            )],
            "metric buckets of 1ns over 2h would be 7.2e12; the most is 1000000",
        ),
        (
            &[("duration: \"2h\"", "duration: \"36000d\"")],
            "15:15 the drill lasts 864000h; the most is 366 days",
        ),
        (
            &[("max_in_flight: 1000", "max_in_flight: 1000000000000")],
            "an in-flight limit of 1.0e12 requests is beyond the most",
        ),
        (
            &[(
                "Fault(name: \"monday-surge\"",
                "Fault(name: \"cap\", at: \"1m\", effect: MaxInFlight(limit: 1e300)),\n        Fault(name: \"monday-surge\"",
            )],
            "an in-flight limit of 1.0e300 requests is beyond the most",
        ),
        (
            &[(
                "max_in_flight: 1000,",
                "max_in_flight: 1000, cost_per_1k_tokens: 1e308,",
            )],
            "a price of 1.0e308 dollars per thousand tokens is beyond the most a drill may use, 1000",
        ),
        (
            &[(
                "Pool(name: \"db\", size: 20",
                "Pool(name: \"db\", size: 4294967296",
            )],
            "a pool's size of 4.3e9 connections is beyond the most a drill may use, 100000",
        ),
        // Each value within its limit, but together too much: 24 hours at 100 000 rps,
        // tripled by the surge.
        (
            &[
                ("start_rps: 20.0", "start_rps: 100000.0"),
                ("to_rps: 70.0", "to_rps: 100000.0"),
                ("duration: \"2h\"", "duration: \"24h\""),
            ],
            "23:40 a run would handle about 7.8e10 events: a peak of 100000 requests/s × 3 from traffic multipliers over 24h (86400 s), each of 1 arrival + 2 steps; the most is 1.0e10 events",
        ),
    ];
    for (edits, expected) in cases {
        let found = problems(&monday_with(edits));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{edits:?}: expected `{expected}` among {found:#?}"
        );
    }
}

#[test]
fn check_passes_long_real_drills_within_the_limits() {
    // 30 days at 100 rps (with the surge) and 24 hours at 10 000 rps are real drills.
    for edits in [
        &[
            ("start_rps: 20.0", "start_rps: 100.0"),
            ("to_rps: 70.0", "to_rps: 100.0"),
            ("duration: \"2h\"", "duration: \"30d\""),
        ][..],
        &[
            ("start_rps: 20.0", "start_rps: 10000.0"),
            ("to_rps: 70.0", "to_rps: 10000.0"),
            ("duration: \"2h\"", "duration: \"24h\""),
        ],
    ] {
        let found = problems(&monday_with(edits));
        assert!(found.is_empty(), "{edits:?}: {found:#?}");
    }
}

#[test]
fn simulate_keeps_bounded_telemetry_and_the_same_summary() {
    use firedrill::sim::{RunOptions, Sim, Summary};
    for name in ["monday-rush", "token-blowup", "llm-provider-429"] {
        let path = root().join(format!("drills/{name}.ron"));
        let drill = firedrill::drill::load_file(&path).expect("loads");
        // Four times the drill's length, so the kept buckets would have grown fourfold.
        let options = RunOptions {
            duration: Some(firedrill::drill::Duration::from_nanos(
                drill.duration.as_nanos() * 4,
            )),
            ..RunOptions::default()
        };
        let full = firedrill::sim::simulate(&drill, &options);
        let mut sim = Sim::new(&drill, &options);
        sim.bound_telemetry();
        let mut most = 0;
        let end = sim.end().nanos();
        for slice in 1..=40 {
            sim.run_until(firedrill::sim::SimTime::from_nanos(end / 40 * slice));
            most = most.max(sim.telemetry().buckets().len());
            assert!(sim.telemetry().log().is_empty(), "{name}: the log is kept");
        }
        sim.run_to_end();
        let bucket = drill.telemetry.bucket.as_nanos();
        let look_back =
            (drill.telemetry.window.as_nanos() + drill.telemetry.eval_delay.as_nanos()) / bucket;
        let all = end / bucket;
        assert!(
            (most as u64) < 4 * (look_back + 2) && (most as u64) < all / 2,
            "{name}: {most} buckets kept of {all}"
        );
        let bounded = Summary::of(&sim, &drill);
        assert_eq!(
            serde_json::to_string(&bounded).expect("json"),
            serde_json::to_string(&full).expect("json"),
            "{name}"
        );
    }
}

#[test]
fn simulate_output_is_the_same_with_bounded_telemetry() {
    let path = "drills/monday-rush.ron";
    let out = firedrill(&["simulate", path, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let mut printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let drill = firedrill::drill::load_file(&root().join(path)).expect("loads");
    let full = firedrill::sim::simulate(&drill, &firedrill::sim::RunOptions::default());
    let mut expected = serde_json::to_value(&full).expect("json");
    for v in [&mut printed, &mut expected] {
        v["wall_seconds"] = serde_json::Value::Null;
        v["events_per_second"] = serde_json::Value::Null;
    }
    assert_eq!(printed, expected);
    let out = firedrill(&["simulate", path, "--duration", "400d"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("longer than a drill may last"));
}

/// Numbers and durations that break naive code: extremes, zero, negatives, NaN-ish text.
const EXTREMES: &[&str] = &[
    "1e308",
    "-1e308",
    "1e400",
    "-1",
    "0",
    "0.0",
    "1e-308",
    "NaN",
    "inf",
    "-inf",
    "18446744073709551616",
    "9223372036854775807",
    "4294967296",
    "\"0s\"",
    "\"1ns\"",
    "\"36000d\"",
    "\"99999999999999d\"",
    "\"-5m\"",
    "\"nan s\"",
    "\"1e308s\"",
];

/// One mutation aimed at values and structure: a number or duration replaced by an
/// extreme, a span deleted or duplicated, random bytes, or deep nesting.
fn mutate_values(text: &str, rng: &mut rand::rngs::ChaCha8Rng) -> String {
    use rand::RngExt;
    let boundary = |rng: &mut rand::rngs::ChaCha8Rng, text: &str| {
        let mut i = rng.random_range(0..=text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match rng.random_range(0..10) {
        // Replace a number (a run of digits, dots and signs) or a quoted duration.
        0..=5 => {
            let spans: Vec<(usize, usize)> = value_spans(text);
            if spans.is_empty() {
                return text.to_owned();
            }
            let (a, b) = spans[rng.random_range(0..spans.len())];
            let with = EXTREMES[rng.random_range(0..EXTREMES.len())];
            format!("{}{with}{}", &text[..a], &text[b..])
        }
        6 => {
            let a = boundary(rng, text);
            let b = boundary(rng, &text[a..]) + a;
            let b = b.min(a + 200);
            let b = (b..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            if rng.random_bool(0.5) {
                format!("{}{}", &text[..a], &text[b..])
            } else {
                format!("{}{}{}", &text[..b], &text[a..b], &text[b..])
            }
        }
        7 => {
            let a = boundary(rng, text);
            let bytes: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
            format!(
                "{}{}{}",
                &text[..a],
                String::from_utf8_lossy(&bytes),
                &text[a..]
            )
        }
        8 => {
            let a = boundary(rng, text);
            let depth = rng.random_range(1..2000);
            let open = ["(", "[", "Some(", "{"][rng.random_range(0..4)];
            format!("{}{}{}", &text[..a], open.repeat(depth), &text[a..])
        }
        _ => {
            // Every number of one kind replaced at once: a whole drill of extremes.
            let with = EXTREMES[rng.random_range(0..EXTREMES.len())];
            let mut out = String::new();
            let mut last = 0;
            for (a, b) in value_spans(text) {
                if rng.random_bool(0.3) {
                    out.push_str(&text[last..a]);
                    out.push_str(with);
                    last = b;
                }
            }
            out.push_str(&text[last..]);
            out
        }
    }
}

/// Where numbers (`20`, `0.7`, `-1`) and quoted durations (`"5m"`) are in `text`.
fn value_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let after_word = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if c.is_ascii_digit() && !after_word {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit() || matches!(bytes[i], b'.' | b'e' | b'-' | b'+'))
            {
                i += 1;
            }
            spans.push((start, i));
        } else if c == b'"' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let start = i;
            let end = text[i + 1..].find('"').map(|j| i + 1 + j + 1);
            match end {
                Some(end)
                    if end - start < 16
                        && text[start + 1..end - 1]
                            .bytes()
                            .any(|b| b.is_ascii_alphabetic()) =>
                {
                    spans.push((start, end));
                    i = end;
                }
                _ => i += 1,
            }
        } else {
            i += 1;
        }
    }
    spans
}

#[test]
fn fuzzed_drills_load_with_diagnostics_or_run_without_panicking() {
    use firedrill::sim::{RunOptions, Sim, SimTime};
    use rand::{RngExt, SeedableRng};
    // FIREDRILL_FUZZ_CASES sets the cases per built-in drill (default a few seconds' worth).
    let cases: usize = std::env::var("FIREDRILL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(12);
    let (mut refused, mut ran) = (0, 0);
    for (name, original) in firedrill::drill::library::BUILTIN {
        for case in 0..cases {
            let mut text = (*original).to_owned();
            for _ in 0..rng.random_range(1..=4) {
                text = mutate_values(&text, &mut rng);
            }
            let context = || format!("{name} case {case}:\n---\n{text}");
            let result = std::panic::catch_unwind(|| firedrill::drill::load_str(name, &text));
            let Ok(result) = result else {
                panic!("the loader panicked on {}", context());
            };
            match result {
                Err(error) => {
                    refused += 1;
                    assert!(!error.problems().is_empty(), "no problems: {}", context());
                    for p in error.problems() {
                        assert!(!p.message().is_empty(), "{}", context());
                    }
                }
                Ok(drill) => {
                    ran += 1;
                    // A bounded horizon: about a million arrivals at the drill's peak with the largest
                    // multiplier allowed (far fewer at its real peak).
                    let peak = drill
                        .traffic
                        .stages
                        .iter()
                        .map(|s| s.to_rps)
                        .fold(drill.traffic.start_rps, f64::max)
                        .max(1.0)
                        * 1000.0;
                    let horizon = (1e6 / peak).clamp(0.01, 30.0);
                    let run = std::panic::catch_unwind(|| {
                        let mut sim = Sim::new(&drill, &RunOptions::default());
                        sim.bound_telemetry();
                        sim.run_until(SimTime::from_nanos((horizon * 1e9) as u64));
                        firedrill::sim::Summary::of(&sim, &drill)
                    });
                    assert!(
                        run.is_ok(),
                        "a drill that passed check panicked: {}",
                        context()
                    );
                }
            }
        }
    }
    assert!(refused > 0 && ran > 0, "refused {refused}, ran {ran}");
}
