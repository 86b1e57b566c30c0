//! The Kubernetes HorizontalPodAutoscaler (autoscaling/v2), reproduced exactly:
//! pod grouping, the per-metric replica calculators with their integer arithmetic and
//! two-pass handling of missing and unready pods, the legacy normalization, and the
//! `behavior` path (stabilization windows, Pods/Percent policies per period, scale
//! events). `data/reference/POLICIES.md` §1 states the algorithm;
//! `policies_hpa.yaml` holds cases from the Kubernetes unit tests, all checked by
//! `tests/it/policies.rs`.
//!
//! Times are seconds on the simulation clock. Quantities are milli-units (1 CPU =
//! 1000 m), as in the controller.
//!
//! `calculators` holds the per-metric replica calculators, `behavior` the
//! normalization (stabilization and rate limits); this file the controller that
//! runs them each sync ([`Hpa::reconcile`]).

mod behavior;
mod calculators;

pub use behavior::*;
pub use calculators::*;

/// What a metric of the HPA's `spec.metrics` targets.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricTarget {
    /// `Resource` with `target.averageUtilization` (percent of the request).
    ResourceUtilization {
        /// `cpu` gets the CPU readiness rules.
        cpu: bool,
        /// Percent.
        target_pct: i64,
    },
    /// `Pods` (or `Resource` with `averageValue`): per-pod average, milli-units.
    AverageValue {
        /// Target, milli-units.
        target_m: i64,
    },
    /// `External`/`Object` with `target.value`.
    ExternalValue {
        /// Target, milli-units.
        target_m: i64,
    },
    /// `External`/`Object` with `target.averageValue`.
    ExternalAverageValue {
        /// Target per replica, milli-units.
        target_m: i64,
    },
}

/// One metric's observations at a reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricObservation {
    /// Per-pod samples (Resource and Pods metrics): the pods with their samples, plus
    /// samples of pods not in the list.
    PerPod {
        /// The pods of the target.
        pods: Vec<Pod>,
        /// Superfluous samples.
        extra_m: Vec<i64>,
    },
    /// External/Object values.
    Values(Vec<i64>),
}

/// An HPA object with its controller state.
#[derive(Clone, Debug)]
pub struct Hpa {
    /// `minReplicas`.
    pub min_replicas: i64,
    /// `maxReplicas`.
    pub max_replicas: i64,
    /// `spec.metrics`.
    pub metrics: Vec<MetricTarget>,
    /// `spec.behavior` (`None`: the legacy path).
    pub behavior: Option<Behavior>,
    /// Controller flags.
    pub config: ControllerConfig,
    /// Past recommendations (`None`: never reconciled).
    pub recommendations: Option<Vec<Recommendation>>,
    /// Past scale-ups.
    pub up_events: Vec<ScaleEvent>,
    /// Past scale-downs.
    pub down_events: Vec<ScaleEvent>,
}

/// The outcome of one reconcile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reconciled {
    /// The new `spec.replicas` (`None`: do nothing this sync).
    pub desired: Option<i64>,
    /// Why.
    pub condition: Condition,
}

impl Hpa {
    /// An HPA with no history.
    pub fn new(min: i64, max: i64, metrics: Vec<MetricTarget>, behavior: Option<Behavior>) -> Self {
        Hpa {
            min_replicas: min,
            max_replicas: max,
            metrics,
            behavior,
            config: ControllerConfig::default(),
            recommendations: None,
            up_events: Vec::new(),
            down_events: Vec::new(),
        }
    }

    fn tolerance(&self) -> Tolerance {
        let mut t = self.config.tolerance;
        if let Some(b) = &self.behavior {
            if let Some(up) = b.scale_up.tolerance {
                t.scale_up = up;
            }
            if let Some(down) = b.scale_down.tolerance {
                t.scale_down = down;
            }
        }
        t
    }

