//! The open-loop chart: purchases done per second and p50/p99 latency against the offered
//! rate, one line per store. Plain SVG, no dependencies.

use crate::Row;
use std::fmt::Write;

const W: f64 = 720.0;
const H: f64 = 300.0;
const PAD: f64 = 50.0;

/// One line of a panel: its name, its colour and its (x, y) points.
type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// Axis names of a panel: what x and y count.
struct Axes<'a> {
    x: &'a str,
    y: &'a str,
    /// Where the x axis starts.
    min_x: f64,
}

fn panel(out: &mut String, x0: f64, title: &str, series: &[Series], axes: Axes, log: bool) {
    let max_x = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let max_y = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.1;
    let (w, h) = (W / 2.0 - PAD * 1.5, H - PAD * 2.0);
    let min_x = axes.min_x.min(max_x - 1.0);
    let sx = |x: f64| x0 + PAD + (x - min_x) / (max_x - min_x) * w;
    // Latency spans milliseconds to seconds once a store saturates: a log scale keeps both.
    let scale = |y: f64| if log { (y.max(0.1) * 10.0).log10() } else { y };
    let top = scale(max_y);
    let sy = |y: f64| PAD + h - scale(y) / top * h;
    let _ = write!(
        out,
        r##"<text x="{}" y="24" font-size="14" font-weight="bold">{title}</text>"##,
        x0 + PAD
    );
    let _ = write!(
        out,
        r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#888"/><line x1="{0}" y1="{2}" x2="{3}" y2="{2}" stroke="#888"/>"##,
        x0 + PAD,
        PAD,
        PAD + h,
        x0 + PAD + w
    );
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" font-size="11">{max_y:.0} {}</text>"##,
        x0 + 4.0,
        PAD,
        axes.y
    );
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" font-size="11" text-anchor="end">{max_x:.0} {}</text>"##,
        x0 + PAD + w,
        PAD + h + 16.0,
        axes.x
    );
    for (i, (name, color, points)) in series.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            out,
            r##"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"##,
            path.join(" ")
        );
        for (x, y) in points {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"##,
                sx(*x),
                sy(*y)
            );
        }
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-size="11" fill="{color}">{name}</text>"##,
            x0 + PAD + 8.0,
            PAD + 14.0 + i as f64 * 14.0
        );
    }
}

/// Throughput on the left and p50/p99 latency (log scale) on the right, a colour per store;
/// `series(store, measure)` gives a store's points.
fn rate_and_latency(
    titles: [&str; 2],
    x: &str,
    min_x: f64,
    series: impl Fn(&str, fn(&Row) -> f64) -> Vec<(f64, f64)>,
) -> String {
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>"##
    );
    panel(
        &mut out,
        0.0,
        titles[0],
        &[
            ("SQLite", "#1f5fbf", series("sqlite", |r| r.rate)),
            ("PostgreSQL", "#b3261e", series("postgres", |r| r.rate)),
        ],
        Axes { x, y: "/s", min_x },
        false,
    );
    panel(
        &mut out,
        W / 2.0,
        titles[1],
        &[
            ("SQLite p50", "#1f5fbf", series("sqlite", |r| r.p50_ms)),
            ("SQLite p99", "#7fa6e0", series("sqlite", |r| r.p99_ms)),
            (
                "PostgreSQL p50",
                "#b3261e",
                series("postgres", |r| r.p50_ms),
            ),
            (
                "PostgreSQL p99",
                "#e08f8a",
                series("postgres", |r| r.p99_ms),
            ),
        ],
        Axes { x, y: "ms", min_x },
        true,
    );
    out.push_str("</svg>\n");
    out
}

/// Purchases done and their latency against the offered rate.
pub fn open_loop(rows: &[Row]) -> String {
    rate_and_latency(
        ["Purchases done per second", "Purchase latency (log scale)"],
        "offered/s",
        0.0,
        |store, f| {
            rows.iter()
                .filter(|r| r.store == store && r.mode == "open")
                .map(|r| (r.offered.unwrap_or(0.0), f(r)))
                .collect()
        },
    )
}

/// Till throughput and latency against the number of members (x: log10 of the count, so 4 is
/// ten thousand and 7 ten million).
pub fn by_members(rows: &[Row]) -> String {
    rate_and_latency(
        [
            "Purchases per second by members",
            "Latency by members (log scale)",
        ],
        "log10 members (4 = 10 k, 7 = 10 M)",
        3.5,
        |store, f| {
            rows.iter()
                .filter(|r| r.store == store && r.mode == "scale" && r.what == "till")
                .filter_map(|r| Some(((r.members? as f64).log10(), f(r))))
                .collect()
        },
    )
}
