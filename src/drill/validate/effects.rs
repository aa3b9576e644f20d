//! Faults, actions and the effects they apply: when a fault starts and how long it lasts, an
//! action's name and bounded params, `effect` against `effects`, and each effect's references and
//! number (a literal in range, or in an action one of its params).
//!
//! It does not check how much an effect may cost a run (that is [`super::limits`]), nor
//! whether a fault may carry a log message (that is [`super::alerts`], with what the team sees).

use super::{BUILT_IN_COMMANDS, Checker, FieldPath, Namespace, SESSION_COMMANDS};
use crate::drill::duration::Duration;
use crate::drill::spec::{Action, ActionParam, Effect, Fault, Value};
use crate::drill::suggest;

/// What a number in an effect must be.
#[derive(Debug, Clone, Copy)]
pub(super) enum Range {
    /// Greater than zero.
    Positive,
    /// A whole number of at least one.
    Count,
    /// A probability, from 0 to 1.
    Fraction,
}

/// Where an effect is used: a fault (literal numbers only) or an action (its params).
#[derive(Clone, Copy)]
pub(super) enum EffectUse<'a> {
    Fault,
    Action(&'a Action),
}

impl<'a> Checker<'a> {
    pub(super) fn fault(&mut self, fault: &Fault, path: &FieldPath) {
        self.name_not_empty(&fault.name, &path.field("name"), "fault");
        let end = self.drill.duration;
        if fault.at >= end {
            self.report(
                path.field("at"),
                format!(
                    "fault `{}` starts at {}, when the drill is already over (it lasts {end}), so it never happens",
                    fault.name, fault.at
                ),
                "after the end",
                format!("start it before {end}, or lengthen the drill's `duration`"),
            );
        }
        if fault.lasts == Some(Duration::ZERO) {
            self.report(
                path.field("lasts"),
                format!("fault `{}` lasts 0s, so it never takes effect", fault.name),
                "zero length",
                "give it a length, or leave `lasts` out to keep the fault until the end",
            );
        }
        self.effects(
            fault.effect.as_ref(),
            fault.effects.as_deref(),
            path,
            &format!("fault `{}`", fault.name),
            EffectUse::Fault,
        );
    }

    pub(super) fn action(&mut self, action: &'a Action, path: &FieldPath) {
        let name_path = path.field("name");
        if action.name.trim().is_empty() || action.name.contains(char::is_whitespace) {
            self.report(
                name_path,
                format!("the action name `{}` is not a single word", action.name),
                "not one word",
                "the team types the action's name as a command: use one word, e.g. `scale-pool`",
            );
        } else if let Some(built_in) = BUILT_IN_COMMANDS
            .iter()
            .chain(SESSION_COMMANDS)
            .find(|c| c.eq_ignore_ascii_case(&action.name))
        {
            self.report(
                name_path,
                format!(
                    "action `{}` has the name of the built-in command `{built_in}`, so the team can never run it",
                    action.name
                ),
                "built-in command",
                "rename the action: built-in commands come first when the team types a line",
            );
        }
        self.unique(
            action.params.iter().map(ActionParam::name),
            &path.field("params"),
            "",
            "param",
        );
        for (i, param) in action.params.iter().enumerate() {
            if let ActionParam::Bounded(p) = param {
                let p_path = path.field("params").index(i);
                let bad = |x: Option<f64>| x.is_some_and(|x| !x.is_finite());
                if bad(p.min) || bad(p.max) {
                    self.report(
                        p_path,
                        format!(
                            "param `{}` of action `{}` has a bound that is not a number",
                            p.name, action.name
                        ),
                        "not a number",
                        "write finite bounds, e.g. `Param(name: \"size\", min: 1, max: 60)`",
                    );
                } else if let (Some(lo), Some(hi)) = (p.min, p.max)
                    && lo > hi
                {
                    self.report(
                        p_path.field("max"),
                        format!("param `{}` of action `{}` has min {lo} above max {hi}, so no value is allowed", p.name, action.name),
                        "min above max",
                        "swap them: `min` is the smallest value the team may give",
                    );
                }
            }
        }
        self.effects(
            action.effect.as_ref(),
            action.effects.as_deref(),
            path,
            &format!("action `{}`", action.name),
            EffectUse::Action(action),
        );
    }

