//! The decide stage: from the monitor's metrics (and a forecast, when a predictor is
//! configured) to a replica count.
//!
//! Metric-driven deciders (threshold, target tracking, HPA, KPA) take the predictor's
//! forecast as a load ratio: their observed metric is scaled by forecast rate /
//! observed rate, so any decider can take its input from any predictor (a last-value
//! predictor leaves them exactly as the real systems behave).

use std::collections::VecDeque;

use crate::hpa::{Hpa, MetricObservation, Pod, PodPhase, ReadyCondition, Sample};
use crate::kpa::Kpa;
use crate::monitor::Metrics;
use crate::queueing::servers_for_percentile;

/// What a decider is given at a tick.
#[derive(Clone, Debug)]
pub struct DecideInput<'a> {
    /// The monitor's view.
    pub metrics: &'a Metrics,
    /// Forecast arrival rate (per second) at the decision horizon, if a predictor is
    /// configured and has one.
    pub forecast_per_s: Option<f64>,
    /// The largest forecast over the time a decision cannot react within: from now to
    /// now + the provisioning lead time + the horizon. What a sizing decider plans
    /// for; `None` without a forecast, or for a decider that does not plan for it
    /// ([`Decider::plans_for_peak`]).
    pub peak_forecast_per_s: Option<f64>,
    /// The control interval, seconds.
    pub interval_s: f64,
}

impl DecideInput<'_> {
    /// The rate at the horizon: the forecast, else the observed window rate.
    pub fn demand_per_s(&self) -> f64 {
        self.forecast_per_s.unwrap_or(self.metrics.arrival_rate)
    }

    /// The rate a sizing decider plans for: the largest forecast until capacity
    /// asked for now could be replaced by the next decision's (the peak over the lead
    /// time and the horizon), else the observed window rate.
    pub fn sizing_demand_per_s(&self) -> f64 {
        self.peak_forecast_per_s
            .or(self.forecast_per_s)
            .unwrap_or(self.metrics.arrival_rate)
    }

    /// Forecast load relative to the observed load (1 without a forecast).
    pub fn load_ratio(&self) -> f64 {
        match self.forecast_per_s {
            Some(f) if self.metrics.arrival_rate > 0.0 => (f / self.metrics.arrival_rate).max(0.0),
            _ => 1.0,
        }
    }
}

/// A decision: the replica count wanted, and why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Replicas wanted (`None`: leave the count alone).
    pub replicas: Option<u32>,
    /// Why, for the action log.
    pub reason: String,
    /// Counts for other models (variants of this one on other node types), by model
    /// index: how a decider sizes a mixed fleet.
    pub others: Vec<(usize, u32)>,
}

/// A decider: one per model, stateful (cooldowns, histories).
pub trait Decider: Send {
    /// The decision at this tick.
    fn decide(&mut self, input: &DecideInput) -> Decision;

    /// Whether it reads [`DecideInput::peak_forecast_per_s`]: the loop computes the
    /// peak over the lookahead (one forecast per interval of it) only for deciders
    /// that plan for it, the sizing ones.
    fn plans_for_peak(&self) -> bool {
        false
    }
}

/// Which per-replica metric a rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaMetric {
    /// Busy fraction of ready replicas (0–1): the analogue of CPU utilization.
    Utilization,
    /// Requests in flight per ready replica.
    Concurrency,
    /// The model's 99th percentile time to first token over the last interval,
    /// seconds: a latency signal, not scaled by the forecast (an interval without
    /// first tokens gives no signal).
    TtftP99,
    /// Share of the ready replicas' KV cache in use (0–1; vLLM's
    /// `gpu_cache_usage_perc`, what the Dynamo planner scales decode on).
    KvUtilization,
    /// Requests waiting for admission per ready replica (vLLM's
    /// `num_requests_waiting`; the router's backlog included).
    QueueLength,
}

