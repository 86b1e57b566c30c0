//! Building the scaling loop from a checked `policy:` section
//! ([`crate::policy_schema::PolicySpec`]): each stage's configuration in the policy
//! crate's types, with the checks serde cannot make (bounds that depend on each other,
//! names of models, Kubernetes API validation).

use crate::policy_schema::*;
use crate::units::Duration;
use inferscale_cluster::{ExecutorConfig, RemovalOrder};
use inferscale_policy::decide::{
    HpaMetricSource, Queueing, ReplicaMetric, Scheduled, Stabilizer, TargetTracking, Threshold,
};
use inferscale_policy::hpa::{
    Behavior, MetricTarget, RatePolicy, RatePolicyKind, ScalingRules, SelectPolicy,
};
use inferscale_policy::kpa::DeciderSpec;
use inferscale_policy::monitor::MonitorConfig;
use inferscale_policy::{DeciderConfig, LoopConfig, PredictorConfig};

fn secs(d: &Duration) -> f64 {
    d.0.as_secs_f64()
}

/// A `policy:` section the loop cannot be built from: the field at fault, as a path
/// under `policy:` (`decider.maxReplicas`, `decider.metrics[1]`), and what is wrong
/// and what is accepted. The loader locates the field in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// The field's path under `policy:`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Tags an error message with the field it is about.
fn at(field: impl Into<String>) -> impl FnOnce(String) -> PolicyError {
    let field = field.into();
    move |message| PolicyError { field, message }
}

/// An error about `field`.
fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, PolicyError> {
    Err(at(field)(message.into()))
}

/// The loop and executor a scenario asks for.
#[derive(Clone, Debug)]
pub struct PolicySetup {
    /// The loop.
    pub config: LoopConfig,
    /// The executor.
    pub executor: ExecutorConfig,
}

fn metric(name: &str) -> Result<ReplicaMetric, String> {
    inferscale_policy::scaling_loop::replica_metric(name).ok_or_else(|| {
        let names: Vec<String> = inferscale_policy::scaling_loop::REPLICA_METRICS
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect();
        format!(
            "unknown metric `{name}`; expected one of {}",
            names.join(", ")
        )
    })
}

/// An HPA `behavior:` block as a scenario writes it (`scaleUp` and `scaleDown` with
/// Kubernetes' `autoscaling/v2` field names), checked and built exactly as `kind: hpa`
/// builds it: the path the HPA golden cases go through, so they test what users write.
pub fn hpa_behavior(yaml: &str) -> Result<Behavior, String> {
    let spec: HpaBehaviorSpec =
        serde_saphyr::from_str_with_options(yaml, crate::yaml::yaml_options())
            .map_err(|e| e.to_string())?;
    Ok(Behavior {
        scale_up: rules(spec.scale_up.as_ref(), true)?,
        scale_down: rules(spec.scale_down.as_ref(), false)?,
    })
}

fn rules(spec: Option<&HpaRulesSpec>, up: bool) -> Result<ScalingRules, String> {
    let default = if up {
        ScalingRules::default_scale_up()
    } else {
        ScalingRules::default_scale_down()
    };
    let Some(s) = spec else { return Ok(default) };
    if let Some(w) = s.stabilization_window_seconds
        && w > 3600
    {
        return Err(format!(
            "`stabilizationWindowSeconds` must be 0–3600, got {w}"
        ));
    }
    let policies = match &s.policies {
        None => default.policies,
        Some(ps) => ps
            .iter()
            .map(|p| {
                if !(1..=1800).contains(&p.period_seconds) {
                    return Err(format!(
                        "`periodSeconds` must be 1–1800, got {}",
                        p.period_seconds
                    ));
                }
                Ok(RatePolicy {
                    kind: match p.kind.as_str() {
                        "Pods" => RatePolicyKind::Pods,
                        "Percent" => RatePolicyKind::Percent,
                        other => {
                            return Err(format!(
                                "unknown policy type `{other}`; expected `Pods` or `Percent`"
                            ));
                        }
                    },
                    value: p.value,
                    period_s: f64::from(p.period_seconds),
                })
            })
            .collect::<Result<Vec<_>, String>>()?,
    };
    Ok(ScalingRules {
        stabilization_window_s: s
            .stabilization_window_seconds
            .map(f64::from)
            .or(default.stabilization_window_s),
        select: match s.select_policy.as_deref() {
            None | Some("Max") => SelectPolicy::Max,
            Some("Min") => SelectPolicy::Min,
            Some("Disabled") => SelectPolicy::Disabled,
            Some(other) => {
                return Err(format!(
                    "unknown selectPolicy `{other}`; expected `Max`, `Min` or `Disabled`"
                ));
            }
        },
        policies,
        tolerance: s.tolerance,
    })
}

