//! The engine's hot state and its per-request event handlers: the agenda (events ordered by
//! time, then sequence number), in-flight requests in a slab with generation indices, pools
//! with FIFO wait queues, step samplers, admission, and the counters of the current metric
//! bucket.
//!
//! Everything a request touches lives in this one resource so that the inner loop runs
//! without going through the ECS at all; long-lived parts and periodic work (alerts, faults,
//! bucket closing) live in the [`bevy_ecs::world::World`] around it (see [`super::world`]).
//! A pool's waiters share one acquire timeout and queue in arrival order, so their deadlines
//! are in queue order too: each pool keeps a single timer in the agenda, armed for its head
//! waiter, instead of one event per waiting request. A re-armed timer's old entry is
//! recognised by its sequence number when it fires, and skipped.

use std::cmp::Ordering;
use std::collections::VecDeque;

use bevy_ecs::resource::Resource;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use super::SimTime;
use super::agenda::Heap;
use super::effects::{ActiveEffect, Knob, Params, Partial, Source};
use super::rng::Seed;
use super::sampler::Sampler;
use super::traffic::{ArrivalProcess, TokenBucket};
use crate::drill::spec::OnTimeout;
use crate::telemetry::histogram::Histogram;
use crate::telemetry::log::{Level, LogKind, LogLine};
use crate::telemetry::series::PoolBucket;
pub use crate::telemetry::series::{BucketCounts, StepCounts};

/// What an agenda entry asks the engine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The planned candidate arrival (there is one at a time, kept beside the heap).
    Arrival,
    /// The request in `slot` finishes its current step. (A running request leaves its slot
    /// only when its step is done, so these are never stale and need no generation.)
    StepDone {
        slot: u32,
    },
    /// Pool `pool`'s timer: waiters at the head of its queue whose acquire timeout has
    /// passed give up. Stale when the pool's timer was re-armed since (the pool keeps the
    /// sequence number of the entry it armed).
    AcquireTimeout {
        pool: u16,
    },
    /// The end of a metric bucket: periodic work runs.
    Tick,
    /// A fault begins or ends.
    FaultStart(u16),
    FaultEnd(u16),
    /// A team action's effect lands.
    ActionLands(u32),
    /// An effect with an end stops (a restart's dip).
    EffectExpires,
    /// The warm-up ends: the time-weighted levels mark where the measured period starts.
    WarmupEnds,
    /// A client retries: entry `0` of the pending retries (kept aside so that every agenda
    /// entry stays small).
    Retry(u32),
}

impl Kind {
    /// Whether the ECS world (not just this resource) must handle it.
    fn is_world_level(self) -> bool {
        matches!(
            self,
            Kind::Tick
                | Kind::FaultStart(_)
                | Kind::FaultEnd(_)
                | Kind::ActionLands(_)
                | Kind::EffectExpires
        )
    }
}

impl Kind {
    /// Bits of an entry's code that hold the kind; the payload is above them.
    const TAG_BITS: u32 = 4;

    /// The kind and its payload in 32 bits (payloads are indices below 2²⁸).
    fn encode(self) -> u32 {
        let (tag, payload) = match self {
            Kind::Arrival => (0, 0),
            Kind::StepDone { slot } => (1, slot),
            Kind::AcquireTimeout { pool } => (2, u32::from(pool)),
            Kind::Tick => (3, 0),
            Kind::FaultStart(i) => (4, u32::from(i)),
            Kind::FaultEnd(i) => (5, u32::from(i)),
            Kind::ActionLands(i) => (6, i),
            Kind::EffectExpires => (7, 0),
            Kind::Retry(i) => (8, i),
            Kind::WarmupEnds => (9, 0),
        };
        assert!(
            payload < 1 << (32 - Self::TAG_BITS),
            "agenda payload {payload} out of range"
        );
        payload << Self::TAG_BITS | tag
    }

