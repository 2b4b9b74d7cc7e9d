//! The one-pass RFM path: per-customer purchase statistics collected in one scan of the orders
//! (`rfm_agg`), stored as an `rfm_summary`, merged (`rollup`) and scored (`rfm_scores`).
//!
//! Pure Rust, generic over the customer key (bigint or text ids).
//!
//! A row with a negative amount is a return: it lowers the monetary value but is no purchase,
//! so it changes neither frequency nor recency. A NULL amount is a purchase of no known value.

use crate::compensated::CompensatedSum;
use serde_json::{json, Value};
// FxHash: customer ids need no protection from crafted collisions, and SipHash was the cost
// of the one-pass path's per-row lookup.
use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

/// A customer id as it is kept in a summary.
pub trait CustomerKey: Eq + Hash + Ord + Clone {
    /// 1 for bigint ids, 2 for text ids: summaries of the two kinds never mix.
    const KIND: u8;
    fn write(&self, out: &mut Vec<u8>);
    fn read(bytes: &mut &[u8]) -> Result<Self, String>;
    fn to_json(&self) -> Value;
    fn from_json(value: &Value) -> Option<Self>;
}

impl CustomerKey for i64 {
    const KIND: u8 = 1;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read(bytes: &mut &[u8]) -> Result<Self, String> {
        Ok(i64::from_le_bytes(take::<8>(bytes)?))
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
    fn from_json(value: &Value) -> Option<Self> {
        value.as_i64()
    }
}

impl CustomerKey for Box<str> {
    const KIND: u8 = 2;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(self.as_bytes());
    }
    fn read(bytes: &mut &[u8]) -> Result<Self, String> {
        let len = u32::from_le_bytes(take::<4>(bytes)?) as usize;
        if bytes.len() < len {
            return Err("truncated customer id".into());
        }
        let (text, rest) = bytes.split_at(len);
        *bytes = rest;
        std::str::from_utf8(text)
            .map(Into::into)
            .map_err(|_| "customer id is not UTF-8".into())
    }
    fn to_json(&self) -> Value {
        Value::from(self.as_ref())
    }
    fn from_json(value: &Value) -> Option<Self> {
        value.as_str().map(Into::into)
    }
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

