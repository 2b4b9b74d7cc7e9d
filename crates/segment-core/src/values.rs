//! The transition state of the concentration aggregates: every value seen, plus the fraction
//! parameter of `top_share(x, p)` / `pareto_ratio(x, q)`.
//!
//! Exact measures need every value, 8 bytes each; the vector's spare capacity makes that at most
//! 16 bytes per value while collecting. The values are sorted once, when a final function first
//! needs them, and stay sorted while no value is added: PostgreSQL shares one state between
//! `gini(x)`, `hhi(x)`, ... in the same query and calls each final function on it.
//!
//! In a parallel plan each worker sorts its own part before serializing it. The leader keeps the
//! workers' sorted runs as they arrive, moving rather than copying them, and merges them all in
//! one pass when a final function needs the values: the O(n log n) work is spread over the
//! workers, and the leader writes each value once. The Gini and the HHI, read in a pass or
//! two, take up to three runs instead (two workers' and the leader's own) and merge them on the
//! fly, writing nothing; more runs are merged first.

use crate::codec::{
    check_ascending_non_negative, check_non_negative, write_f64s, DecodeError, Reader,
};
use crate::frame::FinalReads;
use crate::sort::sort_non_negative;
use std::collections::TryReserveError;

#[derive(Debug, Default)]
pub struct ValueCollector {
    values: Vec<f64>,
    sorted: bool,
    /// Sorted runs taken from other states, merged into `values` when a final function needs
    /// the values in one slice.
    runs: Vec<Vec<f64>>,
    /// `p` or `q`, the same on every row of the aggregate.
    fraction: Option<f64>,
    /// Made by deserialization for a single combine step, which may move its values out.
    transient: bool,
    final_reads: FinalReads,
}

/// Two states disagree on the fraction parameter.
#[derive(Debug, PartialEq)]
pub struct FractionMismatch(pub f64, pub f64);

const SERIAL_HEADER_BYTES: usize = 16;

/// Up to this many sorted runs (one per parallel process) are merged head by head; more are
/// concatenated and sorted again.
const MAX_MERGED_RUNS: usize = 16;

