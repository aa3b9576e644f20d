//! The live `/metrics` endpoint: a small HTTP/1.1 server on std's `TcpListener` that serves
//! the latest metrics snapshot in the Prometheus text format, and 404 for anything else.
//!
//! The simulation never waits for it: the live loop renders a snapshot after it advances
//! ([`Publisher::publish`]) and swaps the text into shared memory; the server's threads only
//! read that text. It is not a general web server: one request per connection, no
//! keep-alive, no TLS.
//!
//! Whatever its clients do, it holds bounded resources ([`Limits`]): a request's line and its
//! headers are read up to a length cap (431 beyond), within a deadline however slowly they
//! trickle in (408 after it), at most a fixed number of connections at once (503 beyond), and
//! when `accept` fails (out of file descriptors) it backs off instead of spinning, so the rest
//! of the process (the end-of-drill debrief) can still open its files.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::Session;
use crate::export::sample::Sampler;
use crate::sim::SimTime;
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
    /// The longest request line or header line, in bytes (with its line break).
    pub max_line: usize,
    /// The request line and all headers together, in bytes.
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
            max_line: 8 * 1024,
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

/// Serves `text` on `listener` from a thread of its own, within `limits`.
fn spawn_server(
    listener: TcpListener,
    text: Arc<RwLock<String>>,
    limits: Limits,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("metrics-server".into())
        .spawn(move || serve(&listener, &text, limits))?;
    Ok(())
}

fn serve(listener: &TcpListener, text: &Arc<RwLock<String>>, limits: Limits) {
    let open = Arc::new(AtomicUsize::new(0));
    accept_loop(
        || Some(listener.accept().map(|(stream, _)| stream)),
        std::thread::sleep,
        limits.max_backoff,
        |stream| {
            if open.load(Ordering::Acquire) >= limits.max_connections {
                refuse_busy(&stream);
                return;
            }
            open.fetch_add(1, Ordering::AcqRel);
            let (text, held) = (Arc::clone(text), Arc::clone(&open));
            // One short-lived thread per connection, so a slow client delays no one; the
            // connection cap bounds how many there are.
            let spawned = std::thread::Builder::new()
                .name("metrics-conn".into())
                .spawn(move || {
                    let _ = respond(&stream, &text, &limits);
                    held.fetch_sub(1, Ordering::AcqRel);
                });
            if spawned.is_err() {
                open.fetch_sub(1, Ordering::AcqRel);
            }
        },
    );
}

/// Takes connections from `accept` and hands them to `handle` until `accept` says `None` (a
/// real listener never does). After a failed accept it sleeps, 10 ms and doubling up to
/// `max_backoff`, so running out of file descriptors does not spin a core; a success resets
/// the pause.
fn accept_loop<T>(
    mut accept: impl FnMut() -> Option<io::Result<T>>,
    mut sleep: impl FnMut(Duration),
    max_backoff: Duration,
    mut handle: impl FnMut(T),
) {
    const FIRST: Duration = Duration::from_millis(10);
    let mut pause = FIRST;
    while let Some(next) = accept() {
        if let Ok(stream) = next {
            pause = FIRST;
            handle(stream);
        } else {
            sleep(pause.min(max_backoff));
            pause = (pause * 2).min(max_backoff);
        }
    }
}

/// Answers 503 without waiting on the client: the reply fits the socket's send buffer, and
/// what does not fit is dropped.
fn refuse_busy(stream: &TcpStream) {
    let _ = stream.set_nonblocking(true);
    let mut stream = stream;
    let _ = stream.write_all(&head(
        "503 Service Unavailable",
        "text/plain; charset=utf-8",
        BUSY.len(),
    ));
    let _ = stream.write_all(BUSY.as_bytes());
}

const BUSY: &str = "busy: too many connections to /metrics; try again shortly\n";

