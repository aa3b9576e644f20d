//! Exact values for the queues the engine is checked against (`reference/queueing.md`): Erlang B,
//! Erlang C with the M/M/c mean wait, and Zeltyn–Mandelbaum's M/M/c+D (deterministic patience).
//!
//! Pure functions of the parameters, in f64, stable for pools of a few hundred connections: the
//! Erlang B recursion never forms a factorial or a power, and the abandonment formulas are
//! rescaled by e^(−dτ) under overload so that e^(dτ) never overflows. No simulation here; the
//! tests at the bottom reproduce the reference tables and the limits the formulas must reach.

/// An M/M/c pool: Poisson arrivals at `lambda` per second, exponential holding times with rate
/// `mu` per second (mean 1/μ), `c` connections, FIFO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mmc {
    pub c: u32,
    pub lambda: f64,
    pub mu: f64,
}

/// What an arrival to an M/M/c+D pool sees: the chance it waits at all, and that it gives up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patience {
    pub p_wait: f64,
    pub p_timeout: f64,
}

/// Erlang B, the blocking probability of `c` servers under offered load `a`, by the recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)), which stays in [0, 1] at every step.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// expm1(x)/x, continuous at 0 (where it is 1): the exact factor of τ in (e^(dτ) − 1)/d.
fn expm1_over(x: f64) -> f64 {
    if x == 0.0 { 1.0 } else { x.exp_m1() / x }
}

impl Mmc {
    /// From connections, arrival rate and mean holding time in seconds.
    pub fn new(c: u32, lambda: f64, mean_hold: f64) -> Self {
        Mmc {
            c,
            lambda,
            mu: 1.0 / mean_hold,
        }
    }

    /// Offered load a = λ/μ: the mean number of connections in use when nothing times out.
    pub fn offered_load(self) -> f64 {
        self.lambda / self.mu
    }

    /// Utilisation ρ = a/c.
    pub fn rho(self) -> f64 {
        self.offered_load() / f64::from(self.c)
    }

    /// Erlang C: the probability that an arrival waits, C = c·B(c) / (c − a·(1 − B(c))).
    ///
    /// # Panics
    /// If ρ ≥ 1 (no steady state without abandonment).
    pub fn p_wait(self) -> f64 {
        assert!(self.rho() < 1.0, "Erlang C needs ρ < 1, got {}", self.rho());
        let (c, a) = (f64::from(self.c), self.offered_load());
        let b = erlang_b(self.c, a);
        c * b / (c - a * (1.0 - b))
    }

    /// Mean wait in the queue, Wq = C / (cμ − λ), in seconds.
    pub fn mean_wait(self) -> f64 {
        self.p_wait() / (f64::from(self.c) * self.mu - self.lambda)
    }

    /// Mean queue length, Lq = λ·Wq (Little).
    pub fn mean_queue(self) -> f64 {
        self.lambda * self.mean_wait()
    }

    /// The sum E = Σ_{j=0}^{c−1} (c−1)!/j! · (μ/λ)^(c−1−j) of Zeltyn & Mandelbaum, which is
    /// exactly 1/B(c−1) for offered load a = λ/μ (divide the sum by (c−1)!/a^(c−1)).
    pub fn zeltyn_e(self) -> f64 {
        1.0 / erlang_b(self.c - 1, self.offered_load())
    }

