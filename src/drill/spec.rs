//! The drill file's types, exactly as serde reads them from RON.
//!
//! These are *spec* types: plain data that mirrors what an author writes, with names, strings
//! and durations. They hold no simulation state and know nothing of the engine; the one
//! function that turns a spec into a running world is [`crate::sim::Sim::new`]. Every struct
//! and enum denies unknown fields, so a typo is reported where it is.
//!
//! Semantic rules (a pool that exists, a positive size, ...) are not enforced here but in
//! [`crate::drill::validate`], so that every problem can be reported at once.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

pub use super::duration::{ClockTime, Duration};
pub use calls::{Hold, RateLimit, RetryOn, StepRetries};
pub use value::Value;

mod calls;
mod value;

/// A whole drill: the system, the failure, the team's roles and how they are scored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    /// Short identifier, used in file names and reports (`monday-rush`).
    pub name: String,
    /// One-line title shown to the team.
    pub title: String,
    /// What the team is told at the start.
    #[serde(default, deserialize_with = "optional")]
    pub briefing: String,
    /// Wall-clock time of day at simulated time zero, for display (`"08:45"`).
    #[serde(default)]
    pub clock_start: Option<ClockTime>,
    /// How long the drill runs in simulated time.
    pub duration: Duration,
    /// Seed for every random stream; `--seed` overrides it.
    #[serde(default, deserialize_with = "optional")]
    pub seed: u64,
    /// How metrics are bucketed and alerts evaluated.
    #[serde(default, deserialize_with = "optional")]
    pub telemetry: Telemetry,
    pub traffic: Traffic,
    #[serde(default)]
    pub pools: Vec<Pool>,
    pub service: Service,
    #[serde(default)]
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
    #[serde(default)]
    pub injects: Vec<Inject>,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub root_cause: Option<RootCause>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub objectives: Option<Objectives>,
    /// A scripted response that the drill's author considers good; scored like a team.
    #[serde(default)]
    pub reference: Vec<Say>,
    /// Scripted responses the author considers wrong: `calibrate` checks each scores below
    /// the reference and does not recover.
    #[serde(default)]
    pub wrong_responses: Vec<Response>,
    /// Questions for the retrospective.
    #[serde(default)]
    pub debrief: Vec<String>,
    /// The team's dashboard: which metrics `dash` shows, in order (none: the default panels).
    #[serde(default)]
    pub dashboard: Vec<Panel>,
    /// The share of arrivals the team's own actions (throttles, admission limits) may reject
    /// while the system counts as recovered: shedding load is a mitigation, not a recovery.
    #[serde(default = "default_shed_tolerance", deserialize_with = "optional")]
    pub shed_tolerance: f64,
    /// Changes to the system whose effect on this very incident the debrief shows ("what if
    /// we had grown the pool?"), in the syntax of change files.
    #[serde(default)]
    pub whatif: Vec<super::change::Change>,
}

/// The default of [`Drill::shed_tolerance`]: 5% of arrivals.
pub const DEFAULT_SHED_TOLERANCE: f64 = 0.05;

fn default_shed_tolerance() -> f64 {
    DEFAULT_SHED_TOLERANCE
}

/// One row of the team's dashboard: a metric under the title the team's own dashboard gives it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub title: String,
    pub metric: Metric,
    /// The sparkline's full scale, in the metric's unit (ratios as fractions); none: ratios
    /// against 0..1, everything else against its largest value since the start.
    #[serde(default)]
    pub max: Option<f64>,
}