    fn decode(code: u32) -> Kind {
        let payload = code >> Self::TAG_BITS;
        match code & ((1 << Self::TAG_BITS) - 1) {
            0 => Kind::Arrival,
            1 => Kind::StepDone { slot: payload },
            2 => Kind::AcquireTimeout {
                pool: payload as u16,
            },
            3 => Kind::Tick,
            4 => Kind::FaultStart(payload as u16),
            5 => Kind::FaultEnd(payload as u16),
            6 => Kind::ActionLands(payload),
            7 => Kind::EffectExpires,
            8 => Kind::Retry(payload),
            _ => Kind::WarmupEnds,
        }
    }
}

/// An agenda entry: 16 bytes, ordered by time, then by the order it was scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    time: u64,
    /// The sequence number in the high half, the encoded [`Kind`] in the low half, so that
    /// (`time`, `tag`) compares as one 128-bit integer, by time and then by sequence. The
    /// sequence number wraps after 2³² events: it only orders events at the very same
    /// nanosecond (and names a pool's armed timer, which never waits in the agenda through
    /// 2³² others).
    tag: u64,
}

impl Entry {
    /// The empty arrival slot: later than any event.
    const NO_ARRIVAL: Entry = Entry {
        time: u64::MAX,
        tag: u64::MAX,
    };

    fn new(time: SimTime, seq: u32, kind: Kind) -> Self {
        Entry {
            time: time.nanos(),
            tag: u64::from(seq) << 32 | u64::from(kind.encode()),
        }
    }

    fn time(&self) -> SimTime {
        SimTime::from_nanos(self.time)
    }

    fn seq(&self) -> u32 {
        (self.tag >> 32) as u32
    }

    fn kind(&self) -> Kind {
        Kind::decode(self.tag as u32)
    }

