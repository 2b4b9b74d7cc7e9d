//! Customer lifetime value from the models: expected purchases month by month (BG/NBD) times
//! expected spend per purchase (Gamma-Gamma), discounted monthly. The convention of the
//! `lifetimes` package: months of 30 days, a monthly discount rate, margins at the end of each
//! month, the first month discounted once.

use super::bgnbd::BgNbd;
use rustc_hash::FxHashMap;

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
        crate::interrupt::check(); // a month costs a hypergeometric series per customer
        let up_to = expected(f64::from(i) * month).ok_or(ClvError::Series)?;
        value += spend * (up_to - before) / (1.0 + monthly_discount).powi(i as i32);
        before = up_to;
    }
    Ok(value)
}

/// The CLV of a customer with history (x, t_x, T) and expected spend `spend` per purchase.
pub fn customer_clv(
    model: &BgNbd,
    history: (f64, f64, f64),
    spend: f64,
    months: u32,
    monthly_discount: f64,
    month: f64,
) -> Result<f64, ClvError> {
    CustomerValuer::new(model.clone(), months, monthly_discount, month)?.clv(history, spend)
}

/// The CLV of many customers under one model and horizon. The expectation of a customer
/// (FHL 2005, eq. 10) is a numerator that depends on x and T only, over a denominator with
/// t_x: the discounted sum of the numerators' monthly steps (the months' hypergeometric
/// series, most of the work) is kept per (x, T), which customers share by the thousand
/// (purchase dates are days, and x small).
pub struct CustomerValuer {
    model: BgNbd,
    months: u32,
    monthly_discount: f64,
    month: f64,
    /// Discounted numerator steps by the bits of (x, T).
    steps: FxHashMap<(u64, u64), Result<f64, ClvError>>,
}

/// Past this many (x, T), the memo starts again: memory stays bounded, whatever the input.
const MAX_MEMO: usize = 1 << 18;

impl CustomerValuer {
    pub fn new(
        model: BgNbd,
        months: u32,
        monthly_discount: f64,
        month: f64,
    ) -> Result<CustomerValuer, ClvError> {
        discounted_months(|_| Some(0.0), 0.0, 0, monthly_discount, month)?; // checks them
        Ok(CustomerValuer {
            model,
            months,
            monthly_discount,
            month,
            steps: FxHashMap::default(),
        })
    }

    /// Whether this valuer is for these parameters.
    pub fn is_for(&self, model: &BgNbd, months: u32, monthly_discount: f64, month: f64) -> bool {
        self.model == *model
            && self.months == months
            && self.monthly_discount.to_bits() == monthly_discount.to_bits()
            && self.month.to_bits() == month.to_bits()
    }

    pub fn clv(&mut self, (x, t_x, big_t): (f64, f64, f64), spend: f64) -> Result<f64, ClvError> {
        if self.steps.len() >= MAX_MEMO {
            self.steps.clear();
        }
        let (model, months, discount, month) =
            (&self.model, self.months, self.monthly_discount, self.month);
        let steps = *self
            .steps
            .entry((x.to_bits(), big_t.to_bits()))
            .or_insert_with(|| {
                discounted_months(
                    |t| model.expected_numerator(t, x, big_t),
                    1.0,
                    months,
                    discount,
                    month,
                )
            });
        Ok(spend * steps? / self.model.expected_denominator(x, t_x, big_t))
    }
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
    use crate::value::bgnbd::tests::published;

    /// `lifetimes` 0.11.3: GammaGammaFitter(p 6.25, q 3.74, v 15.44).customer_lifetime_value(
    /// BetaGeoFitter(r 0.243, alpha 4.414 · 7, a 0.793, b 2.426), frequency 2, recency 30.43 · 7,
    /// T 38.86 · 7, monetary 22.35, time 12, discount_rate 0.01, freq "D"): the model of the
    /// paper re-expressed in days, where lifetimes' months are exactly 30 days.
    #[test]
    fn equals_lifetimes_for_a_model_in_days() {
        let model = BgNbd {
            alpha: 4.414 * 7.0,
            ..published()
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

    /// Customers sharing (x, T) share the memo; each value equals the month-by-month sum of
    /// the conditional expectations (eq. 10) computed afresh.
    #[test]
    fn the_memo_changes_no_value() {
        let model = published();
        let mut valuer = CustomerValuer::new(model.clone(), 12, 0.01, 30.0 / 7.0).unwrap();
        for (x, t_x, big_t) in [
            (0.0, 0.0, 30.0),
            (2.0, 10.0, 30.0),
            (2.0, 25.0, 30.0),
            (0.0, 0.0, 30.0),
            (7.0, 38.0, 39.0),
        ] {
            let month = 30.0 / 7.0;
            let mut direct = 0.0;
            for i in 1..=12 {
                let step = model
                    .expected_purchases(f64::from(i) * month, x, t_x, big_t)
                    .unwrap()
                    - model
                        .expected_purchases(f64::from(i - 1) * month, x, t_x, big_t)
                        .unwrap();
                direct += 20.0 * step / 1.01f64.powi(i);
            }
            let memo = valuer.clv((x, t_x, big_t), 20.0).unwrap();
            assert!((memo / direct - 1.0).abs() < 1e-12, "{memo} vs {direct}");
        }
        assert_eq!(valuer.steps.len(), 3);
    }

    const LIFETIMES_CLV: f64 = 35.881_652_647_567_31;

    #[test]
    fn bad_rates_and_months() {
        let model = published();
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
