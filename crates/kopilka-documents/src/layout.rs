//! Page layout: A4 pages built as lists of drawing operations, so that pagination (and
//! «Страница 1 из 3») is settled before anything is written to the PDF.
//! Coordinates are points from the top left corner, as krilla takes them.

use crate::fonts::Fonts;
use crate::text::{Lang, Texts};
use crate::{Company, Signatory};

pub(crate) const MM: f32 = 72.0 / 25.4;
pub(crate) const PAGE_W: f32 = 210.0 * MM;
pub(crate) const PAGE_H: f32 = 297.0 * MM;
// Russian office paper leaves the wider margin on the left, for binding into a file.
const LEFT: f32 = 25.0 * MM;
const RIGHT: f32 = PAGE_W - 15.0 * MM;
const TOP: f32 = 15.0 * MM;
const BODY_W: f32 = RIGHT - LEFT;
const QR_SIZE: f32 = 25.0 * MM;
const FOOT_BOTTOM: f32 = PAGE_H - 12.0 * MM;
const QR_TOP: f32 = FOOT_BOTTOM - QR_SIZE;
/// Where body text must stop so it never runs into the verification block.
const BODY_BOTTOM: f32 = QR_TOP - 9.0 * MM;

pub(crate) const BODY_SIZE: f32 = 11.0;
const BODY_LEADING: f32 = 16.0;
const TABLE_SIZE: f32 = 9.5;
const TABLE_LEADING: f32 = 12.5;
const CELL_PAD_X: f32 = 5.0;
const CELL_PAD_Y: f32 = 3.5;

pub(crate) enum Op {
    /// `y` is the baseline; `gray` 0 is black.
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        gray: u8,
        text: String,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
    },
    /// Filled rectangles `(x, y, w, h)`: table header shading and the QR code's modules.
    Fill { rects: Vec<[f32; 4]>, gray: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

pub(crate) struct Page {
    pub(crate) ops: Vec<Op>,
    pub(crate) lang: Lang,
}

pub(crate) struct Column {
    pub(crate) title: String,
    /// Share of the text width.
    pub(crate) share: f32,
    pub(crate) align: Align,
}

pub(crate) struct Table {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) total: Option<Vec<String>>,
}

/// Text set in one style.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) size: f32,
    pub(crate) bold: bool,
    pub(crate) leading: f32,
    pub(crate) align: Align,
}

impl Style {
    pub(crate) const BODY: Style = Style {
        size: BODY_SIZE,
        bold: false,
        leading: BODY_LEADING,
        align: Align::Left,
    };
    pub(crate) const TITLE: Style = Style {
        size: 14.0,
        bold: true,
        leading: 19.0,
        align: Align::Center,
    };
    pub(crate) const CENTERED: Style = Style {
        align: Align::Center,
        ..Style::BODY
    };
    pub(crate) const SUBHEAD: Style = Style {
        bold: true,
        ..Style::BODY
    };
}

pub(crate) struct Sheet<'f> {
    fonts: &'f Fonts,
    pub(crate) pages: Vec<Page>,
    /// Top of the next line to set.
    y: f32,
    lang: Lang,
    /// What a continuation page says at its top, e.g. «ООО «…» · Справка № 12 от …».
    running_head: (String, String),
}