/// The metric's value, scaled by the forecast's load ratio where it is a load.
fn metric_value(metric: ReplicaMetric, input: &DecideInput) -> f64 {
    let m = input.metrics;
    match metric {
        ReplicaMetric::Utilization => m.utilization * input.load_ratio(),
        ReplicaMetric::Concurrency => {
            m.in_flight / f64::from(m.latest.ready.max(1)) * input.load_ratio()
        }
        ReplicaMetric::TtftP99 => m.latest.ttft_p99_s,
        ReplicaMetric::KvUtilization => m.latest.kv_utilization * input.load_ratio(),
        ReplicaMetric::QueueLength => {
            m.latest.waiting / f64::from(m.latest.ready.max(1)) * input.load_ratio()
        }
    }
}

fn clamp(n: i64, min: u32, max: u32) -> u32 {
    n.clamp(i64::from(min), i64::from(max.max(min))) as u32
}

/// Holds a sizing decider's demand from falling for a window: the demand acted on is
/// the largest of those seen within the last `window_s` seconds, so capacity goes
/// only once the load has stayed lower that long — the HPA's scale-down
/// stabilization. Rises take effect at once.
#[derive(Clone, Debug)]
pub struct Stabilizer {
    /// The window, seconds (0: no hold).
    pub window_s: f64,
    history: VecDeque<(f64, f64)>,
}

impl Stabilizer {
    /// A stabilizer over `window_s` seconds.
    pub fn new(window_s: f64) -> Self {
        Stabilizer {
            window_s,
            history: VecDeque::new(),
        }
    }

    /// Records `value` at `now_s` and returns the largest value of the window (an
    /// entry exactly `window_s` old has left it, as in the HPA).
    pub fn hold(&mut self, now_s: f64, value: f64) -> f64 {
        while self
            .history
            .front()
            .is_some_and(|&(t, _)| now_s - t >= self.window_s)
        {
            self.history.pop_front();
        }
        // An entry a newer, larger one covers can never be the maximum again.
        while self.history.back().is_some_and(|&(_, v)| v <= value) {
            self.history.pop_back();
        }
        self.history.push_back((now_s, value));
        self.history.front().map_or(value, |&(_, v)| v)
    }
}

/// A fixed count (or no action at all), within `min` and `max`.
#[derive(Clone, Debug)]
pub struct Static {
    /// The count to hold; `None` leaves the scenario's replicas as they are.
    pub replicas: Option<u32>,
    /// Bounds.
    pub min: u32,
    /// Bounds.
    pub max: u32,
}

impl Decider for Static {
    fn decide(&mut self, _input: &DecideInput) -> Decision {
        Decision {
            replicas: self
                .replicas
                .map(|n| clamp(i64::from(n), self.min, self.max)),
            reason: "static".into(),
            ..Default::default()
        }
    }
}

/// Step scaling: above `upper` add `step_up` replicas, below `lower` remove
/// `step_down`, each direction then waits out its cooldown.
#[derive(Clone, Debug)]
pub struct Threshold {
    /// The metric.
    pub metric: ReplicaMetric,
    /// Scale out above this.
    pub upper: f64,
    /// Scale in below this.
    pub lower: f64,
    /// Replicas added per step.
    pub step_up: u32,
    /// Replicas removed per step.
    pub step_down: u32,
    /// Wait after a scale-out, seconds.
    pub cooldown_up_s: f64,
    /// Wait after a scale-in, seconds.
    pub cooldown_down_s: f64,
    /// Bounds.
    pub min: u32,
    /// Bounds.
    pub max: u32,
    /// When the last step was taken.
    pub last_step_s: Option<f64>,
}

