//! Decimal numbers (PostgreSQL's `numeric`: base-10000 digits and a weight) to the nearest
//! double, without going through text.
//!
//! The exact fast path of Clinger (1990): a decimal m · 10^e whose integer m is at most 2^53
//! and whose |e| is at most 22 has m and 10^|e| exact as doubles, and one IEEE multiplication
//! or division of two exact doubles rounds correctly, so the result is the double nearest to
//! the decimal, the one a correctly rounding parser (`strtod`, Rust's `parse`) gives. Amounts
//! such as `numeric(12, 2)` always take it; anything else returns None for the caller's slow
//! path.

/// Base-10000 digits, most significant first, worth digit[i] · 10000^(weight − i).
pub struct Decimal<'a> {
    pub negative: bool,
    pub weight: i32,
    pub digits: &'a [i16],
}

/// The largest integer below which every integer is a double.
const EXACT_INTEGERS: u64 = 1 << 53;
/// The powers of ten that are doubles exactly.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl Decimal<'_> {
    /// The nearest double, when the fast path applies (see the module comment).
    #[inline]
    pub fn to_f64_exact(&self) -> Option<f64> {
        // Trailing zero digits only move the exponent.
        let significant =
            self.digits.len() - self.digits.iter().rev().take_while(|d| **d == 0).count();
        if significant == 0 {
            return Some(0.0);
        }
        if significant > 4 {
            return None; // more than 16 decimal digits
        }
        let mut m: u64 = 0;
        for &digit in &self.digits[..significant] {
            if !(0..10_000).contains(&digit) {
                return None;
            }
            m = m * 10_000 + digit as u64;
        }
        if m > EXACT_INTEGERS {
            return None;
        }
        let exponent = 4 * (self.weight - (significant as i32 - 1));
        let power = *POWERS_OF_TEN.get(exponent.unsigned_abs() as usize)?;
        let magnitude = if exponent >= 0 {
            m as f64 * power
        } else {
            m as f64 / power
        };
        Some(if self.negative { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decimal text of digits and weight, as PostgreSQL's numeric_out would print it.
    fn text(negative: bool, weight: i32, digits: &[i16]) -> String {
        let mut s = String::from(if negative { "-0." } else { "0." });
        for d in digits {
            s.push_str(&format!("{d:04}"));
        }
        s.push_str(&format!("e{}", 4 * (weight + 1)));
        s
    }

    /// Rust's float parser rounds correctly (as glibc's strtod, which PostgreSQL's cast uses):
    /// the fast path must give its very bits wherever it applies.
    #[test]
    fn the_fast_path_rounds_as_a_correct_parser_does() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut taken = 0;
        for _ in 0..200_000 {
            let n = 1 + (next() % 4) as usize;
            let digits: Vec<i16> = (0..n).map(|_| (next() % 10_000) as i16).collect();
            let weight = (next() % 12) as i32 - 6;
            let negative = next() % 2 == 0;
            let decimal = Decimal {
                negative,
                weight,
                digits: &digits,
            };
            // numeric has no negative zero: its text is "0"
            let expected = text(negative, weight, &digits).parse::<f64>().unwrap() + 0.0;
            if let Some(value) = decimal.to_f64_exact() {
                assert_eq!(
                    value.to_bits(),
                    expected.to_bits(),
                    "{}",
                    text(negative, weight, &digits)
                );
                taken += 1;
            }
        }
        assert!(taken > 100_000, "the fast path took only {taken}");
    }

    #[test]
    fn amounts_with_cents_and_their_limits() {
        // 12.50 as numeric(12, 2): weight 0, digits 12 and 5000
        let amount = Decimal {
            negative: false,
            weight: 0,
            digits: &[12, 5000],
        };
        assert_eq!(amount.to_f64_exact(), Some(12.5));
        let cents = Decimal {
            negative: true,
            weight: -1,
            digits: &[1],
        }; // -0.0001
        assert_eq!(cents.to_f64_exact(), Some(-0.0001));
        assert_eq!(
            Decimal {
                negative: false,
                weight: 3,
                digits: &[]
            }
            .to_f64_exact(),
            Some(0.0)
        );
        // 17 significant digits and 10^-24 are for the slow path
        let long = Decimal {
            negative: false,
            weight: 4,
            digits: &[1, 2, 3, 4, 5],
        };
        assert_eq!(long.to_f64_exact(), None);
        let tiny = Decimal {
            negative: false,
            weight: -6,
            digits: &[1],
        };
        assert_eq!(tiny.to_f64_exact(), None);
        // trailing zero digits do not count: 1e20 is 1 · 10^20
        let big = Decimal {
            negative: false,
            weight: 5,
            digits: &[1, 0, 0, 0, 0, 0],
        };
        assert_eq!(big.to_f64_exact(), Some(1e20));
    }
}
