//! The telemetry store: the closed metric buckets, the request log, and the look-back window
//! alerts are evaluated over. The engine ([`crate::sim`]) hands it each bucket's counts and
//! log lines as the bucket closes; the store turns them into a [`Bucket`] with the window's
//! values and keeps the lines, with the drill's own notes written on them.
//!
//! It does not count requests, evaluate alerts or decide what the team may see (that is
//! [`crate::telemetry::observed`]); it holds no fault state, only the fault times it is given.

use std::collections::VecDeque;

use bevy_ecs::resource::Resource;

use crate::drill::{Duration, SimTime};
use crate::telemetry::histogram::Histogram;
use crate::telemetry::log::{LogLine, LogNotes};
use crate::telemetry::series::{Bucket, BucketCounts, PoolWindow, StepCounts, StepWindow, Window};

/// Metric buckets, the look-back window, and the request log.
#[derive(Resource, Debug, Default)]
pub struct Telemetry {
    buckets: Vec<Bucket>,
    log: Vec<LogLine>,
    recent: VecDeque<(f64, BucketCounts)>,
    window_buckets: usize,
    /// Latency histograms of buckets that left the window, for the engine's next buckets.
    spare: Vec<Histogram>,
    /// The window's latencies, merged afresh at each bucket's close.
    window_latency: Histogram,
    pub bucket_width: Duration,
    pub window: Duration,
    /// Dollars per thousand tokens, for the cost rate.
    pub cost_per_1k_tokens: f64,
    /// How late the evaluation pipeline reports.
    pub eval_delay: Duration,
    /// The drill's own log messages, written onto the lines they concern.
    notes: LogNotes,
    /// With `Some(n)`, only about the last `n` closed buckets are kept and the request log is
    /// not: see [`Telemetry::bound`].
    retain: Option<usize>,
}

impl Telemetry {
    /// Telemetry for buckets `bucket_width` wide whose alerts look back over `window`.
    #[must_use]
    pub fn new(
        bucket_width: Duration,
        window: Duration,
        cost_per_1k_tokens: f64,
        eval_delay: Duration,
        notes: LogNotes,
    ) -> Telemetry {
        let window_buckets = (window.as_nanos().div_ceil(bucket_width.as_nanos()) as usize).max(1);
        Telemetry {
            window_buckets,
            bucket_width,
            window,
            cost_per_1k_tokens,
            eval_delay,
            notes,
            ..Telemetry::default()
        }
    }

    #[must_use]
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    #[must_use]
    pub fn log(&self) -> &[LogLine] {
        &self.log
    }

    /// The counts of the bucket closed last, if any is in the window.
    #[must_use]
    pub fn last_counts(&self) -> Option<&BucketCounts> {
        self.recent.back().map(|(_, b)| b)
    }

    /// A latency histogram for the engine's next bucket: one that left the window, or a new
    /// one.
    pub fn spare_histogram(&mut self) -> Histogram {
        self.spare.pop().unwrap_or_default()
    }

    /// Keeps only the closed buckets an alert can still look at (beyond the window and the
    /// evaluation delay) and no request log; see `Sim::bound_telemetry`.
    pub fn bound(&mut self) {
        let width = self.bucket_width.as_nanos().max(1);
        let look_back = self.window.as_nanos() + self.eval_delay.as_nanos();
        let buckets = usize::try_from(look_back.div_ceil(width)).unwrap_or(usize::MAX);
        self.retain = Some(
            buckets
                .saturating_add(self.window_buckets)
                .saturating_add(2),
        );
    }

    /// Records the bucket from `start` to `end` with the engine's `counts`: its window values
    /// as alerts see them, and the request-log `lines` written in it, annotated with the
    /// drill's notes (faults by their start and end, by index).
    pub fn close_bucket(
        &mut self,
        start: SimTime,
        end: SimTime,
        counts: BucketCounts,
        mut lines: Vec<LogLine>,
        fault_started: &[Option<SimTime>],
        fault_ended: &[Option<SimTime>],
    ) {
        let width = end.since(start).as_secs_f64();
        let [p50, p95, p99] = counts.latency.p50_p95_p99_seconds();
        let mut bucket = Bucket {
            start: start.as_secs_f64(),
            width,
            arrived: counts.arrived,
            admitted: counts.admitted,
            rejected: counts.rejected,
            completed: counts.completed,
            failed: counts.failed,
            degraded: counts.degraded,
            wrong_answers: counts.wrong_answers,
            retries: counts.retries,
            users: counts.users,
            users_failed: counts.users_failed,
            users_rejected: counts.users_rejected,
            users_poor: counts.users_poor,
            tokens: counts.tokens,
            eval_graded: counts.eval_graded,
            eval_wrong: counts.eval_wrong,
            latency_p50: p50,
            latency_p95: p95,
            latency_p99: p99,
            in_flight: counts.in_flight,
            pools: counts.pools.clone(),
            window: Window::default(),
        };
        self.recent.push_back((width, counts));
        while self.recent.len() > self.window_buckets {
            if let Some((_, old)) = self.recent.pop_front() {
                self.spare.push(old.latency);
            }
        }
        let latency = self.window_latency();
        bucket.window = self.window_values(latency);
        self.buckets.push(bucket);
        if let Some(keep) = self.retain {
            // Dropped in batches, so each bucket is moved at most once.
            if self.buckets.len() >= 2 * keep {
                let cut = self.buckets.len() - keep;
                self.buckets.drain(..cut);
            }
        } else {
            if !self.notes.is_empty() {
                self.notes.annotate(&mut lines, fault_started, fault_ended);
            }
            self.log.extend(lines);
        }
    }

