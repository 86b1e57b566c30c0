//! Streaming measurements with memory independent of the number of requests.

use hdrhistogram::Histogram;
use inferscale_engine::{SimDuration, SimTime};

/// The time average of an integer level (busy servers, queue length) over a window that
/// starts at `from`; changes before `from` only set the starting level.
///
/// The integral is kept exactly, in level·nanoseconds, so the result does not depend on
/// how often the level changed.
#[derive(Clone, Debug)]
pub struct TimeAverage {
    from: SimTime,
    last_change: SimTime,
    level: u64,
    integral: u128,
}

impl TimeAverage {
    /// A level of zero, averaged from `from` on.
    pub fn new(from: SimTime) -> Self {
        TimeAverage {
            from,
            last_change: SimTime::ZERO,
            level: 0,
            integral: 0,
        }
    }

    /// Records that the level becomes `level` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, level: u64) {
        self.accumulate(now);
        self.level = level;
    }

    #[inline]
    fn accumulate(&mut self, now: SimTime) {
        let start = self.last_change.max(self.from);
        if now > start {
            self.integral += u128::from(self.level) * u128::from((now - start).as_nanos());
        }
        self.last_change = now;
    }

    /// The current level.
    pub fn level(&self) -> u64 {
        self.level
    }

    /// The level integrated over `[from, end]`, level·seconds.
    pub fn integral_until(&self, end: SimTime) -> f64 {
        let mut closed = self.clone();
        closed.accumulate(end);
        closed.integral as f64 * 1e-9
    }

    /// The average level over `[from, end]`; zero for an empty window.
    pub fn mean_until(&self, end: SimTime) -> f64 {
        let mut closed = self.clone();
        closed.accumulate(end);
        let span = end.saturating_since(self.from).as_nanos();
        if span == 0 {
            0.0
        } else {
            closed.integral as f64 / span as f64
        }
    }
}

/// Durations of which only the count and the exact mean are needed: a cheaper
/// [`LatencyRecorder`] for hot paths that report no quantiles.
#[derive(Clone, Debug, Default)]
pub struct DurationMean {
    count: u64,
    sum_nanos: u128,
}

impl DurationMean {
    /// Records one duration.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        self.count += 1;
        self.sum_nanos += u128::from(d.as_nanos());
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact mean in seconds, or NaN if nothing was recorded.
    pub fn mean_s(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum_nanos as f64 / self.count as f64 / 1e9
        }
    }
}

