//! Customer lifetime value from the models: expected purchases month by month (BG/NBD) times
//! expected spend per purchase (Gamma-Gamma), discounted monthly. The convention of the
//! `lifetimes` package: months of 30 days, a monthly discount rate, margins at the end of each
//! month, the first month discounted once.

use super::bgnbd::BgNbd;

/// Why a CLV cannot be computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClvError {
    /// The monthly discount rate is at or below −1, or not a number.
    Discount(f64),
    /// A month is not a positive, finite number of the model's time units.
    Month(f64),
    /// The hypergeometric series of the expectation did not converge (a horizon far beyond the
    /// customers' ages).
    Series,
}

/// The CLV of `months` months of a customer whose expected purchases up to `t` (in the model's
/// unit) are `expected(t)`, spending `spend` per purchase; `month` is 30 days in the model's
/// unit (30 / 7 for a model fitted in weeks).
fn discounted_months(
    expected: impl Fn(f64) -> Option<f64>,
    spend: f64,
    months: u32,
    monthly_discount: f64,
    month: f64,
) -> Result<f64, ClvError> {
    if !(monthly_discount > -1.0 && monthly_discount.is_finite()) {
        return Err(ClvError::Discount(monthly_discount));
    }
    if !(month > 0.0 && month.is_finite()) {
        return Err(ClvError::Month(month));
    }
    let mut value = 0.0;
    let mut before = 0.0; // expected purchases up to the previous month's end
    for i in 1..=months {
        let up_to = expected(f64::from(i) * month).ok_or(ClvError::Series)?;
        value += spend * (up_to - before) / (1.0 + monthly_discount).powi(i as i32);
        before = up_to;
    }
    Ok(value)
}

/// The CLV of a customer with history (x, t_x, T) and expected spend `spend` per purchase.
#[allow(clippy::too_many_arguments)]
pub fn customer_clv(
    model: &BgNbd,
    (x, t_x, big_t): (f64, f64, f64),
    spend: f64,
    months: u32,
    monthly_discount: f64,
    month: f64,
) -> Result<f64, ClvError> {
    // The history's part of the expectation is the same every month: computed once.
    let denominator = model.expected_denominator(x, t_x, big_t);
    discounted_months(
        |t| Some(model.expected_numerator(t, x, big_t)? / denominator),
        spend,
        months,
        monthly_discount,
        month,
    )
}

/// The CLV of a customer just acquired, spending the population's mean `spend`.
pub fn prospect_clv(
    model: &BgNbd,
    spend: f64,
    months: u32,
    monthly_discount: f64,
    month: f64,
) -> Result<f64, ClvError> {
    discounted_months(
        |t| model.expected_purchases_new(t),
        spend,
        months,
        monthly_discount,
        month,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lifetimes` 0.11.3: GammaGammaFitter(p 6.25, q 3.74, v 15.44).customer_lifetime_value(
    /// BetaGeoFitter(r 0.243, alpha 4.414 · 7, a 0.793, b 2.426), frequency 2, recency 30.43 · 7,
    /// T 38.86 · 7, monetary 22.35, time 12, discount_rate 0.01, freq "D"): the model of the
    /// paper re-expressed in days, where lifetimes' months are exactly 30 days.
    #[test]
    fn equals_lifetimes_for_a_model_in_days() {
        let model = BgNbd {
            r: 0.243,
            alpha: 4.414 * 7.0,
            a: 0.793,
            b: 2.426,
            log_likelihood: 0.0,
            customers: 0.0,
            iterations: 0,
            converged: true,
        };
        let spend = 24.663_713_910_761_157; // lifetimes' conditional_expected_average_profit(2, 22.35)
        let clv = customer_clv(
            &model,
            (2.0, 30.43 * 7.0, 38.86 * 7.0),
            spend,
            12,
            0.01,
            30.0,
        )
        .unwrap();
        assert!((clv / LIFETIMES_CLV - 1.0).abs() < 1e-9, "{clv}");
        // The same model in weeks, with a month of 30/7 weeks, is worth the same.
        let weeks = BgNbd {
            alpha: 4.414,
            ..model.clone()
        };
        let in_weeks =
            customer_clv(&weeks, (2.0, 30.43, 38.86), spend, 12, 0.01, 30.0 / 7.0).unwrap();
        assert!((in_weeks / clv - 1.0).abs() < 1e-12);
    }

    const LIFETIMES_CLV: f64 = 35.881_652_647_567_31;

    #[test]
    fn bad_rates_and_months() {
        let model = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
            log_likelihood: 0.0,
            customers: 0.0,
            iterations: 0,
            converged: true,
        };
        assert_eq!(
            prospect_clv(&model, 10.0, 12, -1.0, 4.0),
            Err(ClvError::Discount(-1.0))
        );
        assert_eq!(
            prospect_clv(&model, 10.0, 12, 0.01, 0.0),
            Err(ClvError::Month(0.0))
        );
        assert_eq!(prospect_clv(&model, 10.0, 0, 0.01, 4.0), Ok(0.0));
        let one = prospect_clv(&model, 10.0, 1, 0.0, 4.0).unwrap();
        assert!((one - 10.0 * model.expected_purchases_new(4.0).unwrap()).abs() < 1e-12);
    }
}
