use crate::catalog::insert_audit;
use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::employee::{DocumentOrder, DocumentType, EmployeeId, RequestId, RequestStatus};
use kopilka_domain::member::StoreId;
use kopilka_domain::payroll::{MonthPay, PayLines, YearMonth};
use kopilka_domain::Kopecks;
use kopilka_store::employees::{
    DocumentRequest, Employee, Employees, IssuedDocument, NewDocumentRequest, NewEmployee,
    RequestEvent, RequestMove, VerifiedDocument,
};
use kopilka_store::{convert, NewAuditEntry, StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension, Row};

const EMPLOYEE_COLUMNS: &str = "id, login, full_name, position, store_id, hired_on, \
     must_change_password, deactivated_at, created_at";

fn employee_row(r: &Row<'_>) -> rusqlite::Result<(Employee, String)> {
    let hired_on: String = r.get(5)?;
    let employee = Employee {
        id: EmployeeId::new(r.get(0)?),
        login: r.get(1)?,
        full_name: r.get(2)?,
        position: r.get(3)?,
        store_id: StoreId::new(r.get(4)?),
        hired_on: NaiveDate::parse_from_str(&hired_on, "%Y-%m-%d").unwrap_or_default(),
        must_change_password: r.get(6)?,
        deactivated_at: r.get::<_, Option<i64>>(7)?.map(time),
        created_at: time(r.get(8)?),
    };
    Ok((employee, hired_on))
}

/// The employee, with the stored date checked.
fn employee_from(row: (Employee, String)) -> StoreResult<Employee> {
    convert::date(&row.1)?;
    Ok(row.0)
}

const REQUEST_COLUMNS: &str = "id, employee_id, request, status, due_on, reject_reason, number, \
     verify_code, issued_on, revoked_at, created_at, updated_at";