    /// A fault's or action's `effect:` or `effects: [...]`: exactly one, and no empty list.
    pub(super) fn effects(
        &mut self,
        effect: Option<&Effect>,
        effects: Option<&[Effect]>,
        path: &FieldPath,
        owner: &str,
        used: EffectUse<'_>,
    ) {
        match (effect, effects) {
            (Some(_), Some(_)) => self.report(
                path.field("effects"),
                format!("{owner} gives both `effect` and `effects`"),
                "both given",
                "write one effect as `effect: X(...)`, or several as `effects: [X(...), Y(...)]`, not both",
            ),
            (None, None) => self.report(
                path.clone(),
                format!("{owner} has no effect"),
                "needs `effect` or `effects`",
                "add `effect: X(...)`, or `effects: [X(...), Y(...)]` for several",
            ),
            (None, Some([])) => self.report(
                path.field("effects"),
                format!("{owner} has an empty `effects` list"),
                "empty list",
                "list at least one effect: `effects: [X(...), Y(...)]`",
            ),
            _ => {}
        }
        if let Some(effect) = effect {
            self.effect(effect, &path.field("effect"), used);
        }
        for (i, effect) in effects.unwrap_or_default().iter().enumerate() {
            self.effect(effect, &path.field("effects").index(i), used);
        }
    }

    /// A step effect's optional share of calls.
    pub(super) fn effect_share(&mut self, share: Option<f64>, path: &FieldPath) {
        if let Some(share) = share {
            self.share(share, &path.field("share"), "the effect");
        }
    }

    /// Checks an effect: the names it refers to first, then its number (see [`effect_number`]).
    pub(super) fn effect(&mut self, effect: &Effect, path: &FieldPath, used: EffectUse<'_>) {
        match effect {
            Effect::TrafficMultiplier(_)
            | Effect::AdmissionLimit { .. }
            | Effect::MaxInFlight { .. } => {}
            Effect::PoolSize { pool, .. }
            | Effect::ConnectionLeak { pool, .. }
            | Effect::RestartPool { pool, .. } => {
                self.pool_ref(pool, path.field("pool"));
            }
            Effect::Autoscale {
                pool,
                target,
                min,
                max,
                every,
                ready_after: _,
                tolerance,
                down_window,
            } => {
                self.pool_ref(pool, path.field("pool"));
                self.autoscale(
                    path,
                    &super::system::AutoscaleFields {
                        target: *target,
                        min: *min,
                        max: *max,
                        every: *every,
                        tolerance: *tolerance,
                        down_window: *down_window,
                    },
                );
            }
            Effect::StepTimeMultiplier { step, share, .. }
            | Effect::StepErrorRate { step, share, .. }
            | Effect::WrongAnswerRate { step, share, .. }
            | Effect::TokenMultiplier { step, share, .. } => {
                self.step_ref(step, path.field("step"));
                self.effect_share(*share, path);
            }
            Effect::UseFallback { step, share } => {
                self.step_ref(step, path.field("step"));
                self.effect_share(*share, path);
                let has_fallback = self
                    .drill
                    .service
                    .steps
                    .iter()
                    .any(|s| &s.name == step && s.fallback.is_some());
                if self.steps.contains(step) && !has_fallback {
                    self.report(
                        path.field("step"),
                        format!("step `{step}` has no fallback to switch to"),
                        "no fallback",
                        "give the step a `fallback: Fallback(time: ..., wrong_answer_rate: ...)`",
                    );
                }
            }
            Effect::StepShare { step, .. } | Effect::StepRateLimit { step, .. } => {
                self.step_ref(step, path.field("step"));
            }
            Effect::SetRetries { .. } => self.set_retries(effect, path),
            Effect::StepTimeout { step, timeout } => {
                self.step_ref(step, path.field("step"));
                if timeout.is_zero() {
                    self.report(
                        path.field("timeout"),
                        format!(
                            "a call timeout of 0s on step `{step}` would end every call at once"
                        ),
                        "must be longer than 0s",
                        "give the longest a call may run, e.g. `timeout: \"2s\"`",
                    );
                }
            }
            Effect::EndFault(fault) => self.reference(fault, path.item(0), Namespace::Fault),
            Effect::EndAction(action) => {
                self.reference(action, path.item(0), Namespace::Action);
                let lasting = |e: &&Effect| {
                    !matches!(
                        e,
                        Effect::EndFault(_) | Effect::EndAction(_) | Effect::RestartPool { .. }
                    )
                };
                if let Some(ended) = self.drill.actions.iter().find(|a| &a.name == action)
                    && !ended.all_effects().iter().any(lasting)
                {
                    self.report(
                        path.item(0),
                        format!("action `{action}` has no lasting effect to end"),
                        "nothing to end",
                        "`EndAction` ends an action that sets something (a throttle, a fallback); end faults with `EndFault`",
                    );
                }
            }
        }
        if let Some((value, at, range, what)) = effect_number(effect, path) {
            self.number(value, &at, used, range, what);
        }
    }

