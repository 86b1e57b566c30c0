//! How series look: colours, marker shapes and line styles, and the legend that
//! names them (drawn here, inside the plot or beside it, rather than by plotters, so
//! both places draw the same glyphs).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Mark, Series};

/// The colours of successive data series: Tableau's 10 (readable in print and for
/// common colour-vision deficiencies), then their darker variants.
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

/// Reference lines (an SLA target): black and finely dashed, unlike any series (the
/// palette has no black, and dashed series use longer dashes).
pub(crate) const REFERENCE: RGBColor = RGBColor(0, 0, 0);

/// Event marks (spot reclaims): dark red, dotted, thin.
pub(crate) const EVENT: RGBColor = RGBColor(150, 0, 60);

/// Shaded bands (the warm-up): a light grey under everything.
pub(crate) const SPAN: RGBColor = RGBColor(120, 120, 120);

/// How opaque a band is.
pub(crate) const SPAN_ALPHA: f64 = 0.14;

/// A marker's shape. Each block of 10 data series takes the next shape, so series
/// whose colours are alike (the palette's 11th is a darker 1st) still differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Shape {
    Circle,
    Square,
    Triangle,
}

/// How one series is drawn: its colour and marker shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Look {
    pub color: RGBColor,
    pub shape: Shape,
}

/// Whether `mark` draws data (and so takes the next colour) rather than a
/// reference, a band or events.
pub fn is_data(mark: &Mark) -> bool {
    !matches!(
        mark,
        Mark::HLine(_) | Mark::VLine(_) | Mark::Span(..) | Mark::Events(_)
    )
}

/// The looks of a chart's series, in order: data series take the palette and the
/// shapes in turn (references, bands and events do not use up a colour).
pub(crate) fn looks(series: &[Series]) -> Vec<Look> {
    let mut data = 0usize;
    series
        .iter()
        .map(|s| match s.mark {
            Mark::HLine(_) | Mark::VLine(_) => Look {
                color: REFERENCE,
                shape: Shape::Circle,
            },
            Mark::Events(_) => Look {
                color: EVENT,
                shape: Shape::Circle,
            },
            Mark::Span(..) => Look {
                color: SPAN,
                shape: Shape::Circle,
            },
            _ => {
                let k = data;
                data += 1;
                Look {
                    color: PALETTE[k % PALETTE.len()],
                    shape: [Shape::Circle, Shape::Square, Shape::Triangle][(k / 10) % 3],
                }
            }
        })
        .collect()
}

/// Draws a marker of `shape`, radius `r` pixels, at `at` (in `area`'s coordinates).
pub(crate) fn draw_marker<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    shape: Shape,
    r: u32,
    color: RGBColor,
) -> Result<(), String>
where
    CT::From: Clone,
{
    let style = color.filled();
    let r_i = r as i32;
    let result = match shape {
        Shape::Circle => area.draw(&Circle::new(at, r, style)),
        Shape::Square => {
            area.draw(&(EmptyElement::at(at) + Rectangle::new([(-r_i, -r_i), (r_i, r_i)], style)))
        }
        Shape::Triangle => area.draw(&TriangleMarker::new(at, r + r / 3, style)),
    };
    result.map_err(|e| e.to_string())
}

/// Pixel measures of a legend at `scale` (1: 100 dpi).
pub(crate) struct LegendMetrics {
    /// Height of one row.
    pub row: i32,
    /// Padding inside the box.
    pub pad: i32,
    /// Width of the glyph column before the text.
    pub glyph: i32,
    /// Font size of the entries.
    pub font: f64,
}

impl LegendMetrics {
    pub(crate) fn at(scale: f64) -> Self {
        let px = |v: f64| (v * scale).round() as i32;
        LegendMetrics {
            row: px(19.0),
            pad: px(6.0),
            glyph: px(30.0),
            font: 13.0 * scale,
        }
    }

    /// The size in pixels of a legend of `entries`, its text measured in `area`'s
    /// font.
    pub(crate) fn size<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        entries: &[(usize, &Series)],
    ) -> (i32, i32) {
        let font = ("sans-serif", self.font).into_font();
        let longest = entries
            .iter()
            .map(|(_, s)| {
                area.estimate_text_size(&s.name, &font.clone().into())
                    .map_or(8 * s.name.chars().count() as i32, |(w, _)| w as i32)
            })
            .max()
            .unwrap_or(0);
        (
            2 * self.pad + self.glyph + longest,
            2 * self.pad + self.row * entries.len() as i32,
        )
    }
}

