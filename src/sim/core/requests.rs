//! In-flight requests: the slab that holds them (slots reused through a free list, with
//! generation indices so that a stale handle is recognised) and a request's way through the
//! steps: advancing to its next step, completing or failing, and leaving the system.
//!
//! Admission and retries are [`super::admission`]; connection waits are [`super::pools`];
//! the calls themselves are [`super::steps`].

use rand::RngExt;

use super::Core;
use crate::sim::SimTime;
use crate::telemetry::log::{Level, LogKind};

#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) id: u64,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub(super) attempt: u8,
    pub(super) arrived: SimTime,
    pub(super) step: u16,
    /// Counted in the run's statistics (arrived after the warm-up).
    pub(super) counted: bool,
    pub(super) degraded: bool,
    /// Probability the answer is still right, given the steps it went without.
    pub(super) right: f64,
    /// Time spent waiting for connections so far.
    pub(super) waited: SimTime,
    /// When its current step started running.
    pub(super) step_started: SimTime,
    /// How many of its current step's pools it holds.
    pub(super) held: u8,
    /// What is special about its current call: bit `i` (below 8) when the step's partial
    /// effect `i` hit it, [`CALL_TIMED_OUT`] when it reached the step's timeout (its end
    /// event is the timeout). Zero for an ordinary call, tested once when the call ends.
    pub(super) call: u16,
    /// Calls of its current step so far, after the first (a step with retries).
    pub(super) tries: u8,
    /// The faults (bit `f` for fault `f`, the first 32) whose partial effects hit one of its
    /// calls: its log lines carry them, so a fault's `log` goes on the requests it hit.
    pub(super) hit_faults: u32,
}

#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) request: Option<Request>,
}

/// In-flight requests by slot, reused through a free list; a slot's generation changes each
/// time it is reused, so stale handles are recognised.
#[derive(Debug, Default)]
pub(super) struct Slab {
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<u32>,
}

impl Slab {
    pub(super) fn insert(&mut self, request: Request) -> (u32, u32) {
        if let Some(slot) = self.free.pop() {
            let s = &mut self.slots[slot as usize];
            s.generation = s.generation.wrapping_add(1);
            s.request = Some(request);
            (slot, s.generation)
        } else {
            self.slots.push(Slot {
                generation: 0,
                request: Some(request),
            });
            ((self.slots.len() - 1) as u32, 0)
        }
    }

    pub(super) fn get_mut(&mut self, slot: u32, generation: u32) -> Option<&mut Request> {
        let s = self.slots.get_mut(slot as usize)?;
        if s.generation == generation {
            s.request.as_mut()
        } else {
            None
        }
    }

    /// The request in `slot`, whatever its generation (for events that cannot be stale).
    pub(super) fn running(&mut self, slot: u32) -> Option<&mut Request> {
        self.slots.get_mut(slot as usize)?.request.as_mut()
    }

    pub(super) fn remove(&mut self, slot: u32) -> Option<Request> {
        let request = self.slots[slot as usize].request.take();
        if request.is_some() {
            self.free.push(slot);
        }
        request
    }
}

/// [`Request::call`]: the call ran into its step's timeout.
pub(super) const CALL_TIMED_OUT: u16 = 1 << 8;
/// [`Request::call`]: the call's step has a rate limit or retries (its end goes through
/// [`super::dependency`]).
pub(super) const CALL_GUARDED: u16 = 1 << 9;
/// [`Request::call`]: the dependency refused the call (a 429).
pub(super) const CALL_REFUSED: u16 = 1 << 10;
/// [`Request::call`] while a call backs off before a retry: it holds the step's connections.
pub(super) const CALL_HOLDS: u16 = 1 << 11;

