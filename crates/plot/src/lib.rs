//! Charts of workloads and results, drawn to PNG or SVG with `plotters`.
//!
//! A [`Figure`] is a column of [`Chart`]s described as plain data (series of points,
//! error bars, reference lines), so the code that knows what to plot never touches the
//! drawing library and the drawing code is written once. Text is drawn with the
//! bundled DejaVu Sans (`fonts/`, Bitstream Vera licence) through `ab_glyph`, so no
//! system font library is needed.
#![deny(missing_docs)]

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use thiserror::Error;

/// Why a figure could not be drawn.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The drawing backend failed (usually: the file could not be written).
    #[error("cannot draw `{path}`: {message}")]
    Draw {
        /// The output file.
        path: String,
        /// What the backend said.
        message: String,
    },
    /// The output's extension is neither `.png` nor `.svg`.
    #[error("cannot draw `{0}`: the file name must end in `.png` or `.svg`")]
    Format(String),
}

/// One axis.
#[derive(Clone, Debug, Default)]
pub struct Axis {
    /// The label, with units.
    pub label: String,
    /// Logarithmic (base 10); values ≤ 0 are left out.
    pub log: bool,
    /// Fixed range; `None` fits the data.
    pub range: Option<(f64, f64)>,
    /// The largest value the quantity can take (1 for a share): a fitted range does
    /// not run past it by more than its padding.
    pub ceiling: Option<f64>,
    /// The quantity counts whole things (replicas): ticks at integers only.
    pub integer: bool,
}

impl Axis {
    /// A linear axis labelled `label`.
    pub fn linear(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            ..Axis::default()
        }
    }

    /// A logarithmic axis labelled `label`.
    pub fn log(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            log: true,
            ..Axis::default()
        }
    }

    /// A linear axis of whole numbers (replicas): ticks at integers.
    pub fn count(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            integer: true,
            ..Axis::default()
        }
    }

    /// A linear axis of a share, at most 1 (SLA attainment, utilization).
    pub fn share(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            ceiling: Some(1.0),
            ..Axis::default()
        }
    }

    fn map(&self, v: f64) -> Option<f64> {
        if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            v.is_finite().then_some(v)
        }
    }
}

/// How a series is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Mark {
    /// A solid polyline.
    Line,
    /// A dashed polyline (expectations, forecasts).
    Dashed,
    /// Dots.
    Points,
    /// Dots with vertical error bars: each point's `(low, high)` in `bars`.
    ErrorBars(Vec<(f64, f64)>),
    /// [`Mark::ErrorBars`] joined by a line (a metric against a parameter).
    LineErrorBars(Vec<(f64, f64)>),
    /// Dots with error bars in both directions: each point's `((x_low, x_high),
    /// (y_low, y_high))` (a confidence interval on each axis).
    CrossBars(Vec<((f64, f64), (f64, f64))>),
    /// A horizontal reference line at this y (an SLA); `points` is ignored.
    HLine(f64),
    /// A vertical reference line at this x (an SLA on a CDF); `points` is ignored.
    VLine(f64),
}

/// A named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// How to draw them.
    pub mark: Mark,
}

impl Series {
    /// A series drawn as `mark`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, mark: Mark) -> Self {
        Series {
            name: name.into(),
            points,
            mark,
        }
    }
}

/// One chart: axes and series.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Caption above the chart.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// What to draw; the legend lists them in this order.
    pub series: Vec<Series>,
}

/// Charts stacked in one column, drawn to one file.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The charts, top to bottom.
    pub charts: Vec<Chart>,
    /// Width in pixels.
    pub width: u32,
    /// Height of each chart in pixels.
    pub chart_height: u32,
    /// Text, strokes, marks and margins relative to the default (1: 13 px tick
    /// labels, as at 100 dpi); see [`Figure::sized`].
    pub scale: f64,
}

impl Figure {
    /// A figure of `charts`, 1000 px wide and 360 px per chart.
    pub fn new(charts: Vec<Chart>) -> Self {
        Figure {
            charts,
            width: 1000,
            chart_height: 360,
            scale: 1.0,
        }
    }

