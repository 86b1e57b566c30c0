//! `latency-cdf` and `latency-ccdf` figures: per group, the distribution of TTFT,
//! TPOT and end-to-end latency (response time for generic runs) pooled over its
//! replications, as a CDF and as a complementary CDF on a log scale, where the tail
//! (p99 at 0.01, p99.9 at 0.001) is visible; per model where the runs have several.

use std::collections::{BTreeMap, HashSet};

use inferscale_plot::{Axis, Chart, Figure, Mark, Series};

use super::timeline::ScenarioFacts;
use super::{Columns, Group};

/// The metrics of the latency table, with their chart titles and the index of their
/// SLA target in [`ScenarioFacts::target`].
const LLM_METRICS: [(&str, &str, usize); 3] = [
    ("ttft", "time to first token", 0),
    ("tpot", "time per output token", 1),
    ("e2e", "end-to-end latency", 2),
];

/// Histogram buckets: upper bound in nanoseconds → requests.
type Buckets = BTreeMap<u64, f64>;

/// Per model, per metric: its buckets.
type ByModel = BTreeMap<String, BTreeMap<String, Buckets>>;

/// Per group shown (name), model and metric: histogram buckets (upper bound in ns →
/// requests), pooled over the group's runs.
pub(super) struct Distributions {
    /// `(group name, model → metric → buckets)`, in drawing order.
    groups: Vec<(String, ByModel)>,
    facts: ScenarioFacts,
}

impl Distributions {
    /// Empty, with the SLA targets of `facts`.
    pub(super) fn new(facts: ScenarioFacts) -> Self {
        Distributions {
            groups: Vec::new(),
            facts,
        }
    }

    /// Adds `group`'s histograms from `lat` (a directory's latency table). Tables
    /// written before the `model` column existed count as one unnamed model.
    pub(super) fn add(&mut self, lat: &Columns, group: &Group) -> anyhow::Result<()> {
        let ids = lat.text("run_id")?;
        let metrics = lat.text("metric")?;
        let models = lat.text("model").ok();
        let upper = lat.f64("upper_s")?;
        let count = lat.f64("count")?;
        let mine: HashSet<&str> = group.runs.iter().map(|(id, _)| id.as_str()).collect();
        let mut by_model = ByModel::new();
        for i in (0..ids.len()).filter(|&i| mine.contains(ids[i].as_str())) {
            let model = models.as_ref().map_or("", |m| m[i].as_str());
            // Bounds are the same in every run (a fixed log scale); key by nanoseconds.
            *by_model
                .entry(model.to_owned())
                .or_default()
                .entry(metrics[i].clone())
                .or_default()
                .entry((upper[i] * 1e9).round() as u64)
                .or_default() += count[i];
        }
        self.groups.push((group.name.clone(), by_model));
        Ok(())
    }

    /// The models seen, sorted.
    fn models(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .groups
            .iter()
            .flat_map(|(_, m)| m.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The figures: `(file name, figure)`, pooled over models, and per model when
    /// there are several.
    pub(super) fn figures(&self) -> Vec<(String, Figure)> {
        let models = self.models();
        let mut out = Vec::new();
        let mut emit = |suffix: String, model: Option<&str>| {
            for complementary in [false, true] {
                let charts = self.charts(model, complementary);
                if !charts.is_empty() {
                    let kind = if complementary { "ccdf" } else { "cdf" };
                    out.push((format!("latency-{kind}{suffix}"), Figure::new(charts)));
                }
            }
        };
        emit(String::new(), None);
        if models.len() > 1 {
            for m in &models {
                emit(format!("-{m}"), Some(m));
            }
        }
        out
    }

    /// One chart per metric present for `model` (`None`: all models pooled).
    fn charts(&self, model: Option<&str>, complementary: bool) -> Vec<Chart> {
        let llm = self
            .groups
            .iter()
            .any(|(_, m)| m.values().any(|metrics| metrics.contains_key("ttft")));
        let metrics: Vec<(&str, &str, Option<usize>)> = if llm {
            LLM_METRICS
                .iter()
                .map(|&(m, title, k)| (m, title, Some(k)))
                .collect()
        } else {
            vec![("response", "response time", None)]
        };
        let scope = match model {
            Some(m) => format!("{m}: "),
            None if self.models().len() > 1 => "all models: ".to_owned(),
            None => String::new(),
        };
        let mut charts = Vec::new();
        for (metric, title, target) in metrics {
            let mut series: Vec<Series> = self
                .groups
                .iter()
                .map(|(name, by_model)| {
                    let pooled = pool(by_model, model, metric);
                    Series::new(name.clone(), curve(&pooled, complementary), Mark::Line)
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            if series.is_empty() {
                continue;
            }
            if let Some(target) = target.and_then(|k| self.facts.target(model, k)) {
                series.push(Series::new("SLA", Vec::new(), Mark::VLine(target)));
            }
            let first = charts.is_empty();
            charts.push(Chart {
                title: match (first, complementary) {
                    (true, false) => format!("{scope}{title} (all replications pooled)"),
                    (true, true) => format!(
                        "{scope}{title}: share of requests slower (0.01 = p99, all replications pooled)"
                    ),
                    (false, _) => format!("{scope}{title}"),
                },
                x: Axis::log("seconds"),
                y: if complementary {
                    Axis::log("fraction of requests > x")
                } else {
                    Axis::linear("fraction of requests ≤ x")
                },
                series,
            });
        }
        charts
    }
}

/// The buckets of `metric` for `model` (`None`: summed over models).
fn pool(by_model: &ByModel, model: Option<&str>, metric: &str) -> Buckets {
    let mut out = Buckets::new();
    for (name, metrics) in by_model {
        if model.is_some_and(|m| m != name) {
            continue;
        }
        for (&ns, &c) in metrics.get(metric).into_iter().flatten() {
            *out.entry(ns).or_default() += c;
        }
    }
    out
}

/// The CDF (`(seconds, fraction ≤)`) at each bucket's upper bound, or the
/// complementary CDF (`fraction >`, the last bucket's 0 left out: a log axis cannot
/// show it).
fn curve(buckets: &Buckets, complementary: bool) -> Vec<(f64, f64)> {
    let total: f64 = buckets.values().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut seen = 0.0;
    buckets
        .iter()
        .filter_map(|(&ns, &c)| {
            seen += c;
            let below = seen / total;
            let y = if complementary { 1.0 - below } else { below };
            (!complementary || y > 1e-12).then_some((ns as f64 / 1e9, y))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CDF rises to 1 at the last bucket; the complementary CDF is 1 minus it,
    /// without the final 0.
    #[test]
    fn curves_add_up() {
        let buckets: Buckets = [(1_000_000, 90.0), (2_000_000, 9.0), (4_000_000, 1.0)]
            .into_iter()
            .collect();
        assert_eq!(
            curve(&buckets, false),
            [(0.001, 0.9), (0.002, 0.99), (0.004, 1.0)]
        );
        let ccdf = curve(&buckets, true);
        assert_eq!(ccdf.len(), 2);
        assert!((ccdf[0].1 - 0.1).abs() < 1e-12 && (ccdf[1].1 - 0.01).abs() < 1e-12);
    }
}
