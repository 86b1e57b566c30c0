//! Cost-optimal fleet mixes: how many nodes of each type to run so that their capacity
//! covers the demand at least cost — a small integer program (minimise Σ price·n
//! subject to Σ capacity·n ≥ demand, quotas, and a cap on the spot share), solved
//! exactly by depth-first branch and bound.

/// One kind of node the decider may buy.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeOption {
    /// A name for logs (`gpu-spot`).
    pub name: String,
    /// Price per hour.
    pub price_per_hour: f64,
    /// Demand units (e.g. requests/s at the SLA) one node serves.
    pub capacity: f64,
    /// Most nodes of this kind.
    pub quota: u32,
    /// Spot capacity (counts against the spot share).
    pub spot: bool,
}

/// The chosen counts, in the order of the options, with their cost per hour.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// Nodes per option.
    pub counts: Vec<u32>,
    /// Σ price · count.
    pub cost_per_hour: f64,
    /// Σ capacity · count.
    pub capacity: f64,
}

/// The cheapest mix whose capacity covers `demand`, with spot capacity at most
/// `max_spot_share` of the total capacity; ties go to fewer nodes, then to earlier
/// options. `None` when even every quota together falls short.
pub fn cheapest_mix(options: &[NodeOption], demand: f64, max_spot_share: f64) -> Option<Mix> {
    cheapest_mix_within(options, demand, max_spot_share, 0, u32::MAX)
}

/// [`cheapest_mix`] with at least `min_total` and at most `max_total` nodes in all (a
/// decider's `min` and `max`). `None` when no mix within the bounds and quotas covers
/// the demand.
pub fn cheapest_mix_within(
    options: &[NodeOption],
    demand: f64,
    max_spot_share: f64,
    min_total: u32,
    max_total: u32,
) -> Option<Mix> {
    let bounds = Bounds {
        demand: demand.max(0.0),
        max_spot_share,
        min_total,
        max_total,
    };
    let mut best: Option<Mix> = None;
    let mut counts = vec![0u32; options.len()];
    search(
        options,
        &bounds,
        0,
        &mut counts,
        Partial::default(),
        &mut best,
    );
    best
}

/// The mix with the most capacity within the quotas and `max_total` nodes: what to run
/// when no mix covers the demand (largest capacity per node first).
pub fn largest_mix(options: &[NodeOption], max_total: u32) -> Mix {
    let mut order: Vec<usize> = (0..options.len()).collect();
    order.sort_by(|&a, &b| options[b].capacity.total_cmp(&options[a].capacity));
    let mut counts = vec![0u32; options.len()];
    let mut left = max_total;
    for i in order {
        counts[i] = options[i].quota.min(left);
        left -= counts[i];
    }
    let sum = |f: fn(&NodeOption) -> f64| -> f64 {
        options
            .iter()
            .zip(&counts)
            .map(|(o, &n)| f(o) * f64::from(n))
            .sum()
    };
    Mix {
        cost_per_hour: sum(|o| o.price_per_hour),
        capacity: sum(|o| o.capacity),
        counts,
    }
}

/// The constraints of one search.
struct Bounds {
    demand: f64,
    max_spot_share: f64,
    min_total: u32,
    max_total: u32,
}

/// The sums of the counts chosen so far.
#[derive(Clone, Copy, Default)]
struct Partial {
    cost: f64,
    capacity: f64,
    spot_capacity: f64,
    nodes: u32,
}

