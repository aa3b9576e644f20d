//! The war room under load: `firedrill serve` (the release binary) with ROOMS rooms of
//! monday-rush at speed 1, each followed by 6 event streams (four players, the facilitator and
//! the projector), while a player in every room sends a command every few seconds, for SECS
//! seconds. It reports the time from sending a command to its news on every client's stream
//! (p50, p99, max), how far each room's simulated clock lags wall time, and the server's peak
//! memory (VmHWM).
//!
//! `cargo bench --bench serve` (defaults: 100 rooms, 60 s);
//! `FIREDRILL_BENCH_ROOMS=10 FIREDRILL_BENCH_SECS=30 cargo bench --bench serve` for others.
//! Targets (DESIGN.md): p99 ≤ 250 ms, lag ≤ 1 s, memory < 1 GiB.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ROLES: [&str; 4] = ["ops", "ic", "comms", "scribe"];
/// A command from each room this often.
const EVERY: Duration = Duration::from_secs(3);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(n);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.push_str(&body);
    s.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // A JSON reply with a Content-Length, or one chunk.
    let json = body
        .find('{')
        .and_then(|i| {
            serde_json::Deserializer::from_str(&body[i..])
                .into_iter::<Value>()
                .next()
        })
        .and_then(Result::ok)
        .unwrap_or(Value::Null);
    (status, json)
}

struct Link {
    token: String,
    csrf: String,
}

impl Link {
    async fn new(addr: SocketAddr, token: &str) -> Link {
        let (_, me) = http(
            addr,
            "GET",
            "/api/me",
            &[("X-Firedrill-Token", token)],
            None,
        )
        .await;
        Link {
            token: token.to_owned(),
            csrf: me["csrf"].as_str().expect("csrf").to_owned(),
        }
    }
    async fn post(&self, addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
        http(
            addr,
            "POST",
            path,
            &[
                ("X-Firedrill-Token", &self.token),
                ("X-Firedrill-Csrf", &self.csrf),
            ],
            Some(body),
        )
        .await
    }
}

type Seen = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Follows one event stream, noting when each benchmark command's news arrives.
async fn follow(addr: SocketAddr, path: String, seen: Seen) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 65536];
    let mut carry = String::new();
    loop {
        let Ok(n) = s.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        let now = Instant::now();
        carry.push_str(&String::from_utf8_lossy(&buf[..n]));
        while let Some(at) = carry.find("\"input\":\"note bench-") {
            let rest = &carry[at + "\"input\":\"note ".len()..];
            let Some(end) = rest.find('"') else { break };
            let tag = rest[..end].to_owned();
            seen.lock().unwrap().entry(tag).or_default().push(now);
            carry.drain(..at + 10);
        }
        if carry.len() > 200 {
            let keep = carry.len() - 100;
            let cut = (keep..carry.len())
                .find(|i| carry.is_char_boundary(*i))
                .unwrap_or(carry.len());
            carry.drain(..cut);
        }
    }
}