/// Metric buckets, alert evaluation and the request log.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telemetry {
    /// Width of one metric bucket; alerts are evaluated at the end of each bucket.
    #[serde(deserialize_with = "optional")]
    pub bucket: Duration,
    /// The look-back window of alert conditions and dashboard rates (like `rate(x[1m])`).
    #[serde(deserialize_with = "optional")]
    pub window: Duration,
    /// Fraction of successful requests written to the request log (errors are always kept,
    /// up to `log_limit` lines a bucket).
    #[serde(deserialize_with = "optional")]
    pub log_sample: f64,
    /// Most request-log lines kept per bucket and level.
    #[serde(deserialize_with = "optional")]
    pub log_limit: u32,
    /// Fraction of answers the quality evaluation pipeline grades (`EvalWrongAnswerRatio`).
    #[serde(deserialize_with = "optional")]
    pub eval_sample: f64,
    /// How long the evaluation pipeline takes to report on an answer.
    #[serde(deserialize_with = "optional")]
    pub eval_delay: Duration,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            bucket: Duration::from_secs(10),
            window: Duration::from_secs(60),
            log_sample: 0.001,
            log_limit: 20,
            eval_sample: 0.05,
            eval_delay: Duration::from_secs(600),
        }
    }
}

/// Open-model arrivals: a piecewise-linear rate curve, k6-style.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    #[serde(default, deserialize_with = "optional")]
    pub arrivals: Arrivals,
    /// Rate at time zero, in requests per second.
    pub start_rps: f64,
    /// Each stage moves the rate linearly to `to_rps` over `over`; the last rate then holds.
    #[serde(default)]
    pub stages: Vec<Stage>,
}

/// How arrival times are drawn from the rate curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Arrivals {
    /// A (non-homogeneous) Poisson process, drawn by thinning.
    #[default]
    Poisson,
    /// Deterministic, evenly spaced at the current rate.
    Even,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub over: Duration,
    pub to_rps: f64,
}

/// A counting semaphore with a FIFO wait queue, like a HikariCP connection pool.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub name: String,
    /// Connections; must be at least 1.
    pub size: i64,
    /// How long a request waits for a connection before giving up.
    #[serde(default = "default_acquire_timeout", deserialize_with = "optional")]
    pub acquire_timeout: Duration,
    /// CPU cores of the database behind the pool: with more connections busy than cores, each
    /// query slows in proportion (so a bigger pool can make things worse). None: no contention.
    #[serde(default)]
    pub cores: Option<i64>,
    /// Sizes the pool to its load, as Kubernetes' HorizontalPodAutoscaler sizes a deployment
    /// (see docs/drill-format.md, "Autoscaling"). None: the pool keeps its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
}

/// A pool's autoscaler: every `every`, the pool's size is set to keep it `target` busy.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// The utilization to keep (busy connections over ready connections), in (0, 1].
    pub target: f64,
    /// The fewest and most connections the autoscaler sets.
    pub min: i64,
    pub max: i64,
    /// How often it decides (from the drill's start).
    #[serde(default = "default_autoscale_every", deserialize_with = "optional")]
    pub every: Duration,
    /// How long ordered connections take to serve.
    #[serde(default, deserialize_with = "optional")]
    pub ready_after: Duration,
    /// No change while utilization over target is within 1 ± this.
    #[serde(default = "default_autoscale_tolerance", deserialize_with = "optional")]
    pub tolerance: f64,
    /// The stabilization window: a shrink goes only to the highest size wanted over it.
    #[serde(
        default = "default_autoscale_down_window",
        deserialize_with = "optional"
    )]
    pub down_window: Duration,
}

pub(crate) fn default_autoscale_every() -> Duration {
    Duration::from_secs(15)
}

pub(crate) fn default_autoscale_tolerance() -> f64 {
    0.1
}

pub(crate) fn default_autoscale_down_window() -> Duration {
    Duration::from_secs(300)
}

fn default_acquire_timeout() -> Duration {
    Duration::from_secs(30)
}

/// The service every request passes through, step by step.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// Requests beyond this many in flight are rejected at once; none means unlimited.
    #[serde(default)]
    pub max_in_flight: Option<i64>,
    /// How clients retry failed and rejected requests; none means they do not.
    #[serde(default)]
    pub retries: Option<Retries>,
    /// Dollars per thousand model tokens (for `CostRate`).
    #[serde(default, deserialize_with = "optional")]
    pub cost_per_1k_tokens: f64,
    pub steps: Vec<Step>,
}