    pub fn add(&mut self, at: i64, amount: Option<f64>) {
        let amount = amount.unwrap_or(0.0);
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
#[derive(Debug)]
pub struct RfmCollector<K: CustomerKey> {
    customers: HashMap<K, CustomerStats>,
}

impl<K: CustomerKey> Default for RfmCollector<K> {
    fn default() -> Self {
        RfmCollector {
            customers: HashMap::default(),
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

impl<K: CustomerKey> RfmCollector<K> {
    pub fn add(&mut self, customer: K, at: i64, amount: Option<f64>) {
        self.customers.entry(customer).or_default().add(at, amount);
    }

    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// `merge` without taking `other`: its ids are copied.
    pub fn merge_from(&mut self, other: &RfmCollector<K>) {
        for (customer, stats) in &other.customers {
            match self.customers.get_mut(customer) {
                Some(mine) => mine.merge(stats),
                None => {
                    self.customers.insert(customer.clone(), *stats);
                }
            }
        }
    }

    pub fn merge(&mut self, other: RfmCollector<K>) {
        for (customer, stats) in other.customers {
            self.customers.entry(customer).or_default().merge(&stats);
        }
    }

    /// The customers sorted by id: the order summaries are stored and scored in.
    pub fn sorted(&self) -> Vec<(&K, &CustomerStats)> {
        let mut entries: Vec<(&K, &CustomerStats)> = self.customers.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// The binary form of a summary: customers sorted by id, so that equal summaries are equal
    /// bytes; or the size it would need when that is over PostgreSQL's 1 GB limit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, usize> {
        self.write_bytes(self.sorted().into_iter())
    }

    /// The same form in any order, for a parallel worker's state, which is merged, not stored.
    pub fn to_bytes_unsorted(&self) -> Result<Vec<u8>, usize> {
        self.write_bytes(self.customers.iter())
    }

    fn write_bytes<'a>(
        &'a self,
        entries: impl Iterator<Item = (&'a K, &'a CustomerStats)>,
    ) -> Result<Vec<u8>, usize> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.len() * (STATS_BYTES + 8));
        out.push(FORMAT_VERSION);
        out.push(K::KIND);
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for (customer, stats) in entries {
            customer.write(&mut out);
            out.extend_from_slice(&stats.first().unwrap_or(NONE).to_le_bytes());
            out.extend_from_slice(&stats.last().unwrap_or(NONE).to_le_bytes());
            out.extend_from_slice(&stats.purchases.to_le_bytes());
            out.extend_from_slice(&stats.amount.sum().to_le_bytes());
            out.extend_from_slice(&stats.amount.compensation().to_le_bytes());
            if out.len() > MAX_BYTES {
                return Err(out.len());
            }
        }
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<RfmCollector<K>, String> {
        let entries = entries_from_bytes::<K>(bytes)?;
        let mut customers = HashMap::with_capacity_and_hasher(entries.len(), Default::default());
        customers.extend(entries);
        Ok(RfmCollector { customers })
    }
}

/// The customers of a binary summary, in its order (by id for a stored summary), without
/// building a hash table: scoring only reads them in order.
pub fn entries_from_bytes<K: CustomerKey>(
    mut bytes: &[u8],
) -> Result<Vec<(K, CustomerStats)>, String> {
    let header = take::<HEADER_BYTES>(&mut bytes)?;
    if header[0] != FORMAT_VERSION {
        return Err(format!("unknown rfm_summary format version {}", header[0]));
    }
    if header[1] != K::KIND {
        return Err("the summary's customer ids are of another type".into());
    }
    let count = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")) as usize;
    let mut entries = Vec::with_capacity(count.min(bytes.len() / STATS_BYTES));
    for _ in 0..count {
        let customer = K::read(&mut bytes)?;
        let first = i64::from_le_bytes(take::<8>(&mut bytes)?);
        let last = i64::from_le_bytes(take::<8>(&mut bytes)?);
        let purchases = u64::from_le_bytes(take::<8>(&mut bytes)?);
        let sum = f64::from_le_bytes(take::<8>(&mut bytes)?);
        let compensation = f64::from_le_bytes(take::<8>(&mut bytes)?);
        let stats = CustomerStats::new(
            (first != NONE).then_some(first),
            (last != NONE).then_some(last),
            purchases,
            CompensatedSum::from_parts(sum, compensation),
        );
        entries.push((customer, stats));
    }
    if !bytes.is_empty() {
        return Err("trailing bytes after the last customer".into());
    }
    Ok(entries)
}

impl<K: CustomerKey> RfmCollector<K> {
    /// The text form: `{"customers": [[id, first, last, purchases, amount, amount_error], ...]}`
    /// with times in microseconds since 2000-01-01 (PostgreSQL's epoch), null for none; exact.
    pub fn to_json(&self) -> Value {
        let customers: Vec<Value> = self
            .sorted()
            .into_iter()
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
        let mut customers = HashMap::with_capacity_and_hasher(rows.len(), Default::default());
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
            let purchases = fields[3].as_u64().ok_or_else(bad)?;
            if first.is_some() != (purchases > 0)
                || last.is_some() != (purchases > 0)
                || first > last
            {
                return Err(bad());
            }
            let amount = CompensatedSum::from_parts(finite(&fields[4])?, finite(&fields[5])?);
            let stats = CustomerStats::new(first, last, purchases, amount);
            if customers.insert(customer, stats).is_some() {
                return Err(format!("customer {} appears twice", fields[0]));
            }
        }
        Ok(RfmCollector { customers })
    }
}

impl RfmCollector<Box<str>> {
    /// `add` for a text id, copying the id only for a customer not seen before.
    pub fn add_text(&mut self, customer: &str, at: i64, amount: Option<f64>) {
        match self.customers.get_mut(customer) {
            Some(stats) => stats.add(at, amount),
            None => self.add(customer.into(), at, amount),
        }
    }
}

/// One customer of a summary, scored.
#[derive(Debug)]
pub struct Scored<'a, K> {
    pub customer: &'a K,
    pub stats: &'a CustomerStats,
    /// Days from the last purchase to `as_of`; None without purchases.
    pub recency_days: Option<f64>,
    pub r: Option<i16>,
    pub f: Option<i16>,
    pub m: Option<i16>,
}

pub const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// Scores every customer like `rfm_score(...) OVER ()` would over the grouped orders: R by the
/// last purchase, F by the number of purchases, M by the net amount, all with the default
/// (rank) method. Customers sorted by id.
pub fn score<K: CustomerKey>(
    entries: &[(K, CustomerStats)],
    as_of: i64,
    bins: u32,
) -> Vec<Scored<'_, K>> {
    use super::scores::rank_scores;
    let column = |value: fn(&CustomerStats) -> Option<f64>| -> Vec<Option<f64>> {
        entries.iter().map(|(_, s)| value(s)).collect()
    };
    let r = rank_scores(&column(|s| s.last().map(|t| t as f64)), bins, false);
    let f = rank_scores(&column(|s| Some(s.purchases as f64)), bins, false);
    let m = rank_scores(&column(|s| Some(s.monetary())), bins, false);
    entries
        .iter()
        .enumerate()
        .map(|(i, (customer, stats))| Scored {
            customer,
            stats,
            recency_days: stats.last().map(|t| (as_of - t) as f64 / MICROS_PER_DAY),
            r: r[i],
            f: f[i],
            m: m[i],
        })
        .collect()
}

