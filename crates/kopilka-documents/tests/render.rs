//! Renders every document with realistic data and reads it back the way a person or a bank
//! would: the text with `pdftotext`, the QR code from a 150 dpi picture with `zbarimg`.
//! Set `KOPILKA_DOCUMENTS_KEEP=/some/dir` to keep the PDFs for a look.

// Kopecks read best as roubles_kopecks: 85_000_00 is 85 000,00 ₽.
#![allow(clippy::inconsistent_digit_grouping)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use kopilka_documents::{
    money, money_en, render, Company, Document, DocumentError, Employee, Month, MonthIncome,
    PayLine, Signatory, Stamp,
};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}

fn company() -> Company {
    Company {
        name: "Общество с ограниченной ответственностью «Копилка Ритейл»".into(),
        inn: "7701234567".into(),
        kpp: "770101001".into(),
        ogrn: "1157746123456".into(),
        address: "123112, г. Москва, Пресненская набережная, дом 12, этаж 24, помещение 2401"
            .into(),
        signatories: vec![
            Signatory {
                position: "Генеральный директор".into(),
                name: "А. В. Соколов".into(),
            },
            Signatory {
                position: "Главный бухгалтер".into(),
                name: "Е. Н. Кузнецова".into(),
            },
        ],
    }
}

fn employee() -> Employee {
    Employee {
        full_name: "Петрова Анна Сергеевна".into(),
        position: "Старший кассир торгового зала".into(),
        hired_on: date(2019, 3, 15),
        still_employed: true,
    }
}

const URL: &str = "https://kopilka.example/documents/verify/HR-2026-001234?code=7K4M-Q9PX-2F";

fn stamp() -> Stamp {
    Stamp {
        number: "HR-2026/001234".into(),
        issued_on: date(2026, 12, 7),
        verify_code: "7K4M-Q9PX-2F".into(),
        verify_url: URL.into(),
    }
}

/// A Debian tool the test needs; missing, the test fails and says how to get it.
fn tool(name: &str, package: &str) -> Command {
    match Command::new(name).arg("-v").output() {
        Ok(_) => Command::new(name),
        Err(_) => panic!("{name} is missing: apt-get install {package}"),
    }
}

