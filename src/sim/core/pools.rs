//! Connection pools: counting semaphores with a FIFO wait queue, one acquire timeout and a
//! single timer in the agenda armed for the head waiter; taking a step's pools in order,
//! giving connections back (or leaking them), serving waiters, and a waiter giving up.
//!
//! What a step does once it holds its pools is [`super::steps`].

use std::collections::VecDeque;

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use super::Core;
use super::events::Kind;
use super::gauge::Gauge;
use crate::drill::spec::OnTimeout;
use crate::sim::SimTime;
use crate::sim::rng::Seed;
use crate::telemetry::log::LogKind;

/// A pool as the engine is built with it.
#[derive(Debug, Clone)]
pub struct PoolInit {
    pub name: String,
    pub size: u32,
    pub acquire_timeout: crate::drill::Duration,
    pub cores: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Waiter {
    slot: u32,
    generation: u32,
    since: SimTime,
}

/// Statistics of counted requests at a pool.
#[derive(Debug, Clone, Default)]
pub struct PoolTotals {
    pub acquired: u64,
    pub waited: u64,
    pub timed_out: u64,
    pub wait_sum_nanos: u128,
}

/// A connection pool: a counting semaphore with a FIFO queue and an acquire timeout.
#[derive(Debug)]
pub struct PoolState {
    pub name: String,
    pub size: u32,
    pub acquire_timeout: crate::drill::Duration,
    /// Connections held by requests.
    pub in_use: u32,
    /// Connections lost to leaks: unavailable until a restart.
    pub leaked: u32,
    queue: VecDeque<Waiter>,
    /// Sequence number of the pool's armed timer entry, if one is armed.
    timer: Option<u32>,
    pub leak_fraction: f64,
    leak_rng: ChaCha8Rng,
    /// Database cores behind the pool (query time grows past them).
    pub cores: Option<u32>,
    /// Connections busy (in use or leaked), time-weighted.
    pub busy: Gauge,
    /// Requests waiting, time-weighted; `waiting.value` is the live count.
    pub waiting: Gauge,
    /// The pool's size, time-weighted (it changes only by effects).
    pub sized: Gauge,
    pub totals: PoolTotals,
    pub(super) bucket_acquired: u64,
    pub(super) bucket_timeouts: u64,
}

impl PoolState {
    /// A pool as the drill describes it, with its leak stream drawn from `seed`.
    pub(super) fn new(p: PoolInit, seed: Seed) -> PoolState {
        PoolState {
            leak_rng: seed.stream(&format!("pool/{}/leaks", p.name)),
            name: p.name,
            size: p.size,
            acquire_timeout: p.acquire_timeout,
            cores: p.cores,
            in_use: 0,
            leaked: 0,
            queue: VecDeque::new(),
            timer: None,
            leak_fraction: 0.0,
            busy: Gauge::default(),
            waiting: Gauge::default(),
            sized: Gauge::starting_at(u64::from(p.size)),
            totals: PoolTotals::default(),
            bucket_acquired: 0,
            bucket_timeouts: 0,
        }
    }

    pub(super) fn has_free_connection(&self) -> bool {
        self.in_use + self.leaked < self.size
    }
}

impl Core {
    /// Queues the request for a connection of pool `p`, arming the pool's timer if it has none.
    #[inline]
    pub(super) fn wait_for(&mut self, p: usize, slot: u32, generation: u32) {
        let now = self.now;
        let pool = &mut self.pools[p];
        pool.queue.push_back(Waiter {
            slot,
            generation,
            since: now,
        });
        let waiting = pool.waiting.value + 1;
        pool.waiting.set(waiting, now);
        if pool.timer.is_none() {
            self.arm_timer(p);
        }
    }

    /// A request of a step with several pools was handed the one it waited for: it holds one
    /// more, and takes the rest.
    #[cold]
    #[inline(never)]
    fn acquire_next(&mut self, slot: u32, generation: u32, step: usize) {
        self.requests.running(slot).expect("a live waiter").held += 1;
        self.acquire(slot, generation, step);
    }

    /// Takes a step's pools in order from the first it does not hold yet, then runs the
    /// step; waits in the queue of the first pool with no free connection. (For a step with
    /// several pools; `held` counts the ones taken.)
    pub(super) fn acquire(&mut self, slot: u32, generation: u32, step: usize) {
        let now = self.now;
        let request = self
            .requests
            .running(slot)
            .expect("acquiring for a live request");
        loop {
            let Some(&p) = self.steps[step].pools.get(request.held as usize) else {
                // The step starts now (after any connection waits).
                request.step_started = now;
                self.start_running(slot, generation, step);
                return;
            };
            let pool = &mut self.pools[p];
            if pool.waiting.value == 0 && pool.has_free_connection() {
                Self::take_connection(pool, now, request.counted, SimTime::ZERO);
                request.held += 1;
            } else {
                self.wait_for(p, slot, generation);
                return;
            }
        }
    }

