//! Charts drawn by the server as SVG, for reports: one or more series over days, as lines
//! or as bars. Plain markup with presentation attributes (no inline style, which the pages'
//! policy refuses), a title for screen readers, and the figures in a table beside it.

use std::fmt::Write;

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;
const GRID: &str = "#e4e4e4";
const AXIS: &str = "#4a4a55";
/// Horizontal gridlines, and day labels along the bottom at most.
const Y_TICKS: u32 = 4;
const X_LABELS: usize = 8;

/// One series: its name, its colour, and a value per day.
pub(crate) struct Series<'a> {
    pub(crate) name: &'a str,
    pub(crate) color: &'a str,
    pub(crate) values: Vec<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Line,
    Bars,
}

/// A round step for about `ticks` gridlines up to `max`.
fn step(max: i64, ticks: u32) -> i64 {
    let raw = (max.max(1) as f64 / f64::from(ticks)).ceil();
    let magnitude = 10f64.powf(raw.log10().floor());
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    nice as i64
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart of `series` over `labels` (a label per day), titled `title`; `id` is unique on
/// the page.
pub(crate) fn chart(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    kind: Kind,
) -> String {
    let n = labels.len().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(0);
    let min = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .min()
        .unwrap_or(0)
        .min(0);
    let step = step(max - min, Y_TICKS);
    let top_value = ((max + step - 1).div_euclid(step)) * step;
    let bottom_value = min.div_euclid(step) * step;
    let span = (top_value - bottom_value).max(1) as f64;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let y = |v: i64| TOP + plot_h * (1.0 - (v - bottom_value) as f64 / span);
    let slot = plot_w / n as f64;
    let x = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}" xmlns="http://www.w3.org/2000/svg"><title id="{id}">{t}</title>"#,
        id = escape(id),
        t = escape(title),
    );
    let mut v = bottom_value;
    while v <= top_value {
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" x2="{x2}" y1="{y0:.1}" y2="{y0:.1}" stroke="{GRID}"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="{AXIS}">{v}</text>"#,
            x2 = W - RIGHT,
            y0 = y(v),
            tx = LEFT - 6.0,
            ty = y(v) + 4.0,
        );
        v += step;
    }
    let every = n.div_ceil(X_LABELS);
    for (i, label) in labels.iter().enumerate() {
        // Every few days, and the last, unless it would sit on the one before it.
        if (i % every == 0 && i + every < n) || i + 1 == n {
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{ly}" font-size="11" text-anchor="middle" fill="{AXIS}">{l}</text>"#,
                x = x(i),
                ly = H - BOTTOM + 16.0,
                l = escape(label),
            );
        }
    }
    let bars = series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        match kind {
            Kind::Line => {
                let points: Vec<String> = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                    .collect();
                let _ = write!(
                    svg,
                    r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{p}"/>"#,
                    c = s.color,
                    p = points.join(" "),
                );
                if s.values.len() == 1 {
                    let _ = write!(
                        svg,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                        x(0),
                        y(s.values[0]),
                        s.color
                    );
                }
            }
            Kind::Bars => {
                let width = (slot * 0.8 / bars).max(1.0);
                for (i, v) in s.values.iter().enumerate() {
                    let (y0, y1) = (y(*v.max(&0)), y(*v.min(&0)));
                    let _ = write!(
                        svg,
                        r#"<rect x="{bx:.1}" y="{y0:.1}" width="{width:.1}" height="{h:.1}" fill="{c}"/>"#,
                        bx = x(i) - slot * 0.4 + width * k as f64,
                        h = (y1 - y0).max(0.5),
                        c = s.color,
                    );
                }
            }
        }
        // The legend, above the plot.
        let lx = LEFT + 160.0 * k as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="8" width="12" height="12" fill="{c}"/><text x="{tx}" y="18" font-size="12" fill="{AXIS}">{name}</text>"#,
            c = s.color,
            tx = lx + 16.0,
            name = escape(s.name),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(step(1000, 4), 250);
        assert_eq!(step(7, 4), 2);
        assert_eq!(step(0, 4), 1);
        assert_eq!(step(123_456, 4), 50_000);
    }

    #[test]
    fn a_chart_is_svg_with_its_title_and_every_series() {
        let svg = chart(
            "points",
            "Баллы <по дням>",
            &["01.03".into(), "02.03".into()],
            &[
                Series {
                    name: "Начислено",
                    color: "#1b6",
                    values: vec![10, 20],
                },
                Series {
                    name: "Списано",
                    color: "#b13",
                    values: vec![5, -3],
                },
            ],
            Kind::Bars,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Баллы &lt;по дням&gt;"));
        assert_eq!(svg.matches("<rect").count(), 4 + 2);
    }
}
