//! The request log as the engine writes it: which lines are kept (info lines by a hash of the
//! request id, warnings and errors up to a limit per bucket, spread by thresholds set from the
//! previous bucket) and the lines themselves. The lines go to [`crate::telemetry`] when a
//! bucket closes; the drill's notes are written on them there.

use super::Core;
use super::requests::Request;
use crate::sim::SimTime;
use crate::telemetry::log::{Level, LogKind, LogLine};

/// Request-log settings and this bucket's budget.
#[derive(Debug)]
pub(super) struct LogState {
    /// An info line is kept when the hash of its request id is below this.
    pub(super) info_threshold: u64,
    /// Warnings and errors are kept by the same test, with thresholds set from the previous
    /// bucket's counts so that the kept lines spread over the bucket instead of bunching at
    /// its start.
    thresholds: [u64; 3],
    /// Lines of each level offered in the current bucket.
    offered: [u32; 3],
    limit: u32,
    used: [u32; 3],
    pub(super) lines: Vec<LogLine>,
}

impl LogState {
    pub(super) fn new(log_sample: f64, log_limit: u32) -> LogState {
        LogState {
            info_threshold: fraction_threshold(log_sample),
            thresholds: [u64::MAX; 3],
            offered: [0; 3],
            limit: log_limit,
            used: [0; 3],
            lines: Vec::new(),
        }
    }

    /// A new bucket starts: its budget is fresh, and its thresholds keep about `limit` of as
    /// many lines of each level as the bucket just closed offered.
    pub(super) fn next_bucket(&mut self) {
        self.used = [0; 3];
        let limit = f64::from(self.limit);
        for (threshold, offered) in self.thresholds.iter_mut().zip(self.offered) {
            // Keep about `limit` of as many lines as the last bucket offered.
            let p = if f64::from(offered) > limit {
                limit / f64::from(offered)
            } else {
                1.0
            };
            *threshold = fraction_threshold(p);
        }
        self.offered = [0; 3];
    }
}

/// The threshold a well-mixed 64-bit hash falls below with probability `p` (clamped to
/// 0..=1; `u64::MAX` at 1).
pub(super) fn fraction_threshold(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * 18_446_744_073_709_551_615.0) as u64
}

impl Core {
    /// Writes a line about `request` (its latency so far, and the faults that hit it).
    pub(super) fn log_request(
        &mut self,
        level: Level,
        request: &Request,
        kind: LogKind,
        step: Option<usize>,
        pool: Option<usize>,
        waited: SimTime,
    ) {
        let latency = self.now.since(request.arrived);
        self.log_line(
            level,
            request.id,
            kind,
            step.map(|s| (s, pool)),
            latency.into(),
            waited,
            request.hit_faults,
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn log_line(
        &mut self,
        level: Level,
        id: u64,
        kind: LogKind,
        at: Option<(usize, Option<usize>)>,
        latency: SimTime,
        waited: SimTime,
        hit_faults: u32,
    ) {
        let i = level as usize;
        self.log.offered[i] += 1;
        if self.log.used[i] >= self.log.limit {
            return;
        }
        // Info lines were sampled by the caller; warnings and errors are spread here.
        let threshold = if level == Level::Info {
            u64::MAX
        } else {
            self.log.thresholds[i]
        };
        if threshold < u64::MAX && self.seed.hash(id) >= threshold {
            return;
        }
        self.log.used[i] += 1;
        let (step, pool) = match at {
            Some((s, p)) => (
                Some(self.steps[s].name.clone()),
                p.or(self.steps[s].pool).map(|p| self.pools[p].name.clone()),
            ),
            None => (None, None),
        };
        self.log.lines.push(LogLine {
            at_nanos: self.now.nanos(),
            level,
            request: id,
            kind,
            step,
            pool,
            latency_seconds: latency.as_secs_f64(),
            wait_seconds: waited.as_secs_f64(),
            notes: Vec::new(),
            hit_faults,
        });
    }

    /// Moves the request-log lines written since the last call out.
    pub fn take_log(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.log.lines)
    }
}
