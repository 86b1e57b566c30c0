//! Arrival processes.

use inferscale_engine::{SimDuration, SimRng, SimTime};
use rand_distr::{Distribution, Exp1};
use thiserror::Error;

/// Why an arrival process was refused.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ArrivalError {
    /// The rate must be finite and positive.
    #[error("arrival rate must be a finite number greater than zero per second, got {0}")]
    BadRate(f64),
}

/// When requests arrive.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ArrivalProcess {
    /// A homogeneous Poisson process: exponential inter-arrival times with mean 1/rate.
    Poisson {
        /// Arrivals per second.
        rate_per_s: f64,
    },
}

impl ArrivalProcess {
    /// A Poisson process with `rate_per_s` arrivals per second.
    pub fn poisson(rate_per_s: f64) -> Result<Self, ArrivalError> {
        if rate_per_s.is_finite() && rate_per_s > 0.0 {
            Ok(ArrivalProcess::Poisson { rate_per_s })
        } else {
            Err(ArrivalError::BadRate(rate_per_s))
        }
    }

    /// The long-run mean arrival rate per second.
    pub fn mean_rate_per_s(&self) -> f64 {
        match self {
            ArrivalProcess::Poisson { rate_per_s } => *rate_per_s,
        }
    }

    /// The time of the arrival after one at `now`, or `None` when the process has ended.
    #[inline]
    pub fn next_after(&self, now: SimTime, rng: &mut SimRng) -> Option<SimTime> {
        match self {
            ArrivalProcess::Poisson { rate_per_s } => {
                let unit: f64 = Exp1.sample(rng);
                Some(now + SimDuration::from_secs_f64(unit / rate_per_s))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    #[test]
    fn refuses_non_positive_rates() {
        assert_eq!(
            ArrivalProcess::poisson(0.0),
            Err(ArrivalError::BadRate(0.0))
        );
        assert!(ArrivalProcess::poisson(-3.0).is_err());
        assert!(ArrivalProcess::poisson(f64::INFINITY).is_err());
    }

    /// Counts in 1 s windows of a Poisson process are Poisson(λ): mean λ and variance λ.
    /// With 20 000 windows at λ = 50 the mean's standard error is 0.05 (0.1%), so 1% is
    /// a 10σ check; the dispersion index's standard error is about sqrt(2/20000) = 1%,
    /// so 5% is a 5σ check.
    #[test]
    fn poisson_counts_have_poisson_mean_and_dispersion() {
        let rate = 50.0;
        let process = ArrivalProcess::poisson(rate).unwrap();
        let mut rng = RngStreams::new(3, 0).stream("arrivals");
        let windows = 20_000usize;
        let mut counts = vec![0u64; windows];
        let mut t = SimTime::ZERO;
        loop {
            t = process.next_after(t, &mut rng).unwrap();
            let w = t.as_nanos() / 1_000_000_000;
            if w as usize >= windows {
                break;
            }
            counts[w as usize] += 1;
        }
        let mean = counts.iter().sum::<u64>() as f64 / windows as f64;
        let var = counts
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / (windows - 1) as f64;
        assert!((mean - rate).abs() < 0.01 * rate, "mean {mean}");
        assert!((var / mean - 1.0).abs() < 0.05, "dispersion {}", var / mean);
    }
}