/// Draws the legend of `entries` (index into `looks`, series) with its top-left
/// corner at `origin` in `area`'s pixels; `boxed`: on a white, bordered box (inside
/// the plot).
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    origin: (i32, i32),
    entries: &[(usize, &Series)],
    looks: &[Look],
    scale: f64,
    boxed: bool,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let m = LegendMetrics::at(scale);
    let px = |v: f64| (v * scale).round() as i32;
    let pu = |v: f64| (v * scale).round().max(1.0) as u32;
    let (w, h) = m.size(area, entries);
    let (x0, y0) = origin;
    if boxed {
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + w, y0 + h)],
            WHITE.mix(0.9).filled(),
        ))
        .map_err(err)?;
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + w, y0 + h)],
            RGBColor(200, 200, 200).stroke_width(1),
        ))
        .map_err(err)?;
    }
    let font = ("sans-serif", m.font).into_font().color(&BLACK);
    for (row, &(index, series)) in entries.iter().enumerate() {
        let look = looks[index];
        let y = y0 + m.pad + m.row * row as i32 + m.row / 2;
        let (gx0, gx1) = (x0 + m.pad, x0 + m.pad + px(22.0));
        let mid = (gx0 + gx1) / 2;
        let line = |from: i32, to: i32, color: RGBColor, width: f64| {
            area.draw(&PathElement::new(
                vec![(from, y), (to, y)],
                color.stroke_width(pu(width)),
            ))
        };
        match &series.mark {
            Mark::Line => line(gx0, gx1, look.color, 2.0).map_err(err)?,
            Mark::Dashed => {
                let d = (gx1 - gx0) / 5;
                line(gx0, gx0 + 2 * d, look.color, 2.0).map_err(err)?;
                line(gx1 - 2 * d, gx1, look.color, 2.0).map_err(err)?;
            }
            Mark::HLine(_) | Mark::VLine(_) => {
                let d = (gx1 - gx0) / 7;
                for k in [0, 2, 4, 6] {
                    line(gx0 + k * d, gx0 + (k + 1) * d, REFERENCE, 2.0).map_err(err)?;
                }
            }
            Mark::Events(_) => area
                .draw(&PathElement::new(
                    vec![(mid, y - px(7.0)), (mid, y + px(7.0))],
                    EVENT.stroke_width(pu(1.5)),
                ))
                .map_err(err)?,
            Mark::Span(..) => area
                .draw(&Rectangle::new(
                    [(gx0, y - px(6.0)), (gx1, y + px(6.0))],
                    SPAN.mix(SPAN_ALPHA * 2.0).filled(),
                ))
                .map_err(err)?,
            Mark::LineErrorBars(_) => {
                line(gx0, gx1, look.color, 2.0).map_err(err)?;
                draw_marker(area, (mid, y), look.shape, pu(4.0), look.color)?;
            }
            Mark::Points | Mark::ErrorBars(_) | Mark::CrossBars(_) => {
                draw_marker(area, (mid, y), look.shape, pu(4.0), look.color)?;
            }
        }
        area.draw(&Text::new(
            series.name.as_str(),
            (x0 + m.pad + m.glyph, y - px(7.0)),
            font.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A corner of the plot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Corner {
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
}

/// Of the four corners of a unit square (the plot, y down), the one where a legend
/// box of `size` (as shares of the plot's width and height) covers the fewest of
/// `points` (shares too; upper right on a tie), and how many it covers.
pub(crate) fn legend_corner(points: &[(f64, f64)], size: (f64, f64)) -> (Corner, usize) {
    let (w, h) = size;
    // A margin of a share of a row around the box: a point just outside it would
    // still touch the text.
    let corners = [
        (Corner::UpperRight, (1.0 - w, 1.0), (0.0, h)),
        (Corner::UpperLeft, (0.0, w), (0.0, h)),
        (Corner::LowerRight, (1.0 - w, 1.0), (1.0 - h, 1.0)),
        (Corner::LowerLeft, (0.0, w), (1.0 - h, 1.0)),
    ];
    let mut best = (Corner::UpperRight, usize::MAX);
    for (corner, (bx0, bx1), (by0, by1)) in corners {
        let covered = points
            .iter()
            .filter(|(x, y)| (bx0..=bx1).contains(x) && (by0..=by1).contains(y))
            .count();
        if covered < best.1 {
            best = (corner, covered);
        }
    }
    best
}
