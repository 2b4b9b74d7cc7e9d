//! Churn rates with 95 % confidence intervals, for `GROUP BY segment`.
//!
//! - The share of customers lost, with Wilson's score interval (Wilson 1927), which stays
//!   inside [0, 1] and keeps its coverage for small groups and rates near 0 or 1, where the
//!   normal approximation does not.
//! - The share of value lost (Σ value of the churned / Σ value): a ratio estimator, its
//!   interval the normal one from the linearised (Taylor) variance of a ratio (Cochran 1977,
//!   "Sampling Techniques", §6.4), clipped to [0, 1]: with a customer's value v and churn
//!   indicator c, var(R) ≈ n / (n − 1) · Σ v²(c − R)² / (Σ v)².

use crate::codec::{read_records, records_len, write_records, DecodeError, EncodedState};
use crate::sum::CompensatedSum;

/// The standard normal quantile of 0.975: a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A rate and its 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

/// Wilson's score interval for `successes` of `n` (n > 0).
pub fn wilson(successes: u64, n: u64) -> Estimate {
    let (k, n) = (successes as f64, n as f64);
    let p = k / n;
    let z2 = Z_95 * Z_95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z_95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Estimate {
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// Customers counted, and those lost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChurnCounts {
    pub customers: u64,
    pub churned: u64,
}

impl ChurnCounts {
    pub fn add(&mut self, churned: bool) {
        self.customers += 1;
        self.churned += u64::from(churned);
    }

    pub fn merge(&mut self, other: &ChurnCounts) {
        self.customers += other.customers;
        self.churned += other.churned;
    }

    /// None without customers.
    pub fn estimate(&self) -> Option<Estimate> {
        (self.customers > 0).then(|| wilson(self.churned, self.customers))
    }

    pub fn to_records(&self) -> [f64; 2] {
        [self.customers as f64, self.churned as f64]
    }

    pub fn from_record([customers, churned]: [f64; 2]) -> Result<ChurnCounts, &'static str> {
        let count =
            |v: f64| (v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(63)).then_some(v as u64);
        match (count(customers), count(churned)) {
            (Some(customers), Some(churned)) if churned <= customers => {
                Ok(ChurnCounts { customers, churned })
            }
            _ => Err("bad churn counts"),
        }
    }
}

/// Customers, values and churn, for the share of value lost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ValueChurn {
    pub counts: ChurnCounts,
    value: CompensatedSum,
    churned_value: CompensatedSum,
    squares: CompensatedSum,
    churned_squares: CompensatedSum,
}

impl ValueChurn {
    /// `value` is finite and non-negative (checked by the caller).
    pub fn add(&mut self, churned: bool, value: f64) {
        self.counts.add(churned);
        self.value.add(value);
        self.squares.add(value * value);
        if churned {
            self.churned_value.add(value);
            self.churned_squares.add(value * value);
        }
    }

    pub fn merge(&mut self, other: &ValueChurn) {
        self.counts.merge(&other.counts);
        for (mine, theirs) in [
            (&mut self.value, other.value),
            (&mut self.churned_value, other.churned_value),
            (&mut self.squares, other.squares),
            (&mut self.churned_squares, other.churned_squares),
        ] {
            mine.add(theirs.sum());
            mine.add(theirs.compensation());
        }
    }

    /// The value of all customers, and of those lost.
    pub fn values(&self) -> (f64, f64) {
        (self.value.value(), self.churned_value.value())
    }

    /// None without customers or without any value.
    pub fn estimate(&self) -> Option<Estimate> {
        let (total, lost) = self.values();
        if self.counts.customers == 0 || total <= 0.0 {
            return None;
        }
        let rate = lost / total;
        let n = self.counts.customers as f64;
        if self.counts.customers == 1 {
            return Some(Estimate {
                rate,
                low: 0.0,
                high: 1.0,
            });
        }
        let (squares, churned_squares) = (self.squares.value(), self.churned_squares.value());
        // Σ v²(c − R)², split by c: the churned give (1 − R)², the others R².
        let residual = churned_squares * (1.0 - rate).powi(2)
            + (squares - churned_squares).max(0.0) * rate * rate;
        let standard_error = (n / (n - 1.0) * residual).sqrt() / total;
        Some(Estimate {
            rate,
            low: (rate - Z_95 * standard_error).max(0.0),
            high: (rate + Z_95 * standard_error).min(1.0),
        })
    }

