//! What the fleet costs, computed once and attributed once.
//!
//! A node bills from the moment it is requested until it is released (or the run
//! ends), rounded up to its node type's granularity and at least its minimum. The
//! ledger spreads that bill over time exactly: while a node is alive its price accrues
//! continuously, and the rounding — the part of the bill after the release, up to the
//! next granule or the minimum — is charged at the instant the node goes (or at the end,
//! for nodes still alive). So every bill is the integral of a rate plus charges at
//! instants, and any window's cost is the difference of two cumulative totals: the
//! measurement window's cost, each sampling interval's cost and the whole run's cost
//! come from the same numbers and add up.
//!
//! Node time is kept per node type in integer nanoseconds (exact). A node's cost is
//! attributed to the models whose replicas occupy it, in proportion to the accelerators
//! each occupies at the time (a rounding charge goes by the last occupancy), so the
//! models' costs add up to the fleet's.

use inferscale_engine::{SimDuration, SimTime};

use crate::cluster::{NodePool, billed};

/// Seconds per hour, as nanoseconds per hour.
const NS_PER_HOUR: f64 = 3.6e12;

/// A running total that grows at a constant rate between changes and by lumps at
/// instants, and remembers its value when the clock passes the window's start.
#[derive(Clone, Copy, Debug, Default)]
struct Meter<Q: Quantity> {
    /// Growth per nanosecond.
    rate: Q,
    /// Up to when `total` is accounted.
    since: SimTime,
    total: Q,
    /// The total at the window start, once the clock has passed it.
    at_window_start: Option<Q>,
}

/// What a meter counts: exact node-nanoseconds or attributed dollars.
trait Quantity: Copy + Default + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> {
    /// `rate` over `ns` nanoseconds.
    fn over(rate: Self, ns: u64) -> Self;
}

impl Quantity for u128 {
    fn over(rate: Self, ns: u64) -> Self {
        rate * u128::from(ns)
    }
}

impl Quantity for f64 {
    fn over(rate: Self, ns: u64) -> Self {
        rate * ns as f64
    }
}

impl<Q: Quantity> Meter<Q> {
    /// Accounts the time up to `now`, noting the total at `from` on the way past it.
    fn advance(&mut self, now: SimTime, from: SimTime) {
        if now <= self.since {
            return;
        }
        if self.at_window_start.is_none() && self.since <= from && from <= now {
            self.at_window_start =
                Some(self.total + Q::over(self.rate, (from - self.since).as_nanos()));
        }
        self.total = self.total + Q::over(self.rate, (now - self.since).as_nanos());
        self.since = now;
    }

    /// Sets the rate from `now` on.
    fn change_rate(&mut self, now: SimTime, from: SimTime, rate: Q) {
        self.advance(now, from);
        self.rate = rate;
    }

    /// A charge of `amount` at `now` (inside the window when `now ≥ from`).
    fn charge(&mut self, now: SimTime, from: SimTime, amount: Q) {
        self.advance(now, from);
        if now >= from {
            // A charge at the window's first instant belongs to the window.
            self.window_start(from);
        }
        self.total = self.total + amount;
    }

    /// Fixes the total at the window start if the clock is there and it is not yet
    /// recorded.
    fn window_start(&mut self, from: SimTime) -> Q {
        if self.at_window_start.is_none() && self.since == from {
            self.at_window_start = Some(self.total);
        }
        self.at_window_start.unwrap_or_default()
    }

    /// The total at `now` (not before the last change).
    fn value_at(&self, now: SimTime) -> Q {
        self.total + Q::over(self.rate, now.saturating_since(self.since).as_nanos())
    }
}

/// One node's bill.
#[derive(Clone, Debug)]
struct NodeBill {
    pool: usize,
    requested: SimTime,
    released: Option<SimTime>,
    /// Accelerators each model's replicas occupy now.
    occupancy: Vec<(usize, u32)>,
    /// The last non-empty occupancy: who pays the rounding when the node goes.
    last_occupancy: Vec<(usize, u32)>,
}

impl NodeBill {
    fn used(occupancy: &[(usize, u32)]) -> u32 {
        occupancy.iter().map(|&(_, a)| a).sum()
    }
}

/// A node type's account.
#[derive(Clone, Debug)]
struct PoolAccount {
    price_per_hour: f64,
    /// Billed node-nanoseconds; its rate is the number of nodes alive.
    node_ns: Meter<u128>,
    alive: u32,
}