    /// This figure `width_in` inches wide and `chart_height_in` inches per chart at
    /// `dpi` dots per inch: pixels are inches × dpi, and text, lines and marks scale
    /// with dpi / 100, so a figure keeps its look (13 px tick labels at 100 dpi are
    /// 9.4 pt at any dpi) and prints sharp at 300.
    pub fn sized(mut self, width_in: f64, chart_height_in: f64, dpi: f64) -> Self {
        self.width = (width_in * dpi).round().max(1.0) as u32;
        self.chart_height = (chart_height_in * dpi).round().max(1.0) as u32;
        self.scale = dpi / 100.0;
        self
    }

    /// Draws to `path`, PNG or SVG by its extension.
    pub fn draw(&self, path: &Path) -> Result<(), PlotError> {
        register_fonts();
        let size = (
            self.width,
            self.chart_height * self.charts.len().max(1) as u32,
        );
        let name = path.display().to_string();
        let fail = |e: String| PlotError::Draw {
            path: name.clone(),
            message: e,
        };
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                let root = BitMapBackend::new(path, size).into_drawing_area();
                self.draw_on(&root).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))
            }
            Some("svg") => {
                let root = SVGBackend::new(path, size).into_drawing_area();
                self.draw_on(&root).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))
            }
            _ => Err(PlotError::Format(name)),
        }
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((self.charts.len().max(1), 1));
        for (chart, area) in self.charts.iter().zip(&areas) {
            draw_chart(chart, area, self.scale)?;
        }
        Ok(())
    }
}

static FONTS: Once = Once::new();

fn register_fonts() {
    FONTS.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../fonts/DejaVuSans.ttf");
        // The bundled file is a valid TrueType font; were it not, text would be
        // missing from the charts but nothing else would fail.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// The colours of successive series (Tableau 10, readable in print and for common
/// colour-vision deficiencies).
/// Tableau's 10 colours, then their darker variants, so up to 20 series differ.
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(16, 72, 110),
    RGBColor(168, 84, 9),
    RGBColor(28, 102, 28),
    RGBColor(140, 25, 26),
    RGBColor(96, 66, 122),
    RGBColor(90, 55, 48),
    RGBColor(150, 78, 128),
    RGBColor(70, 70, 70),
    RGBColor(120, 121, 22),
    RGBColor(15, 122, 133),
];

