//! The chain's employees and the documents they order from HR and accounting (SPEC §6):
//! what a request may ask for, how it moves from submitted to issued, when the law wants it
//! ready, and how a document is named where a bank checks it.

use crate::payroll::YearMonth;
use chrono::{Datelike, NaiveDate, Weekday};
use kopilka_text::Message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub const PURPOSE_MAX_CHARS: usize = 500;
pub const ADDRESSEE_MAX_CHARS: usize = 200;
pub const REASON_MAX_CHARS: usize = 1_000;
pub const FULL_NAME_MAX_CHARS: usize = 150;
pub const POSITION_MAX_CHARS: usize = 150;
/// Longest period an income certificate covers: banks ask for six or twelve months, visas
/// for up to three years.
pub const INCOME_PERIOD_MAX_MONTHS: u32 = 36;
/// Longest leave a visa letter vouches for.
pub const LEAVE_MAX_DAYS: i64 = 90;

id_type!(
    /// An employee's id.
    EmployeeId
);
id_type!(
    /// A document request's id.
    RequestId
);

/// Where an employee's message goes, and whose staff answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    Hr,
    Accounting,
    Administration,
}
str_enum!(Department { Hr => "hr", Accounting => "accounting", Administration => "administration" });

impl Department {
    pub const ALL: [Department; 3] = [Self::Hr, Self::Accounting, Self::Administration];

    /// The staff roles that answer this department's messages (administrators answer all).
    pub fn answered_by(self) -> &'static [crate::staff::Role] {
        use crate::staff::Role;
        match self {
            Self::Hr => &[Role::Hr],
            Self::Accounting => &[Role::Accounting],
            Self::Administration => &[Role::Admin, Role::StoreManager],
        }
    }
}

/// Who wrote a message in an employee's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageAuthor {
    Employee,
    Staff,
}
str_enum!(MessageAuthor { Employee => "employee", Staff => "staff" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Справка с места работы.
    EmploymentConfirmation,
    /// Справка о доходах за период.
    IncomeCertificate,
    /// Расчётный листок за месяц.
    Payslip,
    /// A letter for a consulate, in Russian and English.
    VisaLetter,
    /// Anything else, described in the purpose; HR attaches what it made.
    Other,
}
str_enum!(DocumentType {
    EmploymentConfirmation => "employment_confirmation",
    IncomeCertificate => "income_certificate",
    Payslip => "payslip",
    VisaLetter => "visa_letter",
    Other => "other",
});

impl DocumentType {
    pub const ALL: [DocumentType; 5] = [
        Self::EmploymentConfirmation,
        Self::IncomeCertificate,
        Self::Payslip,
        Self::VisaLetter,
        Self::Other,
    ];

    /// Whether the binary can make this document from the data alone; `other` is made by a
    /// person.
    pub fn made_from_data(self) -> bool {
        self != Self::Other
    }
}

/// A request's life: `submitted → in_progress → ready | rejected → issued`. HR may make a
/// document ready (or refuse it) straight from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Submitted,
    InProgress,
    Ready,
    Rejected,
    Issued,
}
str_enum!(RequestStatus {
    Submitted => "submitted",
    InProgress => "in_progress",
    Ready => "ready",
    Rejected => "rejected",
    Issued => "issued",
});

impl RequestStatus {
    pub fn may_become(self, next: RequestStatus) -> bool {
        use RequestStatus::*;
        matches!(
            (self, next),
            (Submitted, InProgress | Ready | Rejected)
                | (InProgress, Ready | Rejected)
                | (Ready, Issued)
        )
    }

    /// Still waiting for HR: counts against the deadline.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::InProgress)
    }

    /// The document exists and may be downloaded.
    pub fn has_document(self) -> bool {
        matches!(self, Self::Ready | Self::Issued)
    }
}

