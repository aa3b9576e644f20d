//! A log-linear latency histogram (HDR-style): 128 linear sub-buckets per power of two, so
//! any quantile it reports is within 0.4% of the true value, in fixed memory whatever the
//! number of samples. Values are nanoseconds.

/// Bits of linear resolution within each power of two.
const PRECISION: u32 = 7;
const SUB: u64 = 1 << PRECISION;
const SLOTS: usize = (SUB + (64 - PRECISION as u64) * SUB) as usize;

#[derive(Clone, PartialEq)]
pub struct Histogram {
    counts: Box<[u32]>,
    /// Slots below `lo` and from `hi` on are all zero (so merges and scans skip them).
    lo: usize,
    hi: usize,
    total: u64,
    sum: u128,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; SLOTS].into_boxed_slice(),
            lo: SLOTS,
            hi: 0,
            total: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn slot(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = v.ilog2();
    let m = (v >> (e - PRECISION)) & (SUB - 1);
    (SUB + u64::from(e - PRECISION) * SUB + m) as usize
}

/// The midpoint of a slot's range (exact for small values).
fn representative(slot: usize) -> f64 {
    let s = slot as u64;
    if s < SUB {
        return s as f64;
    }
    let k = (s - SUB) / SUB;
    let m = (s - SUB) % SUB;
    let shift = k as u32;
    let low = (SUB + m) << shift;
    let width = 1u64 << shift;
    low as f64 + (width as f64 - 1.0) / 2.0
}

/// A histogram's slots alone, for a hot loop: [`SlotCounts::record`] only counts a value
/// (and keeps the largest); the total, the range and the sum are made when it is read
/// ([`SlotCounts::histogram`]), the sum from the caller's own exact count of it.
#[derive(Clone, PartialEq)]
pub struct SlotCounts {
    counts: Box<[u32]>,
    max: u64,
}

impl std::fmt::Debug for SlotCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotCounts")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for SlotCounts {
    fn default() -> Self {
        SlotCounts {
            counts: vec![0; SLOTS].into_boxed_slice(),
            max: 0,
        }
    }
}

impl SlotCounts {
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.counts[slot(nanos)] += 1;
        self.max = self.max.max(nanos);
    }

    /// The histogram of the recorded values, whose exact sum is `sum_nanos`: the same as
    /// [`Histogram::record`] of each would have made.
    #[must_use]
    pub fn histogram(&self, sum_nanos: u128) -> Histogram {
        let mut h = Histogram::default();
        let Some(lo) = self.counts.iter().position(|&c| c > 0) else {
            return h;
        };
        let hi = self
            .counts
            .iter()
            .rposition(|&c| c > 0)
            .map_or(lo, |i| i + 1);
        h.counts[lo..hi].copy_from_slice(&self.counts[lo..hi]);
        h.lo = lo;
        h.hi = hi;
        h.total = self.counts[lo..hi].iter().map(|&c| u64::from(c)).sum();
        h.sum = sum_nanos;
        h.max = self.max;
        h
    }
}