/// A request as stored, before its text columns are parsed.
struct RequestRow {
    id: i64,
    employee_id: i64,
    request: String,
    status: String,
    due_on: String,
    reject_reason: Option<String>,
    number: Option<String>,
    verify_code: Option<String>,
    issued_on: Option<String>,
    revoked_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn request_row(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    Ok(RequestRow {
        id: r.get(0)?,
        employee_id: r.get(1)?,
        request: r.get(2)?,
        status: r.get(3)?,
        due_on: r.get(4)?,
        reject_reason: r.get(5)?,
        number: r.get(6)?,
        verify_code: r.get(7)?,
        issued_on: r.get(8)?,
        revoked_at: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn status(s: &str) -> StoreResult<RequestStatus> {
    RequestStatus::parse(s).ok_or_else(|| corrupt("request status", s))
}

impl RequestRow {
    fn parse(self) -> StoreResult<DocumentRequest> {
        let order: DocumentOrder =
            serde_json::from_str(&self.request).map_err(|e| corrupt("request", e))?;
        let document = match (self.number, self.verify_code, self.issued_on) {
            (Some(number), Some(verify_code), Some(issued_on)) => Some(IssuedDocument {
                number,
                verify_code,
                issued_on: convert::date(&issued_on)?,
                revoked_at: self.revoked_at.map(time),
            }),
            _ => None,
        };
        Ok(DocumentRequest {
            id: RequestId::new(self.id),
            employee_id: EmployeeId::new(self.employee_id),
            order,
            status: status(&self.status)?,
            due_on: convert::date(&self.due_on)?,
            reject_reason: self.reject_reason,
            document,
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        })
    }
}

fn requests(c: &Connection, sql: &str, arg: Option<i64>) -> StoreResult<Vec<DocumentRequest>> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = match arg {
        Some(a) => stmt.query_map([a], request_row),
        None => stmt.query_map([], request_row),
    }
    .map_err(backend)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend)?;
    rows.into_iter().map(RequestRow::parse).collect()
}

fn insert_event(
    tx: &Connection,
    request: i64,
    status: RequestStatus,
    actor: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO document_request_events (request_id, status, actor, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![request, status.as_str(), actor, reason, micros(at)]))
    .map_err(backend)?;
    Ok(())
}

fn end_sessions(
    tx: &Connection,
    id: EmployeeId,
    keep: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    tx.prepare_cached(
        "UPDATE sessions SET revoked_at = ?2 WHERE kind = 'employee' AND subject = ?1 \
         AND revoked_at IS NULL AND token_hash IS NOT ?3",
    )
    .and_then(|mut s| s.execute(params![id.get(), micros(at), keep]))
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl Employees for SqliteStore {
    async fn create_employee(
        &self,
        e: NewEmployee,
        mut audit: NewAuditEntry,
    ) -> StoreResult<Employee> {
        self.write(move |tx| {
            let row = tx
                .prepare_cached(&format!(
                    "INSERT INTO employees (login, full_name, position, store_id, hired_on, password_hash, \
                     must_change_password, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) RETURNING {EMPLOYEE_COLUMNS}"
                ))
                .and_then(|mut s| {
                    s.query_row(
                        params![e.login, e.full_name, e.position, e.store_id.get(), e.hired_on.to_string(), e.password_hash, micros(e.at)],
                        employee_row,
                    )
                })
                .map_err(backend)?;
            let employee = employee_from(row)?;
            audit.subject.push_str(&employee.id.to_string());
            insert_audit(tx, &audit)?;
            Ok(employee)
        })
        .await
    }

    async fn employee_by_login(&self, login: &str) -> StoreResult<Option<(Employee, String)>> {
        let login = login.to_owned();
        self.read(move |c| {
            let found = c
                .prepare_cached(&format!(
                    "SELECT {EMPLOYEE_COLUMNS}, password_hash FROM employees WHERE login = ?1"
                ))
                .and_then(|mut s| {
                    s.query_row([login], |r| Ok((employee_row(r)?, r.get::<_, String>(9)?)))
                        .optional()
                })
                .map_err(backend)?;
            found
                .map(|(row, hash)| Ok((employee_from(row)?, hash)))
                .transpose()
        })
        .await
    }

    async fn employee(&self, id: EmployeeId) -> StoreResult<Option<Employee>> {
        self.read(move |c| {
            optional(
                c.prepare_cached(&format!(
                    "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_row([id.get()], employee_row)),
            )?
            .map(employee_from)
            .transpose()
        })
        .await
    }

    async fn employees(&self) -> StoreResult<Vec<Employee>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {EMPLOYEE_COLUMNS} FROM employees ORDER BY full_name, id"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([], employee_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            rows.into_iter().map(employee_from).collect()
        })
        .await
    }

    async fn set_employee_password(
        &self,
        id: EmployeeId,
        password_hash: &str,
        must_change: bool,
        keep_session: Option<&str>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        let (hash, keep) = (password_hash.to_owned(), keep_session.map(str::to_owned));
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE employees SET password_hash = ?2, must_change_password = ?3 WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![id.get(), hash, must_change]))
                .map_err(backend)?;
            if changed == 0 {
                return Ok(false);
            }
            end_sessions(tx, id, keep.as_deref(), audit.at)?;
            insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn deactivate_employee(
        &self,
        id: EmployeeId,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE employees SET deactivated_at = ?2 WHERE id = ?1 AND deactivated_at IS NULL",
                )
                .and_then(|mut s| s.execute(params![id.get(), micros(at)]))
                .map_err(backend)?;
            if changed == 0 {
                return Ok(false);
            }
            end_sessions(tx, id, None, at)?;
            insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn import_payroll(
        &self,
        rows: Vec<(EmployeeId, MonthPay)>,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<u64> {
        self.write(move |tx| {
            let months: std::collections::BTreeSet<String> =
                rows.iter().map(|(_, p)| p.month.to_string()).collect();
            for month in &months {
                tx.prepare_cached("DELETE FROM payroll WHERE month = ?1")
                    .and_then(|mut s| s.execute([month]))
                    .map_err(backend)?;
            }
            for (employee, pay) in &rows {
                let lines = serde_json::to_string(&PayLines {
                    accruals: pay.accruals.clone(),
                    deductions: pay.deductions.clone(),
                })
                .map_err(StoreError::backend)?;
                tx.prepare_cached(
                    "INSERT INTO payroll (employee_id, month, gross_kop, tax_kop, net_kop, lines, imported_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        employee.get(),
                        pay.month.to_string(),
                        pay.gross.get(),
                        pay.tax.get(),
                        pay.net.get(),
                        lines,
                        micros(at)
                    ])
                })
                .map_err(backend)?;
            }
            insert_audit(tx, &audit)?;
            Ok(rows.len() as u64)
        })
        .await
    }

    async fn payroll(
        &self,
        employee: EmployeeId,
        from: YearMonth,
        to: YearMonth,
    ) -> StoreResult<Vec<MonthPay>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT month, gross_kop, tax_kop, net_kop, lines FROM payroll \
                     WHERE employee_id = ?1 AND month BETWEEN ?2 AND ?3 ORDER BY month",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![employee.get(), from.to_string(), to.to_string()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    },
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            rows.into_iter()
                .map(|(month, gross, tax, net, lines)| {
                    let lines: PayLines =
                        serde_json::from_str(&lines).map_err(|e| corrupt("pay lines", e))?;
                    Ok(MonthPay {
                        month: YearMonth::parse(&month).map_err(|_| corrupt("month", &month))?,
                        gross: Kopecks::new(gross),
                        tax: Kopecks::new(tax),
                        net: Kopecks::new(net),
                        accruals: lines.accruals,
                        deductions: lines.deductions,
                    })
                })
                .collect()
        })
        .await
    }

    async fn create_document_request(&self, r: NewDocumentRequest) -> StoreResult<DocumentRequest> {
        self.write(move |tx| {
            let order = serde_json::to_string(&r.order).map_err(StoreError::backend)?;
            let row = tx
                .prepare_cached(&format!(
                    "INSERT INTO document_requests (employee_id, type, request, status, due_on, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, 'submitted', ?4, ?5, ?5) RETURNING {REQUEST_COLUMNS}"
                ))
                .and_then(|mut s| {
                    s.query_row(
                        params![r.employee_id.get(), r.order.kind.as_str(), order, r.due_on.to_string(), micros(r.at)],
                        request_row,
                    )
                })
                .map_err(backend)?;
            let actor = format!("employee:{}", r.employee_id);
            insert_event(tx, row.id, RequestStatus::Submitted, &actor, None, r.at)?;
            row.parse()
        })
        .await
    }

    async fn document_request(&self, id: RequestId) -> StoreResult<Option<DocumentRequest>> {
        self.read(move |c| {
            optional(
                c.prepare_cached(&format!(
                    "SELECT {REQUEST_COLUMNS} FROM document_requests WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_row([id.get()], request_row)),
            )?
            .map(RequestRow::parse)
            .transpose()
        })
        .await
    }

    async fn employee_requests(&self, employee: EmployeeId) -> StoreResult<Vec<DocumentRequest>> {
        self.read(move |c| {
            requests(
                c,
                &format!("SELECT {REQUEST_COLUMNS} FROM document_requests WHERE employee_id = ?1 ORDER BY id DESC"),
                Some(employee.get()),
            )
        })
        .await
    }

    async fn open_requests(&self) -> StoreResult<Vec<DocumentRequest>> {
        self.read(move |c| {
            requests(
                c,
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM document_requests \
                     WHERE status IN ('submitted', 'in_progress') ORDER BY due_on, id"
                ),
                None,
            )
        })
        .await
    }

    async fn request_events(&self, id: RequestId) -> StoreResult<Vec<RequestEvent>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT status, actor, reason, at FROM document_request_events WHERE request_id = ?1 ORDER BY id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([id.get()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)?))
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            rows.into_iter()
                .map(|(s, actor, reason, at)| {
                    Ok(RequestEvent {
                        status: status(&s)?,
                        actor,
                        reason,
                        at: time(at),
                    })
                })
                .collect()
        })
        .await
    }

    async fn move_document_request(&self, m: RequestMove) -> StoreResult<bool> {
        self.write(move |tx| {
            let (doc, pdf) = match &m.document {
                Some((d, pdf)) => (Some(d), Some(pdf.as_slice())),
                None => (None, None),
            };
            let changed = tx
                .prepare_cached(
                    "UPDATE document_requests SET status = ?3, updated_at = ?4, \
                     reject_reason = COALESCE(?5, reject_reason), number = COALESCE(?6, number), \
                     verify_code = COALESCE(?7, verify_code), issued_on = COALESCE(?8, issued_on), \
                     pdf = COALESCE(?9, pdf) WHERE id = ?1 AND status = ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        m.id.get(),
                        m.from.as_str(),
                        m.to.as_str(),
                        micros(m.at),
                        m.reason
                            .as_deref()
                            .filter(|_| m.to == RequestStatus::Rejected),
                        doc.map(|d| d.number.as_str()),
                        doc.map(|d| d.verify_code.as_str()),
                        doc.map(|d| d.issued_on.to_string()),
                        pdf,
                    ])
                })
                .map_err(backend)?;
            if changed == 0 {
                return Ok(false);
            }
            insert_event(tx, m.id.get(), m.to, &m.actor, m.reason.as_deref(), m.at)?;
            if let Some(audit) = &m.audit {
                insert_audit(tx, audit)?;
            }
            Ok(true)
        })
        .await
    }

    async fn document_pdf(&self, id: RequestId) -> StoreResult<Option<Vec<u8>>> {
        self.read(move |c| {
            Ok(optional(
                c.prepare_cached("SELECT pdf FROM document_requests WHERE id = ?1")
                    .and_then(|mut s| s.query_row([id.get()], |r| r.get::<_, Option<Vec<u8>>>(0))),
            )?
            .flatten())
        })
        .await
    }

    async fn document_by_code(&self, code: &str) -> StoreResult<Option<VerifiedDocument>> {
        let code = code.to_owned();
        self.read(move |c| {
            let found = c
                .prepare_cached(
                    "SELECT r.id, r.type, r.number, r.issued_on, e.full_name, r.revoked_at \
                     FROM document_requests r JOIN employees e ON e.id = r.employee_id \
                     WHERE r.verify_code = ?1 AND r.number IS NOT NULL",
                )
                .and_then(|mut s| {
                    s.query_row([code], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                        ))
                    })
                    .optional()
                })
                .map_err(backend)?;
            found
                .map(|(id, kind, number, issued_on, name, revoked_at)| {
                    Ok(VerifiedDocument {
                        request_id: RequestId::new(id),
                        kind: DocumentType::parse(&kind)
                            .ok_or_else(|| corrupt("document type", &kind))?,
                        number,
                        issued_on: convert::date(&issued_on)?,
                        employee_name: name,
                        revoked_at: revoked_at.map(time),
                    })
                })
                .transpose()
        })
        .await
    }

    async fn revoke_document(
        &self,
        id: RequestId,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE document_requests SET revoked_at = ?2, updated_at = ?2 \
                     WHERE id = ?1 AND number IS NOT NULL AND revoked_at IS NULL",
                )
                .and_then(|mut s| s.execute(params![id.get(), micros(at)]))
                .map_err(backend)?;
            if changed == 0 {
                return Ok(false);
            }
            insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn record_document_check(
        &self,
        code: &str,
        found: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let code = code.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("INSERT INTO document_checks (code, found, at) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![code, found, micros(at)]))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}
