//! The fitting itself, pure functions of observed numbers: a piecewise-linear traffic curve
//! (fewest stages that keep the windowed rate within 5 % RMS), a step's time distribution
//! chosen by its own histogram's buckets (LogNormal, Exponential or Constant, whichever's
//! cumulative distribution lies closest to the buckets'), and the normal distribution's
//! functions they need.

use serde::Serialize;

/// The most stages a fitted traffic curve has.
pub const MAX_STAGES: usize = 12;
/// The RMS error (over the mean rate) the traffic curve aims for.
pub const TRAFFIC_RMS: f64 = 0.05;

/// A fitted traffic curve: `start_rps`, then each stage ramps to `to_rps` over `over_s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficFit {
    pub start_rps: f64,
    pub stages: Vec<StageFit>,
    /// RMS of (curve − observed) over the windows, over the mean observed rate.
    pub rms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageFit {
    pub over_s: f64,
    pub to_rps: f64,
}

impl TrafficFit {
    /// The curve's mean rate over `[a, b]` seconds from the start.
    #[must_use]
    pub fn mean_over(&self, a: f64, b: f64) -> f64 {
        // Exact for a piecewise-linear curve: integrate each piece.
        let mut knots = vec![(0.0, self.start_rps)];
        let mut t = 0.0;
        for s in &self.stages {
            t += s.over_s;
            knots.push((t, s.to_rps));
        }
        let at = |x: f64| -> f64 {
            if x <= 0.0 {
                return self.start_rps;
            }
            for w in knots.windows(2) {
                let ((t0, v0), (t1, v1)) = (w[0], w[1]);
                if x <= t1 {
                    return if t1 > t0 {
                        v0 + (v1 - v0) * (x - t0) / (t1 - t0)
                    } else {
                        v1
                    };
                }
            }
            knots.last().map_or(self.start_rps, |k| k.1)
        };
        let mut points: Vec<f64> = vec![a, b];
        points.extend(knots.iter().map(|k| k.0).filter(|&k| k > a && k < b));
        points.sort_by(f64::total_cmp);
        let area: f64 = points
            .windows(2)
            .map(|w| f64::midpoint(at(w[0]), at(w[1])) * (w[1] - w[0]))
            .sum();
        if b > a { area / (b - a) } else { at(a) }
    }
}

/// RMS of `model − observed` over the mean of `observed`.
fn rms(model: &[f64], observed: &[f64]) -> f64 {
    let n = observed.len().max(1) as f64;
    let mean = observed.iter().sum::<f64>() / n;
    let sq = model
        .iter()
        .zip(observed)
        .map(|(m, o)| (m - o).powi(2))
        .sum::<f64>()
        / n;
    if mean > 0.0 {
        sq.sqrt() / mean
    } else {
        sq.sqrt()
    }
}

/// Solves `a x = b` (small, dense) by Gaussian elimination with partial pivoting.
#[allow(clippy::many_single_char_names, clippy::needless_range_loop)] // the textbook's names
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

/// The least-squares linear spline through knots `k` (window indices, in window widths)
/// fitted to the window rates (each window's mean is the spline at its midpoint, since no
/// knot falls inside a window). Returns the knot values and the window means.
fn spline(knots: &[usize], rates: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let m = knots.len();
    let hat = |j: usize, x: f64| -> f64 {
        let k = knots[j] as f64;
        if m == 1 {
            return 1.0;
        }
        if j > 0 {
            let prev = knots[j - 1] as f64;
            if x >= prev && x <= k {
                return (x - prev) / (k - prev);
            }
        } else if x <= k {
            return 1.0;
        }
        if j + 1 < m {
            let next = knots[j + 1] as f64;
            if x >= k && x <= next {
                return (next - x) / (next - k);
            }
        } else if x >= k {
            return 1.0;
        }
        0.0
    };
    let mut ata = vec![vec![0.0; m]; m];
    let mut aty = vec![0.0; m];
    let rows: Vec<Vec<f64>> = (0..rates.len())
        .map(|i| (0..m).map(|j| hat(j, i as f64 + 0.5)).collect())
        .collect();
    for (row, y) in rows.iter().zip(rates) {
        for j in 0..m {
            aty[j] += row[j] * y;
            for k in 0..m {
                ata[j][k] += row[j] * row[k];
            }
        }
    }
    let values: Vec<f64> = solve(ata, aty)?.into_iter().map(|v| v.max(0.0)).collect();
    let means = rows
        .iter()
        .map(|row| row.iter().zip(&values).map(|(h, v)| h * v).sum())
        .collect();
    Some((values, means))
}

