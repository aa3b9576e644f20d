//! The war room pages the team through their own Alertmanager and chat: a real Alertmanager
//! (Debian's `prometheus-alertmanager`) routes drill alerts to a webhook receiver this test
//! runs, while the same receiver stands in for a Slack incoming webhook. A slow or dead
//! Alertmanager changes nothing in the room or its transcript.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firedrill::session::transcript::{Line, Transcript};
use serde_json::{Value, json};

use crate::serve::{Room, Server, data_dir, end_room, join_all, play_lines, reference_lines};

/// Everything posted to the receiver: (path, JSON body).
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A tiny HTTP server that answers 200 to every POST and keeps what it was sent.
fn receiver() -> (SocketAddr, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let addr = listener.local_addr().unwrap();
    let got: Received = Arc::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let keep = keep.clone();
            std::thread::spawn(move || serve_one(stream, &keep));
        }
    });
    (addr, got)
}

fn serve_one(stream: TcpStream, keep: &Received) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    loop {
        let mut first = String::new();
        if reader.read_line(&mut first).unwrap_or(0) == 0 {
            return;
        }
        let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        keep.lock().unwrap().push((path, value));
        let out = reader.get_mut();
        if out
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// A running Alertmanager on a free port; killed when dropped.
struct Alertmanager {
    child: Child,
    addr: String,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    fn start(program: &str, dir: &std::path::Path, hook: SocketAddr) -> Alertmanager {
        // Short waits so that a firing and its resolution reach the receiver within seconds.
        let config = format!(
            "route:\n  receiver: hook\n  group_by: ['alertname', 'room']\n  group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\n  routes:\n    - matchers: ['firedrill=\"drill\"']\n      receiver: hook\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{hook}/am\n        send_resolved: true\n"
        );
        let file = dir.join("alertmanager.yml");
        std::fs::write(&file, config).unwrap();
        let mut child = Command::new(program)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .args([
                "--web.listen-address=127.0.0.1:0",
                "--cluster.listen-address=",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("alertmanager starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.expect("alertmanager's log");
            // level=info msg="Listening on" address=127.0.0.1:PORT
            if line.contains("Listening on")
                && let Some(a) = line.split("address=").nth(1)
            {
                addr = Some(a.split_whitespace().next().unwrap().to_owned());
                break;
            }
        }
        // Keep reading its log so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let addr = addr.expect("alertmanager says where it listens");
        Alertmanager { child, addr }
    }
}

/// Waits (at most a minute) until `done` holds for what the receiver got.
fn wait_for(got: &Received, what: &str, done: impl Fn(&[(String, Value)]) -> bool) {
    let start = Instant::now();
    while !done(&got.lock().unwrap()) {
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "the receiver never got {what}; it got {:#?}",
            got.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The alerts Alertmanager notified with `status` for `alertname`.
fn notified(got: &[(String, Value)], alertname: &str, status: &str) -> Vec<Value> {
    got.iter()
        .filter(|(path, _)| path == "/am")
        .flat_map(|(_, body)| body["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == alertname && a["status"] == status)
        .collect()
}

/// Plays monday-rush's reference in a turn-based room; `between` runs once both pages have
/// fired. Returns the room's transcript lines and JSON debrief.
fn play(
    server: &Server,
    dir: &std::path::Path,
    reference: &[Line],
    between: impl FnOnce(&Room),
) -> (Vec<Value>, String) {
    let (end, lines) = reference.split_last().expect("play ends its transcript");
    let room = Room::open(server, &json!({ "drill": "monday-rush", "clock": "turns" }));
    let players = join_all(server, &room, lines);
    // By the second line (09:33:30) both pages fire: DbAcquireTimeouts, AriaLatencyHigh.
    play_lines(server, &room, &lines[..2], &players);
    between(&room);
    play_lines(server, &room, &lines[2..], &players);
    end_room(server, &room, end);
    let transcript = players[0].1.get(server.addr, &room.path("transcript"));
    assert_eq!(transcript.status, 200);
    let path = dir.join("room.jsonl");
    std::fs::write(&path, &transcript.body).unwrap();
    let lines = Transcript::read(&path)
        .expect("the room's transcript")
        .lines
        .iter()
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    let debrief = players[0].1.get(
        server.addr,
        &format!("{}?format=json", room.path("debrief")),
    );
    assert_eq!(debrief.status, 200);
    (lines, debrief.text())
}

#[test]
fn drill_pages_reach_a_real_alertmanager_and_a_dead_one_changes_nothing() {
    let Some(program) = crate::tools::alertmanager("alertmanager") else {
        return;
    };
    let dir = data_dir("alertmanager");
    let (hook, got) = receiver();
    let am = Alertmanager::start(program, &dir, hook);
    let server = Server::start_with(
        &dir.join("data"),
        &[
            "--alertmanager",
            &format!("http://{}", am.addr),
            "--webhook",
            &format!("http://{hook}/chat"),
        ],
    );
    let (reference, _, _) = reference_lines(&dir);
    let mut room_id = String::new();
    let (lines, debrief) = play(&server, &dir, &reference, |room| {
        room_id.clone_from(&room.id);
        wait_for(&got, "both pages firing", |got| {
            ["DbAcquireTimeouts", "AriaLatencyHigh"]
                .iter()
                .all(|a| !notified(got, a, "firing").is_empty())
        });
    });
    wait_for(&got, "both pages resolved", |got| {
        ["DbAcquireTimeouts", "AriaLatencyHigh"]
            .iter()
            .all(|a| !notified(got, a, "resolved").is_empty())
    });
    let got = got.lock().unwrap().clone();
    for alert in ["DbAcquireTimeouts", "AriaLatencyHigh"] {
        let firing = &notified(&got, alert, "firing")[0];
        let labels = &firing["labels"];
        assert_eq!(labels["severity"], "page", "{firing}");
        assert_eq!(labels["drill"], "monday-rush", "{firing}");
        assert_eq!(labels["room"], room_id.as_str(), "{firing}");
        assert_eq!(labels["firedrill"], "drill", "{firing}");
        assert!(
            firing["annotations"]["summary"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{firing}"
        );
        assert!(
            firing["annotations"]["description"]
                .as_str()
                .is_some_and(|s| s.contains("not a real incident")),
            "{firing}"
        );
        assert_eq!(
            firing["generatorURL"],
            format!("http://{}/room/{room_id}", server.addr),
            "{firing}"
        );
        let resolved = &notified(&got, alert, "resolved")[0];
        assert!(
            resolved["endsAt"].as_str().unwrap() >= resolved["startsAt"].as_str().unwrap(),
            "{resolved}"
        );
    }
    // The comms channel got the pages and the status update, as Slack messages.
    let chat: Vec<&str> = got
        .iter()
        .filter(|(path, _)| path == "/chat")
        .filter_map(|(_, body)| body["text"].as_str())
        .collect();
    assert!(
        chat.iter()
            .any(|t| t.contains("PAGE DbAcquireTimeouts") && t.contains("[DRILL monday-rush")),
        "{chat:#?}"
    );
    assert!(
        chat.iter()
            .any(|t| t.contains("status update from comms")
                && t.contains("Aria is answering slowly")),
        "{chat:#?}"
    );
    drop(server);

    // An Alertmanager that takes connections and never answers, and a webhook nobody
    // listens on: the room plays the same, to the byte.
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let other = dir.join("slow");
    std::fs::create_dir_all(&other).unwrap();
    let server = Server::start_with(
        &other.join("data"),
        &[
            "--alertmanager",
            &format!("http://{}", slow.local_addr().unwrap()),
            "--webhook",
            &format!("http://{dead}/chat"),
        ],
    );
    let (slow_lines, slow_debrief) = play(&server, &other, &reference, |_| {});
    assert_eq!(
        slow_lines, lines,
        "the transcript does not depend on Alertmanager"
    );
    assert_eq!(slow_debrief, debrief, "nor does the debrief");
}