/// Client retries with exponential backoff and a retry budget.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// Attempts in all, the first included (2 = one retry).
    pub max_attempts: i64,
    /// Wait before the first retry; each later retry waits `multiplier` times longer.
    pub backoff: Duration,
    #[serde(default = "default_multiplier", deserialize_with = "optional")]
    pub multiplier: f64,
    /// Fraction of each wait drawn at random (0 = none, 1 = anywhere from zero to the wait).
    #[serde(default, deserialize_with = "optional")]
    pub jitter: f64,
    /// Retries allowed per first attempt, e.g. 0.2 (a Finagle-style retry budget; ten retries
    /// of credit to start). None: no budget, every failure is retried.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Whether a request admission rejected (an admission limit, `max_in_flight`) is retried
    /// like a failed one. True by default; false for a client that gives up on a 429/503 from
    /// the service's own admission (each rejection then ends its request).
    #[serde(default = "default_retry_rejected", deserialize_with = "optional")]
    pub retry_rejected: bool,
}

fn default_retry_rejected() -> bool {
    true
}

fn default_multiplier() -> f64 {
    2.0
}

/// One step of a request: optionally holds a pool connection for its sampled time.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    /// The pool to hold a connection from while the step runs.
    #[serde(default)]
    pub pool: Option<String>,
    /// Several pools to hold while the step runs (an HTTP client's and the database's),
    /// acquired in this order and released together; instead of `pool`.
    #[serde(default)]
    pub pools: Vec<String>,
    pub time: TimeDist,
    /// The share of requests that run the step (a request path: only billing questions call
    /// the billing tool), drawn per request; none means every request.
    #[serde(default)]
    pub share: Option<f64>,
    /// A call that runs longer is ended at this time (its connections released then) and
    /// handled by `on_timeout`; none means calls run to the end.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// What happens when a pool's acquire timeout expires or a call reaches `timeout`.
    #[serde(default, deserialize_with = "optional")]
    pub on_timeout: OnTimeout,
    /// Probability that the step fails on its own (before any fault).
    #[serde(default, deserialize_with = "optional")]
    pub error_rate: f64,
    /// Probability that the step's output makes the answer wrong (model quality).
    #[serde(default, deserialize_with = "optional")]
    pub wrong_answer_rate: f64,
    /// Model tokens the step produces per call (for `TokenRate` and `CostRate`).
    #[serde(default, deserialize_with = "optional")]
    pub tokens: f64,
    /// What the step switches to under `UseFallback`: another model, its latency and quality.
    #[serde(default)]
    pub fallback: Option<Fallback>,
    /// What the service logs when a call of this step fails: the text of the step's error
    /// lines in the request log.
    #[serde(default)]
    pub log: Option<String>,
    /// The dependency's rate limit: calls beyond it are refused at once (a 429).
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// The client's retries of a failed call of this step.
    #[serde(default)]
    pub retries: Option<StepRetries>,
}

impl Step {
    /// The pools the step holds, in the order it acquires them (`pool` or `pools`).
    #[must_use]
    pub fn pool_names(&self) -> Vec<&str> {
        self.pool
            .iter()
            .chain(&self.pools)
            .map(String::as_str)
            .collect()
    }
}

/// A step's fallback (model failover).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    pub time: TimeDist,
    #[serde(default, deserialize_with = "optional")]
    pub wrong_answer_rate: f64,
    #[serde(default, deserialize_with = "optional")]
    pub tokens: f64,
}

/// A distribution of step times.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum TimeDist {
    Constant(Duration),
    Exponential {
        mean: Duration,
    },
    /// Log-normal given by its median and 99th percentile (p99 ≥ median).
    LogNormal {
        median: Duration,
        p99: Duration,
    },
    Uniform {
        min: Duration,
        max: Duration,
    },
}

/// What a request does when it cannot get a connection in time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum OnTimeout {
    /// The request fails with an error.
    #[default]
    Fail,
    /// The request goes on without this step; its answer is wrong with this probability.
    Degrade { wrong_answer_rate: f64 },
}