    fn key(&self) -> u128 {
        u128::from(self.time) << 64 | u128::from(self.tag)
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A time-weighted level (connections busy, requests waiting, in flight): integrates the
/// level over the current bucket and over the measured period (after warm-up).
///
/// The integral from zero to `t` is `acc + value·t`, where `acc` gathers `-Δvalue·t` at each
/// change: a change costs one multiply-add, and the integral over any span is the difference
/// of two such values (exact, in integer nanoseconds; drills last at most 100 years, so
/// times fit in an `i64`). The value at a change's own instant does not matter to the
/// integral up to that instant, so marks can be taken before or after same-time changes.
#[derive(Debug, Clone, Default)]
pub struct Gauge {
    pub value: u64,
    acc: i128,
    /// The integral up to the start of the current bucket.
    bucket_mark: i128,
    /// The integral up to the end of the warm-up (taken by [`Core::end_warmup`]).
    warm_mark: i128,
}

impl Gauge {
    /// The integral of the level from zero to `t` (no change after `t` yet).
    fn area(&self, t: SimTime) -> i128 {
        self.acc + i128::from(self.value.cast_signed()) * i128::from(t.nanos().cast_signed())
    }

    fn set(&mut self, value: u64, now: SimTime) {
        let delta = self.value.cast_signed() - value.cast_signed();
        self.acc += i128::from(delta) * i128::from(now.nanos().cast_signed());
        self.value = value;
    }

    /// Mean over the bucket that began at `start`, then starts the next bucket.
    fn take_bucket_mean(&mut self, start: SimTime, now: SimTime) -> f64 {
        let area = self.area(now);
        let width = now.since(start).as_nanos();
        let mean = if width == 0 {
            0.0
        } else {
            (area - self.bucket_mark) as f64 / width as f64
        };
        self.bucket_mark = area;
        mean
    }

    /// Mean over the measured period [warmup, now].
    #[must_use]
    pub fn total_mean(&self, warmup: SimTime, now: SimTime) -> f64 {
        let width = now.since(warmup).as_nanos();
        if width == 0 {
            0.0
        } else {
            (self.area(now) - self.warm_mark) as f64 / width as f64
        }
    }
}

#[derive(Debug, Clone)]
struct Request {
    id: u64,
    /// 1 for the first attempt, 2 for the first retry, ...
    attempt: u8,
    arrived: SimTime,
    step: u16,
    /// Counted in the run's statistics (arrived after the warm-up).
    counted: bool,
    degraded: bool,
    /// Probability the answer is still right, given the steps it went without.
    right: f64,
    /// Time spent waiting for connections so far.
    waited: SimTime,
    /// When its current step started running.
    step_started: SimTime,
    /// How many of its current step's pools it holds.
    held: u8,
    /// What is special about its current call: bit `i` (below 8) when the step's partial
    /// effect `i` hit it, [`CALL_TIMED_OUT`] when it reached the step's timeout (its end
    /// event is the timeout). Zero for an ordinary call, tested once when the call ends.
    call: u16,
}

#[derive(Debug, Clone)]
struct Slot {
    generation: u32,
    request: Option<Request>,
}

/// In-flight requests by slot, reused through a free list; a slot's generation changes each
/// time it is reused, so stale handles are recognised.
#[derive(Debug, Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Slab {
    fn insert(&mut self, request: Request) -> (u32, u32) {
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

    fn get_mut(&mut self, slot: u32, generation: u32) -> Option<&mut Request> {
        let s = self.slots.get_mut(slot as usize)?;
        if s.generation == generation {
            s.request.as_mut()
        } else {
            None
        }
    }

    /// The request in `slot`, whatever its generation (for events that cannot be stale).
    fn running(&mut self, slot: u32) -> Option<&mut Request> {
        self.slots.get_mut(slot as usize)?.request.as_mut()
    }

    fn remove(&mut self, slot: u32) -> Option<Request> {
        let request = self.slots[slot as usize].request.take();
        if request.is_some() {
            self.free.push(slot);
        }
        request
    }
}

/// [`Request::call`]: the call ran into its step's timeout.
const CALL_TIMED_OUT: u16 = 1 << 8;

/// One step of the service.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // the hot path's flags, read per call
pub struct StepState {
    pub name: String,
    /// The first pool the step holds (the one whose database `cores` slow it down).
    pub pool: Option<usize>,
    /// Every pool the step holds, in the order it acquires them.
    pub pools: Vec<usize>,
    /// Whether it holds more than one (the slower path that walks `pools`).
    multi_pool: bool,
    /// Whether a request must do more than take one pool (or none) to start it: the step
    /// holds several pools or only a share of requests take it.
    off_the_plain_path: bool,
    /// Whether its calls can be neither hit by partial effects nor cut off by a timeout.
    plain_calls: bool,
    /// Share of requests that run the step; below 1, drawn per request from `share_rng`.
    pub share: f64,
    share_rng: ChaCha8Rng,
    /// A call's time limit in nanoseconds (`u64::MAX`: none).
    pub timeout_nanos: u64,
    /// Effects that hit only a share of the calls, each drawn per call from `partial_rng`.
    pub partial: Vec<Partial>,
    partial_rng: ChaCha8Rng,
    sampler: Sampler,
    on_timeout: OnTimeout,
    time_rng: ChaCha8Rng,
    error_rng: ChaCha8Rng,
    /// The step's own error rate plus any effect's.
    pub error_rate: f64,
    pub time_factor: f64,
    /// Probability the step's output makes the answer wrong (own rate plus effects').
    pub wrong_rate: f64,
    /// Tokens per call, and the effects' multiplier on them (and on the step's time).
    pub tokens: f64,
    pub token_factor: f64,
    fallback: Option<FallbackState>,
    /// Whether the step runs on its fallback.
    pub on_fallback: bool,
    /// Counted requests' calls over the run.
    pub totals: StepCounts,
}

/// What the partial effects that hit one call add up to.
#[derive(Debug, Clone, Copy)]
struct Hit {
    time: f64,
    error: f64,
    wrong: f64,
    tokens: f64,
    fallback: bool,
}

impl Hit {
    /// No partial effect.
    const NONE: Hit = Hit {
        time: 1.0,
        error: 0.0,
        wrong: 0.0,
        tokens: 1.0,
        fallback: false,
    };
}

impl StepState {
    /// The sampler of a call, on the fallback model or not.
    #[inline]
    fn sampler_for(&self, on_fallback: bool) -> Sampler {
        match (on_fallback, &self.fallback) {
            (true, Some(f)) => f.sampler,
            _ => self.sampler,
        }
    }

    /// The partial effects in `mask`, summed (multipliers multiplied).
    fn hit(&self, mask: u8) -> Hit {
        let mut hit = Hit::NONE;
        for (i, p) in self.partial.iter().enumerate().take(8) {
            if mask & (1 << i) == 0 {
                continue;
            }
            match p.knob {
                super::effects::PartialKnob::Time(f) => hit.time *= f,
                super::effects::PartialKnob::Error(r) => hit.error += r,
                super::effects::PartialKnob::Wrong(r) => hit.wrong += r,
                super::effects::PartialKnob::Tokens(f) => hit.tokens *= f,
                super::effects::PartialKnob::Fallback => hit.fallback = self.fallback.is_some(),
            }
        }
        hit
    }
}

#[derive(Debug, Clone, Copy)]
struct FallbackState {
    sampler: Sampler,
    wrong_rate: f64,
    tokens: f64,
}

/// A step as the engine is built with it.
#[derive(Debug, Clone)]
pub struct StepInit {
    pub name: String,
    /// The pools the step holds, in order.
    pub pools: Vec<usize>,
    /// Share of requests that run the step (1 = all).
    pub share: f64,
    /// A call's time limit, if any.
    pub timeout: Option<crate::drill::Duration>,
    pub sampler: Sampler,
    pub on_timeout: OnTimeout,
    pub error_rate: f64,
    pub wrong_rate: f64,
    pub tokens: f64,
    /// (time, wrong-answer rate, tokens) of the step's fallback.
    pub fallback: Option<(Sampler, f64, f64)>,
}

/// A pool as the engine is built with it.
#[derive(Debug, Clone)]
pub struct PoolInit {
    pub name: String,
    pub size: u32,
    pub acquire_timeout: crate::drill::Duration,
    pub cores: Option<u32>,
}

/// Client retries, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u8,
    pub backoff_nanos: f64,
    pub multiplier: f64,
    pub jitter: f64,
    pub budget: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Waiter {
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
    bucket_acquired: u64,
    bucket_timeouts: u64,
}

impl PoolState {
    fn has_free_connection(&self) -> bool {
        self.in_use + self.leaked < self.size
    }
}

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

/// Request-log settings and this bucket's budget.
#[derive(Debug)]
struct LogState {
    /// An info line is kept when the hash of its request id is below this.
    info_threshold: u64,
    /// Warnings and errors are kept by the same test, with thresholds set from the previous
    /// bucket's counts so that the kept lines spread over the bucket instead of bunching at
    /// its start.
    thresholds: [u64; 3],
    /// Lines of each level offered in the current bucket.
    offered: [u32; 3],
    limit: u32,
    used: [u32; 3],
    lines: Vec<LogLine>,
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
    /// Retries waiting out their backoff, by the index their agenda entry carries.
    retries_pending: Vec<(u64, u8)>,
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
}

fn fraction_threshold(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * 18_446_744_073_709_551_615.0) as u64
}

impl Core {
    #[must_use]
    pub fn new(spec: CoreSpec) -> Self {
        let seed = spec.seed;
        let steps: Vec<StepState> = spec
            .steps
            .into_iter()
            .map(|s| StepState {
                time_rng: seed.stream(&format!("step/{}/time", s.name)),
                error_rng: seed.stream(&format!("step/{}/errors", s.name)),
                share_rng: seed.stream(&format!("step/{}/share", s.name)),
                partial_rng: seed.stream(&format!("step/{}/effect-share", s.name)),
                name: s.name,
                pool: s.pools.first().copied(),
                multi_pool: s.pools.len() > 1,
                off_the_plain_path: s.pools.len() > 1 || s.share < 1.0,
                plain_calls: s.timeout.is_none(),
                pools: s.pools,
                share: s.share,
                timeout_nanos: s.timeout.map_or(u64::MAX, |t| t.as_nanos().max(1)),
                partial: Vec::new(),
                sampler: s.sampler,
                on_timeout: s.on_timeout,
                error_rate: s.error_rate,
                time_factor: 1.0,
                wrong_rate: s.wrong_rate,
                tokens: s.tokens,
                token_factor: 1.0,
                fallback: s
                    .fallback
                    .map(|(sampler, wrong_rate, tokens)| FallbackState {
                        sampler,
                        wrong_rate,
                        tokens,
                    }),
                on_fallback: false,
                totals: StepCounts::default(),
            })
            .collect();
        let pools: Vec<PoolState> = spec
            .pools
            .into_iter()
            .map(|p| PoolState {
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
                sized: Gauge {
                    value: u64::from(p.size),
                    ..Gauge::default()
                },
                totals: PoolTotals::default(),
                bucket_acquired: 0,
                bucket_timeouts: 0,
            })
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
            log: LogState {
                info_threshold: fraction_threshold(spec.log_sample),
                thresholds: [u64::MAX; 3],
                offered: [0; 3],
                limit: spec.log_limit,
                used: [0; 3],
                lines: Vec::new(),
            },
            baseline,
            effects: Vec::new(),
        };
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
                Kind::Retry(i) => {
                    let (id, attempt) = self.retries_pending[i as usize];
                    self.retries_free.push(i);
                    self.admit(id, attempt);
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
            gauge.warm_mark = gauge.area(now);
        }
    }