/// A target quantity, which the Kubernetes API requires to be positive (its
/// validation rejects zero and negative ones: a zero target divides by zero).
fn positive(q: Quantity, field: &str) -> Result<i64, String> {
    if q.0 > 0 {
        Ok(q.0)
    } else {
        Err(format!(
            "`{field}` must be positive, got {}",
            q.0 as f64 / 1000.0
        ))
    }
}

/// One entry of an HPA's `metrics:`; an error names its field relative to the entry
/// (`pods.target.averageValue`).
fn hpa_metric(m: &HpaMetricSpec) -> Result<(MetricTarget, HpaMetricSource), PolicyError> {
    let average = |t: &TargetSpec, target: &str| {
        let field = format!("{target}.averageValue");
        match t.average_value {
            None => err(target, "an `AverageValue` target needs `averageValue`"),
            Some(q) => positive(q, "averageValue").map_err(at(field)),
        }
    };
    match m {
        HpaMetricSpec::Resource { resource } => {
            if resource.name != "cpu" {
                return err(
                    "resource.name",
                    format!(
                        "resource `{}` is not simulated; use `cpu` (a replica's busy share of one core)",
                        resource.name
                    ),
                );
            }
            match resource.target.kind.as_str() {
                "Utilization" => Ok((
                    MetricTarget::ResourceUtilization {
                        cpu: true,
                        target_pct: match resource.target.average_utilization {
                            None => {
                                return err(
                                    "resource.target",
                                    "a `Utilization` target needs `averageUtilization`",
                                );
                            }
                            Some(pct) if pct < 1 => {
                                return err(
                                    "resource.target.averageUtilization",
                                    format!(
                                        "`averageUtilization` must be greater than 0, got {pct}"
                                    ),
                                );
                            }
                            Some(pct) => pct,
                        },
                    },
                    HpaMetricSource::Cpu,
                )),
                "AverageValue" => Ok((
                    MetricTarget::AverageValue {
                        target_m: average(&resource.target, "resource.target")?,
                    },
                    HpaMetricSource::Cpu,
                )),
                other => err(
                    "resource.target.type",
                    format!("a Resource target is `Utilization` or `AverageValue`, not `{other}`"),
                ),
            }
        }
        HpaMetricSpec::Pods { pods } => {
            if pods.metric.name != "concurrency" {
                return err(
                    "pods.metric.name",
                    format!(
                        "Pods metric `{}` is not simulated; use `concurrency` (requests in flight per pod)",
                        pods.metric.name
                    ),
                );
            }
            Ok((
                MetricTarget::AverageValue {
                    target_m: average(&pods.target, "pods.target")?,
                },
                HpaMetricSource::Concurrency,
            ))
        }
        HpaMetricSpec::External { external } => {
            let source = match external.metric.name.as_str() {
                "arrival_rate" => HpaMetricSource::ArrivalRate,
                "queue_length" => HpaMetricSource::QueueLength,
                other => {
                    return err(
                        "external.metric.name",
                        format!(
                            "External metric `{other}` is not simulated; use `arrival_rate` or `queue_length`"
                        ),
                    );
                }
            };
            let target = match external.target.kind.as_str() {
                "AverageValue" => MetricTarget::ExternalAverageValue {
                    target_m: average(&external.target, "external.target")?,
                },
                "Value" => MetricTarget::ExternalValue {
                    target_m: match external.target.value {
                        None => return err("external.target", "a `Value` target needs `value`"),
                        Some(q) => positive(q, "value").map_err(at("external.target.value"))?,
                    },
                },
                other => {
                    return err(
                        "external.target.type",
                        format!("an External target is `Value` or `AverageValue`, not `{other}`"),
                    );
                }
            };
            Ok((target, source))
        }
    }
}