fn search(
    options: &[NodeOption],
    b: &Bounds,
    i: usize,
    counts: &mut Vec<u32>,
    p: Partial,
    best: &mut Option<Mix>,
) {
    if let Some(best) = best
        && p.cost > best.cost_per_hour + 1e-12
    {
        return;
    }
    if p.capacity + 1e-9 >= b.demand && p.nodes >= b.min_total {
        let spot_ok = p.spot_capacity <= b.max_spot_share * p.capacity + 1e-9;
        let better = match best {
            None => true,
            Some(best) => {
                p.cost < best.cost_per_hour - 1e-12
                    || ((p.cost - best.cost_per_hour).abs() <= 1e-12
                        && p.nodes < best.counts.iter().sum::<u32>())
            }
        };
        if spot_ok && better {
            *best = Some(Mix {
                counts: counts.clone(),
                cost_per_hour: p.cost,
                capacity: p.capacity,
            });
        }
        if spot_ok {
            return;
        }
    }
    if i == options.len() {
        return;
    }
    let o = &options[i];
    // More nodes than the demand or the minimum needs only cost more, except spot
    // ones, whose count is bounded by the spot share instead.
    let needed = ((b.demand - p.capacity).max(0.0) / o.capacity).ceil() as u32;
    let wanted = needed.max(b.min_total.saturating_sub(p.nodes));
    let room = b.max_total.saturating_sub(p.nodes);
    let upper = if o.spot { o.quota } else { wanted.min(o.quota) }.min(room);
    for n in (0..=upper).rev() {
        counts[i] = n;
        let k = f64::from(n);
        let next = Partial {
            cost: p.cost + k * o.price_per_hour,
            capacity: p.capacity + k * o.capacity,
            spot_capacity: p.spot_capacity + if o.spot { k * o.capacity } else { 0.0 },
            nodes: p.nodes + n,
        };
        search(options, b, i + 1, counts, next, best);
    }
    counts[i] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_gpu() -> Vec<NodeOption> {
        vec![
            NodeOption {
                name: "cpu".into(),
                price_per_hour: 0.5,
                capacity: 2.0,
                quota: 100,
                spot: false,
            },
            NodeOption {
                name: "gpu".into(),
                price_per_hour: 4.0,
                capacity: 40.0,
                quota: 10,
                spot: false,
            },
        ]
    }

    /// By hand: a CPU node costs 0.25 $/h per req/s, a GPU node 0.10, but a GPU comes in
    /// 40 req/s lumps. CPUs win while ⌈D/2⌉·0.5 < 4, i.e. up to D = 14 (7 CPUs, $3.5);
    /// at D = 16 they tie at $4 (8 CPUs or 1 GPU; the tie goes to fewer nodes); above
    /// that one GPU is cheaper until 40, then GPU + CPUs for the remainder below 8 CPUs.
    #[test]
    fn low_load_buys_cpus_high_load_buys_gpus() {
        for demand in 1..=120u32 {
            let d = f64::from(demand);
            let mix = cheapest_mix(&cpu_gpu(), d, 0.0).unwrap();
            // Brute force over every count as an independent check.
            let mut brute = f64::INFINITY;
            for g in 0..=10u32 {
                let rest = (d - 40.0 * f64::from(g)).max(0.0);
                let c = (rest / 2.0).ceil();
                brute = brute.min(4.0 * f64::from(g) + 0.5 * c);
            }
            assert!(
                (mix.cost_per_hour - brute).abs() < 1e-9,
                "D={d}: {mix:?} vs {brute}"
            );
            if demand <= 14 {
                assert_eq!(mix.counts, [demand.div_ceil(2), 0], "D={d}");
            } else if (16..=40).contains(&demand) {
                assert_eq!(mix.counts, [0, 1], "D={d}");
            }
        }
    }

    #[test]
    fn spot_share_and_quotas_are_respected() {
        let mut options = cpu_gpu();
        options.push(NodeOption {
            name: "gpu-spot".into(),
            price_per_hour: 1.5,
            capacity: 40.0,
            quota: 10,
            spot: true,
        });
        let all_spot = cheapest_mix(&options, 80.0, 1.0).unwrap();
        assert_eq!(all_spot.counts, [0, 0, 2]);
        let half = cheapest_mix(&options, 80.0, 0.5).unwrap();
        assert_eq!(half.counts, [0, 1, 1]);
        assert!(cheapest_mix(&cpu_gpu(), 1000.0, 0.0).is_none());
    }

    /// A floor and a ceiling on the total: at demand 1 the cheapest is one CPU node, but
    /// with at least three nodes it is three CPU nodes ($1.5 < a GPU's $4); a ceiling
    /// of 2 nodes cannot cover 100 req/s, and the largest mix within it is two GPUs.
    #[test]
    fn min_and_max_bound_the_total() {
        let free = cheapest_mix(&cpu_gpu(), 1.0, 0.0).unwrap();
        assert_eq!(free.counts, [1, 0]);
        let floor = cheapest_mix_within(&cpu_gpu(), 1.0, 0.0, 3, 100).unwrap();
        assert_eq!(floor.counts, [3, 0]);
        assert!((floor.cost_per_hour - 1.5).abs() < 1e-12);
        // With a floor of 9, nine CPUs ($4.5), not a GPU and eight CPUs ($8).
        let nine = cheapest_mix_within(&cpu_gpu(), 1.0, 0.0, 9, 100).unwrap();
        assert_eq!(nine.counts, [9, 0]);
        assert!(cheapest_mix_within(&cpu_gpu(), 100.0, 0.0, 0, 2).is_none());
        let largest = largest_mix(&cpu_gpu(), 2);
        assert_eq!(largest.counts, [0, 2]);
        assert_eq!(largest.capacity, 80.0);
        // Brute force over every pair of counts for a range of floors and demands.
        for floor in 0..6u32 {
            for demand in [0.0, 3.0, 15.0, 41.0, 90.0] {
                let mix = cheapest_mix_within(&cpu_gpu(), demand, 0.0, floor, 12).unwrap();
                let mut brute = f64::INFINITY;
                for c in 0..=12u32 {
                    for g in 0..=(12 - c).min(10) {
                        let cap = 2.0 * f64::from(c) + 40.0 * f64::from(g);
                        if cap + 1e-9 >= demand && c + g >= floor {
                            brute = brute.min(0.5 * f64::from(c) + 4.0 * f64::from(g));
                        }
                    }
                }
                assert!(
                    (mix.cost_per_hour - brute).abs() < 1e-9,
                    "floor {floor}, demand {demand}: {mix:?} vs {brute}"
                );
            }
        }
    }
}
