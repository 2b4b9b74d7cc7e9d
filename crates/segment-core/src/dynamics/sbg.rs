//! Contractual churn: the shifted-beta-geometric model (Fader & Hardie 2007, "How to Project
//! Customer Retention"). Each subscriber cancels at the end of a period with probability θ,
//! constant for them, θ ~ Beta(α, β) across subscribers: retention rises with tenure because
//! the likelier to cancel leave first.
//!
//! - P(T = t) = B(α + 1, β + t − 1) / B(α, β): cancelling at the end of period t ≥ 1;
//! - S(t) = B(α, β + t) / B(α, β): still subscribed after t periods;
//! - r(t) = S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1): the retention rate of period t.
//!
//! Fitted by maximum likelihood to a cohort's survivors n_0, n_1, …, n_T:
//! LL = Σ_{t=1..T} (n_{t−1} − n_t) ln P(T = t) + n_T ln S(T).

use crate::model::{positive, StoredModel};
use crate::optimize::minimize;
use crate::special::{digamma, ln_beta};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sbg {
    pub alpha: f64,
    pub beta: f64,
    pub log_likelihood: f64,
    /// The cohort's size at period 0, and the last period observed.
    pub cohort: f64,
    pub periods: u32,
    pub iterations: usize,
    pub converged: bool,
}

impl StoredModel for Sbg {
    const TYPE_NAME: &'static str = "sbg_model";
    fn converged(&self) -> bool {
        self.converged
    }
    fn check(&self) -> Result<(), String> {
        positive(&[
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("cohort", self.cohort),
        ])?;
        if !(self.log_likelihood.is_finite() && self.log_likelihood <= 0.0) {
            return Err(format!(
                "log_likelihood = {} must be a finite number <= 0",
                self.log_likelihood
            ));
        }
        Ok(())
    }
}

/// Why survivors cannot be fitted.
#[derive(Clone, Debug, PartialEq)]
pub enum BadSurvivors {
    /// The periods are not 0, 1, …, T, each once (the period missing or repeated).
    Periods(i64),
    /// A count is negative, or the cohort is empty.
    Count(i64, i64),
    /// More survivors in a period than in the one before (period, survivors, before).
    Grows(i64, i64, i64),
    /// Only period 0: nothing to learn from.
    OnePeriod,
}

const START: [f64; 2] = [1.0, 1.0];
const TOLERANCE: f64 = 1e-9;
const MAX_ITERATIONS: usize = 500;

impl Sbg {
    /// Checks (period, survivors) rows in any order: periods 0..=T each once, counts that
    /// never grow, a cohort of at least one.
    pub fn survivors(rows: &[(i64, i64)]) -> Result<Vec<f64>, BadSurvivors> {
        let mut rows = rows.to_vec();
        rows.sort_unstable();
        for (expected, &(period, count)) in rows.iter().enumerate() {
            if period != expected as i64 {
                return Err(BadSurvivors::Periods(if period > expected as i64 {
                    expected as i64
                } else {
                    period
                }));
            }
            if count < 0 || (period == 0 && count == 0) {
                return Err(BadSurvivors::Count(period, count));
            }
            if period > 0 && count > rows[expected - 1].1 {
                return Err(BadSurvivors::Grows(period, count, rows[expected - 1].1));
            }
        }
        if rows.len() < 2 {
            return Err(BadSurvivors::OnePeriod);
        }
        Ok(rows.iter().map(|&(_, n)| n as f64).collect())
    }

    /// Fits the model to survivors n_0, …, n_T (checked by `survivors`).
    pub fn fit(survivors: &[f64]) -> Sbg {
        let cohort = survivors[0];
        let objective = |theta: &[f64]| {
            let (ll, gradient) = log_likelihood(survivors, theta);
            (-ll / cohort, gradient.iter().map(|g| -g / cohort).collect())
        };
        let start: Vec<f64> = START.iter().map(|p: &f64| p.ln()).collect();
        let min = minimize(objective, &start, TOLERANCE, MAX_ITERATIONS);
        Sbg {
            alpha: min.point[0].exp(),
            beta: min.point[1].exp(),
            log_likelihood: -min.value * cohort,
            cohort,
            periods: (survivors.len() - 1) as u32,
            iterations: min.iterations,
            converged: min.converged,
        }
    }

    /// S(t): the share of the cohort still subscribed after t periods.
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + f64::from(t)) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// r(t), t ≥ 1: the share of those subscribed after t − 1 periods who renew for period t.
    pub fn retention(&self, t: u32) -> f64 {
        let t = f64::from(t);
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// The discounted expected residual lifetime of a subscriber who has renewed `renewals`
    /// times and is about to decide on the next (Fader & Hardie 2010, "Customer-Base Valuation
    /// in a Contractual Setting", eq. 6): Σ_{k≥0} S(n + k) / S(n − 1) / (1 + d)^k with
    /// n = renewals + 1, the payments the subscriber is still expected to make, the next one
    /// undiscounted. None when the sum does not converge: d = 0 with α ≤ 1 (an infinite
    /// expected lifetime), or a discount so small it needs more than ten million terms.
    pub fn derl(&self, discount: f64, renewals: u32) -> Option<f64> {
        let n = f64::from(renewals) + 1.0;
        let z = 1.0 / (1.0 + discount);
        // term_k = S(n + k) / S(n − 1) · z^k; S(m + 1) / S(m) = (β + m) / (α + β + m).
        let mut term = (self.beta + n - 1.0) / (self.alpha + self.beta + n - 1.0);
        let mut sum = 0.0;
        for k in 0..10_000_000u32 {
            sum += term;
            let m = n + f64::from(k);
            term *= (self.beta + m) / (self.alpha + self.beta + m) * z;
            if term <= sum * 1e-17 {
                return Some(sum);
            }
        }
        None
    }
}

