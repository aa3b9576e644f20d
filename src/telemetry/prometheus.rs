//! Prometheus names for what firedrill measures: the one list of metric families
//! ([`METRICS`]), in Prometheus conventions (base units, `_total` counters, a `_seconds`
//! histogram with `le` buckets, `service`, `step` and `pool` labels), the values of every series at
//! one instant ([`Snapshot`]), and their encoding in the Prometheus text format through the
//! official `prometheus-client` crate (what `/metrics` serves).
//!
//! `docs/metrics.md` is generated from [`METRICS`] ([`markdown_table`]) and a test keeps the
//! two equal. This module does not read a simulation (that is [`crate::export::sample`]) and
//! does not write OpenMetrics files or rules ([`crate::export`]).

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};

/// The Prometheus type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: its name (for counters without the `_total` of its samples), type,
/// labels and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    /// `true` when the name ends in `_seconds` and the values are seconds.
    pub seconds: bool,
    pub labels: &'static [&'static str],
    /// One sentence without its final period (the text encoder adds it).
    pub help: &'static str,
}

impl MetricDef {
    /// The name of the family's plain samples: `_total` added for counters.
    #[must_use]
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            Kind::Gauge | Kind::Histogram => self.name.to_owned(),
        }
    }
}

const SERVICE: &[&str] = &["service"];
const POOL: &[&str] = &["service", "pool"];
const STEP: &[&str] = &["service", "step"];