    /// Wrong over graded answers in the window that ended `eval_delay` ago: what the
    /// evaluation pipeline has reported by now.
    fn eval_ratio(&self) -> f64 {
        let Some(last) = self.buckets.last() else {
            return 0.0;
        };
        // `buckets` does not yet hold the bucket being closed, which ends one width later.
        let now = last.start + last.width + self.bucket_width.as_secs_f64();
        let reported_until = now - self.eval_delay.as_secs_f64();
        let from = reported_until - self.window.as_secs_f64();
        let (mut graded, mut wrong) = (0u64, 0u64);
        for b in self.buckets.iter().rev() {
            let end = b.start + b.width;
            if end <= from + 1e-9 {
                break;
            }
            if end <= reported_until + 1e-9 {
                graded += b.eval_graded;
                wrong += b.eval_wrong;
            }
        }
        if graded == 0 {
            0.0
        } else {
            wrong as f64 / graded as f64
        }
    }

    /// The window's latency quantiles (p50, p95, p99) in seconds.
    fn window_latency(&mut self) -> [f64; 3] {
        self.window_latency.clear();
        for (_, b) in &self.recent {
            self.window_latency.merge(&b.latency);
        }
        self.window_latency.p50_p95_p99_seconds()
    }

    /// The window's values from the most recent buckets (those in `recent`), with its
    /// latency quantiles from [`Telemetry::window_latency`].
    fn window_values(&self, [p50, p95, p99]: [f64; 3]) -> Window {
        let width: f64 = self.recent.iter().map(|(w, _)| *w).sum();
        let per_second = |x: u64| if width > 0.0 { x as f64 / width } else { 0.0 };
        let sum = |f: fn(&BucketCounts) -> u64| self.recent.iter().map(|(_, b)| f(b)).sum::<u64>();
        let weighted = |f: &dyn Fn(&BucketCounts) -> f64| {
            if width > 0.0 {
                self.recent.iter().map(|(w, b)| w * f(b)).sum::<f64>() / width
            } else {
                0.0
            }
        };
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (completed, failed, rejected) =
            (sum(|b| b.completed), sum(|b| b.failed), sum(|b| b.rejected));
        let pools = self.recent.back().map_or(0, |(_, b)| b.pools.len());
        let tokens: f64 = self.recent.iter().map(|(_, b)| b.tokens).sum();
        let token_rate = if width > 0.0 { tokens / width } else { 0.0 };
        Window {
            retry_rate: per_second(sum(|b| b.retries)),
            token_rate,
            cost_rate: token_rate / 1000.0 * self.cost_per_1k_tokens * 3600.0,
            eval_wrong_answer_ratio: self.eval_ratio(),
            arrival_rate: per_second(sum(|b| b.arrived)),
            throughput: per_second(completed),
            error_rate: per_second(failed),
            error_ratio: ratio(failed + rejected, completed + failed + rejected),
            rejected_rate: per_second(rejected),
            degraded_ratio: ratio(sum(|b| b.degraded), completed),
            wrong_answer_ratio: ratio(sum(|b| b.wrong_answers), completed),
            latency_p50: p50,
            latency_p95: p95,
            latency_p99: p99,
            in_flight: weighted(&|b| b.in_flight),
            pools: (0..pools)
                .map(|p| {
                    let now = self.recent.back().map_or(0, |(_, b)| b.pools[p].size);
                    let size = now.max(1);
                    PoolWindow {
                        utilization: weighted(&|b| b.pools[p].in_use) / size as f64,
                        waiting: weighted(&|b| b.pools[p].waiting),
                        timeout_rate: per_second(
                            self.recent.iter().map(|(_, b)| b.pools[p].timeouts).sum(),
                        ),
                        size: now as f64,
                    }
                })
                .collect(),
            steps: (0..self.recent.back().map_or(0, |(_, b)| b.steps.len()))
                .map(|s| {
                    let all = self
                        .recent
                        .iter()
                        .fold(StepCounts::default(), |all, (_, b)| all.plus(&b.steps[s]));
                    StepWindow {
                        time: all.mean_seconds(),
                        error_ratio: ratio(all.errors, all.calls),
                        rate_limited_rate: per_second(all.rate_limited),
                        retry_rate: per_second(all.retries),
                    }
                })
                .collect(),
        }
    }
}
