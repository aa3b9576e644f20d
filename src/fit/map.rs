//! `fit --map MAP.ron`: where each series fit reads comes from in a team's telemetry.
//!
//! Fit reads a fixed list of series in firedrill's own names ([`NAMES`], docs/metrics.md). A
//! map entry names, for one of them, the team's query: PromQL sent to `--prometheus`, the
//! answer saved under the series' name for `--query-json`, or a series selector
//! (`name{label="value"}`) picked out of an `--openmetrics` file. Each series the query gives
//! is renamed to firedrill's name, its labels renamed (`labels: {"step": "tool"}`: the team's
//! `tool` label is firedrill's `step`), the map's `service` added where it has none, and with
//! `integrate: true` a rate or a level (requests per second, connections in use) is summed over
//! time into the counter fit reads. A series the map leaves out is read under its own name, so
//! the empty map is firedrill's own names, and an export fits back with no map at all.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::FitError;
use super::observe::NAMES;
use super::series::{Dataset, Series};
use crate::drill::suggest::edit_distance;

/// The most a map file may hold.
pub const MAP_LIMIT: u64 = 1 << 20;

/// A map, checked: each entry reads a series fit knows, at most one entry per series.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename = "Map")]
pub struct Map {
    /// The service label to add to series that carry none.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub series: Vec<Entry>,
}

/// Where one series fit reads comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename = "Series")]
pub struct Entry {
    /// The series fit reads, in firedrill's name (`firedrill_step_calls_total`).
    pub reads: String,
    /// PromQL for `--prometheus` (and the saved answers of `--query-json`); a series
    /// selector `name{label="value",...}` for `--openmetrics`.
    pub query: String,
    /// firedrill's label name → the team's label name.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The query gives a rate or a level, summed over time into the counter fit reads.
    #[serde(default)]
    pub integrate: bool,
}

/// Line and column (from 1) of the first occurrence of `needle` in `text`.
fn place(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, col))
}

impl Map {
    /// Reads and checks a map file.
    ///
    /// # Errors
    /// The file cannot be read, is not a map, or names a series fit does not read, twice.
    pub fn load(path: &Path) -> Result<Map, FitError> {
        let text = crate::files::read_text_limited(path, MAP_LIMIT, "map file")
            .map_err(|e| FitError::Connect(format!("--map: {e}")))?;
        Map::parse(&text, &path.display().to_string())
    }

    /// Reads and checks the map `text` (named `file` in messages).
    ///
    /// # Errors
    /// Not a map, or an entry that reads a series fit does not read, or one read twice.
    pub fn parse(text: &str, file: &str) -> Result<Map, FitError> {
        let map: Map = crate::drill::ron_options().from_str(text).map_err(|e| {
            FitError::Input {
                what: format!("{file}:{}:{}", e.span.start.line, e.span.start.col),
                message: e.code.to_string(),
                hint: "a map is Map(service: .., series: [Series(reads: .., query: .., labels: {..}, integrate: ..), ..]); `firedrill fit --print-map` writes one to start from".into(),
            }
        })?;
        let at = |needle: &str| {
            place(text, &format!("\"{needle}\""))
                .map_or_else(|| file.to_owned(), |(l, c)| format!("{file}:{l}:{c}"))
        };
        let mut seen: Vec<&str> = Vec::new();
        for entry in &map.series {
            if !NAMES.contains(&entry.reads.as_str()) {
                let closest = NAMES
                    .iter()
                    .min_by_key(|n| edit_distance(n, &entry.reads))
                    .copied()
                    .unwrap_or_default();
                return Err(FitError::Input {
                    what: at(&entry.reads),
                    message: format!("`{}` is not a series fit reads", entry.reads),
                    hint: format!("did you mean `{closest}`? fit reads: {}", NAMES.join(", ")),
                });
            }
            if seen.contains(&entry.reads.as_str()) {
                return Err(FitError::Input {
                    what: at(&entry.reads),
                    message: format!("`{}` is mapped twice", entry.reads),
                    hint: "give each series one query (sum several of yours in PromQL)".into(),
                });
            }
            if entry.query.trim().is_empty() {
                return Err(FitError::Input {
                    what: at(&entry.reads),
                    message: format!("the query for `{}` is empty", entry.reads),
                    hint: "write the team's PromQL (or series selector) for it".into(),
                });
            }
            seen.push(&entry.reads);
        }
        Ok(map)
    }

