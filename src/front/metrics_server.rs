//! The live `/metrics` endpoint: serves the latest metrics snapshot in the Prometheus text
//! format, and 404 for anything else, on the same HTTP stack as the war room (axum on hyper,
//! [`crate::front::http`]), from a thread of its own.
//!
//! The simulation never waits for it: the live loop renders a snapshot after it advances
//! ([`Publisher::publish`]) and swaps the text into shared memory; the server only reads that
//! text. One request per connection, no TLS.
//!
//! Whatever its clients do, it holds bounded resources ([`Limits`]): a request head is read up
//! to a size cap (431 beyond) within a deadline however slowly it trickles in (the connection
//! is closed after it), at most a fixed number of connections at once (503 beyond), and when
//! `accept` fails (out of file descriptors) it backs off instead of spinning, so the rest of the
//! process (the end-of-drill debrief) can still open its files.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::export::sample::Sampler;
use crate::session::Session;
use crate::session::SimTime;
use crate::telemetry::prometheus::{TEXT_CONTENT_TYPE, encode_text};

/// Reads `--metrics-listen`: `HOST:PORT`, or `PORT` / `:PORT` for 127.0.0.1.
///
/// # Errors
/// A message naming the expected form.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    let port_only = t.strip_prefix(':').unwrap_or(t);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    t.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            format!(
                "`{text}` is not an address to listen on: give HOST:PORT (e.g. 0.0.0.0:9464) or a port (9464 binds 127.0.0.1)"
            )
        })
}

/// The sim thread's side: renders snapshots and hands them to the server.
pub struct Publisher {
    text: Arc<RwLock<String>>,
    sampler: Sampler,
    last: Option<SimTime>,
    addr: SocketAddr,
}

impl Publisher {
    /// The address the server is bound to (with the real port when 0 was asked for).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Renders the session's metrics if simulated time moved since the last call.
    pub fn publish(&mut self, session: &Session) {
        let now = session.now();
        if self.last == Some(now) {
            return;
        }
        self.last = Some(now);
        let text = encode_text(&self.sampler.sample(session.sim()));
        if let Ok(mut shared) = self.text.write() {
            *shared = text;
        }
    }
}

/// What one client, or many, can make the server hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The request line and all headers together, in bytes (at least 8 KiB).
    pub max_head: usize,
    /// How long a client has to send its whole request head, however it trickles in.
    pub head_deadline: Duration,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// The longest pause after `accept` fails, as the pauses double from 10 ms.
    pub max_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 32 * 1024,
            head_deadline: Duration::from_secs(10),
            max_connections: 32,
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// Binds `addr`, starts serving, and publishes the session's metrics once.
///
/// # Errors
/// The address cannot be bound.
pub fn start(addr: SocketAddr, session: &Session) -> io::Result<Publisher> {
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let text = Arc::new(RwLock::new(String::new()));
    let mut publisher = Publisher {
        text: Arc::clone(&text),
        sampler: Sampler::new(session.drill()),
        last: None,
        addr,
    };
    publisher.publish(session);
    spawn_server(listener, text, Limits::default())?;
    Ok(publisher)
}

const BUSY: &str = "busy: too many connections to /metrics; try again shortly\n";

/// Serves `text` on `listener` from a thread of its own (a one-thread runtime), within `limits`.
fn spawn_server(
    listener: TcpListener,
    text: Arc<RwLock<String>>,
    limits: Limits,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let router = Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: firedrill serves GET /metrics\n",
            )
        })
        .with_state(text);
    let limits = crate::front::http::ConnLimits {
        max_head: limits.max_head,
        head_deadline: limits.head_deadline,
        max_connections: limits.max_connections,
        max_backoff: limits.max_backoff,
        keep_alive: false,
        busy: BUSY,
    };
    std::thread::Builder::new()
        .name("metrics-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    crate::front::http::serve(listener, router, limits).await;
                }
            });
        })?;
    Ok(())
}

/// `GET /metrics` (and `HEAD`, which axum answers as GET without the body).
async fn metrics(State(text): State<Arc<RwLock<String>>>) -> impl IntoResponse {
    let body = text.read().map(|t| t.clone()).unwrap_or_default();
    ([(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn listen_addresses_default_to_localhost() {
        assert_eq!(parse_listen("9464").unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(parse_listen(":0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(
            parse_listen("0.0.0.0:9464").unwrap().to_string(),
            "0.0.0.0:9464"
        );
        assert!(parse_listen("nowhere").is_err());
    }

    /// A server on 127.0.0.1:0 serving a fixed text within `limits`.
    fn server(limits: Limits) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let text = Arc::new(RwLock::new("firedrill_up 1\n".to_owned()));
        spawn_server(listener, text, limits).unwrap();
        addr
    }

    /// Sends `request` and reads the answer to the end (or for at most 20 s).
    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // The server may answer (and stop reading) before the whole request is sent.
        let _ = stream.write_all(request);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    const GET: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn metrics_server_refuses_a_header_longer_than_its_cap() {
        let addr = server(Limits::default());
        let mut request = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
        request.resize(request.len() + 100_000, b'a');
        request.extend_from_slice(b"\r\n\r\n");
        let answer = exchange(addr, &request);
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        // A request line with no line break at all is refused the same way.
        let answer = exchange(addr, &vec![b'G'; 50_000]);
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        // And the server goes on serving.
        let answer = exchange(addr, GET);
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("firedrill_up 1\n"));
    }

    #[test]
    fn metrics_server_refuses_headers_larger_in_all_than_its_cap() {
        let addr = server(Limits::default());
        let mut request = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            request.extend_from_slice(format!("X-H{i}: {}\r\n", "b".repeat(1000)).as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        let answer = exchange(addr, &request);
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        // Headers within the caps are read to the blank line and answered.
        let mut request = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for i in 0..20 {
            request.extend_from_slice(format!("X-H{i}: {}\r\n", "b".repeat(1000)).as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        assert!(exchange(addr, &request).starts_with("HTTP/1.1 200 OK"));
    }

    #[test]
    fn metrics_server_closes_a_trickled_request_head_at_its_deadline() {
        let addr = server(Limits {
            head_deadline: Duration::from_millis(300),
            ..Limits::default()
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
        // One header byte at a time, each well within a per-read timeout: 400 of them take
        // 20 s at least, far past the 300 ms deadline for the whole head.
        let mut answer = Vec::new();
        let mut sent = 0;
        for _ in 0..400 {
            if stream.write_all(b"X").is_err() {
                break;
            }
            sent += 1;
            match stream.read_to_end(&mut answer) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                _ => break,
            }
        }
        assert!(sent < 400, "the trickled head was read to the end");
        let answer = String::from_utf8_lossy(&answer);
        // The connection was closed at the deadline, with nothing served.
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
            "{answer}"
        );
    }

    #[test]
    fn metrics_server_answers_503_beyond_its_connection_cap() {
        let addr = server(Limits {
            max_connections: 2,
            ..Limits::default()
        });
        // Two silent clients hold both connections (the head deadline is 10 s).
        let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        // Connections are accepted in order, so the third is counted after both.
        let answer = exchange(addr, GET);
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        drop(idle);
        // Once they are gone, the server serves again.
        let mut served = false;
        for _ in 0..200 {
            if exchange(addr, GET).starts_with("HTTP/1.1 200 OK") {
                served = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(served, "no connection was freed");
    }
}