impl Decider for Threshold {
    fn decide(&mut self, input: &DecideInput) -> Decision {
        let m = input.metrics;
        let value = metric_value(self.metric, input);
        let current = i64::from(m.latest.desired);
        let since = self.last_step_s.map_or(f64::INFINITY, |t| m.now_s - t);
        let (target, reason) = if value > self.upper && since >= self.cooldown_up_s {
            (
                current + i64::from(self.step_up),
                format!("threshold: {value:.3} > {}", self.upper),
            )
        } else if value < self.lower && since >= self.cooldown_down_s {
            (
                current - i64::from(self.step_down),
                format!("threshold: {value:.3} < {}", self.lower),
            )
        } else {
            (current, String::new())
        };
        let replicas = clamp(target, self.min, self.max);
        if i64::from(replicas) != current {
            self.last_step_s = Some(m.now_s);
        }
        Decision {
            replicas: Some(replicas),
            reason,
            ..Default::default()
        }
    }
}

/// Target tracking (AWS-style): `ceil(current × metric / target)`; scale-out at once
/// (after its cooldown), scale-in only after the scale-in cooldown.
#[derive(Clone, Debug)]
pub struct TargetTracking {
    /// The metric.
    pub metric: ReplicaMetric,
    /// Per-replica target value.
    pub target: f64,
    /// Wait after a scale-out, seconds.
    pub scale_out_cooldown_s: f64,
    /// Wait after a scale-in, seconds.
    pub scale_in_cooldown_s: f64,
    /// Bounds.
    pub min: u32,
    /// Bounds.
    pub max: u32,
    /// Last scale-out and scale-in times.
    pub last_out_s: Option<f64>,
    /// See `last_out_s`.
    pub last_in_s: Option<f64>,
}

impl Decider for TargetTracking {
    fn decide(&mut self, input: &DecideInput) -> Decision {
        let m = input.metrics;
        let value = metric_value(self.metric, input);
        if value.is_nan() {
            return Decision {
                replicas: None,
                reason: "target tracking: no signal".into(),
                ..Default::default()
            };
        }
        let current = m.latest.desired;
        let basis = f64::from(m.latest.ready.max(1));
        let wanted = clamp(
            (basis * value / self.target).ceil() as i64,
            self.min,
            self.max,
        );
        let since = |t: Option<f64>| t.map_or(f64::INFINITY, |t| m.now_s - t);
        let replicas = if wanted > current && since(self.last_out_s) >= self.scale_out_cooldown_s {
            self.last_out_s = Some(m.now_s);
            wanted
        } else if wanted < current
            && since(self.last_in_s) >= self.scale_in_cooldown_s
            && since(self.last_out_s) >= self.scale_in_cooldown_s
        {
            self.last_in_s = Some(m.now_s);
            wanted
        } else {
            current
        };
        Decision {
            replicas: Some(replicas),
            reason: format!("target tracking: {value:.3} per replica vs {}", self.target),
            ..Default::default()
        }
    }
}

/// Which HPA metric the simulator feeds.
#[derive(Clone, Debug, PartialEq)]
pub enum HpaMetricSource {
    /// `Resource` `cpu`: each replica's busy fraction as millicores of a 1-core request.
    Cpu,
    /// `Pods` `concurrency`: requests in flight per pod (milli-units).
    Concurrency,
    /// `External` `arrival_rate` (requests/s, milli-units).
    ArrivalRate,
    /// `External` `queue_length`: requests waiting at the router.
    QueueLength,
}

/// The Kubernetes HPA, fed from the monitor.
#[derive(Clone, Debug)]
pub struct HpaDecider {
    /// The controller.
    pub hpa: Hpa,
    /// Where each of `hpa.metrics` comes from.
    pub sources: Vec<HpaMetricSource>,
}

