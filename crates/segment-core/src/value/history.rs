//! A customer's purchase history as the probabilistic models read it, from their orders: the
//! papers' convention (Fader, Hardie & Lee 2005), orders on one calendar day merged into one
//! purchase day.
//!
//! - x: purchase days after the first, up to the calibration end;
//! - t_x: the age at the last purchase day, T: the age at the calibration end, both from the
//!   first purchase day, in the caller's time unit;
//! - mean spend: the mean net amount of the repeat purchase days (the first day left out, as
//!   the Gamma-Gamma model wants).
//!
//! A negative amount is a return: a day with returns only is no purchase day, and its amount
//! counts nowhere; a return on a purchase day lowers that day's net amount. Orders after the
//! calibration end are not read (they are the holdout period).

use crate::codec::{read_records, records_len, write_records, DecodeError, EncodedState};
use crate::sum::CompensatedSum;

/// The statistics of one customer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct History {
    pub x: f64,
    pub t_x: f64,
    pub big_t: f64,
    /// None without repeat purchase days.
    pub mean_spend: Option<f64>,
}

/// The calibration end (days since 2000-01-01) and the time unit (days).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    pub end_day: i32,
    pub unit_days: f64,
}

/// Two rows of one aggregate gave different parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationMismatch(pub Calibration, pub Calibration);

/// Sets the calibration of a state, or checks that it is the one set.
pub(super) fn agree(
    known: &mut Option<Calibration>,
    given: Calibration,
) -> Result<(), CalibrationMismatch> {
    match *known {
        Some(known) if known != given => Err(CalibrationMismatch(known, given)),
        _ => {
            *known = Some(given);
            Ok(())
        }
    }
}

/// The transition state of `btyd_history`: one customer's orders (day, amount).
#[derive(Clone, Debug, Default)]
pub struct OrderDays {
    orders: Vec<(i32, f64)>,
    calibration: Option<Calibration>,
}

/// The orders of one customer on one day: a purchase day when any of them is a purchase (a
/// non-negative amount), worth their net amount.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OrderDay {
    pub purchase: bool,
    pub net: CompensatedSum,
}

impl OrderDay {
    #[inline]
    pub fn add(&mut self, amount: f64) {
        self.purchase |= amount >= 0.0;
        self.net.add(amount);
    }

    #[inline]
    pub fn merge(&mut self, other: &OrderDay) {
        self.purchase |= other.purchase;
        self.net.add(other.net.sum());
        self.net.add(other.net.compensation());
    }
}

/// The history of a customer from their days (ascending, each once, none after the
/// calibration end); None without a purchase day. Both `btyd_history` and the one-pass
/// `btyd_histories` end here, so they give the same numbers.
pub fn history_of_days(
    days: impl Iterator<Item = (i32, OrderDay)>,
    calibration: Calibration,
) -> Option<History> {
    let mut purchase_days = days.filter(|(_, day)| day.purchase);
    let (first, _) = purchase_days.next()?;
    let (mut last, mut repeats, mut repeat_spend) = (first, 0u32, CompensatedSum::default());
    for (day, orders) in purchase_days {
        debug_assert!(day > last && day <= calibration.end_day);
        last = day;
        repeats += 1;
        repeat_spend.add(orders.net.value());
    }
    Some(History {
        x: f64::from(repeats),
        t_x: f64::from(last - first) / calibration.unit_days,
        big_t: f64::from(calibration.end_day - first) / calibration.unit_days,
        mean_spend: (repeats > 0).then(|| repeat_spend.value() / f64::from(repeats)),
    })
}

const STATE_VERSION: u32 = 1;

impl OrderDays {
    /// Records the parameters, the same on every row.
    pub fn set_calibration(&mut self, calibration: Calibration) -> Result<(), CalibrationMismatch> {
        agree(&mut self.calibration, calibration)
    }

    pub fn add(&mut self, day: i32, amount: f64) {
        self.orders.push((day, amount));
    }

    pub fn merge(&mut self, other: &OrderDays) -> Result<(), CalibrationMismatch> {
        if let Some(calibration) = other.calibration {
            self.set_calibration(calibration)?;
        }
        self.orders.extend_from_slice(&other.orders);
        Ok(())
    }

