//! The war room end to end: the real binary serves on a free loopback port with its own
//! `--data`, and a tiny HTTP client plays a room as the facilitator and the players would.
//! Time moves only when the facilitator advances a turn-based room, so every run is the same.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use firedrill::session::transcript::{Line, Transcript};
use serde_json::{Value, json};

/// A running `firedrill serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub admin: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("firedrill serve starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut first)
            .expect("the server prints its address");
        // firedrill serve: listening on http://127.0.0.1:PORT/  facilitator: http://127.0.0.1:PORT/#admin=TOKEN
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        let admin = first.split("#admin=").nth(1).map_or_else(
            || panic!("no facilitator link in {first:?}"),
            |s| s.trim().to_owned(),
        );
        Server { child, addr, admin }
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("the server can be killed");
        self.child.wait().expect("the server is reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers (lowercase names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_mins(2)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        let _ = write!(head, "{n}: {v}\r\n");
    }
    if method == "POST" {
        let _ = write!(
            head,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..end]).trim(), 16)
            .expect("a chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// Reads an event stream until `stop` has been read and the event it is in is complete.
pub fn read_stream(
    addr: SocketAddr,
    path: &str,
    last_event_id: Option<&str>,
    stop: &str,
) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_mins(2)))
        .unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
    if let Some(id) = last_event_id {
        let _ = write!(head, "Last-Event-ID: {id}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = stream.read(&mut buf).expect("the stream goes on");
        assert!(n > 0, "the stream closed before `{stop}`");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw);
        if let Some(at) = text.find(stop)
            && text[at..].contains("\n\n")
        {
            return text.into_owned();
        }
    }
}

/// A link's token and its anti-CSRF secret.
pub struct Link {
    pub token: String,
    pub csrf: String,
}

impl Link {
    pub fn new(addr: SocketAddr, token: &str) -> Link {
        let me = request(
            addr,
            "GET",
            "/api/me",
            &[("X-Firedrill-Token", token)],
            None,
        );
        assert_eq!(me.status, 200, "{}", me.text());
        Link {
            token: token.to_owned(),
            csrf: me.json()["csrf"]
                .as_str()
                .expect("a csrf secret")
                .to_owned(),
        }
    }
    pub fn get(&self, addr: SocketAddr, path: &str) -> Reply {
        request(
            addr,
            "GET",
            path,
            &[("X-Firedrill-Token", &self.token)],
            None,
        )
    }
    pub fn post(&self, addr: SocketAddr, path: &str, body: &Value) -> Reply {
        request(
            addr,
            "POST",
            path,
            &[
                ("X-Firedrill-Token", &self.token),
                ("X-Firedrill-Csrf", &self.csrf),
            ],
            Some(body),
        )
    }
}

