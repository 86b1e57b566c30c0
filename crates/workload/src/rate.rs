//! Arrival-rate functions of time, with the exact upper bounds that thinning needs.

/// How a piecewise rate moves between its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Hold each value until the next point.
    Step,
    /// Move linearly between points.
    Linear,
}

/// A non-negative arrival rate (per second) as a function of time (seconds).
#[derive(Clone, Debug, PartialEq)]
pub enum RateFn {
    /// Always the same.
    Constant(f64),
    /// A table of (time, rate); before the first point the first rate, after the last
    /// the last rate.
    Piecewise {
        /// (time, rate) points, increasing in time.
        points: Vec<(f64, f64)>,
        /// Step or linear.
        interpolation: Interpolation,
    },
    /// A daily cycle: mean · (1 + a·sin(2π(t − phase)/period)), with `a` set so that
    /// peak / trough = `peak_to_trough`.
    Diurnal {
        /// Mean rate over a period.
        mean: f64,
        /// Peak rate over trough rate (≥ 1).
        peak_to_trough: f64,
        /// Length of the cycle, seconds.
        period: f64,
        /// Time of the rising mean crossing, seconds.
        phase: f64,
    },
    /// From `from` to `to` linearly over [start, start + duration], constant outside.
    Ramp {
        /// Rate before the ramp.
        from: f64,
        /// Rate after the ramp.
        to: f64,
        /// Start, seconds.
        start: f64,
        /// Length, seconds.
        duration: f64,
    },
    /// A flash crowd: zero before `start`, rising linearly to `height` over `rise`,
    /// then decaying exponentially with time constant `decay`. Add it to a base rate.
    Spike {
        /// Start, seconds.
        start: f64,
        /// Rise time, seconds.
        rise: f64,
        /// Peak extra rate.
        height: f64,
        /// Decay time constant, seconds.
        decay: f64,
    },
    /// The sum of several rates.
    Sum(Vec<RateFn>),
    /// The product of several rates (e.g. a base rate times a dimensionless profile).
    Product(Vec<RateFn>),
}

impl RateFn {
    /// The rate at time `t` (seconds).
    pub fn at(&self, t: f64) -> f64 {
        match self {
            RateFn::Constant(r) => *r,
            RateFn::Piecewise {
                points,
                interpolation,
            } => {
                let i = points.partition_point(|&(pt, _)| pt <= t);
                if i == 0 {
                    points.first().map_or(0.0, |p| p.1)
                } else if i == points.len() {
                    points[i - 1].1
                } else {
                    let ((t0, r0), (t1, r1)) = (points[i - 1], points[i]);
                    match interpolation {
                        Interpolation::Step => r0,
                        Interpolation::Linear => r0 + (r1 - r0) * (t - t0) / (t1 - t0),
                    }
                }
            }
            RateFn::Diurnal {
                mean,
                peak_to_trough,
                period,
                phase,
            } => {
                let a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
                mean * (1.0 + a * (std::f64::consts::TAU * (t - phase) / period).sin())
            }
            RateFn::Ramp {
                from,
                to,
                start,
                duration,
            } => {
                if t <= *start {
                    *from
                } else if t >= start + duration {
                    *to
                } else {
                    from + (to - from) * (t - start) / duration
                }
            }
            RateFn::Spike {
                start,
                rise,
                height,
                decay,
            } => {
                if t < *start {
                    0.0
                } else if t < start + rise {
                    height * (t - start) / rise
                } else {
                    height * (-(t - start - rise) / decay).exp()
                }
            }
            RateFn::Sum(parts) => parts.iter().map(|p| p.at(t)).sum(),
            RateFn::Product(parts) => parts.iter().map(|p| p.at(t)).product(),
        }
        .max(0.0)
    }

    /// An upper bound of the rate over [t0, t1]: exact for every leaf function (it
    /// checks the ends, the breakpoints and the peaks inside), a sum or product of
    /// bounds for combinations.
    pub fn max_over(&self, t0: f64, t1: f64) -> f64 {
        let ends = self.at(t0).max(self.at(t1));
        match self {
            RateFn::Constant(r) => r.max(0.0),
            RateFn::Piecewise { points, .. } => {
                // Binary search: a series read from a file has 10⁵ points.
                let from = points.partition_point(|&(t, _)| t <= t0);
                let to = points.partition_point(|&(t, _)| t < t1);
                points[from..to.max(from)]
                    .iter()
                    .map(|p| p.1)
                    .fold(ends, f64::max)
            }
            RateFn::Diurnal {
                mean,
                peak_to_trough,
                period,
                phase,
            } => {
                // A peak lies at phase + period/4 + k·period.
                let first_peak = phase + period / 4.0;
                let k = ((t0 - first_peak) / period).ceil();
                let peak = first_peak + k * period;
                if peak <= t1 {
                    let a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
                    mean * (1.0 + a)
                } else {
                    ends
                }
            }
            RateFn::Ramp { .. } => ends,
            RateFn::Spike {
                start,
                rise,
                height,
                ..
            } => {
                let top = start + rise;
                if top > t0 && top < t1 { *height } else { ends }
            }
            RateFn::Sum(parts) => parts.iter().map(|p| p.max_over(t0, t1)).sum(),
            RateFn::Product(parts) => parts.iter().map(|p| p.max_over(t0, t1)).product(),
        }
    }

