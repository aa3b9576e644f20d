//! Reads a running [`Sim`] into [`Snapshot`]s of the metric families in
//! [`crate::telemetry::prometheus::METRICS`]: the one place where engine state becomes
//! Prometheus series, used by the exports and by the live `/metrics` endpoint alike.
//!
//! Counters are cumulative over the run and read from the engine's totals, so that the last
//! snapshot matches the run's summary exactly. Gauges are the means of the last complete
//! metric bucket; the `_seconds_total` integrals add up every complete bucket. The latency
//! histogram's `le` counts come from the engine's log-linear histogram (within its 0.4%
//! resolution); a drill's latency alert thresholds are always among the bounds, so that
//! `histogram_quantile(q, ...) > threshold` decides exactly as the engine's alert did.

use crate::drill::spec::{Condition, Drill, Metric};
use crate::sim::Sim;
use crate::telemetry::histogram::Histogram;
use crate::telemetry::prometheus::{LATENCY_BUCKETS, Point, Series, Snapshot, family};

/// Turns a simulation into snapshots, remembering the buckets it has already integrated.
#[derive(Debug, Clone)]
pub struct Sampler {
    service: String,
    bounds: Vec<f64>,
    closed: usize,
    in_flight_seconds: f64,
    active_seconds: Vec<f64>,
    pending_seconds: Vec<f64>,
    cost_per_1k_tokens: f64,
    /// The evaluation pipeline's delay, and the buckets it has reported so far.
    eval_delay: f64,
    eval_reported: usize,
    eval_graded: u64,
    eval_wrong: u64,
}

/// The histogram bounds (seconds) for `drill`: the defaults and its latency thresholds.
#[must_use]
pub fn latency_bounds(drill: &Drill) -> Vec<f64> {
    let mut bounds: Vec<f64> = LATENCY_BUCKETS.to_vec();
    for alert in &drill.alerts {
        let (Condition::Above { metric, threshold } | Condition::Below { metric, threshold }) =
            &alert.when;
        if matches!(
            metric,
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99
        ) && threshold.is_finite()
            && *threshold > 0.0
        {
            bounds.push(*threshold);
        }
    }
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    bounds
}

/// A histogram's cumulative counts at `bounds` (seconds) and `+Inf`, with its sum in seconds.
fn histogram_point(h: &Histogram, bounds: &[f64]) -> Point {
    let count = h.count();
    let mut buckets: Vec<(f64, u64)> = bounds
        .iter()
        .map(|&le| (le, h.count_at_most(le * 1e9)))
        .collect();
    buckets.push((f64::INFINITY, count));
    Point::Histogram {
        sum: h.mean() * count as f64 / 1e9,
        count,
        buckets,
    }
}

impl Sampler {
    #[must_use]
    pub fn new(drill: &Drill) -> Self {
        Sampler {
            service: drill.service.name.clone(),
            bounds: latency_bounds(drill),
            closed: 0,
            in_flight_seconds: 0.0,
            active_seconds: vec![0.0; drill.pools.len()],
            pending_seconds: vec![0.0; drill.pools.len()],
            cost_per_1k_tokens: drill.service.cost_per_1k_tokens,
            eval_delay: drill.telemetry.eval_delay.as_secs_f64(),
            eval_reported: 0,
            eval_graded: 0,
            eval_wrong: 0,
        }
    }

