//! The request log as JSON Lines, one object a line, as a log pipeline would ship it:
//! `timestamp` (RFC 3339, milliseconds, UTC), `level`, `request_id`, `service`, `step`,
//! `message`, and the structured `fields` the message was made from (with `notes`, the drill's
//! own log messages, when the line has any).

use serde::Serialize;

use super::Run;
use super::time::format_rfc3339_ms;
use crate::telemetry::log::{Level, LogKind};

#[derive(Serialize)]
struct Record<'a> {
    timestamp: String,
    level: Level,
    request_id: u64,
    service: &'a str,
    step: Option<&'a str>,
    message: String,
    fields: Fields<'a>,
}

#[derive(Serialize)]
struct Fields<'a> {
    event: LogKind,
    pool: Option<&'a str>,
    latency_seconds: f64,
    wait_seconds: f64,
    /// The drill's own `log` messages on this line (also at the end of `message`).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

/// The run's request log, timestamps from `start_ms`.
#[must_use]
pub fn render(run: &Run, start_ms: i64) -> String {
    let mut out = String::new();
    for line in &run.log {
        let record = Record {
            timestamp: format_rfc3339_ms(
                start_ms + i64::try_from(line.at_nanos / 1_000_000).unwrap_or(i64::MAX),
            ),
            level: line.level,
            request_id: line.request,
            service: &run.drill.service.name,
            step: line.step.as_deref(),
            message: line.message(),
            fields: Fields {
                event: line.kind,
                pool: line.pool.as_deref(),
                latency_seconds: line.latency_seconds,
                wait_seconds: line.wait_seconds,
                notes: &line.notes,
            },
        };
        out.push_str(&serde_json::to_string(&record).expect("log records serialise"));
        out.push('\n');
    }
    out
}
