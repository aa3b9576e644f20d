//! Faults and team actions, one mechanism: each is a list of changes to the running system
//! (a knob set, a fault or an action ended, a pool restarted). Fault rules are entities of the
//! world; actions are defined by the drill and ordered by the team, landing after their
//! delay. This file resolves effects against the drill's names and applies the changes to the
//! [`Core`]; how the knobs combine into parameters is [`crate::sim::effects`].

use bevy_ecs::prelude::*;

use super::Sim;
use super::news::News;
use super::truth::Truth;
use crate::drill::Duration;
use crate::drill::spec::{Effect, Value};
use crate::drill::spec::{
    default_autoscale_down_window, default_autoscale_every, default_autoscale_tolerance,
};
use crate::drill::validate::limits::MAX_POOL_SIZE;
use crate::sim::SimTime;
use crate::sim::core::AutoscaleConfig;
use crate::sim::core::{Core, Kind};
use crate::sim::effects::{ActiveEffect, Change, Knob, RetryPatch, Source};

/// A fault from the script.
#[derive(Component, Debug, Clone)]
pub struct FaultRule {
    pub index: usize,
    pub name: String,
    pub at: SimTime,
    pub ramp: Duration,
    pub lasts: Option<Duration>,
    /// Its effects, resolved (an effect that does not resolve is left out).
    pub changes: Vec<Change>,
}

#[derive(Component, Debug, Clone, Default)]
pub struct FaultState {
    pub started: Option<SimTime>,
    pub ended: Option<SimTime>,
}

/// A team action's definition, resolved against the drill (effects resolve when ordered).
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub name: String,
    pub params: Vec<String>,
    pub delay: Duration,
    pub effects: Vec<Effect>,
}

/// Team actions: their definitions and the orders waiting to land.
#[derive(Resource, Debug, Default)]
pub struct Actions {
    pub defs: Vec<ActionDef>,
    pending: Vec<(usize, Vec<Change>)>,
}

impl Actions {
    /// The drill's actions, none ordered yet.
    #[must_use]
    pub fn new(defs: Vec<ActionDef>) -> Actions {
        Actions {
            defs,
            pending: Vec::new(),
        }
    }
}

