//! Migration between the segments of two snapshots: who moved where, as counts and row
//! probabilities, and the fluctuation rate.
//!
//! A customer is a pair (segment before, segment after); None before is a customer new since
//! the first snapshot, None after one lost by the second. Segments are listed in byte order of
//! their names, so that the matrix is the same however the rows came (serial or parallel).

use crate::codec::EncodedState;
use rustc_hash::FxHashMap;
use serde_json::{json, Value};

type Segment = Option<Box<str>>;

/// The transition state: customers per (before, after).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Migration {
    pairs: FxHashMap<(Segment, Segment), u64>,
}

impl Migration {
    pub fn add(&mut self, from: Option<&str>, to: Option<&str>) {
        *self
            .pairs
            .entry((from.map(Into::into), to.map(Into::into)))
            .or_default() += 1;
    }

    pub fn merge(&mut self, other: &mut Migration) {
        for (pair, count) in other.pairs.drain() {
            *self.pairs.entry(pair).or_default() += count;
        }
    }

    /// Customers in both snapshots, and those of them whose segment changed.
    pub fn fluctuation(&self) -> (u64, u64) {
        self.pairs
            .iter()
            .filter_map(|((from, to), &n)| Some((from.as_ref()?, to.as_ref()?, n)))
            .fold((0, 0), |(both, changed), (from, to, n)| {
                (both + n, changed + if from == to { 0 } else { n })
            })
    }

    /// The share of the customers in both snapshots whose segment changed; None without any.
    pub fn fluctuation_rate(&self) -> Option<f64> {
        let (both, changed) = self.fluctuation();
        (both > 0).then(|| changed as f64 / both as f64)
    }

    /// The matrix as JSON:
    /// - `segments`: every segment named before or after, in byte order;
    /// - `counts[i][j]`: customers in segment i before and j after;
    /// - `probabilities[i][j]`: the same as a share of row i (null for a segment whose customers
    ///   all left);
    /// - `new[j]`: customers new in segment j; `lost[i]`: customers of segment i lost;
    ///   `lost_rate[i]`: lost[i] as a share of segment i's customers before;
    /// - `customers` (in both snapshots), `changed`, `fluctuation_rate` (changed / customers),
    ///   `new_customers`, `lost_customers`.
    pub fn to_json(&self) -> Value {
        let mut segments: Vec<&str> = self
            .pairs
            .keys()
            .flat_map(|(from, to)| [from.as_deref(), to.as_deref()])
            .flatten()
            .collect();
        segments.sort_unstable();
        segments.dedup();
        let index: FxHashMap<&str, usize> =
            segments.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let k = segments.len();
        let mut counts = vec![vec![0u64; k]; k];
        let (mut new, mut lost) = (vec![0u64; k], vec![0u64; k]);
        for ((from, to), &n) in &self.pairs {
            match (from.as_deref(), to.as_deref()) {
                (Some(f), Some(t)) => counts[index[f]][index[t]] += n,
                (None, Some(t)) => new[index[t]] += n,
                (Some(f), None) => lost[index[f]] += n,
                (None, None) => {} // in neither snapshot: nothing to say
            }
        }
        let probabilities: Vec<Value> = counts
            .iter()
            .map(|row| {
                let stayed: u64 = row.iter().sum();
                if stayed == 0 {
                    Value::Null
                } else {
                    json!(row
                        .iter()
                        .map(|&n| n as f64 / stayed as f64)
                        .collect::<Vec<_>>())
                }
            })
            .collect();
        let lost_rate: Vec<Value> = counts
            .iter()
            .zip(&lost)
            .map(|(row, &gone)| {
                let before = row.iter().sum::<u64>() + gone;
                if before == 0 {
                    Value::Null
                } else {
                    json!(gone as f64 / before as f64)
                }
            })
            .collect();
        let (both, changed) = self.fluctuation();
        json!({
            "segments": segments,
            "counts": counts,
            "probabilities": probabilities,
            "new": new,
            "lost": lost,
            "lost_rate": lost_rate,
            "customers": both,
            "changed": changed,
            "fluctuation_rate": self.fluctuation_rate(),
            "new_customers": new.iter().sum::<u64>(),
            "lost_customers": lost.iter().sum::<u64>(),
        })
    }

    /// The serialized state: JSON `[[before, after, customers], ...]` in byte order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut pairs: Vec<(&Segment, &Segment, u64)> =
            self.pairs.iter().map(|((f, t), &n)| (f, t, n)).collect();
        pairs.sort_unstable();
        serde_json::to_vec(&pairs).expect("plain JSON")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Migration, String> {
        let pairs: Vec<(Segment, Segment, u64)> =
            serde_json::from_slice(bytes).map_err(|e| format!("migration_matrix state: {e}"))?;
        let mut migration = Migration::default();
        for (from, to, n) in pairs {
            if n == 0 || migration.pairs.insert((from, to), n).is_some() {
                return Err("migration_matrix state: a pair twice, or of no customer".into());
            }
        }
        Ok(migration)
    }
}

impl EncodedState for Migration {
    fn encoded_len(&self) -> usize {
        self.to_bytes().len()
    }
    fn write_to(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_probabilities_new_lost_and_fluctuation() {
        let mut m = Migration::default();
        for (from, to, n) in [
            (Some("B"), Some("B"), 6),
            (Some("B"), Some("A"), 2),
            (Some("A"), Some("A"), 3),
            (Some("A"), None, 1),
            (None, Some("B"), 4),
            (Some("C"), None, 2),
        ] {
            (0..n).for_each(|_| m.add(from, to));
        }
        let j = m.to_json();
        assert_eq!(j["segments"], json!(["A", "B", "C"]));
        assert_eq!(j["counts"], json!([[3, 0, 0], [2, 6, 0], [0, 0, 0]]));
        assert_eq!(
            j["probabilities"],
            json!([[1.0, 0.0, 0.0], [0.25, 0.75, 0.0], null])
        );
        assert_eq!(j["new"], json!([0, 4, 0]));
        assert_eq!(j["lost"], json!([1, 0, 2]));
        assert_eq!(j["lost_rate"], json!([0.25, 0.0, 1.0]));
        assert_eq!(
            (j["customers"].clone(), j["changed"].clone()),
            (json!(11), json!(2))
        );
        assert_eq!(m.fluctuation_rate(), Some(2.0 / 11.0));
        let mut copy = Migration::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(copy, m);
        let mut doubled = m.clone();
        doubled.merge(&mut copy);
        assert_eq!(doubled.fluctuation(), (22, 4));
        assert!(Migration::from_bytes(br#"[["A","B",0]]"#).is_err());
        assert!(Migration::from_bytes(br#"[["A","B",1],["A","B",2]]"#).is_err());
    }
}
