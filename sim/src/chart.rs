//! The SVG chart: hit ratio against capacity, one line per policy (plotters).

use std::error::Error;
use std::path::Path;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// One line of the chart: a label and `(capacity, hit ratio %)` points.
pub type Series = (String, Vec<(u64, f64)>);

/// Writes an SVG chart of `series` to `path`. The capacity axis is logarithmic when
/// the capacities span more than a factor of 8.
pub fn write_svg(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), Box<dyn Error>> {
    let xs = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(x, _)| x as f64));
    let (lo, hi) = xs.fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if hi <= 0.0 {
        return Err("nothing to plot".into());
    }
    let top = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(0f64, f64::max);
    let y_max = ((top / 10.0).ceil() * 10.0).clamp(10.0, 100.0);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56);
    if hi / lo.max(1.0) > 8.0 {
        let chart = builder.build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0f64..y_max)?;
        draw_lines(chart, y_label, series)?;
    } else {
        let pad = ((hi - lo) * 0.05).max(1.0);
        let chart = builder.build_cartesian_2d(lo - pad..hi + pad, 0f64..y_max)?;
        draw_lines(chart, y_label, series)?;
    }
    root.present()?;
    Ok(())
}

/// Draws the mesh, one line per series and the legend, on either capacity axis.
fn draw_lines<'a, DB, X>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    y_label: &str,
    series: &[Series],
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc("capacity")
        .y_desc(y_label)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(x, y)| (x as f64, y)),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}
