//! Quantities with units, as written in scenarios: durations (`250ms`, `15s`, `1h30m`)
//! and rates (`40/s`, `600/min`), and distributions of durations (`{gamma: {mean: 1s,
//! scv: 4}}`).

use std::fmt;

use inferscale_engine::{Dist, SimDuration};
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The duration units a scenario may use, with their length in nanoseconds.
pub(crate) const DURATION_UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("sec", 1e9),
    ("m", 60e9),
    ("min", 60e9),
    ("h", 3600e9),
    ("d", 86_400e9),
];

/// The units accepted, for error messages.
pub(crate) const DURATION_HELP: &str =
    "a duration with a unit: ns, us, ms, s, m (or min), h, d; e.g. `250ms`, `15s`, `1h30m`";
pub(crate) const RATE_HELP: &str =
    "a rate as count/unit, e.g. `40/s`, `600/min`, `2.5/h`, `90/15s`";

/// A span of simulated time written with units in a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub SimDuration);

/// An event rate written with units in a scenario; stored per second.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate {
    per_s: f64,
}

impl Rate {
    /// The rate in events per second.
    pub fn per_second(self) -> f64 {
        self.per_s
    }
}

/// Parses `15s`, `1.5h`, `1h30m`, `250ms`. A bare `0` is zero; other bare numbers are
/// refused because their unit would be a guess.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_nanos(text).map(|ns| Duration(SimDuration::from_nanos(ns)))
}

fn parse_duration_nanos(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("empty duration; expected {DURATION_HELP}"));
    }
    if text.starts_with('-') {
        return Err(format!("`{text}`: durations cannot be negative"));
    }
    if text.parse::<f64>() == Ok(0.0) {
        return Ok(0);
    }
    let mut rest = text;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(format!("`{text}` is not {DURATION_HELP}"));
        }
        let number: f64 = rest[..number_len]
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{text}` is not {DURATION_HELP}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        if unit.is_empty() {
            return Err(format!("`{text}` has no unit; expected {DURATION_HELP}"));
        }
        let Some(&(_, nanos)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`; expected {DURATION_HELP}"
            ));
        };
        total += number * nanos;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total >= u64::MAX as f64 {
        return Err(format!(
            "`{text}` is longer than the 584 years simulated time can hold"
        ));
    }
    Ok(total.round() as u64)
}

