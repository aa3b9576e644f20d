//! Time-weighted levels (connections busy, requests waiting, requests in flight), integrated
//! exactly in integer nanoseconds by marks: one multiply-add per change. Which levels the
//! engine keeps, and when buckets and the warm-up start, is [`super::Core`]'s business.

use crate::sim::SimTime;

/// A time-weighted level (connections busy, requests waiting, in flight): integrates the
/// level over the current bucket and over the measured period (after warm-up).
///
/// The integral from zero to `t` is `acc + value·t`, where `acc` gathers `-Δvalue·t` at each
/// change: a change costs one multiply-add, and the integral over any span is the difference
/// of two such values (exact, in integer nanoseconds; drills last at most 100 years, so
/// times fit in an `i64`). The value at a change's own instant does not matter to the
/// integral up to that instant, so marks can be taken before or after same-time changes.
#[derive(Debug, Clone, Default)]
pub struct Gauge {
    pub value: u64,
    acc: i128,
    /// The integral up to the start of the current bucket.
    bucket_mark: i128,
    /// The integral up to the end of the warm-up (taken by [`Core::end_warmup`]).
    warm_mark: i128,
}

impl Gauge {
    /// A level that starts at `value` (at time zero).
    pub(super) fn starting_at(value: u64) -> Gauge {
        Gauge {
            value,
            ..Gauge::default()
        }
    }

    /// The integral of the level from zero to `t` (no change after `t` yet).
    pub(super) fn area(&self, t: SimTime) -> i128 {
        self.acc + i128::from(self.value.cast_signed()) * i128::from(t.nanos().cast_signed())
    }

    pub(super) fn set(&mut self, value: u64, now: SimTime) {
        let delta = self.value.cast_signed() - value.cast_signed();
        self.acc += i128::from(delta) * i128::from(now.nanos().cast_signed());
        self.value = value;
    }

    /// Mean over the bucket that began at `start`, then starts the next bucket.
    pub(super) fn take_bucket_mean(&mut self, start: SimTime, now: SimTime) -> f64 {
        let area = self.area(now);
        let width = now.since(start).as_nanos();
        let mean = if width == 0 {
            0.0
        } else {
            (area - self.bucket_mark) as f64 / width as f64
        };
        self.bucket_mark = area;
        mean
    }

    /// The measured period starts at `now`: marks the integral so far.
    pub(super) fn mark_warm(&mut self, now: SimTime) {
        self.warm_mark = self.area(now);
    }

    /// Mean over the measured period [warmup, now].
    #[must_use]
    pub fn total_mean(&self, warmup: SimTime, now: SimTime) -> f64 {
        let width = now.since(warmup).as_nanos();
        if width == 0 {
            0.0
        } else {
            (self.area(now) - self.warm_mark) as f64 / width as f64
        }
    }
}