impl<'f> Sheet<'f> {
    pub(crate) fn new(fonts: &'f Fonts) -> Self {
        Sheet {
            fonts,
            pages: Vec::new(),
            y: TOP,
            lang: Lang::Ru,
            running_head: (String::new(), String::new()),
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Page {
                ops: Vec::new(),
                lang: self.lang,
            });
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last].ops
    }

    /// Starts a fresh page in `lang` with nothing on it yet (the letterhead comes next).
    pub(crate) fn start_page(&mut self, lang: Lang) {
        self.lang = lang;
        self.pages.push(Page {
            ops: Vec::new(),
            lang,
        });
        self.y = TOP;
    }

    pub(crate) fn set_running_head(&mut self, left: String, right: String) {
        self.running_head = (left, right);
    }

    /// Moves to a continuation page unless `height` more points fit on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > BODY_BOTTOM {
            self.next_page();
        }
    }

    /// A continuation page: a running head instead of the letterhead.
    fn next_page(&mut self) {
        self.start_page(self.lang);
        let (left, right) = self.running_head.clone();
        let (size, leading) = (8.5, 11.0);
        let half = BODY_W / 2.0 - 3.0 * MM;
        let left = self.fonts.bold.wrap(&left, size, half);
        let right = self.fonts.regular.wrap(&right, size, half);
        for (i, line) in left.iter().enumerate() {
            self.put(LEFT, self.y + size + i as f32 * leading, size, true, line);
        }
        for (i, line) in right.iter().enumerate() {
            let x = RIGHT - self.fonts.regular.width(line, size);
            self.put(x, self.y + size + i as f32 * leading, size, false, line);
        }
        self.y += left.len().max(right.len()) as f32 * leading + 3.0;
        self.rule(0.5);
        self.y += 6.0 * MM;
    }

    pub(crate) fn gap(&mut self, height: f32) {
        self.y += height;
    }

    pub(crate) fn gap_mm(&mut self, mm: f32) {
        self.gap(mm * MM);
    }

    fn put(&mut self, x: f32, baseline: f32, size: f32, bold: bool, text: &str) {
        self.put_gray(x, baseline, size, bold, 0, text);
    }

    fn put_gray(&mut self, x: f32, y: f32, size: f32, bold: bool, gray: u8, text: &str) {
        if text.is_empty() {
            return;
        }
        self.ops().push(Op::Text {
            x,
            y,
            size,
            bold,
            gray,
            text: text.to_owned(),
        });
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32) {
        self.ops().push(Op::Line { from, to, width });
    }

    /// A horizontal rule across the text width at the current position.
    pub(crate) fn rule(&mut self, width: f32) {
        let y = self.y;
        self.line((LEFT, y), (RIGHT, y), width);
    }

    /// Sets `text` wrapped to the box `[x, x + width]`, moving on to a new page between
    /// lines when the page is full.
    fn block(&mut self, text: &str, x: f32, width: f32, style: Style) {
        let face = self.fonts.face(style.bold);
        let lines = if style.align == Align::Center {
            face.wrap_balanced(text, style.size, width)
        } else {
            face.wrap(text, style.size, width)
        };
        for line in lines {
            self.ensure(style.leading);
            let line_x = match style.align {
                Align::Left => x,
                Align::Center => x + (width - face.width(&line, style.size)) / 2.0,
                Align::Right => x + width - face.width(&line, style.size),
            };
            // The baseline sits one font size below the top of a line box.
            self.put(line_x, self.y + style.size, style.size, style.bold, &line);
            self.y += style.leading;
        }
    }

    pub(crate) fn paragraph(&mut self, text: &str, style: Style) {
        self.block(text, LEFT, BODY_W, style);
    }

    /// Body text whose first line is indented, as Russian business letters set it.
    pub(crate) fn body(&mut self, text: &str) {
        self.paragraph(&format!("\u{2003}\u{2003}{text}"), Style::BODY);
        self.gap(4.0);
    }

    /// The company's letterhead: name, registration numbers, address and a double rule.
    pub(crate) fn letterhead(&mut self, company: &Company, t: &Texts) {
        let name = Style {
            size: 13.0,
            leading: 17.0,
            ..Style::TITLE
        };
        self.paragraph(&company.name, name);
        let small = Style {
            size: 8.5,
            leading: 11.5,
            ..Style::CENTERED
        };
        let ids = t.fill(
            t.registration,
            &[
                ("inn", &company.inn),
                ("kpp", &company.kpp),
                ("ogrn", &company.ogrn),
            ],
        );
        self.gap(1.0);
        self.paragraph(&ids, small);
        self.paragraph(&company.address, small);
        self.gap(3.0);
        self.rule(1.4);
        self.gap(2.0);
        self.rule(0.5);
        self.gap_mm(8.0);
    }

    /// The addressee, set as a block at the right like the «Кому» corner of a letter.
    pub(crate) fn addressee(&mut self, text: &str) {
        let x = LEFT + BODY_W * 0.58;
        self.block(text, x, RIGHT - x, Style::BODY);
        self.gap_mm(6.0);
    }

    /// Label / value pairs, such as «Должность: Старший кассир», values in bold.
    pub(crate) fn fields(&mut self, fields: &[(String, String)]) {
        let label_w = BODY_W * 0.38;
        let size = 10.5;
        let leading = 14.5;
        for (label, value) in fields {
            let labels = self.fonts.regular.wrap(label, size, label_w - 8.0);
            let values = self.fonts.bold.wrap(value, size, BODY_W - label_w);
            let rows = labels.len().max(values.len());
            // A field is never split between pages.
            self.ensure(rows as f32 * leading);
            for (i, line) in labels.iter().enumerate() {
                let y = self.y + size + i as f32 * leading;
                self.put_gray(LEFT, y, size, false, 0x40, line);
            }
            for (i, line) in values.iter().enumerate() {
                let y = self.y + size + i as f32 * leading;
                self.put(LEFT + label_w, y, size, true, line);
            }
            self.y += rows as f32 * leading + 3.0;
        }
        self.gap(4.0);
    }

    /// A ruled table; rows that do not fit go to the next page under a repeated header.
    pub(crate) fn table(&mut self, table: &Table) {
        let widths: Vec<f32> = table.columns.iter().map(|c| c.share * BODY_W).collect();
        let header: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
        let header_aligns = vec![Align::Center; table.columns.len()];
        let aligns: Vec<Align> = table.columns.iter().map(|c| c.align).collect();
        let header_h = self.row_height(&header, &widths, true);
        // Never leave a header alone at the foot of a page.
        let first_h = table
            .rows
            .first()
            .map_or(0.0, |r| self.row_height(r, &widths, false));
        self.ensure(header_h + first_h);
        self.row(&header, &widths, &header_aligns, true, Some(0xE8));
        let last = table.rows.len().saturating_sub(1);
        for (i, cells) in table.rows.iter().enumerate() {
            let mut need = self.row_height(cells, &widths, false);
            // The last row keeps the totals company.
            if i == last {
                if let Some(total) = &table.total {
                    need += self.row_height(total, &widths, true);
                }
            }
            if self.y + need > BODY_BOTTOM {
                self.next_page();
                self.row(&header, &widths, &header_aligns, true, Some(0xE8));
            }
            self.row(cells, &widths, &aligns, false, None);
        }
        if let Some(total) = &table.total {
            let h = self.row_height(total, &widths, true);
            if self.y + h > BODY_BOTTOM {
                self.next_page();
                self.row(&header, &widths, &header_aligns, true, Some(0xE8));
            }
            self.row(total, &widths, &aligns, true, Some(0xF4));
        }
        self.gap_mm(4.0);
    }

    fn cell_lines(&self, text: &str, width: f32, bold: bool) -> Vec<String> {
        self.fonts
            .face(bold)
            .wrap(text, TABLE_SIZE, width - 2.0 * CELL_PAD_X)
    }

    fn row_height(&self, cells: &[String], widths: &[f32], bold: bool) -> f32 {
        let lines = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| self.cell_lines(c, *w, bold).len())
            .max()
            .unwrap_or(1);
        lines as f32 * TABLE_LEADING + 2.0 * CELL_PAD_Y
    }

    fn row(
        &mut self,
        cells: &[String],
        widths: &[f32],
        aligns: &[Align],
        bold: bool,
        shade: Option<u8>,
    ) {
        let h = self.row_height(cells, widths, bold);
        let (top, bottom) = (self.y, self.y + h);
        if let Some(gray) = shade {
            self.ops().push(Op::Fill {
                rects: vec![[LEFT, top, BODY_W, h]],
                gray,
            });
        }
        let face = self.fonts.face(bold);
        let mut x = LEFT;
        for ((text, &w), &align) in cells.iter().zip(widths).zip(aligns) {
            for (i, line) in self.cell_lines(text, w, bold).iter().enumerate() {
                let lx = match align {
                    Align::Left => x + CELL_PAD_X,
                    Align::Center => x + (w - face.width(line, TABLE_SIZE)) / 2.0,
                    Align::Right => x + w - CELL_PAD_X - face.width(line, TABLE_SIZE),
                };
                let baseline = top + CELL_PAD_Y + TABLE_SIZE + i as f32 * TABLE_LEADING - 1.5;
                self.put(lx, baseline, TABLE_SIZE, bold, line);
            }
            self.line((x, top), (x, bottom), 0.5);
            x += w;
        }
        self.line((RIGHT, top), (RIGHT, bottom), 0.5);
        self.line((LEFT, top), (RIGHT, top), 0.5);
        self.line((LEFT, bottom), (RIGHT, bottom), 0.5);
        self.y = bottom;
    }

    /// «Генеральный директор ____________ И. И. Иванов» for each signatory, kept together
    /// with the seal's place («М. П.») under them.
    pub(crate) fn signatures(&mut self, signatories: &[(String, String)], t: &Texts) {
        let size = BODY_SIZE;
        let leading = 14.0;
        let pos_w = 68.0 * MM;
        let (line_from, line_to) = (LEFT + 72.0 * MM, LEFT + 112.0 * MM);
        let name_x = line_to + 4.0 * MM;
        let rows: Vec<(Vec<String>, &String)> = signatories
            .iter()
            .map(|(position, name)| (self.fonts.regular.wrap(position, size, pos_w), name))
            .collect();
        let row_gap = 9.0 * MM;
        // Exactly what the loop below uses, so the block is never split.
        let block_h: f32 = rows
            .iter()
            .map(|(lines, _)| lines.len().saturating_sub(1) as f32 * leading + row_gap)
            .sum::<f32>()
            + 2.0 * MM
            + leading;
        self.gap_mm(6.0);
        self.ensure(block_h);
        for (lines, name) in rows {
            // The signature line sits level with the last line of the position.
            let last = self.y + size + lines.len().saturating_sub(1) as f32 * leading;
            for (i, line) in lines.iter().enumerate() {
                self.put(LEFT, self.y + size + i as f32 * leading, size, false, line);
            }
            self.line((line_from, last + 2.0), (line_to, last + 2.0), 0.6);
            let hint = 6.5;
            let hint_w = self.fonts.regular.width(t.signature_hint, hint);
            let hint_x = (line_from + line_to - hint_w) / 2.0;
            self.put_gray(
                hint_x,
                last + 2.0 + hint + 2.0,
                hint,
                false,
                0x60,
                t.signature_hint,
            );
            let name_w = RIGHT - name_x;
            let name = self.fonts.regular.wrap(name, size, name_w).join(" ");
            self.put(name_x, last, size, false, &name);
            self.y = last + row_gap - size;
        }
        self.y += 2.0 * MM;
        self.put(LEFT, self.y + size, size, false, t.seal_place);
        self.y += leading;
    }

    /// The verification block at the foot of every page: the QR code, where and with what
    /// code to check the document, and the page number.
    pub(crate) fn add_footers(
        &mut self,
        qr: &[[f32; 4]],
        url: &str,
        code: &str,
        texts: impl Fn(Lang) -> Texts,
    ) {
        let total = self.pages.len();
        let fonts = self.fonts;
        for (n, page) in self.pages.iter_mut().enumerate() {
            let t = texts(page.lang);
            let ops = &mut page.ops;
            ops.push(Op::Line {
                from: (LEFT, QR_TOP - 4.0 * MM),
                to: (RIGHT, QR_TOP - 4.0 * MM),
                width: 0.4,
            });
            ops.push(Op::Fill {
                rects: qr
                    .iter()
                    .map(|[x, y, w, h]| {
                        [
                            LEFT + x * QR_SIZE,
                            QR_TOP + y * QR_SIZE,
                            w * QR_SIZE,
                            h * QR_SIZE,
                        ]
                    })
                    .collect(),
                gray: 0,
            });
            let x = LEFT + QR_SIZE + 6.0 * MM;
            let width = RIGHT - x;
            let size = 9.0;
            let mut y = QR_TOP + 3.0 * MM + size;
            let mut text = |line: String, bold: bool, y: &mut f32| {
                ops.push(Op::Text {
                    x,
                    y: *y,
                    size,
                    bold,
                    gray: 0x20,
                    text: line,
                });
                *y += 12.0;
            };
            text(t.verify_intro.to_owned(), false, &mut y);
            y += 3.0;
            let check = t.fill(t.verify_url, &[("url", url)]);
            for line in fonts.regular.wrap(&check, size, width) {
                text(line, false, &mut y);
            }
            let code = t.fill(t.verify_code, &[("code", code)]);
            for line in fonts.bold.wrap(&code, size, width) {
                text(line, true, &mut y);
            }
            let number = t.fill(
                t.page_of,
                &[("n", &(n + 1).to_string()), ("total", &total.to_string())],
            );
            let w = fonts.regular.width(&number, 8.0);
            ops.push(Op::Text {
                x: RIGHT - w,
                y: FOOT_BOTTOM,
                size: 8.0,
                bold: false,
                gray: 0x40,
                text: number,
            });
        }
    }
}

/// Signatories as they are printed on a page: positions and names in the page's language.
pub(crate) fn signatory_lines(signatories: &[Signatory], lang: Lang) -> Vec<(String, String)> {
    signatories
        .iter()
        .map(|s| match lang {
            Lang::Ru => (s.position.clone(), s.name.clone()),
            Lang::En => (
                crate::text::position_en(&s.position),
                crate::format::transliterate(&s.name),
            ),
        })
        .collect()
}
