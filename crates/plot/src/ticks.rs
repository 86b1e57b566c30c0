//! Axis ranges and ticks: the window a chart's data is drawn in, and round-numbered
//! ticks chosen here rather than by plotters (1-2-5 steps, decades on log axes,
//! integers on counts).

use crate::{Axis, Chart, Mark};

/// The chart's x and y ranges in mapped space (log10 on log axes): the data, its
/// error bars and reference lines, padded by 4%.
pub(crate) fn bounds(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
    let mut ys = (f64::INFINITY, f64::NEG_INFINITY);
    let widen = |r: &mut (f64, f64), v: f64| {
        r.0 = r.0.min(v);
        r.1 = r.1.max(v);
    };
    for s in &chart.series {
        if let Mark::HLine(y) = s.mark {
            if let Some(y) = chart.y.map(y) {
                widen(&mut ys, y);
            }
            continue;
        }
        let xs_only: &[f64] = match &s.mark {
            Mark::VLine(x) => std::slice::from_ref(x),
            Mark::Span(lo, hi) => &[*lo, *hi],
            Mark::Events(at) => at,
            _ => &[],
        };
        if !xs_only.is_empty() || matches!(s.mark, Mark::Events(_)) {
            for &x in xs_only {
                if let Some(x) = chart.x.map(x) {
                    widen(&mut xs, x);
                }
            }
            continue;
        }
        for (i, &(x, y)) in s.points.iter().enumerate() {
            let (Some(x), Some(y)) = (chart.x.map(x), chart.y.map(y)) else {
                continue;
            };
            widen(&mut xs, x);
            widen(&mut ys, y);
            if let Mark::ErrorBars(bars) | Mark::LineErrorBars(bars) = &s.mark
                && let Some(&(lo, hi)) = bars.get(i)
            {
                for v in [lo, hi] {
                    if let Some(v) = chart.y.map(v) {
                        widen(&mut ys, v);
                    }
                }
            }
            if let Mark::CrossBars(bars) = &s.mark
                && let Some(&((xlo, xhi), (ylo, yhi))) = bars.get(i)
            {
                for v in [xlo, xhi] {
                    if let Some(v) = chart.x.map(v) {
                        widen(&mut xs, v);
                    }
                }
                for v in [ylo, yhi] {
                    if let Some(v) = chart.y.map(v) {
                        widen(&mut ys, v);
                    }
                }
            }
        }
    }
    let fix = |r: (f64, f64), axis: &Axis| -> (f64, f64) {
        if let Some((lo, hi)) = axis.range {
            return (axis.map(lo).unwrap_or(r.0), axis.map(hi).unwrap_or(r.1));
        }
        if !r.0.is_finite() {
            return (0.0, 1.0);
        }
        // A flat series (every SLA attainment 1) gets a window of 2% of its value
        // around it, so the ticks are distinct numbers rather than one label repeated.
        // (A series flat at zero gets 0 to 1.)
        let magnitude = r.0.abs().max(r.1.abs());
        let min_span = if magnitude > 0.0 {
            magnitude * 0.02
        } else {
            1.0
        };
        let ceiling = if axis.log {
            None
        } else {
            axis.ceiling.filter(|&c| r.1 <= c)
        };
        let r = if r.1 - r.0 < min_span {
            let mid = 0.5 * (r.0 + r.1);
            let (lo, hi) = (mid - 0.5 * min_span, mid + 0.5 * min_span);
            // Against the ceiling the window opens downwards only.
            match ceiling {
                Some(c) if hi > c => (c - min_span, c),
                _ => (lo, hi),
            }
        } else {
            r
        };
        let span = r.1 - r.0;
        let pad = span * 0.04;
        let lo = if !axis.log && r.0 >= 0.0 && r.0 - pad < 0.0 {
            0.0
        } else {
            r.0 - pad
        };
        (lo, r.1 + pad)
    };
    (fix(xs, &chart.x), fix(ys, &chart.y))
}

