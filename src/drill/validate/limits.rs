//! What one run of a drill may cost. `check` refuses a drill beyond any of them, so that a drill
//! that passes `check` runs to its end in bounded time and memory (docs/drill-format.md,
//! "Limits").
//!
//! This module owns those ceilings and the check of a drill against them, the whole run's
//! estimated events included. It does not check that values are in their natural ranges (not
//! negative, fractions from 0 to 1): the section checks do, and this one skips what they report.

use super::{Checker, FieldPath};
use crate::drill::duration::Duration;
use crate::drill::spec::{Effect, Value};

/// Arrival rates (`start_rps`, `to_rps`, `AdmissionLimit`), requests per second.
pub const MAX_RPS: f64 = 1e6;
/// Traffic, step time and token multipliers.
pub const MAX_MULTIPLIER: f64 = 1000.0;
/// Connections in a pool, database cores, and pool sizes set by effects.
pub const MAX_POOL_SIZE: f64 = 100_000.0;
/// In-flight limits (`max_in_flight`, `MaxInFlight`).
pub const MAX_IN_FLIGHT: f64 = 1e9;
/// Attempts per request with retries.
pub const MAX_ATTEMPTS: i64 = 100;
/// Model tokens per call of a step or its fallback.
pub const MAX_TOKENS: f64 = 1e7;
/// Dollars per thousand model tokens.
pub const MAX_COST_PER_1K_TOKENS: f64 = 1000.0;
/// A drill's simulated length: 366 days.
pub const MAX_DURATION_SECS: u64 = 366 * 24 * 3600;
/// Metric buckets in one run (`duration` / `telemetry.bucket`).
pub const MAX_BUCKETS: f64 = 1e6;
/// Events the engine may handle in one run, estimated as the peak arrival rate (with every
/// traffic multiplier of faults and actions) × duration × (1 + steps) × attempts: about a
/// quarter of an hour of engine time.
pub const MAX_EVENTS: f64 = 1e10;

