//! The HPA's replica calculators: how pods are grouped (ready, unready, missing,
//! ignored), the tolerance, and the per-metric replica counts with the controller's
//! integer arithmetic and its second pass over missing and unready pods.

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