fn main() {
    let rooms = env("FIREDRILL_BENCH_ROOMS", 100) as usize;
    let secs = env("FIREDRILL_BENCH_SECS", 60);
    let data = std::env::temp_dir().join(format!("firedrill-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut server = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-rooms",
            "1000",
            "--data",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .spawn()
        .expect("firedrill serve starts");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr: SocketAddr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .expect("an address");
    let admin = first.split("#admin=").nth(1).unwrap().trim().to_owned();
    let pid = server.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async move {
        let admin = Link::new(addr, &admin).await;
        let setup = Instant::now();
        let mut made = Vec::new();
        for _ in 0..rooms {
            let (status, room) = admin
                .post(addr, "/api/rooms", &json!({ "drill": "monday-rush", "clock": "realtime", "speed": 1.0 }))
                .await;
            assert_eq!(status, 200, "{room}");
            made.push(room);
        }
        eprintln!("{rooms} rooms opened in {:.1} s", setup.elapsed().as_secs_f64());
        let seen: Seen = Arc::new(Mutex::new(HashMap::new()));
        let mut players = Vec::new();
        let mut facilitators = Vec::new();
        for room in &made {
            let id = room["id"].as_str().unwrap().to_owned();
            let events = format!("/api/rooms/{id}/events");
            let mut tokens: Vec<String> = ROLES.iter().map(|r| room["tokens"]["roles"][r].as_str().unwrap().to_owned()).collect();
            tokens.push(room["tokens"]["facilitator"].as_str().unwrap().to_owned());
            tokens.push(room["tokens"]["projector"].as_str().unwrap().to_owned());
            for t in &tokens {
                tokio::spawn(follow(addr, format!("{events}?t={t}"), seen.clone()));
            }
            let ops = Link::new(addr, &tokens[0]).await;
            let (status, _) = ops.post(addr, &format!("/api/rooms/{id}/join"), &json!({ "name": "bench" })).await;
            assert_eq!(status, 200);
            players.push((id.clone(), ops));
            facilitators.push((id, Link::new(addr, &tokens[4]).await));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Start every room's clock.
        let mut started = HashMap::new();
        for (id, f) in &facilitators {
            let (status, s) = f.post(addr, &format!("/api/rooms/{id}/control"), &json!({ "op": "start" })).await;
            assert_eq!(status, 200, "{s}");
            started.insert(id.clone(), (Instant::now(), s["now_ns"].as_u64().unwrap()));
        }
        let began = Instant::now();
        let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let mut senders = Vec::new();
        for (i, (id, ops)) in players.into_iter().enumerate() {
            let sent = sent.clone();
            senders.push(tokio::spawn(async move {
                // Spread the rooms over the interval.
                tokio::time::sleep(EVERY * i as u32 / rooms as u32).await;
                let mut k = 0;
                while began.elapsed() < Duration::from_secs(secs) {
                    let tag = format!("bench-{i}-{k}");
                    sent.lock().unwrap().insert(tag.clone(), Instant::now());
                    let (status, reply) = ops
                        .post(addr, &format!("/api/rooms/{id}/command"), &json!({ "name": "bench", "line": format!("note {tag}") }))
                        .await;
                    assert_eq!(status, 200, "{reply}");
                    k += 1;
                    tokio::time::sleep(EVERY).await;
                }
            }));
        }
        // Clock lag, sampled every 5 s for every room.
        let mut worst_lag = f64::NEG_INFINITY;
        while began.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            for (id, f) in &facilitators {
                let (wall0, sim0) = started[id];
                let asked = Instant::now();
                let (_, s) = http(addr, "GET", &format!("/api/rooms/{id}/state"), &[("X-Firedrill-Token", &f.token)], None).await;
                let sim = (s["now_ns"].as_u64().unwrap_or(0) - sim0) as f64 / 1e9;
                let wall = asked.duration_since(wall0).as_secs_f64();
                worst_lag = worst_lag.max(wall - sim);
            }
        }
        for s in senders {
            let _ = s.await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sent = sent.lock().unwrap().clone();
        let seen = seen.lock().unwrap().clone();
        let mut latencies = Vec::new();
        let mut missing = 0usize;
        for (tag, at) in &sent {
            let arrivals = seen.get(tag).map_or(&[][..], Vec::as_slice);
            missing += 6usize.saturating_sub(arrivals.len());
            latencies.extend(arrivals.iter().map(|t| t.duration_since(*at).as_secs_f64() * 1000.0));
        }
        latencies.sort_by(f64::total_cmp);
        let q = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
        format!(
            "{rooms} rooms × 6 streams, {secs} s: {} commands, {} deliveries ({missing} missing); command → news on a stream: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; worst clock lag {:+.3} s (wall time since start − simulated time, when asked)",
            sent.len(),
            latencies.len(),
            q(0.5),
            q(0.99),
            latencies.last().copied().unwrap_or(f64::NAN),
            worst_lag
        )
    });
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "{report}; server peak memory {}",
        hwm.trim_start_matches("VmHWM:").trim()
    );
}
