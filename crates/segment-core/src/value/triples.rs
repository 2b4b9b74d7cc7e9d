//! Customers as the probabilistic models see them, grouped.
//!
//! A customer is (x, t_x, T): x repeat purchases (purchase days after the first), the last of
//! them at t_x, observed until T, times from the first purchase in one unit. Many customers
//! share a triple (everyone without a repeat purchase who started the same day), so the
//! likelihood is summed over distinct triples with weights: a fit costs as much as its groups.

use rustc_hash::FxHashMap;

/// One distinct triple and how many customers have it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Group {
    pub x: f64,
    pub t_x: f64,
    pub big_t: f64,
    pub weight: f64,
}

/// Why a customer's triple cannot enter a model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BadTriple {
    /// x, t_x or T is negative, NaN or infinite, or x is not whole.
    NotACount,
    /// t_x > T, or no repeat purchase but t_x > 0.
    Inconsistent,
}

/// The customers of a fit, grouped by triple.
#[derive(Clone, Debug, Default)]
pub struct Triples {
    index: FxHashMap<(u64, u64, u64), usize>,
    groups: Vec<Group>,
    customers: f64,
}

impl Triples {
    /// Adds one customer.
    pub fn add(&mut self, x: f64, t_x: f64, big_t: f64) -> Result<(), BadTriple> {
        if ![x, t_x, big_t].iter().all(|v| v.is_finite() && *v >= 0.0) || x.fract() != 0.0 {
            return Err(BadTriple::NotACount);
        }
        if t_x > big_t || (x == 0.0 && t_x != 0.0) {
            return Err(BadTriple::Inconsistent);
        }
        let key = (x.to_bits(), (t_x + 0.0).to_bits(), (big_t + 0.0).to_bits());
        let next = self.groups.len();
        let index = *self.index.entry(key).or_insert(next);
        if index == next {
            self.groups.push(Group {
                x,
                t_x,
                big_t,
                weight: 0.0,
            });
        }
        self.groups[index].weight += 1.0;
        self.customers += 1.0;
        Ok(())
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn customers(&self) -> f64 {
        self.customers
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `tests/data/cdnow_customers_summary_with_transactions.csv`: the 2,357 customers of the
    /// CDNOW sample (Fader, Hardie & Lee 2005) as (ID, x, t_x, T, zbar), weeks to 2 decimals,
    /// calibration ending 1997-09-30; the file the `lifetimes` package ships.
    pub(crate) const CDNOW_SUMMARY: &str =
        include_str!("../../../../tests/data/cdnow_customers_summary_with_transactions.csv");

    /// (x, t_x, T, zbar) of each customer of the CDNOW sample.
    pub(crate) fn cdnow_rows() -> Vec<[f64; 4]> {
        CDNOW_SUMMARY
            .lines()
            .skip(1)
            .map(|line| {
                let fields: Vec<f64> = line
                    .split(',')
                    .skip(1)
                    .map(|f| f.parse().unwrap())
                    .collect();
                [fields[0], fields[1], fields[2], fields[3]]
            })
            .collect()
    }

    pub(crate) fn cdnow_sample() -> Triples {
        let mut triples = Triples::default();
        for [x, t_x, big_t, _] in cdnow_rows() {
            triples.add(x, t_x, big_t).unwrap();
        }
        triples
    }

    #[test]
    fn identical_triples_are_one_group() {
        let triples = cdnow_sample();
        assert_eq!(triples.customers(), 2357.0);
        assert!(triples.groups().len() < 2357);
        assert_eq!(
            triples.groups().iter().map(|g| g.weight).sum::<f64>(),
            2357.0
        );
    }

    #[test]
    fn bad_triples_are_refused() {
        let mut triples = Triples::default();
        assert_eq!(triples.add(-1.0, 0.0, 1.0), Err(BadTriple::NotACount));
        assert_eq!(triples.add(1.5, 1.0, 2.0), Err(BadTriple::NotACount));
        assert_eq!(triples.add(f64::NAN, 1.0, 2.0), Err(BadTriple::NotACount));
        assert_eq!(triples.add(2.0, 3.0, 2.0), Err(BadTriple::Inconsistent));
        assert_eq!(triples.add(0.0, 1.0, 2.0), Err(BadTriple::Inconsistent));
        assert_eq!(triples.customers(), 0.0);
    }
}
