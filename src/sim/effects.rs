//! Effects: the one mechanism by which faults (from the script) and actions (from the team)
//! change the system. An effect names a knob and a value; [`Params`] is what every knob reads
//! once all active effects are applied, in the order they began, over the drill's baseline.
//!
//! This module computes parameters; it does not apply them to the running system (the
//! engine does, in [`super::core::Core::apply_params`]). Whatever value reaches a knob (a
//! team's param the session let through), it is held within `check`'s limits
//! ([`crate::drill::validate::limits`]), so no parameter makes the engine run or allocate
//! without bound.

use super::SimTime;
use super::core::{AutoscaleConfig, RetryPolicy, StepRetryPolicy};
use crate::drill::Duration;
use crate::drill::validate::limits::{
    MAX_IN_FLIGHT, MAX_MULTIPLIER as MAX_FACTOR, MAX_POOL_SIZE, MAX_RPS,
};

/// An effect with its names resolved to indices and its values to numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Knob {
    TrafficMultiplier(f64),
    AdmissionLimit(f64),
    MaxInFlight(f64),
    PoolSize {
        pool: usize,
        size: f64,
    },
    /// Step knobs carry the share of calls they hit (1 = every call).
    StepTimeMultiplier {
        step: usize,
        factor: f64,
        share: f64,
    },
    StepErrorRate {
        step: usize,
        rate: f64,
        share: f64,
    },
    ConnectionLeak {
        pool: usize,
        fraction: f64,
    },
    WrongAnswerRate {
        step: usize,
        rate: f64,
        share: f64,
    },
    TokenMultiplier {
        step: usize,
        factor: f64,
        share: f64,
    },
    UseFallback {
        step: usize,
        share: f64,
    },
    /// A call's time limit in nanoseconds.
    StepTimeout {
        step: usize,
        nanos: u64,
    },
    /// The share of requests that take the step.
    StepShare {
        step: usize,
        share: f64,
    },
    /// Turns pool `pool`'s autoscaler on (no parameter: the engine keeps its state).
    Autoscale {
        pool: usize,
        config: AutoscaleConfig,
    },
    /// A step's dependency rate limit: calls per second and burst (one second's worth when
    /// none).
    StepRateLimit {
        step: usize,
        rps: f64,
        burst: Option<f64>,
    },
    /// Changes a step's retries, or the service's client retries (`step` none).
    SetRetries {
        step: Option<usize>,
        patch: RetryPatch,
    },
}

/// What `SetRetries` changes: each field given replaces the current value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetryPatch {
    pub max_attempts: Option<u8>,
    pub backoff_nanos: Option<f64>,
    pub multiplier: Option<f64>,
    pub jitter: Option<f64>,
    pub budget: Option<f64>,
}

impl RetryPatch {
    /// `policy` with the given fields replaced.
    #[must_use]
    pub fn over(self, policy: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(policy.max_attempts),
            backoff_nanos: self.backoff_nanos.unwrap_or(policy.backoff_nanos),
            multiplier: self.multiplier.unwrap_or(policy.multiplier),
            jitter: self.jitter.unwrap_or(policy.jitter),
            budget: self.budget.or(policy.budget),
            retry_rejected: policy.retry_rejected,
        }
    }
}

/// An effect on a share of a step's calls: each call is hit with probability `share`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partial {
    pub share: f64,
    pub knob: PartialKnob,
    /// The fault whose effect it is (none for an action's): the calls it hits carry it to
    /// their log lines, so the fault's `log` is written on those and no others.
    pub fault: Option<usize>,
}

/// What a partial effect does to a call it hits (at the effect's current strength).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PartialKnob {
    /// Multiplies the call's time.
    Time(f64),
    /// Adds to the call's error probability.
    Error(f64),
    /// Adds to the probability the call makes the answer wrong.
    Wrong(f64),
    /// Multiplies the call's tokens (and its time).
    Tokens(f64),
    /// The call runs on the step's fallback.
    Fallback,
}

/// What applying an effect does: set a knob while the effect lasts, or act once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    Set(Knob),
    /// End fault `0` now (a rollback).
    EndFault(usize),
    /// End the lasting effects of action `0` now.
    EndAction(usize),
    /// Bring a pool's leaked connections back, after `dip` with no connections.
    RestartPool {
        pool: usize,
        dip: Duration,
    },
}

/// Where an effect came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Fault(usize),
    Action(usize),
}

/// An effect in force: it reaches full strength `ramp` after `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveEffect {
    pub knob: Knob,
    pub start: SimTime,
    pub ramp: Duration,
    /// When the effect stops by itself, if it does.
    pub until: Option<SimTime>,
    pub source: Source,
}