/// Every metric family firedrill exports, in output order: only what a real team's service
/// could measure. Wrong answers as they happen are ground truth and are not exported; the
/// evaluation pipeline's late, sampled grades are (`firedrill_eval_answers_*`).
pub const METRICS: &[MetricDef] = &[
    MetricDef {
        name: "firedrill_requests_arrived",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Requests that arrived at the service, before admission",
    },
    MetricDef {
        name: "firedrill_requests_admitted",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Requests admitted (not rejected by an admission limit or the in-flight limit)",
    },
    MetricDef {
        name: "firedrill_requests_completed",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Requests that completed with an answer (degraded answers included)",
    },
    MetricDef {
        name: "firedrill_requests_failed",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Admitted requests that failed (a step error, or an acquire timeout on a step that fails)",
    },
    MetricDef {
        name: "firedrill_requests_rejected",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Requests rejected at admission",
    },
    MetricDef {
        name: "firedrill_answers_degraded",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Completed requests answered without a step whose connection wait timed out",
    },
    MetricDef {
        name: "firedrill_requests_retried",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Client retries that arrived (included in firedrill_requests_arrived_total)",
    },
    MetricDef {
        name: "firedrill_model_tokens",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Model tokens produced",
    },
    MetricDef {
        name: "firedrill_model_cost_dollars",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Model spend in dollars (tokens times the drill's cost_per_1k_tokens)",
    },
    MetricDef {
        name: "firedrill_eval_answers_graded",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Answers the quality evaluation pipeline has graded, as it reports them (eval_delay late)",
    },
    MetricDef {
        name: "firedrill_eval_answers_wrong",
        kind: Kind::Counter,
        seconds: false,
        labels: SERVICE,
        help: "Graded answers the evaluation pipeline found wrong, as it reports them (eval_delay late)",
    },
    MetricDef {
        name: "firedrill_request_duration_seconds",
        kind: Kind::Histogram,
        seconds: true,
        labels: SERVICE,
        help: "Latency of completed requests, from arrival to answer",
    },
    MetricDef {
        name: "firedrill_requests_in_flight",
        kind: Kind::Gauge,
        seconds: false,
        labels: SERVICE,
        help: "Requests in flight, time-averaged over the last complete metric bucket",
    },
    MetricDef {
        name: "firedrill_requests_in_flight_seconds",
        kind: Kind::Counter,
        seconds: true,
        labels: SERVICE,
        help: "Requests in flight integrated over time (rate() of it is the mean in flight)",
    },
    MetricDef {
        name: "firedrill_step_calls",
        kind: Kind::Counter,
        seconds: false,
        labels: STEP,
        help: "Calls of the step that finished, errors included",
    },
    MetricDef {
        name: "firedrill_step_errors",
        kind: Kind::Counter,
        seconds: false,
        labels: STEP,
        help: "Calls of the step that ended in an error",
    },
    MetricDef {
        name: "firedrill_step_skipped",
        kind: Kind::Counter,
        seconds: false,
        labels: STEP,
        help: "Requests that went on without the step after its connection wait timed out (degraded answers)",
    },
    MetricDef {
        name: "firedrill_step_rate_limited",
        kind: Kind::Counter,
        seconds: false,
        labels: STEP,
        help: "Calls of the step the dependency refused at its rate limit (429 Too Many Requests; not counted in calls)",
    },
    MetricDef {
        name: "firedrill_step_retries",
        kind: Kind::Counter,
        seconds: false,
        labels: STEP,
        help: "Failed calls of the step the client called again (the step's retries)",
    },
    MetricDef {
        name: "firedrill_step_seconds",
        kind: Kind::Counter,
        seconds: true,
        labels: STEP,
        help: "Time the step's finished calls ran, connection waits not included (divided by calls: the mean step time)",
    },
    MetricDef {
        name: "firedrill_step_duration_seconds",
        kind: Kind::Histogram,
        seconds: true,
        labels: STEP,
        help: "How long the step's finished calls ran, connection waits not included (the request histogram's buckets)",
    },
    MetricDef {
        name: "firedrill_pool_connections_max",
        kind: Kind::Gauge,
        seconds: false,
        labels: POOL,
        help: "Size of the connection pool at the end of the last complete metric bucket",
    },
    MetricDef {
        name: "firedrill_pool_connections_active",
        kind: Kind::Gauge,
        seconds: false,
        labels: POOL,
        help: "Connections busy (held by requests or leaked), time-averaged over the last complete metric bucket",
    },
    MetricDef {
        name: "firedrill_pool_connections_active_seconds",
        kind: Kind::Counter,
        seconds: true,
        labels: POOL,
        help: "Busy connections integrated over time (rate() of it is the mean busy)",
    },
    MetricDef {
        name: "firedrill_pool_connections_pending",
        kind: Kind::Gauge,
        seconds: false,
        labels: POOL,
        help: "Requests waiting for a connection, time-averaged over the last complete metric bucket",
    },
    MetricDef {
        name: "firedrill_pool_connections_pending_seconds",
        kind: Kind::Counter,
        seconds: true,
        labels: POOL,
        help: "Waiting requests integrated over time (rate() of it is the mean waiting)",
    },
    MetricDef {
        name: "firedrill_pool_connections_acquired",
        kind: Kind::Counter,
        seconds: false,
        labels: POOL,
        help: "Connections acquired from the pool",
    },
    MetricDef {
        name: "firedrill_pool_acquire_wait_seconds",
        kind: Kind::Counter,
        seconds: true,
        labels: POOL,
        help: "Time requests that acquired a connection spent waiting for it",
    },
    MetricDef {
        name: "firedrill_pool_connection_timeouts",
        kind: Kind::Counter,
        seconds: false,
        labels: POOL,
        help: "Requests that gave up waiting for a connection (acquire timeouts)",
    },
    MetricDef {
        name: "firedrill_pool_connections_leaked",
        kind: Kind::Gauge,
        seconds: false,
        labels: POOL,
        help: "Connections lost to leaks (unavailable until the pool is restarted)",
    },
    MetricDef {
        name: "firedrill_simulation_time_seconds",
        kind: Kind::Gauge,
        seconds: true,
        labels: SERVICE,
        help: "Simulated time since the start of the drill",
    },
];

/// Looks a family up by name; panics on a name that is not in [`METRICS`] (a programming error).
#[must_use]
pub fn family(name: &str) -> usize {
    METRICS
        .iter()
        .position(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric family {name}"))
}

/// Upper bounds (seconds) of the latency histogram's buckets before a drill adds its alert
/// thresholds; `+Inf` is implied.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0,
];

/// A series' value at one instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    Counter(f64),
    Gauge(f64),
    /// `buckets` are `(upper bound, cumulative count)`, ascending, ending with `+Inf`.
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

/// One series of a family: its labels (in the family's order) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Index into [`METRICS`].
    pub family: usize,
    pub labels: Vec<(&'static str, String)>,
    pub point: Point,
}

impl Series {
    /// `{service="aria",pool="db"}` with `extra` labels appended (`le`).
    #[must_use]
    pub fn selector(&self, extra: &[(&str, &str)]) -> String {
        let mut parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect();
        parts.extend(
            extra
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))),
        );
        if parts.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// Every series at one instant of simulated time, families in [`METRICS`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Simulated seconds from the start of the drill.
    pub at: f64,
    pub series: Vec<Series>,
}

/// A label value with `\`, `"` and newlines escaped.
#[must_use]
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A number as Prometheus and OpenMetrics text write it.
#[must_use]
pub fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == f64::INFINITY {
        "+Inf".into()
    } else if x == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{x}")
    }
}

/// A histogram whose bucket counts are already known (firedrill's engine keeps its own
/// log-linear histograms; this hands their counts to the encoder).
#[derive(Debug, Default)]
struct FixedHistogram(Mutex<HistogramValues>);

/// Sum, count and cumulative `(upper bound, count)` buckets.
type HistogramValues = (f64, u64, Vec<(f64, u64)>);

