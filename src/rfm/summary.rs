//! The one-pass RFM path: per-customer purchase statistics collected in one scan of the orders
//! (`rfm_agg`), stored as an `rfm_summary`, merged (`rollup`) and scored (`rfm_scores`).
//!
//! Pure Rust, generic over the customer key (bigint or text ids).
//!
//! A row with a negative amount is a return: it lowers the monetary value but is no purchase,
//! so it changes neither frequency nor recency. A NULL amount is a purchase of no known value.

use super::breaks::{bin, breaks};
use super::customers::{merge_sources, Order, OrderCounter, Run, Source};
use super::hashed::HashedCustomers;
use crate::compensated::CompensatedSum;
use crate::sort::{i64_key, sort_by_key, sort_by_key_with_scratch};
use serde_json::{json, Value};
use std::hash::Hash;

/// A customer id as it is kept in a summary.
pub trait CustomerKey: Eq + Hash + Ord + Clone + Default {
    /// 1 for bigint ids, 2 for text ids: summaries of the two kinds never mix.
    const KIND: u8;
    /// The bytes of every id in the binary form, when they are all alike.
    const FIXED_BYTES: Option<usize>;
    /// Bytes of the id in the binary form.
    fn encoded_len(&self) -> usize;
    fn write(&self, out: &mut Writer);
    fn read(bytes: &mut &[u8]) -> Result<Self, String>;
    /// Reads past an id without making it.
    fn skip(bytes: &mut &[u8]) -> Result<(), String>;
    fn to_json(&self) -> Value;
    fn from_json(value: &Value) -> Option<Self>;
    /// Sorts a summary's customers by id.
    fn sort_by_id(entries: &mut [(Self, CustomerStats)]) {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    /// Sorts orders by customer, a customer's orders staying in the order they came.
    /// (`scratch` is for a radix sort, kept by the caller from one batch to the next.)
    fn sort_orders(orders: &mut [Order<Self>], _scratch: &mut Vec<Order<Self>>) {
        orders.sort_by(|a, b| a.customer.cmp(&b.customer));
    }
}

impl CustomerKey for i64 {
    const KIND: u8 = 1;
    const FIXED_BYTES: Option<usize> = Some(8);
    fn encoded_len(&self) -> usize {
        8
    }
    fn write(&self, out: &mut Writer) {
        out.put(&self.to_le_bytes());
    }
    fn read(bytes: &mut &[u8]) -> Result<Self, String> {
        Ok(i64::from_le_bytes(take::<8>(bytes)?))
    }
    fn skip(bytes: &mut &[u8]) -> Result<(), String> {
        take::<8>(bytes).map(drop)
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
    fn from_json(value: &Value) -> Option<Self> {
        value.as_i64()
    }
    fn sort_by_id(entries: &mut [(Self, CustomerStats)]) {
        sort_by_key(entries, |e| i64_key(e.0), &mut || ());
    }
    fn sort_orders(orders: &mut [Order<Self>], scratch: &mut Vec<Order<Self>>) {
        sort_by_key_with_scratch(orders, scratch, |o| i64_key(o.customer), &mut || ());
    }
}

impl CustomerKey for Box<str> {
    const KIND: u8 = 2;
    const FIXED_BYTES: Option<usize> = None;
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
    fn write(&self, out: &mut Writer) {
        out.put(&(self.len() as u32).to_le_bytes());
        out.put(self.as_bytes());
    }
    fn read(bytes: &mut &[u8]) -> Result<Self, String> {
        read_text(bytes).map(Into::into)
    }
    fn skip(bytes: &mut &[u8]) -> Result<(), String> {
        read_text(bytes).map(drop)
    }
    fn to_json(&self) -> Value {
        Value::from(self.as_ref())
    }
    fn from_json(value: &Value) -> Option<Self> {
        value.as_str().map(Into::into)
    }
}

/// Fills a buffer made for exactly what is written into it.
pub struct Writer<'a> {
    rest: &'a mut [u8],
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let (head, rest) = std::mem::take(&mut self.rest).split_at_mut(bytes.len());
        head.copy_from_slice(bytes);
        self.rest = rest;
    }
}

fn read_text<'a>(bytes: &mut &'a [u8]) -> Result<&'a str, String> {
    let len = u32::from_le_bytes(take::<4>(bytes)?) as usize;
    if bytes.len() < len {
        return Err("truncated customer id".into());
    }
    let (text, rest) = bytes.split_at(len);
    *bytes = rest;
    std::str::from_utf8(text).map_err(|_| "customer id is not UTF-8".into())
}

fn take<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], String> {
    if bytes.len() < N {
        return Err("truncated rfm_summary".into());
    }
    let (head, rest) = bytes.split_at(N);
    *bytes = rest;
    Ok(head.try_into().expect("N bytes"))
}

