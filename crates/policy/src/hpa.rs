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

/// A pod's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// Scheduled, containers not all started.
    Pending,
    /// Running.
    Running,
    /// Terminated in failure.
    Failed,
}

/// The pod's `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadyCondition {
    /// `Ready == True`.
    pub ready: bool,
    /// When the condition last changed.
    pub last_transition_s: f64,
}

/// One metric sample of a pod.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The value, milli-units.
    pub value_m: i64,
    /// When the sample was taken.
    pub timestamp_s: f64,
    /// The window it averages over.
    pub window_s: f64,
}

/// What the HPA sees of one pod.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pod {
    /// Phase.
    pub phase: PodPhase,
    /// `deletionTimestamp` is set (draining).
    pub deleting: bool,
    /// When the pod started (`None`: not yet).
    pub start_s: Option<f64>,
    /// The Ready condition (`None`: not reported yet).
    pub ready: Option<ReadyCondition>,
    /// The resource request, milli-units.
    pub request_m: i64,
    /// The metric sample, `None` when the metrics API returned none ("missing").
    pub sample: Option<Sample>,
}

/// Controller settings (kube-controller-manager flags).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControllerConfig {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (300 s).
    pub cpu_initialization_period_s: f64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay_s: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (300 s).
    pub downscale_stabilization_s: f64,
    /// Cluster-wide tolerance (0.1 both ways).
    pub tolerance: Tolerance,
    /// Legacy scale-up limit factor (2; the Kubernetes tests use 8).
    pub scale_up_limit_factor: f64,
    /// Legacy scale-up limit minimum (4).
    pub scale_up_limit_minimum: f64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            cpu_initialization_period_s: 300.0,
            initial_readiness_delay_s: 30.0,
            downscale_stabilization_s: 300.0,
            tolerance: Tolerance::default(),
            scale_up_limit_factor: 2.0,
            scale_up_limit_minimum: 4.0,
        }
    }
}

/// The tolerance band `[1 − scale_down, 1 + scale_up]` around a ratio of 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Below 1.
    pub scale_down: f64,
    /// Above 1.
    pub scale_up: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            scale_down: 0.1,
            scale_up: 0.1,
        }
    }
}

impl Tolerance {
    fn within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Ignored,
    Unready,
    Missing,
    Ready,
}

/// `groupPods`: which bucket a pod falls in for a metric (`cpu`: the CPU readiness
/// rules apply).
fn group(pod: &Pod, now_s: f64, cpu: bool, config: &ControllerConfig) -> Group {
    if pod.deleting || pod.phase == PodPhase::Failed {
        return Group::Ignored;
    }
    if pod.phase == PodPhase::Pending {
        return Group::Unready;
    }
    let Some(sample) = pod.sample else {
        return Group::Missing;
    };
    if cpu {
        let (Some(ready), Some(start)) = (pod.ready, pod.start_s) else {
            return Group::Unready;
        };
        let unready = if now_s < start + config.cpu_initialization_period_s {
            !ready.ready || sample.timestamp_s < ready.last_transition_s + sample.window_s
        } else {
            !ready.ready && start + config.initial_readiness_delay_s > ready.last_transition_s
        };
        if unready {
            return Group::Unready;
        }
    }
    Group::Ready
}

/// The result of a per-metric calculator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proposal {
    /// Replicas this metric asks for.
    pub replicas: i64,
    /// The metric as reported: utilization percent, or the average value (m).
    pub usage: i64,
    /// Raw average usage (m), for resource utilization.
    pub raw_usage_m: i64,
}

/// Pods grouped for one metric, with the samples that enter the arithmetic.
struct Grouped {
    /// (value, request) of pods with a usable sample.
    samples: Vec<(i64, i64)>,
    /// Requests of missing pods.
    missing: Vec<i64>,
    /// Requests of unready pods.
    unready: Vec<i64>,
    ready_count: i64,
}

