//! Confidence intervals across replications: sample mean, Student-t quantiles.
//!
//! Replications are independent and identically distributed by construction (separate
//! random streams), so the classic t interval applies to any per-run metric.

use inferscale_engine::special::ln_gamma;

/// A sample mean with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanCi {
    /// The sample mean.
    pub mean: f64,
    /// Half the width of the interval; NaN with fewer than two values.
    pub half_width: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanCi {
    /// Lower end of the interval.
    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    /// Upper end of the interval.
    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }

    /// Whether `value` lies inside the interval (ends included).
    pub fn contains(&self, value: f64) -> bool {
        self.low() <= value && value <= self.high()
    }
}

/// Indices of the `(cost, quality)` pairs that no other pair beats on both (lower
/// cost, higher quality), in increasing cost: the Pareto front. Of two equal pairs
/// the first is kept.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[b].1.total_cmp(&points[a].1))
    });
    let mut front = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for i in order {
        if points[i].1 > best {
            best = points[i].1;
            front.push(i);
        }
    }
    front
}

/// Mean and two-sided `level` confidence interval (e.g. 0.95) of `values`, from the
/// Student-t distribution with n − 1 degrees of freedom. NaN values are skipped.
pub fn mean_ci(values: &[f64], level: f64) -> MeanCi {
    let finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = finite.len();
    if n == 0 {
        return MeanCi {
            mean: f64::NAN,
            half_width: f64::NAN,
            n,
        };
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return MeanCi {
            mean,
            half_width: f64::NAN,
            n,
        };
    }
    let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = student_t_quantile(0.5 + level / 2.0, (n - 1) as f64);
    MeanCi {
        mean,
        half_width: t * (var / n as f64).sqrt(),
        n,
    }
}

/// The `p`-quantile of Student's t distribution with `dof` degrees of freedom.
pub fn student_t_quantile(p: f64, dof: f64) -> f64 {
    assert!(
        p > 0.0 && p < 1.0 && dof > 0.0,
        "t quantile needs 0 < p < 1 and dof > 0"
    );
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, dof);
    }
    // The CDF is increasing: bisect on [0, hi] after growing hi past the quantile.
    let mut hi = 1.0;
    while student_t_cdf(hi, dof) < p {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, dof) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The CDF of Student's t distribution with `dof` degrees of freedom.
pub fn student_t_cdf(t: f64, dof: f64) -> f64 {
    let tail = 0.5 * regularized_incomplete_beta(dof / (dof + t * t), dof / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// I_x(a, b), by the continued fraction of Numerical Recipes (modified Lentz).
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference quantiles from standard t tables (R's `qt`), to 7 significant digits.
    #[test]
    fn t_quantiles_match_tables() {
        for (p, dof, want) in [
            (0.975, 1.0, 12.706_205),
            (0.975, 2.0, 4.302_653),
            (0.975, 4.0, 2.776_445),
            (0.975, 9.0, 2.262_157),
            (0.975, 29.0, 2.045_230),
            (0.995, 9.0, 3.249_836),
            (0.95, 19.0, 1.729_133),
            (0.975, 1e6, 1.959_966),
        ] {
            let got = student_t_quantile(p, dof);
            assert!(
                (got - want).abs() < 2e-6 * want,
                "t({p}, {dof}) = {got}, want {want}"
            );
        }
        assert!((student_t_quantile(0.025, 9.0) + 2.262_157).abs() < 1e-5);
    }

    #[test]
    fn interval_of_a_known_sample() {
        // mean 3, sd sqrt(2.5), n 5: half-width = 2.776445 · sqrt(2.5/5).
        let ci = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(ci.mean, 3.0);
        assert!((ci.half_width - 2.776_445 * 0.5f64.sqrt()).abs() < 1e-5);
        assert!(ci.contains(4.9) && !ci.contains(5.1));
    }

    #[test]
    fn degenerate_samples() {
        let one = mean_ci(&[2.0], 0.95);
        assert_eq!(one.mean, 2.0);
        assert!(one.half_width.is_nan());
        assert!(mean_ci(&[], 0.95).mean.is_nan());
        assert_eq!(mean_ci(&[1.0, f64::NAN, 3.0], 0.95).n, 2);
    }
}