/// Parses `40/s`, `600/min`, `2.5/h`, `90/15s`.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim();
    let Some((count, per)) = text.split_once('/') else {
        return Err(format!("`{text}` has no unit; expected {RATE_HELP}"));
    };
    let count: f64 = count
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not {RATE_HELP}"))?;
    if count < 0.0 {
        return Err(format!("`{text}`: rates cannot be negative"));
    }
    if !count.is_finite() {
        return Err(format!("`{text}` is not {RATE_HELP}"));
    }
    let per = per.trim();
    let per = match per {
        "second" | "sec" => "s",
        "minute" => "min",
        "hour" => "h",
        "day" => "d",
        other => other,
    };
    let per_nanos = if per.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        parse_duration_nanos(per)
    } else {
        parse_duration_nanos(&format!("1{per}"))
    }
    .map_err(|_| format!("`{text}` is not {RATE_HELP}"))?;
    if per_nanos == 0 {
        return Err(format!("`{text}`: the time unit of a rate cannot be zero"));
    }
    Ok(Rate {
        per_s: count * 1e9 / per_nanos as f64,
    })
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                if v == 0 {
                    Ok(Duration::default())
                } else {
                    Err(E::custom(format!(
                        "`{v}` has no unit; write e.g. `{v}s` or `{v}ms` ({DURATION_HELP})"
                    )))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                if v < 0 {
                    Err(E::custom(format!("`{v}`: durations cannot be negative")))
                } else {
                    self.visit_u64(v as u64)
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                if v == 0.0 {
                    Ok(Duration::default())
                } else if v < 0.0 {
                    Err(E::custom(format!("`{v}`: durations cannot be negative")))
                } else {
                    Err(E::custom(format!(
                        "`{v}` has no unit; write e.g. `{v}s` ({DURATION_HELP})"
                    )))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(RATE_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                parse_rate(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; write e.g. `{v}/s` ({RATE_HELP})"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                if v < 0 {
                    Err(E::custom(format!("`{v}`: rates cannot be negative")))
                } else {
                    self.visit_u64(v as u64)
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                if v < 0.0 {
                    Err(E::custom(format!("`{v}`: rates cannot be negative")))
                } else {
                    Err(E::custom(format!(
                        "`{v}` has no unit; write e.g. `{v}/s` ({RATE_HELP})"
                    )))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A distribution of durations, by family. Values are times with units.
///
/// ```yaml
/// service_time: {exponential: {mean: 1s}}
/// service_time: {deterministic: 250ms}
/// service_time: {gamma: {mean: 1s, scv: 4}}          # or {shape: 0.25, scale: 4s}
/// service_time: {lognormal: {mean: 1s, scv: 0.5}}    # or {median: 800ms, sigma: 0.6}
/// boot_time: {uniform: [90s, 180s]}
/// boot_time: 45s                                      # the same as {deterministic: 45s}
/// ```
#[derive(Clone, Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(try_from = "DurationDistSpec")]
#[schemars(with = "DurationDistSpec")]
pub struct DurationDist(pub Dist);

/// Either a bare duration (`45s`) or a one-key map naming a family. Written by hand
/// rather than `#[serde(untagged)]`, which would replace every inner error ("unknown
/// variant `weibull`, expected one of ...") with "data did not match any variant".
enum DurationDistSpec {
    Fixed(Duration),
    Family(DurationFamily),
}

impl<'de> Deserialize<'de> for DurationDistSpec {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DurationDistSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a duration (`45s`) or a distribution such as `{exponential: {mean: 1s}}`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                crate::units::parse_duration(v)
                    .map(DurationDistSpec::Fixed)
                    .map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                DurationFamily::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(DurationDistSpec::Family)
            }
        }
        de.deserialize_any(V)
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum DurationFamily {
    Exponential(ExponentialSpec),
    Deterministic(Duration),
    Uniform([Duration; 2]),
    Gamma(GammaSpec),
    Lognormal(LognormalSpec),
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExponentialSpec {
    mean: Duration,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GammaSpec {
    mean: Option<Duration>,
    scv: Option<f64>,
    shape: Option<f64>,
    scale: Option<Duration>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LognormalSpec {
    mean: Option<Duration>,
    scv: Option<f64>,
    median: Option<Duration>,
    sigma: Option<f64>,
}

fn secs(d: Duration) -> f64 {
    d.0.as_secs_f64()
}

impl TryFrom<DurationDistSpec> for DurationDist {
    type Error = String;
    fn try_from(spec: DurationDistSpec) -> Result<Self, String> {
        let family = match spec {
            DurationDistSpec::Fixed(d) => DurationFamily::Deterministic(d),
            DurationDistSpec::Family(f) => f,
        };
        let dist = match family {
            DurationFamily::Exponential(e) => Dist::exponential(secs(e.mean)),
            DurationFamily::Deterministic(d) => Dist::deterministic(secs(d)),
            DurationFamily::Uniform([low, high]) => Dist::uniform(secs(low), secs(high)),
            DurationFamily::Gamma(g) => match (g.mean, g.scv, g.shape, g.scale) {
                (Some(mean), Some(scv), None, None) => Dist::gamma_mean_scv(secs(mean), scv),
                (None, None, Some(shape), Some(scale)) => Dist::gamma(shape, secs(scale)),
                _ => {
                    return Err(
                        "gamma takes either `mean` and `scv` (e.g. {mean: 1s, scv: 4}) \
                                or `shape` and `scale` (e.g. {shape: 0.25, scale: 4s})"
                            .into(),
                    );
                }
            },
            DurationFamily::Lognormal(l) => match (l.mean, l.scv, l.median, l.sigma) {
                (Some(mean), Some(scv), None, None) => Dist::lognormal_mean_scv(secs(mean), scv),
                (None, None, Some(median), Some(sigma)) => {
                    Dist::lognormal_median_sigma(secs(median), sigma)
                }
                _ => {
                    return Err(
                        "lognormal takes either `mean` and `scv` (e.g. {mean: 1s, scv: 0.5}) \
                                or `median` and `sigma` (e.g. {median: 800ms, sigma: 0.6})"
                            .into(),
                    );
                }
            },
        };
        dist.map(DurationDist).map_err(|e| e.to_string())
    }
}

impl schemars::JsonSchema for DurationDistSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DurationDist".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let bare = generator.subschema_for::<Duration>().to_value();
        crate::units::bare_or::<DurationFamily>(
            generator,
            bare,
            "A duration (`45s`, the same as `{deterministic: 45s}`) or a distribution such as `{exponential: {mean: 1s}}`.",
        )
    }
}

// The editor schema of durations and rates (`inferscale schema`).

/// One unit alternative per accepted unit, longest first (so `ms` is tried before
/// `m`), as a regular expression group.
fn units_group(extra: &[&str]) -> String {
    let mut units: Vec<&str> = DURATION_UNITS.iter().map(|(u, _)| *u).collect();
    units.extend_from_slice(extra);
    units.sort_by_key(|u| std::cmp::Reverse(u.chars().count()));
    format!("(?:{})", units.join("|"))
}

/// A number as the unit parsers read it (digits, `_` separators, a decimal point).
const NUMBER: &str = r"[0-9_]*\.?[0-9_]+";

/// The pattern of a duration: one or more number–unit terms (`1h30m`), or a bare 0.
pub(crate) fn duration_pattern() -> String {
    let term = format!(r"{NUMBER}\s*{}\s*", units_group(&[]));
    format!(r"^\s*(?:0+(?:\.0*)?|(?:{term})+)$")
}

/// The pattern of a rate: a count, `/`, and a unit with an optional count of it
/// (`40/s`, `90/15s`, `2.5/hour`).
pub(crate) fn rate_pattern() -> String {
    let per = units_group(&["second", "minute", "hour", "day"]);
    format!(r"^\s*[0-9_.eE+]+\s*/\s*(?:{NUMBER}\s*)?{per}\s*$")
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": format!("A span of simulated time: {DURATION_HELP}."),
            "anyOf": [
                {"type": "string", "pattern": duration_pattern()},
                {"const": 0}
            ]
        })
    }
}

impl schemars::JsonSchema for Rate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": format!("Events per unit of time: {RATE_HELP}."),
            "type": "string",
            "pattern": rate_pattern()
        })
    }
}