    /// The entry for the series fit reads as `name`.
    #[must_use]
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.series.iter().find(|e| e.reads == name)
    }

    /// The query that asks for `name`: the map's, or the name itself.
    #[must_use]
    pub fn query(&self, name: &str) -> String {
        self.entry(name)
            .map_or_else(|| name.to_owned(), |e| e.query.clone())
    }

    /// The series a source answered for `name` (to the map's query), in firedrill's terms.
    #[must_use]
    pub fn translate(&self, name: &str, series: Vec<Series>) -> Vec<Series> {
        let Some(entry) = self.entry(name) else {
            return series;
        };
        series
            .into_iter()
            .map(|mut s| {
                name.clone_into(&mut s.name);
                for (ours, theirs) in &entry.labels {
                    if let Some(v) = s.labels.remove(theirs) {
                        s.labels.insert(ours.clone(), v);
                    }
                }
                if let Some(service) = &self.service {
                    s.labels
                        .entry("service".into())
                        .or_insert_with(|| service.clone());
                }
                if entry.integrate {
                    integrate(&mut s.samples);
                }
                s
            })
            .collect()
    }

    /// The series fit reads, picked out of a whole file's `raw` series by the map's
    /// selectors (the rest by their own names).
    ///
    /// # Errors
    /// A selector that is not one, or that matches nothing.
    pub fn select(&self, raw: &Dataset) -> Result<Dataset, FitError> {
        if self.series.is_empty() {
            return Ok(raw.clone());
        }
        let mut out = Dataset::default();
        for name in NAMES {
            let Some(entry) = self.entry(name) else {
                out.series.extend(raw.named(name).cloned());
                continue;
            };
            let selector = Selector::parse(&entry.query).map_err(|message| FitError::Input {
                what: format!("the map's query for {name}"),
                message,
                hint: "in a file, a query is a series selector: name{label=\"value\",other!=\"x\"}"
                    .into(),
            })?;
            let picked: Vec<Series> = raw
                .series
                .iter()
                .filter(|s| selector.matches(s))
                .cloned()
                .collect();
            if picked.is_empty() {
                return Err(FitError::Missing {
                    name: entry.query.clone(),
                    hint: format!("the map reads {name} from it; is the name right?"),
                });
            }
            out.series.extend(self.translate(name, picked));
        }
        Ok(out)
    }
}

/// Samples of a rate (or a level) summed over time: each value held until the next sample.
fn integrate(samples: &mut [(i64, f64)]) {
    let mut total = 0.0;
    let mut previous: Option<(i64, f64)> = None;
    for sample in samples.iter_mut() {
        let (t, v) = *sample;
        if let Some((pt, pv)) = previous {
            total += pv * (t - pt) as f64 / 1000.0;
        }
        previous = Some((t, v));
        sample.1 = total;
    }
}

/// `name{a="x",b!="y"}`.
struct Selector {
    name: String,
    matchers: Vec<(String, bool, String)>,
}

impl Selector {
    fn parse(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        let (name, rest) = match text.find('{') {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(format!("`{text}` does not start with a metric name"));
        }
        let mut matchers = Vec::new();
        if let Some(rest) = rest {
            let body = rest
                .trim_end()
                .strip_suffix('}')
                .ok_or_else(|| format!("`{text}`: no closing `}}`"))?;
            let mut chars = body.chars().peekable();
            loop {
                while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    break;
                }
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        key.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                let equal = match (chars.next(), chars.peek()) {
                    (Some('='), Some('"' | ' ')) => true,
                    (Some('!'), Some('=')) => {
                        chars.next();
                        false
                    }
                    _ => {
                        return Err(format!(
                            "`{text}`: after `{key}`, only `=` and `!=` match in a file (no regular expressions)"
                        ));
                    }
                };
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.next() != Some('"') {
                    return Err(format!("`{text}`: the value of `{key}` is not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some(c) => value.push(c),
                            None => return Err(format!("`{text}`: an unfinished value")),
                        },
                        Some(c) => value.push(c),
                        None => return Err(format!("`{text}`: an unfinished value")),
                    }
                }
                matchers.push((key, equal, value));
            }
        }
        Ok(Selector {
            name: name.to_owned(),
            matchers,
        })
    }

    fn matches(&self, s: &Series) -> bool {
        s.name == self.name
            && self
                .matchers
                .iter()
                .all(|(k, equal, v)| (s.label(k).unwrap_or("") == v) == *equal)
    }
}

/// What each series fit reads is, for the printed map.
fn about(name: &str) -> &'static str {
    match name {
        "firedrill_requests_arrived_total" => {
            "requests arriving (a counter; or a rate with integrate: true)"
        }
        "firedrill_requests_admitted_total" => "requests admitted past the service's limits",
        "firedrill_requests_retried_total" => "client retries (optional)",
        "firedrill_step_calls_total" => "calls of each step (label step)",
        "firedrill_step_errors_total" => "calls of each step that failed (label step)",
        "firedrill_step_skipped_total" => {
            "requests that passed a step by without calling it (label step; optional)"
        }
        "firedrill_step_seconds_total" => "seconds spent in each step's calls (label step)",
        "firedrill_step_duration_seconds_bucket" => {
            "each step's latency histogram buckets (labels step, le)"
        }
        "firedrill_step_duration_seconds_sum" => "the histogram's sum (label step)",
        "firedrill_step_duration_seconds_count" => "the histogram's count (label step)",
        "firedrill_pool_connections_max" => "each pool's size (a gauge; label pool)",
        "firedrill_pool_connections_active_seconds_total" => {
            "connection-seconds in use per pool (or the in-use gauge with integrate: true)"
        }
        "firedrill_pool_connection_timeouts_total" => "acquire timeouts per pool (label pool)",
        _ => "",
    }
}

