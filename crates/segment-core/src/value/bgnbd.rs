//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"):
//! purchases at a Poisson rate λ ~ Gamma(r, α) while alive, and after each purchase the customer
//! drops out with probability p ~ Beta(a, b).
//!
//! A customer enters the likelihood as (x, t_x, T): repeat purchases, the time of the last one
//! and the time observed, all from the first purchase, in one time unit. Customers with the
//! same triple are one group with a weight, so a fit costs as much as its distinct triples.

use super::triples::{Group, Triples};
use crate::model::{positive, StoredModel};
use crate::optimize::minimize;
use crate::special::{digamma, hyp2f1, ln_beta, ln_gamma};
use serde::{Deserialize, Serialize};

/// A fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    /// The log-likelihood of all customers at the fitted parameters.
    pub log_likelihood: f64,
    /// Customers fitted.
    pub customers: f64,
    pub iterations: usize,
    /// The optimiser reached its gradient tolerance; a model that did not is flagged, never
    /// silently used.
    pub converged: bool,
}

impl StoredModel for BgNbd {
    const TYPE_NAME: &'static str = "bgnbd_model";
    fn converged(&self) -> bool {
        self.converged
    }
    fn check(&self) -> Result<(), String> {
        positive(&[
            ("r", self.r),
            ("alpha", self.alpha),
            ("a", self.a),
            ("b", self.b),
            ("customers", self.customers),
        ])?;
        if !self.log_likelihood.is_finite() {
            return Err("log_likelihood must be a finite number".into());
        }
        Ok(())
    }
}

/// The optimiser's start, (r, α, a, b) = (1, 3, 1, 3) as in the published fits, on a log scale.
const START: [f64; 4] = [1.0, 3.0, 1.0, 3.0];
/// Stop when no gradient component of the mean negative log-likelihood (per log-parameter)
/// exceeds this.
const TOLERANCE: f64 = 1e-7;
const MAX_ITERATIONS: usize = 500;

