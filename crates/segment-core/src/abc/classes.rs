//! ABC classes and the Pareto-chart series over one partition of values.
//!
//! Pure Rust. Input: one value per row (None for NULL), finite. Output: one answer per row, in
//! the same order, so that the answers never depend on how the rows arrived.
//!
//! Shares are of the total of the positive values; a negative value (a loss-making customer when
//! the value is a contribution margin) is class D, zero is C. Equal values always get the same
//! class: a class boundary never splits a group of ties.

use super::class::AbcClass;
use super::computed::{class_of, computed_limits};
use crate::sort::{f64_from_key, f64_key, sort_by_key, sort_non_negative, sort_unstable_by_key};
use crate::sum::{share_scale, CompensatedSum};

/// The rows with a value as (value, row) pairs, largest value first; `chunk_by` on equal values
/// then gives the groups of ties without allocating per group.
fn descending(values: &[Option<f64>]) -> Vec<(f64, usize)> {
    let mut ranked: Vec<(f64, usize)> = values
        .iter()
        .enumerate()
        .filter_map(|(row, v)| v.map(|x| (x, row)))
        .collect();
    // Radix, not a comparison sort: it is faster, and can be interrupted between its passes.
    sort_by_key(&mut ranked, |&(x, _)| !f64_key(x), &mut || ());
    ranked
}

fn ties(a: &(f64, usize), b: &(f64, usize)) -> bool {
    a.0 == b.0
}

/// The scale the values are read with (see `share_scale`), and their positive total, scaled.
fn scaled_positive_total(values: &[Option<f64>]) -> (f64, f64) {
    let largest = values.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = share_scale(largest);
    let total = values
        .iter()
        .flatten()
        .filter(|&&x| x > 0.0)
        .map(|x| x * scale)
        .collect::<CompensatedSum>()
        .value();
    (scale, total)
}

/// The groups of equal non-negative values, largest first, each with the number of
/// non-negative values ranked above it; `class` names a group's class from (value, values above,
/// group size). Negative values are D, NULLs None.
///
/// Every caller's classes run A, B, C down the ranking, so a row's class follows from the
/// smallest value of A and of B: only the values are sorted, not (value, row) pairs.
fn classify(
    values: &[Option<f64>],
    mut class: impl FnMut(f64, usize, usize) -> AbcClass,
) -> Vec<Option<AbcClass>> {
    let mut keys: Vec<u64> = values
        .iter()
        .flatten()
        .filter(|&&x| x >= 0.0)
        .map(|&x| !f64_key(x))
        .collect();
    sort_unstable_by_key(&mut keys, |&key| key, &mut || ());
    let (mut lowest_a, mut lowest_b) = (f64::INFINITY, f64::INFINITY);
    let mut above = 0usize;
    let mut last = AbcClass::A;
    for group in keys.chunk_by(|a, b| a == b) {
        let x = f64_from_key(!group[0]);
        // Never back up the ranking: a share summed up to a group could, in its last bit, fall
        // below one summed up to an earlier group.
        let group_class = class(x, above, group.len()).max(last);
        last = group_class;
        match group_class {
            AbcClass::A => lowest_a = x,
            AbcClass::B => lowest_b = x,
            _ => {}
        }
        above += group.len();
    }
    lowest_b = lowest_b.min(lowest_a);
    values
        .iter()
        .map(|v| {
            v.map(|x| match x {
                x if x < 0.0 => AbcClass::D,
                x if x >= lowest_a => AbcClass::A,
                x if x >= lowest_b => AbcClass::B,
                _ => AbcClass::C,
            })
        })
        .collect()
}