    /// Every series as `sim` stands now.
    pub fn sample(&mut self, sim: &Sim) -> Snapshot {
        let buckets = sim.telemetry().buckets();
        for b in &buckets[self.closed.min(buckets.len())..] {
            self.in_flight_seconds += b.in_flight * b.width;
            for (p, pool) in b.pools.iter().enumerate() {
                if p < self.active_seconds.len() {
                    self.active_seconds[p] += pool.in_use * b.width;
                    self.pending_seconds[p] += pool.waiting * b.width;
                }
            }
        }
        self.closed = buckets.len();
        let reported_until = sim.now().as_secs_f64() - self.eval_delay;
        while let Some(b) = buckets.get(self.eval_reported)
            && b.start + b.width <= reported_until + 1e-9
        {
            self.eval_graded += b.eval_graded;
            self.eval_wrong += b.eval_wrong;
            self.eval_reported += 1;
        }
        let last = buckets.last();
        let core = sim.core();
        let t = &core.totals;
        let latency = core.latency();
        let service = || vec![("service", self.service.clone())];
        let mut series = Vec::new();
        let mut push = |name: &str, labels: Vec<(&'static str, String)>, point: Point| {
            series.push(Series {
                family: family(name),
                labels,
                point,
            });
        };
        let counter = |x: u64| Point::Counter(x as f64);
        push("firedrill_requests_arrived", service(), counter(t.arrived));
        push(
            "firedrill_requests_admitted",
            service(),
            counter(t.admitted),
        );
        push(
            "firedrill_requests_completed",
            service(),
            counter(t.completed),
        );
        push("firedrill_requests_failed", service(), counter(t.failed));
        push(
            "firedrill_requests_rejected",
            service(),
            counter(t.rejected),
        );
        push("firedrill_answers_degraded", service(), counter(t.degraded));
        push("firedrill_requests_retried", service(), counter(t.retries));
        push(
            "firedrill_model_tokens",
            service(),
            Point::Counter(t.tokens),
        );
        push(
            "firedrill_model_cost_dollars",
            service(),
            Point::Counter(t.tokens / 1000.0 * self.cost_per_1k_tokens),
        );
        push(
            "firedrill_eval_answers_graded",
            service(),
            counter(self.eval_graded),
        );
        push(
            "firedrill_eval_answers_wrong",
            service(),
            counter(self.eval_wrong),
        );
        push(
            "firedrill_request_duration_seconds",
            service(),
            histogram_point(&latency, &self.bounds),
        );
        push(
            "firedrill_requests_in_flight",
            service(),
            Point::Gauge(last.map_or(0.0, |b| b.in_flight)),
        );
        push(
            "firedrill_requests_in_flight_seconds",
            service(),
            Point::Counter(self.in_flight_seconds),
        );
        for step in &core.steps {
            let labels = || {
                vec![
                    ("service", self.service.clone()),
                    ("step", step.name.clone()),
                ]
            };
            let t = &step.totals;
            push("firedrill_step_calls", labels(), counter(t.calls));
            push("firedrill_step_errors", labels(), counter(t.errors));
            push("firedrill_step_skipped", labels(), counter(t.skipped));
            push(
                "firedrill_step_rate_limited",
                labels(),
                counter(t.rate_limited),
            );
            push("firedrill_step_retries", labels(), counter(t.retries));
            push(
                "firedrill_step_seconds",
                labels(),
                Point::Counter(t.busy_nanos as f64 / 1e9),
            );
            push(
                "firedrill_step_duration_seconds",
                labels(),
                histogram_point(&step.times.histogram(t.busy_nanos), &self.bounds),
            );
        }
        let pools = sim.pool_names();
        let pool_labels = |p: usize| {
            vec![
                ("service", self.service.clone()),
                ("pool", pools[p].clone()),
            ]
        };
        let bucket_pool = |p: usize| last.and_then(|b| b.pools.get(p));
        let families: [(&str, &dyn Fn(usize) -> Point); 9] = [
            ("firedrill_pool_connections_max", &|p| {
                Point::Gauge(
                    bucket_pool(p).map_or(f64::from(core.pools[p].size), |b| b.size as f64),
                )
            }),
            ("firedrill_pool_connections_active", &|p| {
                Point::Gauge(bucket_pool(p).map_or(0.0, |b| b.in_use))
            }),
            ("firedrill_pool_connections_active_seconds", &|p| {
                Point::Counter(self.active_seconds[p])
            }),
            ("firedrill_pool_connections_pending", &|p| {
                Point::Gauge(bucket_pool(p).map_or(0.0, |b| b.waiting))
            }),
            ("firedrill_pool_connections_pending_seconds", &|p| {
                Point::Counter(self.pending_seconds[p])
            }),
            ("firedrill_pool_connections_acquired", &|p| {
                counter(core.pools[p].totals.acquired)
            }),
            ("firedrill_pool_acquire_wait_seconds", &|p| {
                Point::Counter(core.pools[p].totals.wait_sum_nanos as f64 / 1e9)
            }),
            ("firedrill_pool_connection_timeouts", &|p| {
                counter(core.pools[p].totals.timed_out)
            }),
            ("firedrill_pool_connections_leaked", &|p| {
                Point::Gauge(bucket_pool(p).map_or(0.0, |b| b.leaked as f64))
            }),
        ];
        for (name, value) in families {
            for p in 0..pools.len().min(core.pools.len()) {
                push(name, pool_labels(p), value(p));
            }
        }
        push(
            "firedrill_simulation_time_seconds",
            service(),
            Point::Gauge(sim.now().as_secs_f64()),
        );
        series.sort_by_key(|s| s.family);
        Snapshot {
            at: sim.now().as_secs_f64(),
            series,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::telemetry::histogram::Histogram;

    #[test]
    fn counts_at_most_agree_with_quantiles() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 10_000_000);
        }
        assert_eq!(h.count_at_most(0.0), 0);
        assert_eq!(h.count_at_most(1e12), 1000);
        for bound in [1e8, 2.5e9, 5e9, 9.99e9] {
            let c = h.count_at_most(bound);
            // The value at rank c is within the bound and the next one is beyond it.
            assert!(c == 0 || h.quantile((c as f64 - 0.5) / 1000.0) <= bound);
            assert!(c == 1000 || h.quantile((c as f64 + 0.5) / 1000.0) > bound);
        }
    }
}