fn group_all(
    pods: &[Pod],
    extra_m: &[i64],
    now_s: f64,
    cpu: bool,
    c: &ControllerConfig,
) -> Grouped {
    let mut g = Grouped {
        samples: Vec::new(),
        missing: Vec::new(),
        unready: Vec::new(),
        ready_count: 0,
    };
    for pod in pods {
        match group(pod, now_s, cpu, c) {
            Group::Ignored => {}
            Group::Unready => g.unready.push(pod.request_m),
            Group::Missing => g.missing.push(pod.request_m),
            Group::Ready => {
                g.ready_count += 1;
                if let Some(s) = pod.sample {
                    g.samples.push((s.value_m, pod.request_m));
                }
            }
        }
    }
    // Samples of pods that do not exist ("superfluous"): no request (0).
    g.samples.extend(extra_m.iter().map(|&v| (v, 0)));
    g
}

/// `GetResourceUtilizationRatio`: (utilization %, ratio, raw average) over samples
/// with a request.
fn utilization(samples: &[(i64, i64)], target_pct: i64) -> Option<(i64, f64, i64)> {
    let (mut usage, mut request, mut n) = (0i64, 0i64, 0i64);
    for &(v, r) in samples.iter().filter(|(_, r)| *r > 0) {
        usage += v;
        request += r;
        n += 1;
    }
    if request == 0 {
        return None;
    }
    let util = (usage * 100 / request) as i32 as i64;
    Some((util, util as f64 / target_pct as f64, usage / n))
}

/// `GetResourceReplicas` with a Utilization target: CPU (`cpu: true`) or another
/// resource. `extra_m` are samples of pod names not in `pods`.
#[allow(clippy::too_many_arguments)] // the controller's own inputs, one each
pub fn resource_utilization_replicas(
    current: i64,
    target_pct: i64,
    pods: &[Pod],
    extra_m: &[i64],
    cpu: bool,
    now_s: f64,
    tolerance: Tolerance,
    config: &ControllerConfig,
) -> Option<Proposal> {
    let g = group_all(pods, extra_m, now_s, cpu, config);
    let (util, ratio, raw) = utilization(&g.samples, target_pct)?;
    let proposal = |replicas| Proposal {
        replicas,
        usage: util,
        raw_usage_m: raw,
    };
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if tolerance.within(ratio) {
            return Some(proposal(current));
        }
        return Some(proposal((ratio * g.ready_count as f64).ceil() as i64));
    }
    let mut samples = g.samples.clone();
    if !g.missing.is_empty() {
        for &request in &g.missing {
            let value = if ratio < 1.0 {
                request * target_pct.max(100) / 100
            } else {
                0
            };
            samples.push((value, request));
        }
    }
    if scale_up_with_unready {
        samples.extend(g.unready.iter().map(|&r| (0, r)));
    }
    let (_, new_ratio, _) = utilization(&samples, target_pct)?;
    Some(proposal(second_pass(
        current,
        ratio,
        new_ratio,
        samples.len(),
        tolerance,
    )))
}

/// The conservative second pass shared by the resource and pods calculators.
fn second_pass(
    current: i64,
    ratio: f64,
    new_ratio: f64,
    metrics: usize,
    tolerance: Tolerance,
) -> i64 {
    if tolerance.within(new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return current;
    }
    let new = (new_ratio * metrics as f64).ceil() as i64;
    if (new_ratio < 1.0 && new > current) || (new_ratio > 1.0 && new < current) {
        return current;
    }
    new
}

/// `calcPlainMetricReplicas`: a Pods metric, or a Resource metric with an
/// AverageValue target. Readiness rules do not apply (only pending, failed, deleting
/// and missing pods are special).
pub fn average_value_replicas(
    current: i64,
    target_m: i64,
    pods: &[Pod],
    extra_m: &[i64],
    now_s: f64,
    tolerance: Tolerance,
    config: &ControllerConfig,
) -> Option<Proposal> {
    let g = group_all(pods, extra_m, now_s, false, config);
    if g.samples.is_empty() {
        return None;
    }
    let average = |s: &[(i64, i64)]| s.iter().map(|x| x.0).sum::<i64>() / s.len() as i64;
    let usage = average(&g.samples);
    let ratio = usage as f64 / target_m as f64;
    let proposal = |replicas| Proposal {
        replicas,
        usage,
        raw_usage_m: usage,
    };
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if tolerance.within(ratio) {
            return Some(proposal(current));
        }
        return Some(proposal((ratio * g.ready_count as f64).ceil() as i64));
    }
    let mut samples = g.samples.clone();
    for &request in &g.missing {
        samples.push((if ratio < 1.0 { target_m } else { 0 }, request));
    }
    if scale_up_with_unready {
        samples.extend(g.unready.iter().map(|&r| (0, r)));
    }
    let new_ratio = average(&samples) as f64 / target_m as f64;
    Some(proposal(second_pass(
        current,
        ratio,
        new_ratio,
        samples.len(),
        tolerance,
    )))
}

