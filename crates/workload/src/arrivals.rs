//! Arrival processes: Poisson with a constant or time-varying rate (sampled exactly by
//! thinning), renewal processes with a given mean and coefficient of variation, and a
//! two-state Markov-modulated Poisson process for bursts, and the load stages of the
//! Kubernetes benchmark tool inference-perf.

use inferscale_engine::{Dist, SimDuration, SimRng, SimTime};
use rand::Rng;
use rand_distr::{Distribution, Exp1};
use thiserror::Error;

use crate::RateFn;

/// Why an arrival process was refused.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ArrivalError {
    /// The rate must be finite and positive.
    #[error("arrival rate must be a finite number greater than zero per second, got {0}")]
    BadRate(f64),
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Longest stretch searched for the next arrival of a time-varying Poisson process
/// before concluding that none will come (a rate that stays at zero).
const SEARCH_LIMIT_S: f64 = 366.0 * 86_400.0;
/// Thinning window: the rate's upper bound is taken over this much time at once.
const THINNING_WINDOW_S: f64 = 60.0;

/// When requests arrive.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ArrivalProcess {
    /// A homogeneous Poisson process: exponential inter-arrival times with mean 1/rate.
    Poisson {
        /// Arrivals per second.
        rate_per_s: f64,
    },
    /// A Poisson process whose rate follows `rate` (per second, of time in seconds),
    /// sampled exactly by thinning against a windowed upper bound.
    Varying {
        /// The rate function.
        rate: RateFn,
    },
    /// A renewal process: independent inter-arrival times from `interarrival`
    /// (seconds).
    Renewal {
        /// Inter-arrival distribution.
        interarrival: Dist,
    },
    /// A two-state Markov-modulated Poisson process: in state i arrivals come at
    /// `rates[i]` per second, and the state lasts an exponential time with mean
    /// `mean_durations[i]` seconds.
    Mmpp {
        /// Arrival rate in each state, per second.
        rates: [f64; 2],
        /// Mean time in each state, seconds.
        mean_durations: [f64; 2],
        /// Current state and when it ends; drawn from the stationary law on first use.
        state: Option<(usize, SimTime)>,
    },
    /// A renewal process whose inter-arrival law changes from one time window to the
    /// next (a ServeGen client): within a window, gaps come from that window's law; the
    /// process restarts at each window's start; idle windows have none.
    Windowed {
        /// The windows, in time order, not overlapping.
        windows: std::sync::Arc<[RenewalWindow]>,
        /// Index of the window of the last arrival.
        cursor: usize,
    },
    /// inference-perf's `constant` load: stages one after another, each sending
    /// exactly ⌊rate × duration⌋ requests whose gaps are exponential draws rescaled
    /// to sum to the stage's duration (its `ConstantLoadTimer`), so the last one is
    /// sent as the stage ends. The first n − 1 times are then distributed as the
    /// order statistics of n − 1 uniform points over the stage, which is how they
    /// are drawn here: one at a time, in order, in constant memory.
    Stages {
        /// The stages, in order.
        stages: std::sync::Arc<[LoadStage]>,
        /// Where the draw is.
        cursor: StageCursor,
    },
    /// Independent processes merged into one stream (clients of one service).
    Superposed {
        /// The processes.
        parts: Vec<ArrivalProcess>,
        /// Each part's next arrival; `None` before the first call and once ended.
        pending: Vec<Option<SimTime>>,
        /// Whether `pending` holds the parts' first arrivals yet.
        primed: bool,
    },
}

/// One stage of an [`ArrivalProcess::Stages`] load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadStage {
    /// Requests per second.
    pub rate_per_s: f64,
    /// How long the stage lasts, seconds.
    pub duration_s: f64,
}

impl LoadStage {
    /// Requests the stage sends: ⌊rate × duration⌋, as inference-perf counts them.
    pub fn count(&self) -> u64 {
        (self.rate_per_s * self.duration_s + 1e-9).floor() as u64
    }
}

/// The draw of an [`ArrivalProcess::Stages`] load: the stage, how many of its
/// requests were sent, and the last one's position in it (0–1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageCursor {
    stage: usize,
    start_s: f64,
    sent: u64,
    position: f64,
}