impl HpaDecider {
    fn pods(m: &Metrics, ratio: f64, concurrency: bool) -> Vec<Pod> {
        m.latest
            .replicas
            .iter()
            .map(|r| {
                let ready = r.ready_since_s.is_some();
                let value = if concurrency {
                    f64::from(r.in_flight)
                } else {
                    r.busy_fraction
                };
                Pod {
                    // A replica waiting for its node has no container yet; one loading
                    // weights is running but not ready.
                    phase: if ready || r.created_s + 1e-9 < m.latest.t_s {
                        PodPhase::Running
                    } else {
                        PodPhase::Pending
                    },
                    deleting: r.draining,
                    start_s: Some(r.created_s),
                    ready: Some(ReadyCondition {
                        ready,
                        last_transition_s: r.ready_since_s.unwrap_or(r.created_s),
                    }),
                    request_m: 1000,
                    sample: ready.then(|| Sample {
                        value_m: (value * ratio * 1000.0).round() as i64,
                        timestamp_s: m.latest.t_s,
                        window_s: 15.0,
                    }),
                }
            })
            .collect()
    }
}

impl Decider for HpaDecider {
    fn decide(&mut self, input: &DecideInput) -> Decision {
        let m = input.metrics;
        let ratio = input.load_ratio();
        let observations: Vec<MetricObservation> = self
            .sources
            .iter()
            .map(|s| match s {
                HpaMetricSource::Cpu => MetricObservation::PerPod {
                    pods: Self::pods(m, ratio, false),
                    extra_m: Vec::new(),
                },
                HpaMetricSource::Concurrency => MetricObservation::PerPod {
                    pods: Self::pods(m, ratio, true),
                    extra_m: Vec::new(),
                },
                HpaMetricSource::ArrivalRate => {
                    MetricObservation::Values(vec![(input.demand_per_s() * 1000.0).round() as i64])
                }
                HpaMetricSource::QueueLength => MetricObservation::Values(vec![
                    (m.latest.router_queue * ratio * 1000.0).round() as i64,
                ]),
            })
            .collect();
        let spec = i64::from(m.latest.desired);
        let out = self.hpa.reconcile(
            m.now_s,
            spec,
            spec,
            i64::from(m.latest.ready),
            &observations,
        );
        Decision {
            replicas: out.desired.map(|d| d.max(0) as u32),
            reason: format!("hpa: {}", out.condition.name()),
            ..Default::default()
        }
    }
}

/// Knative's KPA with its bounds and scale to zero.
#[derive(Clone, Debug)]
pub struct KpaDecider {
    /// The decider.
    pub kpa: Kpa,
    /// Panic window, seconds.
    pub panic_window_s: f64,
    /// `min-scale`.
    pub min: u32,
    /// `max-scale` (0: unbounded).
    pub max: u32,
    /// Scale the revision to zero when idle.
    pub scale_to_zero: bool,
    /// `scale-to-zero-grace-period`, seconds.
    pub grace_period_s: f64,
    /// Requests per second instead of concurrency.
    pub rps: bool,
    /// Since when the decider has wanted zero.
    pub zero_since_s: Option<f64>,
}

impl Decider for KpaDecider {
    fn decide(&mut self, input: &DecideInput) -> Decision {
        let m = input.metrics;
        let ratio = input.load_ratio();
        let stable_w = self.kpa.spec.stable_window_s;
        let stable = m.in_flight_window(stable_w, self.rps) * ratio;
        let panic = m.in_flight_window(self.panic_window_s, self.rps) * ratio;
        let r = self
            .kpa
            .scale(m.now_s, i64::from(m.latest.ready), stable, panic);
        let mut desired = r.desired.max(0) as u32;
        if self.max > 0 {
            desired = desired.min(self.max);
        }
        desired = desired.max(self.min);
        if desired == 0 {
            if !self.scale_to_zero {
                desired = 1;
            } else {
                let since = *self.zero_since_s.get_or_insert(m.now_s);
                if m.now_s - since < stable_w.max(self.grace_period_s) {
                    desired = m.latest.desired.min(1);
                }
            }
        } else {
            self.zero_since_s = None;
        }
        Decision {
            replicas: Some(desired),
            reason: format!(
                "kpa: stable {stable:.2}, panic {panic:.2}{}",
                if self.kpa.panic_time_s.is_some() {
                    ", panicking"
                } else {
                    ""
                }
            ),
            ..Default::default()
        }
    }
}

