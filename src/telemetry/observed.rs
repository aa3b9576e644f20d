//! The observation side of the truth boundary: what a real team could see of the run.
//!
//! The engine's [`Telemetry`] holds ground truth beside observations: every bucket counts the
//! wrong answers as they happen, and its window holds their ratio. A real team sees neither;
//! its only quality signal is the evaluation pipeline's late, sampled ratio
//! (`EvalWrongAnswerRatio`). Player-facing code (the prompt's `dash`, `metric` and `logs`)
//! reads the run through a [`TeamView`], which hands out buckets as [`ObservedBucket`]s whose
//! values can only be read with an [`Observable`], a signal that passed
//! [`Observable::new`]. So a view cannot show a truth-only series by accident: it would have
//! to hold the raw [`Telemetry`], which the view context does not carry.
//!
//! What counts as ground truth is [`Signal::is_ground_truth`]. Degraded answers are *not*
//! truth: the service itself logs every request it answered without a step, so a real team's
//! dashboards count them. Fault state never enters telemetry at all.
//!
//! This module does not render anything ([`crate::session::views`] does) and does not decide
//! what scoring or the debrief see: they read the whole [`Telemetry`] and the run's truth.

use std::fmt;

use crate::drill::Duration;
use crate::telemetry::log::LogLine;
use crate::telemetry::series::{Bucket, Signal};
use crate::telemetry::store::Telemetry;

/// A signal a real team can observe: the only key an [`ObservedBucket`] answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observable(Signal);

impl Observable {
    /// `signal`, if a real team could observe it.
    ///
    /// # Errors
    /// [`TruthOnly`] for a ground-truth signal, with a message that says what to watch instead.
    pub fn new(signal: Signal) -> Result<Observable, TruthOnly> {
        if signal.is_ground_truth() {
            Err(TruthOnly(signal))
        } else {
            Ok(Observable(signal))
        }
    }

    /// The signal underneath.
    #[must_use]
    pub fn signal(self) -> Signal {
        self.0
    }
}

/// A ground-truth signal asked for where only observations may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruthOnly(pub Signal);

impl fmt::Display for TruthOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Signal::WrongAnswerRatio => f.write_str(
                "`wrong_answer_ratio` is ground truth: a real team cannot see wrong answers as \
                 they happen; use `eval_wrong_answer_ratio`, which the evaluation pipeline \
                 reports late and sampled",
            ),
            other => write!(
                f,
                "`{other:?}` is ground truth that a real team cannot observe"
            ),
        }
    }
}

impl std::error::Error for TruthOnly {}

/// The run's telemetry as a real team sees it: metric buckets readable only through
/// [`Observable`] signals, and the request log (every line of which the service printed).
#[derive(Debug, Clone, Copy)]
pub struct TeamView<'a> {
    telemetry: &'a Telemetry,
}

impl<'a> TeamView<'a> {
    #[must_use]
    pub fn new(telemetry: &'a Telemetry) -> Self {
        TeamView { telemetry }
    }

    /// Every closed bucket, oldest first.
    #[must_use]
    pub fn buckets(&self) -> ObservedBuckets<'a> {
        ObservedBuckets(self.telemetry.buckets())
    }

    /// The request log, oldest first.
    #[must_use]
    pub fn log(&self) -> &'a [LogLine] {
        self.telemetry.log()
    }

    /// The width of one metric bucket.
    #[must_use]
    pub fn bucket_width(&self) -> Duration {
        self.telemetry.bucket_width
    }

    /// The look-back window of rates and ratios.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.telemetry.window
    }
}

/// A run of consecutive buckets, oldest first, seen from the team's side.
#[derive(Debug, Clone, Copy)]
pub struct ObservedBuckets<'a>(&'a [Bucket]);

impl<'a> ObservedBuckets<'a> {
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn last(&self) -> Option<ObservedBucket<'a>> {
        self.0.last().map(ObservedBucket)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = ObservedBucket<'a>> + 'a {
        self.0.iter().map(ObservedBucket)
    }

    /// The buckets from the first for which `before` is false (they must be ordered so that
    /// `before` holds for a prefix).
    #[must_use]
    pub fn from_first(&self, before: impl Fn(ObservedBucket) -> bool) -> ObservedBuckets<'a> {
        ObservedBuckets(&self.0[self.0.partition_point(|b| before(ObservedBucket(b)))..])
    }

    /// The buckets for which `keep` holds, up to the first for which it does not.
    #[must_use]
    pub fn prefix_while(&self, keep: impl Fn(ObservedBucket) -> bool) -> ObservedBuckets<'a> {
        ObservedBuckets(&self.0[..self.0.partition_point(|b| keep(ObservedBucket(b)))])
    }
}

/// One closed bucket, seen from the team's side.
#[derive(Debug, Clone, Copy)]
pub struct ObservedBucket<'a>(&'a Bucket);

impl ObservedBucket<'_> {
    /// Start of the bucket, seconds from the start of the drill.
    #[must_use]
    pub fn start(&self) -> f64 {
        self.0.start
    }

    /// Width in seconds (the last bucket may be shorter).
    #[must_use]
    pub fn width(&self) -> f64 {
        self.0.width
    }

    /// What the alert conditions saw for `signal` at the bucket's end, or `None` for a pool
    /// or step the bucket does not know.
    #[must_use]
    pub fn value(&self, signal: Observable) -> Option<f64> {
        self.0.window.get(signal.0)
    }

    /// Size of pool `pool` at the bucket's end (what the pool's own metrics report).
    #[must_use]
    pub fn pool_size(&self, pool: usize) -> Option<u64> {
        self.0.pools.get(pool).map(|p| p.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_answers_as_they_happen_are_not_observable() {
        let err = Observable::new(Signal::WrongAnswerRatio).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("ground truth"), "{text}");
        assert!(text.contains("eval_wrong_answer_ratio"), "{text}");
        for signal in [
            Signal::EvalWrongAnswerRatio,
            Signal::DegradedRatio,
            Signal::PoolUtilization(0),
            Signal::StepTime(0),
        ] {
            assert_eq!(Observable::new(signal).map(Observable::signal), Ok(signal));
        }
    }
}