/// The commented map `fit --print-map` writes: every series fit reads, as firedrill names
/// it, ready to be pointed at the team's own.
#[must_use]
pub fn print() -> String {
    let mut out = String::new();
    out.push_str(
        "// firedrill fit's map: where each series fit reads comes from in your telemetry.\n\
         // Use it with `firedrill fit --map THIS.ron --prometheus URL` (or --openmetrics, --query-json).\n\
         //\n\
         // Each entry: `reads` is the series fit reads (firedrill's name, docs/metrics.md);\n\
         // `query` is yours: PromQL for --prometheus and --query-json (whose DIR/<reads>.json holds\n\
         // its answer), a series selector name{label=\"value\"} for --openmetrics. `labels` renames\n\
         // your labels to firedrill's ({\"step\": \"tool\"}: your `tool` is firedrill's `step`).\n\
         // `integrate: true` when your query gives a rate or a level rather than a counter: fit\n\
         // sums it over time. Delete an entry to read the series under firedrill's own name.\n\
         // Telemetry cannot show a pool's acquire timeout: give it with --acquire-timeout POOL=2s.\n\
         Map(\n\
         \x20   // The service's name, added to series that carry no `service` label.\n\
         \x20   service: \"agent\",\n\
         \x20   series: [\n",
    );
    for name in NAMES {
        let _ = writeln!(out, "        // {}", about(name));
        let _ = writeln!(
            out,
            "        Series(reads: {name:?}, query: {name:?}, labels: {{}}, integrate: false),"
        );
    }
    out.push_str("    ],\n)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Series {
        Series {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn the_printed_map_reads_back_and_changes_nothing() {
        let map = Map::parse(&print(), "printed.ron").unwrap();
        assert_eq!(map.series.len(), NAMES.len());
        let raw = Dataset {
            series: NAMES
                .iter()
                .map(|n| series(n, &[("service", "agent"), ("step", "a")], &[(0, 1.0)]))
                .collect(),
        };
        assert_eq!(map.select(&raw).unwrap(), raw);
    }

    #[test]
    fn selectors_rename_relabel_and_integrate() {
        let map = Map::parse(
            r#"Map(service: "aria", series: [
                Series(reads: "firedrill_step_calls_total", query: "tool_calls{env=\"prod\"}", labels: {"step": "tool"}),
                Series(reads: "firedrill_requests_arrived_total", query: "req_rate", integrate: true),
            ])"#,
            "m.ron",
        )
        .unwrap();
        let raw = Dataset {
            series: vec![
                series(
                    "tool_calls",
                    &[("env", "prod"), ("tool", "search")],
                    &[(0, 5.0)],
                ),
                series(
                    "tool_calls",
                    &[("env", "dev"), ("tool", "search")],
                    &[(0, 9.0)],
                ),
                series("req_rate", &[], &[(0, 2.0), (1000, 4.0), (3000, 0.0)]),
            ],
        };
        let out = map.select(&raw).unwrap();
        let arrived: Vec<_> = out.named("firedrill_requests_arrived_total").collect();
        assert_eq!(arrived[0].samples, [(0, 0.0), (1000, 2.0), (3000, 10.0)]);
        assert_eq!(arrived[0].label("service"), Some("aria"));
        let calls: Vec<_> = out.named("firedrill_step_calls_total").collect();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].label("step"), Some("search"));
        assert_eq!(calls[0].label("tool"), None);
    }

    #[test]
    fn bad_maps_are_named() {
        let e = Map::parse(
            "Map(series: [\n  Series(reads: \"firedrill_step_call_total\", query: \"x\")])",
            "m.ron",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("m.ron:2:17"), "{e}");
        assert!(
            e.contains("did you mean `firedrill_step_calls_total`"),
            "{e}"
        );
        let e = Map::parse("Map(serie: [])", "m.ron")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.ron:1:"), "{e}");
        let map = Map::parse(
            "Map(series: [Series(reads: \"firedrill_step_calls_total\", query: \"gone\")])",
            "m.ron",
        )
        .unwrap();
        let e = map.select(&Dataset::default()).unwrap_err().to_string();
        assert!(e.contains("gone: no such series"), "{e}");
        let map = Map::parse(
            "Map(series: [Series(reads: \"firedrill_step_calls_total\", query: \"x{a=~\\\"b\\\"}\")])",
            "m.ron",
        )
        .unwrap();
        let e = map.select(&Dataset::default()).unwrap_err().to_string();
        assert!(e.contains("no regular expressions"), "{e}");
    }
}
