//! Raw time series as a source gives them: an OpenMetrics (or Prometheus text) file with
//! timestamps, or `query_range` JSON answers. Both become a [`Dataset`]: series with their
//! name, labels and samples in time order. Nothing here interprets a series; that is
//! [`super::observe`].

use std::collections::BTreeMap;

use super::FitError;

/// One series: a sample name (`firedrill_step_calls_total`), its labels without `__name__`,
/// and its samples as (milliseconds since the epoch, value), in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(i64, f64)>,
}

impl Series {
    /// `name{a="x",b="y"}`, as messages show it.
    #[must_use]
    pub fn display(&self) -> String {
        if self.labels.is_empty() {
            return self.name.clone();
        }
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        format!("{}{{{}}}", self.name, labels.join(","))
    }

    #[must_use]
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Every series a source gave, in the order it gave them (an export's order is the drill's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub series: Vec<Series>,
}

impl Dataset {
    /// The series called `name`, in source order.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Series> + 'a {
        self.series.iter().filter(move |s| s.name == name)
    }

    /// Keeps only the samples in `[from, to]` (milliseconds) and the series that have some.
    pub fn clip(&mut self, from: i64, to: i64) {
        for s in &mut self.series {
            s.samples.retain(|&(t, _)| t >= from && t <= to);
        }
        self.series.retain(|s| !s.samples.is_empty());
    }
}

/// Reads an OpenMetrics or Prometheus text exposition whose samples carry timestamps.
/// `# HELP`/`# TYPE`/`# UNIT` lines and `# EOF` are skipped; a sample without a timestamp
/// is refused (a scrape of `/metrics` is one instant, not a range).
///
/// # Errors
/// The first malformed line, with its number.
pub fn parse_openmetrics(text: &str, file: &str) -> Result<Dataset, FitError> {
    let mut index: BTreeMap<(String, Vec<(String, String)>), usize> = BTreeMap::new();
    let mut data = Dataset::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| {
            FitError::Input {
            what: format!("{file}:{}", n + 1),
            message: format!("{why}: `{}`", shorten(line)),
            hint: "expected `name{label=\"value\"} VALUE TIMESTAMP`, as `firedrill export --format openmetrics` writes".into(),
        }
        };
        let (name, labels, rest) = split_sample(line).map_err(|why| bad(&why))?;
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| bad("no value"))?;
        let value = parse_value(value).ok_or_else(|| bad("the value is not a number"))?;
        let Some(ts) = fields.next() else {
            return Err(bad(
                "the sample has no timestamp (fit needs a range of samples, not one scrape)",
            ));
        };
        let ts: f64 = ts
            .parse()
            .map_err(|_| bad("the timestamp is not a number"))?;
        if !ts.is_finite() || !(0.0..=253_402_300_800.0).contains(&ts) {
            return Err(bad("the timestamp is out of range"));
        }
        if fields.next().is_some_and(|f| !f.starts_with('#')) {
            return Err(bad("unexpected text after the timestamp"));
        }
        let ms = (ts * 1000.0).round() as i64;
        let key = (name.clone(), labels.clone());
        let at = *index.entry(key).or_insert_with(|| {
            data.series.push(Series {
                name,
                labels: labels.into_iter().collect(),
                samples: Vec::new(),
            });
            data.series.len() - 1
        });
        data.series[at].samples.push((ms, value));
    }
    for s in &mut data.series {
        s.samples.sort_by_key(|&(t, _)| t);
        s.samples.dedup_by_key(|&mut (t, _)| t);
    }
    Ok(data)
}

fn shorten(line: &str) -> String {
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

type Labels = Vec<(String, String)>;

/// `name{a="x"} rest` into its name, labels (sorted) and the rest of the line.
fn split_sample(line: &str) -> Result<(String, Labels, &str), String> {
    let end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err("the metric name is not valid".into());
    }
    let mut rest = &line[end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        loop {
            while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    rest = &after[i + 1..];
                    break;
                }
                None => return Err("the labels are not closed with }".into()),
                _ => {}
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("the label name `{key}` is not valid"));
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("the value of label {key} is not quoted"));
            }
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => break,
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("the value of label {key} is not closed"));
            }
            labels.push((key, value));
        }
    }
    labels.sort();
    Ok((name.to_owned(), labels, rest.trim_start()))
}