impl BgNbd {
    /// Fits the model to the customers' triples (see `Triples`).
    pub fn fit(triples: &Triples) -> BgNbd {
        // In a fixed order, so that the sums, and so the fit to the last bit, do not depend on
        // the order the rows came in (serial or parallel).
        let mut groups = triples.groups().to_vec();
        groups.sort_by(|p, q| {
            [p.x, p.t_x, p.big_t]
                .partial_cmp(&[q.x, q.t_x, q.big_t])
                .expect("finite")
        });
        let groups = groups.as_slice();
        let customers = triples.customers();
        let objective = |theta: &[f64]| {
            let (ll, gradient) = log_likelihood(groups, theta);
            (
                -ll / customers,
                gradient.iter().map(|g| -g / customers).collect(),
            )
        };
        let start: Vec<f64> = START.iter().map(|p| p.ln()).collect();
        let min = minimize(objective, &start, TOLERANCE, MAX_ITERATIONS);
        let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| min.point[i].exp());
        BgNbd {
            r,
            alpha,
            a,
            b,
            log_likelihood: -min.value * customers,
            customers,
            iterations: min.iterations,
            converged: min.converged,
        }
    }

    /// E[X(t)]: the purchases a customer just acquired makes in the next t (FHL 2005, eq. 9).
    /// None where the hypergeometric series does not converge (t far beyond α).
    pub fn expected_purchases_new(&self, t: f64) -> Option<f64> {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let z = t / (alpha + t);
        let f = hyp2f1(r, b, a + b - 1.0, z)?;
        Some((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f))
    }

    /// E[Y(t) | x, t_x, T]: the purchases in the next t of a customer with this history (FHL
    /// 2005, eq. 10), in the Euler-transformed form whose series converges in a few dozen terms
    /// (z = t / (α + T + t)). a = 1 is a removable 0/0, taken as its limit. None where the
    /// series does not converge.
    pub fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Option<f64> {
        Some(self.expected_numerator(t, x, big_t)? / self.expected_denominator(x, t_x, big_t))
    }

    /// The numerator of eq. 10, which alone depends on t.
    pub(crate) fn expected_numerator(&self, t: f64, x: f64, big_t: f64) -> Option<f64> {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let z = t / (alpha + big_t + t);
        let c = a + b + x - 1.0;
        if (a - 1.0).abs() < 1e-6 {
            // lim (c/ε)(1 − (1 − z)^ε ₂F₁(b − r, ε; c; z)) = c Σₙ (zⁿ/n)(1 − (b − r)ₙ/(c)ₙ).
            let (mut power, mut ratio, mut sum) = (1.0f64, 1.0f64, 0.0f64);
            for n in 1..=100_000 {
                let n = n as f64;
                power *= z;
                ratio *= (b - r + n - 1.0) / (c + n - 1.0);
                let term = power / n * (1.0 - ratio);
                sum += term;
                if term.abs() <= 1e-16 * sum.abs() {
                    return Some(c * sum);
                }
            }
            None
        } else {
            let f = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)?;
            Some(c / (a - 1.0) * (1.0 - (1.0 - z).powf(a - 1.0) * f))
        }
    }

    /// The denominator of eq. 10: the customer's history, whatever t.
    pub(crate) fn expected_denominator(&self, x: f64, t_x: f64, big_t: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((alpha + big_t) / (alpha + t_x)).powf(r + x)
        } else {
            1.0
        }
    }

    /// The probability that a customer just acquired makes exactly `n` repeat purchases in the
    /// first `t` (FHL 2005, eq. 8): still active after n purchases, or dropped out after the
    /// n-th with a Poisson count of at least n before. None when the tail sum would need more
    /// than ten million terms (t beyond any sensible horizon).
    pub fn p_purchases(&self, n: u32, t: f64) -> Option<f64> {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        if t == 0.0 {
            return Some(if n == 0 { 1.0 } else { 0.0 });
        }
        let n_f = f64::from(n);
        let counts = GammaPoissonCounts::new(r, alpha / (alpha + t), t / (alpha + t));
        let active = (ln_beta(a, b + n_f) - ln_beta(a, b) + counts.ln_pmf(n_f)).exp();
        if n == 0 {
            return Some(active);
        }
        let dropped =
            (ln_beta(a + 1.0, b + n_f - 1.0) - ln_beta(a, b)).exp() * counts.at_least(n)?;
        Some(active + dropped)
    }

    /// P(alive | x, t_x, T): the probability that a customer with this history has not dropped
    /// out by T (FHL 2005, eq. A.1 of the accompanying note), computed on a log scale.
    pub fn p_alive(&self, x: f64, t_x: f64, big_t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let log_ratio = (self.a / (self.b + x - 1.0)).ln()
            + (self.r + x) * ((self.alpha + big_t) / (self.alpha + t_x)).ln();
        1.0 / (1.0 + log_ratio.exp())
    }
}