/// One customer's purchases. Times are PostgreSQL timestamps (microseconds since 2000-01-01).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CustomerStats {
    /// First and last purchase, i64::MAX and i64::MIN before any (not Options: a hash table
    /// entry of 48 rather than 64 bytes is fewer cache misses per order row).
    first: i64,
    last: i64,
    pub purchases: u64,
    /// Net amount: purchases minus returns, summed with compensation so that the order of the
    /// rows changes nothing that a double can show.
    amount: CompensatedSum,
}

impl Default for CustomerStats {
    fn default() -> Self {
        CustomerStats {
            first: i64::MAX,
            last: i64::MIN,
            purchases: 0,
            amount: CompensatedSum::default(),
        }
    }
}

impl CustomerStats {
    fn new(first: Option<i64>, last: Option<i64>, purchases: u64, amount: CompensatedSum) -> Self {
        CustomerStats {
            first: first.unwrap_or(i64::MAX),
            last: last.unwrap_or(i64::MIN),
            purchases,
            amount,
        }
    }

    /// The first purchase; None for a customer with returns only.
    pub fn first(&self) -> Option<i64> {
        (self.purchases > 0).then_some(self.first)
    }

    pub fn last(&self) -> Option<i64> {
        (self.purchases > 0).then_some(self.last)
    }

    /// Counts an order; a purchase of unknown value (NULL) counts with amount 0.
    pub fn add(&mut self, at: i64, amount: f64) {
        self.amount.add(amount);
        if amount >= 0.0 {
            self.purchases += 1;
            self.first = self.first.min(at);
            self.last = self.last.max(at);
        }
    }

    pub fn merge(&mut self, other: &CustomerStats) {
        self.purchases += other.purchases;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.amount.add(other.amount.sum());
        self.amount.add(other.amount.compensation());
    }

    pub fn monetary(&self) -> f64 {
        self.amount.value()
    }
}

/// Per-customer statistics of the orders seen so far.
///
/// Orders with bigint ids are counted in sorted batches (see `customers`). Summaries and
/// parallel workers' states arrive sorted by id and are kept as they are until `finish` merges
/// everything in one linear pass, without a hash table: the leader of a parallel plan does that
/// merge while the other cores idle, so it must be short. A finished collector is read.
pub struct RfmCollector<K: CustomerKey> {
    orders: OrderCounter<K>,
    /// Orders with text ids (a batch would copy every id; a lookup copies only new ones), and
    /// the customers of summaries merged past `MAX_SOURCES`.
    table: HashedCustomers<K>,
    /// Runs of customers sorted by id; after `finish`, one run of every customer.
    runs: Vec<Run<K>>,
    /// Binary summaries (checked), read in place by `finish`.
    summaries: Vec<Vec<u8>>,
    merges: usize,
}

impl<K: CustomerKey> Default for RfmCollector<K> {
    fn default() -> Self {
        RfmCollector {
            orders: OrderCounter::default(),
            table: HashedCustomers::default(),
            runs: Vec::new(),
            summaries: Vec::new(),
            merges: 0,
        }
    }
}

const FORMAT_VERSION: u8 = 1;
const HEADER_BYTES: usize = 16;
/// Bytes per customer besides its key: first, last, purchases, amount and its compensation.
const STATS_BYTES: usize = 40;
/// PostgreSQL's largest value (1 GB), which a summary or a parallel state must fit.
pub const MAX_BYTES: usize = 0x3fff_ffff - 4;
const NONE: i64 = i64::MIN;
/// PostgreSQL's timestamp range (4714-11-24 BC to 294277 AD, exclusive), in microseconds since
/// 2000-01-01: times read from the text form must be in it.
const MIN_TIME: i64 = -211_813_488_000_000_000;
const END_TIME: i64 = 9_223_371_331_200_000_000;
/// Merged states and summaries are kept (as sorted runs, or copies of their bytes) and merged
/// in one pass at the end; past this many merges (a rollup of thousands of summaries), further
/// ones go into the hash table instead, so that a state holds at most 16 such copies.
const MAX_SOURCES: usize = 16;

impl<K: CustomerKey> RfmCollector<K> {
    pub fn add(&mut self, customer: K, at: i64, amount: Option<f64>) {
        self.orders.add(customer, at, amount);
    }

    pub fn merge(&mut self, mut other: RfmCollector<K>) -> Result<(), String> {
        self.merges += 1;
        if self.merges > MAX_SOURCES {
            other.finish()?;
            for (customer, stats) in other.runs.into_iter().flatten() {
                self.table.merge_customer(customer, &stats);
            }
            return Ok(());
        }
        self.summaries.append(&mut other.summaries);
        other.finish()?; // what is left of it: orders, looked-up customers, runs
        self.runs.append(&mut other.runs);
        Ok(())
    }

