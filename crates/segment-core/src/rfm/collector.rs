//! The transition state of `rfm_agg`: per-customer purchase statistics of the orders seen so
//! far, of other states merged in (parallel workers), and of stored summaries (`rollup`).
//!
//! A row with a negative amount is a return: it lowers the monetary value but is no purchase,
//! so it changes neither frequency nor recency. A NULL amount is a purchase of no known value.

use super::batches::{merge_sources, OrderCounter, Source};
use super::hashed::HashedCustomers;
use super::key::CustomerKey;
use super::stats::{CustomerStats, Run};
use super::summary::{self, SummaryReader, TextFormError};
use crate::codec::DecodeError;
use crate::frame::FinalReads;
use serde_json::Value;
use std::rc::Rc;

/// Per-customer statistics of the orders seen so far.
///
/// Orders with bigint ids are counted in sorted batches (see `batches`). Summaries and
/// parallel workers' states arrive sorted by id and are kept as they are until `finish` merges
/// everything in one linear pass, without a hash table: the leader of a parallel plan does that
/// merge while the other cores idle, so it must be short. A finished collector is read.
pub struct RfmCollector<K: CustomerKey> {
    orders: OrderCounter<K>,
    /// Orders with text ids (a batch would copy every id; a lookup copies only new ones), and
    /// the customers of states merged past `MAX_SOURCES`.
    table: HashedCustomers<K>,
    /// Runs of customers sorted by id; after `finish`, one run of every customer.
    runs: Vec<Run<K>>,
    /// Binary summaries, checked by `from_bytes` or `from_state_bytes`, read in place by
    /// `finish`; shared, so that merging a state
    /// into another neither copies its bytes nor takes them from it.
    summaries: Vec<Rc<[u8]>>,
    merges: usize,
    /// Orders added (to tell a running window frame, see `frame`).
    rows: u64,
    final_reads: FinalReads,
}

impl<K: CustomerKey> Default for RfmCollector<K> {
    fn default() -> Self {
        RfmCollector {
            orders: OrderCounter::default(),
            table: HashedCustomers::default(),
            runs: Vec::new(),
            summaries: Vec::new(),
            merges: 0,
            rows: 0,
            final_reads: FinalReads::default(),
        }
    }
}

/// Merged states and summaries are kept (as sorted runs, or their bytes) and merged in one
/// pass at the end; past this many merges (a rollup of thousands of summaries), further ones go
/// into the hash table instead, so that a state holds at most 16 such sources.
const MAX_SOURCES: usize = 16;

/// Why a collector cannot be finished into a summary.
#[derive(Debug, PartialEq)]
pub enum FinishError {
    /// A summary merged in breaks an invariant.
    Corrupted(DecodeError),
    /// A customer's net amount is beyond double precision (this customer, as JSON).
    AmountOverflow(Value),
    /// A customer's purchase count is beyond bigint (summaries rolled up).
    CountOverflow(Value),
}

impl From<DecodeError> for FinishError {
    fn from(e: DecodeError) -> Self {
        FinishError::Corrupted(e)
    }
}

impl<K: CustomerKey> RfmCollector<K> {
    #[inline]
    pub fn add(&mut self, customer: K, at: i64, amount: Option<f64>) {
        self.rows += 1;
        self.orders.add(customer, at, amount);
    }

    /// For a final function: whether orders came since the last final call (see `frame`).
    pub fn grew_since_last_final(&mut self) -> bool {
        self.final_reads.grew(self.rows)
    }

    /// Adds another state's customers. `other` keeps what it means: its orders may be counted
    /// into runs, but nothing is taken from it (PostgreSQL may read a combine function's second
    /// argument again).
    pub fn merge(&mut self, other: &mut RfmCollector<K>) {
        other.count_orders();
        self.rows += 1;
        self.merges += 1;
        if self.merges > MAX_SOURCES {
            for (customer, stats) in other.runs.iter().flatten() {
                self.table.merge_customer(customer.clone(), stats);
            }
            for bytes in &other.summaries {
                for (customer, stats) in SummaryReader::<K>::checked_before(bytes) {
                    self.table.merge_customer(customer, &stats);
                }
            }
            return;
        }
        self.summaries.extend(other.summaries.iter().cloned());
        self.runs.extend(other.runs.iter().cloned());
    }

    /// Counts the batched and hashed orders into runs sorted by id.
    fn count_orders(&mut self) {
        if !self.orders.is_empty() {
            self.runs.push(std::mem::take(&mut self.orders).into_run());
        }
        if !self.table.is_empty() {
            let mut looked_up: Run<K> = std::mem::take(&mut self.table).into_entries().collect();
            K::sort_by_id(&mut looked_up);
            self.runs.push(looked_up);
        }
    }