/// Queueing-model sizing: each replica is `servers_per_replica` exponential servers at
/// `service_rate` per second; the count is the smallest whose M/M/c response-time
/// `percentile` meets `target_s` for the demand (Erlang C). The demand is the largest
/// forecast until a new replica could be ready (see
/// [`DecideInput::sizing_demand_per_s`]), held by the stabilizer so it scales in only
/// once the load has stayed lower for its window.
#[derive(Clone, Debug)]
pub struct Queueing {
    /// Per-server service rate, per second.
    pub service_rate: f64,
    /// Parallel servers per replica (batch slots).
    pub servers_per_replica: u32,
    /// The percentile of the response time that must meet the target (0.99).
    pub percentile: f64,
    /// The response-time target, seconds.
    pub target_s: f64,
    /// Bounds.
    pub min: u32,
    /// Bounds.
    pub max: u32,
    /// Holds the demand from falling for its window.
    pub stabilizer: Stabilizer,
}

impl Decider for Queueing {
    fn plans_for_peak(&self) -> bool {
        true
    }

    fn decide(&mut self, input: &DecideInput) -> Decision {
        let lambda = self
            .stabilizer
            .hold(input.metrics.now_s, input.sizing_demand_per_s());
        let k = self.servers_per_replica.max(1);
        let servers = servers_for_percentile(
            lambda,
            self.service_rate,
            self.percentile,
            self.target_s,
            self.max.saturating_mul(k),
        );
        let replicas = servers.div_ceil(k).clamp(self.min, self.max);
        Decision {
            replicas: Some(replicas),
            reason: format!(
                "queueing: {lambda:.2}/s needs {servers} servers for p{} ≤ {} s",
                self.percentile * 100.0,
                self.target_s
            ),
            ..Default::default()
        }
    }
}

/// Cost-optimal sizing of a mixed fleet: for the demand (divided by `headroom`), the
/// cheapest number of replicas of each variant of the model (each on its node type,
/// with its per-replica capacity and price share) that covers it, with `min` to `max`
/// replicas in all — an exact small integer program
/// ([`crate::cost::cheapest_mix_within`]). The demand is the largest forecast until
/// new replicas could be ready, held by the stabilizer, as for [`Queueing`].
#[derive(Clone, Debug)]
pub struct CostOptimal {
    /// The loop's own model (it gets `Decision::replicas`).
    pub own_model: usize,
    /// One per variant (the loop's own model among them): its model index and its
    /// price, capacity and quota per replica.
    pub options: Vec<(usize, crate::cost::NodeOption)>,
    /// Plan for demand / headroom (e.g. 0.8: keep 20 % spare).
    pub headroom: f64,
    /// Most spot capacity as a share of the total.
    pub max_spot_share: f64,
    /// Fewest replicas over all variants.
    pub min: u32,
    /// Most replicas over all variants.
    pub max: u32,
    /// Holds the demand from falling for its window.
    pub stabilizer: Stabilizer,
}

impl Decider for CostOptimal {
    fn plans_for_peak(&self) -> bool {
        true
    }