/// The log-likelihood of the groups at log-parameters θ = ln(r, α, a, b), and its gradient
/// with respect to θ.
pub(crate) fn log_likelihood(groups: &[Group], theta: &[f64]) -> (f64, [f64; 4]) {
    let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| theta[i].exp());
    let ln_beta_ab = ln_beta(a, b);
    let (psi_r, psi_a, psi_b, psi_ab) = (digamma(r), digamma(a), digamma(b), digamma(a + b));
    let (ln_gamma_r, psi_a1) = (ln_gamma(r), digamma(a + 1.0));
    let mut total = 0.0;
    let mut gradient = [0.0; 4];
    // The special functions depend on x alone: computed once per run of groups with one x
    // (the groups come sorted by x), not once per group.
    let mut by_x: Option<(f64, XTerms)> = None;
    for g in groups {
        let (x, t_x, big_t, w) = (g.x, g.t_x, g.big_t, g.weight);
        let terms = match by_x {
            Some((known, terms)) if known == x => terms,
            _ => {
                let psi_abx = digamma(a + b + x);
                let terms = XTerms {
                    ln_gamma_rx: ln_gamma(r + x),
                    psi_rx: digamma(r + x),
                    ln_b1: ln_beta(a, b + x) - ln_beta_ab,
                    ln_b2: if x > 0.0 {
                        ln_beta(a + 1.0, b + x - 1.0) - ln_beta_ab
                    } else {
                        0.0
                    },
                    d_a1: psi_ab - psi_abx,
                    d_b1: digamma(b + x) - psi_abx - psi_b + psi_ab,
                    d_a2: psi_a1 - psi_abx - psi_a + psi_ab,
                    d_b2: if x > 0.0 {
                        digamma(b + x - 1.0) - psi_abx - psi_b + psi_ab
                    } else {
                        0.0
                    },
                };
                by_x = Some((x, terms));
                terms
            }
        };
        // ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln(A₁ + [x > 0] A₂) (FHL 2005, eq. 6), with
        // ln A₁ = ln B(a, b+x) − ln B(a, b) − (r+x) ln(α+T),
        // ln A₂ = ln B(a+1, b+x−1) − ln B(a, b) − (r+x) ln(α+t_x).
        let ln_a1 = terms.ln_b1 - (r + x) * (alpha + big_t).ln();
        // w₁, w₂: the shares of A₁ and A₂ in their sum, which weight their derivatives.
        let (ln_sum, w1, w2) = if x > 0.0 {
            let ln_a2 = terms.ln_b2 - (r + x) * (alpha + t_x).ln();
            let high = ln_a1.max(ln_a2);
            let (e1, e2) = ((ln_a1 - high).exp(), (ln_a2 - high).exp());
            (high + (e1 + e2).ln(), e1 / (e1 + e2), e2 / (e1 + e2))
        } else {
            (ln_a1, 1.0, 0.0)
        };
        total += w * (terms.ln_gamma_rx - ln_gamma_r + r * alpha.ln() + ln_sum);
        let d_r =
            terms.psi_rx - psi_r + alpha.ln() - w1 * (alpha + big_t).ln() - w2 * (alpha + t_x).ln();
        let d_alpha = r / alpha - w1 * (r + x) / (alpha + big_t) - w2 * (r + x) / (alpha + t_x);
        let d_a = w1 * terms.d_a1 + w2 * terms.d_a2;
        let d_b = w1 * terms.d_b1 + w2 * terms.d_b2;
        // d/dθ = parameter · d/dparameter on the log scale.
        for (slot, d) in gradient
            .iter_mut()
            .zip([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
        {
            *slot += w * d;
        }
    }
    (total, gradient)
}

/// The terms of a group's likelihood and gradient that depend on its x alone.
#[derive(Clone, Copy)]
struct XTerms {
    ln_gamma_rx: f64,
    psi_rx: f64,
    /// ln B(a, b+x) − ln B(a, b) and ln B(a+1, b+x−1) − ln B(a, b).
    ln_b1: f64,
    ln_b2: f64,
    /// d ln A₁ / da, d ln A₁ / db, d ln A₂ / da, d ln A₂ / db.
    d_a1: f64,
    d_b1: f64,
    d_a2: f64,
    d_b2: f64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::value::triples::tests::cdnow_sample;
    use crate::value::triples::Triples;

    /// The analytic gradient against central differences of the log-likelihood.
    #[test]
    fn gradient_matches_central_differences() {
        let triples = cdnow_sample();
        let theta = [0.3f64.ln(), 4.0f64.ln(), 0.7f64.ln(), 2.2f64.ln()];
        let (_, gradient) = log_likelihood(triples.groups(), &theta);
        for i in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[i] += h;
            down[i] -= h;
            let numeric = (log_likelihood(triples.groups(), &up).0
                - log_likelihood(triples.groups(), &down).0)
                / (2.0 * h);
            assert!(
                (numeric - gradient[i]).abs() <= 1e-5 * numeric.abs().max(1.0),
                "{i}: {numeric} vs {}",
                gradient[i]
            );
        }
    }

    /// Fader, Hardie & Lee (2005), CDNOW sample, 39-week calibration, weeks: r = 0.243,
    /// α = 4.414, a = 0.793, b = 2.426, LL = −9582.4. The bundled summary holds the triples to
    /// 2 decimals, which moves the fit in the fourth digit.
    #[test]
    fn fits_the_published_cdnow_parameters() {
        let model = BgNbd::fit(&cdnow_sample());
        assert!(model.converged, "{model:?}");
        for (fitted, published) in [
            (model.r, 0.243),
            (model.alpha, 4.414),
            (model.a, 0.793),
            (model.b, 2.426),
        ] {
            assert!((fitted / published - 1.0).abs() < 3e-3, "{model:?}");
        }
        assert!((model.log_likelihood - -9582.4).abs() < 1.0, "{model:?}");
        assert_eq!(model.customers, 2357.0);
    }

    /// The parameters Fader, Hardie & Lee (2005) publish for the CDNOW sample, in weeks.
    pub(crate) fn published() -> BgNbd {
        BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
            log_likelihood: 0.0,
            customers: 0.0,
            iterations: 0,
            converged: true,
        }
    }

    /// 100,000 customers drawn from the BG/NBD process itself with (r, α, a, b) = (0.25, 4,
    /// 0.8, 2.5), each observed for 26 to 52 weeks, purchases dated to the day: the fit
    /// recovers every parameter within 3 of its standard errors (from the Hessian).
    #[test]
    fn simulated_customers_give_back_their_parameters() {
        use crate::value::random::{standard_errors, Rng};
        let truth = [0.25f64, 4.0, 0.8, 2.5];
        let mut rng = Rng::new(2005);
        let mut triples = Triples::default();
        for _ in 0..100_000 {
            let rate = rng.gamma(truth[0], truth[1]);
            let drop = rng.beta(truth[2], truth[3]);
            let days = 182 + (rng.uniform() * 183.0) as u32;
            let (mut x, mut last, mut now) = (0u32, 0.0, 0.0);
            loop {
                now += rng.exponential(rate) * 7.0;
                if now > f64::from(days) {
                    break;
                }
                x += 1;
                last = now.floor();
                if rng.uniform() < drop {
                    break;
                }
            }
            triples
                .add(f64::from(x), last / 7.0, f64::from(days) / 7.0)
                .unwrap();
        }
        let fitted = BgNbd::fit(&triples);
        assert!(fitted.converged, "{fitted:?}");
        let theta = [fitted.r, fitted.alpha, fitted.a, fitted.b].map(f64::ln);
        let errors = standard_errors(|t| log_likelihood(triples.groups(), t).1, theta);
        for i in 0..4 {
            let off = (theta[i] - truth[i].ln()).abs() / errors[i];
            assert!(
                off < 3.0,
                "parameter {i}: {fitted:?}, {off:.2} standard errors off"
            );
        }
    }

    /// lifetimes 0.11.3, `BetaGeoFitter.probability_of_n_purchases_up_to_time` with the
    /// parameters fitted to the CDNOW sample (r 0.242593, α 4.413532, a 0.792886, b 2.425754).
    #[test]
    fn probability_of_n_purchases_equals_lifetimes() {
        let model = BgNbd {
            r: 0.242593,
            alpha: 4.413532,
            a: 0.792886,
            b: 2.425754,
            ..published()
        };
        for (t, n, expected) in [
            (39.0, 0, 0.5743071817198866),
            (39.0, 1, 0.19919306325270136),
            (39.0, 2, 0.08532243073340832),
            (39.0, 5, 0.017938402383468582),
            (39.0, 10, 0.0035845100481912725),
            (1.0, 3, 0.00042479458311088286),
            (520.0, 40, 0.0007613350049456521),
            (39.0, 60, 9.131101139536718e-07),
        ] {
            let p = model.p_purchases(n, t).unwrap();
            assert!(
                (p / expected - 1.0).abs() < 1e-9,
                "{t} {n}: {p} vs {expected}"
            );
        }
        assert_eq!(model.p_purchases(0, 0.0), Some(1.0));
        assert_eq!(model.p_purchases(3, 0.0), Some(0.0));
    }

    /// The probabilities add up to 1 and their mean is eq. 9's expectation (a hypergeometric
    /// series), also where lifetimes' Γ overflows (n past 170); a tail far out keeps its digits.
    #[test]
    fn probabilities_of_n_purchases_are_a_distribution_with_the_expected_mean() {
        let model = published();
        for t in [1.0, 39.0, 520.0] {
            let (mut total, mut mean) = (0.0, 0.0);
            for n in 0..20_000 {
                let p = model.p_purchases(n, t).unwrap();
                assert!(p >= 0.0);
                total += p;
                mean += f64::from(n) * p;
            }
            assert!((total - 1.0).abs() < 1e-10, "{t}: {total}");
            let expected = model.expected_purchases_new(t).unwrap();
            assert!(
                (mean / expected - 1.0).abs() < 1e-9,
                "{t}: {mean} vs {expected}"
            );
        }
        let far = model.p_purchases(400, 39.0).unwrap();
        assert!(far > 0.0 && far < 1e-12, "{far}");
    }

    /// With no history (x = t_x = T = 0) the conditional expectation (eq. 10, Euler form) is
    /// the expectation of a new customer (eq. 9): two formulas, two different series.
    #[test]
    fn conditional_expectation_without_history_is_the_new_customers() {
        let model = published();
        for t in [1.0, 10.0, 39.0, 78.0] {
            let new = model.expected_purchases_new(t).unwrap();
            let conditional = model.expected_purchases(t, 0.0, 0.0, 0.0).unwrap();
            assert!(
                (new / conditional - 1.0).abs() < 1e-12,
                "{t}: {new} {conditional}"
            );
        }
        // More time, more purchases; a customer seen buying recently buys more than one silent
        // since long ago.
        assert!(
            model.expected_purchases(39.0, 2.0, 30.43, 38.86).unwrap()
                > model.expected_purchases(39.0, 2.0, 5.0, 38.86).unwrap()
        );
        assert!(
            model.expected_purchases(78.0, 2.0, 30.43, 38.86).unwrap()
                > model.expected_purchases(39.0, 2.0, 30.43, 38.86).unwrap()
        );
    }

    /// The same fit by `lifetimes` 0.11.3 (BetaGeoFitter on the same file): r 0.242593,
    /// α 4.413532, a 0.792886, b 2.425752; agreement to 1e-4 relative.
    #[test]
    fn fit_agrees_with_lifetimes() {
        let model = BgNbd::fit(&cdnow_sample());
        for (fitted, oracle) in [
            (model.r, 0.242_592_928_279_821_5),
            (model.alpha, 4.413_532_265_271_809),
            (model.a, 0.792_885_966_440_657_8),
            (model.b, 2.425_752_382_625_737_4),
        ] {
            assert!((fitted / oracle - 1.0).abs() < 1e-4, "{model:?}");
        }
    }

    /// `lifetimes` 0.11.3 given the published parameters (0.243, 4.414, 0.793, 2.426):
    /// conditional_expected_number_of_purchases_up_to_time, conditional_probability_alive and
    /// expected_number_of_purchases_up_to_time; agreement to 1e-9 relative.
    #[test]
    fn expectations_agree_with_lifetimes() {
        let model = published();
        let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
        for (t, x, t_x, big_t, expected, alive) in [
            (39.0, 2.0, 30.43, 38.86, 1.226_028_174_767_135, 0.726_578_57),
            (39.0, 0.0, 0.0, 38.86, 0.195_098_052_011_253_96, 1.0),
            (78.0, 5.0, 20.0, 38.0, 2.053_434_721_179_427, 0.309_269_07),
        ] {
            let e = model.expected_purchases(t, x, t_x, big_t).unwrap();
            assert!(close(e, expected), "{e} vs {expected}");
            assert!((model.p_alive(x, t_x, big_t) - alive).abs() < 1e-8);
        }
        let new = model.expected_purchases_new(39.0).unwrap();
        assert!(close(new, 1.196_723_193_320_798_5), "{new}");
    }

    /// The same customers in another order fit to the same bits.
    #[test]
    fn fit_does_not_depend_on_the_order_of_the_customers() {
        let mut reversed = Triples::default();
        for [x, t_x, big_t, _] in crate::value::triples::tests::cdnow_rows().into_iter().rev() {
            reversed.add(x, t_x, big_t).unwrap();
        }
        assert_eq!(BgNbd::fit(&reversed), BgNbd::fit(&cdnow_sample()));
    }

    /// a = 1 is a removable singularity: the limit there joins the values on either side.
    #[test]
    fn a_equal_to_one_is_continuous() {
        let at = |a: f64| {
            BgNbd { a, ..published() }
                .expected_purchases(39.0, 3.0, 20.0, 38.0)
                .unwrap()
        };
        let (below, one, above) = (at(1.0 - 1e-4), at(1.0), at(1.0 + 1e-4));
        assert!((below - one).abs() < 1e-3 * one && (above - one).abs() < 1e-3 * one);
        assert!(
            (below - one) * (above - one) <= 0.0,
            "{below} {one} {above}"
        );
    }

    #[test]
    fn p_alive_is_one_without_repeat_purchases_and_falls_with_silence() {
        let model = published();
        assert_eq!(model.p_alive(0.0, 0.0, 30.0), 1.0);
        let recent = model.p_alive(5.0, 38.0, 39.0);
        let silent = model.p_alive(5.0, 10.0, 39.0);
        assert!(recent > silent && silent > 0.0 && recent < 1.0);
    }
}

