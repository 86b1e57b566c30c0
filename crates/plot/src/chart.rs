//! Drawing one [`Chart`] into its part of a figure: the mesh with our ticks, each
//! series by its [`Mark`], and the legend where it hides no data.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style::{
    Corner, LegendMetrics, SPAN_ALPHA, draw_legend, draw_marker, legend_corner, looks,
};
use crate::ticks::{Ticked, axis_ticks, bounds, linear_tick_label, log_tick_label};
use crate::{Chart, Mark, Series};

/// Legends of more entries than this go beside the plot rather than over it.
const LEGEND_INSIDE_MAX: usize = 5;

/// Points sampled along each drawn line per segment, for placing the legend off it.
const SAMPLES_PER_SEGMENT: usize = 24;

/// Draws `chart` into `area`, pixel measures × `scale`.
pub(crate) fn draw_chart<DB: DrawingBackend>(
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
    let looks = looks(&chart.series);
    let named: Vec<(usize, &Series)> = chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.name.is_empty())
        .collect();
    // The caption over the whole width (a legend beside the plot does not push it
    // off centre or cut it).
    let area = &area
        .titled(&chart.title, ("sans-serif", font(20.0)))
        .map_err(|e| e.to_string())?;
    let metrics = LegendMetrics::at(scale);
    let (legend_w, legend_h) = metrics.size(area, &named);
    // Where the legend goes: inside, in the corner that hides no data, or beside the
    // plot when every corner would hide some (or there are many entries). The plot's
    // size is estimated from the margins the builder below uses.
    let (w, h) = area.dim_in_pixel();
    let plot_w = (w as i32 - px(2 * 12 + 70)).max(1) as f64;
    let plot_h = (h as i32 - px(2 * 12 + 40)).max(1) as f64;
    let data = unit_points(chart, (x0, x1), (y0, y1));
    let (corner, covered) = legend_corner(
        &data,
        (
            f64::from(legend_w + px(6)) / plot_w,
            f64::from(legend_h + px(6)) / plot_h,
        ),
    );
    let beside = !named.is_empty() && (named.len() > LEGEND_INSIDE_MAX || covered > 0);
    let (plot_area, side) = if beside {
        let (left, right) = area.split_horizontally(w as i32 - legend_w - px(8));
        (left, Some(right))
    } else {
        (area.clone(), None)
    };
    if let Some(side) = &side {
        draw_legend(side, (0, px(12)), &named, &looks, scale, false)?;
    }
    let (xticks, xminor, xstep) = axis_ticks(&chart.x, x0, x1);
    let (yticks, yminor, ystep) = axis_ticks(&chart.y, y0, y1);
    let mut ctx = ChartBuilder::on(&plot_area)
        .margin(pu(12))
        .x_label_area_size(pu(40))
        .y_label_area_size(pu(70))
        .build_cartesian_2d(
            Ticked::new(x0..x1, xticks, xminor),
            Ticked::new(y0..y1, yticks, yminor),
        )
        .map_err(err)?;
    let (xlog, ylog) = (chart.x.log, chart.y.log);
    // A log axis under a decade has linear steps (`step` > 0): labelled by them.
    let label = |v: f64, log: bool, step: f64| match (log, step > 0.0) {
        (true, false) => log_tick_label(v),
        (true, true) => linear_tick_label(10f64.powf(v), step),
        (false, _) => linear_tick_label(v, step),
    };
    // Bands go under the grid and everything else.
    for s in &chart.series {
        if let Mark::Span(lo, hi) = s.mark
            && let (Some(lo), Some(hi)) = (chart.x.map(lo), chart.x.map(hi))
        {
            ctx.draw_series(std::iter::once(Rectangle::new(
                [(lo.max(x0), y0), (hi.min(x1), y1)],
                crate::style::SPAN.mix(SPAN_ALPHA).filled(),
            )))
            .map_err(err)?;
        }
    }
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
    for (s, look) in chart.series.iter().zip(&looks) {
        let color = look.color;
        // A reference line or an event mark: dashes of `dash` px, 3 px apart, 2 px wide.
        let dashed = |ctx: &mut ChartContext<'_, DB, _>, ends: [(f64, f64); 2], dash: u32| {
            ctx.draw_series(DashedLineSeries::new(
                ends,
                dash,
                pu(3),
                color.stroke_width(pu(2)),
            ))
            .map(|_| ())
            .map_err(err)
        };
        let mapped: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|&(x, y)| Some((chart.x.map(x)?, chart.y.map(y)?)))
            .collect();
        let style = color.stroke_width(pu(2));
        let markers = |ctx: &ChartContext<'_, DB, _>, points: &[(f64, f64)], r: u32| {
            points
                .iter()
                .try_for_each(|&p| draw_marker(ctx.plotting_area(), p, look.shape, r, color))
        };
        match &s.mark {
            Mark::Line if dense(&ctx, &mapped) => {
                // A noisy series many points to the pixel: drawn segment by segment,
                // since a thick polyline's joins at its spikes' acute angles shoot far
                // past the points (plotters' bitmap backend caps only the outer side).
                ctx.draw_series(
                    mapped
                        .windows(2)
                        .map(|w| PathElement::new(vec![w[0], w[1]], style)),
                )
                .map_err(err)?;
            }
            Mark::Line => {
                ctx.draw_series(LineSeries::new(mapped, style))
                    .map_err(err)?;
            }
            Mark::Dashed => {
                ctx.draw_series(DashedLineSeries::new(mapped, pu(8), pu(5), style))
                    .map_err(err)?;
            }
            Mark::Points => markers(&ctx, &mapped, pu(3))?,
            Mark::ErrorBars(_) | Mark::LineErrorBars(_) | Mark::CrossBars(_) => {
                if matches!(s.mark, Mark::LineErrorBars(_)) {
                    ctx.draw_series(LineSeries::new(mapped.clone(), style))
                        .map_err(err)?;
                }
                let bars = mapped_bars(chart, s);
                ctx.draw_series(bars.iter().map(|&((x, y), _, (lo, hi))| {
                    ErrorBar::new_vertical(x, lo, y, hi, color.stroke_width(pu(1)), pu(8))
                }))
                .map_err(err)?;
                ctx.draw_series(bars.iter().filter_map(|&((x, y), xb, _)| {
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
                let centres: Vec<(f64, f64)> = bars.iter().map(|&(p, ..)| p).collect();
                markers(&ctx, &centres, pu(4))?;
            }
            Mark::HLine(y) => {
                if let Some(y) = chart.y.map(*y) {
                    dashed(&mut ctx, [(x0, y), (x1, y)], pu(3))?;
                }
            }
            Mark::VLine(x) => {
                if let Some(x) = chart.x.map(*x) {
                    dashed(&mut ctx, [(x, y0), (x, y1)], pu(3))?;
                }
            }
            Mark::Events(at) => {
                for x in at.iter().filter_map(|&x| chart.x.map(x)) {
                    dashed(&mut ctx, [(x, y0), (x, y1)], pu(4))?;
                }
            }
            Mark::Span(..) => {}
        }
    }
    if !named.is_empty() && side.is_none() {
        let (xs, ys) = ctx.plotting_area().get_pixel_range();
        let (bx, by) = plot_area.get_base_pixel();
        let gap = px(6);
        let origin = match corner {
            Corner::UpperRight => (xs.end - legend_w - gap, ys.start + gap),
            Corner::UpperLeft => (xs.start + gap, ys.start + gap),
            Corner::LowerRight => (xs.end - legend_w - gap, ys.end - legend_h - gap),
            Corner::LowerLeft => (xs.start + gap, ys.end - legend_h - gap),
        };
        draw_legend(
            &plot_area,
            (origin.0 - bx, origin.1 - by),
            &named,
            &looks,
            scale,
            true,
        )?;
    }
    Ok(())
}

/// Whether a line through `points` has under 3 pixels per point across the plot.
fn dense<DB: DrawingBackend>(
    ctx: &ChartContext<'_, DB, Cartesian2d<Ticked, Ticked>>,
    points: &[(f64, f64)],
) -> bool {
    let (xs, _) = ctx.plotting_area().get_pixel_range();
    points.len() * 3 > (xs.end - xs.start).max(1) as usize
}

/// An interval on one axis.
type Interval = (f64, f64);

/// A series' error bars in mapped space: per point, its centre, its x interval
/// (none for vertical bars only) and its y interval; points off a log axis are left
/// out.
fn mapped_bars(chart: &Chart, s: &Series) -> Vec<((f64, f64), Option<Interval>, Interval)> {
    let bars: Vec<(Option<Interval>, Interval)> = match &s.mark {
        Mark::CrossBars(b) => b.iter().map(|&(x, y)| (Some(x), y)).collect(),
        Mark::ErrorBars(b) | Mark::LineErrorBars(b) => b.iter().map(|&y| (None, y)).collect(),
        _ => Vec::new(),
    };
    s.points
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
        .collect()
}

/// Where the chart's data lies as shares of the plot (x right, y down, 0 to 1): every
/// point and error-bar end, and points along drawn lines (a legend must not hide a
/// line between two distant points either). References, bands and events are left
/// out: a legend may sit over them.
fn unit_points(chart: &Chart, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> Vec<(f64, f64)> {
    let unit = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y1 - y) / (y1 - y0));
    let mut out = Vec::new();
    for s in &chart.series {
        if !crate::style::is_data(&s.mark) {
            continue;
        }
        let mapped: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|&(x, y)| Some(unit((chart.x.map(x)?, chart.y.map(y)?))))
            .collect();
        let lines = matches!(s.mark, Mark::Line | Mark::Dashed | Mark::LineErrorBars(_));
        if lines && mapped.len() > 1 {
            // Long series are already dense; a short one is sampled along its segments.
            let per = if mapped.len() > 200 {
                1
            } else {
                SAMPLES_PER_SEGMENT
            };
            for w in mapped.windows(2) {
                for k in 0..per {
                    let t = k as f64 / per as f64;
                    out.push((
                        w[0].0 + t * (w[1].0 - w[0].0),
                        w[0].1 + t * (w[1].1 - w[0].1),
                    ));
                }
            }
            out.extend(mapped.last());
        } else {
            out.extend(&mapped);
        }
        for ((x, y), xb, (lo, hi)) in mapped_bars(chart, s) {
            out.push(unit((x, lo)));
            out.push(unit((x, hi)));
            if let Some((a, b)) = xb {
                out.push(unit((a, y)));
                out.push(unit((b, y)));
            }
        }
    }
    out
}
