//! Random draws for the simulation tests: customers drawn from known parameters, to check that
//! a fit recovers them. (Test code only; a small generator keeps the crate free of dependencies.)

/// xorshift64* (Vigna 2016): plenty for drawing test customers, reproducible by seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Uniform on (0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11; // 53 bits
        (bits as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }

    /// Gamma with this shape and rate (Marsaglia & Tsang 2000; shape < 1 boosted by U^(1/shape)).
    pub fn gamma(&mut self, shape: f64, rate: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0, rate) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let z = self.normal();
            let v = (1.0 + c * z).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                return d * v / rate;
            }
        }
    }

    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let g = self.gamma(a, 1.0);
        g / (g + self.gamma(b, 1.0))
    }
}

/// The inverse of a small symmetric positive definite matrix (Gauss-Jordan), for the
/// covariance of a fit from its Hessian.
pub fn inverse<const N: usize>(m: [[f64; N]; N]) -> [[f64; N]; N] {
    let mut a = m;
    let mut inv = [[0.0; N]; N];
    (0..N).for_each(|i| inv[i][i] = 1.0);
    for col in 0..N {
        let pivot = a[col][col];
        assert!(pivot.abs() > 0.0, "singular");
        for j in 0..N {
            a[col][j] /= pivot;
            inv[col][j] /= pivot;
        }
        for row in 0..N {
            if row != col {
                let f = a[row][col];
                for j in 0..N {
                    a[row][j] -= f * a[col][j];
                    inv[row][j] -= f * inv[col][j];
                }
            }
        }
    }
    inv
}

/// Standard errors at a maximum θ of a log-likelihood, from its analytic `gradient`: the
/// Hessian by central differences, the covariance its negative inverse.
pub fn standard_errors<const N: usize>(
    gradient: impl Fn(&[f64]) -> [f64; N],
    theta: [f64; N],
) -> [f64; N] {
    let h = 1e-5;
    let mut hessian = [[0.0; N]; N];
    for i in 0..N {
        let (mut up, mut down) = (theta, theta);
        up[i] += h;
        down[i] -= h;
        let (g_up, g_down) = (gradient(&up), gradient(&down));
        for j in 0..N {
            hessian[i][j] = -(g_up[j] - g_down[j]) / (2.0 * h);
        }
    }
    for i in 0..N {
        for j in 0..i {
            let mean = (hessian[i][j] + hessian[j][i]) / 2.0;
            (hessian[i][j], hessian[j][i]) = (mean, mean);
        }
    }
    let covariance = inverse(hessian);
    std::array::from_fn(|i| covariance[i][i].sqrt())
}