/// One window of a [`ArrivalProcess::Windowed`] process.
#[derive(Clone, Debug)]
pub struct RenewalWindow {
    /// Start, seconds.
    pub start_s: f64,
    /// End (exclusive), seconds.
    pub end_s: f64,
    /// Mean arrivals per second in the window.
    pub rate_per_s: f64,
    /// Inter-arrival times (seconds); `None` when the window is idle.
    pub gaps: Option<Dist>,
}

fn positive(what: &str, v: f64) -> Result<f64, ArrivalError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(ArrivalError::Invalid(format!(
            "{what} must be a finite number greater than zero, got {v}"
        )))
    }
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

    /// A Poisson process with a time-varying rate.
    pub fn varying(rate: RateFn) -> Self {
        match rate {
            RateFn::Constant(r) if r > 0.0 => ArrivalProcess::Poisson { rate_per_s: r },
            rate => ArrivalProcess::Varying { rate },
        }
    }

    /// A renewal process with gamma inter-arrival times of the given rate and
    /// coefficient of variation.
    pub fn gamma(rate_per_s: f64, cv: f64) -> Result<Self, ArrivalError> {
        let mean = 1.0 / positive("rate", rate_per_s)?;
        let cv = positive("cv", cv)?;
        Dist::gamma_mean_scv(mean, cv * cv)
            .map(|interarrival| ArrivalProcess::Renewal { interarrival })
            .map_err(|e| ArrivalError::Invalid(e.to_string()))
    }

    /// A renewal process with Weibull inter-arrival times of the given rate and
    /// coefficient of variation.
    pub fn weibull(rate_per_s: f64, cv: f64) -> Result<Self, ArrivalError> {
        let mean = 1.0 / positive("rate", rate_per_s)?;
        let cv = positive("cv", cv)?;
        Dist::weibull_mean_cv(mean, cv)
            .map(|interarrival| ArrivalProcess::Renewal { interarrival })
            .map_err(|e| ArrivalError::Invalid(e.to_string()))
    }

    /// A two-state MMPP.
    pub fn mmpp(rates: [f64; 2], mean_durations: [f64; 2]) -> Result<Self, ArrivalError> {
        for r in rates {
            if !(r.is_finite() && r >= 0.0) {
                return Err(ArrivalError::Invalid(format!(
                    "MMPP rates must be zero or more, got {r}"
                )));
            }
        }
        if rates == [0.0, 0.0] {
            return Err(ArrivalError::Invalid(
                "an MMPP needs a positive rate in some state".into(),
            ));
        }
        for d in mean_durations {
            positive("an MMPP state's mean duration", d)?;
        }
        Ok(ArrivalProcess::Mmpp {
            rates,
            mean_durations,
            state: None,
        })
    }

    /// inference-perf's `constant` load over `stages`, the first starting at time 0.
    pub fn stages(stages: Vec<LoadStage>) -> Result<Self, ArrivalError> {
        if stages.is_empty() {
            return Err(ArrivalError::Invalid(
                "a staged load needs at least one stage".into(),
            ));
        }
        for s in &stages {
            if !(s.rate_per_s.is_finite() && s.rate_per_s >= 0.0) {
                return Err(ArrivalError::Invalid(format!(
                    "a stage's rate must be zero or more, got {}",
                    s.rate_per_s
                )));
            }
            positive("a stage's duration", s.duration_s)?;
        }
        Ok(ArrivalProcess::Stages {
            stages: stages.into(),
            cursor: StageCursor::default(),
        })
    }

    /// Independent processes merged into one stream.
    pub fn superposed(parts: Vec<ArrivalProcess>) -> Result<Self, ArrivalError> {
        if parts.is_empty() {
            return Err(ArrivalError::Invalid(
                "a superposition needs at least one process".into(),
            ));
        }
        Ok(ArrivalProcess::Superposed {
            pending: vec![None; parts.len()],
            parts,
            primed: false,
        })
    }

    /// The expected arrival rate per second at time `t_s` (the long-run rate for
    /// stationary processes): what a workload's description plots against samples.
    pub fn expected_rate_at(&self, t_s: f64) -> f64 {
        match self {
            ArrivalProcess::Varying { rate } => rate.at(t_s),
            ArrivalProcess::Windowed { windows, .. } => windows
                .iter()
                .find(|w| w.start_s <= t_s && t_s < w.end_s)
                .map_or(0.0, |w| w.rate_per_s),
            ArrivalProcess::Superposed { parts, .. } => {
                parts.iter().map(|p| p.expected_rate_at(t_s)).sum()
            }
            ArrivalProcess::Stages { stages, .. } => stage_windows(stages)
                .find(|&(from, to, _)| from <= t_s && t_s < to)
                .map_or(0.0, |(_, _, s)| s.count() as f64 / s.duration_s),
            stationary => stationary.mean_rate_over(1.0),
        }
    }

    /// The expected number of arrivals in [`from_s`, `to_s`) (for time-varying rates,
    /// the rate's integral by the midpoint rule on 1,000 steps).
    pub fn expected_count(&self, from_s: f64, to_s: f64) -> f64 {
        let span = (to_s - from_s).max(0.0);
        match self {
            ArrivalProcess::Varying { rate } => rate.integral(from_s, to_s, 1_000),
            ArrivalProcess::Windowed { windows, .. } => windows
                .iter()
                .map(|w| w.rate_per_s * (w.end_s.min(to_s) - w.start_s.max(from_s)).max(0.0))
                .sum(),
            ArrivalProcess::Superposed { parts, .. } => {
                parts.iter().map(|p| p.expected_count(from_s, to_s)).sum()
            }
            ArrivalProcess::Stages { stages, .. } => stage_windows(stages)
                .map(|(from, to, s)| {
                    let overlap = (to.min(to_s) - from.max(from_s)).max(0.0);
                    s.count() as f64 * overlap / s.duration_s
                })
                .sum(),
            stationary => stationary.mean_rate_over(1.0) * span,
        }
    }

    /// The mean arrival rate per second over [0, `horizon_s`] (the long-run mean for
    /// stationary processes).
    pub fn mean_rate_over(&self, horizon_s: f64) -> f64 {
        match self {
            ArrivalProcess::Poisson { rate_per_s } => *rate_per_s,
            ArrivalProcess::Varying { rate } => {
                rate.integral(0.0, horizon_s, 10_000) / horizon_s.max(f64::MIN_POSITIVE)
            }
            ArrivalProcess::Renewal { interarrival } => 1.0 / interarrival.mean(),
            ArrivalProcess::Mmpp {
                rates,
                mean_durations,
                ..
            } => {
                let total = mean_durations[0] + mean_durations[1];
                (rates[0] * mean_durations[0] + rates[1] * mean_durations[1]) / total
            }
            ArrivalProcess::Windowed { windows, .. } => {
                let expected: f64 = windows
                    .iter()
                    .map(|w| w.rate_per_s * (w.end_s.min(horizon_s) - w.start_s).max(0.0))
                    .sum();
                expected / horizon_s.max(f64::MIN_POSITIVE)
            }
            ArrivalProcess::Superposed { parts, .. } => {
                parts.iter().map(|p| p.mean_rate_over(horizon_s)).sum()
            }
            ArrivalProcess::Stages { .. } => {
                self.expected_count(0.0, horizon_s) / horizon_s.max(f64::MIN_POSITIVE)
            }
        }
    }

    /// The time of the arrival after one at `now`, or `None` when the process has ended.
    #[inline]
    pub fn next_after(&mut self, now: SimTime, rng: &mut SimRng) -> Option<SimTime> {
        match self {
            ArrivalProcess::Poisson { rate_per_s } => {
                let unit: f64 = Exp1.sample(rng);
                Some(now + SimDuration::from_secs_f64(unit / *rate_per_s))
            }
            ArrivalProcess::Varying { rate } => next_by_thinning(rate, now.as_secs_f64(), rng),
            ArrivalProcess::Renewal { interarrival } => {
                Some(now + SimDuration::from_secs_f64(interarrival.sample(rng)))
            }
            ArrivalProcess::Mmpp {
                rates,
                mean_durations,
                state,
            } => {
                let (mut s, mut ends) = match *state {
                    Some(st) => st,
                    None => {
                        let p0 = mean_durations[0] / (mean_durations[0] + mean_durations[1]);
                        let s = usize::from(unit_uniform(rng) >= p0);
                        (s, now + exp_duration(mean_durations[s], rng))
                    }
                };
                let mut t = now;
                loop {
                    if rates[s] > 0.0 {
                        let candidate = t + exp_duration(1.0 / rates[s], rng);
                        if candidate < ends {
                            *state = Some((s, ends));
                            return Some(candidate);
                        }
                    }
                    // Memoryless: restart the clock at the switch.
                    t = ends;
                    s = 1 - s;
                    ends = t + exp_duration(mean_durations[s], rng);
                }
            }
            ArrivalProcess::Windowed { windows, cursor } => {
                let mut t = now.as_secs_f64();
                loop {
                    while windows.get(*cursor).is_some_and(|w| w.end_s <= t) {
                        *cursor += 1;
                    }
                    let w = windows.get(*cursor)?;
                    t = t.max(w.start_s);
                    if let Some(gaps) = &w.gaps {
                        let candidate = t + gaps.sample(rng);
                        if candidate < w.end_s {
                            return Some(SimTime::from_secs_f64(candidate));
                        }
                    }
                    t = w.end_s;
                }
            }
            ArrivalProcess::Stages { stages, cursor } => loop {
                let stage = stages.get(cursor.stage)?;
                let n = stage.count();
                if cursor.sent < n {
                    // Below the last, the next of the n − 1 − sent uniform points
                    // left above the previous one is their minimum.
                    let left = n - 1 - cursor.sent;
                    cursor.position = if left == 0 {
                        1.0
                    } else {
                        let v = 1.0 - unit_uniform(rng);
                        let p = cursor.position;
                        p + (1.0 - p) * (1.0 - v.powf(1.0 / left as f64))
                    };
                    cursor.sent += 1;
                    let t = cursor.start_s + cursor.position * stage.duration_s;
                    return Some(SimTime::from_secs_f64(t).max(now));
                }
                *cursor = StageCursor {
                    stage: cursor.stage + 1,
                    start_s: cursor.start_s + stage.duration_s,
                    sent: 0,
                    position: 0.0,
                };
            },
            ArrivalProcess::Superposed {
                parts,
                pending,
                primed,
            } => {
                if !*primed {
                    for (part, next) in parts.iter_mut().zip(pending.iter_mut()) {
                        *next = part.next_after(now, rng);
                    }
                    *primed = true;
                }
                let (i, t) = pending
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| p.map(|t| (i, t)))
                    .min_by_key(|&(_, t)| t)?;
                pending[i] = parts[i].next_after(t, rng);
                Some(t)
            }
        }
    }
}

