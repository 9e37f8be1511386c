//! The charts: purchases done per second and p50/p99 latency against the offered rate, or
//! against the number of members, one line per store. Plain SVG, no dependencies.
//!
//! Both x axes are logarithmic, since the offered rates double from one step to the next and
//! the member counts grow a hundredfold; latency is logarithmic too, since it spans
//! milliseconds to seconds once a store saturates. Every point's x has its tick, and the y
//! axes have round gridlines, so a figure can be read off the chart.

use crate::Row;
use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 340.0;
const PAD: f64 = 54.0;
/// The plot's top: the title and the legend above it, clear of the lines.
const TOP: f64 = 82.0;
const GRID: &str = "#e4e4e4";
const AXIS: &str = "#888";

/// One line of a panel: its name, its colour, whether it is dashed, and its (x, y) points.
struct Series<'a> {
    name: &'a str,
    color: &'a str,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

impl<'a> Series<'a> {
    fn line(name: &'a str, color: &'a str, points: Vec<(f64, f64)>) -> Self {
        Series {
            name,
            color,
            dashed: false,
            points,
        }
    }
}

/// What a panel's axes count, and how their values are written.
struct Axes<'a> {
    x: &'a str,
    y: &'a str,
    x_label: fn(f64) -> String,
    y_label: fn(f64) -> String,
    y_log: bool,
}

/// "250", "2 k", "1.5 k", "10 M": short labels for ticks.
fn compact(v: f64) -> String {
    let (scaled, unit) = if v >= 1e6 {
        (v / 1e6, " M")
    } else if v >= 1e3 {
        (v / 1e3, " k")
    } else {
        (v, "")
    };
    let digits = if scaled.fract().abs() < 1e-9 { 0 } else { 1 };
    format!("{scaled:.digits$}{unit}")
}

/// Milliseconds as they are read: "0.1", "1", "1000".
fn millis(v: f64) -> String {
    if v < 1.0 {
        format!("{v}")
    } else {
        format!("{v:.0}")
    }
}

/// Round gridlines from 0 to past `max`: steps of 1, 2 or 5 times a power of ten, at most
/// five of them above zero.
fn linear_ticks(max: f64) -> Vec<f64> {
    let raw = max.max(1.0) / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| max / s <= 5.0)
        .unwrap_or(10.0 * power);
    let count = (max / step).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// Decades from the one below `min` to the one above `max`: 1, 10, 100 ms…
fn log_ticks(min: f64, max: f64) -> Vec<f64> {
    let low = min.max(0.01).log10().floor() as i32;
    let high = max.max(min * 10.0).log10().ceil() as i32;
    (low..=high).map(|e| 10f64.powi(e)).collect()
}

