//! What each document says and in what order, set on the sheet.

use crate::format::{date_en, date_ru, money, money_en, money_words, month_bounds, month_ru};
use crate::format::{month_row_ru, transliterate};
use crate::layout::{signatory_lines, Align, Column, Sheet, Style, Table};
use crate::text::{company_en, Lang, Texts};
use crate::{sum, Company, Document, Employee, Month, MonthIncome, PayLine, Stamp};

pub(crate) struct Ctx<'a> {
    pub(crate) company: &'a Company,
    pub(crate) employee: &'a Employee,
    pub(crate) stamp: &'a Stamp,
}

/// Lays out `document` and returns its title, for the PDF's metadata.
pub(crate) fn compose(sheet: &mut Sheet<'_>, ctx: &Ctx<'_>, document: &Document) -> String {
    match document {
        Document::EmploymentConfirmation {
            salary_kop,
            addressee,
        } => employment(sheet, ctx, *salary_kop, addressee.as_deref()),
        Document::IncomeCertificate {
            from,
            to,
            months,
            addressee,
        } => income(sheet, ctx, (*from, *to), months, addressee.as_deref()),
        Document::Payslip {
            month,
            accruals,
            deductions,
            gross_kop,
            tax_kop,
            net_kop,
        } => payslip(
            sheet,
            ctx,
            *month,
            (accruals, deductions),
            (*gross_kop, *tax_kop, *net_kop),
        ),
        Document::VisaLetter {
            salary_kop,
            leave_from,
            leave_to,
            addressee,
            name_latin,
            position_en,
        } => {
            let ru = Visa {
                lang: Lang::Ru,
                name: ctx.employee.full_name.clone(),
                company: ctx.company.name.clone(),
                position: ctx.employee.position.clone(),
                salary: format!("{} ({})", money(*salary_kop), money_words(*salary_kop)),
                leave: (date_ru(*leave_from), date_ru(*leave_to)),
                hired: date_ru(ctx.employee.hired_on),
            };
            let title = visa_page(sheet, ctx, &ru, addressee.as_deref());
            let en = Visa {
                lang: Lang::En,
                name: name_latin
                    .clone()
                    .unwrap_or_else(|| transliterate(&ctx.employee.full_name)),
                company: company_en(&ctx.company.name),
                position: position_en
                    .clone()
                    .unwrap_or_else(|| format!("«{}»", ctx.employee.position)),
                salary: money_en(*salary_kop),
                leave: (date_en(*leave_from), date_en(*leave_to)),
                hired: date_en(ctx.employee.hired_on),
            };
            visa_page(sheet, ctx, &en, addressee.as_deref());
            title
        }
    }
}

/// Letterhead, the addressee, title, number and date; returns the title line.
fn heading(
    sheet: &mut Sheet<'_>,
    ctx: &Ctx<'_>,
    lang: Lang,
    title: &str,
    subtitle: Option<&str>,
    addressee: Option<&str>,
) -> String {
    let t = lang.texts();
    sheet.start_page(lang);
    sheet.letterhead(ctx.company, &t);
    if let Some(addressee) = addressee {
        sheet.addressee(addressee);
    }
    let title = t.fill(title, &[("number", &ctx.stamp.number)]);
    let date = match lang {
        Lang::Ru => date_ru(ctx.stamp.issued_on),
        Lang::En => date_en(ctx.stamp.issued_on),
    };
    sheet.paragraph(&title, Style::TITLE);
    sheet.paragraph(&t.fill(t.dated, &[("date", &date)]), Style::CENTERED);
    if let Some(subtitle) = subtitle {
        sheet.paragraph(subtitle, Style::CENTERED);
    }
    sheet.gap_mm(7.0);
    sheet.set_running_head(
        ctx.company.name.clone(),
        t.fill(t.running_head, &[("title", &title), ("date", &date)]),
    );
    title
}

fn employee_fields(ctx: &Ctx<'_>, t: &Texts) -> Vec<(String, String)> {
    let e = ctx.employee;
    let mut fields = vec![
        (t.field_name.to_owned(), e.full_name.clone()),
        (t.field_position.to_owned(), e.position.clone()),
        (t.field_hired.to_owned(), date_ru(e.hired_on)),
    ];
    let status = if e.still_employed {
        t.still_employed
    } else {
        t.no_longer_employed
    };
    fields.push((t.field_status.to_owned(), status.to_owned()));
    fields
}