impl ValueCollector {
    /// `x` is already validated: finite, non-negative, not -0.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.values.push(x);
        self.sorted = false;
    }

    /// Pushes `x` `count` times: one row standing for `count` equal values (a histogram's).
    /// Err, with nothing pushed, when the memory for them cannot be had: one row can ask for a
    /// gigabyte, which must be an error, not an abort.
    pub fn push_repeated(&mut self, x: f64, count: usize) -> Result<(), TryReserveError> {
        self.values.try_reserve(count)?;
        self.values.resize(self.values.len() + count, x);
        self.sorted = false;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.values.len() + self.runs.iter().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn fraction(&self) -> Option<f64> {
        self.fraction
    }

    /// Records the fraction parameter; every row must give the same.
    pub fn set_fraction(&mut self, fraction: f64) -> Result<(), FractionMismatch> {
        match self.fraction {
            Some(known) if known != fraction => Err(FractionMismatch(known, fraction)),
            _ => {
                self.fraction = Some(fraction);
                Ok(())
            }
        }
    }

    /// For a final function: whether values came since the last final call (see `frame`).
    pub fn grew_since_last_final(&mut self) -> bool {
        self.final_reads.grew(self.len() as u64)
    }

    /// The values ascending. Sorting reorders but never changes the multiset, so a final
    /// function calling this leaves the state as good as it found it.
    pub fn sorted(&mut self, between_passes: &mut dyn FnMut()) -> &[f64] {
        self.sort_own_values(between_passes);
        if !self.runs.is_empty() {
            let mut runs = std::mem::take(&mut self.runs);
            runs.push(std::mem::take(&mut self.values));
            self.values = if runs.len() <= MAX_MERGED_RUNS {
                merge_runs(runs)
            } else {
                // Thousands of runs (rollup of many small summaries): a merge that scans every
                // head per value would be O(n·k); concatenating and radix-sorting is O(n).
                let mut all = runs.concat();
                sort_non_negative(&mut all, between_passes);
                all
            };
        }
        &self.values
    }

    /// The values ascending as up to three sorted runs, for a measure that merges them on the
    /// fly (see `for_each_merged`); more runs are first merged for good, as `sorted` does.
    pub fn sorted_runs(&mut self, between_passes: &mut dyn FnMut()) -> Vec<&[f64]> {
        self.sort_own_values(between_passes);
        if self.runs.len() + usize::from(!self.values.is_empty()) > 3 {
            return vec![self.sorted(between_passes)];
        }
        self.runs
            .iter()
            .chain([&self.values])
            .map(Vec::as_slice)
            .filter(|run| !run.is_empty())
            .collect()
    }

    fn sort_own_values(&mut self, between_passes: &mut dyn FnMut()) {
        if !self.sorted {
            sort_non_negative(&mut self.values, between_passes);
            self.sorted = true;
        }
    }

    /// Adds another state's values (the combine step of a parallel aggregate). A sorted state
    /// becomes a run, moved out of `other` when `other` is transient, copied otherwise.
    pub fn merge(&mut self, other: &mut ValueCollector) -> Result<(), FractionMismatch> {
        if let Some(fraction) = other.fraction {
            self.set_fraction(fraction)?;
        }
        let (values, runs) = if other.transient {
            (
                std::mem::take(&mut other.values),
                std::mem::take(&mut other.runs),
            )
        } else {
            (other.values.clone(), other.runs.clone())
        };
        self.runs
            .extend(runs.into_iter().filter(|run| !run.is_empty()));
        if other.sorted {
            if !values.is_empty() {
                self.runs.push(values);
            }
        } else if self.values.is_empty() {
            self.values = values;
            self.sorted = false;
        } else {
            self.values.extend_from_slice(&values);
            self.sorted = false;
        }
        Ok(())
    }

    /// Serialized form for parallel workers: flags (has a fraction, sorted) and the fraction
    /// (16 bytes), then the values.
    pub fn serialized_len(&self) -> usize {
        SERIAL_HEADER_BYTES + 8 * self.len()
    }

    /// Writes the serialized form into `out` of exactly `serialized_len()` bytes (straight into
    /// a PostgreSQL value, without an intermediate copy).
    pub fn write_to(&mut self, out: &mut [u8]) {
        if !self.runs.is_empty() {
            self.sorted(&mut || {});
        }
        let flags = u64::from(self.fraction.is_some()) | u64::from(self.sorted) << 1;
        out[0..8].copy_from_slice(&flags.to_le_bytes());
        out[8..16].copy_from_slice(&self.fraction.unwrap_or(0.0).to_le_bytes());
        write_f64s(&mut out[SERIAL_HEADER_BYTES..], &self.values);
    }

    #[cfg(test)]
    fn to_bytes(&mut self) -> Vec<u8> {
        let mut bytes = vec![0; self.serialized_len()];
        self.write_to(&mut bytes);
        bytes
    }

    /// A state holding values already sorted ascending (a stored summary), which a merge may move.
    pub fn from_sorted(ascending: Vec<f64>) -> ValueCollector {
        ValueCollector {
            values: ascending,
            sorted: true,
            transient: true,
            ..Default::default()
        }
    }

    /// Reads what `write_to` wrote, checking it: flags, the fraction, the values finite and
    /// non-negative, and ascending when flagged sorted.
    pub fn from_bytes(bytes: &[u8]) -> Result<ValueCollector, DecodeError> {
        let mut reader = Reader::new(bytes, "concentration aggregate state");
        let flags = reader.u64()?;
        let fraction = reader.f64()?;
        if flags > 3 {
            return Err(reader.error(format_args!("unknown flags {flags}")));
        }
        let fraction = (flags & 1 == 1).then_some(fraction);
        if fraction.is_some_and(|f| !(f > 0.0 && f <= 1.0)) {
            return Err(reader.error("the fraction parameter is outside (0, 1]"));
        }
        let sorted = flags & 2 == 2;
        let values = reader.rest_f64s()?;
        if sorted {
            check_ascending_non_negative(&values, "concentration aggregate state")?;
        } else {
            check_non_negative(&values, "concentration aggregate state")?;
        }
        Ok(ValueCollector {
            values,
            sorted,
            runs: Vec::new(),
            fraction,
            transient: true,
            final_reads: FinalReads::default(),
        })
    }
}

/// Merges sorted runs into one sorted vector. There are as many runs as parallel processes (a
/// handful); they are merged three at a time, the shortest first, so the usual three (two
/// workers' and the leader's own) take one pass, writing each value once.
fn merge_runs(mut runs: Vec<Vec<f64>>) -> Vec<f64> {
    runs.retain(|run| !run.is_empty());
    while runs.len() > 1 {
        runs.sort_by_key(|run| std::cmp::Reverse(run.len()));
        let taken = runs.len().min(3);
        let shortest: Vec<&[f64]> = runs[runs.len() - taken..]
            .iter()
            .map(Vec::as_slice)
            .collect();
        let mut merged = Vec::with_capacity(shortest.iter().map(|run| run.len()).sum());
        for_each_merged(&shortest, |x| merged.push(x));
        runs.truncate(runs.len() - taken);
        runs.push(merged);
    }
    runs.pop().unwrap_or_default()
}