impl TypedMetric for FixedHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for FixedHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let guard = self.0.lock().expect("histogram lock");
        let (sum, count, cumulative) = &*guard;
        // The encoder takes per-bucket counts and accumulates them itself.
        let mut previous = 0;
        let per_bucket: Vec<(f64, u64)> = cumulative
            .iter()
            .map(|&(le, c)| {
                let n = c - previous;
                previous = c;
                (le, n)
            })
            .collect();
        encoder.encode_histogram::<NoLabelSet>(*sum, *count, &per_bucket, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

type Labels = Vec<(String, String)>;

fn register(
    registry: &mut Registry,
    def: &MetricDef,
    name: &str,
    metric: impl prometheus_client::registry::Metric,
) {
    if def.seconds {
        registry.register_with_unit(name, def.help, Unit::Seconds, metric);
    } else {
        registry.register(name, def.help, metric);
    }
}

/// The snapshot in the Prometheus text format (version 0.0.4), as `/metrics` serves it.
#[must_use]
pub fn encode_text(snapshot: &Snapshot) -> String {
    let mut registry = Registry::default();
    for (index, def) in METRICS.iter().enumerate() {
        let series = snapshot.series.iter().filter(|s| s.family == index);
        let labels = |s: &Series| -> Labels {
            s.labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        let name = def.name.strip_suffix("_seconds").unwrap_or(def.name);
        match def.kind {
            Kind::Counter => {
                let family = Family::<Labels, Counter<f64, AtomicU64>>::default();
                for s in series {
                    if let Point::Counter(v) = s.point {
                        family.get_or_create(&labels(s)).inc_by(v);
                    }
                }
                register(&mut registry, def, name, family);
            }
            Kind::Gauge => {
                let family = Family::<Labels, Gauge<f64, AtomicU64>>::default();
                for s in series {
                    if let Point::Gauge(v) = s.point {
                        family.get_or_create(&labels(s)).set(v);
                    }
                }
                register(&mut registry, def, name, family);
            }
            Kind::Histogram => {
                let family = Family::<Labels, FixedHistogram>::default();
                for s in series {
                    if let Point::Histogram {
                        sum,
                        count,
                        buckets,
                    } = &s.point
                    {
                        *family
                            .get_or_create(&labels(s))
                            .0
                            .lock()
                            .expect("histogram lock") = (*sum, *count, buckets.clone());
                    }
                }
                register(&mut registry, def, name, family);
            }
        }
    }
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
        .expect("writing to a String cannot fail");
    out
}

/// The `Content-Type` of [`encode_text`]'s output.
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The table of metric families in `docs/metrics.md`, generated from [`METRICS`].
#[must_use]
pub fn markdown_table() -> String {
    let mut out = String::from("| Metric | Type | Labels | Meaning |\n|---|---|---|---|\n");
    for m in METRICS {
        let name = match m.kind {
            Kind::Counter => m.sample_name(),
            Kind::Histogram => format!("{0}_bucket`, `{0}_sum`, `{0}_count", m.name),
            Kind::Gauge => m.name.to_owned(),
        };
        let labels = m
            .labels
            .iter()
            .map(|l| format!("`{l}`"))
            .chain((m.kind == Kind::Histogram).then(|| "`le`".to_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| `{name}` | {} | {labels} | {}. |",
            m.kind.as_str(),
            m.help
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        for m in METRICS {
            assert!(m.name.starts_with("firedrill_"), "{}", m.name);
            assert!(!m.name.ends_with("_total"), "{}", m.name);
            assert_eq!(m.seconds, m.name.ends_with("_seconds"), "{}", m.name);
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{}",
                m.name
            );
        }
        let mut names: Vec<_> = METRICS.iter().map(MetricDef::sample_name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
    }

    #[test]
    fn text_encoding_names_counters_with_total_and_seconds() {
        let snapshot = Snapshot {
            at: 10.0,
            series: vec![
                Series {
                    family: family("firedrill_requests_arrived"),
                    labels: vec![("service", "aria".into())],
                    point: Point::Counter(12.0),
                },
                Series {
                    family: family("firedrill_request_duration_seconds"),
                    labels: vec![("service", "aria".into())],
                    point: Point::Histogram {
                        sum: 3.5,
                        count: 3,
                        buckets: vec![(1.0, 1), (5.0, 3), (f64::INFINITY, 3)],
                    },
                },
            ],
        };
        let text = encode_text(&snapshot);
        assert!(text.contains("firedrill_requests_arrived_total{service=\"aria\"} 12"));
        assert!(text.contains("# TYPE firedrill_request_duration_seconds histogram"));
        assert!(
            text.contains("firedrill_request_duration_seconds_bucket{service=\"aria\",le=\"5\"} 3"),
            "{text}"
        );
    }
}
