//! Step-time samplers: the drill's [`TimeDist`] turned into something that draws nanoseconds
//! from a stream. Exact means and quantiles are here too, for validation.

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::drill::spec::TimeDist;

/// z for the 99th percentile of the standard normal.
const Z99: f64 = 2.326_347_874_040_840_8;

/// A step-time distribution in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    Constant(f64),
    Exponential { mean: f64 },
    LogNormal { mu: f64, sigma: f64 },
    Uniform { min: f64, max: f64 },
}

impl Sampler {
    #[must_use]
    pub fn new(dist: &TimeDist) -> Self {
        let ns = |d: crate::drill::Duration| d.as_nanos() as f64;
        match *dist {
            TimeDist::Constant(d) => Sampler::Constant(ns(d)),
            TimeDist::Exponential { mean } => Sampler::Exponential { mean: ns(mean) },
            TimeDist::LogNormal { median, p99 } => {
                let mu = ns(median).max(1.0).ln();
                let sigma = ((ns(p99).max(1.0).ln() - mu) / Z99).max(0.0);
                Sampler::LogNormal { mu, sigma }
            }
            TimeDist::Uniform { min, max } => Sampler::Uniform {
                min: ns(min),
                max: ns(max).max(ns(min)),
            },
        }
    }

    /// One draw, in nanoseconds (never negative).
    #[allow(clippy::inline_always)] // measured: see docs/performance.md, "How the engine got there"
    #[inline(always)]
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match *self {
            Sampler::Constant(v) => v,
            Sampler::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            Sampler::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Sampler::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
        }
    }

    /// The exact mean, in nanoseconds.
    #[must_use]
    pub fn mean(&self) -> f64 {
        match *self {
            Sampler::Constant(v) => v,
            Sampler::Exponential { mean } => mean,
            Sampler::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Sampler::Uniform { min, max } => f64::midpoint(min, max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::Duration;
    use crate::sim::rng::Seed;

    fn d(s: &str) -> Duration {
        Duration::parse(s).unwrap()
    }

    #[test]
    fn sample_means_match_exact_means() {
        let cases = [
            TimeDist::Constant(d("100ms")),
            TimeDist::Exponential { mean: d("200ms") },
            TimeDist::LogNormal {
                median: d("90ms"),
                p99: d("450ms"),
            },
            TimeDist::Uniform {
                min: d("10ms"),
                max: d("30ms"),
            },
        ];
        for dist in cases {
            let s = Sampler::new(&dist);
            let mut rng = Seed(3).stream("test");
            let n = 400_000;
            let (mut sum, mut sq) = (0.0, 0.0);
            for _ in 0..n {
                let x = s.sample(&mut rng);
                assert!(x >= 0.0);
                sum += x;
                sq += x * x;
            }
            let mean = sum / f64::from(n);
            let sd = (sq / f64::from(n) - mean * mean).max(0.0).sqrt();
            let se = sd / f64::from(n).sqrt();
            let z = if se == 0.0 {
                (mean - s.mean()).abs()
            } else {
                (mean - s.mean()).abs() / se
            };
            assert!(
                z < 4.0,
                "{dist:?}: mean {mean} vs exact {} (z = {z})",
                s.mean()
            );
        }
    }
}