impl ActiveEffect {
    /// Strength in [0, 1] at `now`: linear over the ramp.
    #[must_use]
    pub fn strength(&self, now: SimTime) -> f64 {
        if self.ramp.is_zero() {
            return 1.0;
        }
        (now.since(self.start).as_secs_f64() / self.ramp.as_secs_f64()).clamp(0.0, 1.0)
    }

    #[must_use]
    pub fn ramping(&self, now: SimTime) -> bool {
        self.strength(now) < 1.0
    }
}

/// Every knob's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub traffic_multiplier: f64,
    pub admission_limit: Option<f64>,
    pub max_in_flight: Option<u32>,
    pub pool_size: Vec<u32>,
    pub step_time: Vec<f64>,
    pub step_error: Vec<f64>,
    pub leak: Vec<f64>,
    pub step_wrong: Vec<f64>,
    pub step_tokens: Vec<f64>,
    pub fallback: Vec<bool>,
    /// Each step's call time limit in nanoseconds (`u64::MAX`: none).
    pub step_timeout: Vec<u64>,
    /// Each step's effects on a share of its calls, in the order they began.
    pub step_partial: Vec<Vec<Partial>>,
    /// Each step's share of requests (`Step::share`).
    pub step_share: Vec<f64>,
    /// Each step's dependency rate limit: calls per second and burst.
    pub step_rate_limit: Vec<Option<(f64, f64)>>,
    /// Each step's retries of its failed calls.
    pub step_retries: Vec<Option<StepRetryPolicy>>,
    /// The service's client retries.
    pub retry: Option<RetryPolicy>,
}

impl Params {
    /// The baseline with every effect in `active` applied at `now`, in order.
    #[must_use]
    pub fn with_effects(&self, active: &[ActiveEffect], now: SimTime) -> Params {
        let mut p = self.clone();
        for effect in active {
            let x = effect.strength(now);
            let toward = |from: f64, to: f64| from + (to - from) * x;
            match effect.knob {
                Knob::TrafficMultiplier(m) => {
                    p.traffic_multiplier *= toward(1.0, m.min(MAX_FACTOR));
                }
                Knob::AdmissionLimit(rps) => {
                    let rps = rps.max(0.0);
                    p.admission_limit = Some(p.admission_limit.map_or(rps, |l| l.min(rps)));
                }
                Knob::MaxInFlight(limit) => {
                    p.max_in_flight = Some(limit.clamp(0.0, MAX_IN_FLIGHT).round() as u32);
                }
                Knob::PoolSize { pool, size } => {
                    let from = f64::from(p.pool_size[pool]);
                    p.pool_size[pool] = toward(from, size.clamp(0.0, MAX_POOL_SIZE)).round() as u32;
                }
                Knob::StepTimeMultiplier {
                    step,
                    factor,
                    share,
                } => {
                    let factor = toward(1.0, factor.clamp(0.0, MAX_FACTOR));
                    p.on_calls(step, share, PartialKnob::Time(factor), effect.source);
                }
                Knob::StepErrorRate { step, rate, share } => {
                    p.on_calls(step, share, PartialKnob::Error(rate * x), effect.source);
                }
                Knob::ConnectionLeak { pool, fraction } => {
                    p.leak[pool] = (p.leak[pool] + fraction * x).clamp(0.0, 1.0);
                }
                Knob::WrongAnswerRate { step, rate, share } => {
                    p.on_calls(step, share, PartialKnob::Wrong(rate * x), effect.source);
                }
                Knob::TokenMultiplier {
                    step,
                    factor,
                    share,
                } => {
                    let factor = toward(1.0, factor.clamp(0.0, MAX_FACTOR));
                    p.on_calls(step, share, PartialKnob::Tokens(factor), effect.source);
                }
                Knob::UseFallback { step, share } => {
                    p.on_calls(step, share, PartialKnob::Fallback, effect.source);
                }
                Knob::StepTimeout { step, nanos } => p.step_timeout[step] = nanos.max(1),
                Knob::StepShare { step, share } => {
                    p.step_share[step] = toward(p.step_share[step], share.clamp(0.0, 1.0));
                }
                Knob::Autoscale { .. } => {}
                Knob::StepRateLimit { step, rps, burst } => {
                    let rps = rps.clamp(0.0, MAX_RPS);
                    let from = p.step_rate_limit[step].map_or(rps, |(r, _)| r);
                    let rate = toward(from, rps);
                    let burst = burst.map_or(rate.max(1.0), |b| b.clamp(1.0, MAX_RPS));
                    p.step_rate_limit[step] = Some((rate, burst));
                }
                Knob::SetRetries { step: None, patch } => {
                    p.retry = Some(patch.over(p.retry.unwrap_or(RetryPolicy::NONE)));
                }
                Knob::SetRetries {
                    step: Some(step),
                    patch,
                } => {
                    let current = p.step_retries[step].unwrap_or(StepRetryPolicy::NONE);
                    p.step_retries[step] = Some(StepRetryPolicy {
                        policy: patch.over(current.policy),
                        ..current
                    });
                }
            }
        }
        p
    }