/// Calls `each` with the values of up to three sorted runs, ascending, without writing them
/// anywhere: a measure read in a pass or two (the Gini, the HHI) needs no merged copy of ten
/// million values.
pub fn for_each_merged(runs: &[&[f64]], mut each: impl FnMut(f64)) {
    match *runs {
        [] => {}
        [a] => a.iter().for_each(|&x| each(x)),
        [a, b] => merge_two(a, b, &mut each),
        [a, b, c] => merge_three(a, b, c, &mut each),
        _ => panic!("at most three runs are merged at once"),
    }
}

// The merges pick the next value without branching on which run holds it: the values are in
// no order across the runs, so such a branch would be mispredicted about every other value.

fn merge_three(a: &[f64], b: &[f64], c: &[f64], each: &mut impl FnMut(f64)) {
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < a.len() && j < b.len() && k < c.len() {
        let (x, y, z) = (a[i], b[j], c[k]);
        let from_a = x <= y;
        let smaller = if from_a { x } else { y };
        let from_c = z < smaller;
        each(if from_c { z } else { smaller });
        i += usize::from(from_a & !from_c);
        j += usize::from(!from_a & !from_c);
        k += usize::from(from_c);
    }
    // One run is used up; the other two finish as a pair.
    let (rest, last) = match (i < a.len(), j < b.len()) {
        (true, true) => (&a[i..], &b[j..]),
        (true, false) => (&a[i..], &c[k..]),
        _ => (&b[j..], &c[k..]),
    };
    merge_two(rest, last, each)
}

