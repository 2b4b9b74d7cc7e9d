//! ln Γ and ψ (digamma) for the likelihoods of the customer-value models.
//!
//! `f64::ln_gamma` is unstable on this toolchain, and the models need ψ as well, so both are
//! here: ln Γ by the Lanczos approximation (g = 7, 9 coefficients, about 1e-15 relative),
//! reflected below 0.5; ψ by its recurrence up to 10 and the asymptotic series beyond (error below 1e-15).

use std::f64::consts::PI;

const LANCZOS_G: f64 = 7.0;
/// The Lanczos coefficients for g = 7, n = 9 (the widely published set).
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0 (the models' parameters and counts are positive).
pub fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Γ(x) Γ(1 − x) = π / sin(πx)
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + LANCZOS_G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ψ(x) = d ln Γ(x) / dx for x > 0.
pub fn digamma(mut x: f64) -> f64 {
    let mut result = 0.0;
    while x < 10.0 {
        result -= 1.0 / x; // ψ(x) = ψ(x + 1) − 1/x
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    // ψ(x) ~ ln x − 1/(2x) − Σ B₂ₖ / (2k x^{2k})
    result + x.ln()
        - 0.5 / x
        - f * (1.0 / 12.0
            - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0)))))
}

/// Terms of the hypergeometric series before it counts as not converging (z near 1).
const MAX_SERIES_TERMS: usize = 100_000;

/// Gauss's hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1 by its series, None when the
/// series has not converged within `MAX_SERIES_TERMS` terms.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for n in 0..MAX_SERIES_TERMS {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() {
            return Some(sum);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact values: Γ(1/2) = √π, Γ(5) = 24, Γ(10) = 362880; ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2,
    /// ψ(10) = H₉ − γ (Abramowitz & Stegun 6.1.8, 6.3.2, 6.3.3).
    #[test]
    fn known_values() {
        const EULER: f64 = 0.577_215_664_901_532_9;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * b.abs().max(1.0);
        assert!(close(ln_gamma(0.5), PI.sqrt().ln()));
        assert!(close(ln_gamma(5.0), 24f64.ln()));
        assert!(close(ln_gamma(10.0), 362_880f64.ln()));
        assert!(close(ln_gamma(1.0), 0.0) && close(ln_gamma(2.0), 0.0));
        assert!(close(ln_gamma(0.1), 9.513_507_698_668_732f64.ln()));
        assert!(close(digamma(1.0), -EULER));
        assert!(close(digamma(0.5), -EULER - 2.0 * 2f64.ln()));
        let h9: f64 = (1..=9).map(|k| 1.0 / k as f64).sum();
        assert!(close(digamma(10.0), h9 - EULER));
        // Closed forms (A&S 15.1.3, 15.1.8): ₂F₁(1, 1; 2; z) = −ln(1 − z)/z,
        // ₂F₁(a, b; b; z) = (1 − z)^(−a).
        for z in [0.1, 0.5, 0.9, 0.99] {
            assert!(close(
                hyp2f1(1.0, 1.0, 2.0, z).unwrap(),
                -(1.0 - z).ln() / z
            ));
            assert!(close(
                hyp2f1(0.7, 2.5, 2.5, z).unwrap(),
                (1.0 - z).powf(-0.7)
            ));
        }
        // ψ is the derivative of ln Γ (central difference).
        for x in [0.3, 1.7, 4.2, 25.0, 300.0] {
            let h = 1e-5 * x;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!((numeric - digamma(x)).abs() < 1e-8, "{x}");
        }
    }
}