impl Core {
    /// Starts the request's current step, skipping to completion when no step is left.
    /// A step that only a share of requests take is passed over by the others.
    pub(super) fn advance(&mut self, slot: u32, generation: u32) {
        let Some(request) = self.requests.get_mut(slot, generation) else {
            return;
        };
        let mut step = request.step as usize;
        let Some(s) = self.steps.get(step) else {
            self.complete(slot);
            return;
        };
        if s.off_the_plain_path {
            let Some(taken) = Self::pass_over(&mut self.steps, request, step) else {
                self.complete(slot);
                return;
            };
            step = taken;
            if self.steps[step].multi_pool {
                request.held = 0;
                self.acquire(slot, generation, step);
                return;
            }
        }
        // One pool or none: the hot path, without walking a list of pools.
        request.step_started = self.now;
        let counted = request.counted;
        self.enter_one_pool(slot, generation, step, counted);
    }

    /// The request starts a call of `step`, which holds one pool or none: with a free
    /// connection and nobody queued before it, at once; otherwise it queues for one.
    #[allow(clippy::inline_always)] // the hot path of every step
    #[inline(always)]
    pub(super) fn enter_one_pool(
        &mut self,
        slot: u32,
        generation: u32,
        step: usize,
        counted: bool,
    ) {
        let now = self.now;
        match self.steps[step].pool {
            None => self.start_running(slot, generation, step),
            Some(p) => {
                let pool = &mut self.pools[p];
                if pool.waiting.value == 0 && pool.has_free_connection() {
                    Self::take_connection(pool, now, counted, SimTime::ZERO);
                    self.start_running(slot, generation, step);
                } else {
                    self.wait_for(p, slot, generation);
                }
            }
        }
    }

    pub(super) fn complete(&mut self, slot: u32) {
        let now = self.now;
        let request = self
            .requests
            .remove(slot)
            .expect("completing a live request");
        let latency = now.since(request.arrived).as_nanos();
        let wrong = request.right < 1.0 && self.quality_rng.random::<f64>() >= request.right;
        // One hash of the id decides both samples: the log's from its value, the evaluation
        // pipeline's from its rotation (independent for a well-mixed hash).
        let sample = self.seed.hash(request.id);
        if sample.rotate_left(32) < self.eval_threshold {
            self.bucket.eval_graded += 1;
            self.bucket.eval_wrong += u64::from(wrong);
        }
        self.bucket.completed += 1;
        if request.degraded {
            self.bucket.degraded += 1;
        }
        if wrong {
            self.bucket.wrong_answers += 1;
        }
        self.bucket.users_poor += u64::from(request.degraded || wrong);
        if request.counted {
            self.totals.completed += 1;
            self.bucket.latency.record(latency);
            if request.degraded {
                self.totals.degraded += 1;
            }
            if wrong {
                self.totals.wrong_answers += 1;
            }
        } else {
            self.uncounted_latency.record(latency);
        }
        self.leave();
        if !request.degraded && sample < self.log.info_threshold {
            self.log_request(
                Level::Info,
                &request,
                LogKind::Completed,
                None,
                None,
                request.waited,
            );
        }
    }

    /// The request fails at `step`; `waited` is the wait its log line tells (the request's
    /// total connection wait when none is given).
    pub(super) fn fail(
        &mut self,
        slot: u32,
        step: usize,
        kind: LogKind,
        pool: Option<usize>,
        waited: Option<SimTime>,
    ) {
        let request = self.requests.remove(slot).expect("failing a live request");
        self.bucket.failed += 1;
        if request.counted {
            self.totals.failed += 1;
        }
        self.leave();
        self.log_request(
            Level::Error,
            &request,
            kind,
            Some(step),
            pool,
            waited.unwrap_or(request.waited),
        );
        if !self.maybe_retry(request.id, request.attempt, request.counted) {
            self.bucket.users_failed += 1;
        }
    }

    /// A request is no longer in flight.
    fn leave(&mut self) {
        let value = self.in_flight.value - 1;
        self.in_flight.set(value, self.now);
    }
}