/// A failure injected by the script.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub name: String,
    /// When the fault begins, from the start of the drill.
    pub at: Duration,
    /// The effect grows linearly to full strength over this long.
    #[serde(default, deserialize_with = "optional")]
    pub ramp: Duration,
    /// The fault ends by itself after this long; none means it lasts until the drill ends.
    #[serde(default)]
    pub lasts: Option<Duration>,
    /// What the fault does: one effect ...
    #[serde(default)]
    pub effect: Option<Effect>,
    /// ... or several, applied together (exactly one of `effect` and `effects`).
    #[serde(default)]
    pub effects: Option<Vec<Effect>>,
    /// What the service logs about the calls this fault affects, while it is in effect.
    #[serde(default)]
    pub log: Option<String>,
    /// Whether the fault is a cause of the incident (the default) or a distraction (a red
    /// herring: `cause: false`). Objectives, timings, `Recovered` and the root cause refer to
    /// the causes.
    #[serde(default = "yes", deserialize_with = "optional")]
    pub cause: bool,
    /// Whether the fault should page in runs with no team, as `firedrill calibrate` checks
    /// it; unset means `Fires` for a cause and `Either` for a distraction.
    #[serde(default)]
    pub expect: Option<Expect>,
}

fn yes() -> bool {
    true
}

impl Fault {
    /// What calibrate expects of this fault: its `expect`, or `Fires` for a cause and
    /// `Either` for a distraction.
    #[must_use]
    pub fn expected(&self) -> Expect {
        self.expect.unwrap_or(if self.cause {
            Expect::Fires
        } else {
            Expect::Either
        })
    }

    /// Every effect of the fault, in order.
    #[must_use]
    pub fn all_effects(&self) -> Vec<&Effect> {
        all_effects(self.effect.as_ref(), self.effects.as_deref())
    }
}

/// A fault's or action's `effect`, then its `effects`.
fn all_effects<'e>(effect: Option<&'e Effect>, effects: Option<&'e [Effect]>) -> Vec<&'e Effect> {
    effect
        .into_iter()
        .chain(effects.into_iter().flatten())
        .collect()
}

/// A change to the system's parameters. Faults and team actions apply the same effects.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Effect {
    /// Multiplies the arrival rate.
    TrafficMultiplier(Value),
    /// Admits at most `rps` new requests per second (token bucket, one second of burst);
    /// the rest are rejected.
    AdmissionLimit { rps: Value },
    /// Sets the most requests in flight; beyond it arrivals are rejected.
    MaxInFlight { limit: Value },
    /// Sets a pool's size.
    PoolSize { pool: String, size: Value },
    /// Multiplies a step's sampled time (of `share` of its calls, drawn per call; all when
    /// none).
    StepTimeMultiplier {
        step: String,
        factor: Value,
        #[serde(default)]
        share: Option<f64>,
    },
    /// Makes a step fail with this probability (added to its own error rate).
    StepErrorRate {
        step: String,
        rate: Value,
        #[serde(default)]
        share: Option<f64>,
    },
    /// Each connection released to the pool is lost with this probability.
    ConnectionLeak { pool: String, fraction: Value },
    /// Adds to the probability that a step makes the answer wrong (a bad model or prompt).
    WrongAnswerRate {
        step: String,
        rate: Value,
        #[serde(default)]
        share: Option<f64>,
    },
    /// Multiplies a step's tokens, and its time with them (longer outputs take longer).
    TokenMultiplier {
        step: String,
        factor: Value,
        #[serde(default)]
        share: Option<f64>,
    },
    /// Switches a step to its fallback.
    UseFallback {
        step: String,
        #[serde(default)]
        share: Option<f64>,
    },
    /// Sets a step's call timeout (see `Step::timeout`).
    StepTimeout { step: String, timeout: Duration },
    /// Sets the share of requests that take a step's path (`Step::share`), reached linearly over
    /// the ramp: a cache flush sends nearly every lookup to the database.
    StepShare { step: String, share: Value },
    /// Sets a step's dependency rate limit (`Step::rate_limit`; `burst` none: one second's
    /// worth): the vendor lowers it, or the team buys more.
    StepRateLimit {
        step: String,
        rps: Value,
        #[serde(default)]
        burst: Option<Value>,
    },
    /// Changes retries: a step's (`Step::retries`), or the service's client retries when
    /// `step` is left out. Fields left out keep their current values.
    SetRetries {
        #[serde(default)]
        step: Option<String>,
        #[serde(default)]
        max_attempts: Option<i64>,
        #[serde(default)]
        backoff: Option<Duration>,
        #[serde(default)]
        multiplier: Option<f64>,
        #[serde(default)]
        jitter: Option<f64>,
        #[serde(default)]
        budget: Option<f64>,
    },
    /// Ends a fault (a rollback): its effect stops at once.
    EndFault(String),
    /// Ends the lasting effects of an earlier team action (closes a breaker, lifts a throttle).
    EndAction(String),
    /// Restarts a pool: leaked connections come back, after `dip` with no connections at all.
    RestartPool { pool: String, dip: Duration },
    /// Turns a pool's autoscaler on, or changes it (the fields of `Pool::autoscale`; those
    /// left out take their defaults). It stays on while the fault or action lasts.
    Autoscale {
        pool: String,
        target: f64,
        min: i64,
        max: i64,
        #[serde(default)]
        every: Option<Duration>,
        #[serde(default)]
        ready_after: Option<Duration>,
        #[serde(default)]
        tolerance: Option<f64>,
        #[serde(default)]
        down_window: Option<Duration>,
    },
}