    #[allow(clippy::inline_always)] // measured: see docs/performance.md, "How the engine got there"
    #[inline(always)]
    pub(super) fn take_connection(
        pool: &mut PoolState,
        now: SimTime,
        counted: bool,
        wait: SimTime,
    ) {
        pool.in_use += 1;
        let busy = u64::from(pool.in_use + pool.leaked);
        pool.busy.set(busy, now);
        pool.bucket_acquired += 1;
        if counted {
            pool.totals.acquired += 1;
            if wait > SimTime::ZERO {
                pool.totals.waited += 1;
            }
            pool.totals.wait_sum_nanos += u128::from(wait.nanos());
        }
    }

    /// A connection comes back to pool `p` (or leaks), and waiting requests are served.
    #[inline]
    pub(super) fn release(&mut self, p: usize) {
        let now = self.now;
        let pool = &mut self.pools[p];
        pool.in_use -= 1;
        if pool.leak_fraction > 0.0 && pool.leak_rng.random::<f64>() < pool.leak_fraction {
            pool.leaked += 1;
        }
        let busy = u64::from(pool.in_use + pool.leaked);
        pool.busy.set(busy, now);
        self.serve_waiters(p);
    }

    /// Hands free connections of pool `p` to waiting requests, first come first served.
    pub fn serve_waiters(&mut self, p: usize) {
        let now = self.now;
        while self.pools[p].has_free_connection() {
            let Some(w) = self.pools[p].queue.pop_front() else {
                break;
            };
            let Some(request) = self.requests.get_mut(w.slot, w.generation) else {
                continue;
            };
            let wait = now.since(w.since);
            request.waited = request.waited.after(wait);
            // (A step with several pools starts again when it holds them all.)
            request.step_started = now;
            let (counted, step) = (request.counted, request.step as usize);
            let pool = &mut self.pools[p];
            let waiting = pool.waiting.value - 1;
            pool.waiting.set(waiting, now);
            Self::take_connection(pool, now, counted, SimTime::from(wait));
            if self.steps[step].multi_pool {
                self.acquire_next(w.slot, w.generation, step);
            } else {
                self.start_running(w.slot, w.generation, step);
            }
        }
    }

    /// Arms pool `p`'s timer for its head waiter (or disarms it when nobody waits).
    fn arm_timer(&mut self, p: usize) {
        let pool = &mut self.pools[p];
        match pool.queue.front() {
            Some(head) => {
                let deadline = head.since.after(pool.acquire_timeout);
                let timer = self.schedule(deadline, Kind::AcquireTimeout { pool: p as u16 });
                self.pools[p].timer = Some(timer);
            }
            None => pool.timer = None,
        }
    }

    /// Pool `p`'s timer fired: every head waiter whose deadline has come gives up.
    pub(super) fn on_pool_timer(&mut self, p: usize, timer: u32) {
        if self.pools[p].timer != Some(timer) {
            return;
        }
        let now = self.now;
        while let Some(&head) = self.pools[p].queue.front() {
            if head.since.after(self.pools[p].acquire_timeout) > now {
                break;
            }
            self.pools[p].queue.pop_front();
            self.give_up(p, head);
        }
        self.arm_timer(p);
    }

    /// A request waiting for pool `p` gives up: the step's pools it already holds go back,
    /// and it fails or goes on without the step.
    fn give_up(&mut self, p: usize, w: Waiter) {
        let now = self.now;
        let Some(request) = self.requests.get_mut(w.slot, w.generation) else {
            return;
        };
        // The log tells how long it waited for *this* connection, not its total wait.
        let wait = now.since(w.since);
        request.waited = request.waited.after(wait);
        let (counted, s) = (request.counted, request.step as usize);
        let held = std::mem::take(&mut request.held);
        let pool = &mut self.pools[p];
        let waiting = pool.waiting.value - 1;
        pool.waiting.set(waiting, now);
        pool.bucket_timeouts += 1;
        if counted {
            pool.totals.timed_out += 1;
            if wait > crate::drill::Duration::ZERO {
                pool.totals.waited += 1;
            }
        }
        self.bucket.steps[s].acquire_timeouts += 1;
        if counted {
            self.steps[s].totals.acquire_timeouts += 1;
        }
        for i in 0..held as usize {
            let q = self.steps[s].pools[i];
            self.release(q);
        }
        match self.steps[s].on_timeout {
            OnTimeout::Fail => {
                self.fail(
                    w.slot,
                    s,
                    LogKind::AcquireTimeout,
                    Some(p),
                    Some(wait.into()),
                );
            }
            OnTimeout::Degrade { wrong_answer_rate } => {
                self.skip_step(
                    w.slot,
                    w.generation,
                    s,
                    wrong_answer_rate,
                    Some(p),
                    wait.into(),
                );
            }
        }
    }

    /// A pool restart: leaked connections come back (the caller applies any dip in capacity).
    pub fn restart_pool(&mut self, p: usize) {
        let now = self.now;
        let pool = &mut self.pools[p];
        pool.leaked = 0;
        let busy = u64::from(pool.in_use);
        pool.busy.set(busy, now);
        self.serve_waiters(p);
    }
}