/// The latest purchase of any customer.
pub fn latest_purchase<K: CustomerKey>(entries: &[(K, CustomerStats)]) -> Option<i64> {
    entries.iter().filter_map(|(_, s)| s.last()).max()
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
        let stats = c.sorted()[0].1;
        assert_eq!(
            (stats.first(), stats.last(), stats.purchases),
            (Some(5 * DAY), Some(10 * DAY), 2)
        );
        assert_eq!(stats.monetary(), 30.0);
        let mut only_returns = RfmCollector::<i64>::default();
        only_returns.add(8, DAY, Some(-5.0));
        let stats = only_returns.sorted()[0].1;
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
        left.merge(right);
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
        let bytes = c.to_bytes().unwrap();
        let entries = entries_from_bytes::<i64>(&bytes).unwrap();
        let scored = score(&entries, 10 * DAY, 5);
        let r: Vec<Option<i16>> = scored.iter().map(|s| s.r).collect();
        // last purchases: days 5, 3, 9 and none: below = 1, 0, 2 of n = 3.
        assert_eq!(r, vec![Some(2), Some(1), Some(4), None]);
        let f: Vec<Option<i16>> = scored.iter().map(|s| s.f).collect();
        // purchases 2, 1, 1, 0: below = 3, 1, 1, 0 of 4.
        assert_eq!(f, vec![Some(4), Some(2), Some(2), Some(1)]);
        assert_eq!(scored[0].recency_days, Some(5.0));
        assert_eq!(latest_purchase(&entries), Some(9 * DAY));
    }

    #[test]
    fn binary_round_trip_for_both_key_kinds() {
        let mut ids = RfmCollector::<i64>::default();
        ids.add(-4, DAY, Some(1.5));
        ids.add(9, 2 * DAY, Some(-3.0));
        let bytes = ids.to_bytes().unwrap();
        assert_eq!(
            RfmCollector::<i64>::from_bytes(&bytes)
                .unwrap()
                .to_bytes()
                .unwrap(),
            bytes
        );
        assert!(
            RfmCollector::<Box<str>>::from_bytes(&bytes).is_err(),
            "kinds never mix"
        );

        let mut names = RfmCollector::<Box<str>>::default();
        names.add("émile".into(), DAY, Some(2.0));
        names.add("ann".into(), 3 * DAY, Some(1.0));
        let bytes = names.to_bytes().unwrap();
        let back = RfmCollector::<Box<str>>::from_bytes(&bytes).unwrap();
        assert_eq!(back.sorted()[0].0.as_ref(), "ann");
        assert_eq!(back.to_bytes().unwrap(), bytes);
        assert!(RfmCollector::<Box<str>>::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn text_round_trip_and_validation() {
        let mut c = RfmCollector::<i64>::default();
        c.add(1, DAY, Some(0.1));
        c.add(1, DAY, Some(0.2));
        c.add(2, DAY, Some(-1.0));
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