impl Histogram {
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        let i = slot(nanos);
        self.counts[i] += 1;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i + 1);
        self.total += 1;
        self.sum += u128::from(nanos);
        self.max = self.max.max(nanos);
    }

    #[must_use]
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Mean in nanoseconds (exact), or zero when empty.
    #[must_use]
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    #[must_use]
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The nearest-rank `q`-quantile in nanoseconds, or zero when empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        self.quantiles([q])[0]
    }

    /// The median, 95th and 99th percentiles in seconds: the three every report shows.
    #[must_use]
    pub fn p50_p95_p99_seconds(&self) -> [f64; 3] {
        self.quantiles([0.50, 0.95, 0.99]).map(|q| q / 1e9)
    }

    /// Several nearest-rank quantiles in nanoseconds from one scan, `qs` in ascending order
    /// (each as [`Histogram::quantile`] reports it); zeros when empty.
    #[must_use]
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        /// Slots summed at a time while the target rank is still beyond them.
        const CHUNK: usize = 64;
        debug_assert!(qs.is_sorted(), "quantiles are asked in ascending order");
        if self.total == 0 {
            return [0.0; N];
        }
        let max = self.max as f64;
        let ranks = qs.map(|q| ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1));
        let mut out = [max; N];
        // `seen` counts the values in slots lo..i.
        let (mut i, mut seen) = (self.lo, 0u64);
        for (k, &target) in ranks.iter().enumerate() {
            if seen < target {
                while i + CHUNK <= self.hi {
                    let chunk: u64 = self.counts[i..i + CHUNK]
                        .iter()
                        .map(|&c| u64::from(c))
                        .sum();
                    if seen + chunk >= target {
                        break;
                    }
                    seen += chunk;
                    i += CHUNK;
                }
                while i < self.hi && seen < target {
                    seen += u64::from(self.counts[i]);
                    i += 1;
                }
                if seen < target {
                    break;
                }
            }
            // The target rank falls in slot i - 1.
            out[k] = representative(i - 1).min(max);
        }
        out
    }

    /// How many recorded values are at most `nanos`, judged as [`Histogram::quantile`] reports
    /// them (each value stands for its slot's midpoint), so that a count at a bound agrees
    /// with the quantiles at that bound.
    #[must_use]
    pub fn count_at_most(&self, nanos: f64) -> u64 {
        let max = self.max as f64;
        self.counts[self.lo.min(self.hi)..self.hi]
            .iter()
            .enumerate()
            .take_while(|(i, _)| representative(self.lo + i).min(max) <= nanos)
            .map(|(_, &c)| u64::from(c))
            .sum()
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        let (lo, hi) = (other.lo, other.hi);
        for (a, b) in self.counts[lo..hi].iter_mut().zip(&other.counts[lo..hi]) {
            *a += *b;
        }
        self.lo = self.lo.min(lo);
        self.hi = self.hi.max(hi);
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    pub fn clear(&mut self) {
        if self.total > 0 {
            self.counts[self.lo..self.hi].fill(0);
            self.lo = SLOTS;
            self.hi = 0;
            self.total = 0;
            self.sum = 0;
            self.max = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_counts_make_the_histogram_recording_would() {
        let values: Vec<u64> = (0..5000u64)
            .map(|i| (i * 7919) % 3_000_000_000 + i)
            .collect();
        let mut whole = Histogram::default();
        let mut slots = SlotCounts::default();
        for &v in &values {
            whole.record(v);
            slots.record(v);
        }
        let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
        assert!(slots.histogram(sum) == whole);
        assert!(SlotCounts::default().histogram(0) == Histogram::default());
    }

    #[test]
    fn slots_are_monotone_and_tight() {
        let mut last = 0;
        for v in (0..2_000_000u64).step_by(7).chain([u64::MAX / 3, u64::MAX]) {
            let s = slot(v);
            assert!(s >= last && s < SLOTS);
            last = s;
            let r = representative(s);
            assert!(
                (r - v as f64).abs() <= (v as f64) / 128.0 + 1.0,
                "{v} -> {r}"
            );
        }
    }

    /// Nearest rank by a plain scan of every slot, one quantile at a time.
    fn scanned_quantile(h: &Histogram, q: f64) -> f64 {
        let rank = ((q * h.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in h.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return representative(i).min(h.max as f64);
            }
        }
        h.max as f64
    }

    #[test]
    fn one_scan_finds_every_quantile_a_plain_scan_finds() {
        // Values spread over many powers of two, with gaps, so the chunked scan both skips
        // and stops inside chunks; repeated and extreme quantiles included.
        let mut h = Histogram::default();
        for v in 0..20_000u64 {
            h.record(v * v * 37 + (v % 7) * 1_000_000);
        }
        let qs = [0.0, 0.001, 0.25, 0.5, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];
        assert_eq!(h.quantiles(qs), qs.map(|q| scanned_quantile(&h, q)));
        let mut one = Histogram::default();
        one.record(42);
        assert_eq!(one.quantiles([0.0, 0.5, 1.0]), [42.0; 3]);
        assert_eq!(Histogram::default().quantiles([0.5]), [0.0]);
    }

    #[test]
    fn quantiles_within_half_a_percent() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        for q in [0.5, 0.95, 0.99] {
            let exact = q * 100_000.0 * 1000.0;
            assert!(
                (h.quantile(q) - exact).abs() / exact < 0.005,
                "q{q}: {}",
                h.quantile(q)
            );
        }
        assert_eq!(h.mean(), 50_000.5 * 1000.0);
        // Counts agree with quantiles: at the median, at least half the values, and no more
        // than one slot's worth (0.8%) beyond.
        let at_median = h.count_at_most(h.quantile(0.5));
        assert!((50_000..50_400).contains(&at_median), "{at_median}");
        assert_eq!(h.count_at_most(0.0), 0);
        assert_eq!(h.count_at_most(f64::MAX), 100_000);
        let mut m = Histogram::default();
        m.merge(&h);
        m.merge(&h);
        assert_eq!(m.count(), 200_000);
        assert_eq!(m.quantile(0.5), h.quantile(0.5));
    }
}