fn intro(ctx: &Ctx<'_>, t: &Texts, template: &str) -> String {
    t.fill(
        template,
        &[("company", &ctx.company.name), ("inn", &ctx.company.inn)],
    )
}

fn issued_for(t: &Texts, addressee: Option<&str>) -> String {
    match addressee {
        Some(a) => t.fill(t.issued_for, &[("addressee", a)]),
        None => t.issued_for_any.to_owned(),
    }
}

fn sum_in_words(t: &Texts, kop: i64) -> String {
    t.fill(
        t.sum_in_words,
        &[("sum", &money(kop)), ("words", &money_words(kop))],
    )
}

fn sign(sheet: &mut Sheet<'_>, ctx: &Ctx<'_>, lang: Lang) {
    sheet.signatures(
        &signatory_lines(&ctx.company.signatories, lang),
        &lang.texts(),
    );
}

fn employment(
    sheet: &mut Sheet<'_>,
    ctx: &Ctx<'_>,
    salary: Option<i64>,
    addressee: Option<&str>,
) -> String {
    let t = Lang::Ru.texts();
    let title = heading(
        sheet,
        ctx,
        Lang::Ru,
        t.certificate,
        Some(t.employment_subtitle),
        addressee,
    );
    let template = if ctx.employee.still_employed {
        t.employed_intro
    } else {
        t.former_intro
    };
    sheet.body(&intro(ctx, &t, template));
    sheet.gap_mm(2.0);
    let mut fields = employee_fields(ctx, &t);
    if let Some(kop) = salary {
        fields.push((t.field_salary.to_owned(), sum_in_words(&t, kop)));
    }
    sheet.fields(&fields);
    sheet.body(&issued_for(&t, addressee));
    sign(sheet, ctx, Lang::Ru);
    title
}

fn income(
    sheet: &mut Sheet<'_>,
    ctx: &Ctx<'_>,
    (from, to): (Month, Month),
    months: &[MonthIncome],
    addressee: Option<&str>,
) -> String {
    let t = Lang::Ru.texts();
    // Validation has checked both months, so the bounds exist.
    let start = month_bounds(from).map_or_else(|| from.to_string(), |(d, _)| date_ru(d));
    let end = month_bounds(to).map_or_else(|| to.to_string(), |(_, d)| date_ru(d));
    let subtitle = t.fill(t.income_subtitle, &[("from", &start), ("to", &end)]);
    let title = heading(
        sheet,
        ctx,
        Lang::Ru,
        t.certificate,
        Some(&subtitle),
        addressee,
    );
    sheet.body(&intro(ctx, &t, t.income_intro));
    sheet.gap_mm(2.0);
    sheet.fields(&employee_fields(ctx, &t));

    let mut months = months.to_vec();
    months.sort_by_key(|m| m.month);
    let (gross, tax, net) = (
        sum(months.iter().map(|m| m.gross_kop)),
        sum(months.iter().map(|m| m.tax_kop)),
        sum(months.iter().map(|m| m.net_kop)),
    );
    let column = |title: &str, share, align| Column {
        title: title.to_owned(),
        share,
        align,
    };
    sheet.table(&Table {
        columns: vec![
            column(t.col_month, 0.28, Align::Left),
            column(t.col_gross, 0.24, Align::Right),
            column(t.col_tax, 0.24, Align::Right),
            column(t.col_net, 0.24, Align::Right),
        ],
        rows: months
            .iter()
            .map(|m| {
                vec![
                    month_row_ru(m.month),
                    money(m.gross_kop),
                    money(m.tax_kop),
                    money(m.net_kop),
                ]
            })
            .collect(),
        total: Some(vec![
            t.total.to_owned(),
            money(gross),
            money(tax),
            money(net),
        ]),
    });
    sheet.body(&t.fill(
        t.income_summary,
        &[
            ("gross", &money(gross)),
            ("words", &money_words(gross)),
            ("tax", &money(tax)),
            ("net", &money(net)),
        ],
    ));
    sheet.body(&issued_for(&t, addressee));
    sign(sheet, ctx, Lang::Ru);
    title
}