/// Fits the traffic curve to the window rates (`width_s` seconds each).
#[must_use]
pub fn fit_traffic(rates: &[f64], width_s: f64) -> TrafficFit {
    let n = rates.len();
    let mean = rates.iter().sum::<f64>() / n.max(1) as f64;
    let constant = vec![mean; n];
    let flat = TrafficFit {
        start_rps: mean,
        stages: Vec::new(),
        rms: rms(&constant, rates),
    };
    if flat.rms <= TRAFFIC_RMS || n < 2 {
        return flat;
    }
    let curve = |knots: &[usize], values: &[f64], err: f64| TrafficFit {
        start_rps: values[0],
        stages: knots
            .windows(2)
            .zip(&values[1..])
            .map(|(w, &v)| StageFit {
                over_s: (w[1] - w[0]) as f64 * width_s,
                to_rps: v,
            })
            .collect(),
        rms: err,
    };
    let mut knots = vec![0, n];
    let Some((values, means)) = spline(&knots, rates) else {
        return flat;
    };
    let mut best = curve(&knots, &values, rms(&means, rates));
    while best.rms > TRAFFIC_RMS && knots.len() - 1 < MAX_STAGES {
        let mut found: Option<(Vec<usize>, TrafficFit)> = None;
        for c in 1..n {
            if knots.contains(&c) {
                continue;
            }
            let mut k = knots.clone();
            k.push(c);
            k.sort_unstable();
            if let Some((v, m)) = spline(&k, rates) {
                let err = rms(&m, rates);
                if found.as_ref().is_none_or(|(_, f)| err < f.rms) {
                    found = Some((k.clone(), curve(&k, &v, err)));
                }
            }
        }
        match found {
            Some((k, fit)) if fit.rms < best.rms => {
                knots = k;
                best = fit;
            }
            _ => break,
        }
        // Greedy knots settle where one more helped most; let each move a little.
        for _ in 0..3 {
            let mut moved = false;
            for j in 1..knots.len() - 1 {
                let (lo, hi) = (knots[j - 1] + 1, knots[j + 1] - 1);
                let here = knots[j];
                for c in here.saturating_sub(3).max(lo)..=(here + 3).min(hi) {
                    if c == knots[j] {
                        continue;
                    }
                    let mut k = knots.clone();
                    k[j] = c;
                    if let Some((v, m)) = spline(&k, rates) {
                        let err = rms(&m, rates);
                        if err + 1e-12 < best.rms {
                            best = curve(&k, &v, err);
                            knots = k;
                            moved = true;
                        }
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    if best.rms < flat.rms { best } else { flat }
}

/// A step's fitted time distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum TimeFit {
    Constant { seconds: f64 },
    Exponential { mean: f64 },
    LogNormal { median: f64, p99: f64 },
}

impl TimeFit {
    /// The distribution's cumulative probability at `x` seconds.
    #[must_use]
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            TimeFit::Constant { seconds } => f64::from(u8::from(x >= seconds)),
            TimeFit::Exponential { mean } => 1.0 - (-x / mean).exp(),
            TimeFit::LogNormal { median, p99 } => {
                if x <= 0.0 {
                    return 0.0;
                }
                let sigma = (p99 / median).ln() / Z99;
                normal_cdf((x / median).ln() / sigma)
            }
        }
    }

    /// The `q`-quantile in seconds.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        match *self {
            TimeFit::Constant { seconds } => seconds,
            TimeFit::Exponential { mean } => -mean * (1.0 - q).ln(),
            TimeFit::LogNormal { median, p99 } => {
                let sigma = (p99 / median).ln() / Z99;
                median * (sigma * normal_quantile(q)).exp()
            }
        }
    }

    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            TimeFit::Constant { .. } => "Constant",
            TimeFit::Exponential { .. } => "Exponential",
            TimeFit::LogNormal { .. } => "LogNormal",
        }
    }
}

/// The standard normal's 99th percentile.
pub const Z99: f64 = 2.326_347_874_040_841;

/// The largest distance between a candidate's and the histogram's cumulative distribution
/// at the histogram's finite bounds.
#[must_use]
pub fn distance(fit: &TimeFit, buckets: &[(f64, f64)]) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    if total <= 0.0 {
        return 0.0;
    }
    buckets
        .iter()
        .filter(|b| b.0.is_finite())
        .map(|&(le, c)| (fit.cdf(le) - c / total).abs())
        .fold(0.0, f64::max)
}

/// Chooses and fits a time distribution to a histogram (cumulative `(le, count)` ending in
/// `+Inf`) whose calls ran `mean` seconds on average. Returns the fit and its distance.
#[must_use]
pub fn fit_time(buckets: &[(f64, f64)], mean: f64) -> (TimeFit, f64) {
    let mean = if mean.is_finite() && mean > 0.0 {
        mean
    } else {
        1e-3
    };
    let mut candidates = vec![
        TimeFit::Constant { seconds: mean },
        TimeFit::Exponential { mean },
    ];
    if let Some(l) = fit_lognormal(buckets, mean) {
        candidates.push(l);
    }
    let total = buckets.last().map_or(0.0, |b| b.1);
    if total <= 0.0 {
        return (candidates[0], 0.0);
    }
    // The simpler shape wins unless another is clearly closer.
    let mut best = (candidates[0], distance(&candidates[0], buckets));
    for c in &candidates[1..] {
        let d = distance(c, buckets);
        if d + 0.002 < best.1 {
            best = (*c, d);
        }
    }
    best
}

