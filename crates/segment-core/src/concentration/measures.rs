//! The concentration measures over a sorted distribution of non-negative values.
//!
//! Pure Rust, no PostgreSQL: the aggregates and the stored `concentration` summary both end up
//! here with a slice sorted ascending.
//!
//! Conventions, shared by every measure:
//! - The Lorenz curve is the piecewise-linear curve through (k/n, share of the k smallest units),
//!   so a share or a fraction of units read off it is exact when p·n is a whole number and
//!   linearly interpolated in between.
//! - No units, or a zero total, leave shares undefined: those measures return `None` (SQL NULL).
//! - Measures with an n − 1 in a denominator (`gini_unbiased`, `hhi_normalized`) are `None` for
//!   a single unit.

use crate::sum::{share_scale, sum_of, CompensatedSum};

/// A position p·n within this much of a whole number is taken as that whole number, so that
/// `top_share(x, 0.7)` over 10 units reads exactly the 7th point of the curve even though
/// 0.7 · 10 = 7.000000000000001 in binary floating point.
const WHOLE_NUMBER_TOLERANCE: f64 = 1e-9;

/// Non-negative, finite values sorted ascending, and their total.
///
/// Every measure is a ratio, unchanged when all values are scaled alike. Values so large that
/// their sums could pass the largest double (1.8e308) are therefore read scaled by a power of
/// two, which is exact, so that the measures stay right where a plain sum would overflow.
#[derive(Clone, Copy, Debug)]
pub struct Distribution<'a> {
    ascending: &'a [f64],
    /// 1, or the power of two that brings the largest value into [1, 2).
    scale: f64,
    /// The total of the scaled values.
    total: f64,
}

impl<'a> Distribution<'a> {
    /// `ascending` must be sorted ascending, finite and non-negative.
    pub fn new(ascending: &'a [f64]) -> Self {
        debug_assert!(ascending.windows(2).all(|w| w[0] <= w[1]));
        let scale = share_scale(ascending.last().copied().unwrap_or(0.0));
        Distribution {
            ascending,
            scale,
            total: sum_of(ascending, |_, x| x * scale),
        }
    }

    /// The value at `index`, scaled.
    #[inline]
    fn at(&self, index: usize) -> f64 {
        self.ascending[index] * self.scale
    }

    pub fn len(&self) -> usize {
        self.ascending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ascending.is_empty()
    }

    /// The sum of the values: +Infinity when it is beyond double precision (the measures are
    /// still right; only the total itself cannot be shown).
    pub fn total(&self) -> f64 {
        self.total / self.scale
    }

    /// Some(n) when shares are defined: at least one unit and a positive total.
    fn units_with_shares(&self) -> Option<f64> {
        (!self.ascending.is_empty() && self.total > 0.0).then_some(self.ascending.len() as f64)
    }

    /// G = Σᵢ (2i − n − 1)·x₍ᵢ₎ / (n·Σx), i = 1..n ascending. This is the same number as the
    /// textbook 2·Σ i·x₍ᵢ₎/(n·Σx) − (n+1)/n (R ineq, PySAL, ClickHouse), written so that equal
    /// values cancel exactly and give 0, not a rounding residue.
    pub fn gini(&self) -> Option<f64> {
        let n = self.units_with_shares()?;
        let scale = self.scale;
        let weighted = sum_of(self.ascending, |i, x| {
            (2.0 * (i as f64 + 1.0) - n - 1.0) * (x * scale)
        });
        Some((weighted / (n * self.total)).clamp(0.0, 1.0))
    }

    /// G · n/(n − 1), the small-sample correction (R DescTools' default, ineq's `corr = TRUE`).
    pub fn gini_unbiased(&self) -> Option<f64> {
        let n = self.units_with_shares()?;
        if n < 2.0 {
            return None;
        }
        Some(self.gini()? * n / (n - 1.0))
    }

    /// Herfindahl–Hirschman index Σ sᵢ², sᵢ = xᵢ / Σx.
    pub fn hhi(&self) -> Option<f64> {
        self.units_with_shares()?;
        let (scale, total) = (self.scale, self.total);
        Some(sum_of(self.ascending, |_, x| {
            (x * scale / total) * (x * scale / total)
        }))
    }