/// By cumulative share, largest first: A is the smallest top set whose share of the positive
/// total reaches `a` (the value that crosses `a` is A), B continues until `b`, C is the rest,
/// zeros are C and negatives D. 0 < a < b <= 1.
pub fn by_value(values: &[Option<f64>], a: f64, b: f64) -> Vec<Option<AbcClass>> {
    let (scale, total) = scaled_positive_total(values);
    let mut before = CompensatedSum::default(); // the positive values ranked above this group
    classify(values, |x, _, ties| {
        if x == 0.0 {
            return AbcClass::C;
        }
        let share_before = before.value() / total;
        before.add(x * scale * ties as f64);
        if share_before < a {
            AbcClass::A
        } else if share_before < b {
            AbcClass::B
        } else {
            AbcClass::C
        }
    })
}

/// By head count among the non-negative values (m of them), largest first: a group of equal
/// values is A when fewer than a·m values rank above it, otherwise C when fewer than c·m rank
/// below it, otherwise B; negatives are D. a in (0, 1), c in [0, 1), a + c <= 1.
pub fn by_rank(values: &[Option<f64>], a: f64, c: f64) -> Vec<Option<AbcClass>> {
    let ranked = values.iter().flatten().filter(|&&x| x >= 0.0).count();
    let m = ranked as f64;
    classify(values, |_, above, ties| {
        let below = ranked - above - ties;
        if (above as f64) < a * m {
            AbcClass::A
        } else if (below as f64) < c * m {
            AbcClass::C
        } else {
            AbcClass::B
        }
    })
}

/// By the data's own limits (see `computed`): a group of equal values is A when fewer than the
/// A/B limit's items rank above it, B when fewer than the B/C limit's, otherwise C; negatives D.
/// Without a positive total every non-negative value is C.
pub fn by_computed_limits(values: &[Option<f64>]) -> Vec<Option<AbcClass>> {
    let mut ascending: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|&x| x >= 0.0)
        .collect();
    sort_non_negative(&mut ascending, &mut || {});
    let limits = computed_limits(&ascending);
    classify(values, |_, above, _| class_of(above, limits.as_ref()))
}