    /// Applies `knob` to `share` of `step`'s calls: to the step itself when it hits every call,
    /// otherwise as a partial effect drawn per call.
    fn on_calls(&mut self, step: usize, share: f64, knob: PartialKnob, source: Source) {
        if share < 1.0 {
            let fault = match source {
                Source::Fault(f) => Some(f),
                Source::Action(_) => None,
            };
            self.partial(step, share, knob, fault);
            return;
        }
        match knob {
            PartialKnob::Time(factor) => self.step_time[step] *= factor,
            PartialKnob::Error(rate) => {
                self.step_error[step] = (self.step_error[step] + rate).clamp(0.0, 1.0);
            }
            PartialKnob::Wrong(rate) => {
                self.step_wrong[step] = (self.step_wrong[step] + rate).clamp(0.0, 1.0);
            }
            PartialKnob::Tokens(factor) => self.step_tokens[step] *= factor,
            PartialKnob::Fallback => self.fallback[step] = true,
        }
    }

    /// Adds an effect on `share` of `step`'s calls (the first 8 of a step count).
    fn partial(&mut self, step: usize, share: f64, knob: PartialKnob, fault: Option<usize>) {
        let partial = &mut self.step_partial[step];
        if partial.len() < 8 {
            partial.push(Partial {
                share: share.clamp(0.0, 1.0),
                knob,
                fault,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> Params {
        Params {
            traffic_multiplier: 1.0,
            admission_limit: None,
            max_in_flight: None,
            pool_size: vec![20],
            step_time: vec![1.0],
            step_error: vec![0.0],
            leak: vec![0.0],
            step_wrong: vec![0.0],
            step_tokens: vec![1.0],
            fallback: vec![false],
            step_timeout: vec![u64::MAX],
            step_partial: vec![Vec::new()],
            step_share: vec![1.0],
            step_rate_limit: vec![None],
            step_retries: vec![None],
            retry: None,
        }
    }

    fn effect(knob: Knob, start: u64, ramp: u64) -> ActiveEffect {
        ActiveEffect {
            knob,
            start: SimTime::from_nanos(start * 1_000_000_000),
            ramp: Duration::from_secs(ramp),
            until: None,
            source: Source::Fault(0),
        }
    }

    #[test]
    fn ramps_are_linear_and_effects_compose_in_order() {
        let at = |s: u64| SimTime::from_nanos(s * 1_000_000_000);
        let surge = effect(Knob::TrafficMultiplier(3.0), 100, 300);
        let p = baseline().with_effects(std::slice::from_ref(&surge), at(250));
        assert!((p.traffic_multiplier - 2.0).abs() < 1e-12);
        let resize = effect(
            Knob::PoolSize {
                pool: 0,
                size: 40.0,
            },
            0,
            0,
        );
        let shrink = effect(
            Knob::PoolSize {
                pool: 0,
                size: 10.0,
            },
            10,
            0,
        );
        let p = baseline().with_effects(&[resize.clone(), shrink.clone()], at(20));
        assert_eq!(p.pool_size, vec![10]);
        let p = baseline().with_effects(&[shrink, resize], at(20));
        assert_eq!(p.pool_size, vec![40]);
        let a = effect(Knob::AdmissionLimit(150.0), 0, 0);
        let b = effect(Knob::AdmissionLimit(90.0), 0, 0);
        assert_eq!(
            baseline().with_effects(&[a, b], at(1)).admission_limit,
            Some(90.0)
        );
    }

    #[test]
    fn absurd_knob_values_are_held_within_the_drill_limits() {
        let at = SimTime::from_nanos(1_000_000_000);
        let p = baseline().with_effects(
            &[
                effect(Knob::TrafficMultiplier(1e308), 0, 0),
                effect(
                    Knob::StepTimeMultiplier {
                        step: 0,
                        factor: f64::INFINITY,
                        share: 1.0,
                    },
                    0,
                    0,
                ),
                effect(
                    Knob::TokenMultiplier {
                        step: 0,
                        factor: 1e300,
                        share: 1.0,
                    },
                    0,
                    0,
                ),
                effect(Knob::MaxInFlight(1e300), 0, 0),
                effect(
                    Knob::PoolSize {
                        pool: 0,
                        size: 1e300,
                    },
                    0,
                    0,
                ),
            ],
            at,
        );
        assert_eq!(p.traffic_multiplier, MAX_FACTOR);
        assert_eq!(p.step_time, [MAX_FACTOR]);
        assert_eq!(p.step_tokens, [MAX_FACTOR]);
        assert_eq!(p.max_in_flight, Some(MAX_IN_FLIGHT as u32));
        assert_eq!(p.pool_size, [MAX_POOL_SIZE as u32]);
    }
}
