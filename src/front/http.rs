//! The HTTP plumbing both web front-ends share (`firedrill serve` and `run --metrics-listen`):
//! accepting connections for an axum [`Router`] on hyper, within bounds whatever the clients
//! do. A request head has a size cap (431 beyond) and a deadline however slowly it trickles in
//! (the connection is closed after it); at most so many connections are open at once (one more
//! is answered 503 and closed); and when `accept` fails (out of file descriptors) the loop backs
//! off instead of spinning.
//!
//! It knows nothing of rooms or metrics: those are the routers'.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// What a server holds at most.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// The request line and headers together, in bytes (at least 8 KiB).
    pub max_head: usize,
    /// How long a client has to send its whole request head.
    pub head_deadline: Duration,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// The longest pause after `accept` fails, as the pauses double from 10 ms.
    pub max_backoff: Duration,
    /// Whether a connection may carry more than one request.
    pub keep_alive: bool,
    /// The 503 body beyond `max_connections`.
    pub busy: &'static str,
}

/// The pause after a failed `accept` that follows `pause`: doubling, up to `max`.
#[must_use]
pub fn next_pause(pause: Duration, max: Duration) -> Duration {
    (pause * 2).min(max)
}

const FIRST_PAUSE: Duration = Duration::from_millis(10);

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, router: Router, limits: ConnLimits) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let mut pause = FIRST_PAUSE;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(pause.min(limits.max_backoff)).await;
            pause = next_pause(pause, limits.max_backoff);
            continue;
        };
        pause = FIRST_PAUSE;
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream, limits.busy));
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.max_buf_size(limits.max_head.max(8192))
                .header_read_timeout(limits.head_deadline)
                .timer(TokioTimer::new())
                .keep_alive(limits.keep_alive)
                .title_case_headers(true);
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Answers 503 without reading the request, and closes.
async fn refuse_busy(mut stream: TcpStream, body: &'static str) {
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let send = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), send).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_doubling_to_a_cap() {
        let max = Duration::from_secs(1);
        let mut pause = FIRST_PAUSE;
        let mut seen = vec![pause];
        for _ in 0..10 {
            pause = next_pause(pause, max);
            seen.push(pause);
        }
        let ms: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
        assert_eq!(&ms[..4], [10, 20, 40, 80]);
        assert_eq!(ms.last(), Some(&1000));
    }
}