    fn decide(&mut self, input: &DecideInput) -> Decision {
        let held = self
            .stabilizer
            .hold(input.metrics.now_s, input.sizing_demand_per_s());
        let demand = held / self.headroom.max(1e-9);
        let options: Vec<crate::cost::NodeOption> =
            self.options.iter().map(|(_, o)| o.clone()).collect();
        let max = self.max.max(self.min);
        let (counts, reason) = match crate::cost::cheapest_mix_within(
            &options,
            demand,
            self.max_spot_share,
            self.min,
            max,
        ) {
            Some(mix) => (
                mix.counts,
                format!(
                    "cost_optimal: {demand:.2}/s for ${:.2}/h",
                    mix.cost_per_hour
                ),
            ),
            // Nothing within the quotas and `max` covers it: the most capacity there is.
            None => (
                crate::cost::largest_mix(&options, max).counts,
                format!("cost_optimal: {demand:.2}/s exceeds the quotas and `max`"),
            ),
        };
        let mut decision = Decision {
            reason,
            ..Default::default()
        };
        for ((model, _), n) in self.options.iter().zip(counts) {
            if *model == self.own_model {
                decision.replicas = Some(n);
            } else {
                decision.others.push((*model, n));
            }
        }
        decision
    }
}

/// A time-of-day table: from each offset into the period, this many replicas (within
/// `min` and `max`).
#[derive(Clone, Debug)]
pub struct Scheduled {
    /// (offset into the period in seconds, replicas), sorted by offset.
    pub table: Vec<(f64, u32)>,
    /// The period, seconds (86,400 for a day).
    pub period_s: f64,
    /// Bounds.
    pub min: u32,
    /// Bounds.
    pub max: u32,
}

impl Decider for Scheduled {
    fn decide(&mut self, input: &DecideInput) -> Decision {
        let t = input.metrics.now_s.rem_euclid(self.period_s);
        let replicas = self
            .table
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .or(self.table.last())
            .map(|&(_, r)| clamp(i64::from(r), self.min, self.max));
        Decision {
            replicas,
            reason: "scheduled".into(),
            ..Default::default()
        }
    }
}