    /// Brings every customer into one sorted run: needed before the collector is read (the
    /// `&self` methods below panic otherwise).
    pub fn finish(&mut self) -> Result<(), FinishError> {
        self.count_orders();
        let mut runs = std::mem::take(&mut self.runs);
        runs.retain(|run| !run.is_empty());
        let summaries = std::mem::take(&mut self.summaries);
        self.runs = if runs.len() <= 1 && summaries.is_empty() {
            runs // nothing to merge
        } else {
            let mut sources: Vec<Source<K>> = runs
                .into_iter()
                .map(|run| Box::new(run.into_iter()) as Source<K>)
                .collect();
            for summary in &summaries {
                sources.push(Box::new(SummaryReader::checked_before(summary)));
            }
            vec![merge_sources(sources)?]
        };
        for (customer, stats) in self.customers() {
            if !stats.monetary().is_finite() {
                return Err(FinishError::AmountOverflow(customer.to_json()));
            }
            if stats.purchases > i64::MAX as u64 {
                return Err(FinishError::CountOverflow(customer.to_json()));
            }
        }
        Ok(())
    }

    /// The customers sorted by id: the order summaries are stored and scored in.
    pub fn customers(&self) -> &[(K, CustomerStats)] {
        assert!(
            self.orders.is_empty()
                && self.table.is_empty()
                && self.summaries.is_empty()
                && self.runs.len() <= 1,
            "read an RfmCollector before finish()"
        );
        self.runs.first().map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.customers().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The binary form of a summary: customers sorted by id, so that equal summaries are equal
    /// bytes; or the size it would need when that is over PostgreSQL's 1 GB limit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, usize> {
        let mut out = vec![0; self.encoded_len()?];
        self.write_to(&mut out);
        Ok(out)
    }

    /// The size of the binary form, or Err with it when that is over PostgreSQL's 1 GB limit.
    pub fn encoded_len(&self) -> Result<usize, usize> {
        summary::encoded_len(self.customers())
    }

    /// Writes the binary form into `out`, of `encoded_len()` bytes (written in place into a
    /// PostgreSQL value: a summary is large, and a copy of it would cost as much again).
    pub fn write_to(&self, out: &mut [u8]) {
        summary::write(out, self.customers())
    }

    /// A collector holding a stored summary, checked whole and copied; it is read by `finish`.
    pub fn from_bytes(bytes: &[u8]) -> Result<RfmCollector<K>, DecodeError> {
        SummaryReader::<K>::new(bytes)?;
        Ok(Self::holding(bytes))
    }

    /// A collector holding a parallel worker's state, whose shape is checked (see
    /// `SummaryReader::check_shape`: the leader merges a million customers of states that only
    /// `write_to` made, and checking each of them again cost about a tenth of the query).
    pub fn from_state_bytes(bytes: &[u8]) -> Result<RfmCollector<K>, DecodeError> {
        SummaryReader::<K>::check_shape(bytes)?;
        Ok(Self::holding(bytes))
    }

    fn holding(bytes: &[u8]) -> RfmCollector<K> {
        RfmCollector {
            summaries: vec![Rc::from(bytes)],
            ..RfmCollector::default()
        }
    }

    /// The text form (see `summary`).
    pub fn to_text(&self) -> String {
        summary::to_text(self.customers())
    }

    pub fn from_text(text: &str) -> Result<RfmCollector<K>, TextFormError> {
        Ok(RfmCollector {
            runs: vec![summary::from_text(text)?],
            ..RfmCollector::default()
        })
    }
}

