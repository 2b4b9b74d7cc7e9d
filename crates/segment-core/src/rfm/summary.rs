//! The stored `rfm_summary` / `rfm_summary_text`: its binary form (also the parallel state of
//! `rfm_agg`) and its text form, both checked whole when read.
//!
//! Binary form, little-endian:
//!   byte 0      format version (1)
//!   byte 1      id kind (1 bigint, 2 text)
//!   bytes 2..8  reserved, 0
//!   bytes 8..16 customer count
//!   then per customer, ascending by id: the id (8 bytes, or a u32 length and UTF-8 bytes),
//!   first and last purchase (i64 microseconds since 2000-01-01, i64::MIN for none),
//!   purchases (u64), net amount and its compensation (f64).
//! Text form: `{"customers": [[id, first, last, purchases, amount, amount_error], ...]}`, times
//! in microseconds since 2000-01-01 (PostgreSQL's epoch), null for none; exact.

use super::key::CustomerKey;
use super::stats::{CustomerStats, Run};
use crate::codec::{check_encoded_len, DecodeError, Reader, Writer};
use crate::sum::CompensatedSum;
use serde::{Deserialize, Serialize};

const FORMAT_VERSION: u8 = 1;
const HEADER_BYTES: usize = 16;
/// Bytes per customer besides its key: first, last, purchases, amount and its compensation.
const STATS_BYTES: usize = 40;
const NONE: i64 = i64::MIN;
/// PostgreSQL's timestamp range (4714-11-24 BC to 294277 AD, exclusive), in microseconds since
/// 2000-01-01: stored times must be in it.
pub const MIN_TIME: i64 = -211_813_488_000_000_000;
pub const END_TIME: i64 = 9_223_371_331_200_000_000;

/// The size of the binary form, or Err with it when that is over PostgreSQL's 1 GB limit.
pub fn encoded_len<K: CustomerKey>(customers: &[(K, CustomerStats)]) -> Result<usize, usize> {
    let ids: usize = customers.iter().map(|(c, _)| c.encoded_len()).sum();
    check_encoded_len(HEADER_BYTES + ids + customers.len() * STATS_BYTES)
}

/// Writes the binary form of customers sorted by id into `out`, of `encoded_len` bytes.
pub fn write<K: CustomerKey>(out: &mut [u8], customers: &[(K, CustomerStats)]) {
    let mut out = Writer::new(out);
    out.put(&[FORMAT_VERSION, K::KIND, 0, 0, 0, 0, 0, 0]);
    out.u64(customers.len() as u64);
    for (customer, stats) in customers {
        customer.write(&mut out);
        out.i64(stats.first().unwrap_or(NONE));
        out.i64(stats.last().unwrap_or(NONE));
        out.u64(stats.purchases);
        out.f64(stats.amount().sum());
        out.f64(stats.amount().compensation());
    }
    out.finish();
}

/// Reads the customers of a binary summary in place, without copying them out first: the
/// summary is checked whole when the reader is made, so reading cannot fail afterwards.
#[derive(Clone)]
pub struct SummaryReader<'a, K> {
    rest: Reader<'a>,
    remaining: usize,
    key: std::marker::PhantomData<K>,
}