    /// The customer's history; None without a purchase day up to the calibration end.
    pub fn history(&self) -> Option<History> {
        let calibration = self.calibration?;
        let mut orders: Vec<(i32, f64)> = self
            .orders
            .iter()
            .copied()
            .filter(|&(day, _)| day <= calibration.end_day)
            .collect();
        orders.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let days = orders.chunk_by(|a, b| a.0 == b.0).map(|same_day| {
            let mut day = OrderDay::default();
            same_day.iter().for_each(|&(_, amount)| day.add(amount));
            (same_day[0].0, day)
        });
        history_of_days(days, calibration)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<OrderDays, DecodeError> {
        let records = read_records(bytes, "btyd_history state", STATE_VERSION, |[a, b]| {
            Ok::<_, &str>((a, b))
        })?;
        let Some((&(end, unit), orders)) = records.split_first() else {
            return Err(DecodeError("btyd_history state: no header".into()));
        };
        let calibration = decode_calibration(end, unit)
            .map_err(|why| DecodeError(format!("btyd_history state: {why}")))?;
        let orders = orders
            .iter()
            .map(|&(d, amount)| match whole_day(d) {
                Some(d) if amount.is_finite() => Ok((d, amount)),
                _ => Err(DecodeError("btyd_history state: bad order".into())),
            })
            .collect::<Result<_, _>>()?;
        Ok(OrderDays {
            orders,
            calibration,
        })
    }
}

/// A day number as stored (a whole double within i32).
fn whole_day(d: f64) -> Option<i32> {
    (d.fract() == 0.0 && d.abs() <= f64::from(i32::MAX)).then_some(d as i32)
}

/// The calibration of a header record: both NaN when unset.
pub(super) fn decode_calibration(end: f64, unit: f64) -> Result<Option<Calibration>, &'static str> {
    if end.is_nan() && unit.is_nan() {
        return Ok(None);
    }
    match (whole_day(end), unit > 0.0 && unit.is_finite()) {
        (Some(end_day), true) => Ok(Some(Calibration {
            end_day,
            unit_days: unit,
        })),
        _ => Err("bad calibration"),
    }
}

pub(super) fn encode_calibration(calibration: Option<Calibration>) -> [f64; 2] {
    match calibration {
        Some(c) => [f64::from(c.end_day), c.unit_days],
        None => [f64::NAN, f64::NAN],
    }
}

impl EncodedState for OrderDays {
    /// The parameters as the first record (NaN when unset), then (day, amount) per order.
    fn encoded_len(&self) -> usize {
        records_len::<2>(1 + self.orders.len())
    }

    fn write_to(&self, out: &mut [u8]) {
        let head = encode_calibration(self.calibration);
        let orders = self
            .orders
            .iter()
            .map(|&(day, amount)| [f64::from(day), amount]);
        write_records(out, STATE_VERSION, std::iter::once(head).chain(orders));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::triples::tests::cdnow_rows;

    /// `tests/data/CDNOW_sample.txt` (the 2,357 customers of the papers' sample, the file
    /// `lifetimes` ships): master id, sample id, date YYYYMMDD, CDs, dollars.
    const CDNOW_SAMPLE: &str = include_str!("../../../../tests/data/CDNOW_sample.txt");

    /// Days since 2000-01-01 of YYYYMMDD (PostgreSQL's date epoch), by the civil calendar.
    fn day(yyyymmdd: i32) -> i32 {
        let (y, m, d) = (yyyymmdd / 10_000, yyyymmdd / 100 % 100, yyyymmdd % 100);
        let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era_day = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1;
        era_day - 730_425 // 2000-01-01 is day 730425 of this count
    }

    /// The histories of the CDNOW sample at 1997-09-30 in weeks equal the summary file that
    /// `lifetimes` derived from the same transactions (x exactly; t_x, T and the mean spend to
    /// its 2 decimals).
    #[test]
    fn cdnow_sample_gives_the_published_summary() {
        let mut customers: Vec<OrderDays> = vec![OrderDays::default(); 2357];
        let calibration = Calibration {
            end_day: day(19970930),
            unit_days: 7.0,
        };
        for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id: usize = fields[1].parse().unwrap();
            let date: i32 = fields[2].parse().unwrap();
            let amount: f64 = fields[4].parse().unwrap();
            let customer = &mut customers[id - 1];
            customer.set_calibration(calibration).unwrap();
            customer.add(day(date), amount);
        }
        for (customer, [x, t_x, big_t, zbar]) in customers.iter().zip(cdnow_rows()) {
            let history = customer.history().unwrap();
            assert_eq!(history.x, x);
            assert!(
                (history.t_x - t_x).abs() <= 0.005 + 1e-9,
                "{history:?} {t_x}"
            );
            assert!((history.big_t - big_t).abs() <= 0.005 + 1e-9);
            assert!(
                (history.mean_spend.unwrap_or(0.0) - zbar).abs() <= 0.005 + 1e-9,
                "{history:?} {zbar}"
            );
        }
    }

    #[test]
    fn returns_holdout_orders_and_same_day_orders() {
        let mut c = OrderDays::default();
        c.set_calibration(Calibration {
            end_day: 100,
            unit_days: 7.0,
        })
        .unwrap();
        c.add(10, 20.0);
        c.add(10, 5.0); // same day: one purchase day
        c.add(24, 30.0);
        c.add(24, -10.0); // a return on a purchase day lowers it
        c.add(31, -8.0); // a return alone is no purchase day
        c.add(38, 40.0);
        c.add(150, 99.0); // after the calibration end
        let h = c.history().unwrap();
        assert_eq!(
            h,
            History {
                x: 2.0,
                t_x: 4.0,
                big_t: 90.0 / 7.0,
                mean_spend: Some(30.0)
            }
        );
        let mut state = vec![0; c.encoded_len()];
        c.write_to(&mut state);
        assert_eq!(OrderDays::from_bytes(&state).unwrap().history(), Some(h));
        let mut late = OrderDays::default();
        late.set_calibration(Calibration {
            end_day: 5,
            unit_days: 1.0,
        })
        .unwrap();
        late.add(6, 1.0);
        assert_eq!(late.history(), None);
        assert!(late
            .set_calibration(Calibration {
                end_day: 6,
                unit_days: 1.0
            })
            .is_err());
    }
}
