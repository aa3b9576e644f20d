//! Admission: arrivals planned one at a time from the traffic model, the admission rate and
//! the limit on requests in flight (a rejection counted as shed when only the team's own
//! limits turned it away), and client retries with their backoff and budget.
//!
//! What happens to an admitted request is [`super::requests`].

use rand::RngExt;

use super::Core;
use super::events::{Entry, Kind};
use super::requests::Request;
use crate::sim::SimTime;
use crate::telemetry::log::{Level, LogKind};

/// Client retries, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u8,
    pub backoff_nanos: f64,
    pub multiplier: f64,
    pub jitter: f64,
    pub budget: Option<f64>,
    /// Whether admission's rejections are retried (failures always are).
    pub retry_rejected: bool,
}

impl RetryPolicy {
    /// No retries (one attempt), what `SetRetries` changes when there were none.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        backoff_nanos: 0.0,
        multiplier: 2.0,
        jitter: 0.0,
        budget: None,
        retry_rejected: true,
    };

    /// A first attempt earns the budget's credit (capped at the larger of 10 and 100 ×
    /// `budget`); without a budget there is nothing to earn.
    pub fn earn(self, credit: &mut f64) {
        if let Some(budget) = self.budget {
            *credit = (*credit + budget).min(10.0_f64.max(100.0 * budget));
        }
    }

    /// Whether the budget lets one more retry go, spending its credit; always without a
    /// budget.
    pub fn spend(self, credit: &mut f64) -> bool {
        if self.budget.is_none() {
            return true;
        }
        if *credit < 1.0 {
            return false;
        }
        *credit -= 1.0;
        true
    }

    /// The wait in nanoseconds before the retry that follows `retries` earlier ones, with
    /// `u` the jitter draw in [0, 1).
    pub fn wait_nanos(self, retries: i32, u: f64) -> f64 {
        self.backoff_nanos * self.multiplier.powi(retries) * (1.0 - self.jitter * u)
    }
}

impl Core {
    /// Throws away the pending arrival and plans a new one from now (after the rate changed;
    /// valid for Poisson arrivals because they are memoryless).
    pub fn replan_arrivals(&mut self) {
        self.next_arrival = Entry::NO_ARRIVAL;
        if let Some(c) = self.arrivals.plan(self.now, self.end) {
            self.schedule(c.at, Kind::Arrival);
        }
    }

    pub(super) fn on_arrival(&mut self) {
        let now = self.now;
        if self.arrivals.accept(now) {
            let id = self.next_request_id;
            self.next_request_id += 1;
            if let Some(policy) = self.retry {
                policy.earn(&mut self.retry_credit);
            }
            self.bucket.users += 1;
            self.admit(id, 1, now >= self.warmup);
        }
        if let Some(c) = self.arrivals.plan(now, self.end) {
            self.schedule(c.at, Kind::Arrival);
        }
    }

    /// Attempt `attempt` of request `id` arrives: admission, then its first step. `counted`:
    /// whether the request counts in the run's totals (its first attempt came after the
    /// warm-up), the same for all its attempts.
    pub(super) fn admit(&mut self, id: u64, attempt: u8, counted: bool) {
        let now = self.now;
        self.bucket.arrived += 1;
        if counted {
            self.totals.arrived += 1;
        }
        if attempt > 1 {
            self.bucket.retries += 1;
            if counted {
                self.totals.retries += 1;
            }
        }
        let over_rate = self.admission.as_mut().is_some_and(|b| !b.admit(now));
        let over_limit = self
            .max_in_flight
            .is_some_and(|limit| self.in_flight.value >= u64::from(limit));
        if over_rate || over_limit {
            self.reject(id, attempt, counted, over_rate, over_limit);
            return;
        }
        self.bucket.admitted += 1;
        if counted {
            self.totals.admitted += 1;
        }
        let value = self.in_flight.value + 1;
        self.in_flight.set(value, now);
        let (slot, generation) = self.requests.insert(Request {
            id,
            attempt,
            arrived: now,
            step: 0,
            counted,
            degraded: false,
            right: 1.0,
            waited: SimTime::ZERO,
            step_started: SimTime::ZERO,
            held: 0,
            call: 0,
            tries: 0,
            hit_faults: 0,
        });
        self.advance(slot, generation);
    }

    /// Admission turns attempt `attempt` of request `id` away (over the admission rate, or
    /// over the limit on requests in flight).
    #[cold]
    #[inline(never)]
    fn reject(&mut self, id: u64, attempt: u8, counted: bool, over_rate: bool, over_limit: bool) {
        self.bucket.rejected += 1;
        let by_action =
            (!over_rate || self.rate_set_by_action) && (!over_limit || self.limit_set_by_action);
        self.bucket.shed += u64::from(by_action);
        if counted {
            self.totals.rejected += 1;
        }
        self.log_line(
            Level::Warn,
            id,
            LogKind::Rejected,
            None,
            SimTime::ZERO,
            SimTime::ZERO,
            0,
        );
        let retried =
            self.retry.is_some_and(|p| p.retry_rejected) && self.maybe_retry(id, attempt, counted);
        if !retried {
            self.bucket.users_rejected += 1;
        }
    }

    /// A client whose request failed or was rejected tries again after its backoff, while it
    /// has attempts left and the retry budget allows. Returns whether a retry will come (the
    /// user's request is not over yet).
    pub(super) fn maybe_retry(&mut self, id: u64, attempt: u8, counted: bool) -> bool {
        let Some(policy) = self.retry else {
            return false;
        };
        if attempt >= policy.max_attempts {
            return false;
        }
        if !policy.spend(&mut self.retry_credit) {
            return false;
        }
        let wait = policy.wait_nanos(i32::from(attempt) - 1, self.retry_rng.random::<f64>());
        let at = SimTime::from_nanos(
            self.now
                .nanos()
                .saturating_add(wait as u64)
                .max(self.now.nanos() + 1),
        );
        if at >= self.end {
            return false;
        }
        let retry = (id, attempt + 1, counted);
        let i = if let Some(i) = self.retries_free.pop() {
            self.retries_pending[i as usize] = retry;
            i
        } else {
            self.retries_pending.push(retry);
            (self.retries_pending.len() - 1) as u32
        };
        self.schedule(at, Kind::Retry(i));
        true
    }
}
