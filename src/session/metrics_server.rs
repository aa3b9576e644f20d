//! The live `/metrics` endpoint: a small HTTP/1.1 server on std's `TcpListener` that serves
//! the latest metrics snapshot in the Prometheus text format, and 404 for anything else.
//!
//! The simulation never waits for it: the live loop renders a snapshot after it advances
//! ([`Publisher::publish`]) and swaps the text into shared memory; the server's threads only
//! read that text. It is not a general web server: one request per connection, no
//! keep-alive, no TLS.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::Duration;

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
    std::thread::Builder::new()
        .name("metrics-server".into())
        .spawn(move || serve(&listener, &text))?;
    Ok(publisher)
}

fn serve(listener: &TcpListener, text: &Arc<RwLock<String>>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let text = Arc::clone(text);
        // One short-lived thread per connection, so a slow client delays no one.
        let _ = std::thread::Builder::new()
            .name("metrics-conn".into())
            .spawn(move || {
                let _ = respond(stream, &text);
            });
    }
}

fn respond(mut stream: TcpStream, text: &RwLock<String>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Read (and ignore) the headers, up to the blank line.
    let mut header = String::new();
    loop {
        header.clear();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    // HEAD answers as GET does, with the same headers and no body.
    let (status, content_type, body) = if matches!(method, "GET" | "HEAD") && path == "/metrics" {
        let body = text.read().map(|t| t.clone()).unwrap_or_default();
        ("200 OK", TEXT_CONTENT_TYPE, body)
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: firedrill serves GET /metrics\n".to_owned(),
        )
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