    /// A number in an effect: a literal in range, or (in an action) one of its params.
    pub(super) fn number(
        &mut self,
        value: &Value,
        path: &FieldPath,
        used: EffectUse<'_>,
        range: Range,
        what: &str,
    ) {
        let x = match (value, used) {
            (Value::Literal(x), _) => *x,
            (Value::Param(name), EffectUse::Fault) => {
                self.report(
                    path.clone(),
                    format!("a fault needs a literal number for {what}, not `Param(\"{name}\")`"),
                    "not a number",
                    "only actions take params from the team's command; write a number here",
                );
                return;
            }
            (Value::Param(name), EffectUse::Action(action)) => {
                if action.param(name).is_none() {
                    let params: Vec<&str> = action.param_names();
                    let hint = match suggest::closest(name, params.iter().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None if params.is_empty() => {
                            format!("declare it: `params: [\"{name}\"]`")
                        }
                        None => format!(
                            "the action's params are {}; add \"{name}\" to `params` to take it from the command",
                            suggest::list(&params)
                        ),
                    };
                    self.report(
                        path.item(0),
                        format!(
                            "`Param(\"{name}\")` is not a param of action `{}`",
                            action.name
                        ),
                        "unknown param",
                        hint,
                    );
                }
                return;
            }
        };
        let (ok, rule, hint) = match range {
            Range::Positive => (
                x > 0.0,
                "greater than 0",
                "write a positive number, e.g. 1.5",
            ),
            Range::Count => (
                x >= 1.0 && x.fract() == 0.0,
                "a whole number of at least 1",
                "write a whole number, e.g. 20",
            ),
            Range::Fraction => (
                (0.0..=1.0).contains(&x),
                "from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.05 for 5%",
            ),
        };
        if !ok || !x.is_finite() {
            self.report(
                path.clone(),
                format!("{what} is {x}, but it must be {rule}"),
                format!("must be {rule}"),
                hint,
            );
        }
    }
}

/// The number an effect takes, where it is written, what it must be and what to call it: `None`
/// for an effect without one.
fn effect_number<'e>(
    effect: &'e Effect,
    path: &FieldPath,
) -> Option<(&'e Value, FieldPath, Range, &'static str)> {
    Some(match effect {
        Effect::TrafficMultiplier(factor) => (
            factor,
            path.item(0),
            Range::Positive,
            "the traffic multiplier",
        ),
        Effect::AdmissionLimit { rps } => (
            rps,
            path.field("rps"),
            Range::Positive,
            "the admission limit",
        ),
        Effect::MaxInFlight { limit } => (
            limit,
            path.field("limit"),
            Range::Count,
            "the in-flight limit",
        ),
        Effect::PoolSize { size, .. } => (size, path.field("size"), Range::Count, "the pool size"),
        Effect::StepTimeMultiplier { factor, .. } => (
            factor,
            path.field("factor"),
            Range::Positive,
            "the step time multiplier",
        ),
        Effect::StepErrorRate { rate, .. } => {
            (rate, path.field("rate"), Range::Fraction, "the error rate")
        }
        Effect::ConnectionLeak { fraction, .. } => (
            fraction,
            path.field("fraction"),
            Range::Fraction,
            "the leak fraction",
        ),
        Effect::WrongAnswerRate { rate, .. } => (
            rate,
            path.field("rate"),
            Range::Fraction,
            "the wrong-answer rate",
        ),
        Effect::TokenMultiplier { factor, .. } => (
            factor,
            path.field("factor"),
            Range::Positive,
            "the token multiplier",
        ),
        Effect::StepShare { share, .. } => (
            share,
            path.field("share"),
            Range::Fraction,
            "the step's share of requests",
        ),
        Effect::StepRateLimit { rps, .. } => (
            rps,
            path.field("rps"),
            Range::Positive,
            "the dependency's rate limit",
        ),
        Effect::UseFallback { .. }
        | Effect::SetRetries { .. }
        | Effect::StepTimeout { .. }
        | Effect::EndFault(_)
        | Effect::EndAction(_)
        | Effect::RestartPool { .. }
        | Effect::Autoscale { .. } => return None,
    })
}
