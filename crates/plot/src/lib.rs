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

mod chart;
mod style;
mod ticks;

use chart::draw_chart;
pub use style::is_data;

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
    /// A shaded band over the whole height between these two x (the warm-up), drawn
    /// behind everything; `points` is ignored.
    Span(f64, f64),
    /// Thin vertical lines at these x (events: spot reclaims), over the whole height;
    /// `points` is ignored.
    Events(Vec<f64>),
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
    use crate::style::{self, Corner, Look, Shape, legend_corner, looks};
    use crate::ticks::{axis_ticks, bounds, linear_tick_label, log_tick_label};

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

    /// The legend goes where it hides the fewest points, and says how many it hides
    /// there (a legend that would hide any goes beside the plot).
    #[test]
    fn the_legend_avoids_the_data() {
        let top_right: Vec<(f64, f64)> = (0..10)
            .map(|i| {
                (
                    0.9 + f64::from(i % 5) * 0.01,
                    0.05 + f64::from(i % 5) * 0.01,
                )
            })
            .collect();
        assert_eq!(
            legend_corner(&top_right, (0.3, 0.2)),
            (Corner::UpperLeft, 0)
        );
        assert_eq!(legend_corner(&[], (0.3, 0.2)), (Corner::UpperRight, 0));
        let everywhere = [(0.05, 0.05), (0.95, 0.05), (0.05, 0.95), (0.95, 0.95)];
        assert_eq!(legend_corner(&everywhere, (0.3, 0.2)).1, 1);
    }

    /// Data series take the palette in turn and a new marker shape every ten, so
    /// series 1 and 11 differ in shape; references, bands and events take no colour.
    #[test]
    fn many_series_stay_distinct() {
        let mut series: Vec<Series> = (0..21)
            .map(|i| Series::new(format!("s{i}"), vec![(0.0, 0.0)], Mark::Points))
            .collect();
        series.insert(1, Series::new("SLA", Vec::new(), Mark::HLine(1.0)));
        series.insert(2, Series::new("warm-up", Vec::new(), Mark::Span(0.0, 1.0)));
        let looks = looks(&series);
        assert_eq!(looks[1].color, style::REFERENCE);
        // Data series 0, 10 and 20: three shapes.
        let data: Vec<&Look> = looks
            .iter()
            .zip(&series)
            .filter(|(_, s)| style::is_data(&s.mark))
            .map(|(l, _)| l)
            .collect();
        assert_ne!(data[0].color, data[10].color);
        assert_eq!(
            [data[0].shape, data[10].shape, data[20].shape],
            [Shape::Circle, Shape::Square, Shape::Triangle]
        );
        assert_ne!(data[1].color, data[0].color);
    }
}