fn merge_two(a: &[f64], b: &[f64], each: &mut impl FnMut(f64)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let from_a = x <= y;
        each(if from_a { x } else { y });
        i += usize::from(from_a);
        j += usize::from(!from_a);
    }
    a[i..].iter().chain(&b[j..]).for_each(|&x| each(x));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collector(values: &[f64], fraction: Option<f64>) -> ValueCollector {
        let mut c = ValueCollector::default();
        values.iter().for_each(|&v| c.push(v));
        if let Some(f) = fraction {
            c.set_fraction(f).unwrap();
        }
        c
    }

    #[test]
    fn serial_round_trip_keeps_values_and_fraction() {
        for fraction in [None, Some(0.2)] {
            let mut c = collector(&[3.0, 1.0, 2.0], fraction);
            let back = ValueCollector::from_bytes(&c.to_bytes()).unwrap();
            assert_eq!(back.values, c.values);
            assert_eq!(back.fraction, fraction);
        }
    }

    #[test]
    fn sorted_states_merge_sorted() {
        let mut nothing = || {};
        for (left, right) in [
            (vec![1.0, 4.0, 9.0], vec![0.0, 4.0, 10.0, 11.0]),
            (vec![5.0], vec![1.0, 2.0]),
            (vec![1.0, 2.0], vec![5.0]),
            (vec![], vec![3.0]),
        ] {
            let mut a = collector(&left, None);
            a.sorted(&mut nothing);
            let mut b = collector(&right, None);
            b.sorted(&mut nothing);
            let mut b = ValueCollector::from_bytes(&b.to_bytes()).unwrap();
            assert!(b.sorted, "the sorted flag survives serialization");
            a.merge(&mut b).unwrap();
            assert!(
                b.values.is_empty(),
                "a transient state's values are moved, not copied"
            );
            let mut expected = [left, right].concat();
            expected.sort_by(f64::total_cmp);
            assert_eq!(a.sorted(&mut nothing), expected);
        }
    }

    #[test]
    fn merge_is_order_independent_once_sorted() {
        let mut a = collector(&[5.0, 1.0], Some(0.5));
        let mut b = collector(&[3.0], None);
        let (mut a2, mut b2) = (collector(&[5.0, 1.0], Some(0.5)), collector(&[3.0], None));
        a.merge(&mut b2).unwrap();
        b.merge(&mut a2).unwrap();
        assert_eq!(a2.len(), 2, "a state that is not transient is copied");
        let mut nothing = || {};
        assert_eq!(a.sorted(&mut nothing), b.sorted(&mut nothing));
        assert_eq!(a.fraction(), Some(0.5));
        assert_eq!(b.fraction(), Some(0.5));
    }

    #[test]
    fn fraction_must_agree() {
        let mut a = collector(&[1.0], Some(0.2));
        assert_eq!(a.set_fraction(0.3), Err(FractionMismatch(0.2, 0.3)));
        assert_eq!(
            a.merge(&mut collector(&[], Some(0.4))),
            Err(FractionMismatch(0.2, 0.4))
        );
    }

    #[test]
    fn many_runs_merge_in_order() {
        let mut leader = ValueCollector::default();
        let mut nothing = || {};
        let mut expected = Vec::new();
        for worker in 0..7u32 {
            let values: Vec<f64> = (0..50)
                .map(|i| f64::from((i * 37 + worker * 11) % 101))
                .collect();
            expected.extend_from_slice(&values);
            let mut part = collector(&values, None);
            part.sorted(&mut nothing);
            leader
                .merge(&mut ValueCollector::from_bytes(&part.to_bytes()).unwrap())
                .unwrap();
        }
        leader.push(50.5); // the leader's own unsorted values join the merge too
        expected.push(50.5);
        expected.sort_by(f64::total_cmp);
        assert_eq!(leader.len(), expected.len());
        assert_eq!(leader.sorted(&mut nothing), expected);
    }

    #[test]
    fn thousands_of_runs_are_sorted_not_scanned() {
        let mut rollup = ValueCollector::default();
        let mut expected = Vec::new();
        for i in 0..5_000u32 {
            let run = vec![f64::from(i % 97), f64::from(i % 97) + 0.5];
            expected.extend_from_slice(&run);
            rollup.merge(&mut ValueCollector::from_sorted(run)).unwrap();
        }
        expected.sort_by(f64::total_cmp);
        assert_eq!(rollup.sorted(&mut || {}), expected);
    }

    #[test]
    fn sorted_runs_are_the_sorted_values_unmerged() {
        let mut nothing = || {};
        for workers in [0, 1, 2, 3] {
            let mut leader = collector(&[7.0, 0.5, 3.0], None);
            let mut expected = vec![0.5, 3.0, 7.0];
            for worker in 0..workers {
                let mut part = collector(&[f64::from(worker) + 0.25, 2.0], None);
                part.sorted(&mut nothing);
                expected.extend([f64::from(worker) + 0.25, 2.0]);
                leader
                    .merge(&mut ValueCollector::from_bytes(&part.to_bytes()).unwrap())
                    .unwrap();
            }
            expected.sort_by(f64::total_cmp);
            let runs_kept = leader.runs.len();
            let runs = leader.sorted_runs(&mut nothing);
            assert_eq!(
                runs.len(),
                if workers < 3 { workers as usize + 1 } else { 1 },
                "more than three are merged first, into one"
            );
            let mut merged = Vec::new();
            for_each_merged(&runs, |x| merged.push(x));
            assert_eq!(merged, expected);
            // Up to three runs stay as they were; four are merged for good.
            let runs_left = if workers < 3 { runs_kept } else { 0 };
            assert_eq!(leader.runs.len(), runs_left);
            assert_eq!(
                leader.sorted(&mut nothing),
                expected,
                "the state is as it was"
            );
        }
    }

    #[test]
    fn runs_merge_with_ties() {
        // Runs of whole numbers (many ties across runs) that are used up at different points,
        // in every order, so that each tail of the three-way merge is taken.
        let runs: Vec<Vec<f64>> = [(3000, 7), (1200, 3), (5, 11)]
            .iter()
            .map(|&(len, step)| (0..len).map(|i| f64::from(i * step / 5)).collect())
            .collect();
        let mut expected = runs.concat();
        expected.sort_by(f64::total_cmp);
        for order in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let slices: Vec<&[f64]> = order.iter().map(|&r| runs[r].as_slice()).collect();
            for taken in 1..=3 {
                let mut merged = Vec::new();
                for_each_merged(&slices[..taken], |x| merged.push(x));
                let mut alone = slices[..taken].concat();
                alone.sort_by(f64::total_cmp);
                assert_eq!(merged, alone, "runs {order:?}, the first {taken}");
            }
        }
        assert_eq!(merge_runs(runs), expected);
    }

    #[test]
    fn sorting_again_after_a_push() {
        let mut c = collector(&[2.0, 1.0], None);
        let mut nothing = || {};
        assert_eq!(c.sorted(&mut nothing), &[1.0, 2.0]);
        c.push(0.5);
        assert_eq!(c.sorted(&mut nothing), &[0.5, 1.0, 2.0]);
    }
}
