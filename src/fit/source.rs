//! Where the series come from: an OpenMetrics file, a directory of saved `query_range`
//! answers (one file per query, named after the series it asks for), or a running
//! Prometheus's HTTP API. Every read is bounded: a file's size, an answer's size, and each
//! request's time.
//!
//! The Prometheus client is hyper's HTTP/1.1 connection on a tokio runtime of its own,
//! plain `http://` only (put a TLS-terminating proxy or an SSH tunnel in front of an
//! `https://` server).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::FitError;
use super::map::Map;
use super::observe::NAMES;
use super::series::{self, Dataset};

/// The most an OpenMetrics file may hold.
pub const OPENMETRICS_LIMIT: u64 = 2 << 30;
/// The most one `query_range` answer may hold.
pub const ANSWER_LIMIT: usize = 256 << 20;
/// How long one request to Prometheus may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Prometheus answers at most 11,000 points per series.
const MAX_POINTS: i64 = 11_000;

/// Reads an OpenMetrics file.
///
/// # Errors
/// The file cannot be read or is malformed.
pub fn openmetrics(path: &Path) -> Result<Dataset, FitError> {
    let text = crate::files::read_text_limited(path, OPENMETRICS_LIMIT, "OpenMetrics file")
        .map_err(FitError::Connect)?;
    series::parse_openmetrics(&text, &path.display().to_string())
}

/// The file in a `--query-json` directory that holds the answer for `name`.
#[must_use]
pub fn answer_file(name: &str) -> String {
    format!("{name}.json")
}

/// Reads saved `query_range` answers from `dir`: `<series name>.json` for each series fit
/// reads; a missing file is a missing series.
///
/// # Errors
/// The directory cannot be read, or an answer is malformed or an error.
pub fn query_json(dir: &Path, map: &Map) -> Result<Dataset, FitError> {
    if !dir.is_dir() {
        return Err(FitError::Connect(format!(
            "--query-json {}: not a directory; give the directory that holds one query_range answer per series ({})",
            dir.display(),
            answer_file(NAMES[0])
        )));
    }
    let mut data = Dataset::default();
    let mut found = 0;
    for name in NAMES {
        let path = dir.join(answer_file(name));
        if !path.exists() {
            continue;
        }
        found += 1;
        let text =
            crate::files::read_text_limited(&path, ANSWER_LIMIT as u64, "query_range answer")
                .map_err(FitError::Connect)?;
        let query = map.query(name);
        let part = series::parse_query_range(&text, name, &query, &path.display().to_string())?;
        data.series.extend(map.translate(name, part.series));
    }
    if found == 0 {
        return Err(FitError::Connect(format!(
            "--query-json {}: holds none of the answers fit reads (such as {}); save each with\n  curl -G 'http://PROMETHEUS/api/v1/query_range' --data-urlencode query=NAME --data start=... --data end=... --data step=15 > DIR/NAME.json",
            dir.display(),
            answer_file(NAMES[0])
        )));
    }
    Ok(data)
}

/// A Prometheus server's address, checked: `http://host:port` with an optional path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub prefix: String,
}

impl Server {
    /// Reads `http://HOST[:PORT][/PREFIX]`.
    ///
    /// # Errors
    /// Another scheme, or no host.
    pub fn parse(url: &str) -> Result<Server, FitError> {
        let bad = |why: &str| {
            FitError::Connect(format!(
                "--prometheus {url}: {why}; give http://HOST:PORT (for example http://127.0.0.1:9090)"
            ))
        };
        let Some(rest) = url.strip_prefix("http://") else {
            if url.starts_with("https://") {
                return Err(bad(
                    "https is not supported (use an SSH tunnel or a local proxy, and http://)",
                ));
            }
            return Err(bad("not an http:// address"));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Server {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            prefix: match path.trim_end_matches('/') {
                "" => String::new(),
                p => format!("/{p}"),
            },
        })
    }
}

