//! Every customer's history in one pass over the orders table (`btyd_histories`), with the
//! numbers `btyd_history` gives per customer under GROUP BY.
//!
//! A history needs each customer's purchase days (same-day orders merged, a day of returns
//! only no purchase day), which one entry per customer cannot hold. The orders are kept (24
//! bytes each) and sorted once by (customer, day) at the end: a radix sort by customer, then
//! each customer's orders by day. The sorted orders are then read once, a customer at a time. A parallel worker ships its orders sorted
//! and folded into customer-days; the leader merges those sorted streams as it reads them.

use super::history::{
    agree, decode_calibration, encode_calibration, history_of_days, Calibration,
    CalibrationMismatch, History, OrderDay,
};
use crate::codec::{DecodeError, EncodedState, Reader, Writer};
use crate::sort::{i64_key, sort_by_key_with_scratch};
use crate::sum::CompensatedSum;

/// One order up to the calibration end.
#[derive(Clone, Copy, Debug)]
struct DayOrder {
    customer: i64,
    day: i32,
    amount: f64,
}

/// A customer's orders of one day.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CustomerDay {
    customer: i64,
    day: i32,
    orders: OrderDay,
}

/// The transition state of `btyd_histories`.
#[derive(Default)]
pub struct CustomerDays {
    calibration: Option<Calibration>,
    /// This state's own orders, in the order they came.
    orders: Vec<DayOrder>,
    /// Other states' orders (parallel workers'), each sorted by (customer, day), each
    /// (customer, day) once.
    runs: Vec<Vec<CustomerDay>>,
}

const STATE_VERSION: u32 = 1;
/// Bytes of a serialized customer-day: id, day and purchase flag, net sum and compensation.
const RECORD_BYTES: usize = 32;

impl CustomerDays {
    /// Records the parameters, the same on every row.
    pub fn set_calibration(&mut self, calibration: Calibration) -> Result<(), CalibrationMismatch> {
        agree(&mut self.calibration, calibration)
    }

    /// Counts an order; one after the calibration end (the holdout period) is not read.
    /// The calibration is set first.
    #[inline]
    pub fn add(&mut self, customer: i64, day: i32, amount: f64) {
        let end_day = self.calibration.expect("calibration set first").end_day;
        if day <= end_day {
            self.orders.push(DayOrder {
                customer,
                day,
                amount,
            });
        }
    }

    /// Takes in another state's orders (a parallel worker's).
    pub fn merge(&mut self, other: &mut CustomerDays) -> Result<(), CalibrationMismatch> {
        if let Some(calibration) = other.calibration {
            self.set_calibration(calibration)?;
        }
        if !other.orders.is_empty() {
            let run = other.sorted_days().collect();
            self.runs.push(run);
        }
        self.runs.append(&mut other.runs);
        Ok(())
    }

    /// This state's own orders sorted and folded into customer-days (and taken from it).
    fn sorted_days(&mut self) -> impl Iterator<Item = CustomerDay> {
        let mut orders = std::mem::take(&mut self.orders);
        sort_by_customer_and_day(&mut orders);
        let mut orders = orders.into_iter().peekable();
        std::iter::from_fn(move || {
            let first = orders.next()?;
            let mut day = OrderDay::default();
            day.add(first.amount);
            while let Some(same) =
                orders.next_if(|o| o.customer == first.customer && o.day == first.day)
            {
                day.add(same.amount);
            }
            Some(CustomerDay {
                customer: first.customer,
                day: first.day,
                orders: day,
            })
        })
    }

    /// Every customer's days in order, this state's and the merged ones' (each state's
    /// orders of one customer and day folded, then the states' folded together), given to
    /// `read`. Takes the orders.
    fn with_all_days<R>(
        &mut self,
        read: impl FnOnce(&mut dyn Iterator<Item = CustomerDay>) -> R,
    ) -> R {
        if self.runs.is_empty() {
            // One state (a serial plan): its orders, read as they are folded.
            return read(&mut self.sorted_days());
        }
        let mut runs = std::mem::take(&mut self.runs);
        if !self.orders.is_empty() {
            runs.push(self.sorted_days().collect());
        }
        read(&mut MergedRuns::new(&runs))
    }

    /// Every customer with a purchase day up to the calibration end, by id, with their
    /// history. (A customer with returns only has none.) Takes the orders.
    pub fn histories(&mut self) -> Vec<(i64, History)> {
        let Some(calibration) = self.calibration else {
            return Vec::new();
        };
        self.with_all_days(|days| {
            let mut days = days.peekable();
            let mut histories = Vec::new();
            while let Some(first) = days.next() {
                let customer = first.customer;
                let of_customer = std::iter::once(first)
                    .chain(std::iter::from_fn(|| {
                        days.next_if(|d| d.customer == customer)
                    }))
                    .map(|d| (d.day, d.orders));
                if let Some(history) = history_of_days(of_customer, calibration) {
                    histories.push((customer, history));
                }
            }
            histories
        })
    }