    /// Throws away the pending arrival and plans a new one from now (after the rate changed;
    /// valid for Poisson arrivals because they are memoryless).
    pub fn replan_arrivals(&mut self) {
        self.next_arrival = Entry::NO_ARRIVAL;
        if let Some(c) = self.arrivals.plan(self.now, self.end) {
            self.schedule(c.at, Kind::Arrival);
        }
    }

    fn on_arrival(&mut self) {
        let now = self.now;
        if self.arrivals.accept(now) {
            let id = self.next_request_id;
            self.next_request_id += 1;
            if let Some(policy) = self.retry
                && let Some(budget) = policy.budget
            {
                self.retry_credit = (self.retry_credit + budget).min(10.0_f64.max(100.0 * budget));
            }
            self.admit(id, 1);
        }
        if let Some(c) = self.arrivals.plan(now, self.end) {
            self.schedule(c.at, Kind::Arrival);
        }
    }

    /// Attempt `attempt` of request `id` arrives: admission, then its first step.
    fn admit(&mut self, id: u64, attempt: u8) {
        let now = self.now;
        let counted = now >= self.warmup;
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
        );
        self.maybe_retry(id, attempt);
    }

    /// Starts the request's current step, skipping to completion when no step is left.
    /// A step that only a share of requests take is passed over by the others.
    fn advance(&mut self, slot: u32, generation: u32) {
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
        let s = &self.steps[step];
        let now = self.now;
        request.step_started = now;
        match s.pool {
            None => self.start_running(slot, generation, step),
            Some(p) => {
                let pool = &mut self.pools[p];
                if pool.waiting.value == 0 && pool.has_free_connection() {
                    Self::take_connection(pool, now, request.counted, SimTime::ZERO);
                    self.start_running(slot, generation, step);
                } else {
                    self.wait_for(p, slot, generation);
                }
            }
        }
    }

    /// Passes over the steps from `step` on that this request does not take (each drawn with
    /// its share); returns the first it takes, or `None` when none is left.
    #[cold]
    #[inline(never)]
    fn pass_over(steps: &mut [StepState], request: &mut Request, mut step: usize) -> Option<usize> {
        loop {
            let s = steps.get_mut(step)?;
            if s.share >= 1.0 || s.share_rng.random::<f64>() < s.share {
                return Some(step);
            }
            step += 1;
            request.step = step as u16;
        }
    }

    /// Queues the request for a connection of pool `p`, arming the pool's timer if it has none.
    #[inline]
    fn wait_for(&mut self, p: usize, slot: u32, generation: u32) {
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
    fn acquire(&mut self, slot: u32, generation: u32, step: usize) {
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
    fn take_connection(pool: &mut PoolState, now: SimTime, counted: bool, wait: SimTime) {
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

    fn start_running(&mut self, slot: u32, generation: u32, step: usize) {
        // With more queries running than the database has cores, each runs slower.
        let contention = match self.steps[step].pool.map(|p| &self.pools[p]) {
            Some(PoolState {
                cores: Some(cores),
                in_use,
                ..
            }) if *in_use > *cores => f64::from(*in_use) / f64::from((*cores).max(1)),
            _ => 1.0,
        };
        debug_assert_eq!(self.requests.slots[slot as usize].generation, generation);
        if self.steps[step].plain_calls {
            self.start_call::<false>(slot, step, contention);
        } else {
            self.start_marked_call(slot, step, contention);
        }
    }

    /// Starts a call of a step with partial effects or a timeout.
    #[cold]
    #[inline(never)]
    fn start_marked_call(&mut self, slot: u32, step: usize, contention: f64) {
        self.start_call::<true>(slot, step, contention);
    }

    /// Draws the call's running time and puts its end on the agenda. `MARKED`: the step has
    /// partial effects or a timeout, which the call may run into (see [`Request::call`]);
    /// without them neither is looked at (the hot path of every ordinary call).
    #[allow(clippy::inline_always)] // measured: see docs/performance.md, "How the engine got there"
    #[inline(always)]
    fn start_call<const MARKED: bool>(&mut self, slot: u32, step: usize, contention: f64) {
        let s = &self.steps[step];
        let (sampler, factor) = if MARKED && !s.partial.is_empty() {
            self.draw_partial_effects(slot, step)
        } else {
            (s.sampler_for(s.on_fallback), s.time_factor * s.token_factor)
        };
        let s = &mut self.steps[step];
        let factor = factor * contention;
        // Truncating `x + 0.5` rounds a non-negative draw to the nearest nanosecond.
        let mut nanos = (sampler.sample(&mut s.time_rng) * factor + 0.5) as u64;
        if MARKED && nanos > s.timeout_nanos {
            // The call is cut off at the timeout: its end event is the timeout.
            nanos = s.timeout_nanos;
            self.requests.running(slot).expect("running").call |= CALL_TIMED_OUT;
        }
        let done = SimTime::from_nanos(self.now.nanos().saturating_add(nanos));
        self.schedule(done, Kind::StepDone { slot });
    }

    /// Draws which of step `step`'s partial effects hit this call (each with its own share),
    /// marks the call with them, and returns the call's sampler and time factor.
    #[cold]
    #[inline(never)]
    fn draw_partial_effects(&mut self, slot: u32, step: usize) -> (Sampler, f64) {
        let s = &mut self.steps[step];
        let mut mask = 0u8;
        for (i, p) in s.partial.iter().enumerate().take(8) {
            if s.partial_rng.random::<f64>() < p.share {
                mask |= 1 << i;
            }
        }
        let hit = s.hit(mask);
        let factor = s.time_factor * s.token_factor * (hit.time * hit.tokens);
        self.requests.running(slot).expect("running").call = u16::from(mask);
        (s.sampler_for(s.on_fallback || hit.fallback), factor)
    }

    fn on_step_done(&mut self, slot: u32) {
        let Some(request) = self.requests.running(slot) else {
            debug_assert!(false, "a running request left its slot");
            return;
        };
        let (step, counted) = (request.step as usize, request.counted);
        let took = self.now.since(request.step_started);
        let call = std::mem::take(&mut request.call);
        // A running step holds every one of its pools.
        if let Some(p) = self.steps[step].pool {
            self.release(p);
            if self.steps[step].multi_pool {
                // (`held` counts for the step in hand only; a one-pool step never reads it.)
                self.requests.running(slot).expect("running").held = 0;
                for i in 1..self.steps[step].pools.len() {
                    let q = self.steps[step].pools[i];
                    self.release(q);
                }
            }
        }
        if call == 0 {
            self.finish_call::<false>(slot, step, counted, took, Hit::NONE);
        } else {
            self.finish_marked_call(slot, step, counted, took, call);
        }
    }

    /// A call that ran into its timeout or was hit by partial effects ends.
    #[cold]
    #[inline(never)]
    fn finish_marked_call(
        &mut self,
        slot: u32,
        step: usize,
        counted: bool,
        took: crate::drill::Duration,
        call: u16,
    ) {
        if call & CALL_TIMED_OUT != 0 {
            self.call_timed_out(slot, step, counted, took);
        } else {
            let hit = self.steps[step].hit(call as u8);
            self.finish_call::<true>(slot, step, counted, took, hit);
        }
    }

    /// A call ends in its own time: it errs, or its answer and tokens count and the request
    /// goes on. `HIT` says whether partial effects (`hit`) touched it; without them the
    /// sums of `hit` are not computed at all (the hot path of every ordinary call).
    #[allow(clippy::inline_always)] // measured: see docs/performance.md, "How the engine got there"
    #[inline(always)]
    fn finish_call<const HIT: bool>(
        &mut self,
        slot: u32,
        step: usize,
        counted: bool,
        took: crate::drill::Duration,
        hit: Hit,
    ) {
        let s = &mut self.steps[step];
        let error_rate = if HIT {
            (s.error_rate + hit.error).min(1.0)
        } else {
            s.error_rate
        };
        let error = error_rate > 0.0 && s.error_rng.random::<f64>() < error_rate;
        self.bucket.steps[step].record(error, took);
        if counted {
            s.totals.record(error, took);
        }
        if error {
            self.fail(slot, step, LogKind::StepError, None, None);
            return;
        }
        let on_fallback = s.on_fallback || (HIT && hit.fallback);
        let (mut wrong_rate, mut tokens) = match (on_fallback, s.fallback) {
            (true, Some(f)) => (f.wrong_rate, f.tokens),
            _ => (s.wrong_rate, s.tokens),
        };
        if HIT {
            wrong_rate = (wrong_rate + hit.wrong).min(1.0);
            tokens *= hit.tokens;
        }
        let tokens = tokens * s.token_factor;
        self.bucket.tokens += tokens;
        if counted {
            self.totals.tokens += tokens;
        }
        let last = step + 1 == self.steps.len();
        let request = self.requests.running(slot).expect("still running");
        request.right *= 1.0 - wrong_rate;
        request.step += 1;
        if last {
            self.complete(slot);
        } else {
            let generation = self.requests.slots[slot as usize].generation;
            self.advance(slot, generation);
        }
    }

    /// A call ran into its step's timeout: it ends now, and the request fails or goes on
    /// without the step, as the step's `on_timeout` says.
    fn call_timed_out(
        &mut self,
        slot: u32,
        step: usize,
        counted: bool,
        took: crate::drill::Duration,
    ) {
        let bucket = &mut self.bucket.steps[step];
        bucket.record(false, took);
        bucket.call_timeouts += 1;
        if counted {
            let totals = &mut self.steps[step].totals;
            totals.record(false, took);
            totals.call_timeouts += 1;
        }
        match self.steps[step].on_timeout {
            OnTimeout::Fail => {
                self.fail(slot, step, LogKind::CallTimeout, None, Some(took.into()));
            }
            OnTimeout::Degrade { wrong_answer_rate } => {
                let generation = self.requests.slots[slot as usize].generation;
                self.skip_step(slot, generation, step, wrong_answer_rate, None, took.into());
            }
        }
    }

    /// The request goes on without step `step` (a degraded answer).
    fn skip_step(
        &mut self,
        slot: u32,
        generation: u32,
        s: usize,
        wrong_answer_rate: f64,
        pool: Option<usize>,
        waited: SimTime,
    ) {
        let request = self
            .requests
            .get_mut(slot, generation)
            .expect("skipping for a live request");
        request.degraded = true;
        request.right *= 1.0 - wrong_answer_rate.clamp(0.0, 1.0);
        request.step += 1;
        let (id, arrived, counted) = (request.id, request.arrived, request.counted);
        self.bucket.steps[s].skipped += 1;
        if counted {
            self.steps[s].totals.skipped += 1;
        }
        let kind = if pool.is_some() {
            LogKind::Degraded
        } else {
            LogKind::CallTimeoutDegraded
        };
        self.log_request(Level::Warn, id, kind, Some(s), pool, arrived, waited);
        self.advance(slot, generation);
    }

    /// A connection comes back to pool `p` (or leaks), and waiting requests are served.
    #[inline]
    fn release(&mut self, p: usize) {
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
    fn on_pool_timer(&mut self, p: usize, timer: u32) {
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

    fn complete(&mut self, slot: u32) {
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
                request.id,
                LogKind::Completed,
                None,
                None,
                request.arrived,
                request.waited,
            );
        }
    }

    /// The request fails at `step`; `waited` is the wait its log line tells (the request's
    /// total connection wait when none is given).
    fn fail(
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
            request.id,
            kind,
            Some(step),
            pool,
            request.arrived,
            waited.unwrap_or(request.waited),
        );
        self.maybe_retry(request.id, request.attempt);
    }

    /// A client whose request failed or was rejected tries again after its backoff, while it
    /// has attempts left and the retry budget allows.
    fn maybe_retry(&mut self, id: u64, attempt: u8) {
        let Some(policy) = self.retry else { return };
        if attempt >= policy.max_attempts {
            return;
        }
        if policy.budget.is_some() {
            if self.retry_credit < 1.0 {
                return;
            }
            self.retry_credit -= 1.0;
        }
        let wait = policy.backoff_nanos * policy.multiplier.powi(i32::from(attempt) - 1);
        let wait = wait * (1.0 - policy.jitter * self.retry_rng.random::<f64>());
        let at = SimTime::from_nanos(
            self.now
                .nanos()
                .saturating_add(wait as u64)
                .max(self.now.nanos() + 1),
        );
        if at < self.end {
            let retry = (id, attempt + 1);
            let i = if let Some(i) = self.retries_free.pop() {
                self.retries_pending[i as usize] = retry;
                i
            } else {
                self.retries_pending.push(retry);
                (self.retries_pending.len() - 1) as u32
            };
            self.schedule(at, Kind::Retry(i));
        }
    }

    /// A request is no longer in flight.
    fn leave(&mut self) {
        let value = self.in_flight.value - 1;
        self.in_flight.set(value, self.now);
    }

    #[allow(clippy::too_many_arguments)]
    fn log_request(
        &mut self,
        level: Level,
        id: u64,
        kind: LogKind,
        step: Option<usize>,
        pool: Option<usize>,
        arrived: SimTime,
        waited: SimTime,
    ) {
        let latency = self.now.since(arrived);
        self.log_line(
            level,
            id,
            kind,
            step.map(|s| (s, pool)),
            latency.into(),
            waited,
        );
    }

    fn log_line(
        &mut self,
        level: Level,
        id: u64,
        kind: LogKind,
        at: Option<(usize, Option<usize>)>,
        latency: SimTime,
        waited: SimTime,
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
        });
    }

    /// Moves the request-log lines written since the last call out.
    pub fn take_log(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.log.lines)
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
        self.log.used = [0; 3];
        let limit = f64::from(self.log.limit);
        for (threshold, offered) in self.log.thresholds.iter_mut().zip(self.log.offered) {
            // Keep about `limit` of as many lines as the last bucket offered.
            let p = if f64::from(offered) > limit {
                limit / f64::from(offered)
            } else {
                1.0
            };
            *threshold = if p >= 1.0 {
                u64::MAX
            } else {
                (p * 18_446_744_073_709_551_615.0) as u64
            };
        }
        self.log.offered = [0; 3];
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
        self.note_action_limits(params);
        for (s, step) in self.steps.iter_mut().enumerate() {
            step.time_factor = params.step_time[s];
            step.error_rate = params.step_error[s];
            step.wrong_rate = params.step_wrong[s];
            step.token_factor = params.step_tokens[s];
            step.on_fallback = params.fallback[s] && step.fallback.is_some();
            step.timeout_nanos = params.step_timeout[s];
            step.partial.clone_from(&params.step_partial[s]);
            step.share = params.step_share[s];
            step.off_the_plain_path = step.multi_pool || step.share < 1.0;
            step.plain_calls = step.partial.is_empty() && step.timeout_nanos == u64::MAX;
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

    /// A pool restart: leaked connections come back (the caller applies any dip in capacity).
    pub fn restart_pool(&mut self, p: usize) {
        let now = self.now;
        let pool = &mut self.pools[p];
        pool.leaked = 0;
        let busy = u64::from(pool.in_use);
        pool.busy.set(busy, now);
        self.serve_waiters(p);
    }

    /// Recomputes parameters from the baseline and the effects in force, and applies them.
    pub fn refresh_effects(&mut self) {
        let params = self.baseline.with_effects(&self.effects, self.now);
        self.apply_params(&params);
    }
}