fn panel(out: &mut String, x0: f64, title: &str, series: &[Series], axes: Axes) {
    let xs: Vec<f64> = {
        let mut xs: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|x| *x > 0.0)
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        xs
    };
    let ys = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (Some(&first_x), Some(&last_x)) = (xs.first(), xs.last()) else {
        return;
    };
    // Half a step of room on either side of the first and the last point.
    let (min_lx, max_lx) = if last_x > first_x {
        let margin = (last_x.log10() - first_x.log10()) / (2.0 * xs.len() as f64);
        (first_x.log10() - margin, last_x.log10() + margin)
    } else {
        (first_x.log10() - 0.5, first_x.log10() + 0.5)
    };
    let y_ticks = if axes.y_log {
        let positive: Vec<f64> = ys().filter(|y| *y > 0.0).collect();
        if positive.is_empty() {
            // Every request of the run failed: nothing to place, one decade to show.
            vec![1.0, 10.0]
        } else {
            log_ticks(
                positive.iter().copied().fold(f64::MAX, f64::min),
                positive.iter().copied().fold(0.0, f64::max),
            )
        }
    } else {
        linear_ticks(ys().fold(0.0, f64::max))
    };
    let (w, h) = (W / 2.0 - PAD * 1.6, H - TOP - PAD);
    let (left, bottom) = (x0 + PAD, TOP + h);
    let sx = |x: f64| left + (x.max(1e-9).log10() - min_lx) / (max_lx - min_lx) * w;
    let y_value = |y: f64| if axes.y_log { y.max(1e-3).log10() } else { y };
    let (y_lo, y_hi) = (
        y_value(y_ticks[0]),
        y_value(*y_ticks.last().unwrap_or(&1.0)),
    );
    let sy = |y: f64| bottom - (y_value(y) - y_lo) / (y_hi - y_lo).max(1e-9) * h;

    let _ = write!(
        out,
        r##"<text x="{left}" y="26" font-size="14" font-weight="bold">{title}</text>"##
    );
    for &y in &y_ticks {
        let _ = write!(
            out,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="{GRID}"/><text x="{2}" y="{3:.1}" font-size="10" text-anchor="end" fill="#555">{4}</text>"##,
            sy(y),
            left + w,
            left - 5.0,
            sy(y) + 3.5,
            (axes.y_label)(y)
        );
    }
    for &x in &xs {
        let _ = write!(
            out,
            r##"<line x1="{0:.1}" y1="{bottom}" x2="{0:.1}" y2="{1}" stroke="{AXIS}"/><text x="{0:.1}" y="{2}" font-size="10" text-anchor="middle" fill="#555">{3}</text>"##,
            sx(x),
            bottom + 4.0,
            bottom + 16.0,
            (axes.x_label)(x)
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}" stroke="{AXIS}"/><line x1="{left}" y1="{bottom}" x2="{0}" y2="{bottom}" stroke="{AXIS}"/>"##,
        left + w
    );
    let _ = write!(
        out,
        r##"<text x="{0}" y="{1}" font-size="11" text-anchor="middle">{2}</text><text x="{3}" y="{4}" font-size="11" text-anchor="middle" transform="rotate(-90 {3} {4})">{5}</text>"##,
        left + w / 2.0,
        bottom + 34.0,
        axes.x,
        x0 + 14.0,
        TOP + h / 2.0,
        axes.y
    );
    for (i, s) in series.iter().enumerate() {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r##"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"##,
            s.color,
            path.join(" ")
        );
        if !s.dashed {
            for (x, y) in &s.points {
                let _ = write!(
                    out,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"##,
                    sx(*x),
                    sy(*y),
                    s.color
                );
            }
        }
        // The legend in two columns between the title and the plot.
        let (lx, ly) = (
            left + (i % 2) as f64 * w / 2.0,
            46.0 + (i / 2) as f64 * 15.0,
        );
        let _ = write!(
            out,
            r##"<line x1="{lx}" y1="{0}" x2="{1}" y2="{0}" stroke="{2}" stroke-width="2"{dash}/><text x="{3}" y="{4}" font-size="11" fill="#333">{5}</text>"##,
            ly - 4.0,
            lx + 16.0,
            s.color,
            lx + 21.0,
            ly,
            s.name
        );
    }
}

/// Throughput on the left and p50/p99 latency on the right, a colour per store;
/// `series(store, measure)` gives a store's points, `reference` a dashed line for the left.
fn rate_and_latency(
    titles: [&str; 2],
    x: &str,
    x_label: fn(f64) -> String,
    reference: Option<Series>,
    series: impl Fn(&str, fn(&Row) -> f64) -> Vec<(f64, f64)>,
) -> String {
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>"##
    );
    // The reference first, so that the stores' lines are drawn over it.
    let mut rates: Vec<Series> = reference.into_iter().collect();
    rates.push(Series::line(
        "SQLite",
        "#1f5fbf",
        series("sqlite", |r| r.rate),
    ));
    rates.push(Series::line(
        "PostgreSQL",
        "#b3261e",
        series("postgres", |r| r.rate),
    ));
    rates.retain(|s| !s.points.is_empty());
    panel(
        &mut out,
        0.0,
        titles[0],
        &rates,
        Axes {
            x,
            y: "per second",
            x_label,
            y_label: compact,
            y_log: false,
        },
    );
    let mut latencies = vec![
        Series::line("SQLite p50", "#1f5fbf", series("sqlite", |r| r.p50_ms)),
        Series::line("SQLite p99", "#7fa6e0", series("sqlite", |r| r.p99_ms)),
        Series::line(
            "PostgreSQL p50",
            "#b3261e",
            series("postgres", |r| r.p50_ms),
        ),
        Series::line(
            "PostgreSQL p99",
            "#e08f8a",
            series("postgres", |r| r.p99_ms),
        ),
    ];
    latencies.retain(|s| !s.points.is_empty());
    panel(
        &mut out,
        W / 2.0,
        titles[1],
        &latencies,
        Axes {
            x,
            y: "milliseconds (log scale)",
            x_label,
            y_label: millis,
            y_log: true,
        },
    );
    out.push_str("</svg>\n");
    out
}