impl<'a, K: CustomerKey> SummaryReader<'a, K> {
    /// Checks every invariant: the header, the size, ids strictly ascending, and each
    /// customer's statistics (see `checked_stats`).
    pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (mut reader, count) = Self::check_shape(bytes)?;
        let customers = reader.clone();
        let mut previous: Option<K::Ref<'a>> = None;
        for _ in 0..count {
            let id = K::read_ref(&mut reader)?;
            if previous.as_ref().is_some_and(|p| *p >= id) {
                return Err(reader.error("customer ids are not strictly ascending"));
            }
            previous = Some(id);
            let stats = reader.take::<STATS_BYTES>()?;
            check_stats(&stats).map_err(|why| reader.error(why))?;
        }
        reader.end()?;
        Ok(SummaryReader {
            rest: customers,
            remaining: count as usize,
            key: std::marker::PhantomData,
        })
    }

    /// Checks the header and that the size fits the customer count (for fixed-size ids; text
    /// ids are walked), not the customers themselves: enough for a parallel worker's state,
    /// which only this crate's `write` made in the same server, and which SQL cannot hand to a
    /// deserialize function (its `internal` argument cannot be made in SQL). A merge of such
    /// states still checks the order of the ids. Stored values get `new`.
    pub fn check_shape(bytes: &'a [u8]) -> Result<(Reader<'a>, u64), DecodeError> {
        let mut reader = Reader::new(bytes, K::TYPE_NAME);
        let header = reader.take::<HEADER_BYTES>()?;
        if header[0] != FORMAT_VERSION {
            return Err(reader.error(format_args!("unknown format version {}", header[0])));
        }
        if header[1] != K::KIND {
            return Err(reader.error("the summary's customer ids are of another type"));
        }
        if header[2..8] != [0; 6] {
            return Err(reader.error("reserved header bytes are not zero"));
        }
        let count = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let size = match K::FIXED_BYTES {
            Some(id_bytes) => count.checked_mul((id_bytes + STATS_BYTES) as u64),
            None => {
                let mut walk = reader.clone();
                for _ in 0..count {
                    K::read_ref(&mut walk)?;
                    walk.take::<STATS_BYTES>()?;
                }
                Some((reader.remaining() - walk.remaining()) as u64)
            }
        };
        if size != Some(reader.remaining() as u64) {
            return Err(reader.error("the size does not match the customer count"));
        }
        Ok((reader, count))
    }

    /// A reader of bytes that `new` or `check_shape` accepted before (a collector keeps only
    /// such bytes).
    pub(crate) fn checked_before(bytes: &'a [u8]) -> Self {
        let mut reader = Reader::new(bytes, K::TYPE_NAME);
        let header = reader.take::<HEADER_BYTES>().expect("checked before");
        let count = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        SummaryReader {
            rest: reader,
            remaining: count as usize,
            key: std::marker::PhantomData,
        }
    }

    /// Only the statistics (text ids are read past, not copied).
    pub fn stats(self) -> impl ExactSizeIterator<Item = CustomerStats> + 'a {
        let mut rest = self.rest;
        (0..self.remaining).map(move |_| {
            K::read_ref(&mut rest).expect("checked");
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

impl<K: CustomerKey> ExactSizeIterator for SummaryReader<'_, K> {}

/// The customers of a binary summary, in its order (by id).
pub fn entries_from_bytes<K: CustomerKey>(bytes: &[u8]) -> Result<Run<K>, DecodeError> {
    Ok(SummaryReader::new(bytes)?.collect())
}

/// Checks one customer's stored statistics (see `checked_stats`) straight from their 40 bytes:
/// the leader of a parallel plan checks every worker's customers, so this is kept lean.
#[inline]
fn check_stats(bytes: &[u8; STATS_BYTES]) -> Result<(), &'static str> {
    let [first, last, purchases, sum, compensation] = stats_words(bytes);
    let (first, last) = (i64::from_le_bytes(first), i64::from_le_bytes(last));
    let purchases = u64::from_le_bytes(purchases);
    let (sum, compensation) = (f64::from_le_bytes(sum), f64::from_le_bytes(compensation));
    checked_stats(
        (first != NONE).then_some(first),
        (last != NONE).then_some(last),
        purchases,
        sum,
        compensation,
    )
    .map(drop)
}

/// The next customer's statistics from bytes `SummaryReader::new` checked: read, not checked
/// again (a summary is read two or three times per query).
#[inline]
fn read_stats(bytes: &mut Reader) -> CustomerStats {
    let [first, last, purchases, sum, compensation] =
        stats_words(&bytes.take::<STATS_BYTES>().expect("checked"));
    let time = |word: [u8; 8]| Some(i64::from_le_bytes(word)).filter(|&t| t != NONE);
    CustomerStats::new(
        time(first),
        time(last),
        u64::from_le_bytes(purchases),
        CompensatedSum::from_parts(f64::from_le_bytes(sum), f64::from_le_bytes(compensation)),
    )
}

/// A customer's stored statistics as their five words: first, last, purchases, amount and its
/// compensation (taken in one read: five reads of 8 bytes cost the leader's merge a tenth).
#[inline]
fn stats_words(bytes: &[u8; STATS_BYTES]) -> [[u8; 8]; 5] {
    std::array::from_fn(|i| bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
}

/// A customer's statistics as stored, if they are consistent: times in PostgreSQL's range, a
/// first and a last purchase exactly when there are purchases, first <= last, a count that
/// bigint can hold, and a finite amount.
#[inline]
fn checked_stats(
    first: Option<i64>,
    last: Option<i64>,
    purchases: u64,
    sum: f64,
    compensation: f64,
) -> Result<CustomerStats, &'static str> {
    let in_range = |t: Option<i64>| t.is_none_or(|t| (MIN_TIME..END_TIME).contains(&t));
    if !(in_range(first) && in_range(last)) {
        return Err("a purchase time is outside PostgreSQL's timestamp range");
    }
    if first.is_some() != (purchases > 0) || last.is_some() != (purchases > 0) {
        return Err("purchase times do not match the purchase count");
    }
    if first > last {
        return Err("a first purchase is after the last one");
    }
    if purchases > i64::MAX as u64 {
        return Err("a purchase count is beyond bigint");
    }
    if !(sum + compensation).is_finite() || !sum.is_finite() || !compensation.is_finite() {
        return Err("an amount is not a finite number");
    }
    let amount = CompensatedSum::from_parts(sum, compensation);
    Ok(CustomerStats::new(first, last, purchases, amount))
}

/// One customer in the text form: id, first and last purchase (microseconds since 2000-01-01,
/// null for none), purchases, net amount and its compensation.
type TextEntry<K> = (K, Option<i64>, Option<i64>, u64, f64, f64);

/// The text form: `{"customers": [[id, first, last, purchases, amount, amount_error], ...]}`;
/// an unknown key is an error.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TextForm<K> {
    customers: Vec<TextEntry<K>>,
}

