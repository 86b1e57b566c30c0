//! Positive continuous distributions for durations and sizes, built by their natural
//! parameters or by mean and squared coefficient of variation (SCV).

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal, Normal, Pareto, Weibull, Zipf};

use crate::special::ln_gamma;
use thiserror::Error;

/// Why a distribution's parameters were refused.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum DistError {
    /// A parameter that must be finite and positive was not.
    #[error("{name} must be a finite number greater than zero, got {value}")]
    NotPositive {
        /// The parameter's name as the user wrote it.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter that must be finite and not negative was not.
    #[error("{name} must be a finite number of zero or more, got {value}")]
    Negative {
        /// The parameter's name as the user wrote it.
        name: &'static str,
        /// The value given.
        value: f64,
    },
}

fn positive(name: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(DistError::NotPositive { name, value })
    }
}

fn non_negative(name: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(DistError::Negative { name, value })
    }
}

/// A distribution over non-negative reals (seconds, tokens, ...).
///
/// Every family exposes its mean and SCV (variance / mean²) so that models and tests
/// can reason about it analytically: the Pollaczek–Khinchine formula, for instance,
/// needs only these two numbers.
#[derive(Clone, Debug)]
pub struct Dist(Family);

#[derive(Clone, Debug)]
enum Family {
    Deterministic(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Exponential {
        mean: f64,
    },
    Gamma {
        shape: f64,
        scale: f64,
        sampler: Gamma<f64>,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        sampler: LogNormal<f64>,
    },
    Weibull {
        shape: f64,
        scale: f64,
        sampler: Weibull<f64>,
    },
    Normal {
        mean: f64,
        sd: f64,
        sampler: Normal<f64>,
    },
    Pareto {
        scale: f64,
        shape: f64,
        sampler: Pareto<f64>,
    },
    Zipf {
        n: f64,
        mean: f64,
        scv: f64,
        sampler: Zipf<f64>,
    },
    Empirical {
        values: std::sync::Arc<[f64]>,
        mean: f64,
        scv: f64,
    },
}

impl Dist {
    /// Always `value`.
    pub fn deterministic(value: f64) -> Result<Self, DistError> {
        Ok(Dist(Family::Deterministic(non_negative("value", value)?)))
    }

    /// Uniform on `[low, high]`.
    pub fn uniform(low: f64, high: f64) -> Result<Self, DistError> {
        let low = non_negative("low", low)?;
        let high = non_negative("high", high)?;
        if high < low {
            return Err(DistError::Negative {
                name: "high - low",
                value: high - low,
            });
        }
        Ok(Dist(Family::Uniform { low, high }))
    }

    /// Exponential with the given mean (SCV 1).
    pub fn exponential(mean: f64) -> Result<Self, DistError> {
        Ok(Dist(Family::Exponential {
            mean: positive("mean", mean)?,
        }))
    }

    /// Gamma with shape `k` and scale `θ` (mean kθ, SCV 1/k).
    pub fn gamma(shape: f64, scale: f64) -> Result<Self, DistError> {
        let shape = positive("shape", shape)?;
        let scale = positive("scale", scale)?;
        let sampler = Gamma::new(shape, scale).map_err(|_| DistError::NotPositive {
            name: "shape",
            value: shape,
        })?;
        Ok(Dist(Family::Gamma {
            shape,
            scale,
            sampler,
        }))
    }

    /// Gamma with the given mean and SCV (shape 1/SCV).
    pub fn gamma_mean_scv(mean: f64, scv: f64) -> Result<Self, DistError> {
        let mean = positive("mean", mean)?;
        let scv = positive("scv", scv)?;
        Self::gamma(1.0 / scv, mean * scv)
    }

    /// Log-normal whose logarithm has mean `mu` and standard deviation `sigma`
    /// (median e^mu).
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self, DistError> {
        if !mu.is_finite() {
            return Err(DistError::NotPositive {
                name: "median",
                value: mu.exp(),
            });
        }
        let sigma = non_negative("sigma", sigma)?;
        let sampler = LogNormal::new(mu, sigma).map_err(|_| DistError::Negative {
            name: "sigma",
            value: sigma,
        })?;
        Ok(Dist(Family::LogNormal { mu, sigma, sampler }))
    }

    /// Log-normal with the given median and log-scale `sigma`.
    pub fn lognormal_median_sigma(median: f64, sigma: f64) -> Result<Self, DistError> {
        Self::lognormal(positive("median", median)?.ln(), sigma)
    }

