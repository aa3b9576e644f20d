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
        let i = self.corners.partition_point(|&(ct, _)| ct <= t);
        if i == self.corners.len() {
            return self.corners[i - 1].1;
        }
        if i == 0 {
            return self.corners[0].1;
        }
        let (t0, r0) = self.corners[i - 1];
        let (t1, r1) = self.corners[i];
        if t1 == t0 {
            return r1;
        }
        r0 + (r1 - r0) * ((t - t0) as f64 / (t1 - t0) as f64)
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
}

/// A planned candidate arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub at: SimTime,
}

impl ArrivalProcess {
    #[must_use]
    pub fn new(traffic: &Traffic, rng: ChaCha8Rng) -> Self {
        ArrivalProcess {
            curve: RateCurve::new(traffic),
            kind: traffic.arrivals,
            rng,
            multiplier: 1.0,
            bound: 0.0,
        }
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
            let seg_end = self
                .curve
                .next_corner(t)
                .unwrap_or(u64::MAX)
                .min(end.nanos());
            // Rate is linear within a segment, so its larger end bounds it.
            let bound = self.multiplier * self.curve.rate(t).max(self.curve.rate(seg_end));
            if bound <= 0.0 {
                t = seg_end;
                continue;
            }
            let gap: f64 = Exp1.sample(&mut self.rng);
            let next = t as f64 + gap / bound * 1e9;
            if next >= seg_end as f64 {
                t = seg_end;
                continue;
            }
            self.bound = bound;
            // Truncate, then at least one nanosecond on, so time always advances.
            return Some(Candidate {
                at: SimTime::from_nanos((next as u64).max(t + 1)),
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
    pub fn accept(&mut self, at: SimTime) -> bool {
        match self.kind {
            Arrivals::Even => true,
            Arrivals::Poisson => {
                let p = self.rate(at) / self.bound;
                p >= 1.0 || self.rng.random::<f64>() < p
            }
        }
    }
}

/// A token bucket: `rate` tokens a second, holding at most one second's worth (at least one).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: SimTime,
}

impl TokenBucket {
    #[must_use]
    pub fn new(rate: f64, now: SimTime) -> Self {
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            last: now,
        }
    }

    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes a token if one is there.
    pub fn admit(&mut self, now: SimTime) -> bool {
        let capacity = self.rate.max(1.0);
        self.tokens = (self.tokens + now.since(self.last).as_secs_f64() * self.rate).min(capacity);
        self.last = now;
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