/// `GetExternalMetricReplicas` / `GetObjectMetricReplicas` with a Value target: the
/// sum of the samples against the target; `ready_pods` multiplies the ratio.
pub fn external_value_replicas(
    current: i64,
    target_m: i64,
    values_m: &[i64],
    ready_pods: i64,
    tolerance: Tolerance,
) -> Proposal {
    let usage = values_m.iter().fold(0i64, |a, &v| a.saturating_add(v));
    let ratio = usage as f64 / target_m as f64;
    let replicas = if current == 0 {
        ratio.ceil() as i64
    } else if tolerance.within(ratio) {
        current
    } else {
        ((ratio * ready_pods as f64).ceil() as i64).min(i64::from(i32::MAX))
    };
    Proposal {
        replicas,
        usage,
        raw_usage_m: usage,
    }
}

/// `GetExternalPerPodMetricReplicas` (AverageValue target; KEDA's default).
pub fn external_average_replicas(
    status_replicas: i64,
    target_average_m: i64,
    values_m: &[i64],
    tolerance: Tolerance,
) -> Proposal {
    let usage = values_m.iter().fold(0i64, |a, &v| a.saturating_add(v));
    let mut replicas = status_replicas;
    let ratio = usage as f64 / (target_average_m as f64 * status_replicas as f64);
    if !tolerance.within(ratio) {
        replicas = (usage as f64 / target_average_m as f64).ceil() as i64;
    }
    let status = status_replicas.max(1);
    Proposal {
        replicas,
        usage: (usage + status - 1).div_euclid(status),
        raw_usage_m: usage,
    }
}

/// A scaling policy of `behavior` (`type: Pods|Percent`, `value`, `periodSeconds`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatePolicy {
    /// Pods (absolute) or Percent.
    pub kind: RatePolicyKind,
    /// The number of pods or the percentage.
    pub value: i64,
    /// The period the change is counted over, seconds.
    pub period_s: f64,
}