/// LL at θ = ln(α, β) and its gradient with respect to θ.
fn log_likelihood(survivors: &[f64], theta: &[f64]) -> (f64, [f64; 2]) {
    let (alpha, beta) = (theta[0].exp(), theta[1].exp());
    let (base, psi_ab) = (ln_beta(alpha, beta), digamma(alpha + beta));
    let (psi_a, psi_b) = (digamma(alpha), digamma(beta));
    let (mut ll, mut d_alpha, mut d_beta) = (0.0, 0.0, 0.0);
    for t in 1..survivors.len() {
        let lost = survivors[t - 1] - survivors[t];
        if lost == 0.0 {
            continue;
        }
        let tt = t as f64;
        // ln P(T = t) = ln B(α + 1, β + t − 1) − ln B(α, β)
        ll += lost * (ln_beta(alpha + 1.0, beta + tt - 1.0) - base);
        let psi_all = digamma(alpha + beta + tt);
        d_alpha += lost * (digamma(alpha + 1.0) - psi_all - psi_a + psi_ab);
        d_beta += lost * (digamma(beta + tt - 1.0) - psi_all - psi_b + psi_ab);
    }
    let last = survivors.len() - 1;
    let still = survivors[last];
    if still > 0.0 {
        let tt = last as f64;
        // ln S(T) = ln B(α, β + T) − ln B(α, β)
        ll += still * (ln_beta(alpha, beta + tt) - base);
        let psi_all = digamma(alpha + beta + tt);
        d_alpha += still * (psi_ab - psi_all);
        d_beta += still * (digamma(beta + tt) - psi_all - psi_b + psi_ab);
    }
    (ll, [d_alpha * alpha, d_beta * beta])
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGULAR: [i64; 8] = [1000, 631, 468, 382, 326, 289, 262, 241];
    const HIGH_END: [i64; 8] = [1000, 869, 743, 653, 593, 551, 517, 491];

    fn rows(counts: &[i64]) -> Vec<(i64, i64)> {
        counts
            .iter()
            .enumerate()
            .map(|(t, &n)| (t as i64, n))
            .collect()
    }

    /// Fader & Hardie (2007), the two cohorts of their example, years 0 to 7: regular
    /// α = 0.704, β = 1.182; high end α = 0.668, β = 3.806.
    #[test]
    fn fits_the_published_cohorts() {
        for (counts, alpha, beta) in [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)] {
            let model = Sbg::fit(&Sbg::survivors(&rows(&counts)).unwrap());
            assert!(model.converged, "{model:?}");
            assert!(
                (model.alpha - alpha).abs() < 1e-3 && (model.beta - beta).abs() < 1e-3,
                "{model:?}"
            );
        }
    }

    #[test]
    fn gradient_matches_central_differences() {
        let survivors = Sbg::survivors(&rows(&REGULAR)).unwrap();
        let theta = [0.5f64.ln(), 1.5f64.ln()];
        let (_, gradient) = log_likelihood(&survivors, &theta);
        for i in 0..2 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[i] += h;
            down[i] -= h;
            let numeric = (log_likelihood(&survivors, &up).0 - log_likelihood(&survivors, &down).0)
                / (2.0 * h);
            assert!(
                (numeric - gradient[i]).abs() < 1e-5 * numeric.abs().max(1.0),
                "{i}"
            );
        }
    }

    /// Survival is the product of the retention rates; DERL equals its defining sum.
    #[test]
    fn survival_retention_and_derl_agree() {
        let model = Sbg::fit(&Sbg::survivors(&rows(&REGULAR)).unwrap());
        let mut product = 1.0;
        for t in 1..=20 {
            product *= model.retention(t);
            assert!((model.survival(t) / product - 1.0).abs() < 1e-12);
        }
        let (d, renewals) = (0.1, 3u32);
        let n = renewals + 1;
        let by_sum: f64 = (0..5000)
            .map(|k| model.survival(n + k) / model.survival(n - 1) / 1.1f64.powi(k as i32))
            .sum();
        assert!((model.derl(d, renewals).unwrap() / by_sum - 1.0).abs() < 1e-10);
        assert_eq!(
            Sbg {
                alpha: 0.5,
                ..model.clone()
            }
            .derl(0.0, 0),
            None
        );
    }

    #[test]
    fn bad_survivors() {
        assert_eq!(
            Sbg::survivors(&[(0, 10), (2, 5)]),
            Err(BadSurvivors::Periods(1))
        );
        assert_eq!(
            Sbg::survivors(&[(0, 10), (1, 5), (1, 4)]),
            Err(BadSurvivors::Periods(1))
        );
        assert_eq!(
            Sbg::survivors(&[(1, 10), (2, 5)]),
            Err(BadSurvivors::Periods(0))
        );
        assert_eq!(
            Sbg::survivors(&[(0, 10), (1, 11)]),
            Err(BadSurvivors::Grows(1, 11, 10))
        );
        assert_eq!(
            Sbg::survivors(&[(0, 0), (1, 0)]),
            Err(BadSurvivors::Count(0, 0))
        );
        assert_eq!(
            Sbg::survivors(&[(0, 10), (1, -1)]),
            Err(BadSurvivors::Count(1, -1))
        );
        assert_eq!(Sbg::survivors(&[(0, 10)]), Err(BadSurvivors::OnePeriod));
    }
}