/// A model's account: its share of the nodes it occupies.
#[derive(Clone, Copy, Debug, Default)]
struct ModelAccount {
    /// Dollars.
    dollars: Meter<f64>,
    /// Node-nanoseconds (fractional: a share of a node).
    node_ns: Meter<f64>,
}

/// The fleet's bill, per node type and per model, over time.
#[derive(Clone, Debug)]
pub(crate) struct Ledger {
    /// Start of the measurement window (the end of the warm-up).
    from: SimTime,
    pools: Vec<PoolAccount>,
    pool_terms: Vec<NodePool>,
    models: Vec<ModelAccount>,
    nodes: Vec<NodeBill>,
    /// Closed at the end of the run: what happens after (following the requests still
    /// in flight) is not billed.
    closed: bool,
}

/// A cumulative amount at some instant: from the start of the run, and the part of it
/// before the measurement window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Billed {
    /// Dollars.
    pub dollars: f64,
    /// Node-hours.
    pub node_hours: f64,
}

impl std::ops::Sub for Billed {
    type Output = Billed;
    fn sub(self, other: Billed) -> Billed {
        Billed {
            dollars: self.dollars - other.dollars,
            node_hours: self.node_hours - other.node_hours,
        }
    }
}

impl Ledger {
    /// An empty ledger for `pools` and `models` models, measuring from `from`.
    pub(crate) fn new(pools: &[NodePool], models: usize, from: SimTime) -> Self {
        Ledger {
            from,
            pools: pools
                .iter()
                .map(|p| PoolAccount {
                    price_per_hour: p.node_type.price_per_hour,
                    node_ns: Meter::default(),
                    alive: 0,
                })
                .collect(),
            pool_terms: pools.to_vec(),
            models: vec![ModelAccount::default(); models],
            nodes: Vec::new(),
            closed: false,
        }
    }