/// Pods or Percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatePolicyKind {
    /// At most `value` pods per period.
    Pods,
    /// At most `value` % of the pods at the period's start.
    Percent,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The smallest.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `behavior.scaleUp` or `behavior.scaleDown`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds` (`None` for scale-down: the controller flag).
    pub stabilization_window_s: Option<f64>,
    /// `selectPolicy`.
    pub select: SelectPolicy,
    /// `policies`.
    pub policies: Vec<RatePolicy>,
    /// `tolerance` (KEP-4951); `None`: the controller's.
    pub tolerance: Option<f64>,
}

impl ScalingRules {
    /// The API default for scale-up: window 0; 4 pods or 100% per 15 s; Max.
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_s: Some(0.0),
            select: SelectPolicy::Max,
            policies: vec![
                RatePolicy {
                    kind: RatePolicyKind::Pods,
                    value: 4,
                    period_s: 15.0,
                },
                RatePolicy {
                    kind: RatePolicyKind::Percent,
                    value: 100,
                    period_s: 15.0,
                },
            ],
            tolerance: None,
        }
    }

    /// The API default for scale-down: window from the controller flag; 100% per 15 s;
    /// Max.
    pub fn default_scale_down() -> Self {
        ScalingRules {
            stabilization_window_s: None,
            select: SelectPolicy::Max,
            policies: vec![RatePolicy {
                kind: RatePolicyKind::Percent,
                value: 100,
                period_s: 15.0,
            }],
            tolerance: None,
        }
    }

    fn longest_period(&self) -> f64 {
        self.policies.iter().map(|p| p.period_s).fold(0.0, f64::max)
    }
}

/// `spec.behavior`.
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    /// `scaleUp`.
    pub scale_up: ScalingRules,
    /// `scaleDown`.
    pub scale_down: ScalingRules,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules::default_scale_down(),
        }
    }
}

/// A past recommendation (value and when it was made).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recommendation {
    /// Replicas recommended.
    pub replicas: i64,
    /// When.
    pub at_s: f64,
}

/// A past rescale (how many pods it added or removed, and when).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleEvent {
    /// Pods added or removed.
    pub change: i64,
    /// When.
    pub at_s: f64,
    /// Older than the longest period of its direction: its slot may be reused.
    pub outdated: bool,
}

/// Why the desired count is what it is (the HPA's `ScalingLimited` reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Not limited.
    DesiredWithinRange,
    /// Capped by the scale-up rate.
    ScaleUpLimit,
    /// Capped by `maxReplicas`.
    TooManyReplicas,
    /// Held by the scale-down rate.
    ScaleDownLimit,
    /// Raised to `minReplicas`.
    TooFewReplicas,
}

impl Condition {
    /// The name Kubernetes reports.
    pub fn name(self) -> &'static str {
        match self {
            Condition::DesiredWithinRange => "DesiredWithinRange",
            Condition::ScaleUpLimit => "ScaleUpLimit",
            Condition::TooManyReplicas => "TooManyReplicas",
            Condition::ScaleDownLimit => "ScaleDownLimit",
            Condition::TooFewReplicas => "TooFewReplicas",
        }
    }
}

/// `stabilizeRecommendationWithBehaviors`: the stabilized count, and the history
/// updated in place.
pub fn stabilize_with_behavior(
    current: i64,
    raw: i64,
    up_window_s: f64,
    down_window_s: f64,
    history: &mut Vec<Recommendation>,
    now_s: f64,
) -> i64 {
    let (mut up_rec, mut down_rec) = (raw, raw);
    for r in history.iter() {
        let age = now_s - r.at_s;
        if age < up_window_s {
            up_rec = up_rec.min(r.replicas);
        }
        if age < down_window_s {
            down_rec = down_rec.max(r.replicas);
        }
    }
    let mut stab = current;
    if stab < up_rec {
        stab = up_rec;
    }
    if stab > down_rec {
        stab = down_rec;
    }
    record(history, raw, now_s, up_window_s.max(down_window_s));
    stab
}

/// Overwrites the last entry older than `window_s` with (raw, now), else appends.
fn record(history: &mut Vec<Recommendation>, raw: i64, now_s: f64, window_s: f64) {
    let new = Recommendation {
        replicas: raw,
        at_s: now_s,
    };
    match history.iter().rposition(|r| r.at_s < now_s - window_s) {
        Some(i) => history[i] = new,
        None => history.push(new),
    }
}

/// `stabilizeRecommendation` (legacy path): scale-down held for `window_s`.
pub fn stabilize_legacy(
    raw: i64,
    window_s: f64,
    history: &mut Vec<Recommendation>,
    now_s: f64,
) -> i64 {
    let stab = history
        .iter()
        .filter(|r| r.at_s >= now_s - window_s)
        .map(|r| r.replicas)
        .fold(raw, i64::max);
    record(history, raw, now_s, window_s);
    stab
}

fn change_within(events: &[ScaleEvent], period_s: f64, now_s: f64) -> i64 {
    events
        .iter()
        .filter(|e| now_s - e.at_s < period_s)
        .map(|e| e.change)
        .sum()
}

/// Replicas at the start of `policy`'s period: `current` less what the scale-ups
/// within it added, plus what the scale-downs removed.
fn period_start(
    current: i64,
    policy: &RatePolicy,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now_s: f64,
) -> i64 {
    current - change_within(up_events, policy.period_s, now_s)
        + change_within(down_events, policy.period_s, now_s)
}

/// `calculateScaleUpLimitWithScalingRules`: the most replicas the scale-up policies
/// allow now (`current` when scale-up is disabled). The caller raises it to `current`.
pub fn scale_up_limit_with_rules(
    current: i64,
    rules: &ScalingRules,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now_s: f64,
) -> i64 {
    let limits = rules.policies.iter().map(|p| {
        let start = period_start(current, p, up_events, down_events, now_s);
        match p.kind {
            RatePolicyKind::Pods => start + p.value,
            // Rounded up, so a small percentage still allows one more pod.
            RatePolicyKind::Percent => {
                (start as f64 * (1.0 + p.value as f64 / 100.0)).ceil() as i64
            }
        }
    });
    match rules.select {
        SelectPolicy::Max => limits.max().unwrap_or(current),
        SelectPolicy::Min => limits.min().unwrap_or(current),
        SelectPolicy::Disabled => current,
    }
}

/// `calculateScaleDownLimitWithBehaviors`: the fewest replicas the scale-down policies
/// allow now (`current` when scale-down is disabled). The caller lowers it to
/// `current`.
pub fn scale_down_limit_with_rules(
    current: i64,
    rules: &ScalingRules,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now_s: f64,
) -> i64 {
    let limits = rules.policies.iter().map(|p| {
        let start = period_start(current, p, up_events, down_events, now_s);
        match p.kind {
            RatePolicyKind::Pods => start - p.value,
            // Go's int32(float64) truncation.
            RatePolicyKind::Percent => {
                (start as f64 * (1.0 - p.value as f64 / 100.0)) as i32 as i64
            }
        }
    });
    match rules.select {
        SelectPolicy::Max => limits.min().unwrap_or(current),
        SelectPolicy::Min => limits.max().unwrap_or(current),
        SelectPolicy::Disabled => current,
    }
}

/// `convertDesiredReplicasWithBehaviorRate`: the stabilized count limited by the
/// policies, given the recent scale events.
#[allow(clippy::too_many_arguments)]
pub fn rate_limit_with_behavior(
    current: i64,
    desired: i64,
    min: i64,
    max: i64,
    behavior: &Behavior,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now_s: f64,
) -> (i64, Condition) {
    if desired > current {
        let limit =
            scale_up_limit_with_rules(current, &behavior.scale_up, up_events, down_events, now_s)
                .max(current);
        let (allowed, condition) = if max > limit {
            (limit, Condition::ScaleUpLimit)
        } else {
            (max, Condition::TooManyReplicas)
        };
        if desired > allowed {
            return (allowed, condition);
        }
    } else if desired < current {
        let limit = scale_down_limit_with_rules(
            current,
            &behavior.scale_down,
            up_events,
            down_events,
            now_s,
        )
        .min(current);
        let (allowed, condition) = if min < limit {
            (limit, Condition::ScaleDownLimit)
        } else {
            (min, Condition::TooFewReplicas)
        };
        if desired < allowed {
            return (allowed, condition);
        }
    }
    (desired, Condition::DesiredWithinRange)
}

/// `calculateScaleUpLimit` (legacy path): `max(factor · current, minimum)`, truncated
/// to an integer as Go's `int32(float64)` does.
pub fn scale_up_limit_legacy(current: i64, config: &ControllerConfig) -> i64 {
    (config.scale_up_limit_factor * current as f64).max(config.scale_up_limit_minimum) as i32 as i64
}

/// `convertDesiredReplicasWithRules` (legacy path).
pub fn rate_limit_legacy(
    current: i64,
    desired: i64,
    min: i64,
    max: i64,
    config: &ControllerConfig,
) -> (i64, Condition) {
    let up_limit = scale_up_limit_legacy(current, config);
    let (max_allowed, up_condition) = if max > up_limit {
        (up_limit, Condition::ScaleUpLimit)
    } else {
        (max, Condition::TooManyReplicas)
    };
    if desired < min {
        (min, Condition::TooFewReplicas)
    } else if desired > max_allowed {
        (max_allowed, up_condition)
    } else {
        (desired, Condition::DesiredWithinRange)
    }
}

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