/// An alert rule with Prometheus semantics: inactive → pending for `for` → firing → resolved.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub name: String,
    pub when: Condition,
    /// How long the condition must hold before the alert fires.
    #[serde(rename = "for", default, deserialize_with = "optional")]
    pub hold: Duration,
    #[serde(default, deserialize_with = "optional")]
    pub severity: Severity,
    #[serde(default, deserialize_with = "optional")]
    pub summary: String,
    /// A link or path to the runbook, shown with the alert.
    #[serde(default)]
    pub runbook: Option<String>,
    /// What `firedrill calibrate` expects of the alert in runs with no team.
    #[serde(default, deserialize_with = "optional")]
    pub expect: Expect,
}

/// What an alert should do in runs with no team, as `firedrill calibrate` checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Expect {
    /// It fires in almost every run: the team is meant to see it.
    #[default]
    Fires,
    /// It stays quiet in almost every run: a signal that rules a cause out (the model's
    /// latency alert in a drill about the database, say).
    Quiet,
    /// No expectation: it may or may not fire (a noisy ticket, a flapping symptom).
    Either,
}

impl Expect {
    /// `fires`, `quiet` or `either`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Fires => "fires",
            Expect::Quiet => "quiet",
            Expect::Either => "either",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Condition {
    Above { metric: Metric, threshold: f64 },
    Below { metric: Metric, threshold: f64 },
}

impl Condition {
    #[must_use]
    pub fn metric(&self) -> &Metric {
        match self {
            Condition::Above { metric, .. } | Condition::Below { metric, .. } => metric,
        }
    }
}

/// A signal an alert can watch, measured over the telemetry window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Metric {
    /// Requests arriving per second (before admission).
    ArrivalRate,
    /// Requests completing per second.
    Throughput,
    /// Requests failing per second.
    ErrorRate,
    /// Failed and rejected requests over requests finished.
    ErrorRatio,
    /// Requests rejected per second (admission limit or max in flight).
    RejectedRate,
    /// Degraded answers over completed requests.
    DegradedRatio,
    /// Wrong answers over completed requests.
    WrongAnswerRatio,
    /// Latency quantiles of requests completing in the window, in seconds.
    LatencyP50,
    LatencyP95,
    LatencyP99,
    /// Requests in flight, time-averaged.
    InFlight,
    /// Connections in use over pool size, time-averaged.
    PoolUtilization(String),
    /// Requests waiting for a connection, time-averaged.
    PoolWaiting(String),
    /// The pool's size (connections ready to serve) at the bucket's end: it changes with
    /// effects and the pool's autoscaler.
    PoolSize(String),
    /// Acquire timeouts per second.
    PoolTimeoutRate(String),
    /// Mean running time of the step's calls that finished in the window, in seconds
    /// (connection waits not included).
    StepTime(String),
    /// The step's calls that ended in an error over its calls that finished in the window.
    StepErrorRatio(String),
    /// The step's calls refused by its rate limit (429s) per second.
    StepRateLimitedRate(String),
    /// The step's calls retried per second (`Step::retries`).
    StepRetryRate(String),
    /// Client retries per second.
    RetryRate,
    /// Model tokens per second.
    TokenRate,
    /// Model spend in dollars per hour.
    CostRate,
    /// Wrong answers over graded answers, as the evaluation pipeline reports them: a sample
    /// (`eval_sample`) of answers, `eval_delay` late.
    EvalWrongAnswerRatio,
}

