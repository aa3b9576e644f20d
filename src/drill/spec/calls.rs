//! What a step's calls meet at the dependency: its rate limit ([`RateLimit`]) and the
//! client's retries of a failed call ([`StepRetries`]).

use serde::{Deserialize, Serialize};

use super::{Duration, default_multiplier, optional};

/// A dependency's rate limit on a step's calls: a token bucket of `rps` calls per second
/// holding at most `burst` (one second's worth when left out). A call that finds it empty is
/// refused with a 429, which comes back after `refusal_time` (at once when left out).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub rps: f64,
    #[serde(default)]
    pub burst: Option<f64>,
    /// How long a refused call takes to come back (the round trip to the vendor); it holds
    /// the step's connections for that long.
    #[serde(default, deserialize_with = "optional")]
    pub refusal_time: Duration,
}

/// The client's retries of a step's failed calls: each failed call (of a kind in `on`)
/// waits its backoff, holding or releasing the step's connections (`hold`), and calls again.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename = "Retries")]
pub struct StepRetries {
    /// Calls in all, the first included (3 = two retries), 1 to 10.
    pub max_attempts: i64,
    /// Wait before the first retry (none when left out); each later retry waits
    /// `multiplier` times longer.
    #[serde(default, deserialize_with = "optional")]
    pub backoff: Duration,
    #[serde(default = "default_multiplier", deserialize_with = "optional")]
    pub multiplier: f64,
    /// Fraction of each wait drawn at random (0 = none, 1 = anywhere from zero to the wait).
    #[serde(default, deserialize_with = "optional")]
    pub jitter: f64,
    /// Retries allowed per first call (ten retries of credit to start); none: no budget.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Which failed calls are retried (all three kinds when left out).
    #[serde(default = "every_failure", deserialize_with = "optional")]
    pub on: Vec<RetryOn>,
    /// Whether a call backing off keeps the step's connections (`Hold`, the default: the
    /// retry loop runs inside the call) or gives them back and waits for them again.
    #[serde(default, deserialize_with = "optional")]
    pub hold: Hold,
}

fn every_failure() -> Vec<RetryOn> {
    vec![RetryOn::Errors, RetryOn::RateLimited, RetryOn::Timeouts]
}

/// A kind of failed call that retries may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum RetryOn {
    /// The call ended in an error.
    Errors,
    /// The dependency refused the call (429).
    RateLimited,
    /// The call ran into the step's `timeout`.
    Timeouts,
}

/// What a call backing off does with the step's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Hold {
    /// Keeps them while it waits.
    #[default]
    Hold,
    /// Gives them back and waits for them again before the next call.
    Release,
}
