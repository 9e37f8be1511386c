//! The two faces every document is set in, shipped inside the binary, and the measuring
//! that line wrapping and right alignment need.

use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{charmap::Charmap, FontRef, MetadataProvider};

use crate::DocumentError;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// One face: what krilla embeds (and subsets) and what skrifa measures with.
pub(crate) struct Face {
    pub(crate) pdf: krilla::text::Font,
    charmap: Charmap<'static>,
    // Advances at 1 pt, so a width in points is the sum times the font size.
    metrics: GlyphMetrics<'static>,
}

impl Face {
    fn load(name: &'static str, data: &'static [u8]) -> Result<Self, DocumentError> {
        let font = FontRef::new(data).map_err(|e| DocumentError::Font {
            name,
            source: Some(Box::new(e)),
        })?;
        // krilla says only that it could not, without a reason.
        let pdf = krilla::text::Font::new(data.into(), 0)
            .ok_or(DocumentError::Font { name, source: None })?;
        Ok(Face {
            pdf,
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::new(1.0), LocationRef::default()),
        })
    }

    /// Width in points of `text` at `size`. Kerning is left out: it only ever tightens a
    /// line by a fraction of a point, so a line measured this way still fits.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| {
                let glyph = self.charmap.map(c).unwrap_or_default();
                self.metrics.advance_width(glyph).unwrap_or(0.0)
            })
            .sum::<f32>()
            * size
    }

    /// Splits `text` into lines no wider than `width`, breaking at spaces (never at the
    /// no-break spaces inside sums and dates) and at newlines; a word wider than the line
    /// (a long URL) is cut wherever it must be.
    pub(crate) fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    line.push(c);
                    if self.width(&line, size) > width && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::replace(&mut line, c.to_string()));
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    /// Like `wrap`, but with lines of even length: a centred heading then never leaves a
    /// lone word on its last line. Narrows the measure as long as no line is added.
    pub(crate) fn wrap_balanced(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let lines = self.wrap(text, size, width);
        if lines.len() < 2 {
            return lines;
        }
        let (mut narrow, mut wide) = (width / 2.0, width);
        for _ in 0..12 {
            let mid = (narrow + wide) / 2.0;
            if self.wrap(text, size, mid).len() == lines.len() {
                wide = mid;
            } else {
                narrow = mid;
            }
        }
        self.wrap(text, size, wide)
    }
}

pub(crate) struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
}

impl Fonts {
    pub(crate) fn load() -> Result<Self, DocumentError> {
        Ok(Fonts {
            regular: Face::load("DejaVu Sans", REGULAR)?,
            bold: Face::load("DejaVu Sans Bold", BOLD)?,
        })
    }

    pub(crate) fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_within_the_width_and_keeps_every_word() {
        let fonts = Fonts::load().expect("fonts");
        let text = "Настоящая справка подтверждает, что работник состоит в трудовых \
                    отношениях с организацией и работает по настоящее время.";
        let lines = fonts.regular.wrap(text, 11.0, 200.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(fonts.regular.width(line, 11.0) <= 200.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn balanced_lines_are_even() {
        let fonts = Fonts::load().expect("fonts");
        let name = "Общество с ограниченной ответственностью «Копилка Ритейл»";
        let greedy = fonts.bold.wrap(name, 13.0, 440.0);
        let balanced = fonts.bold.wrap_balanced(name, 13.0, 440.0);
        assert_eq!(greedy.len(), balanced.len());
        let last = |lines: &[String]| fonts.bold.width(&lines[lines.len() - 1], 13.0);
        assert!(last(&balanced) > last(&greedy), "{balanced:?}");
    }

    #[test]
    fn cuts_a_word_wider_than_the_line() {
        let fonts = Fonts::load().expect("fonts");
        let url = "https://kopilka.example/verify/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let lines = fonts.regular.wrap(url, 9.0, 80.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), url);
    }

    #[test]
    fn dejavu_has_the_glyphs_the_documents_use() {
        let fonts = Fonts::load().expect("fonts");
        for c in ['\u{202F}', '\u{00A0}', '₽', '№', '«', '»', 'ё', '\u{2212}'] {
            assert!(fonts.regular.charmap.map(c).is_some(), "{c:?}");
            assert!(fonts.bold.charmap.map(c).is_some(), "{c:?}");
        }
    }
}
