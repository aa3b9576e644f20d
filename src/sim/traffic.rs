//! Traffic: the rate curve (piecewise-linear k6-style stages, the last rate holding), the
//! arrival process drawn from it (Poisson by thinning, or evenly spaced), and admission
//! control (a token bucket for rate limits).
//!
//! Arrival planning uses only the `arrivals` stream, so nothing downstream of admission can
//! change when requests arrive.

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};

use super::SimTime;
use crate::drill::spec::{Arrivals, Traffic};

/// A piecewise-linear rate in requests per second, by simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCurve {
    /// (time in ns, rate) corners, times strictly increasing, the first at zero.
    corners: Vec<(u64, f64)>,
}

impl RateCurve {
    #[must_use]
    pub fn new(traffic: &Traffic) -> Self {
        let mut corners = vec![(0u64, traffic.start_rps.max(0.0))];
        let mut t = 0u64;
        for stage in &traffic.stages {
            if stage.over.is_zero() {
                // A zero-length stage is a step (validation warns authors about it).
                if let Some(last) = corners.last_mut()
                    && last.0 == t
                {
                    last.1 = stage.to_rps.max(0.0);
                    continue;
                }
                corners.push((t, stage.to_rps.max(0.0)));
                continue;
            }
            t = t.saturating_add(stage.over.as_nanos());
            corners.push((t, stage.to_rps.max(0.0)));
        }
        RateCurve { corners }
    }

    /// The rate at `t`.
    #[must_use]
    pub fn rate(&self, t: u64) -> f64 {
        self.segment(t).rate(t)
    }

    /// The linear piece of the curve that holds at `t`.
    #[must_use]
    pub fn segment(&self, t: u64) -> Segment {
        // The first corner is at zero, so `i` ≥ 1.
        let i = self.corners.partition_point(|&(ct, _)| ct <= t).max(1);
        let (start, from) = self.corners[i - 1];
        match self.corners.get(i) {
            Some(&(end, to)) => Segment {
                start,
                end,
                from,
                to,
            },
            None => Segment {
                start,
                end: u64::MAX,
                from,
                to: from,
            },
        }
    }

    /// The first corner strictly after `t`, if any.
    #[must_use]
    pub fn next_corner(&self, t: u64) -> Option<u64> {
        let i = self.corners.partition_point(|&(ct, _)| ct <= t);
        self.corners.get(i).map(|&(ct, _)| ct)
    }

    /// ∫ rate dt over [a, b], in requests (a ≤ b, nanoseconds).
    #[must_use]
    pub fn integral(&self, a: u64, b: u64) -> f64 {
        let mut total = 0.0;
        let mut t = a;
        while t < b {
            let seg_end = self.next_corner(t).map_or(b, |c| c.min(b));
            total += f64::midpoint(self.rate(t), self.rate(seg_end)) * (seg_end - t) as f64 / 1e9;
            t = seg_end;
        }
        total
    }
}

/// One linear piece of a [`RateCurve`]: the rate goes from `from` at `start` to `to` at
/// `end` (the next corner; `u64::MAX` for the last rate, which holds for ever).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: u64,
    pub end: u64,
    pub from: f64,
    pub to: f64,
}

impl Segment {
    #[must_use]
    pub fn contains(&self, t: u64) -> bool {
        self.start <= t && t < self.end
    }

    /// The rate at `t`, a time in `start..=end` (at `end`, the next piece's first rate).
    #[must_use]
    pub fn rate(&self, t: u64) -> f64 {
        if t >= self.end {
            self.to
        } else if self.end == u64::MAX {
            self.from
        } else {
            self.from
                + (self.to - self.from) * ((t - self.start) as f64 / (self.end - self.start) as f64)
        }
    }
}

/// The arrival process: it plans one candidate arrival at a time.
#[derive(Debug)]
pub struct ArrivalProcess {
    pub curve: RateCurve,
    kind: Arrivals,
    rng: ChaCha8Rng,
    /// Multiplier from effects, constant between re-plans.
    pub multiplier: f64,
    /// The thinning bound the pending candidate was drawn with.
    bound: f64,
    /// The piece of the curve last planned in (almost every arrival falls in the same one).
    segment: Segment,
    /// Whether the pending candidate is sure to pass the thinning test: evenly spaced, or
    /// drawn in a flat piece of the curve (where the bound is the rate itself).
    certain: bool,
}

/// A planned candidate arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub at: SimTime,
}

impl ArrivalProcess {
    #[must_use]
    pub fn new(traffic: &Traffic, rng: ChaCha8Rng) -> Self {
        let curve = RateCurve::new(traffic);
        ArrivalProcess {
            segment: curve.segment(0),
            curve,
            kind: traffic.arrivals,
            rng,
            multiplier: 1.0,
            bound: 0.0,
            certain: traffic.arrivals == Arrivals::Even,
        }
    }

    /// The piece of the curve that holds at `t`.
    fn segment_at(&mut self, t: u64) -> Segment {
        if !self.segment.contains(t) {
            self.segment = self.curve.segment(t);
        }
        self.segment
    }

    /// The rate, multiplier included, at `t`.
    #[must_use]
    pub fn rate(&self, t: SimTime) -> f64 {
        self.curve.rate(t.nanos()) * self.multiplier
    }

