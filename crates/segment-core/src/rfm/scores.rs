//! RFM scores over one partition of values (recency, frequency or monetary value).
//!
//! Pure Rust. One value per row (None for NULL), finite; one score per row back, in order.
//! A higher value scores higher; `descending` turns that round (e.g. recency in days).

use super::breaks::{bin, breaks};
use crate::sort::{f64_key, i64_key, sort_by_key};

/// The default method, honest about ties: score = 1 + floor(bins · (values strictly below) / n)
/// (strictly above when descending), so equal values always score the same, whatever the row
/// order. n counts the non-NULL values.
///
/// Computed through the edges where the score changes (see `breaks`), which gives the same
/// scores and sorts only the values, not (value, row) pairs.
pub fn rank_scores(values: &[Option<f64>], bins: u32, descending: bool) -> Vec<Option<i16>> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let Some(edges) = breaks(present, bins, descending) else {
        return vec![None; values.len()];
    };
    values
        .iter()
        .map(|v| v.map(|x| bin(x, &edges, descending)))
        .collect()
}

/// Equal-sized bins exactly like PostgreSQL's `ntile(bins) OVER (ORDER BY value)` (`ORDER BY
/// value DESC` when descending): the first n mod bins bins hold one row more. Ties are split
/// by their order in the partition, that is by the window's ORDER BY, so add one (e.g.
/// `OVER (ORDER BY customer_id)`) for a reproducible split.
pub fn ntile_scores(values: &[Option<f64>], bins: u32, descending: bool) -> Vec<Option<i16>> {
    let ranked = with_rows_in_order(values, descending);
    let n = ranked.len();
    let bins = bins as usize;
    let (per_bin, larger_bins) = (n / bins, n % bins);
    let mut scores = vec![None; values.len()];
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

/// The times replaced by their dense ranks (0, 1, 2, ... ascending): the scores depend only on
/// the order of the values and their ties, and a rank is exact in a double where a time more
/// than 2^53 microseconds (285 years) from 2000 is not, so distinct times never tie.
pub fn dense_ranks(times: &[Option<i64>]) -> Vec<Option<f64>> {
    let mut ranked: Vec<(i64, usize)> = times
        .iter()
        .enumerate()
        .filter_map(|(row, t)| t.map(|t| (t, row)))
        .collect();
    sort_by_key(&mut ranked, |&(t, _)| i64_key(t), &mut || ());
    let mut ranks = vec![None; times.len()];
    let mut rank = 0.0;
    for (i, &(t, row)) in ranked.iter().enumerate() {
        if i > 0 && ranked[i - 1].0 != t {
            rank += 1.0;
        }
        ranks[row] = Some(rank);
    }
    ranks
}

/// (value, row) for the rows with a value, ascending or descending, equal values in partition
/// order (ntile splits ties by it). The radix sort is stable and several times faster than a
/// comparison sort on the million values of a customer base.
fn with_rows_in_order(values: &[Option<f64>], descending: bool) -> Vec<(f64, usize)> {
    let mut ranked: Vec<(f64, usize)> = values
        .iter()
        .enumerate()
        .filter_map(|(row, v)| v.map(|x| (x, row)))
        .collect();
    let flip = if descending { u64::MAX } else { 0 };
    sort_by_key(&mut ranked, |&(x, _)| f64_key(x) ^ flip, &mut || ());
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().map(|&v| Some(v)).collect()
    }

    #[test]
    fn ties_share_a_score() {
        // n = 6, bins = 5: below = 0, 0, 2, 3, 3, 5 -> 1 + floor(5·below/6) = 1, 1, 2, 3, 3, 5.
        let scores = rank_scores(&some(&[1.0, 1.0, 2.0, 3.0, 3.0, 9.0]), 5, false);
        assert_eq!(scores, [1, 1, 2, 3, 3, 5].map(Some));
        // Descending: above = 4, 4, 3, 1, 1, 0 -> 4, 4, 3, 1, 1, 1.
        let scores = rank_scores(&some(&[1.0, 1.0, 2.0, 3.0, 3.0, 9.0]), 5, true);
        assert_eq!(scores, [4, 4, 3, 1, 1, 1].map(Some));
    }

    #[test]
    fn ntile_sizes_like_postgres() {
        // 7 rows in 3 bins: 3, 2, 2.
        let values = some(&[70.0, 10.0, 30.0, 20.0, 60.0, 50.0, 40.0]);
        assert_eq!(
            ntile_scores(&values, 3, false),
            [3, 1, 1, 1, 3, 2, 2].map(Some)
        );
        assert_eq!(
            ntile_scores(&values, 3, true),
            [1, 3, 2, 3, 1, 1, 2].map(Some)
        );
        // Fewer rows than bins: one row a bin.
        assert_eq!(ntile_scores(&some(&[5.0, 1.0]), 5, false), [2, 1].map(Some));
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
                assert_eq!(rank_scores(&values, bins, descending), expected);
            }
        }
    }

    #[test]
    fn nulls_are_left_out() {
        let values = vec![Some(1.0), None, Some(2.0)];
        assert_eq!(rank_scores(&values, 2, false), vec![Some(1), None, Some(2)]);
        assert_eq!(
            ntile_scores(&values, 2, false),
            vec![Some(1), None, Some(2)]
        );
    }

    /// Two times 1 µs apart, 300 years from 2000, are one double apart no more: as doubles
    /// they tie, as ranks they do not.
    #[test]
    fn distant_times_keep_their_order() {
        let far = 300 * 365 * 86_400_000_000_i64;
        assert_eq!(far as f64, (far + 1) as f64, "the doubles tie");
        let ranks = dense_ranks(&[Some(far + 1), None, Some(far), Some(far + 1), Some(-far)]);
        assert_eq!(
            ranks,
            vec![Some(2.0), None, Some(1.0), Some(2.0), Some(0.0)]
        );
        // 1 + floor(3 · below / 4), below = 2, 1, 2, 0: the two later times apart, as they are.
        let scores = rank_scores(&ranks, 3, false);
        assert_eq!(scores, vec![Some(2), None, Some(1), Some(2), Some(1)]);
    }
}
