//! The engine's hot state: [`Core`], one resource touched by every request event, and the
//! loop that runs request events without going through the ECS at all ([`Core::run_hot`]).
//! This file owns the resource, its construction, scheduling, the warm-up and bucket marks,
//! and applying effect-derived parameters; the per-request handlers are split by what they
//! touch:
//!
//! - `events`: the agenda's entries ([`Kind`], ordered by time, then sequence number);
//! - `admission`: arrivals, the admission rate and in-flight limit, client retries;
//! - `requests`: in-flight requests in a slab with generation indices, and a request's way
//!   through the steps to completion or failure;
//! - `pools`: connection pools with FIFO wait queues and one timer each;
//! - `steps`: the steps' calls (samplers, errors, partial effects, timeouts);
//! - `log`: which request-log lines are kept;
//! - `gauge`: time-weighted levels integrated by marks;
//! - `autoscale`: pool autoscalers (their decisions are agenda entries of their own).
//!
//! Long-lived parts and periodic work (alerts, faults, bucket closing) live in the
//! [`bevy_ecs::world::World`] around it (see [`super::world`]); the bucket's counters are
//! [`crate::telemetry`]'s types. A pool's waiters share one acquire timeout and queue in
//! arrival order, so their deadlines are in queue order too: each pool keeps a single timer in
//! the agenda, armed for its head waiter, instead of one event per waiting request. A re-armed
//! timer's old entry is recognised by its sequence number when it fires, and skipped.

mod admission;
mod autoscale;
mod dependency;
mod events;
mod gauge;
mod log;
mod pools;
mod requests;
mod steps;

use bevy_ecs::resource::Resource;
use rand::rngs::ChaCha8Rng;

use super::SimTime;
use super::agenda::Heap;
use super::effects::{ActiveEffect, Knob, Params, Source};
use super::rng::Seed;
use super::traffic::{ArrivalProcess, TokenBucket};
use crate::telemetry::histogram::Histogram;
use crate::telemetry::series::PoolBucket;
pub use crate::telemetry::series::{BucketCounts, StepCounts};
pub use admission::RetryPolicy;
pub use autoscale::{AutoscaleConfig, Autoscaler};
pub use dependency::StepRetryPolicy;
use events::Entry;
pub use events::Kind;
pub use gauge::Gauge;
use log::{LogState, fraction_threshold};
pub use pools::{PoolInit, PoolState, PoolTotals};
use requests::Slab;
pub use steps::{StepInit, StepState};

/// Counts of counted requests (those arriving after the warm-up).
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub arrived: u64,
    pub admitted: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    pub retries: u64,
    pub tokens: f64,
    /// Latencies up to the last closed bucket ([`Core::latency`] adds the open one).
    latency: Histogram,
}

/// The engine's hot state: one resource, touched by every request event.
#[derive(Resource)]
pub struct Core {
    pub now: SimTime,
    pub end: SimTime,
    pub warmup: SimTime,
    seq: u64,
    agenda: Heap<Entry>,
    /// The one planned arrival, kept beside the heap: half of all events are arrivals, and
    /// a slot of its own spares each of them a push and a pop (and a re-plan simply
    /// replaces it). [`Entry::NO_ARRIVAL`] when none is planned.
    next_arrival: Entry,
    /// Events handled so far.
    pub events: u64,
    requests: Slab,
    next_request_id: u64,
    pub in_flight: Gauge,
    pub arrivals: ArrivalProcess,
    admission: Option<TokenBucket>,
    pub max_in_flight: Option<u32>,
    /// Whether the binding admission limit, and the limit on requests in flight, were set by
    /// a team action (set in [`Core::apply_params`]; read only when a request is rejected).
    rate_set_by_action: bool,
    limit_set_by_action: bool,
    pub steps: Vec<StepState>,
    pub pools: Vec<PoolState>,
    quality_rng: ChaCha8Rng,
    seed: Seed,
    retry: Option<RetryPolicy>,
    retry_rng: ChaCha8Rng,
    /// Retry budget credit.
    retry_credit: f64,
    /// Retries waiting out their backoff, by the index their agenda entry carries: the
    /// request's id, the attempt, whether the request is counted (its first attempt was).
    retries_pending: Vec<(u64, u8, bool)>,
    retries_free: Vec<u32>,
    /// An answer is graded when the hash of its id (salted) is below this.
    eval_threshold: u64,
    pub totals: Totals,
    pub bucket: BucketCounts,
    /// Latencies of requests that arrived before the warm-up and completed in this bucket.
    uncounted_latency: Histogram,
    bucket_start: SimTime,
    log: LogState,
    /// The drill's parameters before any effect.
    pub baseline: Params,
    /// Effects in force, in the order they began.
    pub effects: Vec<ActiveEffect>,
    /// Each pool's own autoscaler (from the drill), empty when no pool has one.
    autoscale_own: Vec<Option<AutoscaleConfig>>,
    /// Each pool's autoscaler at work; empty when the drill can autoscale no pool.
    pub autoscalers: Vec<Option<Autoscaler>>,
}

