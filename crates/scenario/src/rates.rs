//! Arrival rates as functions of time, as written in scenarios.

use inferscale_workload::{Interpolation, RateFn};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::units::{Duration, Rate, parse_rate};

/// A rate: a constant (`40/s`) or a one-key map naming a function of time.
#[derive(Clone, Debug)]
pub struct RateSpec(pub RateFn);

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RateSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a rate (`40/s`) or a rate function: constant, piecewise, diurnal, ramp, spike, sum, product")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateSpec, E> {
                let rate = parse_rate(v).map_err(E::custom)?;
                Ok(RateSpec(RateFn::Constant(rate.per_second())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RateSpec, E> {
                Err(E::custom(format!("`{v}` has no unit; write e.g. `{v}/s`")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RateSpec, E> {
                Err(E::custom(format!("`{v}` has no unit; write e.g. `{v}/s`")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RateSpec, E> {
                Err(E::custom(format!("`{v}`: rates cannot be negative")))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RateSpec, A::Error> {
                let family = RateFamily::deserialize(de::value::MapAccessDeserializer::new(map))?;
                family.build().map(RateSpec).map_err(de::Error::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<RateSpec, A::Error> {
                Err(de::Error::custom(
                    "a list is not a rate; to add rates write `{sum: [...]}`",
                ))
            }
        }
        de.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RateFamily {
    Constant(Rate),
    Piecewise(PiecewiseSpec),
    Diurnal(DiurnalSpec),
    Ramp(RampSpec),
    Spike(SpikeSpec),
    Sum(Vec<RateSpec>),
    Product(Vec<RateSpec>),
    Series(SeriesSpec),
}

/// A rate series from a CSV file, e.g. the WorldCup 98 per-minute counts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesSpec {
    /// The file, relative to the scenario file's directory.
    path: std::path::PathBuf,
    /// Column with the value, by header name.
    column: String,
    /// Time each row covers.
    interval: Duration,
    /// Whether the value is already a rate per second (else a count per interval).
    #[serde(default)]
    per_second: bool,
    /// Multiply every rate by this. Default: 1.
    #[serde(default = "one")]
    scale: f64,
    /// Replay this many times faster. Default: 1.
    #[serde(default = "one")]
    speedup: f64,
}

fn one() -> f64 {
    1.0
}

thread_local! {
    /// The directory of the scenario file being parsed: relative paths in rate series
    /// resolve against it, as trace paths do.
    static SCENARIO_DIR: std::cell::RefCell<std::path::PathBuf> =
        const { std::cell::RefCell::new(std::path::PathBuf::new()) };
}

/// Runs `f` with relative series paths resolved against `dir`.
pub(crate) fn with_scenario_dir<T>(dir: &std::path::Path, f: impl FnOnce() -> T) -> T {
    let previous = SCENARIO_DIR.with(|d| d.replace(dir.to_owned()));
    let result = f();
    SCENARIO_DIR.with(|d| d.replace(previous));
    result
}

/// `path` resolved against the directory of the scenario file being parsed.
pub(crate) fn scenario_relative(path: &std::path::Path) -> std::path::PathBuf {
    SCENARIO_DIR.with(|d| d.borrow().join(path))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PiecewiseSpec {
    points: Vec<(Duration, Rate)>,
    #[serde(default)]
    interpolation: InterpolationSpec,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum InterpolationSpec {
    #[default]
    Step,
    Linear,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiurnalSpec {
    mean: Rate,
    peak_to_trough: f64,
    #[serde(default = "one_day")]
    period: Duration,
    #[serde(default)]
    phase: Duration,
}

fn one_day() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(86_400))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RampSpec {
    from: Rate,
    to: Rate,
    start: Duration,
    duration: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpikeSpec {
    start: Duration,
    rise: Duration,
    height: Rate,
    decay: Duration,
}

fn secs(d: Duration) -> f64 {
    d.0.as_secs_f64()
}

impl RateFamily {
    fn build(self) -> Result<RateFn, String> {
        Ok(match self {
            RateFamily::Constant(r) => RateFn::Constant(r.per_second()),
            RateFamily::Piecewise(p) => {
                if p.points.is_empty() || p.points.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(
                        "piecewise `points` need at least one [time, rate] pair, times increasing"
                            .into(),
                    );
                }
                RateFn::Piecewise {
                    points: p
                        .points
                        .iter()
                        .map(|(t, r)| (secs(*t), r.per_second()))
                        .collect(),
                    interpolation: match p.interpolation {
                        InterpolationSpec::Step => Interpolation::Step,
                        InterpolationSpec::Linear => Interpolation::Linear,
                    },
                }
            }
            RateFamily::Diurnal(d) => {
                if !(d.peak_to_trough >= 1.0 && d.peak_to_trough.is_finite()) {
                    return Err(format!(
                        "`peak_to_trough` must be at least 1, got {}",
                        d.peak_to_trough
                    ));
                }
                if d.period.0.is_zero() || d.mean.per_second() <= 0.0 {
                    return Err("a diurnal rate needs a positive `mean` and `period`".into());
                }
                RateFn::Diurnal {
                    mean: d.mean.per_second(),
                    peak_to_trough: d.peak_to_trough,
                    period: secs(d.period),
                    phase: secs(d.phase),
                }
            }
            RateFamily::Ramp(r) => {
                if r.duration.0.is_zero() {
                    return Err("a ramp needs a `duration` greater than zero".into());
                }
                RateFn::Ramp {
                    from: r.from.per_second(),
                    to: r.to.per_second(),
                    start: secs(r.start),
                    duration: secs(r.duration),
                }
            }
            RateFamily::Spike(s) => {
                if s.rise.0.is_zero() || s.decay.0.is_zero() {
                    return Err("a spike needs `rise` and `decay` greater than zero".into());
                }
                RateFn::Spike {
                    start: secs(s.start),
                    rise: secs(s.rise),
                    height: s.height.per_second(),
                    decay: secs(s.decay),
                }
            }
            RateFamily::Sum(parts) if !parts.is_empty() => {
                RateFn::Sum(parts.into_iter().map(|p| p.0).collect())
            }
            RateFamily::Product(parts) if !parts.is_empty() => {
                RateFn::Product(parts.into_iter().map(|p| p.0).collect())
            }
            RateFamily::Sum(_) | RateFamily::Product(_) => {
                return Err("`sum` and `product` need at least one rate".into());
            }
            RateFamily::Series(s) => {
                if s.interval.0.is_zero()
                    || !(s.scale >= 0.0 && s.scale.is_finite())
                    || !(s.speedup.is_finite() && s.speedup > 0.0)
                {
                    return Err("a series needs an `interval` above zero, a `scale` of zero or more and a positive `speedup`".into());
                }
                let path = scenario_relative(&s.path);
                let interval = secs(s.interval) / s.speedup;
                // Faster replay: each row covers less time, at a proportionally higher rate.
                let rate = inferscale_workload::read_rate_series(
                    &path,
                    &s.column,
                    interval,
                    s.per_second,
                    s.scale,
                )?;
                if s.per_second && s.speedup != 1.0 {
                    RateFn::Product(vec![RateFn::Constant(s.speedup), rate])
                } else {
                    rate
                }
            }
        })
    }
}