impl Metric {
    /// The pool this metric is about, if any.
    #[must_use]
    pub fn pool(&self) -> Option<&str> {
        match self {
            Metric::PoolUtilization(p)
            | Metric::PoolWaiting(p)
            | Metric::PoolSize(p)
            | Metric::PoolTimeoutRate(p) => Some(p),
            _ => None,
        }
    }

    /// The step this metric is about, if any.
    #[must_use]
    pub fn step(&self) -> Option<&str> {
        match self {
            Metric::StepTime(s)
            | Metric::StepErrorRatio(s)
            | Metric::StepRateLimitedRate(s)
            | Metric::StepRetryRate(s) => Some(s),
            _ => None,
        }
    }

    /// `true` for a metric no real system measures as it happens (`WrongAnswerRatio`): an
    /// alert or a dashboard panel on it shows the team ground truth.
    #[must_use]
    pub fn is_ground_truth(&self) -> bool {
        matches!(self, Metric::WrongAnswerRatio)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Severity {
    /// Wakes someone: counts for `FirstPage` and `Recovered`.
    #[default]
    Page,
    Ticket,
}

/// A time anchored on something that happens in the run.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Anchor {
    /// From the start of the drill.
    At(Duration),
    /// This long after an event; the anchor never resolves if the event never happens.
    After(Event, Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Event {
    /// The first time any `Page` alert fires.
    FirstPage,
    /// The first command of this name accepted from the team.
    Command(String),
    FaultStart(String),
    AlertFires(String),
    /// The first moment after the first page at which no page alert has been pending or
    /// firing for five minutes.
    Recovered,
}

/// A message that reaches the team during the drill.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Inject {
    pub at: Anchor,
    pub from: String,
    pub message: String,
}

/// Something the team can do to the system: `throttle rps=150`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub name: String,
    #[serde(default, deserialize_with = "optional")]
    pub help: String,
    /// Parameters the command takes as `key=value`: a name, or `Param(name: ..., min: ...,
    /// max: ..., integer: ...)` with bounds.
    #[serde(default)]
    pub params: Vec<ActionParam>,
    /// Time from the command until the effect applies.
    #[serde(default, deserialize_with = "optional")]
    pub delay: Duration,
    /// What the action does: one effect ...
    #[serde(default)]
    pub effect: Option<Effect>,
    /// ... or several, applied together (exactly one of `effect` and `effects`).
    #[serde(default)]
    pub effects: Option<Vec<Effect>>,
}

impl Action {
    /// Every effect of the action, in order.
    #[must_use]
    pub fn all_effects(&self) -> Vec<&Effect> {
        all_effects(self.effect.as_ref(), self.effects.as_deref())
    }

    /// The names of its parameters, in order.
    #[must_use]
    pub fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(ActionParam::name).collect()
    }

    /// The parameter called `name`.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&ActionParam> {
        self.params.iter().find(|p| p.name() == name)
    }
}

/// An action's parameter: a plain name (any number), or a bounded one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ActionParam {
    Name(String),
    Bounded(Param),
}

impl<'de> Deserialize<'de> for ActionParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor;
        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = ActionParam;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a parameter name such as \"size\", or Param(name: \"size\", min: 1, max: 60)",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionParam, E> {
                Ok(ActionParam::Name(v.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ActionParam, A::Error> {
                Param::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ActionParam::Bounded)
            }
        }
        deserializer.deserialize_any(ParamVisitor)
    }
}

/// A parameter with bounds: `Param(name: "size", min: 1, max: 60, integer: true)`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Whether the value must be a whole number.
    #[serde(default, deserialize_with = "optional")]
    pub integer: bool,
}