impl Metrics {
    /// Mean in-flight requests (or arrival rate) over the newest `window_s` of the
    /// monitor's reports; falls back to the window mean the monitor computed.
    pub fn in_flight_window(&self, window_s: f64, rps: bool) -> f64 {
        match &self.window_history {
            Some(h) => Metrics::window_mean(h, self.latest.t_s, window_s, |s| {
                if rps { s.arrival_rate } else { s.in_flight }
            }),
            None => {
                if rps {
                    self.arrival_rate
                } else {
                    self.in_flight
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Snapshot;

    fn metrics(now_s: f64, rate: f64, utilization: f64, desired: u32, ready: u32) -> Metrics {
        Metrics {
            now_s,
            latest: Snapshot {
                t_s: now_s,
                arrival_rate: rate,
                utilization,
                in_flight: 0.0,
                router_queue: 0.0,
                kv_utilization: 0.0,
                cache_hit_rate: f64::NAN,
                waiting: 0.0,
                ttft_p99_s: f64::NAN,
                output_tokens_per_s: 0.0,
                desired,
                ready,
                replicas: Vec::new(),
            },
            arrival_rate: rate,
            utilization,
            in_flight: 0.0,
            window_history: None,
        }
    }

    /// KV use is read as a share and scaled by the forecast like a load; the queue
    /// length is the waiting requests per ready replica.
    #[test]
    fn kv_utilization_and_queue_length_are_read_per_replica() {
        let mut m = metrics(0.0, 10.0, 0.5, 4, 4);
        m.latest.kv_utilization = 0.6;
        m.latest.waiting = 10.0;
        let input = |forecast: Option<f64>| DecideInput {
            metrics: &m,
            forecast_per_s: forecast,
            peak_forecast_per_s: None,
            interval_s: 15.0,
        };
        assert_eq!(
            metric_value(ReplicaMetric::KvUtilization, &input(None)),
            0.6
        );
        assert_eq!(metric_value(ReplicaMetric::QueueLength, &input(None)), 2.5);
        assert_eq!(
            metric_value(ReplicaMetric::KvUtilization, &input(Some(15.0))),
            0.6 * 1.5
        );
        // A threshold on the queue: 2.5 waiting per replica is above 2, one step out.
        let mut t = Threshold {
            metric: ReplicaMetric::QueueLength,
            upper: 2.0,
            lower: 0.5,
            step_up: 1,
            step_down: 1,
            cooldown_up_s: 0.0,
            cooldown_down_s: 0.0,
            min: 1,
            max: 10,
            last_step_s: None,
        };
        assert_eq!(t.decide(&input(None)).replicas, Some(5));
        assert_eq!(
            crate::scaling_loop::replica_metric("queue_length"),
            Some(ReplicaMetric::QueueLength)
        );
    }

    #[test]
    fn threshold_steps_and_cools_down() {
        let mut t = Threshold {
            metric: ReplicaMetric::Utilization,
            upper: 0.8,
            lower: 0.3,
            step_up: 2,
            step_down: 1,
            cooldown_up_s: 60.0,
            cooldown_down_s: 300.0,
            min: 1,
            max: 10,
            last_step_s: None,
        };
        fn input(m: &Metrics) -> DecideInput<'_> {
            DecideInput {
                metrics: m,
                forecast_per_s: None,
                peak_forecast_per_s: None,
                interval_s: 15.0,
            }
        }
        let m = metrics(0.0, 10.0, 0.9, 4, 4);
        assert_eq!(t.decide(&input(&m)).replicas, Some(6));
        let m = metrics(30.0, 10.0, 0.9, 6, 4);
        assert_eq!(t.decide(&input(&m)).replicas, Some(6), "cooling down");
        let m = metrics(90.0, 10.0, 0.1, 6, 6);
        assert_eq!(
            t.decide(&input(&m)).replicas,
            Some(6),
            "scale-in cooldown is longer"
        );
        let m = metrics(400.0, 10.0, 0.1, 6, 6);
        assert_eq!(t.decide(&input(&m)).replicas, Some(5));
        // A forecast of twice the load doubles the metric it reads.
        let m = metrics(1000.0, 10.0, 0.5, 5, 5);
        let with_forecast = DecideInput {
            metrics: &m,
            forecast_per_s: Some(20.0),
            peak_forecast_per_s: None,
            interval_s: 15.0,
        };
        assert_eq!(t.decide(&with_forecast).replicas, Some(7));
    }

    #[test]
    fn target_tracking_and_queueing_and_schedule() {
        let mut tt = TargetTracking {
            metric: ReplicaMetric::Utilization,
            target: 0.5,
            scale_out_cooldown_s: 0.0,
            scale_in_cooldown_s: 300.0,
            min: 1,
            max: 100,
            last_out_s: None,
            last_in_s: None,
        };
        let m = metrics(0.0, 10.0, 0.9, 4, 4);
        let input = DecideInput {
            metrics: &m,
            forecast_per_s: None,
            peak_forecast_per_s: None,
            interval_s: 15.0,
        };
        assert_eq!(tt.decide(&input).replicas, Some(8));

        let mut q = Queueing {
            service_rate: 1.0,
            servers_per_replica: 1,
            percentile: 0.95,
            target_s: 4.0,
            min: 1,
            max: 64,
            stabilizer: Stabilizer::new(0.0),
        };
        let m = metrics(0.0, 7.2, 0.0, 1, 1);
        let input = DecideInput {
            metrics: &m,
            forecast_per_s: None,
            peak_forecast_per_s: None,
            interval_s: 15.0,
        };
        let c = q.decide(&input).replicas.unwrap();
        assert_eq!(c, servers_for_percentile(7.2, 1.0, 0.95, 4.0, 64));

        let mut s = Scheduled {
            table: vec![(0.0, 2), (8.0 * 3600.0, 6), (20.0 * 3600.0, 3)],
            period_s: 86_400.0,
            min: 0,
            max: u32::MAX,
        };
        for (hour, want) in [(1.0, 2), (9.0, 6), (21.0, 3), (25.0, 2)] {
            let m = metrics(hour * 3600.0, 1.0, 0.0, 1, 1);
            let input = DecideInput {
                metrics: &m,
                forecast_per_s: None,
                peak_forecast_per_s: None,
                interval_s: 15.0,
            };
            assert_eq!(s.decide(&input).replicas, Some(want), "hour {hour}");
        }
    }

    /// The stabilizer keeps the largest value of its window; an entry exactly a
    /// window old has left it.
    #[test]
    fn the_stabilizer_holds_the_window_maximum() {
        let mut s = Stabilizer::new(300.0);
        assert_eq!(s.hold(0.0, 10.0), 10.0);
        assert_eq!(s.hold(100.0, 4.0), 10.0);
        assert_eq!(s.hold(200.0, 6.0), 10.0);
        assert_eq!(s.hold(299.0, 5.0), 10.0);
        // The 10 at t = 0 leaves at 300 s; the 6 at 200 s is the largest left.
        assert_eq!(s.hold(300.0, 5.0), 6.0);
        assert_eq!(s.hold(500.0, 3.0), 5.0);
        assert_eq!(s.hold(600.0, 20.0), 20.0, "rises take effect at once");
        let mut none = Stabilizer::new(0.0);
        assert_eq!(none.hold(0.0, 10.0), 10.0);
        assert_eq!(none.hold(1.0, 2.0), 2.0);
    }

    /// A sizing decider plans for the peak forecast, not the one at the horizon, and
    /// keeps its capacity until the demand has been lower for the window.
    #[test]
    fn sizing_deciders_plan_for_the_peak_and_scale_in_late() {
        let mut q = Queueing {
            service_rate: 1.0,
            servers_per_replica: 1,
            percentile: 0.99,
            target_s: 5.0,
            min: 1,
            max: 100,
            stabilizer: Stabilizer::new(300.0),
        };
        let mut at = |now: f64, forecast: f64, peak: f64| {
            let m = metrics(now, forecast, 0.0, 1, 1);
            let input = DecideInput {
                metrics: &m,
                forecast_per_s: Some(forecast),
                peak_forecast_per_s: Some(peak),
                interval_s: 30.0,
            };
            (
                q.decide(&input).replicas.unwrap(),
                input.sizing_demand_per_s(),
            )
        };
        let for_rate = |lambda: f64| servers_for_percentile(lambda, 1.0, 0.99, 5.0, 100).max(1);
        // The load falls from 20/s at the horizon, but peaks at 30/s before then.
        let (n, demand) = at(0.0, 20.0, 30.0);
        assert_eq!(demand, 30.0);
        assert_eq!(n, for_rate(30.0));
        // Demand drops to 5/s: held at 30/s for five minutes, then it goes.
        assert_eq!(at(150.0, 5.0, 5.0).0, for_rate(30.0));
        assert_eq!(at(299.0, 5.0, 5.0).0, for_rate(30.0));
        assert_eq!(at(330.0, 5.0, 5.0).0, for_rate(5.0));

        // cost_optimal keeps its floor with no demand at all, and its ceiling.
        let option = |quota| crate::cost::NodeOption {
            name: "gpu".into(),
            price_per_hour: 1.0,
            capacity: 10.0,
            quota,
            spot: false,
        };
        let mut c = CostOptimal {
            own_model: 0,
            options: vec![(0, option(50))],
            headroom: 1.0,
            max_spot_share: 0.0,
            min: 2,
            max: 6,
            stabilizer: Stabilizer::new(0.0),
        };
        let decide = |c: &mut CostOptimal, rate: f64| {
            let m = metrics(0.0, rate, 0.0, 1, 1);
            c.decide(&DecideInput {
                metrics: &m,
                forecast_per_s: None,
                peak_forecast_per_s: None,
                interval_s: 30.0,
            })
            .replicas
        };
        assert_eq!(decide(&mut c, 0.0), Some(2));
        assert_eq!(decide(&mut c, 35.0), Some(4));
        assert_eq!(decide(&mut c, 500.0), Some(6));
    }
}