fn bounds(chart: &Chart) -> ((f64, f64), (f64, f64)) {
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
        if let Mark::VLine(x) = s.mark {
            if let Some(x) = chart.x.map(x) {
                widen(&mut xs, x);
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
        let magnitude = r.0.abs().max(r.1.abs());
        let min_span = (magnitude * 0.02).max(1e-9);
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
/// 5 between when under one); the minor grid at 1…9 × each decade.
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
            let (bold, light, _) = axis_ticks(&linear, 10f64.powf(lo), 10f64.powf(hi));
            let to_log = |v: Vec<f64>| v.into_iter().filter(|&x| x > 0.0).map(f64::log10).collect();
            return (to_log(bold), to_log(light), 0.0);
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
struct Ticked {
    inner: plotters::coord::types::RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ticked {
    fn new(range: std::ops::Range<f64>, bold: Vec<f64>, light: Vec<f64>) -> Self {
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
fn log_tick_label(v: f64) -> String {
    let x = 10f64.powf(v);
    if !(1e-4..1e6).contains(&x) {
        return format!("{x:.0e}");
    }
    // Three significant digits, then trailing zeros dropped.
    let decimals = (2.0 - x.log10().floor()).clamp(0.0, 6.0) as usize;
    without_trailing_zeros(format!("{x:.decimals$}"))
}

/// A linear tick's label at ticks `step` apart: as many decimals as the step needs.
fn linear_tick_label(v: f64, step: f64) -> String {
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

/// Legends of more entries than this go beside the plot rather than over it.
const LEGEND_INSIDE_MAX: usize = 5;

fn draw_chart<DB: DrawingBackend>(
    chart: &Chart,
    area: &DrawingArea<DB, Shift>,
    scale: f64,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    // Pixel sizes at 100 dpi, scaled.
    let px = |v: i32| (f64::from(v) * scale).round() as i32;
    let pu = |v: u32| (f64::from(v) * scale).round().max(1.0) as u32;
    let font = |size: f64| size * scale;
    let ((x0, x1), (y0, y1)) = bounds(chart);
    let named: Vec<(usize, &Series)> = chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.name.is_empty())
        .collect();
    let legend_width = px(44
        + 8 * named
            .iter()
            .map(|(_, s)| s.name.chars().count())
            .max()
            .unwrap_or(0) as i32);
    let (plot_area, side) = if named.len() > LEGEND_INSIDE_MAX {
        let width = area.dim_in_pixel().0 as i32;
        let (left, right) = area.split_horizontally(width - legend_width - px(8));
        (left, Some(right))
    } else {
        (area.clone(), None)
    };
    if let Some(side) = &side {
        draw_side_legend(side, &named, scale)?;
    }
    let (xticks, xminor, xstep) = axis_ticks(&chart.x, x0, x1);
    let (yticks, yminor, ystep) = axis_ticks(&chart.y, y0, y1);
    let mut ctx = ChartBuilder::on(&plot_area)
        .caption(&chart.title, ("sans-serif", font(20.0)))
        .margin(pu(12))
        .x_label_area_size(pu(40))
        .y_label_area_size(pu(70))
        .build_cartesian_2d(
            Ticked::new(x0..x1, xticks, xminor),
            Ticked::new(y0..y1, yticks, yminor),
        )
        .map_err(err)?;
    let (xlog, ylog) = (chart.x.log, chart.y.log);
    let label = |v: f64, log: bool, step: f64| {
        if log {
            log_tick_label(v)
        } else {
            linear_tick_label(v, step)
        }
    };
    ctx.configure_mesh()
        .x_desc(chart.x.label.as_str())
        .y_desc(chart.y.label.as_str())
        .x_label_formatter(&|v| label(*v, xlog, xstep))
        .y_label_formatter(&|v| label(*v, ylog, ystep))
        .label_style(("sans-serif", font(13.0)))
        .axis_desc_style(("sans-serif", font(15.0)))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, s) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mapped: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|&(x, y)| Some((chart.x.map(x)?, chart.y.map(y)?)))
            .collect();
        let style = color.stroke_width(pu(2));
        let (dx, stroke) = (px(18), pu(2));
        let legend = |c: RGBColor| {
            move |(x, y): (i32, i32)| {
                PathElement::new(vec![(x, y), (x + dx, y)], c.stroke_width(stroke))
            }
        };
        let (r3, r4, dot) = (pu(3), pu(4), px(9));
        let named = !s.name.is_empty();
        // Every series but an unnamed one gets a legend entry.
        macro_rules! entry {
            ($anno:expr, $glyph:expr) => {{
                let anno = $anno;
                if named {
                    anno.label(s.name.as_str()).legend($glyph);
                }
            }};
        }
        match &s.mark {
            Mark::Line => entry!(
                ctx.draw_series(LineSeries::new(mapped, style))
                    .map_err(err)?,
                legend(color)
            ),
            Mark::Dashed => entry!(
                ctx.draw_series(DashedLineSeries::new(mapped, pu(8), pu(5), style))
                    .map_err(err)?,
                legend(color)
            ),
            Mark::Points => entry!(
                ctx.draw_series(mapped.iter().map(|&p| Circle::new(p, r3, color.filled())))
                    .map_err(err)?,
                move |(x, y)| Circle::new((x + dot, y), r3, color.filled())
            ),
            Mark::ErrorBars(_) | Mark::LineErrorBars(_) | Mark::CrossBars(_) => {
                if matches!(s.mark, Mark::LineErrorBars(_)) {
                    ctx.draw_series(LineSeries::new(mapped.clone(), style))
                        .map_err(err)?;
                }
                // Per point: its x interval (none for vertical bars only), y interval.
                type Interval = (f64, f64);
                let bars: Vec<(Option<Interval>, Interval)> = match &s.mark {
                    Mark::CrossBars(b) => b.iter().map(|&(x, y)| (Some(x), y)).collect(),
                    Mark::ErrorBars(b) | Mark::LineErrorBars(b) => {
                        b.iter().map(|&y| (None, y)).collect()
                    }
                    _ => Vec::new(),
                };
                type Mapped = ((f64, f64), Option<Interval>, Interval);
                let mapped: Vec<Mapped> = s
                    .points
                    .iter()
                    .zip(&bars)
                    .filter_map(|(&(x, y), &(xb, (ylo, yhi)))| {
                        let xb = match xb {
                            Some((lo, hi)) => Some((chart.x.map(lo)?, chart.x.map(hi)?)),
                            None => None,
                        };
                        Some((
                            (chart.x.map(x)?, chart.y.map(y)?),
                            xb,
                            (chart.y.map(ylo)?, chart.y.map(yhi)?),
                        ))
                    })
                    .collect();
                ctx.draw_series(mapped.iter().map(|&((x, y), _, (lo, hi))| {
                    ErrorBar::new_vertical(x, lo, y, hi, color.stroke_width(pu(1)), pu(8))
                }))
                .map_err(err)?;
                ctx.draw_series(mapped.iter().filter_map(|&((x, y), xb, _)| {
                    let (lo, hi) = xb?;
                    Some(ErrorBar::new_horizontal(
                        y,
                        lo,
                        x,
                        hi,
                        color.stroke_width(pu(1)),
                        pu(8),
                    ))
                }))
                .map_err(err)?;
                entry!(
                    ctx.draw_series(mapped.iter().map(|&(p, ..)| Circle::new(
                        p,
                        r4,
                        color.filled()
                    )),)
                        .map_err(err)?,
                    move |(x, y)| Circle::new((x + dot, y), r4, color.filled())
                )
            }
            Mark::HLine(y) => {
                let Some(y) = chart.y.map(*y) else { continue };
                entry!(
                    ctx.draw_series(DashedLineSeries::new(
                        vec![(x0, y), (x1, y)],
                        pu(3),
                        pu(3),
                        REFERENCE.stroke_width(pu(2)),
                    ))
                    .map_err(err)?,
                    legend(REFERENCE)
                )
            }
            Mark::VLine(x) => {
                let Some(x) = chart.x.map(*x) else { continue };
                entry!(
                    ctx.draw_series(DashedLineSeries::new(
                        vec![(x, y0), (x, y1)],
                        pu(3),
                        pu(3),
                        REFERENCE.stroke_width(pu(2)),
                    ))
                    .map_err(err)?,
                    legend(REFERENCE)
                )
            }
        };
    }
    if !named.is_empty() && side.is_none() {
        // The legend goes in the plot corner that hides the fewest data points.
        let points: Vec<(i32, i32)> = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter_map(|&(x, y)| Some(ctx.backend_coord(&(chart.x.map(x)?, chart.y.map(y)?))))
            .collect();
        let height = px(12 + 19 * named.len() as i32);
        let position = legend_corner(
            &ctx.plotting_area().get_pixel_range(),
            &points,
            (legend_width, height),
        );
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", font(13.0)))
            // Room for the widest glyph (an 18 px line, a dot at 9 px) before the text.
            .legend_area_size(pu(26))
            .position(position)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Reference lines (an SLA target): black and finely dashed, unlike any series (the
/// palette has no black, and dashed series use longer dashes).
const REFERENCE: RGBColor = RGBColor(0, 0, 0);

/// The colour a series is drawn in: reference lines are black, the others take the
/// palette in order.
fn series_color(index: usize, series: &Series) -> RGBColor {
    match series.mark {
        Mark::HLine(_) | Mark::VLine(_) => REFERENCE,
        _ => PALETTE[index % PALETTE.len()],
    }
}

/// A legend of `named` series (index, series) drawn in `area` beside the plot: a
/// line for lines, a dot for points, one row each.
fn draw_side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    named: &[(usize, &Series)],
    scale: f64,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let px = |v: i32| (f64::from(v) * scale).round() as i32;
    let pu = |v: u32| (f64::from(v) * scale).round().max(1.0) as u32;
    let font = ("sans-serif", 13.0 * scale).into_font().color(&BLACK);
    for (row, &(index, series)) in named.iter().enumerate() {
        let y = px(48 + 19 * row as i32);
        let color = series_color(index, series);
        match series.mark {
            Mark::Points | Mark::ErrorBars(_) | Mark::CrossBars(_) => area
                .draw(&Circle::new((px(14), y), pu(4), color.filled()))
                .map_err(err)?,
            _ => area
                .draw(&PathElement::new(
                    vec![(px(4), y), (px(24), y)],
                    color.stroke_width(pu(2)),
                ))
                .map_err(err)?,
        }
        area.draw(&Text::new(
            series.name.as_str(),
            (px(32), y - px(7)),
            font.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Of the four corners of the plot area (`area`: pixel ranges), the one where a legend
/// box of `size` pixels covers the fewest of `points` (upper right on a tie).
fn legend_corner(
    area: &(std::ops::Range<i32>, std::ops::Range<i32>),
    points: &[(i32, i32)],
    size: (i32, i32),
) -> SeriesLabelPosition {
    let (xs, ys) = area;
    let (w, h) = size;
    let corners = [
        (
            SeriesLabelPosition::UpperRight,
            xs.end - w..xs.end,
            ys.start..ys.start + h,
        ),
        (
            SeriesLabelPosition::UpperLeft,
            xs.start..xs.start + w,
            ys.start..ys.start + h,
        ),
        (
            SeriesLabelPosition::LowerRight,
            xs.end - w..xs.end,
            ys.end - h..ys.end,
        ),
        (
            SeriesLabelPosition::LowerLeft,
            xs.start..xs.start + w,
            ys.end - h..ys.end,
        ),
    ];
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for (position, bx, by) in corners {
        let covered = points
            .iter()
            .filter(|(x, y)| bx.contains(x) && by.contains(y))
            .count();
        if covered < best.0 {
            best = (covered, position);
        }
    }
    best.1
}

/// The empirical CDF of `values` as (value, fraction ≤ value) points, at most `max_points`
/// of them (evenly spaced in rank), for plotting distributions of any size.
pub fn cdf_points(values: &mut [f64], max_points: usize) -> Vec<(f64, f64)> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let step = (n / max_points.max(2)).max(1);
    let mut points: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|i| (values[i], (i + 1) as f64 / n as f64))
        .collect();
    if points.last().is_some_and(|p| p.1 < 1.0) {
        points.push((values[n - 1], 1.0));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_points_end_at_one_and_rise() {
        let mut v: Vec<f64> = (0..1000).rev().map(f64::from).collect();
        let p = cdf_points(&mut v, 50);
        assert_eq!(p.first(), Some(&(0.0, 0.001)));
        assert_eq!(p.last(), Some(&(999.0, 1.0)));
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
        assert!(p.len() <= 52);
    }

    /// Both formats are written, non-trivially, and a bad extension is refused.
    #[test]
    fn figures_draw_to_png_and_svg() {
        let dir = std::env::temp_dir().join(format!("inferscale-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let figure = Figure::new(vec![
            Chart {
                title: "rate".into(),
                x: Axis::linear("time (h)"),
                y: Axis::linear("requests/s"),
                series: vec![
                    Series::new("expected", vec![(0.0, 1.0), (1.0, 3.0)], Mark::Dashed),
                    Series::new("sampled", vec![(0.0, 1.2), (1.0, 2.7)], Mark::Line),
                    Series::new("SLA", Vec::new(), Mark::HLine(2.0)),
                    Series::new("deadline", Vec::new(), Mark::VLine(0.5)),
                ],
            },
            Chart {
                title: "cost vs SLA".into(),
                x: Axis::log("tokens"),
                y: Axis::linear("fraction"),
                series: vec![
                    Series::new(
                        "policy",
                        vec![(10.0, 0.5), (1000.0, 0.9)],
                        Mark::ErrorBars(vec![(0.4, 0.6), (0.85, 0.95)]),
                    ),
                    Series::new(
                        "both",
                        vec![(100.0, 0.7)],
                        Mark::CrossBars(vec![((50.0, 200.0), (0.65, 0.75))]),
                    ),
                ],
            },
        ]);
        let png = dir.join("f.png");
        let svg = dir.join("f.svg");
        figure.draw(&png).unwrap();
        figure.draw(&svg).unwrap();
        let png_bytes = std::fs::read(&png).unwrap();
        assert_eq!(&png_bytes[1..4], b"PNG");
        assert!(png_bytes.len() > 10_000, "{}", png_bytes.len());
        let svg_text = std::fs::read_to_string(&svg).unwrap();
        assert!(svg_text.contains("<svg") && svg_text.contains("expected"));
        assert!(matches!(
            figure.draw(&dir.join("f.jpg")),
            Err(PlotError::Format(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A flat series gets a window of 2% of its value (below a ceiling when it sits
    /// on one), and its ticks read as distinct numbers.
    #[test]
    fn flat_series_get_a_readable_window() {
        let chart = |y: Axis| Chart {
            title: String::new(),
            x: Axis::linear("x"),
            y,
            series: vec![Series::new("s", vec![(1.0, 1.0), (2.0, 1.0)], Mark::Points)],
        };
        let (_, (lo, hi)) = bounds(&chart(Axis::linear("y")));
        assert!(lo < 0.99 + 1e-9 && hi > 1.01 - 1e-9, "{lo}..{hi}");
        let (_, (lo, hi)) = bounds(&chart(Axis::share("y")));
        assert!((0.979..0.981).contains(&lo) && hi < 1.001, "{lo}..{hi}");
        let labels: Vec<String> = [0.98, 0.985, 0.99, 0.995, 1.0]
            .iter()
            .map(|&v| linear_tick_label(v, 0.005))
            .collect();
        assert_eq!(labels, ["0.98", "0.985", "0.99", "0.995", "1"]);
        assert_eq!(linear_tick_label(1234.6, 200.0), "1235");
        assert_eq!(linear_tick_label(2e-5, 1e-5), "2.0e-5");
    }

    #[test]
    fn ticks_fall_on_round_numbers() {
        // Linear: 1-2-5 steps, integers on a count axis.
        let (bold, _, step) = axis_ticks(&Axis::linear("x"), 0.0, 3.0);
        assert_eq!(step, 0.5);
        assert_eq!(bold, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        let (_, _, step) = axis_ticks(&Axis::linear("x"), 0.0, 4.3);
        assert_eq!(step, 1.0);
        // A count axis never ticks at halves, even over 0 to 3.
        let (bold, light, step) = axis_ticks(&Axis::count("replicas"), 0.0, 3.0);
        assert_eq!((step, bold), (1.0, vec![0.0, 1.0, 2.0, 3.0]));
        assert!(light.is_empty());
        // Log: decades, with 2 and 5 under three decades; never 3.16 or 31.6.
        let labels = |lo: f64, hi: f64| -> Vec<String> {
            let (bold, _, _) = axis_ticks(&Axis::log("s"), lo, hi);
            bold.into_iter().map(log_tick_label).collect()
        };
        assert_eq!(
            labels(-2.0, 0.0),
            ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"]
        );
        assert_eq!(
            labels(-3.0, 2.1),
            ["0.001", "0.01", "0.1", "1", "10", "100"]
        );
        assert_eq!(
            labels(0.0_f64, 2.0_f64.log10() + 0.5),
            ["1", "2", "3", "4", "5", "6"]
        );
    }

    /// The legend goes where it hides the fewest points.
    #[test]
    fn the_legend_avoids_the_data() {
        let area = (0..100, 0..100);
        let top_right: Vec<(i32, i32)> = (0..10).map(|i| (90 + i % 5, 5 + i % 5)).collect();
        assert!(matches!(
            legend_corner(&area, &top_right, (30, 20)),
            SeriesLabelPosition::UpperLeft
        ));
        assert!(matches!(
            legend_corner(&area, &[], (30, 20)),
            SeriesLabelPosition::UpperRight
        ));
    }
}