    /// Sorts and folds the orders, for `encoded_len` and `write_to`: a serialized state is
    /// one run.
    pub fn prepare_to_encode(&mut self) {
        if !self.orders.is_empty() || self.runs.len() > 1 {
            let run = self.with_all_days(|days| days.collect());
            self.runs = vec![run];
        }
    }

    /// The serialized state: format version, reserved word, calibration end and unit (NaN
    /// when unset), then per customer and day the id, the day doubled plus 1 for a purchase
    /// day, and the net amount as its running sum and compensation.
    pub fn from_bytes(bytes: &[u8]) -> Result<CustomerDays, DecodeError> {
        let mut reader = Reader::new(bytes, "btyd_histories state");
        if reader.u32()? != STATE_VERSION || reader.u32()? != 0 {
            return Err(reader.error("unknown format version"));
        }
        let calibration =
            decode_calibration(reader.f64()?, reader.f64()?).map_err(|why| reader.error(why))?;
        if reader.remaining() % RECORD_BYTES != 0 {
            return Err(reader.error("a partial record"));
        }
        let records = reader.bytes(reader.remaining())?;
        let mut run: Vec<CustomerDay> = Vec::with_capacity(records.len() / RECORD_BYTES);
        for record in records.chunks_exact(RECORD_BYTES) {
            let field =
                |i: usize| u64::from_le_bytes(record[8 * i..8 * i + 8].try_into().expect("8"));
            let customer = field(0) as i64;
            let day_and_flag = field(1) as i64;
            let (sum, compensation) = (f64::from_bits(field(2)), f64::from_bits(field(3)));
            let day = i32::try_from(day_and_flag >> 1)
                .map_err(|_| reader.error(format_args!("bad day in {record:?}")))?;
            if !sum.is_finite() || !compensation.is_finite() {
                return Err(reader.error(format_args!("a net amount is not finite in {record:?}")));
            }
            if calibration.is_none_or(|c| day > c.end_day) {
                return Err(reader.error("a day after the calibration end"));
            }
            if run
                .last()
                .is_some_and(|last| (last.customer, last.day) >= (customer, day))
            {
                return Err(reader.error("days out of order"));
            }
            run.push(CustomerDay {
                customer,
                day,
                orders: OrderDay {
                    purchase: day_and_flag & 1 == 1,
                    net: CompensatedSum::from_parts(sum, compensation),
                },
            });
        }
        Ok(CustomerDays {
            calibration,
            runs: if run.is_empty() {
                Vec::new()
            } else {
                vec![run]
            },
            ..CustomerDays::default()
        })
    }
}

impl EncodedState for CustomerDays {
    /// Call `prepare_to_encode` first: the state is then at most one run.
    fn encoded_len(&self) -> usize {
        assert!(
            self.orders.is_empty() && self.runs.len() <= 1,
            "prepared to encode"
        );
        24 + RECORD_BYTES * self.runs.first().map_or(0, Vec::len)
    }

    fn write_to(&self, out: &mut [u8]) {
        let mut out = Writer::new(out);
        out.u32(STATE_VERSION);
        out.u32(0);
        let [end, unit] = encode_calibration(self.calibration);
        out.f64(end);
        out.f64(unit);
        for d in self.runs.iter().flatten() {
            out.i64(d.customer);
            out.i64(i64::from(d.day) << 1 | i64::from(d.orders.purchase));
            out.f64(d.orders.net.sum());
            out.f64(d.orders.net.compensation());
        }
        out.finish();
    }
}

/// Sorts orders by (customer, day); orders of one customer and day keep their order. A radix
/// sort by customer (passes over digits equal in every id are skipped: two for ids below 2^22),
/// then each customer's few orders by day.
fn sort_by_customer_and_day(orders: &mut [DayOrder]) {
    sort_by_key_with_scratch(orders, &mut Vec::new(), |o| i64_key(o.customer), &mut || ());
    for customer in orders.chunk_by_mut(|a, b| a.customer == b.customer) {
        customer.sort_by_key(|o| o.day); // stable
    }
}

/// Runs sorted by (customer, day) merged into one, a (customer, day) found in several folded:
/// a cursor per run, the lowest head taken by a scan (runs are few: the parallel workers').
struct MergedRuns<'a> {
    runs: Vec<&'a [CustomerDay]>,
}

impl<'a> MergedRuns<'a> {
    fn new(runs: &'a [Vec<CustomerDay>]) -> Self {
        MergedRuns {
            runs: runs
                .iter()
                .map(Vec::as_slice)
                .filter(|r| !r.is_empty())
                .collect(),
        }
    }
}