/// What an employee asked for, checked: each type carries what it needs and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentOrder {
    pub kind: DocumentType,
    pub purpose: String,
    pub details: OrderDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderDetails {
    EmploymentConfirmation {
        include_salary: bool,
        addressee: Option<String>,
    },
    IncomeCertificate {
        from: YearMonth,
        to: YearMonth,
        addressee: Option<String>,
    },
    Payslip {
        month: YearMonth,
    },
    VisaLetter {
        leave_from: NaiveDate,
        leave_to: NaiveDate,
        addressee: Option<String>,
    },
    Other,
}

/// The request as the employee typed it, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct OrderInput<'a> {
    pub kind: &'a str,
    pub purpose: &'a str,
    pub period_from: Option<&'a str>,
    pub period_to: Option<&'a str>,
    pub month: Option<&'a str>,
    pub leave_from: Option<&'a str>,
    pub leave_to: Option<&'a str>,
    pub addressee: Option<&'a str>,
    pub include_salary: bool,
}

/// A field the request's type needs: `field_required` when absent or blank.
fn required<'a>(v: &mut crate::Validation, field: &str, value: Option<&'a str>) -> Option<&'a str> {
    let value = value.filter(|s| !s.trim().is_empty());
    if value.is_none() {
        v.add(field, "field_required");
    }
    value
}

/// Trims and bounds a line of free text; empty is `field_required`.
pub fn bounded_text(input: &str, max: usize) -> Result<String, Message> {
    let text = input.trim();
    match text.chars().count() {
        0 => Err("field_required".into()),
        n if n > max => Err(Message::new("text_at_most").with("max", max)),
        _ => Ok(text.to_owned()),
    }
}

fn date(input: &str) -> Result<NaiveDate, Message> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| "date_invalid".into())
}

impl DocumentOrder {
    /// Checks a request made on `today` by an employee hired on `hired_on`, naming every
    /// wrong field at once.
    pub fn parse(
        input: &OrderInput<'_>,
        today: NaiveDate,
        hired_on: NaiveDate,
    ) -> Result<Self, crate::DomainError> {
        let mut v = crate::Validation::default();
        let kind = v.check(
            "type",
            DocumentType::parse(input.kind).ok_or("document_type_invalid"),
        );
        let purpose = v.check("purpose", bounded_text(input.purpose, PURPOSE_MAX_CHARS));
        let addressee = v.check_opt(
            "addressee",
            input
                .addressee
                .filter(|a| !a.trim().is_empty())
                .map(|a| bounded_text(a, ADDRESSEE_MAX_CHARS)),
        );
        let this_month = YearMonth::of(today);
        let hired_month = YearMonth::of(hired_on);
        let details = match kind {
            None => None,
            Some(DocumentType::EmploymentConfirmation) => {
                Some(OrderDetails::EmploymentConfirmation {
                    include_salary: input.include_salary,
                    addressee: addressee.clone().flatten(),
                })
            }
            Some(DocumentType::IncomeCertificate) => {
                let from = required(&mut v, "period_from", input.period_from)
                    .and_then(|s| v.check("period_from", YearMonth::parse(s)));
                let to = required(&mut v, "period_to", input.period_to)
                    .and_then(|s| v.check("period_to", YearMonth::parse(s)));
                match (from, to) {
                    (Some(from), Some(to)) => {
                        if to < from {
                            v.add("period_to", "period_reversed");
                        } else if to > this_month {
                            v.add("period_to", "period_in_future");
                        } else if from < hired_month {
                            v.add("period_from", "period_before_hire");
                        } else if from.months_until(to) + 1 > INCOME_PERIOD_MAX_MONTHS {
                            v.add(
                                "period_to",
                                Message::new("period_too_long")
                                    .with("max", INCOME_PERIOD_MAX_MONTHS),
                            );
                        }
                        Some(OrderDetails::IncomeCertificate {
                            from,
                            to,
                            addressee: addressee.clone().flatten(),
                        })
                    }
                    _ => None,
                }
            }
            Some(DocumentType::Payslip) => {
                let month = required(&mut v, "month", input.month)
                    .and_then(|s| v.check("month", YearMonth::parse(s)));
                if let Some(month) = month {
                    if month > this_month {
                        v.add("month", "period_in_future");
                    } else if month < hired_month {
                        v.add("month", "period_before_hire");
                    }
                }
                month.map(|month| OrderDetails::Payslip { month })
            }
            Some(DocumentType::VisaLetter) => {
                let from = required(&mut v, "leave_from", input.leave_from)
                    .and_then(|s| v.check("leave_from", date(s)));
                let to = required(&mut v, "leave_to", input.leave_to)
                    .and_then(|s| v.check("leave_to", date(s)));
                match (from, to) {
                    (Some(from), Some(to)) => {
                        if to < from {
                            v.add("leave_to", "period_reversed");
                        } else if from < today {
                            v.add("leave_from", "leave_in_past");
                        } else if (to - from).num_days() + 1 > LEAVE_MAX_DAYS {
                            v.add(
                                "leave_to",
                                Message::new("leave_too_long").with("max", LEAVE_MAX_DAYS),
                            );
                        }
                        Some(OrderDetails::VisaLetter {
                            leave_from: from,
                            leave_to: to,
                            addressee: addressee.clone().flatten(),
                        })
                    }
                    _ => None,
                }
            }
            Some(DocumentType::Other) => Some(OrderDetails::Other),
        };
        match (kind, purpose, details) {
            (Some(kind), Some(purpose), Some(details)) if v.is_ok() => Ok(Self {
                kind,
                purpose,
                details,
            }),
            _ => Err(v.into_error()),
        }
    }
}

