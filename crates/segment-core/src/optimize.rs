//! Minimising a smooth function with its gradient: BFGS with a backtracking line search.
//!
//! The models fit three or four parameters on a log scale (so every parameter stays positive)
//! by minimising the mean negative log-likelihood; the analytic gradient makes a fit take a few
//! dozen iterations.

/// Where a minimisation stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    pub point: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    /// The largest gradient component fell to the tolerance.
    pub converged: bool,
}

/// Armijo's sufficient decrease for the line search.
const SUFFICIENT_DECREASE: f64 = 1e-4;
/// The largest step in any coordinate (a log-parameter): e^8 is a factor of about 3,000.
const MAX_STEP: f64 = 8.0;

/// Minimises `f` (returning the value and the gradient) from `start` until the largest gradient
/// component is at most `tolerance`, or `max_iterations` pass, or no step decreases `f`.
pub fn minimize(
    f: impl Fn(&[f64]) -> (f64, Vec<f64>),
    start: &[f64],
    tolerance: f64,
    max_iterations: usize,
) -> Minimum {
    let n = start.len();
    let mut x = start.to_vec();
    let (mut value, mut gradient) = f(&x);
    // The inverse Hessian estimate, row-major.
    let mut h = identity(n);
    for iteration in 0..max_iterations {
        if largest(&gradient) <= tolerance {
            return Minimum {
                point: x,
                value,
                iterations: iteration,
                converged: true,
            };
        }
        let mut direction: Vec<f64> = (0..n)
            .map(|i| -dot(&h[i * n..(i + 1) * n], &gradient))
            .collect();
        let mut slope = dot(&gradient, &direction);
        if slope >= 0.0 {
            // Not a descent direction (rounding): restart from steepest descent.
            h = identity(n);
            direction = gradient.iter().map(|g| -g).collect();
            slope = dot(&gradient, &direction);
        }
        let longest = largest(&direction);
        if longest > MAX_STEP {
            direction.iter_mut().for_each(|d| *d *= MAX_STEP / longest);
            slope *= MAX_STEP / longest;
        }
        let mut step = 1.0;
        let accepted = loop {
            let candidate: Vec<f64> = x
                .iter()
                .zip(&direction)
                .map(|(x, d)| x + step * d)
                .collect();
            let (candidate_value, candidate_gradient) = f(&candidate);
            if candidate_value.is_finite()
                && candidate_value <= value + SUFFICIENT_DECREASE * step * slope
            {
                break Some((candidate, candidate_value, candidate_gradient));
            }
            step *= 0.5;
            if step < 1e-20 {
                break None;
            }
        };
        let Some((next, next_value, next_gradient)) = accepted else {
            return Minimum {
                point: x,
                value,
                iterations: iteration,
                converged: false,
            };
        };
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            bfgs_update(&mut h, &s, &y, sy);
        }
        (x, value, gradient) = (next, next_value, next_gradient);
    }
    let converged = largest(&gradient) <= tolerance;
    Minimum {
        point: x,
        value,
        iterations: max_iterations,
        converged,
    }
}

/// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1 / yᵀs.
fn bfgs_update(h: &mut [f64], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n).map(|i| dot(&h[i * n..(i + 1) * n], y)).collect();
    let yhy = dot(y, &hy);
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] += rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
        }
    }
}

fn identity(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|k| if k % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn largest(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's function, minimum 0 at (1, 1): the textbook test of a quasi-Newton method.
    #[test]
    fn finds_the_rosenbrock_minimum() {
        let f = |p: &[f64]| {
            let (x, y) = (p[0], p[1]);
            let value = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
            let gradient = vec![
                -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
                200.0 * (y - x * x),
            ];
            (value, gradient)
        };
        let min = minimize(f, &[-1.2, 1.0], 1e-9, 500);
        assert!(min.converged, "{min:?}");
        assert!((min.point[0] - 1.0).abs() < 1e-6 && (min.point[1] - 1.0).abs() < 1e-6);
    }
}
