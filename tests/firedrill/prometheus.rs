//! Prometheus, OpenMetrics and logs (issue 6), checked with the real tools: `promtool check
//! metrics`, `check rules`, `test rules` and `tsdb create-blocks-from openmetrics` on exports
//! of monday-rush, and a scrape of `/metrics` from a live run. promtool comes from Debian's
//! `prometheus` package (`.ci/run` installs it).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use firedrill::export::{self, Format, Run, Settings};
use firedrill::sim::{RunOptions, Summary};
use firedrill::telemetry::prometheus::{encode_text, markdown_table};

const MONDAY: &str = "drills/monday-rush.ron";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    crate::scratch_dir("prometheus", name)
}

/// Runs promtool (a test first asks [`crate::tools::promtool`] whether it is installed).
pub(crate) fn promtool(args: &[&str], stdin: Option<&str>, dir: &Path) -> (bool, String) {
    let child = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool is not installed: these tests need it. Install Debian's prometheus package: \
             apt-get update && apt-get install -y prometheus (.ci/run does this)"
        ),
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    let mut input = child.stdin.take().expect("piped");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .expect("promtool reads stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("promtool finishes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn monday() -> &'static (Run, Summary) {
    static RUN: OnceLock<(Run, Summary)> = OnceLock::new();
    RUN.get_or_init(|| {
        let drill = firedrill::drill::load_file(&root().join(MONDAY)).expect("monday-rush loads");
        let summary = firedrill::sim::simulate(&drill, &RunOptions::default());
        (export::run_drill(drill, None), summary)
    })
}

fn render(format: Format) -> String {
    export::render(
        &monday().0,
        &Settings {
            format,
            start_ms: None,
            rule_file: "rules.yml".into(),
        },
    )
}

/// The last value of each series in `promtool tsdb dump` output, by series text.
fn last_values(dump: &str) -> BTreeMap<String, (i64, f64)> {
    let mut last: BTreeMap<String, (i64, f64)> = BTreeMap::new();
    for line in dump.lines().filter(|l| l.starts_with('{')) {
        let Some(close) = line.rfind('}') else {
            continue;
        };
        let mut rest = line[close + 1..].split_whitespace();
        let (Some(v), Some(t)) = (rest.next(), rest.next()) else {
            continue;
        };
        let (v, t): (f64, i64) = (v.parse().expect("value"), t.parse().expect("timestamp"));
        let entry = last.entry(line[..=close].to_owned()).or_insert((t, v));
        if t >= entry.0 {
            *entry = (t, v);
        }
    }
    last
}

#[test]
fn openmetrics_export_backfills_and_matches_the_summary() {
    if crate::tools::promtool("openmetrics_export_backfills_and_matches_the_summary").is_none() {
        return;
    }
    let dir = scratch("openmetrics");
    let text = render(Format::Openmetrics);
    assert!(text.ends_with("# EOF\n"));
    std::fs::write(dir.join("rush.om"), &text).expect("write");
    let (ok, out) = promtool(
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "rush.om",
            "tsdb",
        ],
        None,
        &dir,
    );
    assert!(ok, "create-blocks-from openmetrics failed:\n{out}");
    // `tsdb dump` opens the directory as a database, which needs a WAL directory.
    std::fs::create_dir_all(dir.join("tsdb/wal")).expect("wal directory");
    let (ok, dump) = promtool(&["tsdb", "dump", "tsdb"], None, &dir);
    assert!(ok, "tsdb dump failed:\n{dump}");
    let last = last_values(&dump);
    let value = |series: &str| {
        last.get(series)
            .unwrap_or_else(|| panic!("no series {series} in the TSDB"))
            .1
    };
    let summary = &monday().1;
    let r = &summary.requests;
    let service = "service=\"aria\"}";
    let expect = [
        ("firedrill_requests_arrived_total", r.arrived),
        ("firedrill_requests_admitted_total", r.admitted),
        ("firedrill_requests_completed_total", r.completed),
        ("firedrill_requests_failed_total", r.failed),
        ("firedrill_requests_rejected_total", r.rejected),
        ("firedrill_answers_degraded_total", r.degraded),
        ("firedrill_request_duration_seconds_count", r.completed),
    ];
    for (name, want) in expect {
        assert_eq!(
            value(&format!("{{__name__=\"{name}\", {service}")),
            want as f64,
            "{name}"
        );
    }
    let db = &summary.pools["db"];
    let pool = |name: &str| value(&format!("{{__name__=\"{name}\", pool=\"db\", {service}"));
    assert_eq!(
        pool("firedrill_pool_connection_timeouts_total"),
        db.timed_out as f64
    );
    assert_eq!(
        pool("firedrill_pool_connections_acquired_total"),
        db.acquired as f64
    );
    assert!(db.timed_out > 0, "monday-rush times out: {db:?}");
    let names: Vec<&str> = summary.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["retrieve", "generate"]);
    for s in &summary.steps {
        let step = |name: &str| {
            value(&format!(
                "{{__name__=\"{name}\", service=\"aria\", step=\"{}\"}}",
                s.name
            ))
        };
        assert_eq!(step("firedrill_step_calls_total"), s.calls as f64, "{s:?}");
        assert_eq!(
            step("firedrill_step_errors_total"),
            s.errors as f64,
            "{s:?}"
        );
        assert_eq!(
            step("firedrill_step_skipped_total"),
            s.skipped as f64,
            "{s:?}"
        );
        let mean = step("firedrill_step_seconds_total") / s.calls as f64;
        assert!(
            (mean - s.time_mean_seconds).abs() < 1e-9 * s.time_mean_seconds,
            "{s:?}: {mean}"
        );
    }
    // Degraded answers skipped the step whose connection wait timed out: retrieve.
    assert_eq!(summary.steps[0].skipped, db.timed_out);
    assert_eq!(summary.steps[1].calls, r.completed);
    // The run spans the drill: two hours from 08:45 on the default date.
    let (t, _) = last[&format!("{{__name__=\"firedrill_requests_arrived_total\", {service}")];
    assert_eq!(t, 1_767_602_700_000 + 7_200_000);
}