    /// (H − 1/n) / (1 − 1/n): 0 for equal shares, 1 when one unit holds everything.
    pub fn hhi_normalized(&self) -> Option<f64> {
        let n = self.units_with_shares()?;
        if n < 2.0 {
            return None;
        }
        Some(((self.hhi()? - 1.0 / n) / (1.0 - 1.0 / n)).clamp(0.0, 1.0))
    }

    /// The share of the total held by the largest fraction `p` of units, p in [0, 1].
    pub fn top_share(&self, p: f64) -> Option<f64> {
        Some(self.top_shares(&[p])?[0])
    }

    /// `top_share` for several fractions in one pass over the values.
    pub fn top_shares(&self, fractions: &[f64]) -> Option<Vec<f64>> {
        let n = self.units_with_shares()?;
        let ranks: Vec<f64> = fractions.iter().map(|&p| snap_to_whole(p * n)).collect();
        let sums = self.interpolated_top_sums(&ranks);
        Some(sums.into_iter().map(|s| s / self.total).collect())
    }

    /// The smallest fraction of units, largest first, whose values hold the share `q` of the
    /// total, q in (0, 1]: the inverse of `top_share`.
    pub fn pareto_ratio(&self, q: f64) -> Option<f64> {
        Some(self.pareto_ratios(&[q])?[0])
    }

    /// `pareto_ratio` for several shares in one pass over the values.
    pub fn pareto_ratios(&self, shares: &[f64]) -> Option<Vec<f64>> {
        let n = self.units_with_shares()?;
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by(|&a, &b| shares[a].total_cmp(&shares[b]));

        let mut ratios = vec![f64::NAN; shares.len()];
        let mut descending = self
            .ascending
            .iter()
            .rev()
            .map(|x| x * self.scale)
            .enumerate()
            .peekable();
        let mut above = CompensatedSum::default(); // sum of the units already passed
        for index in order {
            let target = shares[index] * self.total;
            // Pass every unit that, with those before it, still stays below the target.
            while let Some(&(k, x)) = descending.peek() {
                if above.value() + x >= target {
                    // The unit that reaches the target: take the fraction of it needed.
                    let needed = (target - above.value()).max(0.0);
                    ratios[index] = (k as f64 + needed / x) / n;
                    break;
                }
                above.add(x);
                descending.next();
            }
        }
        // A target that rounding keeps just above the sum of all units is reached by the last
        // positive unit.
        if ratios.iter().any(|r| r.is_nan()) {
            let positive = self.ascending.iter().filter(|&&x| x > 0.0).count() as f64;
            ratios
                .iter_mut()
                .filter(|r| r.is_nan())
                .for_each(|r| *r = positive / n);
        }
        Some(ratios)
    }

    /// `points + 1` points of the Lorenz curve, (i/points, share of the smallest i/points of
    /// units), from (0, 0) to (1, 1). None when shares are undefined.
    pub fn lorenz_curve(&self, points: usize) -> Option<Vec<(f64, f64)>> {
        let n = self.units_with_shares()?;
        let population: Vec<f64> = (0..=points).map(|i| i as f64 / points as f64).collect();
        // The bottom share is 1 − the top share of the rest; reading both ends from the same
        // sums keeps the curve exactly at (0, 0) and (1, 1).
        let top_ranks: Vec<f64> = population
            .iter()
            .map(|&u| snap_to_whole((1.0 - u) * n))
            .collect();
        let top_sums = self.interpolated_top_sums(&top_ranks);
        Some(
            population
                .into_iter()
                .zip(top_sums)
                .map(|(u, top)| (u, (1.0 - top / self.total).clamp(0.0, 1.0)))
                .collect(),
        )
    }

    /// The sum of the `rank` largest values for fractional ranks in [0, n]: whole units, plus the
    /// same fraction of the next unit (linear interpolation along the Lorenz curve).
    fn interpolated_top_sums(&self, ranks: &[f64]) -> Vec<f64> {
        let n = self.ascending.len();
        let mut order: Vec<usize> = (0..ranks.len()).collect();
        order.sort_by(|&a, &b| ranks[a].total_cmp(&ranks[b]));

        let mut sums = vec![0.0; ranks.len()];
        let mut descending = self.ascending.iter().rev().map(|x| x * self.scale);
        let mut above = CompensatedSum::default();
        let mut passed = 0usize;
        for index in order {
            let rank = ranks[index].clamp(0.0, n as f64);
            let whole = rank.floor() as usize;
            while passed < whole {
                above.add(descending.next().expect("rank <= n"));
                passed += 1;
            }
            let fraction = rank - whole as f64;
            sums[index] = if passed == n {
                self.total
            } else if fraction > 0.0 {
                above.value() + fraction * self.at(n - 1 - passed)
            } else {
                above.value()
            };
        }
        sums
    }
}

