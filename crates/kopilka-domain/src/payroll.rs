//! A month's pay as accounting imports it: what an income certificate and a payslip are
//! made from. Sums are kopecks; a row must add up (gross − tax − deductions = net) or the
//! file is refused, since a document printed from it would be wrong.

use crate::Kopecks;
use chrono::{Datelike, NaiveDate};
use kopilka_text::Message;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (2000..=2100).contains(&year)).then_some(Self { year, month })
    }
    pub fn of(day: NaiveDate) -> Self {
        Self {
            year: day.year(),
            month: day.month(),
        }
    }
    pub fn parse(input: &str) -> Result<Self, Message> {
        let input = input.trim();
        let (year, month) = input.split_once('-').ok_or("month_invalid")?;
        match (year.len(), month.len(), year.parse(), month.parse()) {
            (4, 2, Ok(year), Ok(month)) => Self::new(year, month).ok_or("month_invalid".into()),
            _ => Err("month_invalid".into()),
        }
    }
    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u32 {
        self.month
    }
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
    /// Whole months from `self` to `later` (0 for the same month).
    pub fn months_until(self, later: Self) -> u32 {
        let diff = (later.year - self.year) * 12 + later.month as i32 - self.month as i32;
        diff.max(0) as u32
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|_| serde::de::Error::custom("expected YYYY-MM"))
    }
}

/// One accrual or deduction of a payslip, by the accounting system's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayLine {
    pub code: String,
    pub amount: Kopecks,
}

/// A month's accruals and deductions together, as a store keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayLines {
    pub accruals: Vec<PayLine>,
    pub deductions: Vec<PayLine>,
}

/// An employee's pay for a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthPay {
    pub month: YearMonth,
    pub gross: Kopecks,
    pub tax: Kopecks,
    pub net: Kopecks,
    pub accruals: Vec<PayLine>,
    pub deductions: Vec<PayLine>,
}

/// The most one month's pay may be (100 million roubles): a typo of extra zeros is caught, not printed.
pub const MONTH_PAY_MAX: Kopecks = Kopecks::new(10_000_000_000);

/// Roubles as accounting writes them: `85000`, `85000.50`, `85 000,50`.
pub fn parse_roubles(input: &str) -> Result<Kopecks, Message> {
    let cleaned: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || (fraction.len() <= 2 && digits(fraction))) {
        return Err("amount_invalid".into());
    }
    let whole: i64 = whole.parse().map_err(|_| "amount_invalid")?;
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let kopecks = whole
        .checked_mul(100)
        .and_then(|k| k.checked_add(fraction))
        .ok_or("amount_invalid")?;
    if kopecks > MONTH_PAY_MAX.get() {
        return Err("amount_too_large".into());
    }
    Ok(Kopecks::new(kopecks))
}

/// `salary:80000; bonus:5000,50`: lines by code, empty for none.
pub fn parse_lines(input: &str) -> Result<Vec<PayLine>, Message> {
    input
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (code, amount) = part.split_once(':').ok_or("pay_line_invalid")?;
            let code = code.trim();
            let code_ok = (1..=32).contains(&code.len())
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !code_ok {
                return Err(Message::from("pay_line_invalid"));
            }
            Ok(PayLine {
                code: code.to_owned(),
                amount: parse_roubles(amount)?,
            })
        })
        .collect()
}

impl MonthPay {
    /// A row's sums checked against each other: accruals (when listed) make the gross, and
    /// gross less tax and deductions is what was paid.
    pub fn check(self) -> Result<Self, Message> {
        if !self.accruals.is_empty() {
            let accrued: Kopecks = self.accruals.iter().map(|l| l.amount).sum();
            if accrued != self.gross {
                return Err(Message::new("payroll_accruals_mismatch")
                    .with("accrued", roubles(accrued))
                    .with("gross", roubles(self.gross)));
            }
        }
        let deducted: Kopecks = self.deductions.iter().map(|l| l.amount).sum();
        let expected = self.gross - self.tax - deducted;
        if expected != self.net {
            return Err(Message::new("payroll_net_mismatch")
                .with("expected", roubles(expected))
                .with("net", roubles(self.net)));
        }
        Ok(self)
    }
}

/// `85000.50`: how a sum is quoted back in an error.
pub fn roubles(amount: Kopecks) -> String {
    let k = amount.get();
    let sign = if k < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (k / 100).abs(), (k % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn months_parse_and_count() {
        let jan = YearMonth::parse("2026-01").unwrap();
        assert_eq!(jan.to_string(), "2026-01");
        assert_eq!(jan.months_until(YearMonth::parse("2026-12").unwrap()), 11);
        assert_eq!(
            YearMonth::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
            assert!(YearMonth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roubles_are_read_as_accounting_writes_them() {
        assert_eq!(parse_roubles("85000").unwrap(), Kopecks::new(8_500_000));
        assert_eq!(parse_roubles("85 000,5").unwrap(), Kopecks::new(8_500_050));
        assert_eq!(parse_roubles("0.07").unwrap(), Kopecks::new(7));
        for bad in ["", "-5", "1.234", "12a", "1e5", ".5"] {
            assert!(parse_roubles(bad).is_err(), "{bad}");
        }
        assert!(parse_roubles("100000001").is_err());
    }

    #[test]
    fn a_row_must_add_up() {
        let pay = |net| MonthPay {
            month: YearMonth::parse("2026-10").unwrap(),
            gross: Kopecks::new(1_000_000),
            tax: Kopecks::new(130_000),
            net: Kopecks::new(net),
            accruals: parse_lines("salary:9000; bonus:1000").unwrap(),
            deductions: parse_lines("union:100").unwrap(),
        };
        assert!(pay(860_000).check().is_ok());
        assert!(pay(870_000).check().is_err());
        assert!(parse_lines("salary=9000").is_err());
        assert!(parse_lines("").unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn printed_sums_read_back(k in 0i64..MONTH_PAY_MAX.get()) {
            prop_assert_eq!(parse_roubles(&roubles(Kopecks::new(k))).unwrap(), Kopecks::new(k));
        }
    }
}
