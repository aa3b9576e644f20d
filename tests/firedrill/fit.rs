//! `firedrill fit` (issue 18): a drill with known parameters is simulated and exported, the
//! export is backfilled with the real `promtool` into a TSDB that a real `prometheus` serves,
//! and `fit --prometheus`, `--openmetrics` and `--query-json` must each give the system back
//! within the issue's tolerances. Then bad inputs: each a message naming what, exit 2, and
//! no `-o` file.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use firedrill::drill::spec::Drill;
use firedrill::export::{self, Format, Settings};
use firedrill::fit::model::{StageFit, TrafficFit};

/// The known system: a ramp, three steps (one on a share of requests, with errors), a pool.
const DRILL: &str = r#"Drill(
    name: "known",
    title: "Known",
    briefing: "A system with known parameters.",
    clock_start: "09:00",
    duration: "40m",
    seed: 7,
    telemetry: Telemetry(bucket: "1m", window: "2m"),
    traffic: Traffic(arrivals: Poisson, start_rps: 20.0, stages: [
        Stage(over: "15m", to_rps: 20.0),
        Stage(over: "10m", to_rps: 45.0),
    ]),
    pools: [Pool(name: "db", size: 12, acquire_timeout: "2s")],
    service: Service(
        name: "known",
        steps: [
            Step(name: "retrieve", pool: "db", time: LogNormal(median: "90ms", p99: "450ms")),
            Step(name: "tool", share: 0.4, error_rate: 0.02, time: Exponential(mean: "300ms")),
            Step(name: "generate", time: LogNormal(median: "1.4s", p99: "5s")),
        ],
    ),
)"#;

/// 2026-01-05T09:00:00Z and 09:40, the drill's window as exported.
const START: &str = "2026-01-05T09:00:00Z";
const END: &str = "2026-01-05T09:40:00Z";

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .output()
        .expect("firedrill runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn known() -> Drill {
    firedrill::drill::load_str("known", DRILL).expect("the known drill loads")
}

/// The known drill's export, written to `dir/known.om`.
fn export_to(dir: &Path) -> PathBuf {
    let run = export::run_drill(known(), None);
    let om = export::render(
        &run,
        &Settings {
            format: Format::Openmetrics,
            start_ms: None,
            rule_file: "rules.yml".into(),
        },
    );
    let path = dir.join("known.om");
    std::fs::write(&path, om).expect("write the export");
    path
}

fn quantile(kind: &serde_json::Value, q: f64) -> f64 {
    match kind["kind"].as_str() {
        Some("LogNormal") => {
            let (m, p99) = (
                kind["median"].as_f64().unwrap(),
                kind["p99"].as_f64().unwrap(),
            );
            let sigma = (p99 / m).ln() / firedrill::fit::model::Z99;
            m * (sigma * firedrill::fit::model::normal_quantile(q)).exp()
        }
        Some("Exponential") => -kind["mean"].as_f64().unwrap() * (1.0 - q).ln(),
        Some("Constant") => kind["seconds"].as_f64().unwrap(),
        other => panic!("unknown time fit {other:?}"),
    }
}