/// A shape described by a hand-written reader: a bare value (`bare`) or a mapping
/// read as `T`.
pub(crate) fn bare_or<T: schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
    bare: serde_json::Value,
    what: &str,
) -> schemars::Schema {
    let family = generator.subschema_for::<T>();
    schemars::json_schema!({
        "description": what,
        "anyOf": [bare, family]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> f64 {
        parse_duration(text).unwrap().0.as_secs_f64()
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(secs("250ms"), 0.25);
        assert_eq!(secs("15s"), 15.0);
        assert_eq!(secs("2h"), 7200.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("1.5min"), 90.0);
        assert_eq!(secs("3d"), 259_200.0);
        assert_eq!(parse_duration("100us").unwrap().0.as_nanos(), 100_000);
        assert_eq!(parse_duration("7ns").unwrap().0.as_nanos(), 7);
        assert_eq!(secs("0"), 0.0);
        assert_eq!(secs(" 10 s "), 10.0);
    }

    #[test]
    fn bad_durations_say_what_is_accepted() {
        for bad in ["", "15", "15 parsecs", "-3s", "s", "1.2.3s", "1e400h"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("unit") || err.contains("negative") || err.contains("584"),
                "{bad}: {err}"
            );
        }
        assert!(parse_duration("15x").unwrap_err().contains("ms, s, m"));
    }

    #[test]
    fn rates_in_every_unit() {
        let per_s = |t: &str| parse_rate(t).unwrap().per_second();
        assert_eq!(per_s("40/s"), 40.0);
        assert_eq!(per_s("600/min"), 10.0);
        assert_eq!(per_s("7200/h"), 2.0);
        assert_eq!(per_s("90/15s"), 6.0);
        assert_eq!(per_s("7.2/second"), 7.2);
        assert_eq!(per_s("0/s"), 0.0);
    }

    #[test]
    fn bad_rates_say_what_is_accepted() {
        assert!(parse_rate("40").unwrap_err().contains("no unit"));
        assert!(parse_rate("-4/s").unwrap_err().contains("negative"));
        assert!(parse_rate("4/parsec").unwrap_err().contains("e.g. `40/s`"));
        assert!(parse_rate("4/0s").unwrap_err().contains("zero"));
        assert!(parse_rate("x/s").is_err());
    }
}
