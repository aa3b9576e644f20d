//! A step's rate limit and retries, and the `SetRetries` effect: rates that can admit a
//! call, attempts from 1 to 10, backoffs that do not shrink, jitter from 0 to 1.

use super::{Checker, FieldPath};
use crate::drill::spec::{Effect, Step};

/// The most calls a step's retries may make of one request's call, the first included.
pub const MAX_STEP_ATTEMPTS: i64 = 10;

impl Checker<'_> {
    /// A step's `rate_limit` and `retries`.
    pub(super) fn step_calls(&mut self, step: &Step, path: &FieldPath) {
        if let Some(limit) = &step.rate_limit {
            let p = path.field("rate_limit");
            self.call_rate(limit.rps, &p.field("rps"), "`rps`");
            if let Some(burst) = limit.burst {
                self.burst(burst, &p.field("burst"));
            }
        }
        if let Some(r) = &step.retries {
            let p = path.field("retries");
            self.step_attempts(r.max_attempts, &p.field("max_attempts"));
            self.multiplier(r.multiplier, &p.field("multiplier"));
            self.fraction(r.jitter, &p.field("jitter"), "`jitter`");
            if let Some(budget) = r.budget {
                self.retry_budget(budget, &p.field("budget"), "call", "0.1");
            }
            if r.on.is_empty() {
                self.report(
                    p.field("on"),
                    format!("step `{}` retries no kind of failed call", step.name),
                    "empty",
                    "list what is retried, e.g. `on: [Errors, RateLimited, Timeouts]`, or leave `on` out for all three",
                );
            }
        }
    }

    /// `SetRetries`'s fields (its step, if any, is checked as a reference).
    pub(super) fn set_retries(&mut self, effect: &Effect, path: &FieldPath) {
        let Effect::SetRetries {
            step,
            max_attempts,
            backoff,
            multiplier,
            jitter,
            budget,
        } = effect
        else {
            return;
        };
        if let Some(step) = step {
            self.step_ref(step, path.field("step"));
        }
        if let Some(n) = *max_attempts {
            if step.is_some() {
                self.step_attempts(n, &path.field("max_attempts"));
            } else {
                self.service_attempts(n, &path.field("max_attempts"));
            }
        }
        if let Some(m) = *multiplier {
            self.multiplier(m, &path.field("multiplier"));
        }
        if let Some(j) = *jitter {
            self.fraction(j, &path.field("jitter"), "`jitter`");
        }
        if let Some(b) = *budget {
            self.retry_budget(b, &path.field("budget"), "call", "0.1");
        }
        if max_attempts.is_none()
            && backoff.is_none()
            && multiplier.is_none()
            && jitter.is_none()
            && budget.is_none()
        {
            self.report(
                path.clone(),
                "`SetRetries` changes nothing: every field is left out".to_owned(),
                "changes nothing",
                "give what it sets, e.g. `SetRetries(step: \"search\", backoff: \"200ms\", budget: 0.1)`",
            );
        }
    }

    fn step_attempts(&mut self, n: i64, path: &FieldPath) {
        if !(1..=MAX_STEP_ATTEMPTS).contains(&n) {
            self.report(
                path.clone(),
                format!(
                    "`max_attempts` is {n}, but it must be from 1 to {MAX_STEP_ATTEMPTS}: it counts the first call too"
                ),
                format!("must be from 1 to {MAX_STEP_ATTEMPTS}"),
                "e.g. `max_attempts: 3` for two retries of a failed call",
            );
        }
    }

    /// The service's client `max_attempts`: 1 to 100.
    pub(super) fn service_attempts(&mut self, n: i64, path: &FieldPath) {
        if !(1..=100).contains(&n) {
            self.report(
                path.clone(),
                format!("`max_attempts` is {n}; it counts the first attempt too"),
                "must be from 1 to 100",
                "e.g. `max_attempts: 3` for two retries",
            );
        }
    }

    pub(super) fn multiplier(&mut self, m: f64, path: &FieldPath) {
        if !(m.is_finite() && m >= 1.0) {
            self.report(
                path.clone(),
                format!("the backoff `multiplier` is {m}, so waits would shrink"),
                "must be at least 1",
                "1 keeps every wait the same; 2 doubles it each retry",
            );
        }
    }

    /// A retry budget: 0 or more retries per first `per` (`call` for a step, `attempt` for
    /// the service's clients), with `example` in the hint.
    pub(super) fn retry_budget(&mut self, budget: f64, path: &FieldPath, per: &str, example: &str) {
        if !(budget.is_finite() && budget >= 0.0) {
            self.report(
                path.clone(),
                format!("the retry `budget` is {budget}"),
                "must be 0 or more",
                format!(
                    "retries allowed per first {per}, e.g. {example}; leave it out for no budget"
                ),
            );
        }
    }

    /// A rate limit's calls per second: more than 0, within the ceiling on rates.
    fn call_rate(&mut self, rps: f64, path: &FieldPath, what: &str) {
        if !(rps.is_finite() && rps > 0.0 && rps <= super::limits::MAX_RPS) {
            self.report(
                path.clone(),
                format!("{what} is {rps}, but a rate limit admits more than 0 calls/s"),
                "must be more than 0",
                "calls per second the dependency admits, e.g. `rps: 50`",
            );
        }
    }

    fn burst(&mut self, burst: f64, path: &FieldPath) {
        if !(burst.is_finite() && (1.0..=super::limits::MAX_RPS).contains(&burst)) {
            self.report(
                path.clone(),
                format!("`burst` is {burst}, but a bucket must hold at least one call"),
                "must be at least 1",
                "calls the dependency admits at once after a quiet spell, e.g. `burst: 50`; leave it out for one second's worth",
            );
        }
    }
}