/// Each stage's window (start and end, seconds) and the stage.
fn stage_windows(stages: &[LoadStage]) -> impl Iterator<Item = (f64, f64, &LoadStage)> {
    stages.iter().scan(0.0, |start, s| {
        let from = *start;
        *start += s.duration_s;
        Some((from, *start, s))
    })
}

fn unit_uniform(rng: &mut SimRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn exp_duration(mean_s: f64, rng: &mut SimRng) -> SimDuration {
    let unit: f64 = Exp1.sample(rng);
    SimDuration::from_secs_f64(unit * mean_s)
}

/// Lewis–Shedler thinning: candidates from a Poisson process at the rate's upper bound
/// over a window, each kept with probability rate(t) / bound.
fn next_by_thinning(rate: &RateFn, mut t: f64, rng: &mut SimRng) -> Option<SimTime> {
    let limit = t + SEARCH_LIMIT_S;
    while t < limit {
        let window_end = t + THINNING_WINDOW_S;
        let bound = rate.max_over(t, window_end);
        if bound <= 0.0 {
            t = window_end;
            continue;
        }
        let gap: f64 = Exp1.sample(rng);
        let candidate = t + gap / bound;
        if candidate > window_end {
            t = window_end;
            continue;
        }
        t = candidate;
        if unit_uniform(rng) * bound <= rate.at(t) {
            return Some(SimTime::from_secs_f64(t));
        }
    }
    None
}

#[cfg(test)]
mod tests;