/// Purchases done and their latency against the offered rate; the dashed line is what was
/// offered, so a store that keeps up lies on it.
pub fn open_loop(rows: &[Row]) -> String {
    let mut offered: Vec<f64> = rows
        .iter()
        .filter(|r| r.mode == "open")
        .filter_map(|r| r.offered)
        .collect();
    offered.sort_by(f64::total_cmp);
    offered.dedup();
    rate_and_latency(
        ["Purchases done per second", "Purchase latency"],
        "purchases offered per second (log scale)",
        compact,
        Some(Series {
            name: "offered",
            color: "#999",
            dashed: true,
            points: offered.iter().map(|&o| (o, o)).collect(),
        }),
        |store, f| {
            rows.iter()
                .filter(|r| r.store == store && r.mode == "open")
                .map(|r| (r.offered.unwrap_or(0.0), f(r)))
                .collect()
        },
    )
}

/// Till throughput and latency against the number of members.
pub fn by_members(rows: &[Row]) -> String {
    rate_and_latency(
        ["Purchases per second by members", "Latency by members"],
        "members (log scale)",
        compact,
        None,
        |store, f| {
            rows.iter()
                .filter(|r| r.store == store && r.mode == "scale" && r.what == "till")
                .filter_map(|r| Some((r.members? as f64, f(r))))
                .collect()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(store: &str, offered: f64, rate: f64, p50_ms: f64, p99_ms: f64) -> Row {
        Row {
            store: store.into(),
            what: "till".into(),
            mode: "open".into(),
            offered: Some(offered),
            rate,
            p50_ms,
            p99_ms,
            failed: 0,
            members: None,
            requests_each: None,
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_values() {
        assert_eq!(linear_ticks(3_870.0), vec![0.0, 1e3, 2e3, 3e3, 4e3]);
        assert_eq!(linear_ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(log_ticks(1.7, 568.0), vec![1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(compact(250.0), "250");
        assert_eq!(compact(2_000.0), "2 k");
        assert_eq!(compact(1_500.0), "1.5 k");
        assert_eq!(compact(10_000_000.0), "10 M");
        assert_eq!(millis(0.1), "0.1");
        assert_eq!(millis(1000.0), "1000");
    }

    #[test]
    fn the_open_loop_chart_labels_every_rate_and_draws_what_was_offered() {
        let rows = [
            open("sqlite", 500.0, 500.0, 2.6, 5.4),
            open("sqlite", 1000.0, 1000.0, 1.7, 5.5),
            open("sqlite", 2000.0, 1999.0, 2.6, 13.7),
            open("postgres", 500.0, 500.0, 2.1, 6.1),
            open("postgres", 1000.0, 1000.0, 3.1, 10.3),
            open("postgres", 2000.0, 1620.0, 568.8, 889.9),
        ];
        let svg = open_loop(&rows);
        for label in [
            ">500<",
            ">1 k<",
            ">2 k<",
            ">offered<",
            ">SQLite p99<",
            ">1000<",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        assert!(svg.contains("stroke-dasharray"));
        assert_eq!(svg.matches("<polyline").count(), 7);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn latencies_of_zero_still_give_an_axis() {
        let svg = open_loop(&[open("sqlite", 100.0, 0.0, 0.0, 0.0)]);
        assert!(svg.contains(">10<") && !svg.contains("NaN"));
    }

    #[test]
    fn a_store_without_points_draws_no_line() {
        let svg = open_loop(&[open("sqlite", 100.0, 100.0, 1.0, 2.0)]);
        assert!(!svg.contains("PostgreSQL"));
        assert!(!svg.contains("NaN"));
    }
}