impl PolicySpec {
    /// The loop for the models of `cluster`; an external program runs in `dir`, the
    /// scenario file's directory.
    pub fn build(
        &self,
        cluster: &inferscale_cluster::ClusterConfig,
        dir: &std::path::Path,
    ) -> Result<PolicySetup, PolicyError> {
        let names: Vec<String> = cluster.models.iter().map(|m| m.name.clone()).collect();
        let model_names = names.as_slice();
        let models = match &self.models {
            None => (0..model_names.len()).collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    model_names.iter().position(|m| m == n).ok_or_else(|| {
                        format!(
                            "no model named `{n}`; the models are: {}",
                            model_names
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<usize>, String>>()
                .map_err(at("models"))?,
        };
        let default_interval = if matches!(self.decider, DeciderSpecYaml::Kpa(_)) {
            2.0
        } else {
            15.0
        };
        let interval_s = self.interval.as_ref().map_or(default_interval, secs);
        if interval_s <= 0.0 {
            return err("interval", "`interval` must be longer than 0 s");
        }
        if !(0.0..1.0).contains(&self.monitor.noise) {
            return err(
                "monitor.noise",
                format!(
                    "`monitor.noise` must be in [0, 1), got {}",
                    self.monitor.noise
                ),
            );
        }
        let predictor = match &self.predictor {
            None => PredictorConfig::None,
            Some(PredictorSpec::LastValue) => PredictorConfig::LastValue,
            Some(PredictorSpec::MovingAverage { window }) => PredictorConfig::MovingAverage {
                window_s: secs(window),
            },
            Some(PredictorSpec::Ewma { alpha }) => {
                if !(*alpha > 0.0 && *alpha <= 1.0) {
                    return err(
                        "predictor.alpha",
                        format!("`alpha` must be in (0, 1], got {alpha}"),
                    );
                }
                PredictorConfig::Ewma { alpha: *alpha }
            }
            Some(PredictorSpec::LinearTrend { window }) => PredictorConfig::LinearTrend {
                window_s: secs(window),
            },
            Some(PredictorSpec::HoltWinters {
                season,
                alpha,
                beta,
                gamma,
            }) => {
                for (n, v) in [("alpha", alpha), ("beta", beta), ("gamma", gamma)] {
                    if !(0.0..=1.0).contains(v) {
                        return err(
                            format!("predictor.{n}"),
                            format!("`{n}` must be in [0, 1], got {v}"),
                        );
                    }
                }
                if secs(season) < 2.0 * interval_s {
                    return err(
                        "predictor.season",
                        "a Holt-Winters `season` must span at least two intervals",
                    );
                }
                PredictorConfig::HoltWinters {
                    alpha: *alpha,
                    beta: *beta,
                    gamma: *gamma,
                    season_s: secs(season),
                }
            }
            Some(PredictorSpec::Arima { p, d, q, window }) => {
                if p + q > 10 || *d > 2 {
                    return err(
                        "predictor",
                        "ARIMA orders are limited to p + q ≤ 10 and d ≤ 2",
                    );
                }
                PredictorConfig::Arima {
                    p: *p,
                    d: *d,
                    q: *q,
                    window_s: secs(window),
                }
            }
            Some(PredictorSpec::Oracle) => PredictorConfig::Oracle,
            Some(PredictorSpec::External {
                command,
                timeout,
                on_error,
            }) => {
                if command.is_empty() || command[0].is_empty() {
                    return err(
                        "predictor.command",
                        "an external predictor needs `command: [program, args...]`",
                    );
                }
                let timeout = match timeout {
                    None => inferscale_policy::external::ExternalCommand::DEFAULT_TIMEOUT,
                    Some(t) if t.0.is_zero() => {
                        return err(
                            "predictor.timeout",
                            "an external predictor's `timeout` must be above zero",
                        );
                    }
                    Some(t) => std::time::Duration::from_nanos(t.0.as_nanos()),
                };
                PredictorConfig::External(inferscale_policy::external::ExternalCommand {
                    command: command.clone(),
                    dir: dir.to_owned(),
                    timeout,
                    on_error: match on_error {
                        OnErrorSpec::Fail => inferscale_policy::external::OnError::Fail,
                        OnErrorSpec::Fallback => inferscale_policy::external::OnError::Fallback,
                    },
                })
            }
        };
        let decider = match &self.decider {
            DeciderSpecYaml::Static(s) => {
                let (min, max) = bounds(s.min, s.max).map_err(at("decider.max"))?;
                DeciderConfig::Static {
                    replicas: s.replicas,
                    min,
                    max,
                }
            }
            DeciderSpecYaml::Threshold(t) => {
                if t.lower >= t.upper {
                    return err(
                        "decider.lower",
                        format!("`lower` ({}) must be below `upper` ({})", t.lower, t.upper),
                    );
                }
                DeciderConfig::Threshold(Threshold {
                    metric: metric(&t.metric).map_err(at("decider.metric"))?,
                    upper: t.upper,
                    lower: t.lower,
                    step_up: t.step_up,
                    step_down: t.step_down,
                    cooldown_up_s: secs(&t.cooldown_up),
                    cooldown_down_s: secs(&t.cooldown_down),
                    min: t.min,
                    max: t.max.max(t.min),
                    last_step_s: None,
                })
            }
            DeciderSpecYaml::TargetTracking(t) => {
                if t.target <= 0.0 {
                    return err(
                        "decider.target",
                        format!("`target` must be greater than 0, got {}", t.target),
                    );
                }
                DeciderConfig::TargetTracking(TargetTracking {
                    metric: metric(&t.metric).map_err(at("decider.metric"))?,
                    target: t.target,
                    scale_out_cooldown_s: secs(&t.scale_out_cooldown),
                    scale_in_cooldown_s: secs(&t.scale_in_cooldown),
                    min: t.min,
                    max: t.max.max(t.min),
                    last_out_s: None,
                    last_in_s: None,
                })
            }
            DeciderSpecYaml::Hpa(h) => {
                if h.max_replicas < h.min_replicas.max(1) {
                    return err(
                        "decider.maxReplicas",
                        format!(
                            "`maxReplicas` ({}) must be at least `minReplicas` ({}) and 1",
                            h.max_replicas, h.min_replicas
                        ),
                    );
                }
                let metrics = if h.metrics.is_empty() {
                    vec![(
                        MetricTarget::ResourceUtilization {
                            cpu: true,
                            target_pct: 80,
                        },
                        HpaMetricSource::Cpu,
                    )]
                } else {
                    h.metrics
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            hpa_metric(m).map_err(|e| PolicyError {
                                field: format!("decider.metrics[{i}].{}", e.field),
                                message: e.message,
                            })
                        })
                        .collect::<Result<Vec<_>, PolicyError>>()?
                };
                let behavior = match &h.behavior {
                    None => None,
                    Some(b) => Some(Behavior {
                        scale_up: rules(b.scale_up.as_ref(), true)
                            .map_err(at("decider.behavior.scaleUp"))?,
                        scale_down: rules(b.scale_down.as_ref(), false)
                            .map_err(at("decider.behavior.scaleDown"))?,
                    }),
                };
                DeciderConfig::Hpa {
                    min: h.min_replicas,
                    max: h.max_replicas,
                    metrics,
                    behavior,
                    tolerance: h.tolerance,
                }
            }
            DeciderSpecYaml::Kpa(k) => {
                let rps = match k.metric.as_str() {
                    "concurrency" => false,
                    "rps" => true,
                    other => {
                        return err(
                            "decider.metric",
                            format!("KPA `metric` is `concurrency` or `rps`, not `{other}`"),
                        );
                    }
                };
                let stable = secs(&k.stable_window);
                if !(6.0..=3600.0).contains(&stable) {
                    return err(
                        "decider.stable-window",
                        format!("`stable-window` must be 6 s – 1 h, got {stable} s"),
                    );
                }
                let default_total = if rps {
                    200.0
                } else if k.container_concurrency > 0 {
                    f64::from(k.container_concurrency)
                } else {
                    100.0
                };
                let mut total = k.target.unwrap_or(default_total);
                if !rps && k.container_concurrency > 0 {
                    total = total.min(f64::from(k.container_concurrency));
                }
                let target_value = (total * k.target_utilization_percentage / 100.0).max(0.01);
                DeciderConfig::Kpa {
                    spec: DeciderSpec {
                        target_value,
                        total_value: total,
                        target_burst_capacity: k.target_burst_capacity,
                        panic_threshold: k.panic_threshold_percentage / 100.0,
                        max_scale_up_rate: k.max_scale_up_rate,
                        max_scale_down_rate: k.max_scale_down_rate,
                        activator_capacity: 100.0,
                        stable_window_s: stable,
                        scale_down_delay_s: secs(&k.scale_down_delay),
                        reachable: true,
                        activation_scale: i64::from(k.activation_scale),
                    },
                    panic_window_s: (stable * k.panic_window_percentage / 100.0)
                        .round()
                        .max(1.0),
                    min: k.min_scale,
                    max: k.max_scale,
                    scale_to_zero: k.enable_scale_to_zero,
                    grace_period_s: secs(&k.scale_to_zero_grace_period),
                    rps,
                }
            }
            DeciderSpecYaml::Queueing(q) => {
                if !(0.0..1.0).contains(&q.percentile) || q.percentile == 0.0 {
                    return err(
                        "decider.percentile",
                        format!("`percentile` must be in (0, 1), got {}", q.percentile),
                    );
                }
                DeciderConfig::Queueing(Queueing {
                    service_rate: q.service_rate.per_second(),
                    servers_per_replica: q.servers_per_replica.max(1),
                    percentile: q.percentile,
                    target_s: secs(&q.target),
                    min: q.min,
                    max: q.max.max(q.min),
                    stabilizer: Stabilizer::new(secs(&q.stabilization_window)),
                })
            }
            DeciderSpecYaml::Scheduled(s) => {
                if s.table.is_empty() {
                    return err(
                        "decider.table",
                        "a schedule needs at least one `[offset, replicas]` row",
                    );
                }
                let table: Vec<(f64, u32)> = s.table.iter().map(|(d, r)| (secs(d), *r)).collect();
                if table.windows(2).any(|w| w[1].0 <= w[0].0) {
                    return err("decider.table", "schedule offsets must increase");
                }
                let (min, max) = bounds(s.min, s.max).map_err(at("decider.max"))?;
                DeciderConfig::Scheduled(Scheduled {
                    table,
                    period_s: secs(&s.period),
                    min,
                    max,
                })
            }
            DeciderSpecYaml::CostOptimal(c) => cost_optimal(c, cluster, model_names)?,
            DeciderSpecYaml::External(e) => {
                if e.command.is_empty() || e.command[0].is_empty() {
                    return err(
                        "decider.command",
                        "an external decider needs `command: [program, args...]`",
                    );
                }
                let timeout = match &e.timeout {
                    None => inferscale_policy::external::ExternalCommand::DEFAULT_TIMEOUT,
                    Some(t) if t.0.is_zero() => {
                        return err(
                            "decider.timeout",
                            "an external decider's `timeout` must be above zero",
                        );
                    }
                    Some(t) => std::time::Duration::from_nanos(t.0.as_nanos()),
                };
                DeciderConfig::External(inferscale_policy::external::ExternalCommand {
                    command: e.command.clone(),
                    dir: dir.to_owned(),
                    timeout,
                    on_error: inferscale_policy::external::OnError::Fail,
                })
            }
        };
        Ok(PolicySetup {
            config: LoopConfig {
                interval_s,
                monitor: MonitorConfig {
                    window_s: secs(&self.monitor.window),
                    lag_s: secs(&self.monitor.lag),
                    noise: self.monitor.noise,
                },
                predictor,
                horizon_s: self.horizon.as_ref().map_or(interval_s, secs),
                lead_time_s: cluster
                    .models
                    .iter()
                    .map(|d| match &self.lead_time {
                        Some(lead) => secs(lead),
                        None => {
                            let pool = &cluster.pools[d.pool];
                            pool.node_type.boot_time.mean() + d.load_time(pool).as_secs_f64()
                        }
                    })
                    .collect(),
                decider,
                models,
            },
            executor: ExecutorConfig {
                removal: match self.executor.removal {
                    RemovalSpec::Newest => RemovalOrder::Newest,
                    RemovalSpec::Oldest => RemovalOrder::Oldest,
                    RemovalSpec::LeastLoaded => RemovalOrder::LeastLoaded,
                },
                kill: self.executor.drain == Some(false),
                placement: match self.executor.placement {
                    PlacementSpec::FirstFit => inferscale_cluster::Placement::FirstFit,
                    PlacementSpec::BestFit => inferscale_cluster::Placement::BestFit,
                },
            },
        })
    }
}

fn cost_optimal(
    c: &CostOptimalSpec,
    cluster: &inferscale_cluster::ClusterConfig,
    model_names: &[String],
) -> Result<DeciderConfig, PolicyError> {
    if !(c.headroom > 0.0 && c.headroom <= 1.0) {
        return err(
            "decider.headroom",
            format!("`headroom` must be in (0, 1], got {}", c.headroom),
        );
    }
    if c.options.is_empty() {
        return err("decider.options", "cost_optimal needs at least one option");
    }
    let mut options = Vec::new();
    for (i, o) in c.options.iter().enumerate() {
        let Some(m) = model_names.iter().position(|n| *n == o.model) else {
            return err(
                format!("decider.options[{i}].model"),
                format!("no model named `{}` among the options", o.model),
            );
        };
        let d = &cluster.models[m];
        let node = &cluster.pools[d.pool].node_type;
        let per_node = (node.accelerators_per_node / d.tp().max(1)).max(1);
        // On-demand prices: spot capacity (and its preemptions) is not simulated yet.
        let node_price = node.price_per_hour;
        if o.capacity.per_second() <= 0.0 {
            return err(
                format!("decider.options[{i}].capacity"),
                format!("option `{}` needs a capacity above 0", o.model),
            );
        }
        options.push((
            m,
            inferscale_policy::cost::NodeOption {
                name: o.model.clone(),
                price_per_hour: node_price / f64::from(per_node),
                capacity: o.capacity.per_second(),
                quota: node.max_count.map_or(1000, |n| n.saturating_mul(per_node)),
                spot: false,
            },
        ));
    }
    let groups: Vec<usize> = options.iter().map(|(m, _)| cluster.router_of(*m)).collect();
    if groups.windows(2).any(|w| w[0] != w[1]) {
        return err(
            "decider.options",
            "cost_optimal options must be one model and its `variant_of:` entries",
        );
    }
    let (min, max) = bounds(Some(c.min), c.max).map_err(at("decider.max"))?;
    Ok(DeciderConfig::CostOptimal {
        options,
        headroom: c.headroom,
        max_spot_share: 0.0,
        min,
        max,
        stabilization_window_s: secs(&c.stabilization_window),
    })
}

/// Optional `min` and `max` of a decider, checked: (0, unbounded) by default.
fn bounds(min: Option<u32>, max: Option<u32>) -> Result<(u32, u32), String> {
    let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(u32::MAX));
    if hi < lo {
        return Err(format!("`max` ({hi}) must be at least `min` ({lo})"));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direction written in part is filled with the API defaults field by field (the
    /// other direction keeps all of them), as the Kubernetes API server does.
    #[test]
    fn a_behavior_written_in_part_gets_the_api_defaults() {
        let b = hpa_behavior(
            "{scaleDown: {stabilizationWindowSeconds: 60, policies: [{type: Percent, value: 50, periodSeconds: 30}]}}",
        )
        .unwrap();
        assert_eq!(b.scale_up, ScalingRules::default_scale_up());
        assert_eq!(b.scale_down.stabilization_window_s, Some(60.0));
        assert_eq!(b.scale_down.select, SelectPolicy::Max);
        assert_eq!(
            b.scale_down.policies,
            [RatePolicy {
                kind: RatePolicyKind::Percent,
                value: 50,
                period_s: 30.0,
            }]
        );
        let min = hpa_behavior("{scaleUp: {selectPolicy: Min, tolerance: 0.05}}").unwrap();
        assert_eq!(min.scale_up.select, SelectPolicy::Min);
        assert_eq!(min.scale_up.tolerance, Some(0.05));
        assert_eq!(
            min.scale_up.policies,
            ScalingRules::default_scale_up().policies
        );
    }

    /// Values the Kubernetes API validation refuses are refused, saying what is
    /// accepted.
    #[test]
    fn a_behavior_the_api_would_refuse_is_refused() {
        let err = |yaml: &str| hpa_behavior(yaml).unwrap_err();
        assert!(
            err("{scaleDown: {stabilizationWindowSeconds: 3601}}").contains("0–3600, got 3601"),
            "{}",
            err("{scaleDown: {stabilizationWindowSeconds: 3601}}")
        );
        assert!(
            err("{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}")
                .contains("`periodSeconds` must be 1–1800, got 0")
        );
        assert!(
            err("{scaleUp: {policies: [{type: Replicas, value: 1, periodSeconds: 15}]}}")
                .contains("expected `Pods` or `Percent`")
        );
        assert!(
            err("{scaleUp: {selectPolicy: Average}}")
                .contains("expected `Max`, `Min` or `Disabled`")
        );
        assert!(err("{scaleUp: {stabilisationWindowSeconds: 5}}").contains("unknown field"));
    }

    /// Quantities in the Kubernetes notation, in milli-units.
    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        let q = |yaml: &str| serde_saphyr::from_str::<Quantity>(yaml).map(|q| q.0);
        assert_eq!(q("4").unwrap(), 4_000);
        assert_eq!(q("2.5").unwrap(), 2_500);
        assert_eq!(q("\"500m\"").unwrap(), 500);
        assert_eq!(q("\"3k\"").unwrap(), 3_000_000);
        assert!(q("\"lots\"").is_err());
    }
}