impl fmt::Display for ActionParam {
    /// The parameter's name.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<str> for ActionParam {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<String> for ActionParam {
    fn eq(&self, other: &String) -> bool {
        self.name() == other
    }
}

impl ActionParam {
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            ActionParam::Name(name) => name,
            ActionParam::Bounded(p) => &p.name,
        }
    }

    /// Checks a value the team gave; the error says what is wrong (the bounds included).
    ///
    /// # Errors
    /// A value below `min`, above `max`, or fractional where a whole number is needed.
    pub fn check(&self, value: f64) -> Result<(), String> {
        let ActionParam::Bounded(p) = self else {
            return Ok(());
        };
        let bounds = match (p.min, p.max) {
            (Some(lo), Some(hi)) => format!("from {lo} to {hi}"),
            (Some(lo), None) => format!("at least {lo}"),
            (None, Some(hi)) => format!("at most {hi}"),
            (None, None) => "any number".to_owned(),
        };
        let whole = if p.integer { "a whole number " } else { "" };
        if p.integer && value.fract() != 0.0 {
            return Err(format!("`{}` must be {whole}{bounds}, not {value}", p.name));
        }
        if p.min.is_some_and(|lo| value < lo) || p.max.is_some_and(|hi| value > hi) {
            return Err(format!("`{}` must be {whole}{bounds}, not {value}", p.name));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RootCause {
    /// A diagnosis containing every word of the id is correct.
    pub id: String,
    /// Other phrases: a diagnosis containing every word of one is correct (case, punctuation,
    /// hyphens and word order aside).
    #[serde(default)]
    pub accept: Vec<String>,
    #[serde(default, deserialize_with = "optional")]
    pub explanation: String,
    /// The share of the diagnose task's points kept per wrong guess before the right one:
    /// 0.5 halves them with each wrong guess, 1 makes guessing free, 0 forfeits them at the
    /// first wrong guess.
    #[serde(
        default = "default_kept_per_wrong_guess",
        deserialize_with = "optional"
    )]
    pub kept_per_wrong_guess: f64,
}

fn default_kept_per_wrong_guess() -> f64 {
    0.5
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub checklist: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub id: String,
    pub text: String,
    pub done_by: Done,
    pub due: Anchor,
    #[serde(default = "default_points", deserialize_with = "optional")]
    pub points: i64,
}

fn default_points() -> i64 {
    1
}

/// What completes a checklist task.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Done {
    /// A command of this name (`ack`, `declare`, or a drill action), or a looking command
    /// (`dash`, `logs`, `metric`, ...) made after the task's deadline's event; `declare sev2`
    /// asks for that severity.
    Command(String),
    /// Any one of these criteria.
    AnyOf(Vec<Done>),
    /// Any of the drill's actions.
    AnyAction,
    /// A correct `diagnose`.
    Diagnosis,
    /// The inner criterion met this many times.
    Count(Box<Done>, u32),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Objectives {
    /// From the fault's start to the first acknowledgement.
    #[serde(default)]
    pub detect_within: Option<Duration>,
    /// From the fault's start to recovery.
    #[serde(default)]
    pub mitigate_within: Option<Duration>,
}

/// A named scripted response (a wrong one, for `calibrate` and `play --wrong`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// Unique among the drill's wrong responses: `play FILE --wrong NAME`.
    pub name: String,
    /// What the response does, as in `reference`.
    pub says: Vec<Say>,
}

/// One line of a scripted response: `role` types `input` at `at`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Say {
    pub at: Anchor,
    pub role: String,
    pub input: String,
}

/// A field with a default, read with or without RON's explicit `Some(..)`: `seed: 7` and
/// `seed: Some(7)` are the same, as they are for a field whose type is an `Option` (the
/// loader always enables `implicit_some`). `None` is refused: leaving the field out is how a
/// drill asks for the default.
fn optional<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)?.ok_or_else(|| {
        serde::de::Error::custom(
            "`None` is not a value here: leave the field out for its default, or give a value",
        )
    })
}