impl Iterator for MergedRuns<'_> {
    type Item = CustomerDay;

    #[inline]
    fn next(&mut self) -> Option<CustomerDay> {
        let key = |d: &CustomerDay| (d.customer, d.day);
        let lowest = self
            .runs
            .iter()
            .filter_map(|run| run.first())
            .map(key)
            .min()?;
        let mut merged: Option<CustomerDay> = None;
        for run in &mut self.runs {
            if let Some((head, rest)) = run.split_first() {
                if key(head) == lowest {
                    match &mut merged {
                        Some(day) => day.orders.merge(&head.orders),
                        None => merged = Some(*head),
                    }
                    *run = rest;
                }
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::history::OrderDays;

    fn calibration() -> Calibration {
        Calibration {
            end_day: 700,
            unit_days: 7.0,
        }
    }

    /// Orders of many customers over several batches, same-day orders, returns and holdout
    /// orders among them: one pass gives each customer what `btyd_history` gives, bit for bit,
    /// whether counted in one state or merged from several (parallel workers) through their
    /// serialized form.
    #[test]
    fn one_pass_equals_per_customer_histories() {
        let orders: Vec<(i64, i32, f64)> = (0..2_200_000)
            .map(|i| {
                let customer = (i * 7919) % 300_007 - 100_000; // negative ids too
                let day = ((i * 31) % 800) as i32; // some after the end
                let amount = if i % 17 == 0 {
                    -3.5
                } else {
                    (i % 97) as f64 * 1.25
                };
                (customer, day, amount)
            })
            .collect();
        let mut per_customer: std::collections::BTreeMap<i64, OrderDays> = Default::default();
        let mut one = CustomerDays::default();
        let mut parts: Vec<CustomerDays> = (0..3).map(|_| CustomerDays::default()).collect();
        one.set_calibration(calibration()).unwrap();
        for (i, &(customer, day, amount)) in orders.iter().enumerate() {
            let days = per_customer.entry(customer).or_default();
            days.set_calibration(calibration()).unwrap();
            days.add(day, amount);
            one.add(customer, day, amount);
            let part = &mut parts[i % 3];
            part.set_calibration(calibration()).unwrap();
            part.add(customer, day, amount);
        }
        let expected: Vec<(i64, History)> = per_customer
            .iter()
            .filter_map(|(&id, days)| Some((id, days.history()?)))
            .collect();
        assert!(expected.len() > 250_000);
        assert_eq!(one.histories(), expected);

        let mut leader = CustomerDays::default();
        for mut part in parts {
            part.prepare_to_encode();
            let mut bytes = vec![0; part.encoded_len()];
            part.write_to(&mut bytes);
            leader
                .merge(&mut CustomerDays::from_bytes(&bytes).unwrap())
                .unwrap();
        }
        assert_eq!(leader.histories(), expected);
    }

    #[test]
    fn corrupted_states_are_refused() {
        let mut days = CustomerDays::default();
        days.set_calibration(calibration()).unwrap();
        days.add(1, 10, 5.0);
        days.add(2, 10, 5.0);
        days.prepare_to_encode();
        let mut bytes = vec![0; days.encoded_len()];
        days.write_to(&mut bytes);
        assert!(CustomerDays::from_bytes(&bytes).is_ok());
        let record = |i: usize, field: usize| 24 + RECORD_BYTES * i + 8 * field;
        let with = |at: usize, value: [u8; 8]| {
            let mut bad = bytes.clone();
            bad[at..at + 8].copy_from_slice(&value);
            CustomerDays::from_bytes(&bad)
        };
        assert!(with(record(1, 0), 0i64.to_le_bytes()).is_err()); // out of order
        assert!(with(record(1, 1), (701i64 << 1 | 1).to_le_bytes()).is_err()); // after the end
        assert!(with(record(1, 1), i64::MIN.to_le_bytes()).is_err()); // not a day
        assert!(with(record(1, 2), f64::INFINITY.to_le_bytes()).is_err());
        assert!(with(record(1, 3), f64::NAN.to_le_bytes()).is_err());
        assert!(with(16, (-7.0f64).to_le_bytes()).is_err()); // bad unit
        assert!(with(0, [2, 0, 0, 0, 0, 0, 0, 0]).is_err()); // another version
        assert!(CustomerDays::from_bytes(&bytes[..bytes.len() - 8]).is_err());
    }

    #[test]
    fn calibration_must_agree() {
        let mut a = CustomerDays::default();
        a.set_calibration(calibration()).unwrap();
        let mut b = CustomerDays::default();
        b.set_calibration(Calibration {
            end_day: 700,
            unit_days: 1.0,
        })
        .unwrap();
        assert!(a.merge(&mut b).is_err());
    }
}