fn run(mut command: Command) -> String {
    let out = command.output().expect("the tool runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

struct Rendered {
    _dir: tempfile::TempDir,
    pdf: PathBuf,
    text: String,
    pages: usize,
}

fn render_to_disk(name: &str, document: &Document) -> Rendered {
    let bytes = render(&company(), &employee(), &stamp(), document).expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join(format!("{name}.pdf"));
    std::fs::write(&pdf, &bytes).expect("write PDF");
    if let Ok(keep) = std::env::var("KOPILKA_DOCUMENTS_KEEP") {
        std::fs::create_dir_all(&keep).expect("keep dir");
        std::fs::write(Path::new(&keep).join(format!("{name}.pdf")), &bytes).expect("keep");
    }
    let mut pdftotext = tool("pdftotext", "poppler-utils");
    pdftotext.arg(&pdf).arg("-");
    let text = run(pdftotext);
    // pdftotext ends each page with a form feed.
    let pages = text.matches('\u{c}').count();
    Rendered {
        _dir: dir,
        pdf,
        text,
        pages,
    }
}

/// The QR code on the first page, read from a 150 dpi picture as a phone camera would.
fn first_page_qr(pdf: &Path) -> String {
    let prefix = pdf.with_extension("");
    let mut pdftoppm = tool("pdftoppm", "poppler-utils");
    pdftoppm
        .args(["-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile"])
        .arg(pdf)
        .arg(&prefix);
    run(pdftoppm);
    let mut zbarimg = tool("zbarimg", "zbar-tools");
    zbarimg
        .args(["-q", "--raw"])
        .arg(prefix.with_extension("png"));
    run(zbarimg).trim_end_matches('\n').to_owned()
}

/// Words in one run whatever the line breaks. pdftotext gives the no-break spaces inside
/// sums and dates back as plain ones, so those are compared as plain spaces too.
fn flat(text: &str) -> String {
    text.split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_has(text: &str, wanted: &[&str]) {
    let text = flat(text);
    for w in wanted {
        let w = flat(w);
        assert!(text.contains(&w), "{w:?} is not in the text:\n{text}");
    }
}

fn assert_common(doc: &Rendered) {
    let e = employee();
    assert_has(
        &doc.text,
        &[
            &e.full_name,
            "HR-2026/001234",
            "7K4M-Q9PX-2F",
            "А. В. Соколов",
        ],
    );
    assert_eq!(first_page_qr(&doc.pdf), URL);
}

#[test]
fn employment_confirmation() {
    let doc = render_to_disk(
        "employment",
        &Document::EmploymentConfirmation {
            salary_kop: Some(85_000_00),
            addressee: Some("ПАО «Сбербанк», Московский банк".into()),
        },
    );
    assert_common(&doc);
    assert_has(
        &doc.text,
        &[
            "Старший кассир торгового зала",
            "работает по настоящее время",
            "15 марта 2019 г.",
            "от 7 декабря 2026 г.",
            &money(85_000_00),
            "восемьдесят пять тысяч рублей 00 копеек",
            "ПАО «Сбербанк»",
        ],
    );
    assert_eq!(doc.pages, 1);

    let anywhere = render_to_disk(
        "employment-anywhere",
        &Document::EmploymentConfirmation {
            salary_kop: None,
            addressee: None,
        },
    );
    assert_has(&anywhere.text, &["по месту требования"]);
}

#[test]
fn former_employee_is_not_said_to_work_here() {
    let former = Employee {
        still_employed: false,
        ..employee()
    };
    let bytes = render(
        &company(),
        &former,
        &stamp(),
        &Document::EmploymentConfirmation {
            salary_kop: None,
            addressee: None,
        },
    )
    .expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("former.pdf");
    std::fs::write(&pdf, bytes).expect("write PDF");
    let mut pdftotext = tool("pdftotext", "poppler-utils");
    pdftotext.arg(&pdf).arg("-");
    let text = flat(&run(pdftotext));
    assert!(
        text.contains("состоял с организацией в трудовых отношениях"),
        "{text}"
    );
    assert!(!text.contains("по настоящее время"), "{text}");
}

fn months(from: Month, count: u32) -> Vec<MonthIncome> {
    (0..count)
        .map(|i| {
            let index = from.month - 1 + i;
            let month = Month {
                year: from.year + (index / 12) as i32,
                month: index % 12 + 1,
            };
            let gross = 85_000_00 + i64::from(i) * 1_234_56;
            let tax = gross * 13 / 100;
            MonthIncome {
                month,
                gross_kop: gross,
                tax_kop: tax,
                net_kop: gross - tax,
            }
        })
        .collect()
}

#[test]
fn income_certificate_for_half_a_year() {
    let from = Month {
        year: 2026,
        month: 6,
    };
    let rows = months(from, 6);
    let doc = render_to_disk(
        "income",
        &Document::IncomeCertificate {
            from,
            to: Month {
                year: 2026,
                month: 11,
            },
            months: rows.clone(),
            addressee: None,
        },
    );
    assert_common(&doc);
    let gross: i64 = rows.iter().map(|m| m.gross_kop).sum();
    let tax: i64 = rows.iter().map(|m| m.tax_kop).sum();
    assert_has(
        &doc.text,
        &[
            "Старший кассир торгового зала",
            "с 1 июня 2026 г. по 30 ноября 2026 г.",
            "Июнь 2026",
            "Ноябрь 2026",
            &money(rows[0].gross_kop),
            &money(rows[5].net_kop),
            &money(gross),
            &money(tax),
            "Итого",
        ],
    );
}

#[test]
fn income_certificate_for_two_years_runs_onto_more_pages() {
    let from = Month {
        year: 2025,
        month: 1,
    };
    let rows = months(from, 24);
    let doc = render_to_disk(
        "income-24",
        &Document::IncomeCertificate {
            from,
            to: Month {
                year: 2026,
                month: 12,
            },
            months: rows.clone(),
            addressee: Some("АО «Альфа-Банк»".into()),
        },
    );
    assert_common(&doc);
    assert!(doc.pages >= 2, "{} page(s)", doc.pages);
    for name in ["Январь", "Февраль", "Март", "Апрель", "Май", "Июнь"]
    {
        for year in [2025, 2026] {
            assert_has(&doc.text, &[&format!("{name}\u{a0}{year}")]);
        }
    }
    for name in ["Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь"]
    {
        for year in [2025, 2026] {
            assert_has(&doc.text, &[&format!("{name}\u{a0}{year}")]);
        }
    }
    for m in &rows {
        assert_has(&doc.text, &[&money(m.gross_kop), &money(m.net_kop)]);
    }
    // The header is repeated where the table continues.
    assert!(doc.text.matches("Удержан НДФЛ").count() >= 2);
    let total: i64 = rows.iter().map(|m| m.gross_kop).sum();
    assert_has(&doc.text, &[&money(total)]);
}

#[test]
fn payslip() {
    let accruals = vec![
        PayLine {
            code: "2000".into(),
            name: "Оплата по окладу (21 рабочий день из 21)".into(),
            amount_kop: 85_000_00,
        },
        PayLine {
            code: "2002".into(),
            name: "Премия по итогам месяца за выполнение плана продаж магазина".into(),
            amount_kop: 12_750_00,
        },
        PayLine {
            code: "2000".into(),
            name: "Доплата за работу в выходные и нерабочие праздничные дни".into(),
            amount_kop: 8_095_24,
        },
    ];
    let deductions = vec![
        PayLine {
            code: "У14".into(),
            name: "Профсоюзные взносы (1 %)".into(),
            amount_kop: 1_058_45,
        },
        PayLine {
            code: "У22".into(),
            name: "Добровольное медицинское страхование членов семьи".into(),
            amount_kop: 1_500_00,
        },
    ];
    let gross = 105_845_24;
    let tax = 13_759_88;
    let net = gross - tax - 1_058_45 - 1_500_00;
    let doc = render_to_disk(
        "payslip",
        &Document::Payslip {
            month: Month {
                year: 2026,
                month: 11,
            },
            accruals,
            deductions,
            gross_kop: gross,
            tax_kop: tax,
            net_kop: net,
        },
    );
    assert_common(&doc);
    assert_has(
        &doc.text,
        &[
            "РАСЧЁТНЫЙ ЛИСТОК",
            "за ноябрь 2026 г.",
            "Старший кассир торгового зала",
            "2002",
            "У14",
            "Профсоюзные взносы",
            &money(gross),
            &money(tax),
            &money(net),
            &money(8_095_24),
            "К выплате",
        ],
    );
}

#[test]
fn payslip_whose_lines_do_not_add_up_is_refused() {
    let err = render(
        &company(),
        &employee(),
        &stamp(),
        &Document::Payslip {
            month: Month {
                year: 2026,
                month: 11,
            },
            accruals: vec![PayLine {
                code: "2000".into(),
                name: "Оклад".into(),
                amount_kop: 100_00,
            }],
            deductions: vec![],
            gross_kop: 200_00,
            tax_kop: 26_00,
            net_kop: 174_00,
        },
    )
    .expect_err("totals disagree");
    assert!(matches!(err, DocumentError::TotalMismatch { .. }), "{err}");
}

#[test]
fn visa_letter_in_russian_then_english() {
    let doc = render_to_disk(
        "visa",
        &Document::VisaLetter {
            salary_kop: 97_500_00,
            leave_from: date(2027, 1, 11),
            leave_to: date(2027, 1, 24),
            addressee: None,
            name_latin: Some("Anna Petrova".into()),
            position_en: Some("Senior Cashier".into()),
        },
    );
    assert_common(&doc);
    assert_eq!(doc.pages, 2);
    let (ru, en) = doc.text.split_once('\u{c}').expect("two pages");
    assert_has(
        ru,
        &[
            "В консульство",
            "Старший кассир торгового зала",
            "15 марта 2019 г.",
            &money(97_500_00),
            "С 11 января 2027 г. по 24 января 2027 г.",
            "сохраняются место работы и должность",
        ],
    );
    assert_has(
        en,
        &[
            "To the Consulate",
            "Anna Petrova",
            "Senior Cashier",
            "15 March 2019",
            &money_en(97_500_00),
            "from 11 January 2027 to 24 January 2027",
            "will return to work",
            "General Director",
            "A. V. Sokolov",
            "7K4M-Q9PX-2F",
        ],
    );
}