/// The Pareto-chart series: for each value, the running total, largest first and including its
/// ties, over the positive total. Zeros sit at 1; negatives bring it back below 1. None when the
/// positive total is 0.
pub fn cumulative_shares(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let (scale, total) = scaled_positive_total(values);
    let mut shares = vec![None; values.len()];
    if total <= 0.0 {
        return shares;
    }
    let mut running = CompensatedSum::default();
    for group in descending(values).chunk_by(ties) {
        let x = group[0].0;
        running.add(x * scale * group.len() as f64);
        let share = running.value() / total;
        group.iter().for_each(|&(_, row)| shares[row] = Some(share));
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use AbcClass::*;

    /// R ineq's example; issue 4 gives its cumulative shares, largest first:
    /// 0.3343, 0.5131, 0.6378, 0.7338, 0.8149, 0.8816, 0.9332, 0.9699, 0.9919, 1.
    const Y: [f64; 10] = [
        541.0, 1463.0, 2445.0, 3438.0, 4437.0, 5401.0, 6392.0, 8304.0, 11904.0, 22261.0,
    ];
    const PUBLISHED_SHARES: [f64; 10] = [
        0.3343, 0.5131, 0.6378, 0.7338, 0.8149, 0.8816, 0.9332, 0.9699, 0.9919, 1.0,
    ];

    fn some(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().map(|&v| Some(v)).collect()
    }

    #[test]
    fn cumulative_shares_match_the_published_series() {
        let shares = cumulative_shares(&some(&Y));
        for (rank, expected) in PUBLISHED_SHARES.iter().enumerate() {
            let row = Y.len() - 1 - rank; // Y is ascending
            assert!(
                (shares[row].unwrap() - expected).abs() < 5e-5,
                "rank {rank}"
            );
        }
    }

    #[test]
    fn classes_from_the_cumulative_shares() {
        // A: share before the value < 0.8, B: < 0.95, by the published series.
        let expected: Vec<AbcClass> = (0..10)
            .map(|rank| {
                let before = if rank == 0 {
                    0.0
                } else {
                    PUBLISHED_SHARES[rank - 1]
                };
                if before < 0.8 {
                    A
                } else if before < 0.95 {
                    B
                } else {
                    C
                }
            })
            .collect();
        let classes = by_value(&some(&Y), 0.8, 0.95);
        for rank in 0..10 {
            assert_eq!(classes[9 - rank], Some(expected[rank]), "rank {rank}");
        }
        assert_eq!(expected.iter().filter(|&&c| c == A).count(), 5);
    }

    #[test]
    fn ties_negatives_zeros_and_nulls() {
        let values = vec![
            Some(10.0),
            Some(10.0),
            Some(0.0),
            Some(-5.0),
            None,
            Some(1.0),
        ];
        // 10 + 10 = 20 of 21: the first group crosses 0.8 and is A as a whole.
        assert_eq!(
            by_value(&values, 0.8, 0.95),
            vec![Some(A), Some(A), Some(C), Some(D), None, Some(C)]
        );
        let shares = cumulative_shares(&values);
        assert_eq!(shares[0], Some(20.0 / 21.0));
        assert_eq!(shares[2], Some(1.0));
        assert_eq!(shares[3], Some(16.0 / 21.0));
        assert_eq!(shares[4], None);
    }

    #[test]
    fn rank_classes_keep_ties_together() {
        // 10 non-negative values: 2 A (20 %), 2 C, the rest B.
        let classes = by_rank(&some(&Y), 0.2, 0.2);
        let count = |c| classes.iter().filter(|&&x| x == Some(c)).count();
        assert_eq!((count(A), count(B), count(C)), (2, 6, 2));
        assert_eq!(classes[9], Some(A));
        assert_eq!(classes[0], Some(C));
        // Three equal best values out of 5: all A although 20 % is one value.
        let tied = some(&[7.0, 7.0, 7.0, 1.0, -2.0]);
        assert_eq!(
            by_rank(&tied, 0.2, 0.2),
            vec![Some(A), Some(A), Some(A), Some(C), Some(D)]
        );
    }

    #[test]
    fn computed_classes_of_one_to_ten() {
        // Limits of 1..10 (see computed::tests): A = the 4 largest, B the next 2, C the rest.
        let mut values: Vec<Option<f64>> = (1..=10).map(|v| Some(f64::from(v))).collect();
        values.push(Some(-1.0));
        let classes = by_computed_limits(&values);
        let letters: String = classes.iter().map(|c| c.unwrap().letter()).collect();
        assert_eq!(letters, "CCCCBBAAAAD");
    }

    #[test]
    fn order_of_rows_does_not_matter() {
        let forward = some(&Y);
        let backward: Vec<Option<f64>> = forward.iter().rev().copied().collect();
        let mut from_backward = by_value(&backward, 0.8, 0.95);
        from_backward.reverse();
        assert_eq!(by_value(&forward, 0.8, 0.95), from_backward);
    }

    /// Two values of 1e308, whose sum is beyond double precision: each holds half (the same
    /// as for any two equal values), so the first is A and the second B, not C and NaN.
    #[test]
    fn values_near_the_largest_double() {
        let values = some(&[f64::MAX, f64::MAX, 0.0]);
        assert_eq!(
            cumulative_shares(&values),
            vec![Some(1.0), Some(1.0), Some(1.0)]
        );
        assert_eq!(
            by_value(&values, 0.8, 0.95),
            by_value(&some(&[1.0, 1.0, 0.0]), 0.8, 0.95)
        );
        let mixed = some(&[1.7e308, 1e308, -1e308]);
        let shares = cumulative_shares(&mixed);
        let expected = cumulative_shares(&some(&[1.7, 1.0, -1.0]));
        for (s, e) in shares.iter().zip(&expected) {
            assert!((s.unwrap() - e.unwrap()).abs() < 1e-15, "{s:?} {e:?}");
        }
    }
}