/// Reads one `query_range` answer (`{"status":"success","data":{"resultType":"matrix",...}}`):
/// every series it holds, named `name` unless it carries its own `__name__`. An answer with
/// `"status":"error"` is refused with the server's words and the query.
///
/// # Errors
/// Not such an answer, or an error answer.
pub fn parse_query_range(
    text: &str,
    name: &str,
    query: &str,
    from: &str,
) -> Result<Dataset, FitError> {
    let bad = |message: String| FitError::Input {
        what: from.to_owned(),
        message,
        hint: format!("expected the JSON answer of /api/v1/query_range?query={query}"),
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    match value.get("status").and_then(|s| s.as_str()) {
        Some("success") => {}
        Some("error") => {
            let kind = value["errorType"].as_str().unwrap_or("error");
            let error = value["error"].as_str().unwrap_or("(no message)");
            return Err(FitError::Server {
                query: query.to_owned(),
                message: format!("{kind}: {error}"),
            });
        }
        _ => return Err(bad("no \"status\" of \"success\" or \"error\"".into())),
    }
    let data = &value["data"];
    if data["resultType"].as_str() != Some("matrix") {
        return Err(bad(format!(
            "the result is a {}, not a matrix (was it /api/v1/query instead of query_range?)",
            data["resultType"].as_str().unwrap_or("missing type")
        )));
    }
    let results = data["result"]
        .as_array()
        .ok_or_else(|| bad("no result list".into()))?;
    let mut out = Dataset::default();
    for r in results {
        let mut labels = BTreeMap::new();
        let mut series_name = name.to_owned();
        if let Some(metric) = r["metric"].as_object() {
            for (k, v) in metric {
                let v = v.as_str().unwrap_or_default().to_owned();
                if k == "__name__" {
                    series_name = v;
                } else {
                    labels.insert(k.clone(), v);
                }
            }
        }
        let values = r["values"]
            .as_array()
            .ok_or_else(|| bad("a series without \"values\"".into()))?;
        let mut samples = Vec::with_capacity(values.len());
        for v in values {
            let t = v[0].as_f64();
            let x = v[1].as_str().and_then(parse_value);
            let (Some(t), Some(x)) = (t, x) else {
                return Err(bad(format!("a sample is not [time, \"value\"]: {v}")));
            };
            samples.push(((t * 1000.0).round() as i64, x));
        }
        samples.sort_by_key(|&(t, _)| t);
        out.series.push(Series {
            name: series_name,
            labels,
            samples,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_samples_with_labels_and_timestamps() {
        let text = "# TYPE x counter\nx_total{service=\"a\",step=\"q\\\"r\"} 3 1767600000.500\nx_total{step=\"q\\\"r\",service=\"a\"} 4 1767600010\n# EOF\n";
        let d = parse_openmetrics(text, "f.om").unwrap();
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.series[0].label("step"), Some("q\"r"));
        assert_eq!(
            d.series[0].samples,
            vec![(1_767_600_000_500, 3.0), (1_767_600_010_000, 4.0)]
        );
    }

    #[test]
    fn a_sample_without_a_timestamp_is_refused_with_its_line() {
        let e = parse_openmetrics("# HELP x y\nx 1\n", "f.om").unwrap_err();
        assert!(e.to_string().contains("f.om:2"), "{e}");
        assert!(e.to_string().contains("timestamp"), "{e}");
    }

    #[test]
    fn query_range_answers_and_errors() {
        let ok = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m","pool":"db"},"values":[[1767600000,"1"],[1767600015.5,"2"]]}]}}"#;
        let d = parse_query_range(ok, "q", "m", "answer").unwrap();
        assert_eq!(d.series[0].name, "m");
        assert_eq!(d.series[0].samples[1], (1_767_600_015_500, 2.0));
        let err = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let e = parse_query_range(err, "q", "rate(x[", "answer").unwrap_err();
        assert!(e.to_string().contains("rate(x["), "{e}");
        assert!(e.to_string().contains("parse error"), "{e}");
    }
}
