//! The `cost-vs-sla` figure: mean cost against mean SLA attainment per point with
//! 95% intervals, and the Pareto front of each comparison group (points that share
//! everything but the policy: `sweep.group_by`) drawn as a staircase in cost order.

use std::collections::BTreeMap;

use inferscale_plot::{Axis, Chart, Figure, Mark, Series};
use inferscale_report::stats::pareto_front;

use super::PolicyPoint;

/// The points on the Pareto front of their group (cheaper and at least as good, or
/// better and at most as dear, than every other point of the group), in order.
pub(super) fn pareto_of(points: &[PolicyPoint]) -> Vec<usize> {
    let mut front: Vec<usize> = by_group(points)
        .into_values()
        .flat_map(|members| front_of(points, &members))
        .collect();
    front.sort_unstable();
    front
}

/// The points with a cost and an SLA attainment, by comparison group.
fn by_group(points: &[PolicyPoint]) -> BTreeMap<&str, Vec<usize>> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        if p.cost.0.is_finite() && p.sla.0.is_finite() {
            groups.entry(p.group.as_str()).or_default().push(i);
        }
    }
    groups
}

/// The front among `members` (indices into `points`).
fn front_of(points: &[PolicyPoint], members: &[usize]) -> Vec<usize> {
    let pairs: Vec<(f64, f64)> = members
        .iter()
        .map(|&i| (points[i].cost.0, points[i].sla.0))
        .collect();
    pareto_front(&pairs)
        .into_iter()
        .map(|k| members[k])
        .collect()
}

/// The figure.
pub(super) fn pareto_figure(points: &[PolicyPoint]) -> Figure {
    let mut series: Vec<Series> = points
        .iter()
        .filter(|p| p.cost.0.is_finite() && p.sla.0.is_finite())
        .map(|p| {
            Series::new(
                p.name.clone(),
                vec![(p.cost.0, p.sla.0)],
                Mark::CrossBars(vec![((p.cost.1, p.cost.2), (p.sla.1, p.sla.2))]),
            )
        })
        .collect();
    let groups = by_group(points);
    let several = groups.len() > 1;
    for (group, members) in &groups {
        // A dashed staircase through the front in cost order: from each point, right
        // at its SLA attainment to the next one's cost, then up — the edge of what
        // some point of the group achieves at each cost — and on at the best
        // attainment to the group's dearest point (a front of one point is a line).
        let dearest = members
            .iter()
            .map(|&i| points[i].cost.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut front: Vec<(f64, f64)> = front_of(points, members)
            .into_iter()
            .map(|i| (points[i].cost.0, points[i].sla.0))
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut stairs = Vec::with_capacity(2 * front.len());
        for (i, &(c, s)) in front.iter().enumerate() {
            if i > 0 {
                stairs.push((c, front[i - 1].1));
            }
            stairs.push((c, s));
        }
        if let Some(&(c, s)) = front.last()
            && dearest > c
        {
            stairs.push((dearest, s));
        }
        let name = if several {
            format!("front of {group}")
        } else {
            "Pareto front".to_owned()
        };
        series.push(Series::new(name, stairs, Mark::Dashed));
    }
    Figure::new(vec![Chart {
        title: if several {
            "cost against SLA attainment (mean, 95% CI), a front per group".into()
        } else {
            "cost against SLA attainment (mean, 95% CI)".into()
        },
        x: Axis::linear("cost per run ($)"),
        y: Axis::share("SLA attainment"),
        series,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, group: &str, cost: f64, sla: f64) -> PolicyPoint {
        PolicyPoint {
            name: name.into(),
            group: group.into(),
            cost: (cost, cost, cost),
            sla: (sla, sla, sla),
            cache_hit: (f64::NAN, f64::NAN, f64::NAN),
            ttft_p50: (f64::NAN, f64::NAN, f64::NAN),
            ttft_p99: (f64::NAN, f64::NAN, f64::NAN),
        }
    }

    #[test]
    fn the_front_keeps_only_undominated_points() {
        let points = [
            p("a", "", 5.0, 0.90),
            p("b", "", 4.0, 0.95), // beats a on both
            p("c", "", 6.0, 0.99),
            p("d", "", 7.0, 0.98), // beaten by c
            p("e", "", 3.0, 0.80),
            p("generic", "", f64::NAN, f64::NAN), // no cost: not a candidate
        ];
        let front: Vec<&str> = pareto_of(&points)
            .into_iter()
            .map(|i| points[i].name.as_str())
            .collect();
        assert_eq!(front, ["b", "c", "e"]);
    }

    /// A spot fleet's cheap points do not push the on-demand ones off their front.
    #[test]
    fn fronts_are_within_groups() {
        let points = [
            p("hpa", "fleet=on-demand", 5.0, 0.95),
            p("keda", "fleet=on-demand", 6.0, 0.90), // dominated within its group
            p("hpa spot", "fleet=spot", 2.0, 0.97),  // dominates both, other group
            p("keda spot", "fleet=spot", 3.0, 0.96),
        ];
        let front: Vec<&str> = pareto_of(&points)
            .into_iter()
            .map(|i| points[i].name.as_str())
            .collect();
        assert_eq!(front, ["hpa", "hpa spot"]);
        let figure = pareto_figure(&points);
        let fronts: Vec<&str> = figure.charts[0]
            .series
            .iter()
            .filter(|s| s.mark == Mark::Dashed)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(fronts, ["front of fleet=on-demand", "front of fleet=spot"]);
    }
}
