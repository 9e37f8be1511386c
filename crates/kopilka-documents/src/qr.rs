//! The verification QR code as vector shapes: one filled rectangle per run of dark
//! modules, so it stays sharp at any zoom and prints crisply.

use qrcode::{Color, EcLevel, QrCode};

use crate::DocumentError;

/// Dark modules as rectangles `(x, y, w, h)` in units of the code's side (0..1), quiet
/// zone excluded: the page around the code is white and leaves room for it.
pub(crate) fn modules(url: &str) -> Result<Vec<[f32; 4]>, DocumentError> {
    // Level M survives a fold or a smudge on a printed page and keeps the code coarse.
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(DocumentError::Qr)?;
    let n = code.width();
    let colors = code.to_colors();
    let unit = 1.0 / n as f32;
    let mut rects = Vec::new();
    for y in 0..n {
        let mut x = 0;
        while x < n {
            if colors[y * n + x] == Color::Dark {
                let start = x;
                while x < n && colors[y * n + x] == Color::Dark {
                    x += 1;
                }
                rects.push([
                    start as f32 * unit,
                    y as f32 * unit,
                    (x - start) as f32 * unit,
                    unit,
                ]);
            } else {
                x += 1;
            }
        }
    }
    Ok(rects)
}