/// `query_range`'s step for a range: 15 s, or more when the range would give more points
/// than Prometheus answers.
#[must_use]
pub fn step_for(start_ms: i64, end_ms: i64) -> i64 {
    let span = (end_ms - start_ms).max(0) / 1000;
    (span / (MAX_POINTS - 1) + 1).max(15)
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Asks `server` for every series fit reads over `[start_ms, end_ms]`; each answer is also
/// saved in `save` when given (for `--query-json` later).
///
/// # Errors
/// The server cannot be reached, answers with an error, too slowly or too much.
pub fn prometheus(
    server: &Server,
    start_ms: i64,
    end_ms: i64,
    save: Option<&Path>,
    map: &Map,
) -> Result<Dataset, FitError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FitError::Connect(format!("cannot start the HTTP client: {e}")))?;
    let step = step_for(start_ms, end_ms);
    let mut data = Dataset::default();
    for name in NAMES {
        let query = map.query(name);
        let path = format!(
            "{}/api/v1/query_range?query={}&start={}&end={}&step={step}",
            server.prefix,
            encode(&query),
            start_ms as f64 / 1000.0,
            end_ms as f64 / 1000.0
        );
        let (status, body) = runtime.block_on(get(server, &path))?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if !(200..300).contains(&status) {
            // Prometheus answers a bad query with 400/422 and a JSON error: show its words.
            if let Err(e @ FitError::Server { .. }) =
                series::parse_query_range(&text, name, &query, "answer")
            {
                return Err(e);
            }
            return Err(FitError::Server {
                query: query.clone(),
                message: format!(
                    "HTTP {status} from http://{}:{}{}: {}",
                    server.host,
                    server.port,
                    path,
                    text.chars().take(300).collect::<String>().trim()
                ),
            });
        }
        let part =
            series::parse_query_range(&text, name, &query, &format!("the answer to {query}"))?;
        if let Some(dir) = save {
            let file = dir.join(answer_file(name));
            crate::files::write_atomic(&file, |w| w.write_all(text.as_bytes()))
                .map_err(|e| FitError::Connect(format!("cannot write {}: {e}", file.display())))?;
        }
        data.series.extend(map.translate(name, part.series));
    }
    Ok(data)
}

/// One GET, bounded in time and size: the status and the body.
async fn get(server: &Server, path: &str) -> Result<(u16, Vec<u8>), FitError> {
    use http_body_util::BodyExt as _;
    let address = format!("http://{}:{}{path}", server.host, server.port);
    let work = async {
        let stream = tokio::net::TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(|e| {
                FitError::Connect(format!(
                    "cannot reach Prometheus at http://{}:{}: {e}\n  hint: is it running, and is the address right?",
                    server.host, server.port
                ))
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| FitError::Connect(format!("{address}: {e}")))?;
        tokio::spawn(connection);
        let host = if server.host.contains(':') {
            format!("[{}]:{}", server.host, server.port)
        } else {
            format!("{}:{}", server.host, server.port)
        };
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT, "application/json")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| FitError::Connect(format!("{address}: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| FitError::Connect(format!("{address}: {e}")))?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| FitError::Connect(format!("{address}: {e}")))?;
            if let Some(data) = frame.data_ref() {
                if out.len() + data.len() > ANSWER_LIMIT {
                    return Err(FitError::Connect(format!(
                        "{address}: the answer is larger than {} MiB; fit a shorter range (--start/--end)",
                        ANSWER_LIMIT >> 20
                    )));
                }
                out.extend_from_slice(data);
            }
        }
        Ok((status, out))
    };
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => Err(FitError::Connect(format!(
            "{address}: no complete answer within {} s",
            TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        let s = Server::parse("http://127.0.0.1:9090/prom/").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.prefix.as_str()),
            ("127.0.0.1", 9090, "/prom")
        );
        assert_eq!(Server::parse("http://localhost").unwrap().port, 80);
        assert!(
            Server::parse("https://x")
                .unwrap_err()
                .to_string()
                .contains("https")
        );
        assert!(Server::parse("x:9090").is_err());
    }

    #[test]
    fn steps_keep_under_the_point_limit() {
        assert_eq!(step_for(0, 3_600_000), 15);
        assert!((86_400_000 * 30) / 1000 / step_for(0, 86_400_000 * 30) < MAX_POINTS);
    }
}
