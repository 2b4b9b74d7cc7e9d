//! Customers as the probabilistic models see them, grouped.
//!
//! A customer is (x, t_x, T): x repeat purchases (purchase days after the first), the last of
//! them at t_x, observed until T, times from the first purchase in one unit. Many customers
//! share a triple (everyone without a repeat purchase who started the same day), so the
//! likelihood is summed over distinct triples with weights: a fit costs as much as its groups.

use crate::codec::{read_records, records_len, write_records, DecodeError, EncodedState};
use rustc_hash::FxHashMap;

const STATE_VERSION: u32 = 1;

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

/// Err unless (x, t_x, T) can be a customer's: x a whole count, 0 ≤ t_x ≤ T, finite, and
/// t_x = 0 without repeat purchases.
pub fn check(x: f64, t_x: f64, big_t: f64) -> Result<(), BadTriple> {
    if ![x, t_x, big_t].iter().all(|v| v.is_finite() && *v >= 0.0) || x.fract() != 0.0 {
        return Err(BadTriple::NotACount);
    }
    if t_x > big_t || (x == 0.0 && t_x != 0.0) {
        return Err(BadTriple::Inconsistent);
    }
    Ok(())
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
        check(x, t_x, big_t)?;
        let key = Self::key(x, t_x, big_t);
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

    /// Adds `weight` customers who share one triple (a row of a histogram of triples); a
    /// weight of 0 adds nobody, but the triple is still checked.
    pub fn add_weighted(
        &mut self,
        x: f64,
        t_x: f64,
        big_t: f64,
        weight: u64,
    ) -> Result<(), BadTriple> {
        if weight == 0 {
            return check(x, t_x, big_t);
        }
        self.add_group(Group {
            x,
            t_x,
            big_t,
            weight: weight as f64,
        })
    }

    /// Adds `weight` customers with one triple (checked as `add` checks).
    fn add_group(&mut self, group: Group) -> Result<(), BadTriple> {
        let Group {
            x,
            t_x,
            big_t,
            weight,
        } = group;
        if !(weight >= 1.0 && weight.is_finite() && weight.fract() == 0.0) {
            return Err(BadTriple::NotACount);
        }
        self.add(x, t_x, big_t)?;
        let index = self.index[&Self::key(x, t_x, big_t)];
        self.groups[index].weight += weight - 1.0;
        self.customers += weight - 1.0;
        Ok(())
    }

    fn key(x: f64, t_x: f64, big_t: f64) -> (u64, u64, u64) {
        (x.to_bits(), (t_x + 0.0).to_bits(), (big_t + 0.0).to_bits())
    }

    /// Adds another state's customers (a parallel worker's).
    pub fn merge(&mut self, other: &Triples) {
        for group in &other.groups {
            self.add_group(*group).expect("groups of a state are valid");
        }
    }

    /// Reads `write_to`'s bytes, every group checked as `add` checks a customer.
    pub fn from_bytes(bytes: &[u8]) -> Result<Triples, DecodeError> {
        let mut triples = Triples::default();
        read_records(
            bytes,
            "bgnbd_fit state",
            STATE_VERSION,
            |[x, t_x, big_t, weight]| {
                triples.add_group(Group {
                    x,
                    t_x,
                    big_t,
                    weight,
                })
            },
        )?;
        Ok(triples)
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn customers(&self) -> f64 {
        self.customers
    }
}

impl EncodedState for Triples {
    /// The serialized state: (x, t_x, T, weight) per group (see `codec::write_records`).
    fn encoded_len(&self) -> usize {
        records_len::<4>(self.groups.len())
    }

    fn write_to(&self, out: &mut [u8]) {
        let records = self.groups.iter().map(|g| [g.x, g.t_x, g.big_t, g.weight]);
        write_records(out, STATE_VERSION, records);
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
    fn a_weighted_triple_is_that_many_customers() {
        let mut weighted = Triples::default();
        weighted.add_weighted(2.0, 3.0, 5.0, 3).unwrap();
        weighted.add_weighted(0.0, 0.0, 5.0, 0).unwrap();
        weighted.add_weighted(0.0, 0.0, 4.0, 2).unwrap();
        let mut one_by_one = Triples::default();
        for (x, t_x, big_t) in [
            (2.0, 3.0, 5.0),
            (0.0, 0.0, 4.0),
            (2.0, 3.0, 5.0),
            (0.0, 0.0, 4.0),
            (2.0, 3.0, 5.0),
        ] {
            one_by_one.add(x, t_x, big_t).unwrap();
        }
        assert_eq!(weighted.customers(), 5.0);
        assert_eq!(weighted.groups(), one_by_one.groups());
        assert_eq!(
            weighted.add_weighted(0.0, 1.0, 5.0, 0),
            Err(BadTriple::Inconsistent)
        );
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
    fn state_round_trip_and_merge() {
        let whole = cdnow_sample();
        let mut bytes = vec![0; whole.encoded_len()];
        whole.write_to(&mut bytes);
        let back = Triples::from_bytes(&bytes).unwrap();
        assert_eq!(back.groups(), whole.groups());
        let mut twice = back.clone();
        twice.merge(&whole);
        assert_eq!(twice.customers(), 2.0 * 2357.0);
        assert_eq!(twice.groups().len(), whole.groups().len());
        bytes[8..16].copy_from_slice(&(-1.0f64).to_le_bytes());
        assert!(Triples::from_bytes(&bytes).is_err());
        assert!(Triples::from_bytes(&bytes[..bytes.len() - 8]).is_err());
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