/// The days on which HR works: weekdays, except the holidays of the calendar in settings,
/// plus the weekends the government moved work to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    pub days_off: BTreeSet<NaiveDate>,
    pub working_weekends: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend {
            self.working_weekends.contains(&day)
        } else {
            !self.days_off.contains(&day)
        }
    }

    /// The last day to hand over a document asked for on `asked_on`: `working_days` working
    /// days later, counted from the next day (art. 62 of the Labour Code: «не позднее трёх
    /// рабочих дней со дня подачи»).
    pub fn deadline(&self, asked_on: NaiveDate, working_days: u32) -> NaiveDate {
        let mut day = asked_on;
        let mut left = working_days;
        while left > 0 {
            day = day.succ_opt().unwrap_or(day);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }
}

/// How a verification page names the employee: the surname half hidden and initials, enough
/// for a bank clerk to match the paper in hand, too little to learn a name from a code.
pub fn masked_name(full_name: &str) -> String {
    let mut words = full_name.split_whitespace();
    let Some(surname) = words.next() else {
        return String::new();
    };
    let letters: Vec<char> = surname.chars().collect();
    let shown = letters.len().div_ceil(3).max(1);
    let mut masked: String = letters.iter().take(shown).collect();
    masked.extend(std::iter::repeat_n('*', letters.len() - shown));
    for word in words {
        if let Some(first) = word.chars().next() {
            masked.push(' ');
            masked.push(first);
            masked.push('.');
        }
    }
    masked
}

/// A code printed on a document and typed or scanned at `/verify/{code}`: 16 characters of
/// an alphabet without look-alikes (80 random bits), shown in groups of four.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifyCode(String);

const VERIFY_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const VERIFY_LEN: usize = 16;

impl VerifyCode {
    /// A fresh code from ten random bytes (the caller's generator: the domain owns no
    /// entropy).
    pub fn from_random(bytes: [u8; 10]) -> Self {
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let code = (0..VERIFY_LEN)
            .map(|i| VERIFY_ALPHABET[((bits >> (5 * i)) & 31) as usize] as char)
            .collect();
        Self(code)
    }

