//! Scoring a summary's customers: the edges where R, F and M scores change, and recency.

use super::breaks::{bin_key, key_edges};
use super::stats::CustomerStats;
use crate::sort::{f64_key, i64_key};

pub const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Where the R, F and M scores of a summary's customers change (see `breaks`): R by the last
/// purchase, F by the number of purchases, M by the net amount, all with the default (rank)
/// method, so that every customer scores as `rfm_score(...) OVER ()` would over the grouped
/// orders. The edges are order statistics of three columns of keys (see `key_edges`): nothing
/// is sorted.
#[derive(Debug)]
pub struct ScoreEdges {
    r: Option<Vec<u64>>,
    f: Option<Vec<u64>>,
    m: Option<Vec<u64>>,
    /// The latest purchase of any customer, None without purchases.
    pub latest_purchase: Option<i64>,
}

impl ScoreEdges {
    /// Reads the customers once. Err when a net amount is not finite: a sum beyond
    /// double precision (the orders' amounts themselves are finite).
    pub fn of(
        customers: impl ExactSizeIterator<Item = CustomerStats>,
        bins: u32,
    ) -> Result<ScoreEdges, f64> {
        let n = customers.len();
        let (mut r, mut f, mut m) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut latest_purchase = None;
        for stats in customers {
            if let Some(last) = stats.last() {
                latest_purchase = latest_purchase.max(Some(last));
                r.push(i64_key(last));
            }
            f.push(stats.purchases); // a count orders as its own key
            let monetary = stats.monetary();
            if !monetary.is_finite() {
                return Err(monetary);
            }
            m.push(f64_key(monetary));
        }
        Ok(ScoreEdges {
            r: key_edges(&mut r, bins),
            f: key_edges(&mut f, bins),
            m: key_edges(&mut m, bins),
            latest_purchase,
        })
    }

    /// (r, f, m); r is None for a customer without purchases (returns only).
    pub fn score(&self, stats: &CustomerStats) -> (Option<i16>, Option<i16>, Option<i16>) {
        let one = |edges: &Option<Vec<u64>>, key: u64| Some(bin_key(key, edges.as_ref()?));
        (
            stats.last().and_then(|t| one(&self.r, i64_key(t))),
            one(&self.f, stats.purchases),
            one(&self.m, f64_key(stats.monetary())),
        )
    }
}

/// Days from the last purchase to `as_of`; None without purchases. Both times are finite
/// PostgreSQL timestamps, whose difference can exceed i64: it is taken in i128.
pub fn recency_days(stats: &CustomerStats, as_of: i64) -> Option<f64> {
    stats
        .last()
        .map(|t| (i128::from(as_of) - i128::from(t)) as f64 / MICROS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(orders: &[(i64, f64)]) -> CustomerStats {
        let mut stats = CustomerStats::default();
        orders
            .iter()
            .for_each(|&(at, amount)| stats.add(at, amount));
        stats
    }

    /// Scores by rank over 4 customers, 2 bins: 1 + floor(2 · below / 4). Their last purchases
    /// are 300 years from 2000 and 1 µs apart, which as doubles would tie.
    #[test]
    fn recency_by_exact_times() {
        let far = 300 * 365 * 86_400_000_000_i64;
        assert_eq!(far as f64, (far + 1) as f64);
        let customers = [
            customer(&[(far, 5.0)]),
            customer(&[(far + 1, 1.0), (0, 1.0)]),
            customer(&[(far + 1, 2.0)]),
            customer(&[(-far, 9.0)]),
        ];
        let edges = ScoreEdges::of(customers.iter().copied(), 2).unwrap();
        let scores: Vec<_> = customers.iter().map(|c| edges.score(c)).collect();
        // r: below = 1, 2, 2, 0; f: below = 0, 3, 0, 0; m (5, 2, 2, 9): below = 2, 0, 0, 3.
        assert_eq!(
            scores,
            vec![
                (Some(1), Some(1), Some(2)),
                (Some(2), Some(2), Some(1)),
                (Some(2), Some(1), Some(1)),
                (Some(1), Some(1), Some(2)),
            ]
        );
        assert_eq!(edges.latest_purchase, Some(far + 1));
    }
}