/// Purchase counts of customers who never drop out, in a period where a Gamma(r, α) rate gives
/// a negative binomial count: P(j) = Γ(r+j)/(Γ(r) j!) p^r q^j with p = α/(α+t), q = t/(α+t).
struct GammaPoissonCounts {
    r: f64,
    ln_p: f64,
    q: f64,
}

impl GammaPoissonCounts {
    fn new(r: f64, p: f64, q: f64) -> Self {
        GammaPoissonCounts { r, ln_p: p.ln(), q }
    }

    fn ln_pmf(&self, j: f64) -> f64 {
        ln_gamma(self.r + j) - ln_gamma(self.r) - ln_gamma(j + 1.0)
            + self.r * self.ln_p
            + j * self.q.ln()
    }

    /// P(count >= n), n > 0: one minus the head when that is at most a half (no cancellation
    /// worth a digit), else the tail summed directly, so that a tiny tail keeps its digits.
    fn at_least(&self, n: u32) -> Option<f64> {
        const MAX_TERMS: u32 = 10_000_000;
        let mut term = (self.r * self.ln_p).exp();
        let mut head = 0.0;
        for j in 0..n.min(MAX_TERMS) {
            head += term;
            if head > 0.5 {
                break;
            }
            term *= (self.r + f64::from(j)) / f64::from(j + 1) * self.q;
        }
        if head <= 0.5 {
            return (n <= MAX_TERMS).then_some(1.0 - head);
        }
        // Terms fall once past the mode (r − 1)·q/(1 − q), geometrically by about q.
        let mut tail = 0.0;
        let mut term = self.ln_pmf(f64::from(n)).exp();
        for j in n..n.saturating_add(MAX_TERMS) {
            tail += term;
            let ratio = (self.r + f64::from(j)) / f64::from(j + 1) * self.q;
            term *= ratio;
            // (A term below the normal range is past mattering, and would stop falling.)
            if ratio < 1.0 && (term <= tail * 1e-17 || term < f64::MIN_POSITIVE) {
                return Some(tail);
            }
        }
        None
    }
}