    pub fn to_records(&self) -> [f64; 10] {
        let [customers, churned] = self.counts.to_records();
        let parts = |s: CompensatedSum| [s.sum(), s.compensation()];
        let [v, vc] = parts(self.value);
        let [l, lc] = parts(self.churned_value);
        let [q, qc] = parts(self.squares);
        let [cq, cqc] = parts(self.churned_squares);
        [customers, churned, v, vc, l, lc, q, qc, cq, cqc]
    }

    pub fn from_record(r: [f64; 10]) -> Result<ValueChurn, &'static str> {
        if !r.iter().all(|v| v.is_finite()) {
            return Err("a value is not finite");
        }
        Ok(ValueChurn {
            counts: ChurnCounts::from_record([r[0], r[1]])?,
            value: CompensatedSum::from_parts(r[2], r[3]),
            churned_value: CompensatedSum::from_parts(r[4], r[5]),
            squares: CompensatedSum::from_parts(r[6], r[7]),
            churned_squares: CompensatedSum::from_parts(r[8], r[9]),
        })
    }
}

const STATE_VERSION: u32 = 1;

impl EncodedState for ChurnCounts {
    fn encoded_len(&self) -> usize {
        records_len::<2>(1)
    }
    fn write_to(&self, out: &mut [u8]) {
        write_records(out, STATE_VERSION, std::iter::once(self.to_records()));
    }
}

impl EncodedState for ValueChurn {
    fn encoded_len(&self) -> usize {
        records_len::<10>(1)
    }
    fn write_to(&self, out: &mut [u8]) {
        write_records(out, STATE_VERSION, std::iter::once(self.to_records()));
    }
}

/// The one record of a serialized state.
fn only<T>(mut records: Vec<T>, what: &str) -> Result<T, DecodeError> {
    match records.len() {
        1 => Ok(records.pop().expect("one")),
        n => Err(DecodeError(format!("{what}: {n} records, not 1"))),
    }
}

impl ChurnCounts {
    pub fn from_bytes(bytes: &[u8]) -> Result<ChurnCounts, DecodeError> {
        only(
            read_records(
                bytes,
                "churn_rate state",
                STATE_VERSION,
                ChurnCounts::from_record,
            )?,
            "churn_rate state",
        )
    }
}

impl ValueChurn {
    pub fn from_bytes(bytes: &[u8]) -> Result<ValueChurn, DecodeError> {
        only(
            read_records(
                bytes,
                "value_churn_rate state",
                STATE_VERSION,
                ValueChurn::from_record,
            )?,
            "value_churn_rate state",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// statsmodels 0.15.0, proportion_confint(count, nobs, alpha=0.05, method="wilson").
    #[test]
    fn wilson_equals_statsmodels() {
        for (k, n, low, high) in [
            (3, 10, 0.10779126740630104, 0.6032218525388546),
            (0, 25, 0.0, 0.13319225093904855),
            (50, 50, 0.9286524008666412, 1.0),
            (412, 2357, 0.15999832348083193, 0.19065692942811346),
        ] {
            let e = wilson(k, n);
            assert!(
                (e.low - low).abs() < 1e-12 && (e.high - high).abs() < 1e-12,
                "{k}/{n}: {e:?}"
            );
        }
    }

    /// The value-weighted rate is the ratio of sums; every customer of equal value gives the
    /// plain rate; a merge of two halves gives the whole.
    #[test]
    fn value_churn_is_a_ratio_of_sums() {
        let customers: Vec<(bool, f64)> = (0..1000)
            .map(|i| (i % 7 == 0, (i % 13) as f64 * 2.5))
            .collect();
        let (mut whole, mut left, mut right) = (
            ValueChurn::default(),
            ValueChurn::default(),
            ValueChurn::default(),
        );
        for (i, &(c, v)) in customers.iter().enumerate() {
            whole.add(c, v);
            if i % 2 == 0 {
                left.add(c, v)
            } else {
                right.add(c, v)
            }
        }
        left.merge(&right);
        assert_eq!(left.estimate(), whole.estimate());
        let lost: f64 = customers.iter().filter(|c| c.0).map(|c| c.1).sum();
        let total: f64 = customers.iter().map(|c| c.1).sum();
        let e = whole.estimate().unwrap();
        assert!((e.rate - lost / total).abs() < 1e-15);
        assert!(e.low < e.rate && e.rate < e.high);
        let mut equal = ValueChurn::default();
        (0..100).for_each(|i| equal.add(i < 30, 5.0));
        assert!((equal.estimate().unwrap().rate - 0.3).abs() < 1e-15);
        assert_eq!(ValueChurn::from_record(whole.to_records()).unwrap(), whole);
    }
}