/// Latencies of requests: exact count and mean, and quantiles from an HDR histogram with
/// three significant digits (relative error ≤ 0.1%, a few hundred KiB whatever the count).
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    mean: DurationMean,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        // Three significant digits with auto-resize: bounds grow to the largest value.
        let mut histogram = Histogram::new(3).expect("3 significant digits is a valid precision");
        histogram.auto(true);
        LatencyRecorder {
            histogram,
            mean: DurationMean::default(),
        }
    }

    /// Records one latency.
    #[inline]
    pub fn record(&mut self, latency: SimDuration) {
        self.mean.record(latency);
        // With auto-resize on, recording only fails if the value exceeds u64 range.
        let _ = self.histogram.record(latency.as_nanos());
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.mean.count()
    }

    /// The exact mean in seconds, or NaN if nothing was recorded.
    pub fn mean_s(&self) -> f64 {
        self.mean.mean_s()
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) in seconds, or NaN if nothing was recorded.
    pub fn quantile_s(&self, q: f64) -> f64 {
        if self.count() == 0 {
            f64::NAN
        } else {
            self.histogram.value_at_quantile(q) as f64 / 1e9
        }
    }

    /// Forgets every latency recorded so far (keeps the memory).
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.mean = DurationMean::default();
    }

    /// The latencies as a histogram on a log scale for CDFs: `(upper bound in seconds,
    /// count)` for each nonempty bucket, bounds growing by 5% from 1 µs. Merging the
    /// buckets of several runs gives their pooled distribution exactly (to the bucket).
    pub fn log_buckets(&self) -> Vec<(f64, u64)> {
        if self.count() == 0 {
            return Vec::new();
        }
        self.histogram
            .iter_log(1_000, 1.05)
            .filter(|v| v.count_since_last_iteration() > 0)
            .map(|v| {
                (
                    v.value_iterated_to() as f64 / 1e9,
                    v.count_since_last_iteration(),
                )
            })
            .collect()
    }

    /// Adds every latency recorded by `other` (exact: histograms merge bucket by bucket).
    pub fn merge(&mut self, other: &LatencyRecorder) {
        self.mean.count += other.mean.count;
        self.mean.sum_nanos += other.mean.sum_nanos;
        let _ = self.histogram.add(&other.histogram);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_buckets_count_everything_once() {
        let mut r = LatencyRecorder::new();
        for ms in 1..=1000 {
            r.record(SimDuration::from_millis(ms));
        }
        let b = r.log_buckets();
        assert_eq!(b.iter().map(|(_, c)| c).sum::<u64>(), 1000);
        assert!(b.windows(2).all(|w| w[1].0 > w[0].0));
        // Buckets grow by 5%; the median's bucket bound is within 5% of 0.5 s.
        let mut seen = 0;
        let median = b
            .iter()
            .find(|(_, c)| {
                seen += c;
                seen >= 500
            })
            .unwrap()
            .0;
        assert!((median / 0.5 - 1.0).abs() < 0.05, "{median}");
    }

    #[test]
    fn time_average_ignores_the_warm_up() {
        let mut avg = TimeAverage::new(SimTime::from_secs(10));
        avg.set(SimTime::from_secs(0), 100); // before the window: only sets the level
        avg.set(SimTime::from_secs(15), 2); // 100 over [10, 15]
        avg.set(SimTime::from_secs(20), 0); // 2 over [15, 20]
        // (100·5 + 2·5 + 0·10) / 20
        assert_eq!(avg.mean_until(SimTime::from_secs(30)), 25.5);
        assert_eq!(avg.level(), 0);
    }

    #[test]
    fn time_average_of_an_empty_window_is_zero() {
        let avg = TimeAverage::new(SimTime::from_secs(5));
        assert_eq!(avg.mean_until(SimTime::from_secs(5)), 0.0);
    }

    #[test]
    fn latency_quantiles_are_within_a_tenth_of_a_percent() {
        let mut rec = LatencyRecorder::new();
        for ms in 1..=10_000u64 {
            rec.record(SimDuration::from_millis(ms));
        }
        assert_eq!(rec.count(), 10_000);
        assert!((rec.mean_s() - 5.0005).abs() < 1e-12);
        for (q, want) in [(0.5, 5.0), (0.9, 9.0), (0.99, 9.9)] {
            let got = rec.quantile_s(q);
            assert!((got - want).abs() <= 0.001 * want, "q{q}: {got}");
        }
    }

    #[test]
    fn merged_recorders_equal_one_recorder() {
        let (mut a, mut b, mut all) = (
            LatencyRecorder::new(),
            LatencyRecorder::new(),
            LatencyRecorder::new(),
        );
        for i in 0..1000u64 {
            let d = SimDuration::from_nanos(i * i * 1000);
            if i % 3 == 0 {
                a.record(d)
            } else {
                b.record(d)
            }
            all.record(d);
        }
        a.merge(&b);
        assert_eq!(a.count(), all.count());
        assert_eq!(a.mean_s(), all.mean_s());
        assert_eq!(a.quantile_s(0.99), all.quantile_s(0.99));
    }

    #[test]
    fn duration_mean_is_exact() {
        let mut m = DurationMean::default();
        assert!(m.mean_s().is_nan());
        m.record(SimDuration::from_nanos(1));
        m.record(SimDuration::from_nanos(2));
        assert_eq!(m.count(), 2);
        assert_eq!(m.mean_s(), 1.5e-9);
    }

    #[test]
    fn empty_recorder_reports_nan() {
        let rec = LatencyRecorder::new();
        assert!(rec.mean_s().is_nan() && rec.quantile_s(0.5).is_nan());
    }
}