impl Checker<'_> {
    /// The ceilings above: each value within its own, then what the whole run would cost.
    pub(super) fn budget(&mut self) {
        let drill = self.drill;
        let traffic = FieldPath::root("traffic");
        let mut rates = vec![(drill.traffic.start_rps, traffic.field("start_rps"))];
        for (i, stage) in drill.traffic.stages.iter().enumerate() {
            rates.push((
                stage.to_rps,
                traffic.field("stages").index(i).field("to_rps"),
            ));
        }
        for (rps, path) in &rates {
            self.at_most(
                *rps,
                MAX_RPS,
                path,
                "a rate of requests",
                "requests per second",
            );
        }
        for (i, pool) in drill.pools.iter().enumerate() {
            let path = FieldPath::root("pools").index(i);
            self.at_most(
                pool.size as f64,
                MAX_POOL_SIZE,
                &path.field("size"),
                "a pool's size",
                "connections",
            );
            if let Some(cores) = pool.cores {
                self.at_most(
                    cores as f64,
                    MAX_POOL_SIZE,
                    &path.field("cores"),
                    "a database's cores",
                    "cores",
                );
            }
        }
        let service = FieldPath::root("service");
        if let Some(limit) = drill.service.max_in_flight {
            self.at_most(
                limit as f64,
                MAX_IN_FLIGHT,
                &service.field("max_in_flight"),
                "an in-flight limit",
                "requests",
            );
        }
        let mut attempts = 1.0;
        if let Some(retries) = &drill.service.retries {
            if retries.max_attempts > MAX_ATTEMPTS {
                self.report(
                    service.field("retries").field("max_attempts"),
                    format!(
                        "`max_attempts` is {}; the most is {MAX_ATTEMPTS}",
                        retries.max_attempts
                    ),
                    "too large",
                    "real clients retry a few times: write e.g. `max_attempts: 3`",
                );
            }
            attempts = retries.max_attempts.clamp(1, MAX_ATTEMPTS) as f64;
        }
        self.at_most(
            drill.service.cost_per_1k_tokens,
            MAX_COST_PER_1K_TOKENS,
            &service.field("cost_per_1k_tokens"),
            "a price",
            "dollars per thousand tokens",
        );
        for (i, step) in drill.service.steps.iter().enumerate() {
            let path = service.field("steps").index(i);
            self.at_most(
                step.tokens,
                MAX_TOKENS,
                &path.field("tokens"),
                "a step's tokens",
                "tokens per call",
            );
            if let Some(fallback) = &step.fallback {
                self.at_most(
                    fallback.tokens,
                    MAX_TOKENS,
                    &path.field("fallback").field("tokens"),
                    "a fallback's tokens",
                    "tokens per call",
                );
            }
        }
        // Literal numbers in effects; the product of the traffic multipliers above 1 bounds
        // the peak rate (faults may overlap, and the team may take every action).
        let mut surge = 1.0_f64;
        let effects =
            drill
                .faults
                .iter()
                .enumerate()
                .flat_map(|(i, f)| with_paths("faults", i, f.effect.as_ref(), f.effects.as_ref()))
                .chain(drill.actions.iter().enumerate().flat_map(|(i, a)| {
                    with_paths("actions", i, a.effect.as_ref(), a.effects.as_ref())
                }))
                .collect::<Vec<_>>();
        for (effect, path) in effects {
            let (value, at, max, what, unit) = match effect {
                Effect::TrafficMultiplier(m) => (
                    m,
                    path.item(0),
                    MAX_MULTIPLIER,
                    "a traffic multiplier",
                    "times",
                ),
                Effect::StepTimeMultiplier { factor, .. }
                | Effect::TokenMultiplier { factor, .. } => (
                    factor,
                    path.field("factor"),
                    MAX_MULTIPLIER,
                    "a multiplier",
                    "times",
                ),
                Effect::AdmissionLimit { rps } => (
                    rps,
                    path.field("rps"),
                    MAX_RPS,
                    "an admission limit",
                    "requests per second",
                ),
                Effect::MaxInFlight { limit } => (
                    limit,
                    path.field("limit"),
                    MAX_IN_FLIGHT,
                    "an in-flight limit",
                    "requests",
                ),
                Effect::PoolSize { size, .. } => (
                    size,
                    path.field("size"),
                    MAX_POOL_SIZE,
                    "a pool size",
                    "connections",
                ),
                _ => continue,
            };
            let Value::Literal(x) = *value else {
                continue;
            };
            self.at_most(x, max, &at, what, unit);
            if matches!(effect, Effect::TrafficMultiplier(_)) && x > 1.0 && x.is_finite() {
                surge *= x.min(MAX_MULTIPLIER);
            }
        }
        let duration = FieldPath::root("duration");
        if drill.duration > Duration::from_secs(MAX_DURATION_SECS) {
            self.report(
                duration.clone(),
                format!("the drill lasts {}; the most is 366 days", drill.duration),
                "too long",
                "a drill simulates hours or days: shorten `duration`, e.g. \"30d\"",
            );
            return;
        }
        let seconds = drill.duration.as_secs_f64();
        let bucket = drill.telemetry.bucket;
        if !bucket.is_zero() {
            let buckets = seconds / bucket.as_secs_f64();
            if buckets > MAX_BUCKETS {
                self.report(
                    FieldPath::root("telemetry").field("bucket"),
                    format!(
                        "{} buckets of {bucket} over {} would be {}; the most is {}",
                        "metric",
                        drill.duration,
                        round(buckets),
                        round(MAX_BUCKETS)
                    ),
                    "too many buckets",
                    format!(
                        "make `bucket` at least {} (the default is \"10s\"), or shorten `duration`",
                        Duration::from_secs_f64((seconds / MAX_BUCKETS).ceil())
                    ),
                );
            }
        }
        let Some((peak, peak_path)) = rates
            .iter()
            .filter(|(r, _)| r.is_finite() && *r >= 0.0)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(r, p)| (*r, p.clone()))
        else {
            return;
        };
        if peak > MAX_RPS {
            return;
        }
        // A step with retries may be called up to its `max_attempts` times per request.
        let steps: f64 = (drill.service.steps.iter())
            .map(|s| {
                s.retries
                    .as_ref()
                    .map_or(1, |r| r.max_attempts.clamp(1, 10)) as f64
            })
            .sum();
        let events = peak * surge * seconds * (1.0 + steps) * attempts;
        if events > MAX_EVENTS {
            self.report(
                peak_path,
                format!(
                    "a run would handle about {} events: a peak of {} requests/s{} over {} \
                     ({} s), each of 1 arrival + {} steps{}; the most is {} events",
                    round(events),
                    round(peak),
                    if surge > 1.0 { format!(" × {} from traffic multipliers", round(surge)) } else { String::new() },
                    drill.duration,
                    round(seconds),
                    steps,
                    if attempts > 1.0 { format!(" × {attempts} attempts") } else { String::new() },
                    round(MAX_EVENTS)
                ),
                "too many events",
                format!(
                "lower this rate (or the traffic multipliers), or shorten `duration`: at this peak the drill may last about {}",
                Duration::from_secs_f64((MAX_EVENTS / (peak * surge * (1.0 + steps) * attempts)).floor())
            ),
            );
        }
    }

    /// A number that must not exceed `max` (NaN and negatives are reported elsewhere).
    pub(super) fn at_most(
        &mut self,
        value: f64,
        max: f64,
        path: &FieldPath,
        what: &str,
        unit: &str,
    ) {
        if value > max {
            self.report(
                path.clone(),
                format!(
                    "{what} of {} {unit} is beyond the most a drill may use, {} {unit}",
                    round(value),
                    round(max)
                ),
                format!("at most {}", round(max)),
                format!(
                    "write at most {} (docs/drill-format.md, \"Limits\")",
                    round(max)
                ),
            );
        }
    }
}

/// Each effect of a fault or action with its path (`faults[2].effect`, `faults[2].effects[1]`).
fn with_paths<'e>(
    root: &'static str,
    i: usize,
    effect: Option<&'e Effect>,
    effects: Option<&'e Vec<Effect>>,
) -> Vec<(&'e Effect, FieldPath)> {
    let at = FieldPath::root(root).index(i);
    effect
        .map(|e| (e, at.field("effect")))
        .into_iter()
        .chain(
            effects
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(j, e)| (e, at.field("effects").index(j))),
        )
        .collect::<Vec<_>>()
}

/// A number for a message: whole numbers in full up to a billion, larger ones as `3.1e12`.
fn round(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e9 && x.fract() == 0.0 {
        format!("{x:.0}")
    } else if x.is_finite() && x.abs() < 1e9 {
        format!("{}", (x * 100.0).round() / 100.0)
    } else {
        format!("{x:.1e}")
    }
}