/// Checks a `fit --json` answer against the known drill, as the issue's tolerances say.
fn check_recovered(json: &str, how: &str) {
    let answer: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{how}: {e}: {json}"));
    let drill = known();
    let fitted = &answer["fitted"];
    for step in &drill.service.steps {
        let f = fitted["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == step.name.as_str())
            .unwrap_or_else(|| panic!("{how}: no step {}", step.name));
        for q in [0.5, 0.99] {
            let (got, want) = (
                quantile(&f["time"], q),
                crate::fit_library::true_quantile(&step.time, q),
            );
            assert!(
                (got / want - 1.0).abs() <= 0.10,
                "{how}: step {} q{q}: fitted {got}, true {want} ({})",
                step.name,
                f["time"]
            );
        }
        let share = f["share"].as_f64().unwrap_or(1.0);
        assert!(
            (share - step.share.unwrap_or(1.0)).abs() <= 0.03,
            "{how}: step {} share {share}",
            step.name
        );
        let pool = f["pools"].as_array().map_or(0, Vec::len);
        assert_eq!(
            pool,
            step.pool_names().len(),
            "{how}: step {} pools {}",
            step.name,
            f["pools"]
        );
    }
    let pools = fitted["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "{how}");
    assert_eq!(pools[0]["name"], "db", "{how}");
    assert_eq!(pools[0]["size"], 12, "{how}: pool sizes are exact");
    let curve = |start: f64, stages: Vec<StageFit>| TrafficFit {
        start_rps: start,
        stages,
        rms: 0.0,
    };
    let truth = crate::fit_library::true_curve(&drill);
    let traffic = &fitted["traffic"];
    let got = curve(
        traffic["start_rps"].as_f64().unwrap(),
        traffic["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| StageFit {
                over_s: s["over_s"].as_f64().unwrap(),
                to_rps: s["to_rps"].as_f64().unwrap(),
            })
            .collect(),
    );
    for w in 0..8 {
        let (a, b) = (w as f64 * 300.0, (w + 1) as f64 * 300.0);
        let (g, want) = (got.mean_over(a, b), truth.mean_over(a, b));
        assert!(
            (g / want - 1.0).abs() <= 0.05,
            "{how}: traffic in window {w}: fitted {g}, true {want}"
        );
    }
    // The fitted drill, simulated, keeps the pool as busy as the known one did.
    let rows = answer["goodness"]["rows"].as_array().unwrap();
    let util = rows
        .iter()
        .find(|r| r["quantity"] == "pool db mean utilization")
        .unwrap_or_else(|| panic!("{how}: no utilization row"));
    assert!(util["error"].as_f64().unwrap() <= 0.05, "{how}: {util}");
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Prometheus serving `data`, stopped when dropped.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn serve(prometheus: &str, dir: &Path, data: &Path) -> (Prometheus, u16) {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").expect("config");
    let port = free_port();
    let child = Command::new(prometheus)
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--config.file={}", config.display()))
        .arg("--storage.tsdb.retention.time=100y")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log"))
        .spawn()
        .expect("prometheus starts");
    let server = Prometheus(child);
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        if http_get(port, "/-/ready")
            .is_some_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not become ready: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

#[test]
fn issue_18_round_trip_through_a_real_prometheus() {
    let test = "fit::issue_18_round_trip_through_a_real_prometheus";
    let Some(promtool) = crate::tools::promtool(test) else {
        return;
    };
    let Some(prometheus) = crate::tools::find(
        test,
        &["prometheus"],
        "prometheus (apt-get install -y prometheus)",
    ) else {
        return;
    };
    let dir = crate::scratch_dir("fit", "round-trip");
    let om = export_to(&dir);
    let data = dir.join("data");
    let made = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .expect("promtool runs");
    assert!(made.status.success(), "{}", text(&made));

    // Through OpenMetrics, straight from the file.
    let out = firedrill(&["fit", "--openmetrics", om.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    check_recovered(&String::from_utf8_lossy(&out.stdout), "--openmetrics");

    // Through the real server's query_range, saving the answers.
    let (server, port) = serve(prometheus, &dir, &data);
    let saved = dir.join("answers");
    std::fs::create_dir_all(&saved).unwrap();
    let drill_out = dir.join("fitted.ron");
    let url = format!("http://127.0.0.1:{port}");
    let out = firedrill(&[
        "fit",
        "--prometheus",
        &url,
        "--start",
        START,
        "--end",
        END,
        "--json",
        "--save-queries",
        saved.to_str().unwrap(),
        "-o",
        drill_out.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    check_recovered(&String::from_utf8_lossy(&out.stdout), "--prometheus");
    let check = firedrill(&["check", drill_out.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "the fitted drill passes check: {}",
        text(&check)
    );

    // Through the saved answers.
    let out = firedrill(&["fit", "--query-json", saved.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    check_recovered(&String::from_utf8_lossy(&out.stdout), "--query-json");

    // A query the server refuses is shown with the server's words and the query.
    let out = firedrill(&[
        "fit",
        "--prometheus",
        &format!("{url}/nowhere"),
        "--start",
        START,
        "--end",
        END,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("firedrill_requests_arrived_total"),
        "{}",
        text(&out)
    );

    // The same data under a team's own names: recording rules rename firedrill's series and
    // labels, the real promtool backfills them from the running server, and the restarted
    // server answers the map's queries.
    let rules = dir.join("team-rules.yml");
    std::fs::write(&rules, TEAM_RULES).unwrap();
    let blocks = dir.join("team-blocks");
    let made = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "rules", "--quiet"])
        .arg(format!("--url={url}"))
        .arg(format!("--start={START}"))
        .arg(format!("--end={END}"))
        .arg("--eval-interval=60s")
        .arg(format!("--output-dir={}", blocks.display()))
        .arg(&rules)
        .output()
        .expect("promtool runs");
    assert!(made.status.success(), "{}", text(&made));
    drop(server);
    for block in std::fs::read_dir(&blocks).unwrap() {
        let block = block.unwrap();
        std::fs::rename(block.path(), data.join(block.file_name())).unwrap();
    }
    let (_server, port) = serve(prometheus, &dir, &data);
    let map = dir.join("team-map.ron");
    std::fs::write(&map, TEAM_MAP).unwrap();
    let out = firedrill(&[
        "fit",
        "--prometheus",
        &format!("http://127.0.0.1:{port}"),
        "--map",
        map.to_str().unwrap(),
        "--start",
        START,
        "--end",
        END,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    check_recovered(&String::from_utf8_lossy(&out.stdout), "--prometheus --map");
}

/// A team's recording rules: firedrill's series under other names, `step` as `tool` and
/// `pool` as `datasource`, no `service` label, and the pool's busy connections as a gauge.
const TEAM_RULES: &str = r#"groups:
  - name: team
    rules:
      - record: agent_requests_total
        expr: sum(firedrill_requests_arrived_total)
      - record: agent_requests_admitted_total
        expr: sum(firedrill_requests_admitted_total)
      - record: agent_tool_calls_total
        expr: sum by (tool) (label_replace(firedrill_step_calls_total, "tool", "$1", "step", "(.*)"))
      - record: agent_tool_errors_total
        expr: sum by (tool) (label_replace(firedrill_step_errors_total, "tool", "$1", "step", "(.*)"))
      - record: agent_tool_seconds_total
        expr: sum by (tool) (label_replace(firedrill_step_seconds_total, "tool", "$1", "step", "(.*)"))
      - record: agent_tool_latency_seconds_bucket
        expr: sum by (tool, le) (label_replace(firedrill_step_duration_seconds_bucket, "tool", "$1", "step", "(.*)"))
      - record: agent_tool_latency_seconds_count
        expr: sum by (tool) (label_replace(firedrill_step_duration_seconds_count, "tool", "$1", "step", "(.*)"))
      - record: agent_tool_latency_seconds_sum
        expr: sum by (tool) (label_replace(firedrill_step_duration_seconds_sum, "tool", "$1", "step", "(.*)"))
      - record: db_pool_max_connections
        expr: sum by (datasource) (label_replace(firedrill_pool_connections_max, "datasource", "$1", "pool", "(.*)"))
      - record: db_pool_in_use
        expr: sum by (datasource) (label_replace(rate(firedrill_pool_connections_active_seconds_total[2m]), "datasource", "$1", "pool", "(.*)"))
"#;

/// The map onto [`TEAM_RULES`]' names.
const TEAM_MAP: &str = r#"Map(
    service: "known",
    series: [
        Series(reads: "firedrill_requests_arrived_total", query: "agent_requests_total"),
        Series(reads: "firedrill_requests_admitted_total", query: "agent_requests_admitted_total"),
        Series(reads: "firedrill_step_calls_total", query: "agent_tool_calls_total", labels: {"step": "tool"}),
        Series(reads: "firedrill_step_errors_total", query: "agent_tool_errors_total", labels: {"step": "tool"}),
        Series(reads: "firedrill_step_seconds_total", query: "agent_tool_seconds_total", labels: {"step": "tool"}),
        Series(reads: "firedrill_step_duration_seconds_bucket", query: "agent_tool_latency_seconds_bucket", labels: {"step": "tool"}),
        Series(reads: "firedrill_step_duration_seconds_count", query: "agent_tool_latency_seconds_count", labels: {"step": "tool"}),
        Series(reads: "firedrill_step_duration_seconds_sum", query: "agent_tool_latency_seconds_sum", labels: {"step": "tool"}),
        Series(reads: "firedrill_pool_connections_max", query: "db_pool_max_connections", labels: {"pool": "datasource"}),
        Series(reads: "firedrill_pool_connections_active_seconds_total", query: "db_pool_in_use", labels: {"pool": "datasource"}, integrate: true),
    ],
)"#;

/// Runs `fit` expecting it to fail with exit 2, a message holding each of `words`, and no
/// `-o` file.
fn refused(args: &[&str], words: &[&str], dir: &Path) {
    let out_file = dir.join("never.ron");
    let mut all: Vec<&str> = vec!["fit"];
    all.extend_from_slice(args);
    let o = out_file.to_str().unwrap();
    all.extend_from_slice(&["-o", o]);
    let out = firedrill(&all);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
    for w in words {
        assert!(said.contains(w), "{args:?} should say {w:?}: {said}");
    }
    assert!(!said.contains("panicked"), "{said}");
    assert!(!out_file.exists(), "{args:?} left a half-written -o file");
}

/// A server that answers every request with HTTP 500.
fn failing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 13\r\nConnection: close\r\n\r\nstorage broke");
        }
    });
    port
}

#[test]
fn issue_18_bad_input_is_named_and_exits_2() {
    let dir = crate::scratch_dir("fit", "bad-input");
    let om = export_to(&dir);
    let text_of = std::fs::read_to_string(&om).unwrap();
    let om_path = om.to_str().unwrap();

    refused(
        &[
            "--prometheus",
            &format!("http://127.0.0.1:{}", free_port()),
            "--start",
            START,
            "--end",
            END,
        ],
        &["cannot reach Prometheus"],
        &dir,
    );
    let port = failing_server();
    refused(
        &[
            "--prometheus",
            &format!("http://127.0.0.1:{port}"),
            "--start",
            START,
            "--end",
            END,
        ],
        &[
            "HTTP 500",
            "storage broke",
            "firedrill_requests_arrived_total",
        ],
        &dir,
    );
    refused(
        &[
            "--openmetrics",
            om_path,
            "--start",
            "2026-02-01T00:00:00Z",
            "--end",
            "2026-02-02T00:00:00Z",
        ],
        &["no such series", "range"],
        &dir,
    );
    refused(
        &[
            "--openmetrics",
            om_path,
            "--start",
            START,
            "--end",
            "2026-01-05T09:02:00Z",
        ],
        &["5 minutes"],
        &dir,
    );

    // A counter reset: one sample of the arrivals drops to zero.
    let reset = dir.join("reset.om");
    let line = text_of
        .lines()
        .filter(|l| l.starts_with("firedrill_requests_arrived_total"))
        .nth(20)
        .unwrap();
    let ts = line.rsplit(' ').next().unwrap();
    std::fs::write(
        &reset,
        text_of.replace(
            line,
            &format!("firedrill_requests_arrived_total{{service=\"known\"}} 0 {ts}"),
        ),
    )
    .unwrap();
    refused(
        &["--openmetrics", reset.to_str().unwrap()],
        &["firedrill_requests_arrived_total", "reset"],
        &dir,
    );

    // A gap: ten minutes of one step's calls missing.
    let gap = dir.join("gap.om");
    let cut: String = text_of
        .lines()
        .filter(|l| {
            let ts: f64 = l.rsplit(' ').next().unwrap().parse().unwrap_or(0.0);
            !(l.starts_with("firedrill_step_calls_total{service=\"known\",step=\"tool\"}")
                && ts > 1_767_604_200.0
                && ts < 1_767_604_800.0)
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    std::fs::write(&gap, cut).unwrap();
    refused(
        &["--openmetrics", gap.to_str().unwrap()],
        &["step=\"tool\"", "gap"],
        &dir,
    );

    // A histogram without +Inf.
    let no_inf = dir.join("no-inf.om");
    let cut: String = text_of
        .lines()
        .filter(|l| {
            !(l.starts_with("firedrill_step_duration_seconds_bucket") && l.contains("le=\"+Inf\""))
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    std::fs::write(&no_inf, cut).unwrap();
    refused(
        &["--openmetrics", no_inf.to_str().unwrap()],
        &["+Inf"],
        &dir,
    );

    // Not OpenMetrics at all, with the line.
    let junk = dir.join("junk.om");
    std::fs::write(&junk, "# HELP x\nnot a sample line at all\n").unwrap();
    refused(
        &["--openmetrics", junk.to_str().unwrap()],
        &["junk.om:2"],
        &dir,
    );
}

/// The export with the team's names: `step` becomes `tool` on the step series, and the
/// arrivals are renamed.
fn renamed(om: &str) -> String {
    om.lines()
        .map(|l| {
            let l = l.replace("firedrill_requests_arrived", "team_requests");
            if l.starts_with("firedrill_step_") {
                l.replacen("firedrill_step_", "team_tool_", 1)
                    .replace("step=\"", "tool=\"")
            } else if l.starts_with("# TYPE firedrill_step_")
                || l.starts_with("# HELP firedrill_step_")
                || l.starts_with("# UNIT firedrill_step_")
            {
                l.replacen("firedrill_step_", "team_tool_", 1)
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn issue_18_a_map_reads_a_teams_own_names_from_a_file() {
    let dir = crate::scratch_dir("fit", "map-file");
    let om = export_to(&dir);
    let team = dir.join("team.om");
    std::fs::write(&team, renamed(&std::fs::read_to_string(&om).unwrap())).unwrap();

    // --print-map writes a map that reads back as it is (and changes nothing).
    let printed = dir.join("printed.ron");
    let out = firedrill(&["fit", "--print-map", "-o", printed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let plain = firedrill(&["fit", "--openmetrics", om.to_str().unwrap(), "--json"]);
    let same = firedrill(&[
        "fit",
        "--openmetrics",
        om.to_str().unwrap(),
        "--map",
        printed.to_str().unwrap(),
        "--json",
    ]);
    assert!(same.status.success(), "{}", text(&same));
    assert_eq!(
        plain.stdout, same.stdout,
        "the printed map is firedrill's names"
    );

    // Without a map, the team's names are missing, by name.
    refused(
        &["--openmetrics", team.to_str().unwrap()],
        &["firedrill_requests_arrived_total", "no such series"],
        &dir,
    );
    // With one, the team's file fits as firedrill's own.
    let map = dir.join("team.ron");
    let mut entries = vec![
        r#"Series(reads: "firedrill_requests_arrived_total", query: "team_requests_total")"#
            .to_owned(),
    ];
    for (reads, query) in [
        ("firedrill_step_calls_total", "team_tool_calls_total"),
        ("firedrill_step_errors_total", "team_tool_errors_total"),
        ("firedrill_step_skipped_total", "team_tool_skipped_total"),
        ("firedrill_step_seconds_total", "team_tool_seconds_total"),
        (
            "firedrill_step_duration_seconds_bucket",
            "team_tool_duration_seconds_bucket{service=\\\"known\\\"}",
        ),
        (
            "firedrill_step_duration_seconds_sum",
            "team_tool_duration_seconds_sum",
        ),
        (
            "firedrill_step_duration_seconds_count",
            "team_tool_duration_seconds_count",
        ),
    ] {
        entries.push(format!(
            r#"Series(reads: "{reads}", query: "{query}", labels: {{"step": "tool"}})"#
        ));
    }
    std::fs::write(&map, format!("Map(series: [\n{}\n])", entries.join(",\n"))).unwrap();
    let out = firedrill(&[
        "fit",
        "--openmetrics",
        team.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    check_recovered(&String::from_utf8_lossy(&out.stdout), "--openmetrics --map");
    let fitted = |o: &Output| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["fitted"]["source"] = serde_json::Value::Null;
        v
    };
    assert_eq!(
        fitted(&out),
        fitted(&plain),
        "the same fit under other names"
    );

    // A misspelt series, a selector that matches nothing: each named, exit 2.
    let bad = dir.join("bad-map.ron");
    std::fs::write(
        &bad,
        "Map(series: [\n    Series(reads: \"firedrill_step_call_total\", query: \"x\"),\n])",
    )
    .unwrap();
    refused(
        &[
            "--openmetrics",
            team.to_str().unwrap(),
            "--map",
            bad.to_str().unwrap(),
        ],
        &[
            "bad-map.ron:2:19",
            "did you mean `firedrill_step_calls_total`",
        ],
        &dir,
    );
    std::fs::write(
        &bad,
        "Map(series: [Series(reads: \"firedrill_step_calls_total\", query: \"nobody_total\")])",
    )
    .unwrap();
    refused(
        &[
            "--openmetrics",
            team.to_str().unwrap(),
            "--map",
            bad.to_str().unwrap(),
        ],
        &["nobody_total: no such series"],
        &dir,
    );
}

#[test]
fn issue_18_rules_become_alerts_and_the_rest_are_listed() {
    let dir = crate::scratch_dir("fit", "rules");
    let om = export_to(&dir);
    let rules = dir.join("team.yml");
    std::fs::write(
        &rules,
        r#"groups:
  - name: agent
    rules:
      - alert: RetrieveSlow
        expr: rate(firedrill_step_seconds_total{service="known",step="retrieve"}[2m]) / rate(firedrill_step_calls_total{service="known",step="retrieve"}[2m]) > 0.5
        for: 3m
        labels:
          severity: warning
        annotations:
          summary: retrieve is slow
          runbook_url: https://runbooks.example/retrieve
      - alert: DbFull
        expr: rate(firedrill_pool_connections_active_seconds_total{service="known",pool="db"}[2m]) / clamp_min(firedrill_pool_connections_max{service="known",pool="db"}, 1) > 0.9
        for: 2m
        labels:
          severity: critical
      - alert: ScrapeDown
        expr: absent(up{job="agent"})
      - alert: Joined
        expr: rate(http_requests_total[5m]) > 3 and on() rate(errors_total[5m]) > 1
      - alert: AtLeast
        expr: rate(firedrill_requests_failed_total{service="known"}[2m]) >= 1
      - alert: OtherService
        expr: rate(firedrill_requests_failed_total{service="billing"}[2m]) > 1
      - alert: NoSuchPool
        expr: firedrill_pool_connections_max{service="known",pool="cache"} < 1
      - record: job:requests:rate5m
        expr: sum(rate(http_requests_total[5m]))
"#,
    )
    .unwrap();
    let drill = dir.join("fitted.ron");
    let out = firedrill(&[
        "fit",
        "--openmetrics",
        om.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "-o",
        drill.to_str().unwrap(),
    ]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("2 alerting rule(s) became drill alerts; 6 left out"),
        "{said}"
    );
    for (name, reason) in [
        ("ScrapeDown", "no `>` or `<`"),
        ("Joined", "more than one comparison"),
        ("AtLeast", "only `>` and `<`"),
        ("OtherService", "for service `billing`"),
        ("NoSuchPool", "pool `cache` is not in the fitted system"),
        ("job:requests:rate5m", "a recording rule"),
    ] {
        assert!(
            said.lines()
                .any(|l| l.contains(&format!("left out {name}:")) && l.contains(reason)),
            "{name}: {reason}: {said}"
        );
    }
    let check = firedrill(&["check", drill.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let written = firedrill::drill::load_file(&drill).expect("the fitted drill loads");
    let names: Vec<&str> = written.alerts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["RetrieveSlow", "DbFull"]);
    let slow = &written.alerts[0];
    assert_eq!(slow.hold.as_secs_f64(), 180.0);
    assert_eq!(
        slow.runbook.as_deref(),
        Some("https://runbooks.example/retrieve")
    );
    assert_eq!(written.telemetry.window.as_secs_f64(), 120.0);
    let text_of = std::fs::read_to_string(&drill).unwrap();
    assert!(text_of.contains("// Left out: ScrapeDown:"), "{text_of}");

    // Malformed YAML: placed, exit 2, nothing written.
    std::fs::write(&rules, "groups:\n  - name: [agent\n    rules: []\n").unwrap();
    refused(
        &[
            "--openmetrics",
            om.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
        &["team.yml:", "not a Prometheus rules file"],
        &dir,
    );
}
