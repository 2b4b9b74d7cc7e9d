//! The concentration measures over a sorted distribution of non-negative values.
//!
//! Pure Rust, no PostgreSQL: the aggregates and the stored `concentration` summary both end up
//! here with a slice sorted ascending. The Gini and the HHI also read the sorted runs of a
//! parallel plan's workers, merged on the fly, to the same bits.
//!
//! Conventions, shared by every measure:
//! - The Lorenz curve is the piecewise-linear curve through (k/n, share of the k smallest units),
//!   so a share or a fraction of units read off it is exact when p·n is a whole number and
//!   linearly interpolated in between.
//! - No units, or a zero total, leave shares undefined: those measures return `None` (SQL NULL).
//! - Measures with an n − 1 in a denominator (`gini_unbiased`, `hhi_normalized`) are `None` for
//!   a single unit.

use crate::sum::{share_scale, sum_of, CompensatedSum, LaneSum};
use crate::values::for_each_merged;

/// The Gini coefficient G = Σᵢ (2i − n − 1)·x₍ᵢ₎ / (n·Σx), i = 1..n ascending, of values given
/// as up to three runs sorted ascending. This is the same number as the textbook
/// 2·Σ i·x₍ᵢ₎/(n·Σx) − (n+1)/n (R ineq, PySAL, ClickHouse), written so that equal values cancel
/// exactly and give 0, not a rounding residue.
///
/// The runs (parallel workers' values) are merged on the fly, and the total and the weighted
/// sum are taken in that one pass: the merged values are never written, and the sums are
/// `sum_of`'s over the merged slice, bit for bit.
pub fn gini_of_runs(runs: &[&[f64]]) -> Option<f64> {
    debug_assert!(runs.iter().all(|run| run.is_sorted()));
    let (n, scale) = (count(runs), scale_of(runs));
    let units = n as f64;
    let (mut total, mut weighted) = (LaneSum::new(n), LaneSum::new(n));
    let mut rank = 0.0; // i, counted in a double: converting an integer costs more
    for_each_merged(runs, |x| {
        rank += 1.0;
        total.add(x * scale);
        weighted.add(gini_weight(rank, units) * (x * scale));
    });
    gini_of_sums(n, total.value(), weighted.value())
}

/// G · n/(n − 1), the small-sample correction (R DescTools' default, ineq's `corr = TRUE`).
pub fn gini_unbiased_of_runs(runs: &[&[f64]]) -> Option<f64> {
    unbiased_gini(gini_of_runs(runs), count(runs))
}

/// The weight 2i − n − 1 of the i-th smallest of n values (i from 1) in the Gini's sum.
#[inline]
fn gini_weight(i: f64, units: f64) -> f64 {
    2.0 * i - units - 1.0
}

/// The Gini from n, the (scaled) total and the weighted sum; None without shares.
fn gini_of_sums(n: usize, total: f64, weighted: f64) -> Option<f64> {
    (n > 0 && total > 0.0).then(|| (weighted / (n as f64 * total)).clamp(0.0, 1.0))
}

fn unbiased_gini(gini: Option<f64>, units: usize) -> Option<f64> {
    let n = units as f64;
    if n < 2.0 {
        return None;
    }
    Some(gini? * n / (n - 1.0))
}

/// The Herfindahl–Hirschman index of values given as up to three runs sorted ascending, in two
/// passes over the runs merged on the fly (the total, then the squared shares): the sums are
/// those over the merged slice, bit for bit, and the merged values are never written.
pub fn hhi_of_runs(runs: &[&[f64]]) -> Option<f64> {
    debug_assert!(runs.iter().all(|run| run.is_sorted()));
    let (n, scale) = (count(runs), scale_of(runs));
    let mut total = LaneSum::new(n);
    for_each_merged(runs, |x| total.add(x * scale));
    let total = total.value();
    (n > 0 && total > 0.0).then(|| sum_of_squared_shares(runs, n, scale, total))
}

/// (H − 1/n) / (1 − 1/n): 0 for equal shares, 1 when one unit holds everything.
pub fn hhi_normalized_of_runs(runs: &[&[f64]]) -> Option<f64> {
    normalized_hhi(hhi_of_runs(runs)?, count(runs))
}

fn normalized_hhi(hhi: f64, units: usize) -> Option<f64> {
    let n = units as f64;
    (n >= 2.0).then(|| ((hhi - 1.0 / n) / (1.0 - 1.0 / n)).clamp(0.0, 1.0))
}

