//! What a run reports: requests, latency, pools and alerts, as `firedrill simulate` prints
//! them (readable, or one JSON object). Only counted requests (after the warm-up) appear.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::Sim;
use crate::drill::Drill;
use crate::telemetry::series::mean_seconds;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub drill: String,
    pub seed: u64,
    pub simulated_seconds: f64,
    pub warmup_seconds: f64,
    pub events: u64,
    /// Wall time of the run; absent where the run is part of a session or replay, whose
    /// output must not depend on the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_per_second: Option<f64>,
    pub requests: RequestSummary,
    /// The service's steps, in pipeline order.
    pub steps: Vec<StepSummary>,
    pub pools: BTreeMap<String, PoolSummary>,
    pub alerts: Vec<AlertSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSummary {
    pub arrived: u64,
    pub admitted: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    /// Client retries among the arrivals.
    pub retries: u64,
    /// Model tokens produced, and what they cost.
    pub tokens: f64,
    pub cost_dollars: f64,
    /// Admitted but not finished when the run ended.
    pub in_flight_at_end: u64,
    pub latency_seconds: Latency,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    pub name: String,
    /// Calls that finished, errors included.
    pub calls: u64,
    pub errors: u64,
    /// Requests that went on without the step after its connection wait timed out
    /// (degraded answers).
    pub skipped: u64,
    /// Connection waits that timed out (the request failed or went on without the step).
    pub acquire_timeouts: u64,
    /// Calls ended at the step's timeout (counted in `calls`).
    pub call_timeouts: u64,
    /// Mean running time of the finished calls (connection waits not included).
    pub time_mean_seconds: f64,
    /// Calls the dependency refused at its rate limit (429s, not in `calls`).
    #[serde(skip_serializing_if = "is_zero")]
    pub rate_limited: u64,
    /// Failed calls the step's retries called again.
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    /// Size at the end of the run.
    pub size: u64,
    pub acquired: u64,
    pub waited: u64,
    pub timed_out: u64,
    pub wait_mean_seconds: f64,
    pub utilization: f64,
    pub in_use_mean: f64,
    pub waiting_mean: f64,
    pub leaked: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSummary {
    pub name: String,
    pub severity: String,
    pub fired_at_seconds: Vec<f64>,
    pub resolved_at_seconds: Vec<f64>,
}

impl Summary {
    /// Summarises `sim` as it stands (normally at its end).
    pub fn of(sim: &Sim, drill: &Drill) -> Summary {
        let alerts = sim
            .alert_states()
            .iter()
            .map(|(rule, state)| AlertSummary {
                name: rule.name.clone(),
                severity: format!("{:?}", rule.severity).to_lowercase(),
                fired_at_seconds: state.fired_at.iter().map(|t| t.as_secs_f64()).collect(),
                resolved_at_seconds: state.resolved_at.iter().map(|t| t.as_secs_f64()).collect(),
            })
            .collect();
        let core = sim.core();
        let (warmup, now) = (core.warmup.min(core.now), core.now);
        let t = &core.totals;
        let latency = core.latency();
        let [p50, p95, p99] = latency.p50_p95_p99_seconds();
        let steps = core
            .steps
            .iter()
            .map(|s| StepSummary {
                name: s.name.clone(),
                calls: s.totals.calls,
                errors: s.totals.errors,
                skipped: s.totals.skipped,
                acquire_timeouts: s.totals.acquire_timeouts,
                call_timeouts: s.totals.call_timeouts,
                time_mean_seconds: s.totals.mean_seconds(),
                rate_limited: s.totals.rate_limited,
                retries: s.totals.retries,
            })
            .collect();
        let pools = core
            .pools
            .iter()
            .map(|p| {
                let in_use_mean = p.busy.total_mean(warmup, now);
                let acquired = p.totals.acquired;
                (
                    p.name.clone(),
                    PoolSummary {
                        size: u64::from(p.size),
                        acquired,
                        waited: p.totals.waited,
                        timed_out: p.totals.timed_out,
                        wait_mean_seconds: mean_seconds(p.totals.wait_sum_nanos, acquired),
                        // Over the time-weighted size: a pool resized mid-run is measured
                        // against the connections it had at each moment.
                        utilization: {
                            let size_mean = p.sized.total_mean(warmup, now);
                            if size_mean > 0.0 {
                                in_use_mean / size_mean
                            } else {
                                0.0
                            }
                        },
                        in_use_mean,
                        waiting_mean: p.waiting.total_mean(warmup, now),
                        leaked: u64::from(p.leaked),
                    },
                )
            })
            .collect();
        Summary {
            drill: drill.name.clone(),
            seed: sim.seed(),
            simulated_seconds: now.as_secs_f64(),
            warmup_seconds: warmup.as_secs_f64(),
            events: core.events,
            wall_seconds: None,
            events_per_second: None,
            requests: RequestSummary {
                arrived: t.arrived,
                admitted: t.admitted,
                completed: t.completed,
                failed: t.failed,
                rejected: t.rejected,
                degraded: t.degraded,
                wrong_answers: t.wrong_answers,
                retries: t.retries,
                tokens: t.tokens,
                cost_dollars: t.tokens / 1000.0 * drill.service.cost_per_1k_tokens,
                in_flight_at_end: t.admitted - t.completed - t.failed,
                latency_seconds: Latency {
                    mean: latency.mean() / 1e9,
                    p50,
                    p95,
                    p99,
                    max: latency.max() as f64 / 1e9,
                },
            },
            steps,
            pools,
            alerts,
        }
    }

    /// The summary as a person reads it.
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let r = &self.requests;
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        // `  failed      1234  (5.67% of completed)`: a count and its share of `of`.
        let share = |out: &mut String, label: &str, n: u64, of: u64, note: &str| {
            let _ = writeln!(out, "  {label:<12}{n:>10}  ({:.2}%{note})", pct(n, of));
        };
        let _ = writeln!(
            out,
            "drill {} · seed {} · {} simulated",
            self.drill,
            self.seed,
            hms(self.simulated_seconds)
        );
        if self.warmup_seconds > 0.0 {
            let _ = writeln!(
                out,
                "warm-up: requests arriving in the first {} are left out",
                hms(self.warmup_seconds)
            );
        }
        let _ = writeln!(out, "\nrequests");
        let _ = writeln!(out, "  arrived     {:>10}", r.arrived);
        let _ = writeln!(out, "  completed   {:>10}", r.completed);
        share(&mut out, "failed", r.failed, r.arrived, "");
        share(&mut out, "rejected", r.rejected, r.arrived, "");
        share(
            &mut out,
            "degraded",
            r.degraded,
            r.completed,
            " of completed",
        );
        if r.retries > 0 {
            share(&mut out, "retries", r.retries, r.arrived, " of arrivals");
        }
        if r.tokens > 0.0 {
            let _ = writeln!(
                out,
                "  tokens      {:>10.0}  (${:.2})",
                r.tokens, r.cost_dollars
            );
        }
        share(
            &mut out,
            "wrong",
            r.wrong_answers,
            r.completed,
            " of completed",
        );
        let l = &r.latency_seconds;
        let _ = writeln!(
            out,
            "  latency     mean {:.3}s  p50 {:.3}s  p95 {:.3}s  p99 {:.3}s  max {:.3}s",
            l.mean, l.p50, l.p95, l.p99, l.max
        );
        if !self.steps.is_empty() {
            let width = self
                .steps
                .iter()
                .map(|s| s.name.len())
                .max()
                .unwrap_or(0)
                .max(4);
            let _ = writeln!(out, "\nsteps");
            let _ = writeln!(
                out,
                "  {:<width$}  {:>10}  {:>17}  {:>10}  {:>10}  {:>10}  {:>9}",
                "", "calls", "errors", "no conn", "call t/o", "skipped", "mean time"
            );
            for s in &self.steps {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:>10}  {:>8} ({:>5.2}%)  {:>10}  {:>10}  {:>10}  {:>8.3}s",
                    s.name,
                    s.calls,
                    s.errors,
                    pct(s.errors, s.calls),
                    s.acquire_timeouts,
                    s.call_timeouts,
                    s.skipped,
                    s.time_mean_seconds
                );
            }
            for s in self.steps.iter().filter(|s| s.rate_limited + s.retries > 0) {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {} calls refused at the rate limit (429), {} calls retried",
                    s.name, s.rate_limited, s.retries
                );
            }
        }
        for (name, p) in &self.pools {
            let tried = p.acquired + p.timed_out;
            let _ = writeln!(out, "\npool {name} (size {})", p.size);
            let _ = writeln!(out, "  acquired    {:>10}", p.acquired);
            share(&mut out, "waited", p.waited, tried, " of attempts");
            share(&mut out, "timed out", p.timed_out, tried, " of attempts");
            let _ = writeln!(out, "  mean wait   {:>10.4}s", p.wait_mean_seconds);
            let _ = writeln!(
                out,
                "  in use      {:>10.2}  (utilization {:.1}%), waiting {:.2} on average",
                p.in_use_mean,
                100.0 * p.utilization,
                p.waiting_mean
            );
            if p.leaked > 0 {
                let _ = writeln!(out, "  leaked      {:>10}", p.leaked);
            }
        }
        let _ = writeln!(out, "\nalerts");
        if self.alerts.is_empty() {
            let _ = writeln!(out, "  (none defined)");
        }
        for a in &self.alerts {
            if a.fired_at_seconds.is_empty() {
                let _ = writeln!(out, "  {:<22} {:<7} never fired", a.name, a.severity);
                continue;
            }
            let spans: Vec<String> = a
                .fired_at_seconds
                .iter()
                .enumerate()
                .map(|(i, f)| match a.resolved_at_seconds.get(i) {
                    Some(r) => format!("{}–{}", hms(*f), hms(*r)),
                    None => format!("{}–end", hms(*f)),
                })
                .collect();
            let _ = writeln!(
                out,
                "  {:<22} {:<7} fired {}",
                a.name,
                a.severity,
                spans.join(", ")
            );
        }
        match (self.wall_seconds, self.events_per_second) {
            (Some(wall), Some(rate)) => {
                let _ = writeln!(
                    out,
                    "\n{} events in {wall:.3}s wall ({:.1}M events/s)",
                    self.events,
                    rate / 1e6
                );
            }
            _ => {
                let _ = writeln!(out, "\n{} events", self.events);
            }
        }
        out
    }
}

/// `1h02m03s`-style, to the second.
fn hms(seconds: f64) -> String {
    let s = seconds.round() as u64;
    crate::drill::Duration::from_secs(s).to_string()
}
