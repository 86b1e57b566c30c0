//! The HPA's normalization: the `behavior` path (stabilization windows, Pods and
//! Percent policies per period, scale events) and the legacy one (a downscale
//! stabilization window and the fixed scale-up limit).

use super::*;

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

    pub(super) fn longest_period(&self) -> f64 {
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