/// Σ (x·scale / total)² over the `n` values of the runs, in the lanes of `sum_of` over the
/// merged slice.
fn sum_of_squared_shares(runs: &[&[f64]], n: usize, scale: f64, total: f64) -> f64 {
    if let [run] = runs {
        return sum_of(run, |_, x| (x * scale / total) * (x * scale / total)); // in a tighter loop
    }
    let mut squares = LaneSum::new(n);
    for_each_merged(runs, |x| {
        squares.add((x * scale / total) * (x * scale / total))
    });
    squares.value()
}

fn count(runs: &[&[f64]]) -> usize {
    runs.iter().map(|run| run.len()).sum()
}

/// The scale of `Distribution` for the largest value of sorted runs.
fn scale_of(runs: &[&[f64]]) -> f64 {
    share_scale(
        runs.iter()
            .filter_map(|run| run.last())
            .fold(0.0, |a: f64, &x| a.max(x)),
    )
}

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

    /// See `gini_of_runs`, which gives the same bits; here the total is known, and the weighted
    /// sum alone is taken in `sum_of`'s tighter loop.
    pub fn gini(&self) -> Option<f64> {
        let (units, scale) = (self.len() as f64, self.scale);
        let weighted = sum_of(self.ascending, |i, x| {
            gini_weight(i as f64 + 1.0, units) * (x * scale)
        });
        gini_of_sums(self.len(), self.total, weighted)
    }

    /// See `gini_unbiased_of_runs`.
    pub fn gini_unbiased(&self) -> Option<f64> {
        unbiased_gini(self.gini(), self.len())
    }

    /// Herfindahl–Hirschman index Σ sᵢ², sᵢ = xᵢ / Σx.
    pub fn hhi(&self) -> Option<f64> {
        self.units_with_shares()?;
        Some(sum_of_squared_shares(
            &[self.ascending],
            self.len(),
            self.scale,
            self.total,
        ))
    }

    /// See `hhi_normalized_of_runs`.
    pub fn hhi_normalized(&self) -> Option<f64> {
        normalized_hhi(self.hhi()?, self.len())
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
    fn measures_of_runs_are_those_of_the_definitions_and_of_the_merged_slice() {
        // Cent amounts over four orders of magnitude: sums that round (a hundredth has no exact
        // double) and ties across the runs.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let runs: Vec<Vec<f64>> = [1501, 57, 2330]
            .iter()
            .map(|&len| {
                sorted(
                    &(0..len)
                        .map(|_| ((next() * 9.0).exp() * 100.0).round() / 100.0)
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let slices: Vec<&[f64]> = runs.iter().map(Vec::as_slice).collect();
        for taken in 1..=3 {
            // The formulas over the merged slice, with `sum_of` (as `Distribution` computed
            // them before the runs were read unmerged): the same bits.
            let merged = sorted(&runs[..taken].concat());
            let n = merged.len() as f64;
            let total = sum_of(&merged, |_, x| x);
            let weighted = sum_of(&merged, |i, x| (2.0 * (i as f64 + 1.0) - n - 1.0) * x);
            let squares = sum_of(&merged, |_, x| (x / total) * (x / total));
            assert_eq!(
                gini_of_runs(&slices[..taken]).map(f64::to_bits),
                Some((weighted / (n * total)).to_bits())
            );
            assert_eq!(
                hhi_of_runs(&slices[..taken]).map(f64::to_bits),
                Some(squares.to_bits())
            );
            let d = Distribution::new(&merged);
            assert_eq!(
                d.gini().map(f64::to_bits),
                Some((weighted / (n * total)).to_bits())
            );
            assert_eq!(d.hhi().map(f64::to_bits), Some(squares.to_bits()));
        }
        // The definitions, G = Σᵢ Σⱼ |xᵢ − xⱼ| / (2·n²·mean) pair by pair and H = Σ sᵢ².
        let all = sorted(&runs.concat());
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        let pairs: f64 = all
            .iter()
            .map(|x| all.iter().map(|y| (x - y).abs()).sum::<f64>())
            .sum();
        assert!((gini_of_runs(&slices).unwrap() - pairs / (2.0 * n * n * mean)).abs() < 1e-12);
        let hhi_by_definition: f64 = all.iter().map(|x| (x / (mean * n)).powi(2)).sum();
        assert!((hhi_of_runs(&slices).unwrap() - hhi_by_definition).abs() < 1e-12);
        assert_eq!(
            hhi_normalized_of_runs(&slices).map(f64::to_bits),
            Distribution::new(&all).hhi_normalized().map(f64::to_bits)
        );
        assert_eq!(
            gini_of_runs(&[&[], &[0.0, 0.0]]),
            None,
            "no total, no shares"
        );
        assert_eq!(gini_unbiased_of_runs(&[&[], &[3.0]]), None, "one unit");
        assert_eq!(hhi_normalized_of_runs(&[&[3.0], &[]]), None, "one unit");
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
