//! The system's rules: telemetry settings, traffic, pools, the service with its retries and
//! steps (times, pools, shares, timeouts, error and wrong-answer rates, tokens, fallbacks).
//!
//! It does not check the cost ceilings of these numbers (that is [`super::limits`]), nor the
//! effects faults and actions apply to the system ([`super::effects`]).

use super::limits::MAX_POOL_SIZE;
use super::{Checker, FieldPath};
use crate::drill::duration::Duration;
use crate::drill::spec::{OnTimeout, Step, TimeDist};

/// The fields of an autoscaler that `check` looks at (those an effect may leave out are
/// options).
pub(super) struct AutoscaleFields {
    pub target: f64,
    pub min: i64,
    pub max: i64,
    pub every: Option<Duration>,
    pub tolerance: Option<f64>,
    pub down_window: Option<Duration>,
}

impl Checker<'_> {
    pub(super) fn telemetry(&mut self) {
        let telemetry = &self.drill.telemetry;
        let path = FieldPath::root("telemetry");
        if telemetry.bucket.is_zero() {
            self.report(
                path.field("bucket"),
                "the telemetry bucket is 0s wide",
                "must be longer than 0s",
                "metrics are bucketed and alerts evaluated every `bucket`; the default is \"10s\"",
            );
        } else if telemetry.window < telemetry.bucket {
            self.report(
                path.field("window"),
                format!(
                    "the telemetry window ({}) is shorter than a bucket ({})",
                    telemetry.window, telemetry.bucket
                ),
                "shorter than `bucket`",
                "the window looks back over whole buckets: make it at least one bucket long",
            );
        }
        if !(0.0..=1.0).contains(&telemetry.log_sample) {
            self.report(
                path.field("log_sample"),
                format!("`log_sample` is {}, but it is a fraction of requests", telemetry.log_sample),
                "must be from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.001 logs one successful request in a thousand",
            );
        }
        if !(0.0..=1.0).contains(&telemetry.eval_sample) {
            self.report(
                path.field("eval_sample"),
                format!(
                    "`eval_sample` is {}, but it is a fraction of answers",
                    telemetry.eval_sample
                ),
                "must be from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.05 grades one answer in twenty",
            );
        }
    }

    pub(super) fn traffic(&mut self) {
        let traffic = &self.drill.traffic;
        let path = FieldPath::root("traffic");
        self.rate(traffic.start_rps, &path.field("start_rps"), "`start_rps`");
        for (i, stage) in traffic.stages.iter().enumerate() {
            let stage_path = path.field("stages").index(i);
            if stage.over.is_zero() {
                self.report(
                    stage_path.field("over"),
                    format!("stage {i} has zero length"),
                    "zero length",
                    "give the ramp a length, e.g. `over: \"5m\"`; to jump at once, use a short one like \"1s\"",
                );
            }
            self.rate(stage.to_rps, &stage_path.field("to_rps"), "`to_rps`");
        }
    }

    /// A rate of requests: finite and not negative.
    pub(super) fn rate(&mut self, rps: f64, path: &FieldPath, what: &str) {
        if !rps.is_finite() || rps < 0.0 {
            self.report(
                path.clone(),
                if rps.is_finite() {
                    format!("{what} is {rps}, but a rate of requests cannot be negative")
                } else {
                    format!("{what} is {rps}, but a rate of requests must be a finite number")
                },
                if rps.is_finite() {
                    "must be 0 or more"
                } else {
                    "must be finite"
                },
                "write requests per second, e.g. 20.0",
            );
        }
    }

    /// Each pool: a unique name, at least one connection, at least one core if any.
    pub(super) fn pools(&mut self) {
        let drill = self.drill;
        self.unique(
            drill.pools.iter().map(|p| p.name.as_str()),
            &FieldPath::root("pools"),
            "name",
            "pool",
        );
        for (i, pool) in drill.pools.iter().enumerate() {
            let path = FieldPath::root("pools").index(i);
            self.name_not_empty(&pool.name, &path.field("name"), "pool");
            if pool.size <= 0 {
                self.report(
                    path.field("size"),
                    format!(
                        "pool `{}` has size {}; a pool needs at least one connection",
                        pool.name, pool.size
                    ),
                    "must be at least 1",
                    "set `size` to the number of connections, e.g. `size: 20`",
                );
            }
            if let Some(cores) = pool.cores
                && cores <= 0
            {
                self.report(
                    path.field("cores"),
                    format!("pool `{}` has {cores} database cores", pool.name),
                    "must be at least 1",
                    "give the database's CPU cores, e.g. `cores: 8`, or leave `cores` out for no contention",
                );
            }
            if let Some(a) = &pool.autoscale {
                let path = path.field("autoscale");
                self.autoscale(
                    &path,
                    &AutoscaleFields {
                        target: a.target,
                        min: a.min,
                        max: a.max,
                        every: Some(a.every),
                        tolerance: Some(a.tolerance),
                        down_window: Some(a.down_window),
                    },
                );
                if a.min <= a.max && pool.size > 0 && !(a.min..=a.max).contains(&pool.size) {
                    self.report(
                        path.field("min"),
                        format!(
                            "pool `{}` has size {} outside its autoscaler's bounds {}–{}",
                            pool.name, pool.size, a.min, a.max
                        ),
                        "size outside min..max",
                        "the autoscaler starts from the pool's size: make `min ≤ size ≤ max`",
                    );
                }
            }
        }
    }

    /// An autoscaler's fields (a pool's own, or an `Autoscale` effect's).
    pub(super) fn autoscale(&mut self, path: &FieldPath, a: &AutoscaleFields) {
        if !(a.target.is_finite() && a.target > 0.0 && a.target <= 1.0) {
            self.report(
                path.field("target"),
                format!("autoscale target {} is not a utilization", a.target),
                "must be more than 0 and at most 1",
                "give the share of connections to keep busy, e.g. `target: 0.7`",
            );
        }
        if a.min < 1 {
            self.report(
                path.field("min"),
                format!(
                    "autoscale min {} leaves the pool without a connection",
                    a.min
                ),
                "must be at least 1",
                "give the fewest connections, e.g. `min: 20`",
            );
        }
        if a.max < a.min {
            self.report(
                path.field("max"),
                format!("autoscale max {} is below min {}", a.max, a.min),
                "must be at least min",
                "give the most connections the autoscaler may set, e.g. `max: 60`",
            );
        }
        self.at_most(
            a.max as f64,
            MAX_POOL_SIZE,
            &path.field("max"),
            "an autoscaler's max",
            "connections",
        );
        if let Some(t) = a.tolerance
            && !(t.is_finite() && (0.0..1.0).contains(&t))
        {
            self.report(
                path.field("tolerance"),
                format!("autoscale tolerance {t} is out of range"),
                "must be at least 0 and below 1",
                "give the band of no change around the target, e.g. `tolerance: 0.1`",
            );
        }
        for (name, d) in [("every", a.every), ("down_window", a.down_window)] {
            if d.is_some_and(Duration::is_zero) {
                self.report(
                    path.field(name),
                    format!("autoscale `{name}` is zero"),
                    "must be more than 0",
                    "give a duration, e.g. \"15s\" (or leave it out for its default)",
                );
            }
        }
        // The event budget: decisions are agenda entries, at most one a second per pool
        // (growth adds no event per request, so the request budget stands as it is).
        if let Some(every) = a.every
            && !every.is_zero()
            && every < Duration::from_secs(1)
        {
            self.report(
                path.field("every"),
                format!("autoscale `every` of {every} is under a second"),
                "must be at least 1s",
                "an autoscaler decides every few seconds at most, e.g. \"15s\"",
            );
        }
    }

    pub(super) fn service(&mut self) {
        let service = &self.drill.service;
        let path = FieldPath::root("service");
        if let Some(limit) = service.max_in_flight
            && limit <= 0
        {
            self.report(
                path.field("max_in_flight"),
                format!("`max_in_flight` is {limit}, so every request would be rejected"),
                "must be at least 1",
                "set a positive limit, or leave `max_in_flight` out for no limit",
            );
        }
        if service.steps.is_empty() {
            self.report(
                path.field("steps"),
                "the service has no steps",
                "no steps",
                "add at least one step, e.g. `Step(name: \"handle\", time: Constant(\"50ms\"))`",
            );
        }
        if !(service.cost_per_1k_tokens.is_finite() && service.cost_per_1k_tokens >= 0.0) {
            self.report(
                path.field("cost_per_1k_tokens"),
                format!(
                    "`cost_per_1k_tokens` is {}, but a price cannot be negative",
                    service.cost_per_1k_tokens
                ),
                "must be 0 or more",
                "dollars per thousand tokens, e.g. 0.01",
            );
        }
        if let Some(retries) = &service.retries {
            let r = path.field("retries");
            self.service_attempts(retries.max_attempts, &r.field("max_attempts"));
            self.multiplier(retries.multiplier, &r.field("multiplier"));
            self.fraction(retries.jitter, &r.field("jitter"), "`jitter`");
            if let Some(budget) = retries.budget {
                self.retry_budget(budget, &r.field("budget"), "attempt", "0.2");
            }
        }
        let steps = path.field("steps");
        self.unique(
            service.steps.iter().map(|s| s.name.as_str()),
            &steps,
            "name",
            "step",
        );
        for (i, step) in service.steps.iter().enumerate() {
            self.step(step, &steps.index(i));
        }
    }

    pub(super) fn step(&mut self, step: &Step, path: &FieldPath) {
        self.name_not_empty(&step.name, &path.field("name"), "step");
        if let Some(pool) = &step.pool {
            self.pool_ref(pool, path.field("pool"));
        }
        self.step_path(step, path);
        let time = path.field("time");
        match step.time {
            TimeDist::Constant(_) => {}
            TimeDist::Exponential { mean } => {
                if mean.is_zero() {
                    self.report(
                        time.field("mean"),
                        format!(
                            "step `{}` has an exponential time with a mean of 0s",
                            step.name
                        ),
                        "must be longer than 0s",
                        "give the mean step time, e.g. `Exponential(mean: \"200ms\")`",
                    );
                }
            }
            TimeDist::LogNormal { median, p99 } => {
                if median.is_zero() {
                    self.report(
                        time.field("median"),
                        format!("step `{}` has a log-normal time with a median of 0s", step.name),
                        "must be longer than 0s",
                        "a log-normal time needs a positive median; use `Constant(\"0s\")` for an instant step",
                    );
                } else if p99 < median {
                    self.report(
                        time.field("p99"),
                        format!(
                            "step `{}` has a p99 ({p99}) below its median ({median})",
                            step.name
                        ),
                        "below the median",
                        "the 99th percentile is at least the median; are the two swapped?",
                    );
                }
            }
            TimeDist::Uniform { min, max } => {
                if max < min {
                    self.report(
                        time.field("max"),
                        format!(
                            "step `{}` has a uniform time with max ({max}) below min ({min})",
                            step.name
                        ),
                        "below `min`",
                        "`max` must be at least `min`; are the two swapped?",
                    );
                }
            }
        }
        if let OnTimeout::Degrade { wrong_answer_rate } = step.on_timeout {
            self.fraction(
                wrong_answer_rate,
                &path.field("on_timeout").field("wrong_answer_rate"),
                "`wrong_answer_rate`",
            );
        }
        self.fraction(step.error_rate, &path.field("error_rate"), "`error_rate`");
        self.fraction(
            step.wrong_answer_rate,
            &path.field("wrong_answer_rate"),
            "`wrong_answer_rate`",
        );
        self.non_negative(step.tokens, &path.field("tokens"), "`tokens`");
        self.step_calls(step, path);
        if let Some(fallback) = &step.fallback {
            let f = path.field("fallback");
            self.fraction(
                fallback.wrong_answer_rate,
                &f.field("wrong_answer_rate"),
                "the fallback's `wrong_answer_rate`",
            );
            self.non_negative(
                fallback.tokens,
                &f.field("tokens"),
                "the fallback's `tokens`",
            );
        }
    }

    /// A count or amount: zero or more.
    pub(super) fn non_negative(&mut self, value: f64, path: &FieldPath, what: &str) {
        if !(value.is_finite() && value >= 0.0) {
            self.report(
                path.clone(),
                format!("{what} is {value}, but it cannot be negative"),
                "must be 0 or more",
                "write zero or a positive number",
            );
        }
    }

    /// A probability: from 0 to 1.
    pub(super) fn fraction(&mut self, value: f64, path: &FieldPath, what: &str) {
        if !(0.0..=1.0).contains(&value) {
            self.report(
                path.clone(),
                format!("{what} is {value}, but it is a probability"),
                "must be from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.05 for 5%",
            );
        }
    }

    /// A step's pools, request share and call timeout.
    pub(super) fn step_path(&mut self, step: &Step, path: &FieldPath) {
        if step.pool.is_some() && !step.pools.is_empty() {
            self.report(
                path.field("pools"),
                format!("step `{}` gives both `pool` and `pools`", step.name),
                "both given",
                "write one pool as `pool: \"db\"`, or several as `pools: [\"http\", \"db\"]` (then drop `pool`)",
            );
        }
        for (i, pool) in step.pools.iter().enumerate() {
            self.pool_ref(pool, path.field("pools").index(i));
            if step.pools[..i].contains(pool) {
                self.report(
                    path.field("pools").index(i),
                    format!("step `{}` holds pool `{pool}` twice", step.name),
                    "repeated pool",
                    "list each pool once; a step holds one connection of each",
                );
            }
        }
        if let Some(share) = step.share {
            self.share(
                share,
                &path.field("share"),
                &format!("step `{}`", step.name),
            );
        }
        if step.timeout == Some(Duration::ZERO) {
            self.report(
                path.field("timeout"),
                format!(
                    "step `{}` has a call timeout of 0s, so every call would time out",
                    step.name
                ),
                "must be longer than 0s",
                "give the longest a call may run, e.g. `timeout: \"2s\"`, or leave `timeout` out",
            );
        }
    }

    /// A share of requests or calls: more than 0, at most 1.
    pub(super) fn share(&mut self, share: f64, path: &FieldPath, of: &str) {
        if !(share > 0.0 && share <= 1.0) {
            self.report(
                path.clone(),
                format!("{of} has share {share}, but a share must be more than 0 and at most 1"),
                "must be in (0, 1]",
                "write the fraction it applies to, e.g. `share: 0.3` for 30%; leave it out for all",
            );
        }
    }
}
