//! What a step's calls meet at the dependency: its rate limit (a token bucket; a call that
//! finds it empty is refused at once, a 429) and the client's retries of a failed call
//! (backoff, budget, which failures, holding the step's connections or not).
//!
//! The limit is checked when the call starts, after the step's connections are taken: the
//! vendor refuses a call when it reaches the vendor, so a refused call holds its connections
//! only until the 429 is back (at once unless the limit gives a `refusal_time`), and a retry
//! that holds them (`Hold`) keeps them through its backoff.
//! Only steps with a limit or retries come here (their calls are marked
//! [`CALL_GUARDED`]); every other call keeps the plain path of [`super::steps`].

use rand::RngExt;

use super::Core;
use super::admission::RetryPolicy;
use super::events::Kind;
use super::requests::{CALL_GUARDED, CALL_HOLDS, CALL_REFUSED, CALL_TIMED_OUT};
use crate::sim::SimTime;
use crate::telemetry::log::LogKind;

/// A step's retries, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // which failures, and whether to hold: four yes-or-no
pub struct StepRetryPolicy {
    /// Attempts (calls in all), backoff, multiplier, jitter and budget.
    pub policy: RetryPolicy,
    pub on_errors: bool,
    pub on_rate_limited: bool,
    pub on_timeouts: bool,
    /// Whether a call backing off keeps the step's connections.
    pub hold: bool,
}

impl StepRetryPolicy {
    /// No retries, every kind of failure covered, connections held: what `SetRetries`
    /// changes on a step that had none.
    pub const NONE: StepRetryPolicy = StepRetryPolicy {
        policy: RetryPolicy::NONE,
        on_errors: true,
        on_rate_limited: true,
        on_timeouts: true,
        hold: true,
    };
}

/// How a guarded call ended.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Refused,
    TimedOut,
    Error,
    Done(super::steps::Hit),
}

impl Core {
    /// A call of a guarded step starts: marks it, credits the retry budget for a first call,
    /// and asks the rate limit. A refused call ends when the 429 is back (the limit's
    /// `refusal_time`, holding its connections until then); returns whether it was refused.
    #[cold]
    #[inline(never)]
    pub(super) fn refused(&mut self, slot: u32, step: usize) -> bool {
        let now = self.now;
        let s = &mut self.steps[step];
        let request = self.requests.running(slot).expect("a running call");
        if request.tries == 0
            && let Some(r) = s.retries
        {
            r.policy.earn(&mut s.retry_credit);
        }
        let refused = s.limit.as_mut().is_some_and(|b| !b.admit(now));
        request.call |= CALL_GUARDED | if refused { CALL_REFUSED } else { 0 };
        if refused {
            let back = SimTime::from_nanos(now.nanos().saturating_add(s.refusal_nanos));
            self.schedule(back, Kind::StepDone { slot });
        }
        refused
    }

    /// A guarded call ends: it is counted, retried after its backoff if its step's retries
    /// cover it, or else the request goes on as after any call.
    #[cold]
    #[inline(never)]
    pub(super) fn end_guarded_call(
        &mut self,
        slot: u32,
        step: usize,
        counted: bool,
        took: crate::drill::Duration,
        call: u16,
    ) {
        let outcome = if call & CALL_REFUSED != 0 {
            self.bucket.steps[step].rate_limited += 1;
            if counted {
                self.steps[step].totals.rate_limited += 1;
            }
            Outcome::Refused
        } else if call & CALL_TIMED_OUT != 0 {
            self.count_timed_out_call(step, counted, took);
            Outcome::TimedOut
        } else {
            let hit = self.steps[step].hit(call as u8);
            if self.count_call::<true>(step, counted, took, hit) {
                Outcome::Error
            } else {
                Outcome::Done(hit)
            }
        };
        if !matches!(outcome, Outcome::Done(_)) && self.retry_call(slot, step, counted, outcome) {
            return;
        }
        self.requests.running(slot).expect("a running call").tries = 0;
        self.release_step_pools(slot, step);
        match outcome {
            Outcome::Refused => self.fail(slot, step, LogKind::RateLimited, None, None),
            Outcome::TimedOut => self.after_call_timeout(slot, step, took),
            Outcome::Error => self.fail(slot, step, LogKind::StepError, None, None),
            Outcome::Done(hit) => self.call_succeeded::<true>(slot, step, counted, hit),
        }
    }

    /// Puts a failed call's retry on the agenda when the step's retries cover it, attempts
    /// are left and the budget allows; returns whether it did.
    fn retry_call(&mut self, slot: u32, step: usize, counted: bool, outcome: Outcome) -> bool {
        let s = &mut self.steps[step];
        let Some(r) = s.retries else { return false };
        let covered = match outcome {
            Outcome::Refused => r.on_rate_limited,
            Outcome::TimedOut => r.on_timeouts,
            Outcome::Error => r.on_errors,
            Outcome::Done(_) => false,
        };
        let request = self.requests.running(slot).expect("a running call");
        if !covered || u32::from(request.tries) + 1 >= u32::from(r.policy.max_attempts) {
            return false;
        }
        if !r.policy.spend(&mut s.retry_credit) {
            return false;
        }
        // The jitter stream is drawn only when there is jitter to draw.
        let u = if r.policy.jitter > 0.0 {
            s.retry_rng.random::<f64>()
        } else {
            0.0
        };
        let wait = r.policy.wait_nanos(i32::from(request.tries), u);
        request.tries += 1;
        request.call = if r.hold { CALL_HOLDS } else { 0 };
        self.bucket.steps[step].retries += 1;
        if counted {
            s.totals.retries += 1;
        }
        if !r.hold {
            self.release_step_pools(slot, step);
        }
        let at = SimTime::from_nanos(self.now.nanos().saturating_add(wait.max(0.0) as u64));
        self.schedule(at, Kind::StepRetry { slot });
        true
    }

    /// A call's backoff is over: it calls again, on the connections it kept or after
    /// waiting for them anew.
    #[cold]
    #[inline(never)]
    pub(super) fn on_step_retry(&mut self, slot: u32) {
        let now = self.now;
        let generation = self.requests.slots[slot as usize].generation;
        let Some(request) = self.requests.running(slot) else {
            debug_assert!(false, "a request backing off left its slot");
            return;
        };
        let step = request.step as usize;
        let holds = std::mem::take(&mut request.call) & CALL_HOLDS != 0;
        request.step_started = now;
        let counted = request.counted;
        if holds {
            self.start_running(slot, generation, step);
        } else if self.steps[step].multi_pool {
            request.held = 0;
            self.acquire(slot, generation, step);
        } else {
            self.enter_one_pool(slot, generation, step, counted);
        }
    }
}