/// Why a team action could not be ordered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    #[error("no action named `{0}`")]
    Unknown(String),
    #[error("`{action}` needs {param}=N")]
    MissingParam { action: String, param: String },
    #[error("`{action}` takes no parameter `{param}` (it takes: {takes})")]
    UnknownParam {
        action: String,
        param: String,
        takes: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Sim {
    /// Fault `index`'s rule and state, in the world.
    fn fault(&mut self, index: usize) -> Option<(FaultRule, Mut<'_, FaultState>)> {
        let entity = self
            .world
            .query::<(Entity, &FaultRule)>()
            .iter(&self.world)
            .find(|(_, f)| f.index == index)
            .map(|(e, _)| e)?;
        let rule = self.world.get::<FaultRule>(entity)?.clone();
        Some((rule, self.world.get_mut::<FaultState>(entity)?))
    }

    pub(super) fn start_fault(&mut self, index: usize, time: SimTime) {
        let Some((rule, mut state)) = self.fault(index) else {
            return;
        };
        state.started = Some(time);
        self.world.resource_mut::<Truth>().fault_started[index] = Some(time);
        self.apply_changes(&rule.changes, &Source::Fault(index), rule.ramp, time);
        self.news.push(News::FaultStarted {
            at: time,
            fault: rule.name,
        });
    }

    /// Ends fault `index` (by itself, or rolled back); a fault not running is left alone.
    pub(super) fn end_fault(&mut self, index: usize, time: SimTime) {
        let Some((rule, mut state)) = self.fault(index) else {
            return;
        };
        if state.started.is_none() || state.ended.is_some() {
            return;
        }
        state.ended = Some(time);
        self.world.resource_mut::<Truth>().fault_ended[index] = Some(time);
        let mut core = self.world.resource_mut::<Core>();
        core.effects.retain(|e| e.source != Source::Fault(index));
        core.refresh_effects();
        self.news.push(News::FaultEnded {
            at: time,
            fault: rule.name,
        });
    }

    /// Orders the team action `name` with `params`; returns when it will land.
    ///
    /// # Errors
    /// An unknown action, a missing or unknown parameter, or a value the effect cannot take.
    pub fn order_action(
        &mut self,
        name: &str,
        params: &[(String, f64)],
    ) -> Result<SimTime, ActionError> {
        let actions = self.world.resource::<Actions>();
        let index = actions
            .defs
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| ActionError::Unknown(name.to_owned()))?;
        let def = &actions.defs[index];
        for (key, _) in params {
            if !def.params.contains(key) {
                return Err(ActionError::UnknownParam {
                    action: name.to_owned(),
                    param: key.clone(),
                    takes: if def.params.is_empty() {
                        "nothing".into()
                    } else {
                        def.params.join(", ")
                    },
                });
            }
        }
        if let Some(missing) = def
            .params
            .iter()
            .find(|p| !params.iter().any(|(k, _)| k == *p))
        {
            return Err(ActionError::MissingParam {
                action: name.to_owned(),
                param: missing.clone(),
            });
        }
        let lookup = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let action_names: Vec<String> = actions.defs.iter().map(|a| a.name.clone()).collect();
        let names = Names {
            pools: &self.pools,
            steps: &self.steps,
            faults: &self.faults,
            actions: &action_names,
        };
        let change = def
            .effects
            .iter()
            .map(|e| resolve_change(e, &names, &lookup))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ActionError::Invalid)?;
        let lands = self.now().after(def.delay);
        let mut actions = self.world.resource_mut::<Actions>();
        actions.pending.push((index, change));
        let order = (actions.pending.len() - 1) as u32;
        self.world
            .resource_mut::<Core>()
            .schedule(lands, Kind::ActionLands(order));
        Ok(lands)
    }

    pub(super) fn land_action(&mut self, order: usize, time: SimTime) {
        let (index, changes) = self.world.resource::<Actions>().pending[order].clone();
        let name = self.world.resource::<Actions>().defs[index].name.clone();
        self.news.push(News::ActionLanded {
            at: time,
            action: name,
        });
        self.apply_changes(&changes, &Source::Action(index), Duration::ZERO, time);
    }

    /// Applies a fault's or an action's changes together: faults and actions are one
    /// mechanism. A repeated action replaces its earlier order (throttle 150, then 120).
    fn apply_changes(
        &mut self,
        changes: &[Change],
        source: &Source,
        ramp: Duration,
        time: SimTime,
    ) {
        if changes.iter().any(|c| matches!(c, Change::Set(_))) {
            self.world
                .resource_mut::<Core>()
                .effects
                .retain(|e| e.source != *source);
        }
        for &change in changes {
            self.apply_change(change, *source, ramp, time);
        }
    }

    /// Applies one change of a fault or an action.
    fn apply_change(&mut self, change: Change, source: Source, ramp: Duration, time: SimTime) {
        match change {
            Change::Set(knob) => {
                let mut core = self.world.resource_mut::<Core>();
                // A team's `PoolSize` on an autoscaled pool sets its size at once, and the
                // autoscaler goes on from there (`kubectl scale` under an HPA).
                if let (Knob::PoolSize { pool, size }, Source::Action(_)) = (knob, &source)
                    && core.scale_by_hand(pool, size.clamp(0.0, MAX_POOL_SIZE) as u32)
                {
                    core.refresh_effects();
                    return;
                }
                core.effects.push(ActiveEffect {
                    knob,
                    start: time,
                    ramp,
                    until: None,
                    source,
                });
                core.refresh_effects();
            }
            Change::EndFault(fault) => self.end_fault(fault, time),
            Change::EndAction(action) => {
                let mut core = self.world.resource_mut::<Core>();
                core.effects.retain(|e| e.source != Source::Action(action));
                core.refresh_effects();
            }
            Change::RestartPool { pool, dip } => {
                let until = time.after(dip);
                let mut core = self.world.resource_mut::<Core>();
                core.restart_pool(pool);
                if !dip.is_zero() {
                    let knob = Knob::PoolSize { pool, size: 0.0 };
                    core.effects.push(ActiveEffect {
                        knob,
                        start: time,
                        ramp: Duration::ZERO,
                        until: Some(until),
                        source,
                    });
                    core.schedule(until, Kind::EffectExpires);
                }
                core.refresh_effects();
            }
        }
    }
}

