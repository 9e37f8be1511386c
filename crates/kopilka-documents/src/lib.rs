//! The HR documents employees order through the self-service portal — employment and
//! income certificates, payslips, visa letters — as A4 PDFs an HR officer signs and a bank
//! or consulate accepts: a letterhead, real (searchable) text in DejaVu Sans embedded in the
//! file, ruled tables that continue across pages, signature lines, and on every page a QR
//! code and code by which the document's authenticity is checked.
//!
//! Sums are integer kopecks and are printed the Russian way, `12 345,67 ₽`.

use std::error::Error;
use std::fmt;

use chrono::NaiveDate;

mod documents;
mod fonts;
mod format;
mod layout;
mod pdf;
mod qr;
mod text;

pub use format::{money, money_en};

/// The employer, as its letterhead shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub name: String,
    pub inn: String,
    pub kpp: String,
    pub ogrn: String,
    pub address: String,
    /// Who signs, in order: «Генеральный директор», «Главный бухгалтер».
    pub signatories: Vec<Signatory>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatory {
    pub position: String,
    /// As it is printed beside the signature: «И. И. Иванов».
    pub name: String,
}

/// The document's registration: its number, date, and how to check it is genuine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub number: String,
    pub issued_on: NaiveDate,
    pub verify_code: String,
    /// Encoded in the QR code on every page and printed beside it.
    pub verify_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub full_name: String,
    pub position: String,
    pub hired_on: NaiveDate,
    pub still_employed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthIncome {
    pub month: Month,
    pub gross_kop: i64,
    pub tax_kop: i64,
    pub net_kop: i64,
}

/// One line of a payslip: an accrual or a deduction with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayLine {
    pub code: String,
    pub name: String,
    pub amount_kop: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// Справка с места работы: position, hire date, «работает по настоящее время», the
    /// monthly salary when asked, for the addressee or «по месту требования».
    EmploymentConfirmation {
        salary_kop: Option<i64>,
        addressee: Option<String>,
    },
    /// Справка о доходах за период: a table of months (gross, НДФЛ withheld, net) and
    /// totals. Months may be missing (unpaid leave) but not outside the period or twice.
    IncomeCertificate {
        from: Month,
        to: Month,
        months: Vec<MonthIncome>,
        addressee: Option<String>,
    },
    /// Расчётный листок. `accruals` must add up to `gross_kop`; `deductions` are those
    /// other than НДФЛ, and `gross − tax − deductions` must equal `net_kop`.
    Payslip {
        month: Month,
        accruals: Vec<PayLine>,
        deductions: Vec<PayLine>,
        gross_kop: i64,
        tax_kop: i64,
        net_kop: i64,
    },
    /// A visa letter: a page in Russian, then the same in English. The addressee defaults
    /// to «В консульство» / «To the Consulate»; without `name_latin` the name is
    /// transliterated as in a Russian passport; without `position_en` the English page
    /// quotes the Russian position.
    VisaLetter {
        salary_kop: i64,
        leave_from: NaiveDate,
        leave_to: NaiveDate,
        addressee: Option<String>,
        name_latin: Option<String>,
        position_en: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("there is no month {month} in {year}")]
    InvalidMonth { year: i32, month: u32 },
    #[error("the period from {from} to {to} is empty")]
    EmptyPeriod { from: Month, to: Month },
    #[error("income for {month} is outside the period from {from} to {to}")]
    MonthOutsidePeriod {
        month: Month,
        from: Month,
        to: Month,
    },
    #[error("income for {0} is listed twice")]
    DuplicateMonth(Month),
    #[error("the leave ends on {to}, before it starts on {from}")]
    LeaveEndsBeforeItStarts { from: NaiveDate, to: NaiveDate },
    /// A total that its lines do not add up to would be printed as a false document.
    #[error("{what}: the lines come to {lines} kopecks but the total is {total}")]
    TotalMismatch {
        what: &'static str,
        lines: i64,
        total: i64,
    },
    #[error("the verification URL does not fit in a QR code")]
    Qr(#[source] qrcode::types::QrError),
    #[error("the embedded font {name} could not be read")]
    Font {
        name: &'static str,
        #[source]
        source: Option<Box<dyn Error + Send + Sync>>,
    },
    #[error("the A4 page size was refused")]
    PageSize,
    #[error("the PDF could not be written")]
    Pdf(#[from] krilla::error::KrillaError),
}

/// The document as a PDF file.
pub fn render(
    company: &Company,
    employee: &Employee,
    stamp: &Stamp,
    document: &Document,
) -> Result<Vec<u8>, DocumentError> {
    validate(document)?;
    let fonts = fonts::Fonts::load()?;
    let qr = qr::modules(&stamp.verify_url)?;
    let mut sheet = layout::Sheet::new(&fonts);
    let ctx = documents::Ctx {
        company,
        employee,
        stamp,
    };
    let title = documents::compose(&mut sheet, &ctx, document);
    sheet.add_footers(
        &qr,
        &stamp.verify_url,
        &stamp.verify_code,
        text::Lang::texts,
    );
    pdf::write(&sheet.pages, &fonts, &title)
}

/// Sums without overflow: absurd input must give an error or a wrong-looking figure, not a
/// panic in the middle of a request.
pub(crate) fn sum(amounts: impl IntoIterator<Item = i64>) -> i64 {
    amounts.into_iter().fold(0, i64::saturating_add)
}

fn check_month(m: Month) -> Result<(), DocumentError> {
    if (1..=12).contains(&m.month) {
        Ok(())
    } else {
        Err(DocumentError::InvalidMonth {
            year: m.year,
            month: m.month,
        })
    }
}

fn validate(document: &Document) -> Result<(), DocumentError> {
    match document {
        Document::EmploymentConfirmation { .. } => Ok(()),
        Document::IncomeCertificate {
            from, to, months, ..
        } => {
            check_month(*from)?;
            check_month(*to)?;
            if from > to {
                return Err(DocumentError::EmptyPeriod {
                    from: *from,
                    to: *to,
                });
            }
            let mut seen = std::collections::BTreeSet::new();
            for m in months {
                check_month(m.month)?;
                if m.month < *from || m.month > *to {
                    return Err(DocumentError::MonthOutsidePeriod {
                        month: m.month,
                        from: *from,
                        to: *to,
                    });
                }
                if !seen.insert(m.month) {
                    return Err(DocumentError::DuplicateMonth(m.month));
                }
            }
            Ok(())
        }
        Document::Payslip {
            month,
            accruals,
            deductions,
            gross_kop,
            tax_kop,
            net_kop,
        } => {
            check_month(*month)?;
            let accrued = sum(accruals.iter().map(|l| l.amount_kop));
            if accrued != *gross_kop {
                return Err(DocumentError::TotalMismatch {
                    what: "accruals",
                    lines: accrued,
                    total: *gross_kop,
                });
            }
            let deducted = sum(deductions.iter().map(|l| l.amount_kop));
            let net = gross_kop.saturating_sub(*tax_kop).saturating_sub(deducted);
            if net != *net_kop {
                return Err(DocumentError::TotalMismatch {
                    what: "net pay (gross − tax − deductions)",
                    lines: net,
                    total: *net_kop,
                });
            }
            Ok(())
        }
        Document::VisaLetter {
            leave_from,
            leave_to,
            ..
        } => {
            if leave_to < leave_from {
                return Err(DocumentError::LeaveEndsBeforeItStarts {
                    from: *leave_from,
                    to: *leave_to,
                });
            }
            Ok(())
        }
    }
}
