//! Writes laid-out pages with krilla, which embeds only the glyphs used (font subsetting)
//! and adds the Unicode mapping that lets `pdftotext`, search and screen readers read it.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Document;

use crate::fonts::Fonts;
use crate::layout::{Op, Page, PAGE_H, PAGE_W};
use crate::DocumentError;

fn fill(gray: u8) -> Fill {
    Fill {
        paint: luma::Color::new(gray).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

pub(crate) fn write(pages: &[Page], fonts: &Fonts, title: &str) -> Result<Vec<u8>, DocumentError> {
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language("ru".to_owned())
            .creator("Kopilka".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(DocumentError::PageSize)?;
    for page in pages {
        let mut pdf_page = document.start_page_with(settings.clone());
        let mut surface = pdf_page.surface();
        for op in &page.ops {
            draw(&mut surface, op, fonts);
        }
        surface.finish();
        pdf_page.finish();
    }
    Ok(document.finish()?)
}

fn draw(surface: &mut Surface<'_>, op: &Op, fonts: &Fonts) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold,
            gray,
            text,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*gray)));
            surface.draw_text(
                Point::from_xy(*x, *y),
                fonts.face(*bold).pdf.clone(),
                *size,
                text,
                false,
                TextDirection::LeftToRight,
            );
        }
        Op::Line { from, to, width } => {
            let mut path = PathBuilder::new();
            path.move_to(from.0, from.1);
            path.line_to(to.0, to.1);
            if let Some(path) = path.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    width: *width,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Fill { rects, gray } => {
            let mut path = PathBuilder::new();
            for [x, y, w, h] in rects {
                if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                    path.push_rect(rect);
                }
            }
            if let Some(path) = path.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(fill(*gray)));
                surface.draw_path(&path);
            }
        }
    }
}