    /// `reconcileAutoscaler`: one sync at `now_s` with `spec_replicas` (the scale
    /// subresource's desired count), `status_replicas`, `ready_pods` (Running and Ready)
    /// and one observation per metric, in `metrics` order.
    pub fn reconcile(
        &mut self,
        now_s: f64,
        spec_replicas: i64,
        status_replicas: i64,
        ready_pods: i64,
        observations: &[MetricObservation],
    ) -> Reconciled {
        let current = spec_replicas;
        self.recommendations.get_or_insert_with(|| {
            vec![Recommendation {
                replicas: current,
                at_s: now_s,
            }]
        });
        let min = self.min_replicas;
        let none = Reconciled {
            desired: None,
            condition: Condition::DesiredWithinRange,
        };
        if current == 0 && min != 0 {
            return none;
        }
        let (desired, condition) = if current > self.max_replicas {
            (self.max_replicas, Condition::TooManyReplicas)
        } else if current < min {
            (min, Condition::TooFewReplicas)
        } else {
            let tolerance = self.tolerance();
            let mut proposals = Vec::new();
            let mut invalid = 0;
            for (target, observed) in self.metrics.iter().zip(observations) {
                let p = match (target, observed) {
                    (
                        MetricTarget::ResourceUtilization { cpu, target_pct },
                        MetricObservation::PerPod { pods, extra_m },
                    ) => resource_utilization_replicas(
                        current,
                        *target_pct,
                        pods,
                        extra_m,
                        *cpu,
                        now_s,
                        tolerance,
                        &self.config,
                    ),
                    (
                        MetricTarget::AverageValue { target_m },
                        MetricObservation::PerPod { pods, extra_m },
                    ) => average_value_replicas(
                        current,
                        *target_m,
                        pods,
                        extra_m,
                        now_s,
                        tolerance,
                        &self.config,
                    ),
                    (MetricTarget::ExternalValue { target_m }, MetricObservation::Values(v)) => {
                        Some(external_value_replicas(
                            current, *target_m, v, ready_pods, tolerance,
                        ))
                    }
                    (
                        MetricTarget::ExternalAverageValue { target_m },
                        MetricObservation::Values(v),
                    ) => Some(external_average_replicas(
                        status_replicas,
                        *target_m,
                        v,
                        tolerance,
                    )),
                    _ => None,
                };
                match p {
                    Some(p) => proposals.push(p.replicas),
                    None => invalid += 1,
                }
            }
            invalid += self.metrics.len().saturating_sub(observations.len());
            let Some(&raw) = proposals.iter().max() else {
                return none;
            };
            if invalid > 0 && raw < current {
                return none;
            }
            self.normalize(current, raw, now_s)
        };
        if desired != current {
            self.store_event(current, desired, now_s);
        }
        Reconciled {
            desired: Some(desired),
            condition,
        }
    }

    fn normalize(&mut self, current: i64, raw: i64, now_s: f64) -> (i64, Condition) {
        let history = self.recommendations.get_or_insert_with(Vec::new);
        match &self.behavior {
            None => {
                let stab =
                    stabilize_legacy(raw, self.config.downscale_stabilization_s, history, now_s);
                rate_limit_legacy(
                    current,
                    stab,
                    self.min_replicas,
                    self.max_replicas,
                    &self.config,
                )
            }
            Some(b) => {
                let up_window = b.scale_up.stabilization_window_s.unwrap_or(0.0);
                let down_window = b
                    .scale_down
                    .stabilization_window_s
                    .unwrap_or(self.config.downscale_stabilization_s);
                let stab =
                    stabilize_with_behavior(current, raw, up_window, down_window, history, now_s);
                rate_limit_with_behavior(
                    current,
                    stab,
                    self.min_replicas,
                    self.max_replicas,
                    b,
                    &self.up_events,
                    &self.down_events,
                    now_s,
                )
            }
        }
    }

    /// `storeScaleEvent`: only with `behavior`; reuses the last outdated slot.
    fn store_event(&mut self, previous: i64, new: i64, now_s: f64) {
        let Some(b) = &self.behavior else { return };
        let (events, longest) = if new > previous {
            (&mut self.up_events, b.scale_up.longest_period())
        } else {
            (&mut self.down_events, b.scale_down.longest_period())
        };
        let mut reuse = None;
        for (i, e) in events.iter_mut().enumerate() {
            if e.at_s < now_s - longest {
                e.outdated = true;
            }
            if e.outdated {
                reuse = Some(i);
            }
        }
        let event = ScaleEvent {
            change: (new - previous).abs(),
            at_s: now_s,
            outdated: false,
        };
        match reuse {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}