/// Everything [`Core::new`] needs, already resolved from the drill.
pub struct CoreSpec {
    pub end: SimTime,
    pub warmup: SimTime,
    pub seed: Seed,
    pub arrivals: ArrivalProcess,
    pub steps: Vec<StepInit>,
    pub pools: Vec<PoolInit>,
    pub max_in_flight: Option<u32>,
    pub retry: Option<RetryPolicy>,
    pub log_sample: f64,
    pub log_limit: u32,
    pub eval_sample: f64,
    /// Each pool's own autoscaler; whether any effect of the drill autoscales a pool.
    pub autoscale_own: Vec<Option<AutoscaleConfig>>,
    pub autoscale_effects: bool,
}

impl Core {
    #[must_use]
    pub fn new(spec: CoreSpec) -> Self {
        let seed = spec.seed;
        let steps: Vec<StepState> = spec
            .steps
            .into_iter()
            .map(|s| StepState::new(s, seed))
            .collect();
        let pools: Vec<PoolState> = spec
            .pools
            .into_iter()
            .map(|p| PoolState::new(p, seed))
            .collect();
        let spec_steps = steps.len();
        let baseline = Params {
            traffic_multiplier: 1.0,
            admission_limit: None,
            max_in_flight: spec.max_in_flight,
            pool_size: pools.iter().map(|p| p.size).collect(),
            step_time: vec![1.0; steps.len()],
            step_error: steps.iter().map(|s| s.error_rate).collect(),
            leak: vec![0.0; pools.len()],
            step_wrong: steps.iter().map(|s| s.wrong_rate).collect(),
            step_tokens: vec![1.0; steps.len()],
            fallback: vec![false; steps.len()],
            step_timeout: steps.iter().map(|s| s.timeout_nanos).collect(),
            step_partial: vec![Vec::new(); steps.len()],
            step_share: steps.iter().map(|s| s.share).collect(),
            step_rate_limit: steps
                .iter()
                .map(|s| s.limit.as_ref().map(TokenBucket::limits))
                .collect(),
            step_retries: steps.iter().map(|s| s.retries).collect(),
            retry: spec.retry,
        };
        let mut core = Core {
            now: SimTime::ZERO,
            end: spec.end,
            warmup: spec.warmup,
            seq: 0,
            agenda: Heap::default(),
            next_arrival: Entry::NO_ARRIVAL,
            events: 0,
            requests: Slab::default(),
            next_request_id: 0,
            in_flight: Gauge::default(),
            arrivals: spec.arrivals,
            admission: None,
            max_in_flight: spec.max_in_flight,
            rate_set_by_action: false,
            limit_set_by_action: false,
            steps,
            pools,
            quality_rng: seed.stream("quality"),
            seed,
            retry: spec.retry,
            retry_rng: seed.stream("retries"),
            retry_credit: 10.0,
            retries_pending: Vec::new(),
            retries_free: Vec::new(),
            eval_threshold: fraction_threshold(spec.eval_sample),
            totals: Totals::default(),
            bucket: BucketCounts::starting_with(Histogram::default(), spec_steps),
            uncounted_latency: Histogram::default(),
            bucket_start: SimTime::ZERO,
            log: LogState::new(spec.log_sample, spec.log_limit),
            baseline,
            effects: Vec::new(),
            autoscalers: if spec.autoscale_effects || spec.autoscale_own.iter().any(Option::is_some)
            {
                vec![None; spec.autoscale_own.len()]
            } else {
                Vec::new()
            },
            autoscale_own: spec.autoscale_own,
        };
        core.sync_autoscalers();
        core.replan_arrivals();
        if core.warmup > SimTime::ZERO {
            core.schedule(core.warmup, Kind::WarmupEnds);
        }
        core
    }

    /// Puts `kind` on the agenda at `time`; returns the entry's sequence number.
    pub fn schedule(&mut self, time: SimTime, kind: Kind) -> u32 {
        self.seq += 1;
        let entry = Entry::new(time, self.seq as u32, kind);
        if kind == Kind::Arrival {
            self.next_arrival = entry;
        } else {
            self.agenda.push(entry);
        }
        entry.seq()
    }

