//! The service's steps and their calls: each step's state (sampler, error and wrong-answer
//! rates, tokens, fallback, timeout, the partial effects that hit a share of its calls, its
//! random streams), passing over a step a request does not take, starting a call, drawing its
//! time, and ending it (an error, a timeout, or on to the next step).
//!
//! Which pools a call holds is [`super::pools`]; where the request goes next is
//! [`super::requests`].

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use super::Core;
use super::dependency::StepRetryPolicy;
use super::events::Kind;
use super::pools::PoolState;
use super::requests::{CALL_GUARDED, CALL_TIMED_OUT, Request};
use crate::drill::spec::OnTimeout;
use crate::sim::SimTime;
use crate::sim::effects::{Params, Partial, PartialKnob};
use crate::sim::rng::Seed;
use crate::sim::sampler::Sampler;
use crate::sim::traffic::TokenBucket;
use crate::telemetry::histogram::SlotCounts;
use crate::telemetry::log::{Level, LogKind};
use crate::telemetry::series::StepCounts;

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
    pub(super) multi_pool: bool,
    /// Whether a request must do more than take one pool (or none) to start it: the step
    /// holds several pools or only a share of requests take it.
    pub(super) off_the_plain_path: bool,
    /// Whether its calls can be neither hit by partial effects nor cut off by a timeout, and
    /// meet neither a rate limit nor retries.
    plain_calls: bool,
    /// Whether its calls meet a rate limit or retries ([`super::dependency`]).
    pub(super) guarded: bool,
    /// The dependency's rate limit, if it has one.
    pub(super) limit: Option<TokenBucket>,
    /// How long a refused call takes to come back, in nanoseconds.
    pub(super) refusal_nanos: u64,
    /// The client's retries of a failed call, if any.
    pub(super) retries: Option<StepRetryPolicy>,
    /// Retry budget credit (with a budget).
    pub(super) retry_credit: f64,
    /// Backoff jitter, drawn only by steps that retry.
    pub(super) retry_rng: ChaCha8Rng,
    /// Share of requests that run the step; below 1, drawn per request from `share_rng`.
    pub share: f64,
    share_rng: ChaCha8Rng,
    /// A call's time limit in nanoseconds (`u64::MAX`: none).
    pub timeout_nanos: u64,
    /// Effects that hit only a share of the calls, each drawn per call from `partial_rng`.
    pub partial: Vec<Partial>,
    partial_rng: ChaCha8Rng,
    sampler: Sampler,
    pub(super) on_timeout: OnTimeout,
    time_rng: ChaCha8Rng,
    pub(super) error_rng: ChaCha8Rng,
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
    /// How long counted requests' finished calls ran (connection waits not included).
    pub times: SlotCounts,
}