#[test]
fn step_alerts_export_as_rules_that_fire_when_the_drill_alerts_fired() {
    if crate::tools::promtool("step_alerts_export_as_rules_that_fire_when_the_drill_alerts_fired")
        .is_none()
    {
        return;
    }
    let dir = scratch("step-rules");
    let drill = firedrill::drill::load_file(&root().join("tests/data/step-alerts.ron"))
        .expect("the step-alerts drill loads");
    let run = export::run_drill(drill, None);
    assert!(run.alerts.iter().any(|(_, s)| !s.fired_at.is_empty()));
    let settings = |format| Settings {
        format,
        start_ms: None,
        rule_file: "rules.yml".into(),
    };
    let rules = export::render(&run, &settings(Format::PrometheusRules));
    for (step, threshold) in [("llm", "0.3"), ("query", "0.05")] {
        let label = format!("{{service=\\\"s\\\",step=\\\"{step}\\\"}}");
        let expr = format!(
            "rate(firedrill_step_seconds_total{label}[1m]) / rate(firedrill_step_calls_total{label}[1m]) > {threshold}"
        );
        assert!(rules.contains(&expr), "{expr} not in\n{rules}");
    }
    std::fs::write(dir.join("rules.yml"), &rules).expect("write");
    let (ok, out) = promtool(&["check", "rules", "rules.yml"], None, &dir);
    assert!(
        ok && out.contains("3 rules found"),
        "promtool check rules:\n{out}\n{rules}"
    );
    let test = export::render(&run, &settings(Format::PromtoolTest));
    std::fs::write(dir.join("rules-test.yml"), &test).expect("write");
    let (ok, out) = promtool(&["test", "rules", "rules-test.yml"], None, &dir);
    assert!(ok, "promtool test rules:\n{out}");
}

#[test]
fn exported_rules_pass_promtool_and_fire_when_the_drill_alerts_fired() {
    if crate::tools::promtool("exported_rules_pass_promtool_and_fire_when_the_drill_alerts_fired")
        .is_none()
    {
        return;
    }
    let dir = scratch("rules");
    let rules = render(Format::PrometheusRules);
    std::fs::write(dir.join("rules.yml"), &rules).expect("write");
    let (ok, out) = promtool(&["check", "rules", "rules.yml"], None, &dir);
    assert!(ok, "promtool check rules:\n{out}\n{rules}");
    assert!(out.contains("3 rules found"), "{out}");
    for alert in ["AriaLatencyHigh", "DbAcquireTimeouts", "DbPoolSaturated"] {
        assert!(rules.contains(&format!("alert: \"{alert}\"")), "{rules}");
    }
    assert!(rules.contains("for: 3m") && rules.contains("severity: \"ticket\""));
    // Every drill alert fired in this run, so every rule is tested firing.
    let run = &monday().0;
    assert!(run.alerts.iter().all(|(_, s)| !s.fired_at.is_empty()));
    let test = render(Format::PromtoolTest);
    std::fs::write(dir.join("rules-test.yml"), &test).expect("write");
    let (ok, out) = promtool(&["test", "rules", "rules-test.yml"], None, &dir);
    assert!(ok, "promtool test rules:\n{out}");
}

#[test]
fn metrics_text_passes_promtool_check_metrics() {
    if crate::tools::promtool("metrics_text_passes_promtool_check_metrics").is_none() {
        return;
    }
    let run = &monday().0;
    let dir = scratch("check-metrics");
    for snapshot in [&run.snapshots[0], &run.snapshots[run.snapshots.len() / 2]] {
        let text = encode_text(snapshot);
        let (ok, out) = promtool(&["check", "metrics"], Some(&text), &dir);
        assert!(ok, "promtool check metrics:\n{out}\n{text}");
    }
}