    /// Log-normal with the given mean and SCV (sigma² = ln(1 + SCV)).
    pub fn lognormal_mean_scv(mean: f64, scv: f64) -> Result<Self, DistError> {
        let mean = positive("mean", mean)?;
        let scv = non_negative("scv", scv)?;
        let sigma2 = scv.ln_1p();
        Self::lognormal(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
    }

    /// Weibull with the given shape `k` and scale `λ`.
    pub fn weibull(shape: f64, scale: f64) -> Result<Self, DistError> {
        let shape = positive("shape", shape)?;
        let scale = positive("scale", scale)?;
        let sampler = Weibull::new(scale, shape).map_err(|_| DistError::NotPositive {
            name: "shape",
            value: shape,
        })?;
        Ok(Dist(Family::Weibull {
            shape,
            scale,
            sampler,
        }))
    }

    /// Weibull with the given mean and coefficient of variation (shape found by
    /// bisection: the CV falls as the shape grows).
    pub fn weibull_mean_cv(mean: f64, cv: f64) -> Result<Self, DistError> {
        let mean = positive("mean", mean)?;
        let cv = positive("cv", cv)?;
        let cv_of =
            |k: f64| ((ln_gamma(1.0 + 2.0 / k) - 2.0 * ln_gamma(1.0 + 1.0 / k)).exp() - 1.0).sqrt();
        let (mut lo, mut hi) = (0.05, 500.0);
        if cv > cv_of(lo) || cv < cv_of(hi) {
            return Err(DistError::NotPositive {
                name: "cv",
                value: cv,
            });
        }
        for _ in 0..200 {
            let mid = (lo * hi).sqrt();
            if cv_of(mid) > cv { lo = mid } else { hi = mid }
        }
        let shape = (lo * hi).sqrt();
        let scale = mean / ln_gamma(1.0 + 1.0 / shape).exp();
        Self::weibull(shape, scale)
    }

    /// Normal with the given mean and standard deviation (may draw negative values:
    /// callers that need counts truncate).
    pub fn normal(mean: f64, sd: f64) -> Result<Self, DistError> {
        if !mean.is_finite() {
            return Err(DistError::Negative {
                name: "mean",
                value: mean,
            });
        }
        let sd = non_negative("sd", sd)?;
        let sampler = Normal::new(mean, sd).map_err(|_| DistError::Negative {
            name: "sd",
            value: sd,
        })?;
        Ok(Dist(Family::Normal { mean, sd, sampler }))
    }

    /// Pareto with minimum `scale` and tail index `shape` (heavy-tailed; the mean is
    /// infinite for shape ≤ 1 and the variance for shape ≤ 2).
    pub fn pareto(scale: f64, shape: f64) -> Result<Self, DistError> {
        let scale = positive("scale", scale)?;
        let shape = positive("shape", shape)?;
        let sampler = Pareto::new(scale, shape).map_err(|_| DistError::NotPositive {
            name: "shape",
            value: shape,
        })?;
        Ok(Dist(Family::Pareto {
            scale,
            shape,
            sampler,
        }))
    }

    /// Zipf over the ranks 1..=`n`: P(k) ∝ k^−`exponent` (a few values very common, a
    /// long tail of rare ones; `exponent` 0 is uniform).
    pub fn zipf(n: u64, exponent: f64) -> Result<Self, DistError> {
        let n_f = positive("n", n as f64)?;
        let exponent = non_negative("exponent", exponent)?;
        let sampler = Zipf::new(n_f, exponent).map_err(|_| DistError::Negative {
            name: "exponent",
            value: exponent,
        })?;
        // Exact moments by summation (n is a token count, at most a few million).
        let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
        for k in 1..=n {
            let k = k as f64;
            let w = k.powf(-exponent);
            z += w;
            m1 += w * k;
            m2 += w * k * k;
        }
        let mean = m1 / z;
        let scv = (m2 / z - mean * mean).max(0.0) / (mean * mean);
        Ok(Dist(Family::Zipf {
            n: n_f,
            mean,
            scv,
            sampler,
        }))
    }

    /// The empirical distribution of `values`: each draw is one of them, uniformly (a
    /// column of a length file, say).
    pub fn empirical(values: Vec<f64>) -> Result<Self, DistError> {
        if values.is_empty() {
            return Err(DistError::NotPositive {
                name: "number of values",
                value: 0.0,
            });
        }
        for &v in &values {
            non_negative("value", v)?;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let scv = if mean > 0.0 { var / (mean * mean) } else { 0.0 };
        Ok(Dist(Family::Empirical {
            values: values.into(),
            mean,
            scv,
        }))
    }

    /// The expected value.
    pub fn mean(&self) -> f64 {
        match &self.0 {
            Family::Deterministic(v) => *v,
            Family::Uniform { low, high } => (low + high) / 2.0,
            Family::Exponential { mean } => *mean,
            Family::Gamma { shape, scale, .. } => shape * scale,
            Family::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
            Family::Weibull { shape, scale, .. } => scale * ln_gamma(1.0 + 1.0 / shape).exp(),
            Family::Normal { mean, .. } => *mean,
            Family::Pareto { scale, shape, .. } => {
                if *shape > 1.0 {
                    shape * scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            Family::Zipf { mean, .. } | Family::Empirical { mean, .. } => *mean,
        }
    }

    /// The squared coefficient of variation, variance / mean².
    pub fn scv(&self) -> f64 {
        match &self.0 {
            Family::Deterministic(_) => 0.0,
            Family::Uniform { low, high } => {
                let mean = (low + high) / 2.0;
                if mean == 0.0 {
                    0.0
                } else {
                    (high - low).powi(2) / 12.0 / (mean * mean)
                }
            }
            Family::Exponential { .. } => 1.0,
            Family::Gamma { shape, .. } => 1.0 / shape,
            Family::LogNormal { sigma, .. } => (sigma * sigma).exp_m1(),
            Family::Weibull { shape, .. } => {
                (ln_gamma(1.0 + 2.0 / shape) - 2.0 * ln_gamma(1.0 + 1.0 / shape)).exp() - 1.0
            }
            Family::Normal { mean, sd, .. } => (sd / mean).powi(2),
            Family::Pareto { shape, .. } => {
                if *shape > 2.0 {
                    1.0 / (shape * (shape - 2.0))
                } else {
                    f64::INFINITY
                }
            }
            Family::Zipf { scv, .. } | Family::Empirical { scv, .. } => *scv,
        }
    }

    /// The family's name as written in scenarios (`"gamma"`).
    pub fn family(&self) -> &'static str {
        match &self.0 {
            Family::Deterministic(_) => "deterministic",
            Family::Uniform { .. } => "uniform",
            Family::Exponential { .. } => "exponential",
            Family::Gamma { .. } => "gamma",
            Family::LogNormal { .. } => "lognormal",
            Family::Weibull { .. } => "weibull",
            Family::Normal { .. } => "normal",
            Family::Pareto { .. } => "pareto",
            Family::Zipf { .. } => "zipf",
            Family::Empirical { .. } => "empirical",
        }
    }

    /// Draws one value.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.0 {
            Family::Deterministic(v) => *v,
            Family::Uniform { low, high } => {
                // 53 random bits → [0, 1).
                let unit = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                low + (high - low) * unit
            }
            Family::Exponential { mean } => {
                let unit: f64 = Exp1.sample(rng);
                mean * unit
            }
            Family::Gamma { sampler, .. } => sampler.sample(rng),
            Family::LogNormal { sampler, .. } => sampler.sample(rng),
            Family::Weibull { sampler, .. } => sampler.sample(rng),
            Family::Normal { sampler, .. } => sampler.sample(rng),
            Family::Pareto { sampler, .. } => sampler.sample(rng),
            Family::Zipf { sampler, n, .. } => sampler.sample(rng).min(*n),
            Family::Empirical { values, .. } => {
                let len = values.len() as u128;
                values[((u128::from(rng.next_u64()) * len) >> 64) as usize]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RngStreams;

    /// Sample mean and SCV from `n` draws.
    fn moments(dist: &Dist, n: usize) -> (f64, f64) {
        let mut rng = RngStreams::new(7, 0).stream("dist-test");
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..n {
            let x = dist.sample(&mut rng);
            sum += x;
            sum_sq += x * x;
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        (mean, var / (mean * mean))
    }

    fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs().max(1e-12),
            "{what}: got {got}, want {want} ± {:.1}%",
            rel * 100.0
        );
    }

    #[test]
    fn analytic_moments_match_the_parameters() {
        let g = Dist::gamma_mean_scv(2.0, 4.0).unwrap();
        assert_close("gamma mean", g.mean(), 2.0, 1e-12);
        assert_close("gamma scv", g.scv(), 4.0, 1e-12);
        let l = Dist::lognormal_mean_scv(3.0, 0.5).unwrap();
        assert_close("lognormal mean", l.mean(), 3.0, 1e-12);
        assert_close("lognormal scv", l.scv(), 0.5, 1e-12);
        let m = Dist::lognormal_median_sigma(512.0, 1.0).unwrap();
        assert_close("lognormal mean", m.mean(), 512.0 * 0.5f64.exp(), 1e-12);
    }

    /// 400k draws: the standard error of the sample mean is below 0.5% for every
    /// family here (SCV ≤ 4), so a 2% tolerance is a > 4σ check.
    #[test]
    fn sampled_moments_match_the_analytic_ones() {
        let n = 400_000;
        for (dist, scv_tol) in [
            (Dist::exponential(1.5).unwrap(), 0.03),
            (Dist::gamma_mean_scv(1.0, 0.25).unwrap(), 0.03),
            (Dist::gamma_mean_scv(1.0, 4.0).unwrap(), 0.10),
            (Dist::lognormal_mean_scv(2.0, 1.0).unwrap(), 0.10),
            (Dist::uniform(60.0, 120.0).unwrap(), 0.03),
            (Dist::weibull_mean_cv(2.0, 1.5).unwrap(), 0.10),
            (Dist::normal(10.0, 2.0).unwrap(), 0.03),
            (Dist::pareto(1.0, 5.0).unwrap(), 0.15),
            (Dist::zipf(1000, 1.1).unwrap(), 0.05),
            (
                Dist::empirical(vec![1.0, 2.0, 2.0, 5.0, 40.0]).unwrap(),
                0.03,
            ),
        ] {
            let (mean, scv) = moments(&dist, n);
            assert_close(dist.family(), mean, dist.mean(), 0.02);
            assert_close(dist.family(), scv, dist.scv(), scv_tol);
        }
        let (mean, scv) = moments(&Dist::deterministic(0.25).unwrap(), 10);
        assert_eq!((mean, scv), (0.25, 0.0));
    }

    /// Zipf against its closed form: P(1) = 1/H(n, s), and the moments of ranks
    /// 1..=3 with exponent 1 computed by hand: H = 11/6, mean = 3/H = 18/11.
    #[test]
    fn zipf_matches_its_closed_form() {
        let z = Dist::zipf(3, 1.0).unwrap();
        assert_close("zipf mean", z.mean(), 18.0 / 11.0, 1e-12);
        let second = 6.0 / (11.0 / 6.0); // E[k²] = (1 + 2 + 3) / H
        let var = second - (18.0f64 / 11.0).powi(2);
        assert_close("zipf scv", z.scv(), var / (18.0f64 / 11.0).powi(2), 1e-12);
        let mut rng = RngStreams::new(3, 0).stream("zipf");
        let n = 200_000;
        let ones = (0..n).filter(|_| z.sample(&mut rng) == 1.0).count();
        assert_close("P(1)", ones as f64 / n as f64, 6.0 / 11.0, 0.01);
        let e = Dist::empirical(vec![3.0, 7.0]).unwrap();
        assert!((0..100).all(|_| matches!(e.sample(&mut rng), 3.0 | 7.0)));
        assert!(Dist::empirical(Vec::new()).is_err());
        assert!(Dist::empirical(vec![-1.0]).is_err());
        assert!(Dist::zipf(0, 1.0).is_err());
    }

    #[test]
    fn weibull_by_mean_and_cv_hits_both() {
        for cv in [0.3, 1.0, 2.5] {
            let w = Dist::weibull_mean_cv(3.0, cv).unwrap();
            assert!((w.mean() - 3.0).abs() < 1e-9, "{cv}");
            assert!(
                (w.scv().sqrt() - cv).abs() < 1e-6,
                "{cv}: {}",
                w.scv().sqrt()
            );
        }
        // Shape 1 is the exponential.
        let e = Dist::weibull_mean_cv(1.0, 1.0).unwrap();
        assert!((e.scv() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_parameters_are_refused_with_their_name() {
        assert_eq!(
            Dist::exponential(-1.0).unwrap_err(),
            DistError::NotPositive {
                name: "mean",
                value: -1.0
            }
        );
        assert!(Dist::gamma(0.0, 1.0).is_err());
        assert!(Dist::gamma_mean_scv(1.0, f64::NAN).is_err());
        assert!(Dist::lognormal_median_sigma(1.0, -0.1).is_err());
        assert!(Dist::deterministic(f64::INFINITY).is_err());
        assert!(Dist::uniform(2.0, 1.0).is_err());
        let msg = Dist::gamma_mean_scv(1.0, 0.0).unwrap_err().to_string();
        assert!(
            msg.contains("scv must be a finite number greater than zero"),
            "{msg}"
        );
    }
}