    /// Accepts a code as typed: any case, with or without dashes and spaces.
    pub fn parse(input: &str) -> Option<Self> {
        let code: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (code.len() == VERIFY_LEN && code.bytes().all(|b| VERIFY_ALPHABET.contains(&b)))
            .then_some(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `ABCD-EFGH-JKLM-NPQR`, as printed.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// A document's number as printed: the year of issue and the request's id.
pub fn document_number(issued_on: NaiveDate, request: RequestId) -> String {
    format!("{}-{:06}", issued_on.year(), request.get())
}

/// Employee logins: the staff rule (short, lowercase latin, digits, `._-`).
pub fn parse_login(input: &str) -> Result<String, &'static str> {
    crate::staff::parse_login(input).map_err(|_| "employee_login_shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_deadline_counts_working_days_from_the_next_day() {
        let calendar = WorkCalendar {
            days_off: [day("2026-11-04")].into(),
            working_weekends: BTreeSet::new(),
        };
        // Thursday → Friday, Monday, Tuesday.
        assert_eq!(calendar.deadline(day("2026-12-03"), 3), day("2026-12-08"));
        // Monday 2 Nov: Tuesday, (Wednesday 4 Nov is a holiday), Thursday, Friday.
        assert_eq!(calendar.deadline(day("2026-11-02"), 3), day("2026-11-06"));
        // Asked on a Saturday: Monday, Tuesday, Wednesday.
        assert_eq!(calendar.deadline(day("2026-12-05"), 3), day("2026-12-09"));
        let moved = WorkCalendar {
            days_off: BTreeSet::new(),
            working_weekends: [day("2026-12-05")].into(),
        };
        assert_eq!(moved.deadline(day("2026-12-04"), 1), day("2026-12-05"));
    }

    #[test]
    fn statuses_move_only_forward() {
        use RequestStatus::*;
        assert!(Submitted.may_become(Ready));
        assert!(InProgress.may_become(Rejected));
        assert!(Ready.may_become(Issued));
        assert!(!Rejected.may_become(Ready));
        assert!(!Issued.may_become(Ready));
        assert!(!Submitted.may_become(Issued));
        assert!(!Ready.may_become(Rejected));
    }

    #[test]
    fn names_are_masked_for_strangers() {
        assert_eq!(masked_name("Иванова Анна Петровна"), "Ива**** А. П.");
        assert_eq!(masked_name("Ли Ирина"), "Л* И.");
        assert_eq!(masked_name(""), "");
    }

    #[test]
    fn verify_codes_survive_how_people_type_them() {
        let code = VerifyCode::from_random([7, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(code.as_str().len(), 16);
        let typed = code.grouped().to_lowercase();
        assert_eq!(VerifyCode::parse(&typed), Some(code.clone()));
        assert_eq!(VerifyCode::parse("0OIL-0000-0000-0000"), None);
        assert_eq!(VerifyCode::parse("ABC"), None);
        assert_ne!(
            VerifyCode::from_random([0; 10]),
            VerifyCode::from_random([1; 10])
        );
    }

    fn order(input: OrderInput<'_>) -> Result<DocumentOrder, crate::DomainError> {
        DocumentOrder::parse(&input, day("2026-12-07"), day("2024-03-01"))
    }

    fn fields(e: crate::DomainError) -> Vec<String> {
        match e {
            crate::DomainError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_type_asks_for_what_it_needs() {
        let ok = order(OrderInput {
            kind: "income_certificate",
            purpose: "Кредит",
            period_from: Some("2026-01"),
            period_to: Some("2026-11"),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(ok.details, OrderDetails::IncomeCertificate { .. }));
        let missing = order(OrderInput {
            kind: "income_certificate",
            purpose: " ",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(missing), ["purpose", "period_from", "period_to"]);
        let future = order(OrderInput {
            kind: "payslip",
            purpose: "Для себя",
            month: Some("2027-01"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(future), ["month"]);
        let reversed = order(OrderInput {
            kind: "visa_letter",
            purpose: "Отпуск",
            leave_from: Some("2027-02-10"),
            leave_to: Some("2027-02-01"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(reversed), ["leave_to"]);
        let before_hire = order(OrderInput {
            kind: "income_certificate",
            purpose: "Кредит",
            period_from: Some("2023-01"),
            period_to: Some("2023-12"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(fields(before_hire), ["period_from"]);
        assert_eq!(
            fields(
                order(OrderInput {
                    kind: "diploma",
                    purpose: "x",
                    ..Default::default()
                })
                .unwrap_err()
            ),
            ["type"]
        );
    }
}