fn pay_table(t: &Texts, kind: &str, lines: &[PayLine], total: (&str, i64)) -> Table {
    let column = |title: &str, share, align| Column {
        title: title.to_owned(),
        share,
        align,
    };
    Table {
        columns: vec![
            column(t.col_code, 0.12, Align::Center),
            column(kind, 0.62, Align::Left),
            column(t.col_amount, 0.26, Align::Right),
        ],
        rows: lines
            .iter()
            .map(|l| vec![l.code.clone(), l.name.clone(), money(l.amount_kop)])
            .collect(),
        total: Some(vec![String::new(), total.0.to_owned(), money(total.1)]),
    }
}

fn payslip(
    sheet: &mut Sheet<'_>,
    ctx: &Ctx<'_>,
    month: Month,
    (accruals, deductions): (&[PayLine], &[PayLine]),
    (gross, tax, net): (i64, i64, i64),
) -> String {
    let t = Lang::Ru.texts();
    let subtitle = t.fill(t.payslip_subtitle, &[("month", &month_ru(month))]);
    let title = heading(sheet, ctx, Lang::Ru, t.payslip, Some(&subtitle), None);
    let e = ctx.employee;
    sheet.fields(&[
        (t.field_name.to_owned(), e.full_name.clone()),
        (t.field_position.to_owned(), e.position.clone()),
    ]);
    sheet.paragraph(t.accruals, Style::SUBHEAD);
    sheet.gap(4.0);
    sheet.table(&pay_table(
        &t,
        t.col_accrual,
        accruals,
        (t.total_accrued, gross),
    ));
    let deducted = sum(deductions.iter().map(|l| l.amount_kop));
    sheet.paragraph(t.deductions, Style::SUBHEAD);
    sheet.gap(4.0);
    if deductions.is_empty() {
        sheet.body(t.no_deductions);
        sheet.gap_mm(3.0);
    } else {
        let table = pay_table(
            &t,
            t.col_deduction,
            deductions,
            (t.total_deducted, deducted),
        );
        sheet.table(&table);
    }
    let column = |title: &str, share, align| Column {
        title: title.to_owned(),
        share,
        align,
    };
    sheet.table(&Table {
        columns: vec![
            column(t.summary, 0.74, Align::Left),
            column(t.col_amount, 0.26, Align::Right),
        ],
        rows: vec![
            vec![t.line_gross.to_owned(), money(gross)],
            vec![t.line_tax.to_owned(), money(tax)],
            vec![t.line_other.to_owned(), money(deducted)],
        ],
        total: Some(vec![t.line_net.to_owned(), money(net)]),
    });
    sign(sheet, ctx, Lang::Ru);
    title
}

/// One page of the visa letter, already in its language.
struct Visa {
    lang: Lang,
    name: String,
    company: String,
    position: String,
    salary: String,
    leave: (String, String),
    hired: String,
}

fn visa_page(sheet: &mut Sheet<'_>, ctx: &Ctx<'_>, v: &Visa, addressee: Option<&str>) -> String {
    let t = v.lang.texts();
    let to = addressee.unwrap_or(t.default_addressee);
    let subtitle = (v.lang == Lang::Ru).then_some(t.employment_subtitle);
    let title = heading(sheet, ctx, v.lang, t.certificate, subtitle, Some(to));
    let employment = t.fill(
        t.visa_employment,
        &[
            ("name", &v.name),
            ("company", &v.company),
            ("hired", &v.hired),
            ("position", &v.position),
        ],
    );
    sheet.body(&employment);
    sheet.body(&t.fill(t.visa_salary, &[("sum", &v.salary)]));
    sheet.body(&t.fill(t.visa_leave, &[("from", &v.leave.0), ("to", &v.leave.1)]));
    sheet.body(t.visa_return);
    sheet.body(&t.fill(
        t.issued_for,
        &[("addressee", addressee.unwrap_or(t.consulate))],
    ));
    sign(sheet, ctx, v.lang);
    title
}