    /// Plans the next candidate strictly after `now` and before `end`, if there is one.
    pub fn plan(&mut self, now: SimTime, end: SimTime) -> Option<Candidate> {
        match self.kind {
            Arrivals::Poisson => self.plan_poisson(now, end),
            Arrivals::Even => self.plan_even(now, end),
        }
    }

    fn plan_poisson(&mut self, now: SimTime, end: SimTime) -> Option<Candidate> {
        let mut t = now.nanos();
        while t < end.nanos() {
            let segment = self.segment_at(t);
            let seg_end = segment.end.min(end.nanos());
            // Rate is linear within a segment, so its larger end bounds it.
            let bound = self.multiplier * segment.rate(t).max(segment.rate(seg_end));
            if bound <= 0.0 {
                t = seg_end;
                continue;
            }
            let gap: f64 = Exp1.sample(&mut self.rng);
            // Times go through i64, whose conversions to and from f64 are single
            // instructions (drills last at most 100 years, well within it).
            let next = t.cast_signed() as f64 + gap / bound * 1e9;
            if next >= seg_end.cast_signed() as f64 {
                t = seg_end;
                continue;
            }
            self.bound = bound;
            // Truncate, then at least one nanosecond on, so time always advances.
            let at = (next as i64).cast_unsigned().max(t + 1);
            self.certain = segment.from == segment.to && at < segment.end;
            return Some(Candidate {
                at: SimTime::from_nanos(at),
            });
        }
        None
    }

    fn plan_even(&mut self, now: SimTime, end: SimTime) -> Option<Candidate> {
        let mut t = now.nanos();
        while t < end.nanos() {
            let rate = self.rate(SimTime::from_nanos(t));
            if rate <= 0.0 {
                t = self.curve.next_corner(t)?;
                continue;
            }
            let next = t + ((1e9 / rate).round() as u64).max(1);
            return (next < end.nanos()).then_some(Candidate {
                at: SimTime::from_nanos(next),
            });
        }
        None
    }

    /// Whether the candidate at `at` is a real arrival (the thinning test).
    #[inline]
    pub fn accept(&mut self, at: SimTime) -> bool {
        if self.certain {
            return true;
        }
        match self.kind {
            Arrivals::Even => true,
            Arrivals::Poisson => {
                let t = at.nanos();
                let p = self.segment_at(t).rate(t) * self.multiplier / self.bound;
                p >= 1.0 || self.rng.random::<f64>() < p
            }
        }
    }
}

/// A token bucket: `rate` tokens a second, holding at most `capacity` (one second's worth,
/// at least one, unless given).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: SimTime,
}

impl TokenBucket {
    /// A full bucket holding one second's worth (at least one token).
    #[must_use]
    pub fn new(rate: f64, now: SimTime) -> Self {
        Self::with_burst(rate, rate.max(1.0), now)
    }

    /// A full bucket holding at most `burst` tokens (at least one).
    #[must_use]
    pub fn with_burst(rate: f64, burst: f64, now: SimTime) -> Self {
        let capacity = burst.max(1.0);
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The bucket's rate and burst as they are now (`burst` is its capacity).
    #[must_use]
    pub fn limits(&self) -> (f64, f64) {
        (self.rate, self.capacity)
    }

    /// Changes the rate and the capacity from `now` on: tokens gathered so far are kept, up
    /// to the new capacity.
    pub fn set(&mut self, rate: f64, burst: f64, now: SimTime) {
        self.refill(now);
        self.rate = rate;
        self.capacity = burst.max(1.0);
        self.tokens = self.tokens.min(self.capacity);
    }

    fn refill(&mut self, now: SimTime) {
        self.tokens =
            (self.tokens + now.since(self.last).as_secs_f64() * self.rate).min(self.capacity);
        self.last = now;
    }

    /// Takes a token if one is there.
    pub fn admit(&mut self, now: SimTime) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::Duration;
    use crate::drill::spec::Stage;

    fn traffic() -> Traffic {
        Traffic {
            arrivals: Arrivals::Poisson,
            start_rps: 20.0,
            stages: vec![
                Stage {
                    over: Duration::from_secs(900),
                    to_rps: 20.0,
                },
                Stage {
                    over: Duration::from_secs(1200),
                    to_rps: 70.0,
                },
            ],
        }
    }

    #[test]
    fn rate_curve_interpolates_and_holds() {
        let c = RateCurve::new(&traffic());
        let s = |x: u64| x * 1_000_000_000;
        assert_eq!(c.rate(0), 20.0);
        assert_eq!(c.rate(s(900)), 20.0);
        assert!((c.rate(s(1500)) - 45.0).abs() < 1e-9);
        assert_eq!(c.rate(s(2100)), 70.0);
        assert_eq!(c.rate(s(99_999)), 70.0);
        let expected = 20.0 * 900.0 + 45.0 * 1200.0 + 70.0 * 900.0;
        assert!((c.integral(0, s(3000)) - expected).abs() < 1e-6);
    }

    #[test]
    fn token_bucket_admits_at_its_rate() {
        let mut b = TokenBucket::new(10.0, SimTime::ZERO);
        let admitted = (0..1000)
            .filter(|i| b.admit(SimTime::from_nanos(i * 10_000_000)))
            .count();
        // 10 s at 100/s offered against 10/s allowed plus one second of burst.
        assert!((100..=111).contains(&admitted), "{admitted}");
    }
}
