//! The `logs` view: the latest request-log lines up to `now` that pass a [`LogFilter`] (level,
//! time, text), oldest first, under a header that says how many matched in all.
//!
//! It does not write the request log (the engine samples it as each bucket closes) and does
//! not parse the `logs` command's options (the command language does).

use std::fmt::Write as _;

use super::{ViewContext, clock_millis};
use crate::drill::Duration;
use crate::sim::SimTime;
use crate::telemetry::log::{Level, LogLine};

/// Request-log lines `logs` shows when no limit is given.
pub const DEFAULT_LOG_LIMIT: usize = 20;

/// Which request-log lines `logs` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// The least severe level shown (`Warn` shows warnings and errors).
    pub level: Option<Level>,
    /// Only lines from this long before `now`.
    pub last: Option<Duration>,
    /// Only lines whose message, step or pool contains this, ignoring case.
    pub grep: Option<String>,
    /// The most lines shown: the latest ones.
    pub limit: usize,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            level: None,
            last: None,
            grep: None,
            limit: DEFAULT_LOG_LIMIT,
        }
    }
}

impl LogFilter {
    /// `level ≥ warn, last 5m, grep "timeout"`, or empty for no filter.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(level) = self.level.filter(|l| *l > Level::Info) {
            parts.push(format!("level ≥ {}", level.as_str()));
        }
        if let Some(last) = self.last {
            parts.push(format!("last {last}"));
        }
        if let Some(grep) = self.needle() {
            parts.push(format!("grep \"{grep}\""));
        }
        parts.join(", ")
    }

    fn needle(&self) -> Option<&str> {
        self.grep
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
    }
}

/// The latest `filter.limit` request-log lines up to `now` that pass `filter`, oldest first,
/// under a header that says how many matched in all.
pub fn logs(ctx: &ViewContext, filter: &LogFilter) -> Result<String, String> {
    if filter.limit == 0 {
        return Err("limit must be at least 1".to_owned());
    }
    if filter.last.is_some_and(Duration::is_zero) {
        return Err("`last` must be longer than 0s, e.g. last=5m".to_owned());
    }
    let now = ctx.now.nanos();
    let log = ctx.telemetry.log();
    let visible = &log[..log.partition_point(|l| l.at_nanos <= now)];
    let from = filter.last.map(|last| now.saturating_sub(last.as_nanos()));
    let needle = filter.needle().map(str::to_lowercase);
    let matches = |line: &LogLine| {
        filter.level.is_none_or(|min| line.level >= min)
            && from.is_none_or(|from| line.at_nanos >= from)
            && needle.as_deref().is_none_or(|needle| {
                line.message().to_lowercase().contains(needle)
                    || [&line.step, &line.pool]
                        .into_iter()
                        .flatten()
                        .any(|s| s.to_lowercase().contains(needle))
            })
    };
    let matched: Vec<&LogLine> = visible.iter().filter(|l| matches(l)).collect();
    let described = filter.describe();
    if matched.is_empty() {
        return Ok(if visible.is_empty() {
            let close = if ctx.buckets().is_empty() {
                format!(", first at {}", ctx.first_close())
            } else {
                String::new()
            };
            format!("the request log is empty so far (lines arrive as each bucket closes{close})\n")
        } else {
            format!(
                "no request-log lines match {described} ({} lines up to {})\n",
                visible.len(),
                ctx.clock(ctx.now)
            )
        });
    }
    let shown = &matched[matched.len().saturating_sub(filter.limit)..];
    let mut out = String::from("REQUEST LOG");
    if !described.is_empty() {
        let _ = write!(out, "  {described}");
    }
    if shown.len() < matched.len() {
        let _ = writeln!(
            out,
            "  (last {} of {} matching lines)",
            shown.len(),
            matched.len()
        );
    } else {
        let _ = writeln!(
            out,
            "  ({} matching line{})",
            matched.len(),
            if matched.len() == 1 { "" } else { "s" }
        );
    }
    let fields: Vec<String> = shown
        .iter()
        .map(|line| {
            let mut text = format!("req={}", line.request);
            if let Some(step) = &line.step {
                let _ = write!(text, " step={step}");
            }
            if let Some(pool) = &line.pool {
                let _ = write!(text, " pool={pool}");
            }
            text
        })
        .collect();
    let width = fields.iter().map(|f| f.chars().count()).max().unwrap_or(0);
    for (line, fields) in shown.iter().zip(&fields) {
        let _ = writeln!(
            out,
            "{} {:<5} {fields:<width$}  {}",
            clock_millis(ctx.clock_start, SimTime::from_nanos(line.at_nanos)),
            line.level.as_str().to_uppercase(),
            line.message()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::Run;
    use super::*;

    fn level_of(line: &str) -> &str {
        line.split_whitespace().nth(1).unwrap()
    }

    #[test]
    fn logs_filter_by_level_time_and_text() {
        let run = Run::monday(60.0);
        let ctx = run.ctx();
        let all = logs(&ctx, &LogFilter::default()).unwrap();
        assert_eq!(all.lines().count(), 1 + DEFAULT_LOG_LIMIT, "{all}");
        assert!(all.lines().next().unwrap().contains("of "), "{all}");

        let warn = LogFilter {
            level: Some(Level::Warn),
            limit: 200,
            ..LogFilter::default()
        };
        let text = logs(&ctx, &warn).unwrap();
        assert!(text.lines().count() > 1);
        for line in text.lines().skip(1) {
            assert!(matches!(level_of(line), "WARN" | "ERROR"), "{line}");
        }

        let grep = LogFilter {
            grep: Some("TIMED OUT".to_owned()),
            last: Some(Duration::from_secs(120)),
            ..LogFilter::default()
        };
        let text = logs(&ctx, &grep).unwrap();
        for line in text.lines().skip(1) {
            assert!(line.contains("timed out"), "{line}");
            assert!(line.as_bytes() >= b"09:43:00".as_slice(), "{line}");
        }

        let none = LogFilter {
            grep: Some("no such thing".to_owned()),
            ..LogFilter::default()
        };
        assert!(
            logs(&ctx, &none)
                .unwrap()
                .starts_with("no request-log lines match")
        );
        let zero = LogFilter {
            limit: 0,
            ..LogFilter::default()
        };
        assert!(logs(&ctx, &zero).is_err());
    }

    #[test]
    fn logs_stop_at_now() {
        let run = Run::monday(60.0);
        let mut ctx = run.ctx();
        ctx.now = SimTime::from_secs_f64(30.0 * 60.0);
        let text = logs(&ctx, &LogFilter::default()).unwrap();
        for line in text.lines().skip(1) {
            assert!(line.as_bytes() <= b"09:15:00.000".as_slice(), "{line}");
        }
    }
}
