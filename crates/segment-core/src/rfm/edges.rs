//! Scoring a summary's customers: the edges where R, F and M scores change, and recency.

use super::breaks::{bin, breaks};
use super::stats::CustomerStats;

pub const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Where the R, F and M scores of a summary's customers change (see `breaks`): R by the last
/// purchase, F by the number of purchases, M by the net amount, all with the default (rank)
/// method, so that every customer scores as `rfm_score(...) OVER ()` would over the grouped
/// orders. Binning by edges sorts three columns of values, and no (value, row) pairs.
#[derive(Debug)]
pub struct ScoreEdges {
    r: Option<Vec<f64>>,
    f: Option<Vec<f64>>,
    m: Option<Vec<f64>>,
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
        for stats in customers {
            r.extend(stats.last());
            f.push(stats.purchases as f64);
            m.push(stats.monetary());
        }
        if let Some(&overflow) = m.iter().find(|x| !x.is_finite()) {
            return Err(overflow);
        }
        let latest_purchase = r.iter().copied().reduce(i64::max);
        Ok(ScoreEdges {
            r: breaks(r.into_iter().map(|t| t as f64).collect(), bins, false),
            f: breaks(f, bins, false),
            m: breaks(m, bins, false),
            latest_purchase,
        })
    }

    /// (r, f, m); r is None for a customer without purchases (returns only).
    pub fn score(&self, stats: &CustomerStats) -> (Option<i16>, Option<i16>, Option<i16>) {
        let one = |edges: &Option<Vec<f64>>, value: f64| Some(bin(value, edges.as_ref()?, false));
        (
            stats.last().and_then(|t| one(&self.r, t as f64)),
            one(&self.f, stats.purchases as f64),
            one(&self.m, stats.monetary()),
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