/// The text form of customers sorted by id.
pub fn to_text<K: CustomerKey>(customers: &[(K, CustomerStats)]) -> String {
    let form = TextForm {
        customers: customers
            .iter()
            .map(|(customer, s)| {
                let amount = s.amount();
                (
                    customer,
                    s.first(),
                    s.last(),
                    s.purchases,
                    amount.sum(),
                    amount.compensation(),
                )
            })
            .collect(),
    };
    serde_json::to_string(&form).expect("a summary is plain JSON")
}

/// Why a text form was refused.
#[derive(Debug, PartialEq)]
pub enum TextFormError {
    Invalid(String),
    /// A text id with a NUL character (`\u0000`), which no PostgreSQL text can hold.
    NulInId,
}

impl From<String> for TextFormError {
    fn from(why: String) -> Self {
        TextFormError::Invalid(why)
    }
}

impl From<&str> for TextFormError {
    fn from(why: &str) -> Self {
        TextFormError::Invalid(why.into())
    }
}

/// Parses the text form, with the checks of the binary form; the customers come back sorted.
pub fn from_text<K: CustomerKey>(text: &str) -> Result<Run<K>, TextFormError> {
    let form: TextForm<K> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut run = Vec::with_capacity(form.customers.len());
    for (customer, first, last, purchases, sum, compensation) in form.customers {
        if customer
            .to_json()
            .as_str()
            .is_some_and(|id| id.contains('\0'))
        {
            return Err(TextFormError::NulInId);
        }
        let stats = checked_stats(first, last, purchases, sum, compensation)
            .map_err(|why| format!("customer {}: {why}", customer.to_json()))?;
        run.push((customer, stats));
    }
    K::sort_by_id(&mut run);
    if let Some(twice) = run.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(format!("customer {} appears twice", twice[0].0.to_json()).into());
    }
    Ok(run)
}
