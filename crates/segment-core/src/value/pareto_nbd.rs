//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; the likelihood as in Fader,
//! Hardie & Lee 2005, "A Note on Deriving the Pareto/NBD Model and Related Expressions"):
//! purchases at a Poisson rate λ ~ Gamma(r, α) while alive, a lifetime exponential with rate
//! μ ~ Gamma(s, β).
//!
//! The likelihood holds a difference of two Gauss hypergeometric terms; it is taken on a log
//! scale, with the larger of α and β factored out so that the series argument stays in [0, 1)
//! (as CLVTools does). The gradient is by central differences on the log-parameters.

use super::triples::{Group, Triples};
use crate::model::{positive, StoredModel};
use crate::optimize::minimize;
use crate::special::{hyp2f1, ln_gamma};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
    pub log_likelihood: f64,
    pub customers: f64,
    pub iterations: usize,
    pub converged: bool,
}

impl StoredModel for ParetoNbd {
    const TYPE_NAME: &'static str = "pareto_nbd_model";
    fn converged(&self) -> bool {
        self.converged
    }
    fn check(&self) -> Result<(), String> {
        positive(&[
            ("r", self.r),
            ("alpha", self.alpha),
            ("s", self.s),
            ("beta", self.beta),
            ("customers", self.customers),
        ])?;
        if !self.log_likelihood.is_finite() {
            return Err("log_likelihood must be a finite number".into());
        }
        Ok(())
    }
}

const START: [f64; 4] = [1.0, 1.0, 1.0, 1.0];
/// Central differences are good to about 1e-9 here; the tolerance leaves room for that.
const TOLERANCE: f64 = 1e-6;
const MAX_ITERATIONS: usize = 500;
const STEP: f64 = 1e-5;

impl ParetoNbd {
    pub fn fit(triples: &Triples) -> ParetoNbd {
        let mut groups = triples.groups().to_vec();
        groups.sort_by(|p, q| {
            [p.x, p.t_x, p.big_t]
                .partial_cmp(&[q.x, q.t_x, q.big_t])
                .expect("finite")
        });
        let customers = triples.customers();
        let mean_nll = |theta: &[f64]| -> f64 {
            match log_likelihood(&groups, theta) {
                Some(ll) => -ll / customers,
                None => f64::INFINITY,
            }
        };
        let objective = |theta: &[f64]| {
            let value = mean_nll(theta);
            let gradient = (0..4)
                .map(|i| {
                    let (mut up, mut down) = (theta.to_vec(), theta.to_vec());
                    up[i] += STEP;
                    down[i] -= STEP;
                    (mean_nll(&up) - mean_nll(&down)) / (2.0 * STEP)
                })
                .collect();
            (value, gradient)
        };
        let start: Vec<f64> = START.iter().map(|p| p.ln()).collect();
        let min = minimize(objective, &start, TOLERANCE, MAX_ITERATIONS);
        let [r, alpha, s, beta] = [0, 1, 2, 3].map(|i| min.point[i].exp());
        ParetoNbd {
            r,
            alpha,
            s,
            beta,
            log_likelihood: -min.value * customers,
            customers,
            iterations: min.iterations,
            converged: min.converged && min.value.is_finite(),
        }
    }
}

impl ParetoNbd {
    /// ln A and ln((s/m)·B) of a customer: the two parts of the likelihood (see
    /// `log_likelihood`), whose shares are P(alive) and P(dropped out). None where a series
    /// does not converge.
    fn parts(&self, x: f64, t_x: f64, big_t: f64) -> Option<(f64, f64)> {
        customer_parts([self.r, self.alpha, self.s, self.beta], x, t_x, big_t)
    }

    /// P(alive | x, t_x, T) (FHL 2005 note, eq. 18).
    pub fn p_alive(&self, x: f64, t_x: f64, big_t: f64) -> Option<f64> {
        let (ln_a, ln_second) = self.parts(x, t_x, big_t)?;
        Some(1.0 / (1.0 + (ln_second - ln_a).exp()))
    }

    /// E[X(t)] of a customer just acquired (Schmittlein, Morrison & Colombo 1987):
    /// r β / (α (s − 1)) · (1 − (β / (β + t))^(s−1)); s = 1 is taken as its limit.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ratio = beta / (beta + t);
        let survival = if (s - 1.0).abs() < 1e-9 {
            -ratio.ln()
        } else {
            (1.0 - ratio.powf(s - 1.0)) / (s - 1.0)
        };
        r * beta / alpha * survival
    }

    /// E[Y(t) | x, t_x, T] (FHL 2005 note, eq. 21); s = 1 is taken as its limit.
    pub fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Option<f64> {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ratio = (beta + big_t) / (beta + big_t + t);
        let survival = if (s - 1.0).abs() < 1e-9 {
            -ratio.ln() // lim (1 − ratio^(s−1)) / (s − 1)
        } else {
            (1.0 - ratio.powf(s - 1.0)) / (s - 1.0)
        };
        Some((r + x) * (beta + big_t) / (alpha + big_t) * survival * self.p_alive(x, t_x, big_t)?)
    }
}