    /// ∫ rate dt over [t0, t1], by the trapezoid rule on `steps` pieces (for tests and
    /// describing a workload; exact for piecewise-linear rates at their breakpoints).
    pub fn integral(&self, t0: f64, t1: f64, steps: usize) -> f64 {
        let h = (t1 - t0) / steps as f64;
        let inner: f64 = (1..steps).map(|i| self.at(t0 + h * i as f64)).sum();
        h * (inner + (self.at(t0) + self.at(t1)) / 2.0)
    }
}

/// Reads a rate series from a CSV file: one row per `interval_s`, the value in
/// column `column` (by header name). With `per_second` the value is a rate already
/// (ServeGen's `total_rate_rps`); otherwise it is a count per interval (WorldCup's
/// `count`) and is divided by the interval. Every value is multiplied by `scale`.
/// Row i covers [i·interval, (i+1)·interval). Errors name the file and line.
pub fn read_rate_series(
    path: &std::path::Path,
    column: &str,
    interval_s: f64,
    per_second: bool,
    scale: f64,
) -> Result<RateFn, String> {
    let mut points = Vec::new();
    crate::csv::for_each_row(path, &[column], |line, cells| {
        let value: f64 = cells[0]
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                format!(
                    "{}:{line}: `{}` is not a count or rate of zero or more",
                    path.display(),
                    cells[0]
                )
            })?;
        let rate = if per_second {
            value
        } else {
            value / interval_s
        };
        points.push((points.len() as f64 * interval_s, rate * scale));
        Ok(())
    })?;
    if points.is_empty() {
        return Err(format!("`{}` has no rows", path.display()));
    }
    Ok(RateFn::Piecewise {
        points,
        interpolation: Interpolation::Step,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_has_the_asked_mean_and_peak_to_trough() {
        let d = RateFn::Diurnal {
            mean: 40.0,
            peak_to_trough: 4.0,
            period: 86_400.0,
            phase: 0.0,
        };
        assert!(
            (d.at(21_600.0) - 64.0).abs() < 1e-9,
            "peak at a quarter period: 40·1.6"
        );
        assert!((d.at(64_800.0) - 16.0).abs() < 1e-9, "trough: 40·0.4");
        assert!((d.integral(0.0, 86_400.0, 10_000) / 86_400.0 - 40.0).abs() < 1e-6);
        assert_eq!(d.max_over(0.0, 86_400.0), 64.0);
        assert!(d.max_over(40_000.0, 50_000.0) < 64.0);
    }

    #[test]
    fn piecewise_step_and_linear() {
        let points = vec![(0.0, 10.0), (100.0, 30.0), (200.0, 0.0)];
        let step = RateFn::Piecewise {
            points: points.clone(),
            interpolation: Interpolation::Step,
        };
        let linear = RateFn::Piecewise {
            points,
            interpolation: Interpolation::Linear,
        };
        assert_eq!(step.at(50.0), 10.0);
        assert_eq!(linear.at(50.0), 20.0);
        assert_eq!(linear.at(150.0), 15.0);
        assert_eq!(linear.at(500.0), 0.0);
        assert_eq!(linear.max_over(50.0, 150.0), 30.0);
    }

    #[test]
    fn rate_series_read_from_a_file() {
        let dir = std::env::temp_dir().join(format!("inferscale-series-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.csv");
        std::fs::write(
            &good,
            "period,count\n1998-04-30 21:30:00,60\n1998-04-30 21:31:00,120\n",
        )
        .unwrap();
        let rate = read_rate_series(&good, "count", 60.0, false, 0.5).unwrap();
        assert_eq!(
            (rate.at(30.0), rate.at(90.0), rate.at(1e6)),
            (0.5, 1.0, 1.0)
        );
        let bad = dir.join("bad.csv");
        std::fs::write(
            &bad,
            "period,count\n1998-04-30 21:30:00,60\n1998-04-30 21:31:00,-3\n",
        )
        .unwrap();
        let err = read_rate_series(&bad, "count", 60.0, false, 1.0).unwrap_err();
        assert!(
            err.ends_with("bad.csv:3: `-3` is not a count or rate of zero or more"),
            "{err}"
        );
        let err = read_rate_series(&good, "requests", 60.0, false, 1.0).unwrap_err();
        assert!(
            err.contains("has no column `requests`; its columns are: period,count"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spike_and_combinations() {
        let spike = RateFn::Spike {
            start: 100.0,
            rise: 10.0,
            height: 50.0,
            decay: 20.0,
        };
        assert_eq!(spike.at(99.0), 0.0);
        assert_eq!(spike.at(105.0), 25.0);
        assert!((spike.at(130.0) - 50.0 * (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(spike.max_over(0.0, 1000.0), 50.0);
        let total = RateFn::Sum(vec![RateFn::Constant(5.0), spike.clone()]);
        assert_eq!(total.at(110.0), 55.0);
        let scaled = RateFn::Product(vec![RateFn::Constant(2.0), spike]);
        assert_eq!(scaled.at(110.0), 100.0);
        let ramp = RateFn::Ramp {
            from: 1.0,
            to: 3.0,
            start: 10.0,
            duration: 20.0,
        };
        assert_eq!(
            (ramp.at(0.0), ramp.at(20.0), ramp.at(99.0)),
            (1.0, 2.0, 3.0)
        );
    }
}
