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

use firedrill::drill::spec::{Drill, TimeDist};
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

fn true_quantile(t: &TimeDist, q: f64) -> f64 {
    match t {
        TimeDist::LogNormal { median, p99 } => {
            let (m, p99) = (median.as_secs_f64(), p99.as_secs_f64());
            let sigma = (p99 / m).ln() / firedrill::fit::model::Z99;
            m * (sigma * firedrill::fit::model::normal_quantile(q)).exp()
        }
        TimeDist::Exponential { mean } => -mean.as_secs_f64() * (1.0 - q).ln(),
        other => panic!("not in the known drill: {other:?}"),
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
            let (got, want) = (quantile(&f["time"], q), true_quantile(&step.time, q));
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
    let truth = curve(
        drill.traffic.start_rps,
        drill
            .traffic
            .stages
            .iter()
            .map(|s| StageFit {
                over_s: s.over.as_secs_f64(),
                to_rps: s.to_rps,
            })
            .collect(),
    );
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
    let (_server, port) = serve(prometheus, &dir, &data);
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
}

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