    /// A node of `pool` is requested at `now`; returns its index (the cluster's node
    /// index: nodes are requested in the same order).
    pub(crate) fn request_node(&mut self, pool: usize, now: SimTime) -> usize {
        if self.closed {
            // After the end nothing is billed; the node still gets its number.
            self.nodes.push(NodeBill {
                pool,
                requested: now,
                released: Some(now),
                occupancy: Vec::new(),
                last_occupancy: Vec::new(),
            });
            return self.nodes.len() - 1;
        }
        let account = &mut self.pools[pool];
        account.alive += 1;
        account
            .node_ns
            .change_rate(now, self.from, u128::from(account.alive));
        self.nodes.push(NodeBill {
            pool,
            requested: now,
            released: None,
            occupancy: Vec::new(),
            last_occupancy: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// A replica of `model` starts (`delta > 0`) or stops occupying `accelerators` of
    /// `node` at `now`: the node's price is split anew.
    pub(crate) fn occupy(&mut self, node: usize, model: usize, accelerators: i64, now: SimTime) {
        if self.closed {
            return;
        }
        self.set_shares(node, now, -1.0);
        let occupancy = &mut self.nodes[node].occupancy;
        match occupancy.iter().position(|&(m, _)| m == model) {
            Some(i) => {
                let n = (i64::from(occupancy[i].1) + accelerators).max(0) as u32;
                if n == 0 {
                    occupancy.remove(i);
                } else {
                    occupancy[i].1 = n;
                }
            }
            None if accelerators > 0 => occupancy.push((model, accelerators as u32)),
            None => {}
        }
        if !occupancy.is_empty() {
            self.nodes[node].last_occupancy = occupancy.clone();
        }
        self.set_shares(node, now, 1.0);
    }

    /// Adds (`sign` 1) or removes (−1) the node's current shares from its models' rates.
    fn set_shares(&mut self, node: usize, now: SimTime, sign: f64) {
        let bill = &self.nodes[node];
        if bill.released.is_some() {
            return;
        }
        let used = NodeBill::used(&bill.occupancy);
        if used == 0 {
            return;
        }
        let price_per_ns = self.pools[bill.pool].price_per_hour / NS_PER_HOUR;
        for &(model, accelerators) in &bill.occupancy {
            let share = f64::from(accelerators) / f64::from(used);
            let account = &mut self.models[model];
            let dollars = account.dollars.rate + sign * price_per_ns * share;
            let node_ns = account.node_ns.rate + sign * share;
            account.dollars.change_rate(now, self.from, dollars);
            account.node_ns.change_rate(now, self.from, node_ns);
        }
    }

    /// The node goes at `now`: it stops accruing, and the rounding of its bill (up to
    /// the granularity, at least the minimum) is charged now.
    pub(crate) fn release(&mut self, node: usize, now: SimTime) {
        if self.closed || self.nodes[node].released.is_some() {
            return;
        }
        self.set_shares(node, now, -1.0);
        let bill = &mut self.nodes[node];
        bill.released = Some(now);
        let (pool, requested) = (bill.pool, bill.requested);
        let account = &mut self.pools[pool];
        account.alive -= 1;
        account
            .node_ns
            .change_rate(now, self.from, u128::from(account.alive));
        let lifetime = now - requested;
        let rounding = billed(lifetime, &self.pool_terms[pool]).as_nanos() - lifetime.as_nanos();
        self.charge_rounding(node, SimDuration::from_nanos(rounding), now);
    }

    /// Charges `rounding` of node time of `node` at `now`, to its node type and, by
    /// its last occupancy, to its models.
    fn charge_rounding(&mut self, node: usize, rounding: SimDuration, now: SimTime) {
        let ns = rounding.as_nanos();
        let bill = &self.nodes[node];
        let account = &mut self.pools[bill.pool];
        account.node_ns.charge(now, self.from, u128::from(ns));
        let used = NodeBill::used(&bill.last_occupancy);
        let price_per_ns = account.price_per_hour / NS_PER_HOUR;
        for &(model, accelerators) in &bill.last_occupancy {
            let share = f64::from(accelerators) / f64::from(used);
            let m = &mut self.models[model];
            m.dollars
                .charge(now, self.from, price_per_ns * share * ns as f64);
            m.node_ns.charge(now, self.from, share * ns as f64);
        }
    }

    /// The run ends at `end`: nodes still alive are billed to here, their rounding
    /// charged now, and every account is closed at `end`.
    pub(crate) fn close(&mut self, end: SimTime) {
        if self.closed {
            return;
        }
        for node in 0..self.nodes.len() {
            let bill = &self.nodes[node];
            if bill.released.is_none() {
                let lifetime = end - bill.requested;
                let rounding =
                    billed(lifetime, &self.pool_terms[bill.pool]).as_nanos() - lifetime.as_nanos();
                self.charge_rounding(node, SimDuration::from_nanos(rounding), end);
            }
        }
        let from = self.from;
        for p in &mut self.pools {
            p.node_ns.advance(end, from);
            p.node_ns.window_start(from);
        }
        for m in &mut self.models {
            m.dollars.advance(end, from);
            m.dollars.window_start(from);
            m.node_ns.advance(end, from);
            m.node_ns.window_start(from);
        }
        self.closed = true;
    }

    /// Nodes of `pool` alive now.
    pub(crate) fn alive(&self, pool: usize) -> u32 {
        self.pools[pool].alive
    }

    /// What `pool` has billed from the start to `now`.
    pub(crate) fn pool_billed(&self, pool: usize, now: SimTime) -> Billed {
        self.pool_amount(pool, self.pools[pool].node_ns.value_at(now))
    }

    /// What `pool` billed before the measurement window (after [`Ledger::close`]).
    pub(crate) fn pool_before_window(&self, pool: usize) -> Billed {
        self.pool_amount(pool, self.pools[pool].node_ns.at_window_start.unwrap_or(0))
    }

    /// `ns` node-nanoseconds of `pool` in dollars and node-hours.
    fn pool_amount(&self, pool: usize, ns: u128) -> Billed {
        let hours = ns as f64 / NS_PER_HOUR;
        Billed {
            dollars: hours * self.pools[pool].price_per_hour,
            node_hours: hours,
        }
    }

    /// What `model` has been attributed from the start to `now`.
    pub(crate) fn model_billed(&self, model: usize, now: SimTime) -> Billed {
        let m = &self.models[model];
        Billed {
            dollars: m.dollars.value_at(now),
            node_hours: m.node_ns.value_at(now) / NS_PER_HOUR,
        }
    }

    /// What `model` was attributed before the measurement window (after
    /// [`Ledger::close`]).
    pub(crate) fn model_before_window(&self, model: usize) -> Billed {
        let m = &self.models[model];
        Billed {
            dollars: m.dollars.at_window_start.unwrap_or(0.0),
            node_hours: m.node_ns.at_window_start.unwrap_or(0.0) / NS_PER_HOUR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AcceleratorSpec, DeviceKind, NodeType};
    use inferscale_engine::Dist;

    fn pool(price: f64, granularity_s: u64, minimum_s: u64) -> NodePool {
        NodePool {
            node_type: NodeType {
                name: "n".into(),
                accelerator: AcceleratorSpec {
                    kind: DeviceKind::Gpu,
                    peak_flops: 300e12,
                    peak_int8_ops: None,
                    memory_bytes: 80e9,
                    memory_bandwidth: 2e12,
                    interconnect_bandwidth: 300e9,
                },
                accelerators_per_node: 8,
                price_per_hour: price,
                spot_price_per_hour: None,
                boot_time: Dist::deterministic(60.0).unwrap(),
                load_bandwidth: 1e9,
                max_count: None,
            },
            billing_granularity: SimDuration::from_secs(granularity_s),
            billing_minimum: SimDuration::from_secs(minimum_s),
            spot: None,
        }
    }

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    /// A node alive 30 min at $36/h with hourly granularity bills a full hour: 30 min
    /// accrue while it lives and the other 30 are charged when it goes. The window
    /// [20 min, end] gets 10 accrued minutes and the whole rounding.
    #[test]
    fn rounding_is_charged_when_the_node_goes() {
        let mut l = Ledger::new(&[pool(36.0, 3600, 0)], 1, t(1200));
        let n = l.request_node(0, t(0));
        l.occupy(n, 0, 1, t(0));
        l.occupy(n, 0, -1, t(1800));
        l.release(n, t(1800));
        l.close(t(7200));
        let total = l.pool_billed(0, t(7200));
        assert_eq!(total.node_hours, 1.0);
        assert_eq!(total.dollars, 36.0);
        let before = l.pool_before_window(0);
        assert!((before.dollars - 12.0).abs() < 1e-12, "{before:?}");
        let model = l.model_billed(0, t(7200));
        assert!((model.dollars - 36.0).abs() < 1e-9);
        assert!((l.model_before_window(0).dollars - 12.0).abs() < 1e-9);
    }

    /// Two models sharing a node pay by accelerators while both are on it; the one
    /// left alone pays the rest, and the minimum's rounding at the end.
    #[test]
    fn shares_follow_occupancy_and_add_up() {
        let mut l = Ledger::new(&[pool(8.0, 1, 7200)], 2, t(0));
        let n = l.request_node(0, t(0));
        l.occupy(n, 0, 2, t(0));
        l.occupy(n, 1, 6, t(0));
        // An hour shared 2:6, then model 1 leaves and model 0 has the node alone.
        l.occupy(n, 1, -6, t(3600));
        l.close(t(5400));
        // Billed 2 h (the minimum) at $8/h: $16.
        let total = l.pool_billed(0, t(5400)).dollars;
        assert_eq!(total, 16.0);
        let a = l.model_billed(0, t(5400)).dollars;
        let b = l.model_billed(1, t(5400)).dollars;
        // Model 1: 6/8 of one hour = $6. Model 0: 2/8 h + 0.5 h + 0.5 h rounding = $10.
        assert!((b - 6.0).abs() < 1e-9, "{b}");
        assert!((a - 10.0).abs() < 1e-9, "{a}");
        assert!((a + b - total).abs() < 1e-9);
    }

    /// A window that starts after a node went keeps nothing of it, and totals at any
    /// instant are cumulative.
    #[test]
    fn the_window_start_is_remembered_on_the_way_past() {
        let mut l = Ledger::new(&[pool(3.6, 1, 0)], 1, t(100));
        let n = l.request_node(0, t(0));
        l.occupy(n, 0, 1, t(0));
        l.occupy(n, 0, -1, t(50));
        l.release(n, t(50));
        let m = l.request_node(0, t(200));
        l.occupy(m, 0, 1, t(200));
        l.close(t(300));
        let before = l.pool_before_window(0);
        let total = l.pool_billed(0, t(300));
        // 50 s before the window, 100 s in it, at $0.001/s.
        assert!((before.dollars - 0.05).abs() < 1e-12);
        assert!((total.dollars - before.dollars - 0.1).abs() < 1e-12);
        assert_eq!(l.alive(0), 1);
    }
}
