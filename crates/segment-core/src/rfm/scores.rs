//! RFM scores over one partition of values (recency, frequency or monetary value).
//!
//! Pure Rust. One value per row (None for NULL), as a key whose unsigned order is the order of
//! the scores (`f64_keys`, `i64_keys`; see `sort`); one score per row back, in order.

use super::breaks::{bin_key, key_edges};
use crate::sort::{f64_key, i64_key, sort_by_key};

/// Finite doubles as score keys: a higher value scores higher, a lower one when `descending`.
pub fn f64_keys(values: &[Option<f64>], descending: bool) -> Vec<Option<u64>> {
    keys(values, descending, f64_key)
}

/// Bigints (timestamps in microseconds) as score keys, exact for every value, where a double
/// holds microseconds exactly only within 285 years of 2000.
pub fn i64_keys(values: &[Option<i64>], descending: bool) -> Vec<Option<u64>> {
    keys(values, descending, i64_key)
}

fn keys<T: Copy>(values: &[Option<T>], descending: bool, key: fn(T) -> u64) -> Vec<Option<u64>> {
    let flip = if descending { u64::MAX } else { 0 };
    values.iter().map(|v| v.map(|x| key(x) ^ flip)).collect()
}

/// The default method, honest about ties: score = 1 + floor(bins · (keys strictly below) / n),
/// so equal values always score the same, whatever the row order. n counts the non-NULL keys.
///
/// Computed through the edges where the score changes (see `breaks`), which gives the same
/// scores and selects a few order statistics instead of sorting (value, row) pairs.
pub fn rank_scores(keys: &[Option<u64>], bins: u32) -> Vec<Option<i16>> {
    let mut present: Vec<u64> = keys.iter().flatten().copied().collect();
    let Some(edges) = key_edges(&mut present, bins) else {
        return vec![None; keys.len()];
    };
    keys.iter().map(|k| k.map(|k| bin_key(k, &edges))).collect()
}

/// Equal-sized bins exactly like PostgreSQL's `ntile(bins) OVER (ORDER BY value)` (`ORDER BY
/// value DESC` for descending keys): the first n mod bins bins hold one row more. Ties are split
/// by their order in the partition, that is by the window's ORDER BY, so add one (e.g.
/// `OVER (ORDER BY customer_id)`) for a reproducible split.
pub fn ntile_scores(keys: &[Option<u64>], bins: u32) -> Vec<Option<i16>> {
    let ranked = with_rows_in_order(keys);
    let n = ranked.len();
    let bins = bins as usize;
    let (per_bin, larger_bins) = (n / bins, n % bins);
    let mut scores = vec![None; keys.len()];
    for (position, &(_, row)) in ranked.iter().enumerate() {
        let in_larger = larger_bins * (per_bin + 1);
        let bin = if position < in_larger {
            position / (per_bin + 1)
        } else {
            larger_bins + (position - in_larger) / per_bin
        };
        scores[row] = Some(bin as i16 + 1);
    }
    scores
}

