//! The prefix cache against latency: each point's cache hit rate against its TTFT p50
//! and p99 (mean and 95% interval on both axes), so routers or cache sizes compared
//! in one sweep show what their hits bought.

use inferscale_plot::{Axis, Chart, Figure, Mark, Series};

use super::PolicyPoint;

/// The figure, when at least two points have a hit rate.
pub(super) fn cache_figure(points: &[PolicyPoint]) -> Option<Figure> {
    let cached: Vec<&PolicyPoint> = points
        .iter()
        .filter(|p| p.cache_hit.0.is_finite())
        .collect();
    if cached.len() < 2 {
        return None;
    }
    let chart = |title: &str, label: &str, of: fn(&PolicyPoint) -> (f64, f64, f64)| Chart {
        title: title.into(),
        x: Axis::share("prefix-cache hit rate (blocks)"),
        y: Axis::linear(label),
        series: cached
            .iter()
            .filter(|p| of(p).0.is_finite())
            .map(|p| {
                let (y, lo, hi) = of(p);
                Series::new(
                    p.name.clone(),
                    vec![(p.cache_hit.0, y)],
                    Mark::CrossBars(vec![((p.cache_hit.1, p.cache_hit.2), (lo, hi))]),
                )
            })
            .collect(),
    };
    Some(Figure::new(vec![
        chart(
            "TTFT p50 against the prefix-cache hit rate (mean, 95% CI)",
            "TTFT p50 (s)",
            |p| p.ttft_p50,
        ),
        chart(
            "TTFT p99 against the prefix-cache hit rate (mean, 95% CI)",
            "TTFT p99 (s)",
            |p| p.ttft_p99,
        ),
    ]))
}