    /// M/M/c+D: every request gives up after waiting `tau` seconds (Zeltyn & Mandelbaum):
    /// with d = λ − cμ and J = (e^(dτ) − 1)/d + e^(dτ)/(cμ) (J = τ + 1/(cμ) when d = 0),
    /// P(wait) = λJ/(E + λJ) and P(timeout) = (1 + dJ)/(E + λJ).
    ///
    /// Written so that it is stable everywhere: (e^(dτ) − 1)/d = τ·expm1(dτ)/(dτ), which is
    /// continuous through d = 0; 1 + dJ = e^(dτ)·λ/(cμ) exactly; and for d > 0 numerator and
    /// denominator are multiplied by e^(−dτ), so τ may be large or infinite.
    pub fn with_patience(self, tau: f64) -> Patience {
        let c_mu = f64::from(self.c) * self.mu;
        let rho = self.lambda / c_mu;
        let d = self.lambda - c_mu;
        let e = self.zeltyn_e();
        if d <= 0.0 {
            // J = τ·φ(dτ) + e^(dτ)/(cμ); with τ = ∞ and d < 0 this is 1/(cμ − λ).
            let growth = (d * tau).exp();
            let j = if growth == 0.0 {
                -1.0 / d
            } else {
                tau * expm1_over(d * tau) + growth / c_mu
            };
            let denominator = e + self.lambda * j;
            Patience {
                p_wait: self.lambda * j / denominator,
                p_timeout: rho * growth / denominator,
            }
        } else {
            // Scaled by g = e^(−dτ): J·g = τ·φ(−dτ) + 1/(cμ), g·(1 + dJ) = λ/(cμ).
            let g = (-d * tau).exp();
            let jg = if g == 0.0 {
                1.0 / d + 1.0 / c_mu
            } else {
                tau * expm1_over(-d * tau) + 1.0 / c_mu
            };
            let denominator = e * g + self.lambda * jg;
            Patience {
                p_wait: self.lambda * jg / denominator,
                p_timeout: rho / denominator,
            }
        }
    }
}

/// The standard normal quantile at the probabilities the engine reports (p50, p95, p99).
pub fn normal_quantile(p: f64) -> f64 {
    const TABLE: &[(f64, f64)] = &[
        (0.5, 0.0),
        (0.95, 1.644_853_626_951_472_2),
        (0.99, 2.326_347_874_040_840_8),
    ];
    TABLE
        .iter()
        .find(|(q, _)| (q - p).abs() < 1e-12)
        .map_or_else(
            || panic!("no normal quantile tabulated for {p}"),
            |(_, z)| *z,
        )
}

/// Two-sided critical value of Student's t with `df` degrees of freedom at 99.9 % confidence,
/// t(0.9995, df): the t-interval that matches the |z| < 3.3 rule of `queueing.md` (3.29 is
/// the normal value; with few replications the t value is larger). Tabulated to df = 30,
/// beyond that the Cornish–Fisher expansion around the normal quantile.
pub fn t_critical(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        636.619, 31.599, 12.924, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587, 4.437, 4.318,
        4.221, 4.140, 4.073, 4.015, 3.965, 3.922, 3.883, 3.850, 3.819, 3.792, 3.768, 3.745, 3.725,
        3.707, 3.690, 3.674, 3.659, 3.646,
    ];
    assert!(df >= 1, "a t-interval needs at least two replications");
    if let Some(t) = TABLE.get(df - 1) {
        return *t;
    }
    let z: f64 = 3.290_526_731_491_926;
    let n = df as f64;
    z + (z.powi(3) + z) / (4.0 * n)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
}

/// Erlang C and Wq for c = 20, μ = 5/s (`queueing.md`, first table): (λ, P(wait), Wq).
const ERLANG_C_TABLE: &[(f64, f64, f64)] = &[
    (50.0, 0.003_731, 0.000_075),
    (80.0, 0.256_078, 0.012_804),
    (90.0, 0.550_769, 0.055_077),
    (95.0, 0.755_401, 0.151_080),
];

/// M/M/20+D, μ = 5/s (`queueing.md`, second table): (λ, τ, P(wait), P(timeout)).
const PATIENCE_TABLE: &[(f64, f64, f64, f64)] = &[
    (90.0, 0.050, 0.357_643, 0.047_767),
    (120.0, 0.050, 0.796_486, 0.191_435),
    (150.0, 0.250, 0.999_998, 0.333_333),
];

fn assert_near(what: &str, exact: f64, computed: f64, tolerance: f64) {
    assert!(
        (exact - computed).abs() <= tolerance,
        "{what}: expected {exact}, computed {computed:.9} (tolerance {tolerance:e})"
    );
}

/// E by its definition, summed in logs: log((c−1)!/j!) − (c−1−j)·log(λ/μ), then log-sum-exp.
fn zeltyn_e_by_logs(q: Mmc) -> f64 {
    let log_a = q.offered_load().ln();
    let terms: Vec<f64> = (0..q.c)
        .map(|j| {
            let log_ratio: f64 = (j + 1..q.c).map(|k| f64::from(k).ln()).sum();
            log_ratio - f64::from(q.c - 1 - j) * log_a
        })
        .collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()).exp()
}