/// (key, row) for the rows with a key, ascending, equal keys in partition order (ntile splits
/// ties by it). The radix sort is stable and several times faster than a comparison sort on
/// the million values of a customer base.
fn with_rows_in_order(keys: &[Option<u64>]) -> Vec<(u64, usize)> {
    let mut ranked: Vec<(u64, usize)> = keys
        .iter()
        .enumerate()
        .filter_map(|(row, k)| k.map(|k| (k, row)))
        .collect();
    sort_by_key(&mut ranked, |&(k, _)| k, &mut || ());
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().map(|&v| Some(v)).collect()
    }

    fn rank_scores_of(values: &[Option<f64>], bins: u32, descending: bool) -> Vec<Option<i16>> {
        rank_scores(&f64_keys(values, descending), bins)
    }

    fn ntile_scores_of(values: &[Option<f64>], bins: u32, descending: bool) -> Vec<Option<i16>> {
        ntile_scores(&f64_keys(values, descending), bins)
    }

    #[test]
    fn ties_share_a_score() {
        // n = 6, bins = 5: below = 0, 0, 2, 3, 3, 5 -> 1 + floor(5·below/6) = 1, 1, 2, 3, 3, 5.
        let scores = rank_scores_of(&some(&[1.0, 1.0, 2.0, 3.0, 3.0, 9.0]), 5, false);
        assert_eq!(scores, [1, 1, 2, 3, 3, 5].map(Some));
        // Descending: above = 4, 4, 3, 1, 1, 0 -> 4, 4, 3, 1, 1, 1.
        let scores = rank_scores_of(&some(&[1.0, 1.0, 2.0, 3.0, 3.0, 9.0]), 5, true);
        assert_eq!(scores, [4, 4, 3, 1, 1, 1].map(Some));
    }

    #[test]
    fn ntile_sizes_like_postgres() {
        // 7 rows in 3 bins: 3, 2, 2.
        let values = some(&[70.0, 10.0, 30.0, 20.0, 60.0, 50.0, 40.0]);
        assert_eq!(
            ntile_scores_of(&values, 3, false),
            [3, 1, 1, 1, 3, 2, 2].map(Some)
        );
        assert_eq!(
            ntile_scores_of(&values, 3, true),
            [1, 3, 2, 3, 1, 1, 2].map(Some)
        );
        // Fewer rows than bins: one row a bin.
        assert_eq!(
            ntile_scores_of(&some(&[5.0, 1.0]), 5, false),
            [2, 1].map(Some)
        );
    }

    /// Many values (the radix-sorted path), with ties, negatives and NULLs, against the
    /// definition counted in a copy sorted by the standard library.
    #[test]
    fn rank_scores_follow_the_definition_on_many_values() {
        let values: Vec<Option<f64>> = (0..50_000_i64)
            .map(|i| {
                let x = (i * 7919) % 10_007;
                (x % 17 != 0).then(|| ((x * x) % 1_000) as f64 / 8.0 - 20.0)
            })
            .collect();
        let mut sorted: Vec<f64> = values.iter().flatten().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as u64;
        for bins in [3, 5, 100] {
            for descending in [false, true] {
                let expected: Vec<Option<i16>> = values
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let below = sorted.partition_point(|&x| x < v) as u64;
                            let above = n - sorted.partition_point(|&x| x <= v) as u64;
                            let worse = if descending { above } else { below };
                            1 + (u64::from(bins) * worse / n) as i16
                        })
                    })
                    .collect();
                assert_eq!(rank_scores_of(&values, bins, descending), expected);
            }
        }
    }

    #[test]
    fn nulls_are_left_out() {
        let values = vec![Some(1.0), None, Some(2.0)];
        assert_eq!(
            rank_scores_of(&values, 2, false),
            vec![Some(1), None, Some(2)]
        );
        assert_eq!(
            ntile_scores_of(&values, 2, false),
            vec![Some(1), None, Some(2)]
        );
    }

    /// Two times 1 µs apart, 300 years from 2000, are one double apart no more: as doubles
    /// they tie, as keys they do not.
    #[test]
    fn distant_times_keep_their_order() {
        let far = 300 * 365 * 86_400_000_000_i64;
        assert_eq!(far as f64, (far + 1) as f64, "the doubles tie");
        let times = [Some(far + 1), None, Some(far), Some(far + 1), Some(-far)];
        // 1 + floor(3 · below / 4), below = 2, 1, 2, 0: the two later times apart, as they are.
        let scores = rank_scores(&i64_keys(&times, false), 3);
        assert_eq!(scores, vec![Some(2), None, Some(1), Some(2), Some(1)]);
        // Descending, above = 0, 2, 0, 3: 1, 2, 1, 3.
        let scores = rank_scores(&i64_keys(&times, true), 3);
        assert_eq!(scores, vec![Some(1), None, Some(2), Some(1), Some(3)]);
    }
}