impl RfmCollector<Box<str>> {
    /// `add` for a text id, copying the id only for a customer not seen before.
    pub fn add_text(&mut self, customer: &str, at: i64, amount: Option<f64>) {
        self.rows += 1;
        self.table.add(customer, at, amount.unwrap_or(0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfm::edges::{recency_days, ScoreEdges};
    use crate::rfm::summary::entries_from_bytes;

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn returns_lower_monetary_only() {
        let mut c = RfmCollector::<i64>::default();
        c.add(7, 10 * DAY, Some(50.0));
        c.add(7, 30 * DAY, Some(-20.0)); // a return, after the last purchase
        c.add(7, 5 * DAY, None); // a purchase of unknown value
        c.finish().unwrap();
        let stats = c.customers()[0].1;
        assert_eq!(
            (stats.first(), stats.last(), stats.purchases),
            (Some(5 * DAY), Some(10 * DAY), 2)
        );
        assert_eq!(stats.monetary(), 30.0);
        let mut only_returns = RfmCollector::<i64>::default();
        only_returns.add(8, DAY, Some(-5.0));
        only_returns.finish().unwrap();
        let stats = only_returns.customers()[0].1;
        assert_eq!(
            (
                stats.first(),
                stats.last(),
                stats.purchases,
                stats.monetary()
            ),
            (None, None, 0, -5.0)
        );
    }

    #[test]
    fn merge_equals_one_collector() {
        let orders = [
            (1, 3, 10.0),
            (2, 1, 5.0),
            (1, 9, 2.5),
            (3, 4, -1.0),
            (2, 2, 0.0),
        ];
        let mut whole = RfmCollector::<i64>::default();
        let (mut left, mut right) = (
            RfmCollector::<i64>::default(),
            RfmCollector::<i64>::default(),
        );
        for (i, &(customer, day, amount)) in orders.iter().enumerate() {
            whole.add(customer, day * DAY, Some(amount));
            let part = if i % 2 == 0 { &mut left } else { &mut right };
            part.add(customer, day * DAY, Some(amount));
        }
        left.merge(&mut right);
        left.finish().unwrap();
        whole.finish().unwrap();
        assert_eq!(left.to_bytes().unwrap(), whole.to_bytes().unwrap());
    }

    #[test]
    fn scores_like_the_window_path() {
        let mut c = RfmCollector::<i64>::default();
        for (customer, day, amount) in [
            (1, 1, 10.0),
            (1, 5, 10.0),
            (2, 3, 50.0),
            (3, 9, 1.0),
            (4, 2, -3.0),
        ] {
            c.add(customer, day * DAY, Some(amount));
        }
        c.finish().unwrap();
        let bytes = c.to_bytes().unwrap();
        let entries = entries_from_bytes::<i64>(&bytes).unwrap();
        let edges = ScoreEdges::of(SummaryReader::<i64>::new(&bytes).unwrap().stats(), 5).unwrap();
        let scored: Vec<_> = entries.iter().map(|(_, s)| edges.score(s)).collect();
        // last purchases: days 5, 3, 9 and none: below = 1, 0, 2 of n = 3.
        let r: Vec<Option<i16>> = scored.iter().map(|s| s.0).collect();
        assert_eq!(r, vec![Some(2), Some(1), Some(4), None]);
        // purchases 2, 1, 1, 0: below = 3, 1, 1, 0 of 4.
        let f: Vec<Option<i16>> = scored.iter().map(|s| s.1).collect();
        assert_eq!(f, vec![Some(4), Some(2), Some(2), Some(1)]);
        assert_eq!(recency_days(&entries[0].1, 10 * DAY), Some(5.0));
        assert_eq!(edges.latest_purchase, Some(9 * DAY));
    }

    #[test]
    fn binary_round_trip_for_both_key_kinds() {
        let mut ids = RfmCollector::<i64>::default();
        ids.add(-4, DAY, Some(1.5));
        ids.add(9, 2 * DAY, Some(-3.0));
        ids.finish().unwrap();
        let bytes = ids.to_bytes().unwrap();
        let mut back = RfmCollector::<i64>::from_bytes(&bytes).unwrap();
        back.finish().unwrap();
        assert_eq!(back.to_bytes().unwrap(), bytes);
        assert!(
            RfmCollector::<Box<str>>::from_bytes(&bytes).is_err(),
            "kinds never mix"
        );

        let mut names = RfmCollector::<Box<str>>::default();
        names.add("émile".into(), DAY, Some(2.0));
        names.add("ann".into(), 3 * DAY, Some(1.0));
        names.finish().unwrap();
        let bytes = names.to_bytes().unwrap();
        let mut back = RfmCollector::<Box<str>>::from_bytes(&bytes).unwrap();
        back.finish().unwrap();
        assert_eq!(back.customers()[0].0.as_ref(), "ann");
        assert_eq!(back.to_bytes().unwrap(), bytes);
        assert!(RfmCollector::<Box<str>>::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn text_round_trip_and_validation() {
        let mut c = RfmCollector::<i64>::default();
        c.add(1, DAY, Some(0.1));
        c.add(1, DAY, Some(0.2));
        c.add(2, DAY, Some(-1.0));
        c.finish().unwrap();
        let text = c.to_text();
        let back = RfmCollector::<i64>::from_text(&text).unwrap();
        assert_eq!(back.to_bytes().unwrap(), c.to_bytes().unwrap());
        for bad in [
            "{}",
            r#"{"customers": [[1, 5, 4, 1, 1.0, 0.0]]}"#,
            r#"{"customers": [[1, null, null, 2, 1.0, 0.0]]}"#,
            r#"{"customers": [[1, 1, 1, 1, 1.0, 0.0], [1, 1, 1, 1, 1.0, 0.0]]}"#,
            r#"{"customers": [["a", 1, 1, 1, 1.0, 0.0]]}"#,
        ] {
            assert!(RfmCollector::<i64>::from_text(bad).is_err(), "{bad}");
        }
    }

    /// A combine function must leave its second state as it was: PostgreSQL may read it again.
    #[test]
    fn merge_leaves_the_other_state_as_it_was() {
        let mut counted = RfmCollector::<i64>::default();
        counted.add(1, DAY, Some(2.0));
        counted.add(2, 3 * DAY, Some(3.0));
        let mut copy = RfmCollector::<i64>::default();
        copy.add(1, DAY, Some(2.0));
        copy.add(2, 3 * DAY, Some(3.0));
        copy.finish().unwrap();
        let mut stored = RfmCollector::<i64>::from_bytes(&copy.to_bytes().unwrap()).unwrap();
        let mut whole = RfmCollector::<i64>::default();
        whole.add(3, DAY, Some(1.0));
        whole.merge(&mut counted);
        whole.merge(&mut stored);
        for mut other in [counted, stored] {
            other.finish().unwrap();
            assert_eq!(other.to_bytes(), copy.to_bytes());
        }
        whole.finish().unwrap();
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole.customers()[0].1.purchases,
            2,
            "customer 1 from both states"
        );
    }
}