/// The ticks of `axis` over `[lo, hi]` (in its mapped space: log10 of the value on a
/// log axis), and the minor grid's lines. Linear: steps of 1, 2 or 5 × 10^k, about
/// six to eight to an axis (whole numbers only on a count axis). Log: every decade,
/// with 2 and 5 between them when the axis spans fewer than three decades (1, 2 and
/// 5 between when under one); the minor grid at 1…9 × each decade. The third value
/// is the step between ticks of a linear scale (the values' own under a decade of a
/// log axis), 0 for decades: labels take their decimals from it.
pub(crate) fn axis_ticks(axis: &Axis, lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>, f64) {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return (vec![lo], Vec::new(), 1.0);
    }
    if axis.log {
        let decades = hi - lo;
        if decades < 1.0 {
            // Under a decade: linear 1-2-5 steps on the values themselves.
            let linear = Axis {
                log: false,
                ..axis.clone()
            };
            let (bold, light, step) = axis_ticks(&linear, 10f64.powf(lo), 10f64.powf(hi));
            let to_log = |v: Vec<f64>| v.into_iter().filter(|&x| x > 0.0).map(f64::log10).collect();
            return (to_log(bold), to_log(light), step);
        }
        // Decades (every k-th past eight of them), with 2 and 5 under three decades.
        let every = (decades / 8.0).ceil().max(1.0) as i64;
        let (mut bold, mut light) = (Vec::new(), Vec::new());
        for e in (lo.floor() as i64)..=(hi.ceil() as i64) {
            for m in 1..10u8 {
                let v = e as f64 + f64::from(m).log10();
                if v < lo || v > hi {
                    continue;
                }
                let major = if m == 1 {
                    e.rem_euclid(every) == 0
                } else {
                    decades < 3.0 && (m == 2 || m == 5)
                };
                if major {
                    bold.push(v);
                } else {
                    light.push(v);
                }
            }
        }
        return (bold, light, 0.0);
    }
    let raw = (hi - lo) / 7.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    if axis.integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let bold: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    let minor = if axis.integer && step <= 1.0 {
        step
    } else {
        step / 5.0
    };
    let light: Vec<f64> = if minor < step {
        ((lo / minor).ceil() as i64..=(hi / minor).floor() as i64)
            .map(|k| k as f64 * minor)
            .filter(|v| bold.iter().all(|b| (b - v).abs() > minor * 1e-6))
            .collect()
    } else {
        Vec::new()
    };
    (bold, light, step)
}

/// A linear range whose ticks and minor grid lines are given ([`axis_ticks`]), not
/// chosen by plotters: round numbers, decades on log axes, integers on counts.
pub(crate) struct Ticked {
    inner: plotters::coord::types::RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ticked {
    pub(crate) fn new(range: std::ops::Range<f64>, bold: Vec<f64>, light: Vec<f64>) -> Self {
        Ticked {
            inner: range.into(),
            bold,
            light,
        }
    }
}

impl plotters::coord::ranged1d::Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// A log axis tick's label: the value 10^`v` in the fewest digits that write it
/// (`0.02`, `5`, `200`), scientific notation far from 1.
pub(crate) fn log_tick_label(v: f64) -> String {
    let x = 10f64.powf(v);
    if !(1e-4..1e6).contains(&x) {
        return format!("{x:.0e}");
    }
    // Three significant digits, then trailing zeros dropped.
    let decimals = (2.0 - x.log10().floor()).clamp(0.0, 6.0) as usize;
    without_trailing_zeros(format!("{x:.decimals$}"))
}

/// A linear tick's label at ticks `step` apart: as many decimals as the step needs.
pub(crate) fn linear_tick_label(v: f64, step: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&v.abs()) {
        return format!("{v:.1e}");
    }
    let decimals = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
    without_trailing_zeros(format!("{v:.decimals$}"))
}

/// `text` (a fixed-point number) without trailing zeros after the point, nor the
/// point itself when nothing follows it.
fn without_trailing_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}
