//! The card's EAN-13 as SVG that scans at any size: each run of dark modules is one rectangle
//! (adjacent bars drawn separately leave seams when a browser scales them), with the quiet
//! zones the standard asks for and the digits under it.

use barcoders::sym::ean13::EAN13;

/// Modules of quiet zone left and right of the bars (the standard's minimum is 11 and 7).
const QUIET: usize = 11;
/// Bar height and the room for the digits, in modules.
const BAR_HEIGHT: usize = 60;
const TEXT_HEIGHT: usize = 12;

pub fn ean13_svg(number: &str) -> Option<String> {
    // barcoders takes the twelve digits and computes the check digit itself.
    let modules = EAN13::new(number.get(..12)?).ok()?.encode();
    let width = modules.len() + 2 * QUIET;
    let mut bars = String::new();
    let mut x = 0;
    while x < modules.len() {
        if modules[x] == 1 {
            let start = x;
            while x < modules.len() && modules[x] == 1 {
                x += 1;
            }
            bars.push_str(&format!(
                "<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{BAR_HEIGHT}\"/>",
                start + QUIET,
                x - start
            ));
        } else {
            x += 1;
        }
    }
    let height = BAR_HEIGHT + TEXT_HEIGHT;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{number}\">\
         <rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/><g fill=\"#000\">{bars}</g>\
         <text x=\"{}\" y=\"{}\" font-family=\"monospace\" font-size=\"10\" text-anchor=\"middle\" \
         letter-spacing=\"1\">{number}</text></svg>",
        width / 2,
        height - 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_bars_are_single_rectangles() {
        let svg = ean13_svg("4006381333931").unwrap();
        // 95 modules: 30 bars in EAN-13 (3 + 6×2 + 5… guards included), never two touching.
        let rects = svg.matches("<rect x=").count();
        assert_eq!(rects, 30, "{svg}");
        assert!(svg.contains("4006381333931"));
        assert!(ean13_svg("12").is_none());
    }
}