/// Erlang C from its textbook definition in logs, for comparison with the recursion.
fn erlang_c_by_logs(q: Mmc) -> f64 {
    let (c, a) = (f64::from(q.c), q.offered_load());
    let log_term = |k: u32| f64::from(k) * a.ln() - (1..=k).map(|i| f64::from(i).ln()).sum::<f64>();
    let log_tail = log_term(q.c) + (c / (c - a)).ln();
    let logs: Vec<f64> = (0..q.c).map(log_term).chain([log_tail]).collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = logs.iter().map(|l| (l - top).exp()).sum();
    (log_tail - top).exp() / total
}

#[test]
fn theory_reproduces_the_erlang_c_table() {
    for &(lambda, p_wait, wq) in ERLANG_C_TABLE {
        let q = Mmc::new(20, lambda, 0.2);
        assert_near(
            &format!("P(wait) at λ = {lambda}"),
            p_wait,
            q.p_wait(),
            1e-5,
        );
        assert_near(&format!("Wq at λ = {lambda}"), wq, q.mean_wait(), 1e-5);
        // The table is rounded to six decimals: the formulas agree to that rounding too.
        assert_near(
            &format!("P(wait) at λ = {lambda}, 6 dp"),
            p_wait,
            q.p_wait(),
            5e-7,
        );
        assert_near(
            &format!("Wq at λ = {lambda}, 6 dp"),
            wq,
            q.mean_wait(),
            5e-7,
        );
    }
}

#[test]
fn theory_reproduces_the_patience_table() {
    for &(lambda, tau, p_wait, p_timeout) in PATIENCE_TABLE {
        let p = Mmc::new(20, lambda, 0.2).with_patience(tau);
        let at = format!("λ = {lambda}, τ = {tau}");
        assert_near(&format!("P(wait) at {at}"), p_wait, p.p_wait, 1e-5);
        assert_near(&format!("P(timeout) at {at}"), p_timeout, p.p_timeout, 1e-5);
        assert_near(&format!("P(wait) at {at}, 6 dp"), p_wait, p.p_wait, 5e-7);
        assert_near(
            &format!("P(timeout) at {at}, 6 dp"),
            p_timeout,
            p.p_timeout,
            5e-7,
        );
    }
}

#[test]
fn theory_matches_closed_forms_for_small_pools() {
    // (c, λ, mean hold): one and two servers have textbook closed forms.
    for &(lambda, hold) in &[(0.5, 1.0), (7.0, 0.1), (0.99, 1.0), (3.0, 0.01)] {
        let q = Mmc::new(1, lambda, hold);
        let rho = lambda * hold;
        assert_near("B(1) = a/(1+a)", rho / (1.0 + rho), erlang_b(1, rho), 1e-15);
        assert_near("M/M/1 P(wait) = ρ", rho, q.p_wait(), 1e-14);
        assert_near(
            "M/M/1 Wq = ρ/(μ−λ)",
            rho / (1.0 / hold - lambda),
            q.mean_wait(),
            1e-12,
        );
        let q2 = Mmc::new(2, lambda, hold);
        let r2 = rho / 2.0;
        assert_near(
            "M/M/2 P(wait) = 2ρ²/(1+ρ)",
            2.0 * r2 * r2 / (1.0 + r2),
            q2.p_wait(),
            1e-14,
        );
    }
}

#[test]
fn theory_is_stable_for_large_pools() {
    // (c, a): up to 200 connections, light to heavy load.
    for &(c, a) in &[
        (50, 42.5),
        (100, 60.0),
        (100, 99.0),
        (200, 150.0),
        (200, 199.0),
        (200, 20.0),
    ] {
        let q = Mmc::new(c, a, 1.0);
        let by_logs = erlang_c_by_logs(q);
        assert!(q.p_wait().is_finite() && (0.0..=1.0).contains(&q.p_wait()));
        assert!(
            (q.p_wait() - by_logs).abs() <= 1e-12 * by_logs.max(1e-300),
            "Erlang C at c = {c}, a = {a}: recursion {} vs logs {by_logs}",
            q.p_wait()
        );
        let e = q.zeltyn_e();
        let e_logs = zeltyn_e_by_logs(q);
        assert!(
            (e - e_logs).abs() <= 1e-11 * e_logs,
            "E at c = {c}, a = {a}: 1/B(c−1) = {e} vs Σ in logs = {e_logs}"
        );
    }
}

