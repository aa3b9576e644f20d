//! Effects, faults and actions in words for people: what the facilitator's truth panel, the
//! debrief and the postmortem say an effect does (`admits at most 150 requests/s`), never
//! Rust's debug text. A parameter the team types is shown with its value when it is known
//! (`rps=150`) and by name otherwise (`rps`).
//!
//! This module only words things; what an effect does to the system is `crate::sim::effects`.

use std::fmt::Write as _;

use super::Duration;
use super::spec::{Action, Effect, Value};

/// The value of a number in an effect: the literal, the team's value of the parameter, or
/// the parameter's name when no value is known.
fn value(v: &Value, params: &[(String, f64)]) -> String {
    match v {
        Value::Literal(x) => number(*x),
        Value::Param(name) => params
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| format!("the typed `{name}`"), |(_, x)| number(*x)),
    }
}

/// `150`, `0.25`, `1.5`: no trailing zeros.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let text = format!("{x:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// `0.25` as `25%`.
fn percent(v: &Value, params: &[(String, f64)]) -> String {
    match v {
        Value::Literal(x) => format!("{}%", number(x * 100.0)),
        Value::Param(_) => value(v, params),
    }
}

/// ` on 30% of its calls`, or nothing when the effect hits every call.
fn of_calls(share: Option<f64>) -> String {
    share.map_or_else(String::new, |s| {
        format!(" on {}% of its calls", number(s * 100.0))
    })
}

/// What one effect does, in a phrase: `admits at most 150 requests/s`.
#[must_use]
pub fn effect(e: &Effect, params: &[(String, f64)]) -> String {
    let v = |x: &Value| value(x, params);
    match e {
        Effect::TrafficMultiplier(x) => format!("multiplies traffic by {}", v(x)),
        Effect::AdmissionLimit { rps } => format!("admits at most {} requests/s", v(rps)),
        Effect::MaxInFlight { limit } => format!("admits at most {} requests in flight", v(limit)),
        Effect::PoolSize { pool, size } => format!("sets pool {pool} to {} connections", v(size)),
        Effect::Autoscale {
            pool,
            target,
            min,
            max,
            every,
            ready_after,
            ..
        } => format!(
            "autoscales pool {pool} to keep it {} % busy ({min}–{max} connections, every {}, ready after {})",
            number(target * 100.0),
            every.unwrap_or_else(crate::drill::spec::default_autoscale_every),
            ready_after.unwrap_or_default()
        ),
        Effect::StepTimeMultiplier {
            step,
            factor,
            share,
        } => format!(
            "makes step {step} take {}× as long{}",
            v(factor),
            of_calls(*share)
        ),
        Effect::StepErrorRate { step, rate, share } => format!(
            "makes step {step} fail {} of the time{}",
            percent(rate, params),
            of_calls(*share)
        ),
        Effect::ConnectionLeak { pool, fraction } => format!(
            "leaks {} of the connections given back to pool {pool}",
            percent(fraction, params)
        ),
        Effect::WrongAnswerRate { step, rate, share } => format!(
            "makes step {step} answer wrongly {} more often{}",
            percent(rate, params),
            of_calls(*share)
        ),
        Effect::TokenMultiplier {
            step,
            factor,
            share,
        } => format!(
            "multiplies step {step}'s tokens (and time) by {}{}",
            v(factor),
            of_calls(*share)
        ),
        Effect::UseFallback { step, share } => {
            format!("switches step {step} to its fallback{}", of_calls(*share))
        }
        Effect::StepTimeout { step, timeout } => {
            format!("gives step {step} a call timeout of {timeout}")
        }
        Effect::StepShare { step, share } => format!(
            "sends {} of requests through step {step}",
            percent(share, params)
        ),
        Effect::StepRateLimit { step, rps, burst } => format!(
            "limits step {step}'s dependency to {} calls/s{}, refusing the rest (429)",
            v(rps),
            burst
                .as_ref()
                .map_or_else(String::new, |b| format!(" (bursts of {})", v(b)))
        ),
        Effect::SetRetries {
            step,
            max_attempts,
            backoff,
            multiplier,
            jitter,
            budget,
        } => {
            let mut parts = Vec::new();
            if let Some(n) = max_attempts {
                parts.push(format!("{n} attempts at most"));
            }
            if let Some(b) = backoff {
                parts.push(format!("a backoff of {b}"));
            }
            if let Some(m) = multiplier {
                parts.push(format!("{}× longer each time", number(*m)));
            }
            if let Some(j) = jitter {
                parts.push(format!("{} % jitter", number(j * 100.0)));
            }
            if let Some(b) = budget {
                parts.push(format!("a budget of {} retries per call", number(*b)));
            }
            let whose = step.as_ref().map_or_else(
                || "the client's retries".to_owned(),
                |s| format!("step {s}'s retries"),
            );
            format!("gives {whose} {}", parts.join(", "))
        }
        Effect::EndFault(name) => format!("ends fault {name}"),
        Effect::EndAction(name) => format!("ends what `{name}` did"),
        Effect::RestartPool { pool, dip } => {
            if dip.is_zero() {
                format!("restarts pool {pool} (leaked connections come back)")
            } else {
                format!(
                    "restarts pool {pool}: no connections for {dip}, then leaked ones come back"
                )
            }
        }
    }
}

/// Several effects joined: `admits at most 150 requests/s; sets pool db to 40 connections`.
#[must_use]
pub fn effects<'a>(all: impl IntoIterator<Item = &'a Effect>, params: &[(String, f64)]) -> String {
    all.into_iter()
        .map(|e| effect(e, params))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An action as the team ordered it: `throttle rps=150: admits at most 150 requests/s (in 1m)`.
#[must_use]
pub fn action(action: &Action, params: &[(String, f64)]) -> String {
    let mut text = action.name.clone();
    for (name, x) in params {
        let _ = write!(text, " {name}={}", number(*x));
    }
    let _ = write!(text, ": {}", effects(action.all_effects(), params));
    if action.delay == Duration::ZERO {
        text.push_str(" (at once)");
    } else {
        let _ = write!(text, " (in {})", action.delay);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_reads_as_people_say_it() {
        let throttle = Action {
            name: "throttle".into(),
            help: String::new(),
            params: Vec::new(),
            delay: Duration::from_secs(60),
            effect: Some(Effect::AdmissionLimit {
                rps: Value::Param("rps".into()),
            }),
            effects: None,
        };
        assert_eq!(
            action(&throttle, &[("rps".into(), 150.0)]),
            "throttle rps=150: admits at most 150 requests/s (in 1m)"
        );
        assert_eq!(
            action(&throttle, &[]),
            "throttle: admits at most the typed `rps` requests/s (in 1m)"
        );
    }

    #[test]
    fn shares_and_rates_read_as_percentages() {
        let e = Effect::StepErrorRate {
            step: "model".into(),
            rate: Value::Literal(0.25),
            share: Some(0.3),
        };
        assert_eq!(
            effect(&e, &[]),
            "makes step model fail 25% of the time on 30% of its calls"
        );
    }
}
