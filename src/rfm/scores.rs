//! RFM scores over one partition of values (recency, frequency or monetary value).
//!
//! Pure Rust. One value per row (None for NULL), finite; one score per row back, in order.
//! A higher value scores higher; `descending` turns that round (e.g. recency in days).

/// The default method, honest about ties: score = 1 + floor(bins · (values strictly below) / n)
/// (strictly above when descending), so equal values always score the same, whatever the row
/// order. n counts the non-NULL values.
pub fn rank_scores(values: &[Option<f64>], bins: u32, descending: bool) -> Vec<Option<i16>> {
    let ranked = ascending_with_rows(values, false);
    let n = ranked.len() as u64;
    let mut scores = vec![None; values.len()];
    let mut below = 0u64;
    for group in ranked.chunk_by(|a, b| a.0 == b.0) {
        let worse = if descending {
            n - below - group.len() as u64
        } else {
            below
        };
        let score = 1 + (u64::from(bins) * worse / n) as i16;
        group.iter().for_each(|&(_, row)| scores[row] = Some(score));
        below += group.len() as u64;
    }
    scores
}

/// Equal-sized bins exactly like PostgreSQL's `ntile(bins) OVER (ORDER BY value)` (`ORDER BY
/// value DESC` when descending): the first n mod bins bins hold one row more. Ties are split
/// by their order in the partition, that is by the window's ORDER BY, so add one (e.g.
/// `OVER (ORDER BY customer_id)`) for a reproducible split.
pub fn ntile_scores(values: &[Option<f64>], bins: u32, descending: bool) -> Vec<Option<i16>> {
    let mut ranked = ascending_with_rows(values, true);
    if descending {
        // Largest first; rows with equal values stay in partition order.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }
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

/// (value, row) for the rows with a value, ascending. Equal values stay in partition order
/// when `stable` (ntile splits them by it); the rank method scores them alike in any order, so
/// it takes the faster unstable sort.
fn ascending_with_rows(values: &[Option<f64>], stable: bool) -> Vec<(f64, usize)> {
    let mut ranked: Vec<(f64, usize)> = values
        .iter()
        .enumerate()
        .filter_map(|(row, v)| v.map(|x| (x, row)))
        .collect();
    if stable {
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0)); // rows were enumerated in order
    } else {
        ranked.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    }
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

    #[test]
    fn nulls_are_left_out() {
        let values = vec![Some(1.0), None, Some(2.0)];
        assert_eq!(rank_scores(&values, 2, false), vec![Some(1), None, Some(2)]);
        assert_eq!(
            ntile_scores(&values, 2, false),
            vec![Some(1), None, Some(2)]
        );
    }
}
