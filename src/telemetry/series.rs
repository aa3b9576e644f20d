//! Metric buckets: what happened in each fixed slice of simulated time, and the values every
//! alert condition saw at the bucket's end (measured over the look-back window).
//!
//! Also the counters the engine keeps while a bucket is open ([`BucketCounts`], per step
//! [`StepCounts`]), which become a [`Bucket`] when it closes.
//!
//! This module only stores and looks up numbers; the engine fills them in.

use serde::Serialize;

use crate::drill::Duration;
use crate::drill::spec::Metric;
use crate::telemetry::histogram::Histogram;

/// One pool's numbers for one bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolBucket {
    pub size: u64,
    /// Mean connections busy (held by requests, or leaked).
    pub in_use: f64,
    /// Mean requests waiting for a connection.
    pub waiting: f64,
    pub acquired: u64,
    pub timeouts: u64,
    /// Connections lost to leaks at the bucket's end.
    pub leaked: u64,
}

/// The values alert conditions are evaluated against, at the end of a bucket, over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Window {
    pub arrival_rate: f64,
    pub throughput: f64,
    pub error_rate: f64,
    pub error_ratio: f64,
    pub rejected_rate: f64,
    pub degraded_ratio: f64,
    pub wrong_answer_ratio: f64,
    pub latency_p50: f64,
    pub latency_p95: f64,
    pub latency_p99: f64,
    pub in_flight: f64,
    pub retry_rate: f64,
    pub token_rate: f64,
    /// Dollars per hour.
    pub cost_rate: f64,
    pub eval_wrong_answer_ratio: f64,
    pub pools: Vec<PoolWindow>,
    pub steps: Vec<StepWindow>,
}

/// One step over the window: its calls that finished there.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepWindow {
    /// Mean running time in seconds (zero when no call finished).
    pub time: f64,
    /// Errors over calls (zero when no call finished).
    pub error_ratio: f64,
    /// Calls refused by the rate limit per second (left out when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub rate_limited_rate: f64,
    /// Calls retried per second (left out when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub retry_rate: f64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolWindow {
    pub utilization: f64,
    pub waiting: f64,
    pub timeout_rate: f64,
    /// The pool's size at the window's end (left out of the window as written out, which
    /// gives each bucket's size already).
    #[serde(skip)]
    pub size: f64,
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    PerSecond,
    Percent,
    Seconds,
    Count,
    DollarsPerHour,
}

impl Unit {
    /// The unit `signal`'s values read in.
    #[must_use]
    pub fn of(signal: Signal) -> Unit {
        match signal {
            Signal::ArrivalRate
            | Signal::Throughput
            | Signal::ErrorRate
            | Signal::RejectedRate
            | Signal::RetryRate
            | Signal::TokenRate
            | Signal::PoolTimeoutRate(_)
            | Signal::StepRateLimitedRate(_)
            | Signal::StepRetryRate(_) => Unit::PerSecond,
            Signal::ErrorRatio
            | Signal::DegradedRatio
            | Signal::WrongAnswerRatio
            | Signal::EvalWrongAnswerRatio
            | Signal::PoolUtilization(_)
            | Signal::StepErrorRatio(_) => Unit::Percent,
            Signal::CostRate => Unit::DollarsPerHour,
            Signal::LatencyP50 | Signal::LatencyP95 | Signal::LatencyP99 | Signal::StepTime(_) => {
                Unit::Seconds
            }
            Signal::InFlight | Signal::PoolWaiting(_) | Signal::PoolSize(_) => Unit::Count,
        }
    }
}

/// A metric with its pool resolved to an index: what an alert rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    ArrivalRate,
    Throughput,
    ErrorRate,
    ErrorRatio,
    RejectedRate,
    DegradedRatio,
    WrongAnswerRatio,
    LatencyP50,
    LatencyP95,
    LatencyP99,
    InFlight,
    PoolUtilization(usize),
    PoolWaiting(usize),
    PoolSize(usize),
    PoolTimeoutRate(usize),
    StepTime(usize),
    StepErrorRatio(usize),
    StepRateLimitedRate(usize),
    StepRetryRate(usize),
    RetryRate,
    TokenRate,
    CostRate,
    EvalWrongAnswerRatio,
}