    /// Brings every customer into one sorted run: needed before the collector is read (the
    /// `&self` methods below panic otherwise). Err for a corrupted summary merged in.
    pub fn finish(&mut self) -> Result<(), String> {
        let counted = std::mem::take(&mut self.orders).into_run();
        let mut looked_up: Run<K> = std::mem::take(&mut self.table).into_entries().collect();
        K::sort_by_id(&mut looked_up);
        let mut runs = std::mem::take(&mut self.runs);
        runs.extend([counted, looked_up]);
        runs.retain(|run| !run.is_empty());
        let summaries = std::mem::take(&mut self.summaries);
        if runs.len() <= 1 && summaries.is_empty() {
            self.runs = runs; // nothing to merge
            return Ok(());
        }
        let mut sources: Vec<Source<K>> = runs
            .into_iter()
            .map(|run| Box::new(run.into_iter()) as Source<K>)
            .collect();
        for summary in &summaries {
            sources.push(Box::new(SummaryReader::new(summary)?));
        }
        self.runs = vec![merge_sources(sources)?];
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
        let ids: usize = self.customers().iter().map(|(c, _)| c.encoded_len()).sum();
        let len = HEADER_BYTES + ids + self.len() * STATS_BYTES;
        if len > MAX_BYTES {
            Err(len)
        } else {
            Ok(len)
        }
    }

    /// Writes the binary form into `out`, of `encoded_len()` bytes (written in place into a
    /// PostgreSQL value: a summary is large, and a copy of it would cost as much again).
    pub fn write_to(&self, out: &mut [u8]) {
        let customers = self.customers();
        let mut out = Writer { rest: out };
        out.put(&[FORMAT_VERSION, K::KIND, 0, 0, 0, 0, 0, 0]);
        out.put(&(customers.len() as u64).to_le_bytes());
        for (customer, stats) in customers {
            customer.write(&mut out);
            out.put(&stats.first().unwrap_or(NONE).to_le_bytes());
            out.put(&stats.last().unwrap_or(NONE).to_le_bytes());
            out.put(&stats.purchases.to_le_bytes());
            out.put(&stats.amount.sum().to_le_bytes());
            out.put(&stats.amount.compensation().to_le_bytes());
        }
        assert!(out.rest.is_empty(), "encoded_len() bytes written");
    }

    /// A collector holding a binary summary (or a parallel state), checked and copied; it is
    /// read by `finish`.
    pub fn from_bytes(bytes: &[u8]) -> Result<RfmCollector<K>, String> {
        SummaryReader::<K>::new(bytes)?;
        Ok(RfmCollector {
            summaries: vec![bytes.to_vec()],
            ..RfmCollector::default()
        })
    }
}

/// The customers of a binary summary, in its order (by id), read in place.
pub fn entries_from_bytes<K: CustomerKey>(bytes: &[u8]) -> Result<Vec<(K, CustomerStats)>, String> {
    Ok(SummaryReader::new(bytes)?.collect())
}

/// Reads the customers of a binary summary in place, without copying them out first: the
/// summary is checked whole when the reader is made, so reading cannot fail afterwards.
#[derive(Clone)]
pub struct SummaryReader<'a, K> {
    rest: &'a [u8],
    remaining: usize,
    key: std::marker::PhantomData<K>,
}

impl<'a, K: CustomerKey> SummaryReader<'a, K> {
    pub fn new(mut bytes: &'a [u8]) -> Result<Self, String> {
        let header = take::<HEADER_BYTES>(&mut bytes)?;
        if header[0] != FORMAT_VERSION {
            return Err(format!("unknown rfm_summary format version {}", header[0]));
        }
        if header[1] != K::KIND {
            return Err("the summary's customer ids are of another type".into());
        }
        let count = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")) as usize;
        match K::FIXED_BYTES {
            Some(id_bytes) if Some(bytes.len()) != count.checked_mul(id_bytes + STATS_BYTES) => {
                return Err("the summary's size does not match its customer count".into());
            }
            Some(_) => {}
            None => {
                let mut check = bytes;
                for _ in 0..count {
                    K::skip(&mut check)?;
                    take::<STATS_BYTES>(&mut check)?;
                }
                if !check.is_empty() {
                    return Err("trailing bytes after the last customer".into());
                }
            }
        }
        Ok(SummaryReader {
            rest: bytes,
            remaining: count,
            key: std::marker::PhantomData,
        })
    }

    /// Only the statistics (text ids are skipped, not copied).
    pub fn stats(self) -> impl ExactSizeIterator<Item = CustomerStats> + 'a {
        let mut rest = self.rest;
        (0..self.remaining).map(move |_| {
            K::skip(&mut rest).expect("checked");
            read_stats(&mut rest)
        })
    }
}

