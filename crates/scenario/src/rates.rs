//! Arrival rates as functions of time, as written in scenarios.

use inferscale_workload::{Interpolation, RateFn};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::units::{Duration, Rate, parse_rate};

/// A rate: a constant (`40/s`) or a one-key map naming a function of time. Checked
/// while deserializing; a `series:` keeps its path until the build step reads it.
#[derive(Clone, Debug)]
pub enum RateSpec {
    /// A rate function that needs no file.
    Fn(RateFn),
    /// A series from a CSV file, not read yet.
    Series(SeriesRef),
    /// The sum of rates of which one at least is a series.
    Sum(Vec<RateSpec>),
    /// The product of rates of which one at least is a series.
    Product(Vec<RateSpec>),
}

/// A checked `series:` rate: where its values are and how to read them.
#[derive(Clone, Debug)]
pub struct SeriesRef {
    path: std::path::PathBuf,
    column: String,
    /// Time one row covers after the speed-up, in seconds.
    interval_s: f64,
    per_second: bool,
    scale: f64,
    speedup: f64,
}

impl RateSpec {
    /// The rate of a constant function, before any file is read.
    pub fn constant(&self) -> Option<f64> {
        match self {
            RateSpec::Fn(RateFn::Constant(r)) => Some(*r),
            _ => None,
        }
    }

    /// The rate function, reading any series through `files`.
    pub(crate) fn build(&self, files: &crate::files::Files) -> Result<RateFn, String> {
        Ok(match self {
            RateSpec::Fn(f) => f.clone(),
            RateSpec::Sum(parts) => RateFn::Sum(
                parts
                    .iter()
                    .map(|p| p.build(files))
                    .collect::<Result<_, _>>()?,
            ),
            RateSpec::Product(parts) => RateFn::Product(
                parts
                    .iter()
                    .map(|p| p.build(files))
                    .collect::<Result<_, _>>()?,
            ),
            RateSpec::Series(s) => {
                let rate =
                    files.rate_series(&s.path, &s.column, s.interval_s, s.per_second, s.scale)?;
                // Faster replay: each row covers less time, at a proportionally higher rate.
                if s.per_second && s.speedup != 1.0 {
                    RateFn::Product(vec![RateFn::Constant(s.speedup), rate])
                } else {
                    rate
                }
            }
        })
    }
}

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
                Ok(RateSpec::Fn(RateFn::Constant(rate.per_second())))
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
                family.build().map_err(de::Error::custom)
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

#[derive(Deserialize, schemars::JsonSchema)]
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
#[derive(Deserialize, schemars::JsonSchema)]
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PiecewiseSpec {
    points: Vec<(Duration, Rate)>,
    #[serde(default)]
    interpolation: InterpolationSpec,
}

#[derive(Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum InterpolationSpec {
    #[default]
    Step,
    Linear,
}

#[derive(Deserialize, schemars::JsonSchema)]
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RampSpec {
    from: Rate,
    to: Rate,
    start: Duration,
    duration: Duration,
}

#[derive(Deserialize, schemars::JsonSchema)]
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
    fn build(self) -> Result<RateSpec, String> {
        let any_series = |parts: &[RateSpec]| parts.iter().any(|p| !matches!(p, RateSpec::Fn(_)));
        let only_fns = |parts: Vec<RateSpec>| {
            parts
                .into_iter()
                .filter_map(|p| match p {
                    RateSpec::Fn(f) => Some(f),
                    _ => None,
                })
                .collect()
        };
        Ok(RateSpec::Fn(match self {
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
            RateFamily::Sum(parts) if any_series(&parts) => return Ok(RateSpec::Sum(parts)),
            RateFamily::Product(parts) if any_series(&parts) => {
                return Ok(RateSpec::Product(parts));
            }
            RateFamily::Sum(parts) if !parts.is_empty() => RateFn::Sum(only_fns(parts)),
            RateFamily::Product(parts) if !parts.is_empty() => RateFn::Product(only_fns(parts)),
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
                return Ok(RateSpec::Series(SeriesRef {
                    interval_s: secs(s.interval) / s.speedup,
                    path: s.path,
                    column: s.column,
                    per_second: s.per_second,
                    scale: s.scale,
                    speedup: s.speedup,
                }));
            }
        }))
    }
}

impl schemars::JsonSchema for RateSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RateSpec".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let bare = generator.subschema_for::<Rate>().to_value();
        crate::units::bare_or::<RateFamily>(
            generator,
            bare,
            "A rate (`40/s`) or a rate function: constant, piecewise, diurnal, ramp, spike, sum, product, series.",
        )
    }
}
