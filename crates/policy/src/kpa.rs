//! The Knative Pod Autoscaler's decider (`autoscaler.Scale` in knative/serving),
//! reproduced exactly: stable and panic windows, panic mode entered at the panic
//! threshold and left one stable window after the last over-threshold tick, scale-up
//! and scale-down rate limits, the optional scale-down delay window, and the excess
//! burst capacity. `data/reference/POLICIES.md` §3 states it; `policies_kpa.yaml`
//! holds cases from Knative's own tests, checked by `tests/it/policies.rs`.

/// The decider's configuration (`DeciderSpec`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeciderSpec {
    /// Per-pod target (concurrency or requests/s): `total × target utilization`.
    pub target_value: f64,
    /// Per-pod total capacity (`containerConcurrency` or the default).
    pub total_value: f64,
    /// Target burst capacity: 0 = activator only at zero, −1 = always in the path.
    pub target_burst_capacity: f64,
    /// Panic when the panic-window count needs this many times the ready pods (2).
    pub panic_threshold: f64,
    /// Most desired/ready per decision (1000).
    pub max_scale_up_rate: f64,
    /// Most ready/desired per decision (2).
    pub max_scale_down_rate: f64,
    /// Per-activator capacity (100).
    pub activator_capacity: f64,
    /// Stable window, seconds (60).
    pub stable_window_s: f64,
    /// Scale-down delay, seconds (0: none).
    pub scale_down_delay_s: f64,
    /// Whether the revision is reachable (routed to).
    pub reachable: bool,
    /// Minimum scale when scaling from zero (`activation-scale`), 0 or 1 for none.
    pub activation_scale: i64,
}

impl Default for DeciderSpec {
    /// Knative's production defaults with a concurrency target of 100 × 0.7.
    fn default() -> Self {
        DeciderSpec {
            target_value: 70.0,
            total_value: 100.0,
            target_burst_capacity: 211.0,
            panic_threshold: 2.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            activator_capacity: 100.0,
            stable_window_s: 60.0,
            scale_down_delay_s: 0.0,
            reachable: true,
            activation_scale: 0,
        }
    }
}

/// The decider's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleResult {
    /// Desired pods.
    pub desired: i64,
    /// Excess burst capacity (negative: the activator should stay in the path).
    pub excess_burst_capacity: i64,
    /// Whether the result may be used.
    pub valid: bool,
}

/// One revision's autoscaler with its state.
#[derive(Clone, Debug)]
pub struct Kpa {
    /// Configuration.
    pub spec: DeciderSpec,
    /// When panic mode was last entered or extended (`None`: not panicking).
    pub panic_time_s: Option<f64>,
    /// Highest count decided while panicking.
    pub max_panic_pods: i64,
    /// Scale-down delay window: (2 s bucket index, max desired in it).
    delay_window: Vec<(i64, i64)>,
}

impl Kpa {
    /// A new autoscaler created at `now_s` when `ready_pods` are ready: with more than
    /// one it starts in panic mode holding that count (so a restart does not drop scale).
    pub fn new(spec: DeciderSpec, ready_pods: i64, now_s: f64) -> Self {
        let panicking = ready_pods > 1;
        Kpa {
            spec,
            panic_time_s: panicking.then_some(now_s),
            max_panic_pods: if panicking { ready_pods } else { 0 },
            delay_window: Vec::new(),
        }
    }

    /// One decision at `now_s` with `ready_pods` ready and the revision-total metric
    /// averaged over the stable and panic windows.
    pub fn scale(&mut self, now_s: f64, ready_pods: i64, stable: f64, panic: f64) -> ScaleResult {
        let s = self.spec;
        let r = ready_pods.max(1) as f64;
        let max_up = (s.max_scale_up_rate * r).ceil();
        let max_down = if s.reachable {
            (r / s.max_scale_down_rate).floor()
        } else {
            0.0
        };
        let dspc = (stable / s.target_value).ceil();
        let dppc = (panic / s.target_value).ceil();
        let mut d_stable = dspc.max(max_down).min(max_up) as i64;
        let mut d_panic = dppc.max(max_down).min(max_up) as i64;
        if s.activation_scale > 1 {
            if dspc > 0.0 {
                d_stable = d_stable.max(s.activation_scale);
            }
            if dppc > 0.0 {
                d_panic = d_panic.max(s.activation_scale);
            }
        }
        let over = dppc / r >= s.panic_threshold;
        if over {
            self.panic_time_s = Some(now_s);
        } else if self
            .panic_time_s
            .is_some_and(|t| t + s.stable_window_s < now_s)
        {
            self.panic_time_s = None;
            self.max_panic_pods = 0;
        }
        let mut desired = d_stable;
        if self.panic_time_s.is_some() {
            desired = d_stable.max(d_panic);
            self.max_panic_pods = self.max_panic_pods.max(desired);
            desired = self.max_panic_pods;
        }
        if s.reachable && s.scale_down_delay_s > 0.0 {
            desired = self.delayed(now_s, desired);
        }
        let ebc = if s.target_burst_capacity == 0.0 {
            0
        } else if s.target_burst_capacity > 0.0 {
            (ready_pods as f64 * s.total_value - s.target_burst_capacity - panic).floor() as i64
        } else {
            -1
        };
        ScaleResult {
            desired,
            excess_burst_capacity: ebc,
            valid: true,
        }
    }

    /// The max over the scale-down delay's 2 s buckets.
    fn delayed(&mut self, now_s: f64, desired: i64) -> i64 {
        let buckets = (self.spec.scale_down_delay_s / 2.0).ceil() as i64;
        let index = (now_s / 2.0).floor() as i64;
        self.delay_window.retain(|&(i, _)| index - i < buckets);
        match self.delay_window.iter_mut().find(|(i, _)| *i == index) {
            Some(entry) => entry.1 = entry.1.max(desired),
            None => self.delay_window.push((index, desired)),
        }
        self.delay_window
            .iter()
            .map(|&(_, d)| d)
            .max()
            .unwrap_or(desired)
    }
}