impl Signal {
    /// Resolves `metric` against the drill's pools and steps (by name); `None` for an unknown
    /// pool or step.
    #[must_use]
    pub fn resolve(metric: &Metric, pools: &[String], steps: &[String]) -> Option<Signal> {
        let pool = |name: &str| pools.iter().position(|p| p == name);
        let step = |name: &str| steps.iter().position(|s| s == name);
        Some(match metric {
            Metric::ArrivalRate => Signal::ArrivalRate,
            Metric::Throughput => Signal::Throughput,
            Metric::ErrorRate => Signal::ErrorRate,
            Metric::ErrorRatio => Signal::ErrorRatio,
            Metric::RejectedRate => Signal::RejectedRate,
            Metric::DegradedRatio => Signal::DegradedRatio,
            Metric::WrongAnswerRatio => Signal::WrongAnswerRatio,
            Metric::LatencyP50 => Signal::LatencyP50,
            Metric::LatencyP95 => Signal::LatencyP95,
            Metric::LatencyP99 => Signal::LatencyP99,
            Metric::InFlight => Signal::InFlight,
            Metric::PoolUtilization(p) => Signal::PoolUtilization(pool(p)?),
            Metric::PoolWaiting(p) => Signal::PoolWaiting(pool(p)?),
            Metric::PoolSize(p) => Signal::PoolSize(pool(p)?),
            Metric::PoolTimeoutRate(p) => Signal::PoolTimeoutRate(pool(p)?),
            Metric::StepTime(s) => Signal::StepTime(step(s)?),
            Metric::StepErrorRatio(s) => Signal::StepErrorRatio(step(s)?),
            Metric::StepRateLimitedRate(s) => Signal::StepRateLimitedRate(step(s)?),
            Metric::StepRetryRate(s) => Signal::StepRetryRate(step(s)?),
            Metric::RetryRate => Signal::RetryRate,
            Metric::TokenRate => Signal::TokenRate,
            Metric::CostRate => Signal::CostRate,
            Metric::EvalWrongAnswerRatio => Signal::EvalWrongAnswerRatio,
        })
    }
}

impl Signal {
    /// `true` for a series no real system measures as it happens (wrong answers): it reaches
    /// scoring, the debrief and the facilitator, never the team (see
    /// [`crate::telemetry::observed`]).
    #[must_use]
    pub fn is_ground_truth(self) -> bool {
        matches!(self, Signal::WrongAnswerRatio)
    }
}

impl Window {
    /// The value of `signal`, or `None` for a pool or step this window does not hold.
    #[must_use]
    pub fn get(&self, signal: Signal) -> Option<f64> {
        match signal {
            Signal::PoolUtilization(i)
            | Signal::PoolWaiting(i)
            | Signal::PoolSize(i)
            | Signal::PoolTimeoutRate(i)
                if i >= self.pools.len() =>
            {
                None
            }
            Signal::StepTime(i)
            | Signal::StepErrorRatio(i)
            | Signal::StepRateLimitedRate(i)
            | Signal::StepRetryRate(i)
                if i >= self.steps.len() =>
            {
                None
            }
            _ => Some(self.value(signal)),
        }
    }

    /// The value of `signal`, whose pool or step the window holds.
    #[must_use]
    pub fn value(&self, signal: Signal) -> f64 {
        match signal {
            Signal::ArrivalRate => self.arrival_rate,
            Signal::Throughput => self.throughput,
            Signal::ErrorRate => self.error_rate,
            Signal::ErrorRatio => self.error_ratio,
            Signal::RejectedRate => self.rejected_rate,
            Signal::DegradedRatio => self.degraded_ratio,
            Signal::WrongAnswerRatio => self.wrong_answer_ratio,
            Signal::LatencyP50 => self.latency_p50,
            Signal::LatencyP95 => self.latency_p95,
            Signal::LatencyP99 => self.latency_p99,
            Signal::InFlight => self.in_flight,
            Signal::PoolUtilization(i) => self.pools[i].utilization,
            Signal::PoolWaiting(i) => self.pools[i].waiting,
            Signal::PoolSize(i) => self.pools[i].size,
            Signal::PoolTimeoutRate(i) => self.pools[i].timeout_rate,
            Signal::StepTime(i) => self.steps[i].time,
            Signal::StepErrorRatio(i) => self.steps[i].error_ratio,
            Signal::StepRateLimitedRate(i) => self.steps[i].rate_limited_rate,
            Signal::StepRetryRate(i) => self.steps[i].retry_rate,
            Signal::RetryRate => self.retry_rate,
            Signal::TokenRate => self.token_rate,
            Signal::CostRate => self.cost_rate,
            Signal::EvalWrongAnswerRatio => self.eval_wrong_answer_ratio,
        }
    }
}

/// What happened in one bucket of simulated time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Start of the bucket, seconds from the start of the drill.
    pub start: f64,
    /// Width in seconds (the last bucket may be shorter).
    pub width: f64,
    pub arrived: u64,
    pub admitted: u64,
    pub rejected: u64,
    pub completed: u64,
    pub failed: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    /// Client retries that arrived.
    pub retries: u64,
    /// Users: requests whose first attempt arrived (`arrived` counts every attempt).
    pub users: u64,
    /// Requests that ended in the bucket without an answer (their last attempt failed, or
    /// was rejected, and no retry follows), and requests answered degraded or wrong (once
    /// each, even when both): the users harmed, each once.
    pub users_failed: u64,
    pub users_rejected: u64,
    pub users_poor: u64,
    /// Model tokens produced.
    pub tokens: f64,
    /// Answers completed in this bucket that the evaluation pipeline grades, and of them wrong.
    pub eval_graded: u64,
    pub eval_wrong: u64,
    /// Latency quantiles (seconds) of the requests that completed in this bucket.
    pub latency_p50: f64,
    pub latency_p95: f64,
    pub latency_p99: f64,
    /// Mean requests in flight.
    pub in_flight: f64,
    pub pools: Vec<PoolBucket>,
    /// What the alert conditions saw at the end of this bucket.
    pub window: Window,
}

