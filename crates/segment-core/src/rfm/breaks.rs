//! Score edges: learn where the score of the default (rank) method changes on today's
//! customers (`rfm_breaks`), then score any value later with the same edges (`rfm_bin`).
//! `rfm_bin(v, rfm_breaks(v))` is `rfm_score(v) OVER ()` for every row.
//!
//! Ascending, the score of v is 1 + floor(bins · below(v) / n), below(v) = values < v: it reaches
//! k + 1 once below(v) >= ceil(k·n / bins). So edge k is the smallest value with at least that
//! many values below it (+Infinity when there is none), and a value's score is 1 + the number of
//! edges <= v. Descending mirrors it: edge k is the largest value with at least ceil(k·n/bins)
//! values above it (-Infinity when none), and the score is 1 + the number of edges >= v.

use crate::codec::{DecodeError, Reader};
use crate::frame::FinalReads;
use crate::sort::{f64_from_key, f64_key};
use std::collections::TryReserveError;

/// The bins − 1 edges of finite values; None without values.
pub fn breaks(values: Vec<f64>, bins: u32, descending: bool) -> Option<Vec<f64>> {
    let flip = if descending { u64::MAX } else { 0 };
    let mut keys: Vec<u64> = values.into_iter().map(|x| f64_key(x) ^ flip).collect();
    let beyond = if descending {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let mut edges: Vec<f64> = key_edges(&mut keys, bins)?
        .into_iter()
        .map(|key| f64_from_key(key ^ flip))
        .collect();
    edges.resize(bins as usize - 1, beyond);
    Some(edges)
}

/// The edges of values given as keys whose ascending order is the order of the scores (see
/// `sort`), as keys: edge k (of bins − 1) is the smallest key with at least ceil(k·n / bins)
/// keys below it. Where no key has, neither has any later one: those edges are left out, so
/// there may be fewer than bins − 1. None without keys. Reorders `keys`.
///
/// With s the ceil(k·n / bins)-th smallest key, that edge is the smallest key above s: every
/// key above s has those s and all below it below it, and no key up to s has. So the edges
/// need bins − 1 order statistics, selected in O(n·log bins) rather than sorted, and the
/// smallest key above each, found by one scan of the keys between them.
pub fn key_edges(keys: &mut [u64], bins: u32) -> Option<Vec<u64>> {
    let n = keys.len() as u64;
    if n == 0 {
        return None;
    }
    let bins = u64::from(bins);
    let position = |k: u64| ((k * n).div_ceil(bins) - 1) as usize;
    let mut positions: Vec<usize> = (1..bins).map(position).collect();
    positions.dedup(); // fewer keys than bins repeat positions
    select_positions(keys, 0, &positions);
    // keys[p] is now the key that sorting would put at p, for each position p, and the keys
    // between two positions lie between theirs. From the last position down: the smallest key
    // above s = keys[p] is between p and the next position when that one's key is above s,
    // and otherwise the same as for the next position.
    let mut above = vec![None; positions.len()];
    for j in (0..positions.len()).rev() {
        let p = positions[j];
        above[j] = match positions.get(j + 1) {
            None => smallest_above(&keys[p + 1..], keys[p]),
            Some(&next) if keys[next] > keys[p] => smallest_above(&keys[p + 1..=next], keys[p]),
            Some(_) => above[j + 1],
        };
    }
    let edges = (1..bins)
        .map_while(|k| {
            let j = positions.partition_point(|&p| p < position(k));
            above[j]
        })
        .collect();
    Some(edges)
}

/// Puts into place the keys that sorting would put at `positions` (ascending; `keys` starts
/// at position `base`), the middle one first and then each side's: O(n·log(positions)).
fn select_positions(keys: &mut [u64], base: usize, positions: &[usize]) {
    if positions.is_empty() {
        return;
    }
    let middle = positions.len() / 2;
    let at = positions[middle] - base;
    keys.select_nth_unstable(at);
    crate::interrupt::check();
    let (below, from) = keys.split_at_mut(at);
    select_positions(below, base, &positions[..middle]);
    select_positions(&mut from[1..], base + at + 1, &positions[middle + 1..]);
}

/// The smallest key above `floor`, None without one.
fn smallest_above(keys: &[u64], floor: u64) -> Option<u64> {
    // Branch-free, so that it vectorises; u64::MAX also stands for "none" and is told apart.
    let smallest = keys
        .iter()
        .fold(u64::MAX, |m, &k| if k > floor { m.min(k) } else { m });
    (smallest != u64::MAX || (floor < u64::MAX && keys.contains(&u64::MAX))).then_some(smallest)
}

/// The score of a key by the edges `key_edges` gave: 1 + the number of edges at or below it.
#[inline]
pub fn bin_key(key: u64, edges: &[u64]) -> i16 {
    if edges.len() <= 16 {
        // Counted without branches: a binary search mispredicts on every row.
        1 + edges
            .iter()
            .map(|&edge| i16::from(edge <= key))
            .sum::<i16>()
    } else {
        1 + edges.partition_point(|&edge| edge <= key) as i16
    }
}

/// The score of `value` by `edges` (from `breaks` with the same `descending`, so in order).
pub fn bin(value: f64, edges: &[f64], descending: bool) -> i16 {
    let passed = if descending {
        edges.partition_point(|&e| e >= value)
    } else {
        edges.partition_point(|&e| e <= value)
    };
    1 + passed as i16
}

/// Whether edges run the way `breaks` makes them: ascending, or descending when `descending`.
pub fn edges_in_order(edges: &[f64], descending: bool) -> bool {
    edges.windows(2).all(|w| {
        if descending {
            w[0] >= w[1]
        } else {
            w[0] <= w[1]
        }
    })
}

/// The transition state of `rfm_breaks`: the values, and the parameters every row must repeat.
#[derive(Debug, Default)]
pub struct BreaksCollector {
    pub values: Vec<f64>,
    /// (bins, descending) as first given.
    pub parameters: Option<(u32, bool)>,
    final_reads: FinalReads,
}

impl BreaksCollector {
    /// Records the parameters; Err with the ones seen before when a row gives others.
    pub fn set_parameters(&mut self, bins: u32, descending: bool) -> Result<(), (u32, bool)> {
        match self.parameters {
            Some(known) if known != (bins, descending) => Err(known),
            _ => {
                self.parameters = Some((bins, descending));
                Ok(())
            }
        }
    }

    /// Adds `value` `count` times: one row standing for `count` equal values (a histogram's).
    /// Err, with nothing added, when the memory for them cannot be had.
    pub fn push_repeated(&mut self, value: f64, count: usize) -> Result<(), TryReserveError> {
        self.values.try_reserve(count)?;
        self.values.resize(self.values.len() + count, value);
        Ok(())
    }

    pub fn merge(&mut self, other: &BreaksCollector) -> Result<(), (u32, bool)> {
        if let Some((bins, descending)) = other.parameters {
            self.set_parameters(bins, descending)?;
        }
        self.values.extend_from_slice(&other.values);
        Ok(())
    }

    /// For a final function: whether values came since the last final call (see `frame`).
    pub fn grew_since_last_final(&mut self) -> bool {
        self.final_reads.grew(self.values.len() as u64)
    }

    /// The edges of the values collected: None without values or parameters.
    pub fn edges(&self) -> Option<Vec<f64>> {
        let (bins, descending) = self.parameters?;
        breaks(self.values.clone(), bins, descending)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let (bins, descending) = self.parameters.unwrap_or((0, false));
        let mut out = Vec::with_capacity(8 + 8 * self.values.len());
        out.extend_from_slice(&bins.to_le_bytes());
        out.extend_from_slice(&u32::from(descending).to_le_bytes());
        out.extend(self.values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<BreaksCollector, DecodeError> {
        let mut reader = Reader::new(bytes, "rfm_breaks aggregate state");
        let (bins, descending) = (reader.u32()?, reader.u32()?);
        if bins == 1 || bins > 100 || descending > 1 {
            return Err(reader.error(format_args!("bad parameters ({bins}, {descending})")));
        }
        let values = reader.rest_f64s()?;
        if values.iter().any(|x| !x.is_finite()) {
            return Err(reader.error("a value is not finite"));
        }
        Ok(BreaksCollector {
            values,
            parameters: (bins > 0).then_some((bins, descending == 1)),
            final_reads: FinalReads::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rank method's definition, counted directly: 1 + floor(bins · below / n), below the
    /// number of values strictly below v (strictly above when descending). O(n²), for checking.
    fn score_by_definition(values: &[f64], v: f64, bins: u32, descending: bool) -> i16 {
        let worse = values
            .iter()
            .filter(|&&x| if descending { x > v } else { x < v })
            .count() as u64;
        1 + (u64::from(bins) * worse / values.len() as u64) as i16
    }

    fn check_identity(values: &[f64], bins: u32) {
        for descending in [false, true] {
            let edges = breaks(values.to_vec(), bins, descending).unwrap();
            assert_eq!(edges.len(), bins as usize - 1);
            assert!(edges_in_order(&edges, descending));
            for v in values {
                assert_eq!(
                    bin(*v, &edges, descending),
                    score_by_definition(values, *v, bins, descending),
                    "v = {v}, bins = {bins}, descending = {descending}"
                );
            }
        }
    }

    #[test]
    fn binning_by_the_edges_gives_the_scores() {
        check_identity(&[1.0, 1.0, 2.0, 3.0, 3.0, 9.0], 5);
        check_identity(&[5.0; 7], 5);
        check_identity(&[-3.0, 0.0, 2.5, 2.5, 2.5, 2.5, 8.0, 10.0, 11.0], 4);
        let skewed: Vec<f64> = (0..997)
            .map(|i| ((i * 7919) % 1000) as f64 / 10.0)
            .map(|x| (x * x).floor())
            .collect();
        for bins in [2, 3, 5, 10, 100] {
            check_identity(&skewed, bins);
        }
    }

    #[test]
    fn state_round_trip_and_parameters() {
        let mut state = BreaksCollector::default();
        state.set_parameters(4, true).unwrap();
        state.values = vec![-1.5, 3.0];
        let back = BreaksCollector::from_bytes(&state.to_bytes()).unwrap();
        assert_eq!(
            (back.values, back.parameters),
            (vec![-1.5, 3.0], Some((4, true)))
        );
        assert_eq!(state.set_parameters(5, true), Err((4, true)));
    }

    /// Every bin count from 2 to 100 over many keys with long runs of ties, and over fewer keys
    /// than bins: the edges found by selection are those read off the sorted keys.
    #[test]
    fn selected_edges_are_the_sorted_ones() {
        let many: Vec<u64> = (0..20_000u64).map(|i| (i * 7919 % 10_007) / 13).collect();
        for keys in [many, vec![5, 1, 9], vec![3; 40]] {
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            let n = sorted.len() as u64;
            for bins in 2..=100u64 {
                let expected: Vec<u64> = (1..bins)
                    .map_while(|k| {
                        let needed = (k * n).div_ceil(bins) as usize;
                        let s = sorted[needed - 1];
                        sorted.iter().copied().find(|&key| key > s)
                    })
                    .collect();
                let mut shuffled = keys.clone();
                assert_eq!(
                    key_edges(&mut shuffled, bins as u32),
                    Some(expected),
                    "bins {bins}"
                );
            }
        }
    }

    /// Keys at the ends of the u64 range, where u64::MAX is both a key and the scan's "none".
    #[test]
    fn edges_of_extreme_keys() {
        let mut keys = vec![u64::MAX, 0, 5, 7, 0, u64::MAX];
        // 6 keys in 3 bins: the 2nd and 4th smallest are 0 and 7, so the edges are 5 and MAX.
        assert_eq!(key_edges(&mut keys, 3), Some(vec![5, u64::MAX]));
        let mut keys = vec![u64::MAX, 0, u64::MAX, 7, 0, u64::MAX];
        // The 4th smallest is MAX itself: nothing is above it.
        assert_eq!(key_edges(&mut keys, 3), Some(vec![7]));
        let mut all_max = vec![u64::MAX; 4];
        assert_eq!(key_edges(&mut all_max, 2), Some(vec![]));
        assert_eq!(key_edges(&mut [], 5), None);
        assert_eq!(bin_key(u64::MAX, &[7, u64::MAX]), 3);
        assert_eq!(bin_key(6, &[7]), 1);
        let many: Vec<u64> = (0..99).map(|k| k * 10).collect();
        assert_eq!(bin_key(985, &many), 100);
        assert_eq!(bin_key(15, &many), 3);
    }

    #[test]
    fn scoring_new_values() {
        let edges = breaks(vec![10.0, 20.0, 30.0, 40.0, 50.0], 5, false).unwrap();
        assert_eq!(edges, vec![20.0, 30.0, 40.0, 50.0]);
        assert_eq!(bin(5.0, &edges, false), 1);
        assert_eq!(bin(35.0, &edges, false), 3);
        assert_eq!(bin(1e9, &edges, false), 5);
        assert_eq!(breaks(vec![], 5, false), None);
    }
}
