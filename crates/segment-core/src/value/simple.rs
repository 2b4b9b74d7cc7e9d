//! Simple customer lifetime value from a margin, a retention rate and a discount rate
//! (Gupta & Lehmann 2003, "Customers as Assets"): margins arrive at the end of each period, a
//! customer retained with probability r per period, money discounted at d per period.

/// A rate outside its domain, or a horizon over which the sum does not converge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BadRate {
    /// retention outside [0, 1).
    Retention(f64),
    /// discount at or below −1 (or not a number).
    Discount(f64),
    /// retention ≥ 1 + discount: the infinite sum does not converge.
    Diverges,
}

fn check(retention: f64, discount: f64) -> Result<f64, BadRate> {
    if !(0.0..1.0).contains(&retention) {
        return Err(BadRate::Retention(retention));
    }
    if !(discount > -1.0 && discount.is_finite()) {
        return Err(BadRate::Discount(discount));
    }
    Ok(retention / (1.0 + discount))
}

/// Σₜ₌₁..∞ m·rᵗ/(1+d)ᵗ = m·r/(1 + d − r).
pub fn clv_infinite(margin: f64, retention: f64, discount: f64) -> Result<f64, BadRate> {
    let q = check(retention, discount)?;
    if q >= 1.0 {
        return Err(BadRate::Diverges);
    }
    Ok(margin * retention / (1.0 + discount - retention))
}

/// Σₜ₌₁..ₙ m·rᵗ/(1+d)ᵗ, the first n periods.
pub fn clv_finite(
    margin: f64,
    retention: f64,
    discount: f64,
    periods: u32,
) -> Result<f64, BadRate> {
    let q = check(retention, discount)?;
    let n = f64::from(periods);
    let factor = if q == 0.0 || periods == 0 {
        0.0 // nobody stays (r = 0), or no period
    } else if (q - 1.0).abs() < 1e-12 {
        n
    } else {
        // q (1 − qⁿ) / (1 − q), with qⁿ − 1 as expm1 for q near 1.
        q * (-(n * q.ln()).exp_m1()) / (1.0 - q)
    };
    Ok(margin * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gupta & Lehmann's formula by hand: 100 · 0.8 / (1.1 − 0.8) = 266.67; the finite sum
    /// term by term; and the finite sum tending to the infinite one.
    #[test]
    fn sums_by_hand() {
        let infinite = clv_infinite(100.0, 0.8, 0.1).unwrap();
        assert!((infinite - 800.0 / 3.0).abs() < 1e-12);
        let by_terms: f64 = (1..=3)
            .map(|t| 100.0 * 0.8f64.powi(t) / 1.1f64.powi(t))
            .sum();
        assert!((clv_finite(100.0, 0.8, 0.1, 3).unwrap() - by_terms).abs() < 1e-12);
        assert!((clv_finite(100.0, 0.8, 0.1, 2000).unwrap() - infinite).abs() < 1e-9);
        assert_eq!(clv_finite(100.0, 0.8, 0.1, 0).unwrap(), 0.0);
        assert_eq!(clv_finite(100.0, 0.0, 0.1, 0).unwrap(), 0.0);
        assert_eq!(clv_finite(100.0, 0.0, 0.1, 5).unwrap(), 0.0);
        assert_eq!(clv_infinite(100.0, 0.0, 0.1).unwrap(), 0.0);
        // A negative margin (a loss-making customer) is valued like any other.
        assert_eq!(clv_finite(-50.0, 0.5, 0.0, 1).unwrap(), -25.0);
        // d < 0 with q = 1: every period counts fully.
        assert!((clv_finite(10.0, 0.5, -0.5, 4).unwrap() - 40.0).abs() < 1e-9);
    }

    #[test]
    fn bad_rates() {
        assert_eq!(clv_infinite(1.0, 1.0, 0.1), Err(BadRate::Retention(1.0)));
        assert_eq!(clv_infinite(1.0, -0.1, 0.1), Err(BadRate::Retention(-0.1)));
        assert_eq!(clv_infinite(1.0, 0.5, -1.0), Err(BadRate::Discount(-1.0)));
        assert!(matches!(
            clv_infinite(1.0, 0.5, f64::NAN),
            Err(BadRate::Discount(_))
        ));
        assert_eq!(clv_infinite(1.0, 0.9, -0.2), Err(BadRate::Diverges));
        assert!(
            clv_finite(1.0, 0.9, -0.2, 10).is_ok(),
            "a finite horizon always converges"
        );
    }
}
