//! Accounting's monthly payroll import (SPEC §8): a CSV a month, all or nothing, every bad row
//! named by its line; importing a month again replaces it.
//!
//! Columns, by header name in any order (`,` or `;` separated, UTF-8):
//! `employee` (login), `month` (`YYYY-MM`), `gross`, `tax`, `net` (roubles, `85000,50`), and
//! optional `accruals` and `deductions` (`salary:80000; bonus:5000`).

use crate::staff::{authorize, Actor};
use crate::{Kopilka, ServiceResult};
use kopilka_domain::employee::EmployeeId;
use kopilka_domain::payroll::{parse_lines, parse_roubles, MonthPay, YearMonth};
use kopilka_domain::staff::Permission;
use kopilka_domain::{DomainError, RowError};
use kopilka_store::StaffMember;
use kopilka_text::Message;
use std::collections::HashMap;

const REQUIRED: [&str; 5] = ["employee", "month", "gross", "tax", "net"];
/// Bad rows reported at most: a wrong file says what is wrong without a thousand lines.
const MAX_REPORTED: usize = 100;

/// A row read from the file, before the employee's login is looked up.
struct Row {
    line: u64,
    login: String,
    pay: MonthPay,
}

/// The rows of a payroll CSV, checked one by one, and every bad row; `Err` when the file as
/// a whole cannot be read (its header, no rows at all).
fn read_rows(body: &[u8]) -> Result<(Vec<Row>, Vec<RowError>), Vec<RowError>> {
    let first_line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let header_error = |message: Message| vec![RowError { line: 1, message }];
    let headers = reader
        .headers()
        .map_err(|_| header_error("csv_unreadable".into()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let mut at = HashMap::new();
    for name in REQUIRED {
        match column(name) {
            Some(i) => at.insert(name, i),
            None => {
                return Err(header_error(
                    Message::new("csv_column_missing").with("column", name),
                ))
            }
        };
    }
    let (accruals, deductions) = (column("accruals"), column("deductions"));
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let (line, record) = match record {
            Ok(r) => (r.position().map_or(0, |p| p.line()), r),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    line,
                    message: "csv_unreadable".into(),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let field = |name: &str| get(at.get(name).copied());
        let parsed = (|| -> Result<Row, Message> {
            let login = field("employee").to_lowercase();
            if login.is_empty() {
                return Err("field_required".into());
            }
            let pay = MonthPay {
                month: YearMonth::parse(field("month"))?,
                gross: parse_roubles(field("gross"))?,
                tax: parse_roubles(field("tax"))?,
                net: parse_roubles(field("net"))?,
                accruals: parse_lines(get(accruals))?,
                deductions: parse_lines(get(deductions))?,
            }
            .check()?;
            Ok(Row { line, login, pay })
        })();
        match parsed {
            Ok(row) => rows.push(row),
            Err(message) => errors.push(RowError { line, message }),
        }
        if errors.len() >= MAX_REPORTED {
            break;
        }
    }
    if rows.is_empty() && errors.is_empty() {
        return Err(header_error("payroll_empty".into()));
    }
    Ok((rows, errors))
}

impl Kopilka {
    /// Imports a payroll file, all or nothing: the rows' months are replaced by the rows.
    /// Accounting; the audit log keeps who imported which months.
    pub async fn import_payroll(&self, staff: &StaffMember, body: &[u8]) -> ServiceResult<u64> {
        authorize(staff, Permission::ImportPayroll)?;
        let (rows, mut errors) = read_rows(body).map_err(DomainError::InvalidRows)?;
        let employees: HashMap<String, EmployeeId> = self
            .store()
            .employees()
            .await?
            .into_iter()
            .map(|e| (e.login, e.id))
            .collect();
        let mut seen: HashMap<(EmployeeId, YearMonth), u64> = HashMap::new();
        let mut checked = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(&id) = employees.get(&row.login) else {
                errors.push(RowError {
                    line: row.line,
                    message: Message::new("payroll_employee_unknown").with("login", &row.login),
                });
                continue;
            };
            if let Some(first) = seen.insert((id, row.pay.month), row.line) {
                errors.push(RowError {
                    line: row.line,
                    message: Message::new("payroll_duplicate").with("line", first),
                });
                continue;
            }
            checked.push((id, row.pay));
        }
        if !errors.is_empty() {
            // Every bad row at once, in the file's order, whichever check found it.
            errors.sort_by_key(|e| e.line);
            errors.truncate(MAX_REPORTED);
            return Err(DomainError::InvalidRows(errors).into());
        }
        let mut months: Vec<String> = checked.iter().map(|(_, p)| p.month.to_string()).collect();
        months.sort();
        months.dedup();
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "payroll.import",
            "payroll",
            serde_json::json!({ "months": months, "rows": checked.len() }).to_string(),
        );
        let imported = self
            .store()
            .import_payroll(checked, self.now(), audit)
            .await?;
        tracing::info!(rows = imported, "payroll imported");
        Ok(imported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(errors: Vec<RowError>) -> Vec<(u64, &'static str)> {
        errors
            .into_iter()
            .map(|e| (e.line, e.message.key))
            .collect()
    }

    #[test]
    fn every_bad_row_is_named_by_its_line() {
        let csv = "employee;month;gross;tax;net;accruals\n\
                   ivanova;2026-10;85000;11050;73950;\"salary:80000; bonus:5000\"\n\
                   petrov;2026-13;1;0;1;\n\
                   sidorov;2026-10;100;13;80;\n";
        let (rows, errors) = read_rows(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            lines_of(errors),
            [(3, "month_invalid"), (4, "payroll_net_mismatch")]
        );
    }

    #[test]
    fn a_file_without_the_columns_is_refused_at_its_header() {
        let errors = read_rows(b"login,month\nx,2026-10\n").err().unwrap();
        assert_eq!(lines_of(errors), [(1, "csv_column_missing")]);
        let errors = read_rows(b"employee,month,gross,tax,net\n").err().unwrap();
        assert_eq!(lines_of(errors), [(1, "payroll_empty")]);
    }

    #[test]
    fn good_rows_read_with_their_lines() {
        let csv = "\u{feff}Employee,Month,Gross,Tax,Net,Deductions\n\
                   ivanova,2026-10,\"85 000,00\",11050,73100,union:850\n";
        let (rows, errors) = read_rows(csv.as_bytes()).unwrap();
        assert!(errors.is_empty());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].login, "ivanova");
        assert_eq!(rows[0].pay.deductions.len(), 1);
    }
}