fn snap_to_whole(x: f64) -> f64 {
    let whole = x.round();
    if (x - whole).abs() <= WHOLE_NUMBER_TOLERANCE * whole.max(1.0) {
        whole
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The example of R's ineq package documentation (?ineq, ?Gini, ?Herfindahl):
    /// Gini 0.4620911, Gini(corr = TRUE) 0.5134346, Herfindahl 0.1840812 (printed to 7 digits).
    const INEQ_EXAMPLE: [f64; 10] = [
        541.0, 1463.0, 2445.0, 3438.0, 4437.0, 5401.0, 6392.0, 8304.0, 11904.0, 22261.0,
    ];

    #[test]
    fn r_ineq_reference_values() {
        let v = sorted(&INEQ_EXAMPLE);
        let d = Distribution::new(&v);
        assert!((d.gini().unwrap() - 0.4620911).abs() < 5e-8);
        assert!((d.gini_unbiased().unwrap() - 0.5134346).abs() < 5e-8);
        assert!((d.hhi().unwrap() - 0.1840812).abs() < 5e-8);
    }

    #[test]
    fn clickhouse_documentation_gini_of_0_to_9() {
        // ClickHouse docs, aggregate function `gini`: SELECT gini(number) FROM numbers(10)
        // returns 0.36666666666666664.
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        let g = Distribution::new(&v).gini().unwrap();
        assert!((g - 0.36666666666666664).abs() < 1e-15, "{g}");
    }

    #[test]
    fn top_shares_are_the_cumulative_shares_at_whole_ranks() {
        // Σ = 66586; the largest values' running shares: 22261/66586 = 0.33432, ...
        let v = sorted(&INEQ_EXAMPLE);
        let d = Distribution::new(&v);
        let mut running = 0.0;
        for (k, x) in INEQ_EXAMPLE.iter().rev().enumerate() {
            running += x;
            let p = (k + 1) as f64 / 10.0;
            assert!(
                (d.top_share(p).unwrap() - running / 66586.0).abs() < 1e-15,
                "p = {p}"
            );
        }
        assert_eq!(d.top_share(1.0), Some(1.0));
        assert_eq!(d.top_share(0.0), Some(0.0));
        // Halfway into the largest unit: half its share.
        assert!((d.top_share(0.05).unwrap() - 0.5 * 22261.0 / 66586.0).abs() < 1e-15);
    }

    #[test]
    fn pareto_ratio_inverts_top_share() {
        let v = sorted(&INEQ_EXAMPLE);
        let d = Distribution::new(&v);
        for q in [0.01, 0.2, 0.33, 0.5, 0.8, 0.95, 0.999, 1.0] {
            let p = d.pareto_ratio(q).unwrap();
            assert!((d.top_share(p).unwrap() - q).abs() < 1e-12, "q = {q}");
        }
        // The largest unit alone holds 33.4 %, so 20 % of the total needs 0.2/0.3343 of it.
        let expected = (0.2 * 66586.0 / 22261.0) / 10.0;
        assert!((d.pareto_ratio(0.2).unwrap() - expected).abs() < 1e-15);
        // Several shares in one pass give what one at a time gives.
        let many = d.pareto_ratios(&[0.8, 0.5, 0.2]).unwrap();
        assert_eq!(
            many,
            vec![
                d.pareto_ratio(0.8).unwrap(),
                d.pareto_ratio(0.5).unwrap(),
                d.pareto_ratio(0.2).unwrap()
            ]
        );
    }

    #[test]
    fn pareto_ratio_of_the_whole_total_skips_zeros() {
        let v = sorted(&[0.0, 0.0, 5.0, 5.0]);
        let d = Distribution::new(&v);
        assert_eq!(d.pareto_ratio(1.0), Some(0.5));
        assert_eq!(d.pareto_ratio(0.5), Some(0.25));
    }

    #[test]
    fn equal_values_have_no_concentration() {
        let v = vec![7.5; 1000];
        let d = Distribution::new(&v);
        assert_eq!(d.gini(), Some(0.0));
        assert_eq!(d.gini_unbiased(), Some(0.0));
        assert!((d.hhi().unwrap() - 0.001).abs() < 1e-15);
        assert_eq!(d.hhi_normalized(), Some(0.0));
        assert!((d.top_share(0.2).unwrap() - 0.2).abs() < 1e-15);
        assert!((d.pareto_ratio(0.8).unwrap() - 0.8).abs() < 1e-12);
    }

    #[test]
    fn one_unit() {
        let v = [42.0];
        let d = Distribution::new(&v);
        assert_eq!(d.gini(), Some(0.0));
        assert_eq!(d.gini_unbiased(), None);
        assert_eq!(d.hhi(), Some(1.0));
        assert_eq!(d.hhi_normalized(), None);
        assert_eq!(d.top_share(0.25), Some(0.25));
        assert_eq!(d.pareto_ratio(0.8), Some(0.8));
    }

    #[test]
    fn one_unit_holds_everything() {
        let mut v = vec![0.0; 99];
        v.push(10.0);
        let d = Distribution::new(&v);
        assert!((d.gini().unwrap() - 0.99).abs() < 1e-15); // (n − 1)/n
        assert!((d.gini_unbiased().unwrap() - 1.0).abs() < 1e-15);
        assert_eq!(d.hhi(), Some(1.0));
        assert_eq!(d.hhi_normalized(), Some(1.0));
        assert_eq!(d.top_share(0.01), Some(1.0));
        assert_eq!(d.pareto_ratio(1.0), Some(0.01));
    }

    #[test]
    fn undefined_without_units_or_total() {
        for v in [vec![], vec![0.0, 0.0]] {
            let d = Distribution::new(&v);
            assert_eq!(d.gini(), None);
            assert_eq!(d.hhi(), None);
            assert_eq!(d.top_share(0.5), None);
            assert_eq!(d.pareto_ratio(0.5), None);
            assert_eq!(d.lorenz_curve(4), None);
        }
    }

    #[test]
    fn lorenz_curve_runs_from_origin_to_one() {
        let v = sorted(&INEQ_EXAMPLE);
        let d = Distribution::new(&v);
        let curve = d.lorenz_curve(10).unwrap();
        assert_eq!(curve.len(), 11);
        assert_eq!(curve[0], (0.0, 0.0));
        assert_eq!(curve[10], (1.0, 1.0));
        // The bottom 10 % is the smallest value.
        assert!((curve[1].1 - 541.0 / 66586.0).abs() < 1e-15);
        assert!(curve.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn gini_is_twice_the_area_between_diagonal_and_lorenz_curve() {
        // An identity, not our formula: G = 1 − 2·∫L, and with n points the trapezoids are exact.
        let v = sorted(&INEQ_EXAMPLE);
        let d = Distribution::new(&v);
        let curve = d.lorenz_curve(10).unwrap();
        let area: f64 = curve
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum();
        assert!((1.0 - 2.0 * area - d.gini().unwrap()).abs() < 1e-12);
    }

    /// Values whose sum is beyond double precision: the measures are ratios and come out as
    /// they do for the same values scaled down (exact by hand: G(0, a) = 1/2, HHI(a, a) = 1/2).
    #[test]
    fn values_near_the_largest_double() {
        let d = Distribution::new(&[0.0, 1e308]);
        assert_eq!(d.gini(), Some(0.5));
        // log2 of the largest doubles rounds to 1024 (the helper review's catch).
        let d = Distribution::new(&[0.0, f64::MAX]);
        assert_eq!(d.gini(), Some(0.5));
        assert_eq!(Distribution::new(&[f64::MAX, f64::MAX]).hhi(), Some(0.5));
        let twins = [1e308, 1e308];
        let d = Distribution::new(&twins);
        assert!(d.total().is_infinite());
        assert_eq!(d.gini(), Some(0.0));
        assert_eq!(d.hhi(), Some(0.5));
        assert_eq!(d.top_share(0.5), Some(0.5));
        assert_eq!(d.pareto_ratio(0.5), Some(0.5));
        let curve = d.lorenz_curve(2).unwrap();
        assert_eq!(curve, vec![(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]);
        let small = Distribution::new(&[1.0, 3.0, 4.0]);
        let huge_values = [1e300, 3e300, 4e300];
        let huge = Distribution::new(&huge_values);
        assert!((small.gini().unwrap() - huge.gini().unwrap()).abs() < 1e-15);
    }
}
