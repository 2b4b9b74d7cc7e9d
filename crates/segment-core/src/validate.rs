//! Checks on input values and parameters, shared by every feature family.
//!
//! Pure: a check returns what is wrong, and the SQL layer (`pg::errors` in the extension) turns that into an
//! ERROR naming the function, with the right SQLSTATE and a hint.

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BadValue {
    NaN,
    Infinite(f64),
    Negative(f64),
}

/// A data value for a measure defined on non-negative amounts. `-0.0` comes back as `0.0`, so
/// that its bits sort with the zeros.
#[inline]
pub fn non_negative(x: f64) -> Result<f64, BadValue> {
    if x >= 0.0 && x.is_finite() {
        Ok(x + 0.0)
    } else if x.is_nan() {
        Err(BadValue::NaN)
    } else if x.is_infinite() {
        Err(BadValue::Infinite(x))
    } else {
        Err(BadValue::Negative(x))
    }
}

/// A data value that may be negative (a margin) but must be a number.
#[inline]
pub fn finite(x: f64) -> Result<f64, BadValue> {
    if x.is_finite() {
        Ok(x + 0.0)
    } else if x.is_nan() {
        Err(BadValue::NaN)
    } else {
        Err(BadValue::Infinite(x))
    }
}

/// A fraction in (0, 1]: a share of units or of a total.
pub fn fraction(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(non_negative(2.5), Ok(2.5));
        assert_eq!(non_negative(-0.0).map(f64::to_bits), Ok(0));
        assert_eq!(non_negative(f64::NAN), Err(BadValue::NaN));
        assert_eq!(
            non_negative(f64::NEG_INFINITY),
            Err(BadValue::Infinite(f64::NEG_INFINITY))
        );
        assert_eq!(non_negative(-1.0), Err(BadValue::Negative(-1.0)));
    }

    #[test]
    fn fractions() {
        assert!(fraction(1.0) && fraction(1e-9));
        assert!(!fraction(0.0) && !fraction(1.0000001) && !fraction(f64::NAN) && !fraction(-0.5));
    }
}