/// ln A and ln((s/m)·B) of one customer at parameters (r, α, s, β).
fn customer_parts(
    [r, alpha, s, beta]: [f64; 4],
    x: f64,
    t_x: f64,
    big_t: f64,
) -> Option<(f64, f64)> {
    let m = r + s + x;
    // ln of 2F1(m, b; m + 1; z) / (larger + y)^m at age y.
    let ln_f = |y: f64| -> Option<f64> {
        let (larger, z, b) = if alpha >= beta {
            (alpha + y, (alpha - beta) / (alpha + y), s + 1.0)
        } else {
            (beta + y, (beta - alpha) / (beta + y), r + x)
        };
        Some(hyp2f1(m, b, m + 1.0, z)?.ln() - m * larger.ln())
    };
    let ln_a = -(r + x) * (alpha + big_t).ln() - s * (beta + big_t).ln();
    let (at_t_x, at_t) = (ln_f(t_x)?, ln_f(big_t)?);
    // B = F(t_x) − F(T) ≥ 0, as F falls with age.
    let ln_b = if at_t >= at_t_x {
        f64::NEG_INFINITY
    } else {
        at_t_x + (-(at_t - at_t_x).exp()).ln_1p()
    };
    Some((ln_a, (s / m).ln() + ln_b))
}

/// The log-likelihood of the groups at θ = ln(r, α, s, β); None where a series does not
/// converge.
pub(crate) fn log_likelihood(groups: &[Group], theta: &[f64]) -> Option<f64> {
    let [r, alpha, s, beta] = [0, 1, 2, 3].map(|i| theta[i].exp());
    let base = -ln_gamma(r) + r * alpha.ln() + s * beta.ln();
    let mut total = 0.0;
    for g in groups {
        let (ln_a, ln_second) = customer_parts([r, alpha, s, beta], g.x, g.t_x, g.big_t)?;
        let high = ln_a.max(ln_second);
        let ln_sum = high + ((ln_a - high).exp() + (ln_second - high).exp()).ln();
        total += g.weight * (ln_gamma(r + g.x) + base + ln_sum);
    }
    total.is_finite().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::triples::tests::cdnow_sample;

    /// Fader, Hardie & Lee (2005, the Pareto/NBD note; also CLVTools' vignette), the CDNOW sample
    /// in weeks: r 0.553, α 10.58, s 0.606, β 11.67, LL −9595.0. The likelihood is flat along
    /// β, so the log-likelihood is compared tightly and the parameters loosely.
    #[test]
    fn fits_the_published_cdnow_parameters() {
        let model = ParetoNbd::fit(&cdnow_sample());
        assert!(model.converged, "{model:?}");
        assert!((model.log_likelihood - -9595.0).abs() < 0.1, "{model:?}");
        for (fitted, published) in [
            (model.r, 0.553),
            (model.alpha, 10.58),
            (model.s, 0.606),
            (model.beta, 11.67),
        ] {
            assert!((fitted / published - 1.0).abs() < 2e-3, "{model:?}");
        }
        // lifetimes 0.11.3, ParetoNBDFitter on the same file: r 0.553268, α 10.577677,
        // s 0.606152, β 11.666265 (β is the flat direction).
        for (fitted, oracle) in [
            (model.r, 0.553_267_623_923_932_1),
            (model.alpha, 10.577_677_417_703_503),
            (model.s, 0.606_151_708_576_113_6),
            (model.beta, 11.666_265_275_718_503),
        ] {
            assert!((fitted / oracle - 1.0).abs() < 1e-3, "{model:?}");
        }
    }

    /// lifetimes 0.11.3 with its own fitted parameters: conditional_probability_alive(2, 30.43,
    /// 38.86) and conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86).
    #[test]
    fn predictions_agree_with_lifetimes() {
        let model = ParetoNbd {
            r: 0.553_267_623_923_932_1,
            alpha: 10.577_677_417_703_503,
            s: 0.606_151_708_576_113_6,
            beta: 11.666_265_275_718_503,
            log_likelihood: 0.0,
            customers: 0.0,
            iterations: 0,
            converged: true,
        };
        let alive = model.p_alive(2.0, 30.43, 38.86).unwrap();
        assert!(
            (alive / 0.869_126_823_306_514_9 - 1.0).abs() < 1e-9,
            "{alive}"
        );
        let expected = model.expected_purchases(39.0, 2.0, 30.43, 38.86).unwrap();
        assert!(
            (expected / 1.455_139_739_193_957 - 1.0).abs() < 1e-9,
            "{expected}"
        );
        assert_eq!(model.p_alive(0.0, 0.0, 0.0), Some(1.0));
        // expected_number_of_purchases_up_to_time(39)
        let new = model.expected_purchases_new(39.0);
        assert!((new / 1.213_390_668_745_136_1 - 1.0).abs() < 1e-9, "{new}");
    }
}