#[test]
fn logs_export_is_json_lines() {
    let text = render(Format::Logs);
    let mut lines = 0;
    let mut warn = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        let ts = v["timestamp"].as_str().expect("timestamp");
        assert!(
            ts.len() == 24 && ts.starts_with("2026-01-05T") && ts.ends_with('Z'),
            "{ts}"
        );
        assert!(
            v["request_id"].is_u64() && v["message"].is_string(),
            "{line}"
        );
        assert!(v["fields"]["event"].is_string(), "{line}");
        assert!(v.get("step").is_some() && v["service"] == "aria", "{line}");
        warn += usize::from(v["level"] == "warn");
        lines += 1;
    }
    assert!(lines > 100 && warn > 0, "{lines} lines, {warn} warnings");
}

#[test]
fn export_command_reads_drills_and_transcripts() {
    let dir = scratch("cli");
    let bin = env!("CARGO_BIN_EXE_firedrill");
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .current_dir(root())
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let transcript = dir.join("t.jsonl");
    let t = transcript.to_str().expect("UTF-8 path");
    run(&["play", MONDAY, "--reference", "--quiet", "--transcript", t]);
    let replay: serde_json::Value =
        serde_json::from_str(&run(&["replay", t, "--json"])).expect("JSON summary");
    let om = run(&[
        "export",
        t,
        "--format",
        "openmetrics",
        "--start",
        "2026-03-02T09:00:00+01:00",
    ]);
    assert!(om.ends_with("# EOF\n"));
    let last = |name: &str| -> String {
        om.lines()
            .rfind(|l| l.starts_with(&format!("{name}{{")))
            .unwrap_or_else(|| panic!("no {name}"))
            .split(' ')
            .nth(1)
            .expect("value")
            .to_owned()
    };
    let requests = &replay["simulation"]["requests"];
    assert_eq!(
        last("firedrill_requests_arrived_total"),
        requests["arrived"].to_string()
    );
    assert_eq!(
        last("firedrill_requests_rejected_total"),
        requests["rejected"].to_string()
    );
    assert!(om.contains(" 1772438400.000\n"), "starts at 08:00 UTC");
    // A drill source, written to a file; the same bytes every time.
    let out = dir.join("rush.om");
    run(&[
        "export",
        MONDAY,
        "--format",
        "logs",
        "-o",
        out.to_str().expect("UTF-8 path"),
    ]);
    let logs = std::fs::read_to_string(&out).expect("written");
    assert_eq!(logs, render(Format::Logs));
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn arrived(text: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with("firedrill_requests_arrived_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("an arrivals counter")
}

#[test]
fn live_run_serves_metrics_that_move() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "run",
            MONDAY,
            "--clock",
            "realtime",
            "--speed",
            "60",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stdin = child.stdin.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // Read standard error until the server says where it listens.
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    let addr = loop {
        if let Some(line) = seen.lines().find(|l| l.contains("/metrics")) {
            let url = line.split("http://").nth(1).expect("a URL");
            break url.trim_end_matches("/metrics").to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no address: {seen}"
        );
        let n = stderr.read(&mut buf).expect("stderr");
        assert!(n > 0, "the run ended before serving: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    };
    let dir = scratch("live");
    let (status, first) = http_get(&addr, "/metrics");
    assert_eq!(status, 200, "{first}");
    std::thread::sleep(Duration::from_millis(1500));
    let (status, second) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    if crate::tools::promtool("live_run_serves_metrics_that_move (promtool check)").is_some() {
        for text in [&first, &second] {
            let (ok, out) = promtool(&["check", "metrics"], Some(text), &dir);
            assert!(ok, "promtool check metrics:\n{out}\n{text}");
        }
    }
    assert!(
        arrived(&second) > arrived(&first),
        "the counters move with the simulation"
    );
    assert_eq!(http_get(&addr, "/").0, 404);
    assert_eq!(http_get(&addr, "/metrics/x").0, 404);
    // Closing standard input ends the run.
    drop(stdin);
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_mins(1) {
            let _ = child.kill();
            panic!("the live run did not end after its input closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dashboard_uses_only_exported_names() {
    let text = std::fs::read_to_string(root().join("dashboards/grafana.json")).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 5));
    let known: Vec<String> = firedrill::telemetry::prometheus::METRICS
        .iter()
        .flat_map(|m| {
            let sample = m.sample_name();
            [
                sample.clone(),
                format!("{sample}_bucket"),
                format!("{sample}_sum"),
                format!("{sample}_count"),
            ]
        })
        .collect();
    for (i, _) in text.match_indices("firedrill_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            known.contains(&name),
            "the dashboard uses {name}, which firedrill does not export"
        );
    }
}

#[test]
fn docs_list_every_metric() {
    let docs = std::fs::read_to_string(root().join("docs/metrics.md")).expect("docs/metrics.md");
    let table = markdown_table();
    if !docs.contains(&table) {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("metrics-table.md");
        std::fs::write(&path, &table).expect("write");
        panic!(
            "docs/metrics.md does not hold the metrics table generated from METRICS; the current table is in {}",
            path.display()
        );
    }
}