/// Counts for the current metric bucket (all requests, warm-up included).
#[derive(Debug, Clone, Default)]
pub struct BucketCounts {
    pub arrived: u64,
    pub admitted: u64,
    pub rejected: u64,
    /// Of `rejected`, those turned away only by limits the team's actions set (a throttle, a
    /// cap on requests in flight), not by the drill's own limits or a fault's.
    pub shed: u64,
    pub completed: u64,
    pub failed: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    pub retries: u64,
    /// First attempts that arrived; requests that ended failed or rejected with no retry to
    /// follow; requests answered degraded or wrong (see [`Bucket`]).
    pub users: u64,
    pub users_failed: u64,
    pub users_rejected: u64,
    pub users_poor: u64,
    pub tokens: f64,
    /// Answers the evaluation pipeline graded, and how many it found wrong.
    pub eval_graded: u64,
    pub eval_wrong: u64,
    /// Latencies of the requests that completed in the bucket. While the bucket is open it
    /// holds only counted requests' (the others wait in `Core::uncounted_latency`), so that
    /// each latency is recorded once; closing the bucket folds it into the totals and then
    /// adds the uncounted ones.
    pub latency: Histogram,
    pub in_flight: f64,
    pub pools: Vec<PoolBucket>,
    /// Each step's calls that finished in the bucket.
    pub steps: Vec<StepCounts>,
}

/// The mean of `count` spans that sum to `sum_nanos` nanoseconds, in seconds; zero when
/// there are none.
#[must_use]
pub fn mean_seconds(sum_nanos: u128, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        sum_nanos as f64 / count as f64 / 1e9
    }
}

/// A step's calls that finished: over a bucket (all requests, warm-up included) or over the
/// run (counted requests).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepCounts {
    /// Calls that finished, errors included.
    pub calls: u64,
    pub errors: u64,
    /// Requests that went on without the step after its connection wait or its call timed
    /// out.
    pub skipped: u64,
    /// Connection waits that timed out (the request then failed or went on without the step).
    pub acquire_timeouts: u64,
    /// Calls ended at the step's timeout (counted in `calls` too).
    pub call_timeouts: u64,
    /// Calls the dependency's rate limit refused (429s; not counted in `calls`).
    pub rate_limited: u64,
    /// Failed calls the step's retries called again.
    pub retries: u64,
    /// Time the finished calls ran.
    pub busy_nanos: u128,
}

impl StepCounts {
    /// One finished call: an error or not, and how long it ran.
    pub fn record(&mut self, error: bool, took: Duration) {
        self.calls += 1;
        self.errors += u64::from(error);
        self.busy_nanos += u128::from(took.as_nanos());
    }

    /// Both counts together.
    #[must_use]
    pub fn plus(self, other: &StepCounts) -> StepCounts {
        StepCounts {
            calls: self.calls + other.calls,
            errors: self.errors + other.errors,
            skipped: self.skipped + other.skipped,
            acquire_timeouts: self.acquire_timeouts + other.acquire_timeouts,
            call_timeouts: self.call_timeouts + other.call_timeouts,
            rate_limited: self.rate_limited + other.rate_limited,
            retries: self.retries + other.retries,
            busy_nanos: self.busy_nanos + other.busy_nanos,
        }
    }

    /// Mean running time of the finished calls in seconds, zero when none finished.
    #[must_use]
    pub fn mean_seconds(&self) -> f64 {
        mean_seconds(self.busy_nanos, self.calls)
    }
}

impl BucketCounts {
    /// Empty counts for `steps` steps, recording latencies into `latency` (cleared).
    pub fn starting_with(mut latency: Histogram, steps: usize) -> Self {
        latency.clear();
        BucketCounts {
            arrived: 0,
            admitted: 0,
            rejected: 0,
            shed: 0,
            completed: 0,
            failed: 0,
            degraded: 0,
            wrong_answers: 0,
            retries: 0,
            users: 0,
            users_failed: 0,
            users_rejected: 0,
            users_poor: 0,
            tokens: 0.0,
            eval_graded: 0,
            eval_wrong: 0,
            latency,
            in_flight: 0.0,
            pools: Vec::new(),
            steps: vec![StepCounts::default(); steps],
        }
    }
}