fn head(status: &str, content_type: &str, length: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Why a request head could not be read.
enum HeadError {
    TooLarge,
    TooSlow,
    Io,
}

/// Reads the request line and the headers up to the blank line, within `limits`; returns
/// the request line.
fn read_head(stream: &TcpStream, limits: &Limits) -> Result<String, HeadError> {
    let deadline = Instant::now() + limits.head_deadline;
    let mut reader = BufReader::with_capacity(1024, DeadlineReader { stream, deadline });
    let mut line = Vec::new();
    let mut request = None;
    let mut total = 0;
    loop {
        line.clear();
        let cap = limits.max_line.min(limits.max_head - total);
        let read = (&mut reader)
            .take(cap as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => HeadError::TooSlow,
                _ => HeadError::Io,
            })?;
        if read > cap {
            return Err(HeadError::TooLarge);
        }
        if !line.ends_with(b"\n") {
            // The client closed before the blank line: answer what it sent, if anything.
            return request.ok_or(HeadError::Io);
        }
        total += read;
        if request.is_none() {
            request = Some(String::from_utf8_lossy(&line).into_owned());
        } else if line.trim_ascii().is_empty() {
            return request.ok_or(HeadError::Io);
        }
    }
}

/// A stream whose every read waits at most until a fixed deadline.
struct DeadlineReader<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

fn respond(stream: &TcpStream, text: &RwLock<String>, limits: &Limits) -> io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head_only = false;
    let (status, content_type, body) = match read_head(stream, limits) {
        Ok(request) => {
            let mut parts = request.split_whitespace();
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let path = target.split('?').next().unwrap_or("");
            // HEAD answers as GET does, with the same headers and no body.
            head_only = method == "HEAD";
            if matches!(method, "GET" | "HEAD") && path == "/metrics" {
                let body = text.read().map(|t| t.clone()).unwrap_or_default();
                ("200 OK", TEXT_CONTENT_TYPE, body)
            } else {
                (
                    "404 Not Found",
                    "text/plain; charset=utf-8",
                    "not found: firedrill serves GET /metrics\n".to_owned(),
                )
            }
        }
        Err(HeadError::TooLarge) => (
            "431 Request Header Fields Too Large",
            "text/plain; charset=utf-8",
            format!(
                "request head too large: at most {} bytes a line and {} in all\n",
                limits.max_line, limits.max_head
            ),
        ),
        Err(HeadError::TooSlow) => (
            "408 Request Timeout",
            "text/plain; charset=utf-8",
            format!(
                "request head not received within {} s\n",
                limits.head_deadline.as_secs_f64()
            ),
        ),
        Err(HeadError::Io) => return Ok(()),
    };
    let mut stream = stream;
    stream.write_all(&head(status, content_type, body.len()))?;
    if !head_only {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()?;
    // Let the client read the answer before the close: end our side, then discard a little of
    // what it may still be sending (closing with unread data would reset the connection).
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = io::copy(&mut stream.take(64 * 1024), &mut io::sink());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
    fn metrics_server_refuses_a_header_line_longer_than_its_cap() {
        let addr = server(Limits::default());
        let mut request = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
        request.resize(request.len() + 100_000, b'a');
        request.extend_from_slice(b"\r\n\r\n");
        let answer = exchange(addr, &request);
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert!(answer.contains("at most 8192 bytes a line"), "{answer}");
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
        for _ in 0..400 {
            if stream.write_all(b"X").is_err() {
                break;
            }
            match stream.read_to_end(&mut answer) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                _ => break,
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
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

    #[test]
    fn failed_accepts_back_off_instead_of_spinning() {
        let mut script = vec![Err(()), Err(()), Err(()), Ok(1), Err(()), Err(())]
            .into_iter()
            .chain(std::iter::repeat_n(Err(()), 20));
        let mut sleeps = Vec::new();
        let mut handled = Vec::new();
        accept_loop(
            || {
                script
                    .next()
                    .map(|r| r.map_err(|()| io::Error::from_raw_os_error(24)))
            },
            |d| sleeps.push(d),
            Duration::from_secs(1),
            |n| handled.push(n),
        );
        assert_eq!(handled, [1]);
        let ms: Vec<u128> = sleeps.iter().map(Duration::as_millis).collect();
        // Every failure sleeps, doubling from 10 ms up to the cap; a success starts over.
        assert_eq!(ms.len(), 25);
        assert_eq!(&ms[..5], [10, 20, 40, 10, 20]);
        assert_eq!(ms.iter().max(), Some(&1000));
        assert!(ms.windows(2).skip(3).all(|w| w[0] <= w[1]));
    }
}