/// What the partial effects that hit one call add up to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hit {
    time: f64,
    pub(super) error: f64,
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
    /// A step as the drill describes it, with its random streams drawn from `seed`.
    pub(super) fn new(s: StepInit, seed: Seed) -> StepState {
        let guarded = s.rate_limit.is_some() || s.retries.is_some();
        StepState {
            retry_rng: seed.stream(&format!("step/{}/retries", s.name)),
            guarded,
            limit: s
                .rate_limit
                .map(|(rps, burst)| TokenBucket::with_burst(rps, burst, SimTime::ZERO)),
            retries: s.retries,
            refusal_nanos: s.refusal_time.as_nanos(),
            retry_credit: 10.0,
            time_rng: seed.stream(&format!("step/{}/time", s.name)),
            error_rng: seed.stream(&format!("step/{}/errors", s.name)),
            share_rng: seed.stream(&format!("step/{}/share", s.name)),
            partial_rng: seed.stream(&format!("step/{}/effect-share", s.name)),
            name: s.name,
            pool: s.pools.first().copied(),
            multi_pool: s.pools.len() > 1,
            off_the_plain_path: s.pools.len() > 1 || s.share < 1.0,
            plain_calls: s.timeout.is_none() && !guarded,
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
            times: SlotCounts::default(),
        }
    }

    /// Takes the step's parameters (index `s`) as the effects in force leave them.
    pub(super) fn apply_params(&mut self, params: &Params, s: usize, now: SimTime) {
        self.time_factor = params.step_time[s];
        self.error_rate = params.step_error[s];
        self.wrong_rate = params.step_wrong[s];
        self.token_factor = params.step_tokens[s];
        self.on_fallback = params.fallback[s] && self.fallback.is_some();
        self.timeout_nanos = params.step_timeout[s];
        self.partial.clone_from(&params.step_partial[s]);
        self.share = params.step_share[s];
        self.off_the_plain_path = self.multi_pool || self.share < 1.0;
        match (params.step_rate_limit[s], &mut self.limit) {
            (None, limit) => *limit = None,
            (Some((rps, burst)), Some(bucket)) => {
                if bucket.limits() != (rps, burst.max(1.0)) {
                    bucket.set(rps, burst, now);
                }
            }
            (Some((rps, burst)), limit) => *limit = Some(TokenBucket::with_burst(rps, burst, now)),
        }
        self.retries = params.step_retries[s];
        self.guarded = self.limit.is_some() || self.retries.is_some();
        self.plain_calls =
            self.partial.is_empty() && self.timeout_nanos == u64::MAX && !self.guarded;
    }

    /// The sampler of a call, on the fallback model or not.
    #[inline]
    fn sampler_for(&self, on_fallback: bool) -> Sampler {
        match (on_fallback, &self.fallback) {
            (true, Some(f)) => f.sampler,
            _ => self.sampler,
        }
    }

    /// The partial effects in `mask`, summed (multipliers multiplied).
    pub(super) fn hit(&self, mask: u8) -> Hit {
        let mut hit = Hit::NONE;
        for (i, p) in self.partial.iter().enumerate().take(8) {
            if mask & (1 << i) == 0 {
                continue;
            }
            match p.knob {
                PartialKnob::Time(f) => hit.time *= f,
                PartialKnob::Error(r) => hit.error += r,
                PartialKnob::Wrong(r) => hit.wrong += r,
                PartialKnob::Tokens(f) => hit.tokens *= f,
                PartialKnob::Fallback => hit.fallback = self.fallback.is_some(),
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
    /// The dependency's rate limit: calls per second and burst.
    pub rate_limit: Option<(f64, f64)>,
    /// How long a refused call takes to come back.
    pub refusal_time: crate::drill::Duration,
    /// The client's retries of a failed call.
    pub retries: Option<StepRetryPolicy>,
}

impl Core {
    /// Passes over the steps from `step` on that this request does not take (each drawn with
    /// its share); returns the first it takes, or `None` when none is left.
    #[cold]
    #[inline(never)]
    pub(super) fn pass_over(
        steps: &mut [StepState],
        request: &mut Request,
        mut step: usize,
    ) -> Option<usize> {
        loop {
            let s = steps.get_mut(step)?;
            if s.share >= 1.0 || s.share_rng.random::<f64>() < s.share {
                return Some(step);
            }
            step += 1;
            request.step = step as u16;
        }
    }

    pub(super) fn start_running(&mut self, slot: u32, generation: u32, step: usize) {
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
        if MARKED && self.steps[step].guarded && self.refused(slot, step) {
            return;
        }
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
        let faults = s
            .partial
            .iter()
            .enumerate()
            .filter(|&(i, _)| mask & (1 << i) != 0)
            .filter_map(|(_, p)| p.fault.filter(|f| *f < 32))
            .fold(0u32, |bits, f| bits | 1 << f);
        let request = self.requests.running(slot).expect("running");
        request.call |= u16::from(mask);
        request.hit_faults |= faults;
        (s.sampler_for(s.on_fallback || hit.fallback), factor)
    }

    pub(super) fn on_step_done(&mut self, slot: u32) {
        let Some(request) = self.requests.running(slot) else {
            debug_assert!(false, "a running request left its slot");
            return;
        };
        let (step, counted) = (request.step as usize, request.counted);
        let took = self.now.since(request.step_started);
        let call = std::mem::take(&mut request.call);
        if call == 0 {
            self.release_step_pools(slot, step);
            self.finish_call::<false>(slot, step, counted, took, Hit::NONE);
        } else if call & CALL_GUARDED != 0 {
            self.end_guarded_call(slot, step, counted, took, call);
        } else {
            self.release_step_pools(slot, step);
            self.finish_marked_call(slot, step, counted, took, call);
        }
    }

    /// A running step holds every one of its pools: its call ends, and it gives them back.
    #[allow(clippy::inline_always)] // the hot path of every call's end
    #[inline(always)]
    pub(super) fn release_step_pools(&mut self, slot: u32, step: usize) {
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
        if self.count_call::<HIT>(step, counted, took, hit) {
            self.fail(slot, step, LogKind::StepError, None, None);
            return;
        }
        self.call_succeeded::<HIT>(slot, step, counted, hit);
    }

    /// A call that ran its course is counted, and draws whether it erred (its step's error
    /// rate, plus the partial effects' that hit it when `HIT`); returns whether it did.
    #[allow(clippy::inline_always)] // the hot path of every call's end
    #[inline(always)]
    pub(super) fn count_call<const HIT: bool>(
        &mut self,
        step: usize,
        counted: bool,
        took: crate::drill::Duration,
        hit: Hit,
    ) -> bool {
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
            s.times.record(took.as_nanos());
        }
        error
    }

    /// A call ended without an error: its answer and tokens count and the request goes on.
    #[allow(clippy::inline_always)] // the hot path of every call's end
    #[inline(always)]
    pub(super) fn call_succeeded<const HIT: bool>(
        &mut self,
        slot: u32,
        step: usize,
        counted: bool,
        hit: Hit,
    ) {
        let s = &self.steps[step];
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
        self.count_timed_out_call(step, counted, took);
        self.after_call_timeout(slot, step, took);
    }

    /// A call cut off at its step's timeout is counted (a call that took `took`, and a
    /// timeout).
    pub(super) fn count_timed_out_call(
        &mut self,
        step: usize,
        counted: bool,
        took: crate::drill::Duration,
    ) {
        let bucket = &mut self.bucket.steps[step];
        bucket.record(false, took);
        bucket.call_timeouts += 1;
        if counted {
            let s = &mut self.steps[step];
            s.totals.record(false, took);
            s.totals.call_timeouts += 1;
            s.times.record(took.as_nanos());
        }
    }

    /// The request whose call ran into the step's timeout fails or goes on without the step.
    pub(super) fn after_call_timeout(
        &mut self,
        slot: u32,
        step: usize,
        took: crate::drill::Duration,
    ) {
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
    pub(super) fn skip_step(
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
        request.tries = 0;
        request.right *= 1.0 - wrong_answer_rate.clamp(0.0, 1.0);
        request.step += 1;
        let request = request.clone();
        let counted = request.counted;
        self.bucket.steps[s].skipped += 1;
        if counted {
            self.steps[s].totals.skipped += 1;
        }
        let kind = if pool.is_some() {
            LogKind::Degraded
        } else {
            LogKind::CallTimeoutDegraded
        };
        self.log_request(Level::Warn, &request, kind, Some(s), pool, waited);
        self.advance(slot, generation);
    }
}