/// LogNormal by weighted least squares of the probit of each bucket's cumulative share
/// against the log of its bound; with one informative bound, the mean gives the spread.
fn fit_lognormal(buckets: &[(f64, f64)], mean: f64) -> Option<TimeFit> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let points: Vec<(f64, f64, f64)> = buckets
        .iter()
        .filter(|b| b.0.is_finite() && b.0 > 0.0)
        .filter_map(|&(le, c)| {
            let f = c / total;
            (f > 0.5 / total && f < 1.0 - 0.5 / total && f > 1e-4 && f < 1.0 - 1e-4).then(|| {
                let z = normal_quantile(f);
                let density = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
                (le.ln(), z, density * density / (f * (1.0 - f)))
            })
        })
        .collect();
    let (mu, sigma) = match points.as_slice() {
        [] => return None,
        [(x, z, _)] => {
            // ln mean = mu + sigma²/2 and x = mu + z sigma.
            let d = mean.ln() - x;
            let disc = z * z + 2.0 * d;
            if disc < 0.0 {
                return None;
            }
            let sigma = z + disc.sqrt();
            if sigma <= 0.0 {
                return None;
            }
            (x - z * sigma, sigma)
        }
        _ => {
            // z = (x − mu) / sigma: regress x on z, weighted.
            let sw: f64 = points.iter().map(|p| p.2).sum();
            let mz = points.iter().map(|p| p.2 * p.1).sum::<f64>() / sw;
            let mx = points.iter().map(|p| p.2 * p.0).sum::<f64>() / sw;
            let szz: f64 = points.iter().map(|p| p.2 * (p.1 - mz).powi(2)).sum();
            let szx: f64 = points.iter().map(|p| p.2 * (p.1 - mz) * (p.0 - mx)).sum();
            if szz <= 0.0 {
                return None;
            }
            let sigma = szx / szz;
            if sigma <= 0.0 {
                return None;
            }
            (mx - sigma * mz, sigma)
        }
    };
    let median = mu.exp();
    let p99 = (mu + sigma * Z99).exp();
    (median.is_finite() && p99.is_finite() && p99 > median)
        .then_some(TimeFit::LogNormal { median, p99 })
}

/// The standard normal cumulative distribution (W. J. Cody's erfc, via its rational
/// approximation; absolute error below 1e-7).
#[must_use]
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Numerical Recipes' erfcc (Chebyshev), relative error below 1.2e-7.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal quantile (P. J. Acklam's rational approximation, refined by one
/// Newton step).
#[must_use]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_agree() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(Z99) - 0.99).abs() < 1e-6);
        for p in [0.001, 0.2, 0.5, 0.9, 0.999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-7, "{p}");
        }
    }

    fn histogram(fit: &TimeFit, bounds: &[f64], n: f64) -> Vec<(f64, f64)> {
        let mut b: Vec<(f64, f64)> = bounds
            .iter()
            .map(|&le| (le, (fit.cdf(le) * n).round()))
            .collect();
        b.push((f64::INFINITY, n));
        b
    }

    const BOUNDS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0];

    #[test]
    fn each_shape_is_recovered_from_its_own_buckets() {
        let l = TimeFit::LogNormal {
            median: 0.09,
            p99: 0.45,
        };
        let (fit, d) = fit_time(
            &histogram(&l, BOUNDS, 1e6),
            0.09 * (0.692_f64.powi(2) / 2.0).exp(),
        );
        let TimeFit::LogNormal { median, p99 } = fit else {
            panic!("{fit:?}")
        };
        assert!(
            (median / 0.09 - 1.0).abs() < 0.01 && (p99 / 0.45 - 1.0).abs() < 0.02,
            "{fit:?} {d}"
        );
        let e = TimeFit::Exponential { mean: 1.2 };
        assert_eq!(fit_time(&histogram(&e, BOUNDS, 1e6), 1.2).0, e);
        let c = TimeFit::Constant { seconds: 0.3 };
        assert_eq!(fit_time(&histogram(&c, BOUNDS, 1e6), 0.3).0, c);
    }

    #[test]
    fn traffic_fits_a_ramp_with_few_stages() {
        // 10 rps for 30 minutes, up to 40 over 20 minutes, then 40 (5-minute windows).
        let truth = TrafficFit {
            start_rps: 10.0,
            stages: vec![
                StageFit {
                    over_s: 1800.0,
                    to_rps: 10.0,
                },
                StageFit {
                    over_s: 1200.0,
                    to_rps: 40.0,
                },
            ],
            rms: 0.0,
        };
        let rates: Vec<f64> = (0..18)
            .map(|i| truth.mean_over(i as f64 * 300.0, (i + 1) as f64 * 300.0))
            .collect();
        let fit = fit_traffic(&rates, 300.0);
        assert!(fit.rms <= TRAFFIC_RMS, "{fit:?}");
        assert!(fit.stages.len() <= 3, "{fit:?}");
        for (i, r) in rates.iter().enumerate() {
            let m = fit.mean_over(i as f64 * 300.0, (i + 1) as f64 * 300.0);
            assert!((m - r).abs() / r < 0.1, "window {i}: {m} against {r}");
        }
        let flat = fit_traffic(&[5.0; 8], 300.0);
        assert!(flat.stages.is_empty() && (flat.start_rps - 5.0).abs() < 1e-12);
    }
}