pub fn data_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn firedrill(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("firedrill runs");
    assert!(
        out.status.success(),
        "firedrill {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// monday-rush's reference response as `play` plays it: each line at its moment.
pub fn reference_lines(dir: &Path) -> (Vec<Line>, PathBuf, String) {
    let path = dir.join("reference.jsonl");
    let summary = firedrill(&[
        "play",
        "drills/monday-rush.ron",
        "--reference",
        "--quiet",
        "--transcript",
        path.to_str().unwrap(),
    ]);
    let lines = Transcript::read(&path).expect("play's transcript").lines;
    (lines, path, summary)
}

/// A room as the facilitator opened it, with a link per role and the projector.
pub struct Room {
    pub id: String,
    pub facilitator: Link,
    pub tokens: Value,
}

impl Room {
    pub fn open(server: &Server, body: &Value) -> Room {
        let admin = Link::new(server.addr, &server.admin);
        let created = admin.post(server.addr, "/api/rooms", body);
        assert_eq!(created.status, 200, "{}", created.text());
        let created = created.json();
        let facilitator = Link::new(
            server.addr,
            created["tokens"]["facilitator"].as_str().unwrap(),
        );
        Room {
            id: created["id"].as_str().unwrap().to_owned(),
            facilitator,
            tokens: created["tokens"].clone(),
        }
    }
    pub fn role(&self, addr: SocketAddr, role: &str) -> Link {
        Link::new(
            addr,
            self.tokens["roles"][role].as_str().expect("a role token"),
        )
    }
    pub fn path(&self, what: &str) -> String {
        format!("/api/rooms/{}/{what}", self.id)
    }
}

/// Plays `lines` (without play's closing `end`) through the players' links, moving the
/// room's time to each; pushes an inject to `ic` after the third line.
pub fn play_lines(server: &Server, room: &Room, lines: &[Line], players: &[(String, Link)]) {
    for (i, line) in lines.iter().enumerate() {
        let moved = room.facilitator.post(
            server.addr,
            &room.path("control"),
            &json!({ "op": "advance", "to_ns": line.at_ns }),
        );
        assert_eq!(moved.status, 200, "advance: {}", moved.text());
        let (_, link) = players
            .iter()
            .find(|(r, _)| *r == line.role)
            .expect("a link for every role that speaks");
        let said = link.post(
            server.addr,
            &room.path("command"),
            &json!({ "name": format!("{}-player", line.role), "line": line.input }),
        );
        assert_eq!(said.status, 200, "`{}`: {}", line.input, said.text());
        if i == 2 {
            let pushed = room.facilitator.post(
                server.addr,
                &room.path("inject"),
                &json!({ "to": "ic", "from": "CEO", "message": "Is Aria down? Customers are calling." }),
            );
            assert_eq!(pushed.status, 200, "inject: {}", pushed.text());
        }
    }
}

pub fn join_all(server: &Server, room: &Room, lines: &[Line]) -> Vec<(String, Link)> {
    let mut roles: Vec<String> = lines.iter().map(|l| l.role.clone()).collect();
    roles.sort();
    roles.dedup();
    assert!(roles.len() >= 2, "the reference speaks as several roles");
    roles
        .into_iter()
        .map(|role| {
            let link = room.role(server.addr, &role);
            let joined = link.post(
                server.addr,
                &room.path("join"),
                &json!({ "name": format!("{role}-player") }),
            );
            assert_eq!(joined.status, 200, "{}", joined.text());
            (role, link)
        })
        .collect()
}

pub fn end_room(server: &Server, room: &Room, end: &Line) {
    let moved = room.facilitator.post(
        server.addr,
        &room.path("control"),
        &json!({ "op": "advance", "to_ns": end.at_ns }),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    if moved.json()["ended"] == json!(true) {
        // The drill ran its course; the room recorded `end` at its end, as `play` does.
        return;
    }
    let ended = room
        .facilitator
        .post(server.addr, &room.path("control"), &json!({ "op": "end" }));
    assert_eq!(ended.status, 200, "{}", ended.text());
    assert_eq!(ended.json()["ended"], json!(true));
}

/// Downloads the room's transcript and checks that `debrief` and `replay` of it give what
/// the server gave; returns the server's JSON debrief.
fn check_downloads(server: &Server, room: &Room, dir: &Path, player: &Link) -> String {
    let transcript = player.get(server.addr, &room.path("transcript"));
    assert_eq!(transcript.status, 200, "{}", transcript.text());
    let path = dir.join("room.jsonl");
    std::fs::write(&path, &transcript.body).unwrap();
    let served = player.get(
        server.addr,
        &format!("{}?format=json", room.path("debrief")),
    );
    assert_eq!(served.status, 200, "{}", served.text());
    let debrief = firedrill(&["debrief", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        served.text(),
        debrief,
        "the server's debrief is the transcript's"
    );
    let summary = player.get(server.addr, &room.path("summary"));
    assert_eq!(summary.status, 200);
    // `replay --json` adds the score to the summary; the room serves its score in the debrief.
    let mut replayed: Value =
        serde_json::from_str(&firedrill(&["replay", path.to_str().unwrap(), "--json"])).unwrap();
    let debriefed: Value = serde_json::from_str(&debrief).unwrap();
    let replayed_map = replayed.as_object_mut().unwrap();
    let score = replayed_map
        .remove("score")
        .expect("replay --json has the score");
    replayed_map.remove("scoring");
    assert_eq!(score, debriefed["score"], "replay's score is the debrief's");
    assert_eq!(
        serde_json::from_str::<Value>(&summary.text()).unwrap(),
        replayed,
        "the server's summary is the transcript's replay"
    );
    let html = player.get(server.addr, &room.path("debrief"));
    assert_eq!(html.status, 200);
    assert!(
        html.text().starts_with("<!DOCTYPE html>") || html.text().starts_with("<!doctype html>")
    );
    served.text()
}

/// Removes from `v` every object (in an array) that mentions `from`; returns how many.
fn without_inject(v: &mut Value, from: &str) -> usize {
    let mentions = |o: &Value| {
        o.as_object().is_some_and(|o| {
            o.values()
                .any(|x| x.as_str().is_some_and(|s| s.contains(from)))
        })
    };
    match v {
        Value::Array(items) => {
            let before = items.len();
            items.retain(|o| !mentions(o));
            let removed = before - items.len();
            removed
                + items
                    .iter_mut()
                    .map(|o| without_inject(o, from))
                    .sum::<usize>()
        }
        Value::Object(map) => map.values_mut().map(|o| without_inject(o, from)).sum(),
        _ => 0,
    }
}

#[test]
fn a_war_room_plays_the_reference_and_debriefs_as_its_transcript_does() {
    let dir = data_dir("reference");
    let (lines, reference, play_summary) = reference_lines(&dir);
    let (end, lines) = lines.split_last().expect("play ends its transcript");
    assert_eq!(end.input, "end");
    let server = Server::start(&dir.join("data"));
    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns" }),
    );
    let players = join_all(&server, &room, lines);
    // Every byte a player and the projector are sent, live, for the whole room.
    let addr = server.addr;
    let ops_token = room.tokens["roles"]["ops"].as_str().unwrap().to_owned();
    let events = room.path("events");
    let ops_stream = {
        let path = format!("{events}?t={ops_token}");
        std::thread::spawn(move || read_stream(addr, &path, None, "event: end"))
    };
    let projector_stream = {
        let path = format!("{events}?t={}", room.tokens["projector"].as_str().unwrap());
        std::thread::spawn(move || read_stream(addr, &path, None, "event: end"))
    };
    play_lines(&server, &room, lines, &players);
    end_room(&server, &room, end);
    let ops = ops_stream.join().expect("the ops stream");
    let projector = projector_stream.join().expect("the projector stream");
    let facilitator = read_stream(
        addr,
        &format!("{events}?t={}", room.facilitator.token),
        None,
        "event: end",
    );
    let ic = read_stream(
        addr,
        &format!(
            "{events}?t={}",
            room.tokens["roles"]["ic"].as_str().unwrap()
        ),
        None,
        "event: end",
    );

    // Debrief and summary as from a terminal session, and as the reference played alone.
    let served = check_downloads(&server, &room, &dir, &players[0].1);
    let room_transcript = dir.join("room.jsonl");
    assert_eq!(
        firedrill(&["replay", room_transcript.to_str().unwrap()]),
        play_summary,
        "the war room played the reference: same summary as `play --reference`"
    );
    // The facilitator's inject is in the debrief's timeline and on its charts; apart from it,
    // the debrief is the reference's: an inject is news, not an input of the simulation.
    let mut served: Value = serde_json::from_str(&served).unwrap();
    assert!(
        without_inject(&mut served, "CEO (to ic)") >= 2,
        "the inject is in the debrief's timeline and marked on its charts"
    );
    let reference_debrief: Value = serde_json::from_str(&firedrill(&[
        "debrief",
        reference.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        served, reference_debrief,
        "an inject is news, not an input of the simulation"
    );
    let kept = Transcript::read(&room_transcript).unwrap();
    assert!(
        kept.lines
            .iter()
            .any(|l| l.inject_from.as_deref() == Some("CEO") && l.role == "ic"),
        "the inject is in the transcript"
    );
    assert!(
        kept.lines
            .iter()
            .any(|l| l.person.as_deref() == Some("ops-player")),
        "commands are attributed to the person"
    );

    // Players see commands typed by others, and injects addressed to them only.
    assert!(
        ops.contains("\"person\":\"ic-player\""),
        "ops sees ic's commands"
    );
    assert!(ic.contains("Customers are calling"), "ic gets its inject");
    assert!(
        !ops.contains("Customers are calling"),
        "ops does not get ic's inject"
    );
    assert!(ops.contains("event: telemetry") && ops.contains("event: alerts"));

    // Every stream is written for people: the facilitator reads actions in words.
    for (who, stream) in [
        ("facilitator", &facilitator),
        ("ops", &ops),
        ("projector", &projector),
    ] {
        assert_eq!(
            crate::words::debug_shaped(stream),
            None,
            "the {who} stream carries debug text"
        );
    }
    assert!(
        facilitator.contains("admits at most 150 requests/s"),
        "the facilitator reads what the throttle does"
    );

    // The truth test: what the facilitator's stream carries of the truth, no player's or
    // projector's stream does.
    let truth = [
        "event: truth",
        "event: fact",
        "event: checklists",
        "event: counterfactual",
        "\"no_response\"",
        "monday-surge",
        "\"wrong_answer_ratio\"",
        "\"wrong_answers\"",
        "\"faults\"",
        "ground truth",
    ];
    for marker in truth {
        assert!(
            facilitator.contains(marker),
            "the facilitator's stream carries `{marker}`"
        );
        for (who, stream) in [("ops", &ops), ("ic", &ic), ("projector", &projector)] {
            assert!(
                !stream.contains(marker),
                "the {who} stream carries `{marker}`, which is truth"
            );
        }
    }
}

#[test]
fn a_killed_server_comes_back_with_every_accepted_input() {
    let dir = data_dir("recovery");
    let (lines, reference, _) = reference_lines(&dir);
    let (end, lines) = lines.split_last().expect("play ends its transcript");
    let (before, after) = lines.split_at(lines.len() / 2);
    let data = dir.join("data");
    let server = Server::start(&data);
    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns" }),
    );
    let players = join_all(&server, &room, lines);
    play_lines(&server, &room, before, &players);
    let state = room
        .facilitator
        .get(server.addr, &room.path("state"))
        .json();
    let stream = read_stream(
        server.addr,
        &format!("{}?t={}", room.path("events"), room.facilitator.token),
        None,
        "event: state",
    );
    let last_id = stream
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .next_back()
        .expect("events have ids")
        .to_owned();
    server.kill();

    let server = Server::start(&data);
    let facilitator = Link::new(server.addr, &room.facilitator.token);
    let back = facilitator.get(server.addr, &room.path("state"));
    assert_eq!(back.status, 200, "{}", back.text());
    let back = back.json();
    assert_eq!(
        back["inputs"], state["inputs"],
        "every accepted input is back"
    );
    assert_eq!(
        back["now_ns"].as_u64(),
        Some(before.last().unwrap().at_ns),
        "the room is back at the time of its last accepted input"
    );
    // A client that reconnects from before the kill is sent everything again.
    let again = read_stream(
        server.addr,
        &format!("{}?t={}", room.path("events"), room.facilitator.token),
        Some(&last_id),
        // Who joined comes last, once the room's history is rebuilt.
        "\"name\":\"ops-player\"",
    );
    assert!(
        again.contains("Customers are calling"),
        "the inject is back"
    );
    assert!(again.starts_with("HTTP/1.1 200"));
    assert!(
        again.contains("event: reset"),
        "an old epoch's client starts again"
    );
    assert!(
        again.contains("\"name\":\"ops-player\""),
        "who joined is back"
    );
    for line in before {
        assert!(
            again.contains(&serde_json::to_string(&line.input).unwrap()),
            "`{}` was accepted before the kill",
            line.input
        );
    }
    // The links still work; the room goes on to the same debrief as the reference.
    let players: Vec<(String, Link)> = players
        .iter()
        .map(|(role, link)| (role.clone(), Link::new(server.addr, &link.token)))
        .collect();
    let room = Room {
        facilitator,
        ..room
    };
    play_lines(&server, &room, after, &players);
    end_room(&server, &room, end);
    let served = check_downloads(&server, &room, &dir, &players[0].1);
    let mut served: Value = serde_json::from_str(&served).unwrap();
    assert!(
        without_inject(&mut served, "CEO (to ic)") >= 2,
        "the inject pushed before the kill is in the debrief"
    );
    let reference: Value = serde_json::from_str(&firedrill(&[
        "debrief",
        reference.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(served, reference);
}

#[test]
fn a_link_acts_only_as_its_role_in_its_room_and_with_its_csrf_secret() {
    let dir = data_dir("links");
    let server = Server::start(&dir.join("data"));
    let addr = server.addr;
    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns" }),
    );
    let other = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns" }),
    );
    let ops = room.role(addr, "ops");
    let joined = ops.post(addr, &room.path("join"), &json!({ "name": "sam" }));
    assert_eq!(joined.status, 200);
    let say = |link: &Link, path: &str, line: &str| {
        link.post(addr, path, &json!({ "name": "sam", "line": line }))
    };
    // Another role, another room, the facilitator's controls: refused.
    let as_ic = say(&ops, &room.path("command"), "ic: declare sev2");
    assert_eq!(as_ic.status, 400);
    assert!(as_ic.text().contains("you play ops"), "{}", as_ic.text());
    assert_eq!(say(&ops, &other.path("command"), "dash").status, 403);
    let control = ops.post(addr, &room.path("control"), &json!({ "op": "end" }));
    assert_eq!(control.status, 403);
    assert_eq!(say(&ops, &room.path("command"), "wait 5m").status, 400);
    // No CSRF secret, or another link's: refused.
    let forged = request(
        addr,
        "POST",
        &room.path("command"),
        &[("X-Firedrill-Token", &ops.token)],
        Some(&json!({ "name": "sam", "line": "dash" })),
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    let unknown = request(
        addr,
        "GET",
        &room.path("state"),
        &[("X-Firedrill-Token", "nope")],
        None,
    );
    assert_eq!(unknown.status, 401);
    // Bounded: a long line, a flood of commands.
    let long = say(&ops, &room.path("command"), &"x".repeat(5000));
    assert_eq!(long.status, 413);
    // The room's own /metrics, for the team's Grafana, with any link of the room.
    let metrics = ops.get(addr, &room.path("metrics"));
    assert_eq!(metrics.status, 200);
    assert!(metrics.text().contains("# TYPE "), "{}", metrics.text());
    assert_eq!(ops.get(addr, &other.path("metrics")).status, 403);
    // The facilitator ends the drill; then commands are refused, the debrief is there.
    let ended = room
        .facilitator
        .post(addr, &room.path("control"), &json!({ "op": "end" }));
    assert_eq!(ended.status, 200, "{}", ended.text());
    assert_eq!(say(&ops, &room.path("command"), "ack").status, 409);
    assert_eq!(ops.get(addr, &room.path("debrief")).status, 200);
    assert_eq!(ops.get(addr, &room.path("transcript")).status, 200);
    let statuses: Vec<u16> = (0..40)
        .map(|_| say(&ops, &room.path("command"), "roles").status)
        .collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&429),
        "{statuses:?}"
    );
    // The pages allow no inline script.
    let page = request(addr, "GET", &format!("/room/{}", room.id), &[], None);
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(!page.text().contains("<script>"), "no inline script");
    // An uploaded drill is checked as `check` does, and refused with its problems.
    let admin = Link::new(addr, &server.admin);
    let bad = admin.post(
        addr,
        "/api/rooms",
        &json!({ "drill_text": "Drill(name: \"x\", duration: \"-5m\")" }),
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap()
            .contains("does not load"),
        "{}",
        bad.text()
    );
}

#[test]
fn a_server_refuses_a_room_beyond_its_maximum_with_a_clear_message() {
    let dir = data_dir("max-rooms");
    let server = Server::start_with(&dir.join("data"), &["--max-rooms", "1"]);
    let admin = Link::new(server.addr, &server.admin);
    let open = |body: &Value| admin.post(server.addr, "/api/rooms", body);
    assert_eq!(
        open(&json!({ "drill": "monday-rush", "clock": "turns" })).status,
        200
    );
    let refused = open(&json!({ "drill": "monday-rush", "clock": "turns" }));
    assert_eq!(refused.status, 503);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("already holds 1 room(s), its limit (--max-rooms)"),
        "{}",
        refused.text()
    );
    let unknown = open(&json!({ "drill": "no-such-drill" }));
    assert_eq!(unknown.status, 503, "the limit is checked first");
    // A player's link cannot open rooms.
    let rooms = admin.get(server.addr, "/api/rooms").json();
    let token = rooms["rooms"][0]["links"]["roles"]["ops"]
        .as_str()
        .unwrap()
        .split("#t=")
        .nth(1)
        .unwrap()
        .to_owned();
    let ops = Link::new(server.addr, &token);
    assert_eq!(
        ops.post(
            server.addr,
            "/api/rooms",
            &json!({ "drill": "monday-rush" })
        )
        .status,
        403
    );
}

#[test]
fn a_paused_room_stands_still_and_resumes_without_a_burst() {
    let dir = data_dir("pause");
    let server = Server::start(&dir.join("data"));
    let addr = server.addr;
    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "realtime", "speed": 1.0 }),
    );
    let control = |op: &str| {
        let r = room
            .facilitator
            .post(addr, &room.path("control"), &json!({ "op": op }));
        assert_eq!(r.status, 200, "{op}: {}", r.text());
        r.json()
    };
    let now = || {
        room.facilitator.get(addr, &room.path("state")).json()["now_ns"]
            .as_u64()
            .unwrap()
    };
    // Not started: the clock stands at the start.
    assert_eq!(now(), 0);
    control("start");
    let paused = control("pause");
    assert_eq!(paused["running"], json!(false));
    let at = paused["now_ns"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(now(), at, "a paused room's time stands still");
    let resumed = control("resume")["now_ns"].as_u64().unwrap();
    // Resuming goes on from where it stood: the two paused seconds are not made up at once.
    assert!(
        resumed - at < 1_000_000_000,
        "resumed at {resumed} ns after pausing at {at} ns"
    );
    let refused = room.facilitator.post(
        addr,
        &room.path("control"),
        &json!({ "op": "advance", "by": "5m" }),
    );
    assert_eq!(
        refused.status, 400,
        "a realtime room's clock runs by itself"
    );
    let kept = Transcript::read(
        &dir.join("data/rooms")
            .join(&room.id)
            .join("transcript.jsonl"),
    )
    .unwrap();
    let inputs: Vec<(&str, Option<&str>)> = kept
        .lines
        .iter()
        .map(|l| (l.input.as_str(), l.person.as_deref()))
        .collect();
    assert_eq!(
        inputs,
        [
            ("resume", Some("facilitator")),
            ("pause", Some("facilitator")),
            ("resume", Some("facilitator"))
        ],
        "each clock change is in the transcript"
    );
}

#[test]
fn a_players_charts_carry_the_drills_own_dashboard_panels() {
    let dir = data_dir("panels");
    let server = Server::start(&dir.join("data"));
    let addr = server.addr;
    let room = Room::open(
        &server,
        &json!({ "drill": "noisy-batch-job", "clock": "turns" }),
    );
    let moved = room.facilitator.post(
        addr,
        &room.path("control"),
        &json!({ "op": "advance", "by": "2m" }),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let stream = read_stream(
        addr,
        &format!(
            "{}?t={}",
            room.path("events"),
            room.tokens["projector"].as_str().unwrap()
        ),
        None,
        "\"panel claims-db timeouts/s\"",
    );
    assert!(
        stream.contains("\"panel Claim read time (mean)\""),
        "{stream}"
    );
}

#[test]
fn a_room_that_names_its_team_is_recorded_in_the_history_store() {
    let dir = data_dir("history");
    let (lines, _, _) = reference_lines(&dir);
    let (end, lines) = lines.split_last().expect("play ends its transcript");
    let db = dir.join("history.sqlite3");
    let db_arg = db.to_str().unwrap();
    let server = Server::start_with(&dir.join("data"), &["--db", db_arg]);
    assert!(!db.exists(), "serve creates no store before a room records");

    let admin = Link::new(server.addr, &server.admin);
    let blank = admin.post(
        server.addr,
        "/api/rooms",
        &json!({ "drill": "monday-rush", "clock": "turns", "team": "  " }),
    );
    assert_eq!(
        blank.status,
        400,
        "a blank team is refused: {}",
        blank.text()
    );

    let room = Room::open(
        &server,
        &json!({ "drill": "monday-rush", "clock": "turns", "team": "blue" }),
    );
    let players = join_all(&server, &room, lines);
    play_lines(&server, &room, lines, &players);
    end_room(&server, &room, end);
    let debrief: Value =
        serde_json::from_str(&check_downloads(&server, &room, &dir, &players[0].1)).unwrap();

    let listed: Value = serde_json::from_str(&firedrill(&["history", "--db", db_arg, "--json"]))
        .expect("history --json");
    let sessions = listed.as_array().expect("a list of sessions");
    assert_eq!(sessions.len(), 1, "{listed}");
    assert_eq!(sessions[0]["team"], "blue");
    assert_eq!(sessions[0]["drill"], "monday-rush");
    assert_eq!(sessions[0]["score"], debrief["score"]);
    let shown = firedrill(&["history", "--db", db_arg, "show", "1"]);
    for (role, _) in &players {
        assert!(
            shown.contains(&format!("{role}={role}-player")),
            "the people who joined are kept: {shown}"
        );
    }

    // A server restarted on the same data records nothing twice.
    server.kill();
    let again = Server::start_with(&dir.join("data"), &["--db", db_arg]);
    let rooms = Link::new(again.addr, &again.admin).get(again.addr, "/api/rooms");
    assert_eq!(rooms.status, 200);
    let listed: Value =
        serde_json::from_str(&firedrill(&["history", "--db", db_arg, "--json"])).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}