    /// Handles request events up to and including `limit`; returns the first world-level
    /// event due by then (already removed from the agenda), or `None` when none is left
    /// before `limit`.
    pub fn run_hot(&mut self, limit: SimTime) -> Option<(SimTime, Kind)> {
        loop {
            // The earlier of the heap's first and the planned arrival.
            let (next, from_heap) = match self.agenda.peek() {
                Some(&top) if top < self.next_arrival => (top, true),
                _ => (self.next_arrival, false),
            };
            if next.time() > limit || next.time == Entry::NO_ARRIVAL.time {
                return None;
            }
            if from_heap {
                self.agenda.pop();
            } else {
                self.next_arrival = Entry::NO_ARRIVAL;
            }
            let time = next.time();
            self.now = time;
            self.events += 1;
            match next.kind() {
                Kind::Arrival => self.on_arrival(),
                Kind::StepDone { slot } => self.on_step_done(slot),
                Kind::AcquireTimeout { pool } => self.on_pool_timer(pool as usize, next.seq()),
                Kind::WarmupEnds => self.end_warmup(),
                Kind::Autoscale { pool } => self.on_autoscale(pool as usize),
                Kind::StepRetry { slot } => self.on_step_retry(slot),
                Kind::Retry(i) => {
                    let (id, attempt, counted) = self.retries_pending[i as usize];
                    self.retries_free.push(i);
                    self.admit(id, attempt, counted);
                }
                world => {
                    debug_assert!(world.is_world_level());
                    return Some((time, world));
                }
            }
        }
    }

    /// The measured period starts: every time-weighted level marks its integral so far.
    fn end_warmup(&mut self) {
        let now = self.now;
        for gauge in std::iter::once(&mut self.in_flight).chain(
            self.pools
                .iter_mut()
                .flat_map(|p| [&mut p.busy, &mut p.waiting, &mut p.sized]),
        ) {
            gauge.mark_warm(now);
        }
    }

    /// The latencies of every counted request completed so far.
    #[must_use]
    pub fn latency(&self) -> Histogram {
        let mut all = self.totals.latency.clone();
        all.merge(&self.bucket.latency);
        all
    }

    /// Closes the current bucket at `now`: returns its counts and starts the next, whose
    /// latency histogram is `spare` (cleared; a closed bucket's, so none is allocated).
    pub fn close_bucket(&mut self, spare: Histogram) -> (SimTime, BucketCounts) {
        let (start, now) = (self.bucket_start, self.now);
        self.totals.latency.merge(&self.bucket.latency);
        self.bucket.latency.merge(&self.uncounted_latency);
        self.uncounted_latency.clear();
        let steps = self.steps.len();
        let mut counts =
            std::mem::replace(&mut self.bucket, BucketCounts::starting_with(spare, steps));
        counts.in_flight = self.in_flight.take_bucket_mean(start, now);
        counts.pools = self
            .pools
            .iter_mut()
            .map(|p| PoolBucket {
                size: u64::from(p.size),
                in_use: p.busy.take_bucket_mean(start, now),
                waiting: p.waiting.take_bucket_mean(start, now),
                acquired: std::mem::take(&mut p.bucket_acquired),
                timeouts: std::mem::take(&mut p.bucket_timeouts),
                leaked: u64::from(p.leaked),
            })
            .collect();
        self.bucket_start = now;
        self.log.next_bucket();
        (start, counts)
    }

    /// Applies effect-derived parameters to the running system.
    pub fn apply_params(&mut self, params: &Params) {
        let now = self.now;
        if (params.traffic_multiplier - self.arrivals.multiplier).abs() > 0.0 {
            self.arrivals.multiplier = params.traffic_multiplier;
            self.replan_arrivals();
        }
        match (
            params.admission_limit,
            self.admission.as_ref().map(TokenBucket::rate),
        ) {
            (None, _) => self.admission = None,
            (Some(rate), Some(old)) if (rate - old).abs() == 0.0 => {}
            (Some(rate), _) => self.admission = Some(TokenBucket::new(rate, now)),
        }
        self.max_in_flight = params.max_in_flight;
        self.retry = params.retry;
        self.note_action_limits(params);
        for (s, step) in self.steps.iter_mut().enumerate() {
            step.apply_params(params, s, now);
        }
        for p in 0..self.pools.len() {
            let pool = &mut self.pools[p];
            pool.leak_fraction = params.leak[p];
            if pool.size != params.pool_size[p] {
                pool.size = params.pool_size[p];
                pool.sized.set(u64::from(pool.size), now);
                self.serve_waiters(p);
            }
        }
    }

    /// Records whether the binding admission limit and the limit on requests in flight come
    /// from a team action, so that rejections can be told apart as shed by the team.
    fn note_action_limits(&mut self, params: &Params) {
        let by_action = |e: &&ActiveEffect| matches!(e.source, Source::Action(_));
        self.rate_set_by_action = params.admission_limit.is_some_and(|limit| {
            self.effects
                .iter()
                .filter(by_action)
                .any(|e| matches!(e.knob, Knob::AdmissionLimit(rps) if rps.max(0.0) <= limit))
        });
        self.limit_set_by_action = params.max_in_flight.is_some()
            && self
                .effects
                .iter()
                .rev()
                .find(|e| matches!(e.knob, Knob::MaxInFlight(_)))
                .is_some_and(|e| by_action(&e));
    }

    /// Recomputes parameters from the baseline and the effects in force, and applies them.
    pub fn refresh_effects(&mut self) {
        self.sync_autoscalers();
        let params = self.baseline.with_effects(&self.effects, self.now);
        self.apply_params(&params);
    }
}