#[test]
fn theory_patience_tends_to_erlang_c() {
    // (c, λ, mean hold) with ρ < 1: as τ → ∞ nobody times out and P(wait) is Erlang C.
    for &(c, lambda, hold) in &[
        (20, 90.0, 0.2),
        (20, 50.0, 0.2),
        (5, 3.5, 1.0),
        (1, 7.0, 0.1),
    ] {
        let q = Mmc::new(c, lambda, hold);
        for tau in [1e4, f64::INFINITY] {
            let p = q.with_patience(tau);
            assert_near(
                &format!("P(wait), c = {c}, τ = {tau}"),
                q.p_wait(),
                p.p_wait,
                1e-12,
            );
            assert_near(
                &format!("P(timeout), c = {c}, τ = {tau}"),
                0.0,
                p.p_timeout,
                1e-12,
            );
        }
        // Longer patience: more wait in the queue, fewer give up.
        let taus = [0.0, 0.01, 0.1, 1.0, 10.0];
        for pair in taus.windows(2) {
            let (short, long) = (q.with_patience(pair[0]), q.with_patience(pair[1]));
            assert!(short.p_wait <= long.p_wait && short.p_timeout >= long.p_timeout);
        }
    }
}

#[test]
fn theory_overload_times_out_one_minus_one_over_rho() {
    // (c, λ, mean hold) with ρ > 1: patience long enough, the excess 1 − 1/ρ times out.
    for &(c, lambda, hold) in &[
        (20, 150.0, 0.2),
        (20, 120.0, 0.2),
        (10, 55.0, 0.2),
        (1, 3.0, 1.0),
    ] {
        let q = Mmc::new(c, lambda, hold);
        let limit = 1.0 - 1.0 / q.rho();
        for tau in [1e3, 1e6, f64::INFINITY] {
            let p = q.with_patience(tau);
            assert_near(
                &format!("P(timeout), c = {c}, τ = {tau}"),
                limit,
                p.p_timeout,
                1e-12,
            );
            assert_near(
                &format!("P(wait), c = {c}, τ = {tau}"),
                1.0,
                p.p_wait,
                1e-12,
            );
        }
    }
}

#[test]
fn theory_patience_is_continuous_at_critical_load() {
    // d = λ − cμ = 0 exactly has its own J = τ + 1/(cμ); it must join the neighbours.
    for &(c, hold, tau) in &[(10, 0.2, 0.1), (20, 0.2, 0.05), (1, 1.0, 2.0)] {
        let critical = f64::from(c) / hold;
        let at = Mmc::new(c, critical, hold).with_patience(tau);
        for lambda in [critical * (1.0 - 1e-9), critical * (1.0 + 1e-9)] {
            let near = Mmc::new(c, lambda, hold).with_patience(tau);
            assert_near("P(wait) near d = 0", at.p_wait, near.p_wait, 1e-8);
            assert_near("P(timeout) near d = 0", at.p_timeout, near.p_timeout, 1e-8);
        }
        // At d = 0 the formula is J = τ + 1/(cμ), written out.
        let j = tau + hold / f64::from(c);
        let e = Mmc::new(c, critical, hold).zeltyn_e();
        assert_near(
            "P(wait) at d = 0",
            critical * j / (e + critical * j),
            at.p_wait,
            1e-14,
        );
        assert_near(
            "P(timeout) at d = 0",
            1.0 / (e + critical * j),
            at.p_timeout,
            1e-14,
        );
    }
}

#[test]
fn theory_zero_patience_is_erlang_b() {
    // τ = 0: whoever finds every connection busy leaves at once, the Erlang loss system.
    for &(c, lambda, hold) in &[
        (20, 90.0, 0.2),
        (20, 150.0, 0.2),
        (10, 50.0, 0.2),
        (3, 1.0, 1.0),
    ] {
        let q = Mmc::new(c, lambda, hold);
        let p = q.with_patience(0.0);
        let b = erlang_b(c, q.offered_load());
        assert_near("P(wait) at τ = 0", b, p.p_wait, 1e-14);
        assert_near("P(timeout) at τ = 0", b, p.p_timeout, 1e-14);
    }
}