impl<K: CustomerKey> Iterator for SummaryReader<'_, K> {
    type Item = (K, CustomerStats);

    fn next(&mut self) -> Option<Self::Item> {
        (self.remaining > 0).then(|| {
            self.remaining -= 1;
            let customer = K::read(&mut self.rest).expect("checked");
            (customer, read_stats(&mut self.rest))
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

fn read_stats(bytes: &mut &[u8]) -> CustomerStats {
    let mut word = || take::<8>(bytes).expect("checked");
    let first = i64::from_le_bytes(word());
    let last = i64::from_le_bytes(word());
    let purchases = u64::from_le_bytes(word());
    let sum = f64::from_le_bytes(word());
    let compensation = f64::from_le_bytes(word());
    CustomerStats::new(
        (first != NONE).then_some(first),
        (last != NONE).then_some(last),
        purchases,
        CompensatedSum::from_parts(sum, compensation),
    )
}

impl<K: CustomerKey> RfmCollector<K> {
    /// The text form: `{"customers": [[id, first, last, purchases, amount, amount_error], ...]}`
    /// with times in microseconds since 2000-01-01 (PostgreSQL's epoch), null for none; exact.
    pub fn to_json(&self) -> Value {
        let customers: Vec<Value> = self
            .customers()
            .iter()
            .map(|(customer, s)| {
                json!([
                    customer.to_json(),
                    s.first(),
                    s.last(),
                    s.purchases,
                    s.amount.sum(),
                    s.amount.compensation()
                ])
            })
            .collect();
        json!({ "customers": customers })
    }

    pub fn from_json(text: &str) -> Result<RfmCollector<K>, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let rows = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("customers"))
            .and_then(Value::as_array)
            .ok_or("expected {\"customers\": [...]}")?;
        let mut run = Vec::with_capacity(rows.len());
        for row in rows {
            let bad = || format!("bad customer entry {row}");
            let fields = row.as_array().filter(|a| a.len() == 6).ok_or_else(bad)?;
            let customer = K::from_json(&fields[0]).ok_or_else(bad)?;
            let time = |v: &Value| {
                if v.is_null() {
                    Ok(None)
                } else {
                    v.as_i64().map(Some).ok_or_else(bad)
                }
            };
            let finite = |v: &Value| v.as_f64().filter(|x| x.is_finite()).ok_or_else(bad);
            let (first, last) = (time(&fields[1])?, time(&fields[2])?);
            if [first, last]
                .into_iter()
                .flatten()
                .any(|t| !(MIN_TIME..END_TIME).contains(&t))
            {
                return Err(bad());
            }
            let purchases = fields[3].as_u64().ok_or_else(bad)?;
            if first.is_some() != (purchases > 0)
                || last.is_some() != (purchases > 0)
                || first > last
            {
                return Err(bad());
            }
            let amount = CompensatedSum::from_parts(finite(&fields[4])?, finite(&fields[5])?);
            run.push((customer, CustomerStats::new(first, last, purchases, amount)));
        }
        K::sort_by_id(&mut run);
        if let Some(twice) = run.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(format!("customer {} appears twice", twice[0].0.to_json()));
        }
        Ok(RfmCollector {
            runs: vec![run],
            ..RfmCollector::default()
        })
    }
}

impl RfmCollector<Box<str>> {
    /// `add` for a text id, copying the id only for a customer not seen before.
    pub fn add_text(&mut self, customer: &str, at: i64, amount: Option<f64>) {
        self.table.add(customer, at, amount.unwrap_or(0.0));
    }
}

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

/// Days from the last purchase to `as_of`; None without purchases.
pub fn recency_days(stats: &CustomerStats, as_of: i64) -> Option<f64> {
    stats.last().map(|t| (as_of - t) as f64 / MICROS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        left.merge(right).unwrap();
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
        let text = c.to_json().to_string();
        let back = RfmCollector::<i64>::from_json(&text).unwrap();
        assert_eq!(back.to_bytes().unwrap(), c.to_bytes().unwrap());
        for bad in [
            "{}",
            r#"{"customers": [[1, 5, 4, 1, 1.0, 0.0]]}"#,
            r#"{"customers": [[1, null, null, 2, 1.0, 0.0]]}"#,
            r#"{"customers": [[1, 1, 1, 1, 1.0, 0.0], [1, 1, 1, 1, 1.0, 0.0]]}"#,
            r#"{"customers": [["a", 1, 1, 1, 1.0, 0.0]]}"#,
        ] {
            assert!(RfmCollector::<i64>::from_json(bad).is_err(), "{bad}");
        }
    }
}