/// The names effects refer to, in drill order.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub pools: &'a [String],
    pub steps: &'a [String],
    pub faults: &'a [String],
    pub actions: &'a [String],
}

/// Resolves an effect's names to indices and its values to numbers.
///
/// # Errors
/// A message naming the unknown pool, step or parameter, or the value out of range.
pub fn resolve_change(
    effect: &Effect,
    names: &Names<'_>,
    param: &dyn Fn(&str) -> Option<f64>,
) -> Result<Change, String> {
    let Names {
        pools,
        steps,
        faults,
        actions,
    } = *names;
    let value = |v: &Value| match v {
        Value::Literal(x) => Ok(*x),
        Value::Param(name) => param(name).ok_or_else(|| format!("missing parameter `{name}`")),
    };
    let pool = |name: &str| {
        pools
            .iter()
            .position(|p| p == name)
            .ok_or_else(|| format!("no pool named `{name}`"))
    };
    let step = |name: &str| {
        steps
            .iter()
            .position(|s| s == name)
            .ok_or_else(|| format!("no step named `{name}`"))
    };
    let non_negative = |what: &str, x: f64| {
        if x.is_finite() && x >= 0.0 {
            Ok(x)
        } else {
            Err(format!("{what} must be a number ≥ 0, not {x}"))
        }
    };
    let fraction = |what: &str, x: f64| {
        if (0.0..=1.0).contains(&x) {
            Ok(x)
        } else {
            Err(format!("{what} must be between 0 and 1, not {x}"))
        }
    };
    let share = |share: &Option<f64>| match share {
        None => Ok(1.0),
        Some(x) if *x > 0.0 && *x <= 1.0 => Ok(*x),
        Some(x) => Err(format!("share must be more than 0 and at most 1, not {x}")),
    };
    Ok(Change::Set(match effect {
        Effect::EndAction(name) => {
            let action = actions
                .iter()
                .position(|a| a == name)
                .ok_or_else(|| format!("no action named `{name}`"))?;
            return Ok(Change::EndAction(action));
        }
        Effect::Autoscale {
            pool: p,
            target,
            min,
            max,
            every,
            ready_after,
            tolerance,
            down_window,
        } => Knob::Autoscale {
            pool: pool(p)?,
            config: autoscale_config(
                *target,
                *min,
                *max,
                *every,
                *ready_after,
                *tolerance,
                *down_window,
            ),
        },
        Effect::StepShare { step: s, share } => Knob::StepShare {
            step: step(s)?,
            share: fraction("share", value(share)?)?,
        },
        Effect::StepRateLimit {
            step: s,
            rps,
            burst,
        } => Knob::StepRateLimit {
            step: step(s)?,
            rps: non_negative("rps", value(rps)?)?,
            burst: match burst {
                Some(b) => Some(non_negative("burst", value(b)?)?),
                None => None,
            },
        },
        Effect::SetRetries {
            step: s,
            max_attempts,
            backoff,
            multiplier,
            jitter,
            budget,
        } => Knob::SetRetries {
            step: s.as_deref().map(step).transpose()?,
            patch: RetryPatch {
                max_attempts: max_attempts.map(|n| u8::try_from(n.clamp(1, 100)).unwrap_or(100)),
                backoff_nanos: backoff.map(|b| b.as_nanos() as f64),
                multiplier: multiplier.map(|m| m.max(1.0)),
                jitter: jitter.map(|j| j.clamp(0.0, 1.0)),
                budget: budget.map(|b| b.max(0.0)),
            },
        },
        Effect::StepTimeout { step: s, timeout } => Knob::StepTimeout {
            step: step(s)?,
            nanos: timeout.as_nanos().max(1),
        },
        Effect::EndFault(name) => {
            let fault = faults
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("no fault named `{name}`"))?;
            return Ok(Change::EndFault(fault));
        }
        Effect::RestartPool { pool: p, dip } => {
            return Ok(Change::RestartPool {
                pool: pool(p)?,
                dip: *dip,
            });
        }
        Effect::WrongAnswerRate {
            step: s,
            rate,
            share: sh,
        } => Knob::WrongAnswerRate {
            step: step(s)?,
            rate: fraction("rate", value(rate)?)?,
            share: share(sh)?,
        },
        Effect::TokenMultiplier {
            step: s,
            factor,
            share: sh,
        } => Knob::TokenMultiplier {
            step: step(s)?,
            factor: non_negative("factor", value(factor)?)?,
            share: share(sh)?,
        },
        Effect::UseFallback { step: s, share: sh } => Knob::UseFallback {
            step: step(s)?,
            share: share(sh)?,
        },
        Effect::TrafficMultiplier(m) => {
            Knob::TrafficMultiplier(non_negative("a traffic multiplier", value(m)?)?)
        }
        Effect::AdmissionLimit { rps } => Knob::AdmissionLimit(non_negative("rps", value(rps)?)?),
        Effect::MaxInFlight { limit } => Knob::MaxInFlight(non_negative("limit", value(limit)?)?),
        Effect::PoolSize { pool: p, size } => {
            // The same rule as a pool's `size` in the drill: a whole number of at least 1.
            let size = value(size)?;
            if !(size.is_finite() && size.fract() == 0.0 && size >= 1.0) {
                return Err(format!(
                    "a pool size must be a whole number of at least 1, not {size}"
                ));
            }
            if size > 100_000.0 {
                return Err(format!("a pool size must be at most 100000, not {size}"));
            }
            Knob::PoolSize {
                pool: pool(p)?,
                size,
            }
        }
        Effect::StepTimeMultiplier {
            step: s,
            factor,
            share: sh,
        } => Knob::StepTimeMultiplier {
            step: step(s)?,
            factor: non_negative("factor", value(factor)?)?,
            share: share(sh)?,
        },
        Effect::StepErrorRate {
            step: s,
            rate,
            share: sh,
        } => Knob::StepErrorRate {
            step: step(s)?,
            rate: fraction("rate", value(rate)?)?,
            share: share(sh)?,
        },
        Effect::ConnectionLeak {
            pool: p,
            fraction: f,
        } => Knob::ConnectionLeak {
            pool: pool(p)?,
            fraction: fraction("fraction", value(f)?)?,
        },
    }))
}

/// An autoscaler's settings from a drill's fields (defaults for those left out), held within
/// `check`'s limits whatever they are.
#[must_use]
pub fn autoscale_config(
    target: f64,
    min: i64,
    max: i64,
    every: Option<Duration>,
    ready_after: Option<Duration>,
    tolerance: Option<f64>,
    down_window: Option<Duration>,
) -> AutoscaleConfig {
    let count = |x: i64| x.clamp(1, MAX_POOL_SIZE as i64) as u32;
    let min = count(min);
    let target = if target.is_finite() && target > 0.0 {
        target.min(1.0)
    } else {
        1.0
    };
    let every = every.unwrap_or_else(default_autoscale_every);
    AutoscaleConfig {
        target,
        min,
        max: count(max).max(min),
        every: if every.is_zero() {
            default_autoscale_every()
        } else {
            every
        },
        ready_after: ready_after.unwrap_or_default(),
        tolerance: tolerance
            .filter(|t| t.is_finite())
            .unwrap_or_else(default_autoscale_tolerance)
            .clamp(0.0, 1.0),
        down_window: down_window.unwrap_or_else(default_autoscale_down_window),
    }
}
