use crate::catalog::insert_audit;
use crate::{db, detached, PostgresStore};
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
use kopilka_store::{NewAuditEntry, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const EMPLOYEE_COLUMNS: &str = "id, login, full_name, position, store_id, hired_on, \
     must_change_password, deactivated_at, created_at";

fn employee_row(r: &PgRow) -> StoreResult<Employee> {
    Ok(Employee {
        id: EmployeeId::new(r.try_get(0).map_err(db)?),
        login: r.try_get(1).map_err(db)?,
        full_name: r.try_get(2).map_err(db)?,
        position: r.try_get(3).map_err(db)?,
        store_id: StoreId::new(r.try_get(4).map_err(db)?),
        hired_on: r.try_get(5).map_err(db)?,
        must_change_password: r.try_get(6).map_err(db)?,
        deactivated_at: r.try_get(7).map_err(db)?,
        created_at: r.try_get(8).map_err(db)?,
    })
}

const REQUEST_COLUMNS: &str = "id, employee_id, request::text, status, due_on, reject_reason, \
     number, verify_code, issued_on, revoked_at, created_at, updated_at";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn status(s: &str) -> StoreResult<RequestStatus> {
    RequestStatus::parse(s).ok_or_else(|| corrupt("request status", s))
}

fn request_row(r: &PgRow) -> StoreResult<DocumentRequest> {
    let order: String = r.try_get(2).map_err(db)?;
    let order: DocumentOrder = serde_json::from_str(&order).map_err(|e| corrupt("request", e))?;
    let state: String = r.try_get(3).map_err(db)?;
    let number: Option<String> = r.try_get(6).map_err(db)?;
    let verify_code: Option<String> = r.try_get(7).map_err(db)?;
    let issued_on: Option<NaiveDate> = r.try_get(8).map_err(db)?;
    let document = match (number, verify_code, issued_on) {
        (Some(number), Some(verify_code), Some(issued_on)) => Some(IssuedDocument {
            number,
            verify_code,
            issued_on,
            revoked_at: r.try_get(9).map_err(db)?,
        }),
        _ => None,
    };
    Ok(DocumentRequest {
        id: RequestId::new(r.try_get(0).map_err(db)?),
        employee_id: EmployeeId::new(r.try_get(1).map_err(db)?),
        order,
        status: status(&state)?,
        due_on: r.try_get(4).map_err(db)?,
        reject_reason: r.try_get(5).map_err(db)?,
        document,
        created_at: r.try_get(10).map_err(db)?,
        updated_at: r.try_get(11).map_err(db)?,
    })
}

async fn insert_event(
    tx: &mut PgConnection,
    request: i64,
    status: RequestStatus,
    actor: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO document_request_events (request_id, status, actor, reason, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request)
    .bind(status.as_str())
    .bind(actor)
    .bind(reason)
    .bind(at)
    .execute(tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn end_sessions(
    tx: &mut PgConnection,
    id: EmployeeId,
    keep: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE kind = 'employee' AND subject = $1 \
         AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $3",
    )
    .bind(id.get())
    .bind(at)
    .bind(keep)
    .execute(tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Employees for PostgresStore {
    async fn create_employee(
        &self,
        e: NewEmployee,
        mut audit: NewAuditEntry,
    ) -> StoreResult<Employee> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let row = sqlx::query(&format!(
                "INSERT INTO employees (login, full_name, position, store_id, hired_on, password_hash, \
                 must_change_password, created_at) VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) RETURNING {EMPLOYEE_COLUMNS}"
            ))
            .bind(&e.login)
            .bind(&e.full_name)
            .bind(&e.position)
            .bind(e.store_id.get())
            .bind(e.hired_on)
            .bind(&e.password_hash)
            .bind(e.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let employee = employee_row(&row)?;
            audit.subject.push_str(&employee.id.to_string());
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(employee)
        })
        .await
    }

    async fn employee_by_login(&self, login: &str) -> StoreResult<Option<(Employee, String)>> {
        let row = sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS}, password_hash FROM employees WHERE login = $1"
        ))
        .bind(login)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| Ok((employee_row(&r)?, r.try_get(9).map_err(db)?)))
            .transpose()
    }

    async fn employee(&self, id: EmployeeId) -> StoreResult<Option<Employee>> {
        let row = sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(employee_row).transpose()
    }

    async fn employees(&self) -> StoreResult<Vec<Employee>> {
        sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees ORDER BY full_name COLLATE \"C\", id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(employee_row)
        .collect()
    }

    async fn set_employee_password(
        &self,
        id: EmployeeId,
        password_hash: &str,
        must_change: bool,
        keep_session: Option<&str>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        let pool = self.pool.clone();
        let (hash, keep) = (password_hash.to_owned(), keep_session.map(str::to_owned));
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let changed = sqlx::query(
                "UPDATE employees SET password_hash = $2, must_change_password = $3 WHERE id = $1",
            )
            .bind(id.get())
            .bind(&hash)
            .bind(must_change)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            end_sessions(&mut tx, id, keep.as_deref(), audit.at).await?;
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
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
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let changed = sqlx::query(
                "UPDATE employees SET deactivated_at = $2 WHERE id = $1 AND deactivated_at IS NULL",
            )
            .bind(id.get())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            end_sessions(&mut tx, id, None, at).await?;
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
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
        let pool = self.pool.clone();
        detached(async move {
            let mut months: Vec<String> = rows.iter().map(|(_, p)| p.month.to_string()).collect();
            months.sort();
            months.dedup();
            let mut ids = Vec::with_capacity(rows.len());
            let mut month = Vec::with_capacity(rows.len());
            let (mut gross, mut tax, mut net, mut lines) = (vec![], vec![], vec![], vec![]);
            for (employee, pay) in &rows {
                ids.push(employee.get());
                month.push(pay.month.to_string());
                gross.push(pay.gross.get());
                tax.push(pay.tax.get());
                net.push(pay.net.get());
                lines.push(
                    serde_json::to_string(&PayLines {
                        accruals: pay.accruals.clone(),
                        deductions: pay.deductions.clone(),
                    })
                    .map_err(StoreError::backend)?,
                );
            }
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query("DELETE FROM payroll WHERE month = ANY($1)")
                .bind(&months)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query(
                "INSERT INTO payroll (employee_id, month, gross_kop, tax_kop, net_kop, lines, imported_at) \
                 SELECT e, m, g, t, n, l::jsonb, $7 FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], \
                 $4::BIGINT[], $5::BIGINT[], $6::TEXT[]) AS r(e, m, g, t, n, l)",
            )
            .bind(&ids)
            .bind(&month)
            .bind(&gross)
            .bind(&tax)
            .bind(&net)
            .bind(&lines)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
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
        let rows = sqlx::query(
            "SELECT month, gross_kop, tax_kop, net_kop, lines::text FROM payroll \
             WHERE employee_id = $1 AND month BETWEEN $2 AND $3 ORDER BY month",
        )
        .bind(employee.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let month: String = r.try_get(0).map_err(db)?;
                let lines: String = r.try_get(4).map_err(db)?;
                let lines: PayLines =
                    serde_json::from_str(&lines).map_err(|e| corrupt("pay lines", e))?;
                Ok(MonthPay {
                    month: YearMonth::parse(&month).map_err(|_| corrupt("month", &month))?,
                    gross: Kopecks::new(r.try_get(1).map_err(db)?),
                    tax: Kopecks::new(r.try_get(2).map_err(db)?),
                    net: Kopecks::new(r.try_get(3).map_err(db)?),
                    accruals: lines.accruals,
                    deductions: lines.deductions,
                })
            })
            .collect()
    }

    async fn create_document_request(&self, r: NewDocumentRequest) -> StoreResult<DocumentRequest> {
        let pool = self.pool.clone();
        detached(async move {
            let order = serde_json::to_string(&r.order).map_err(StoreError::backend)?;
            let mut tx = pool.begin().await.map_err(db)?;
            let row = sqlx::query(&format!(
                "INSERT INTO document_requests (employee_id, type, request, status, due_on, created_at, updated_at) \
                 VALUES ($1, $2, $3::jsonb, 'submitted', $4, $5, $5) RETURNING {REQUEST_COLUMNS}"
            ))
            .bind(r.employee_id.get())
            .bind(r.order.kind.as_str())
            .bind(order)
            .bind(r.due_on)
            .bind(r.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let request = request_row(&row)?;
            let actor = format!("employee:{}", r.employee_id);
            insert_event(&mut tx, request.id.get(), RequestStatus::Submitted, &actor, None, r.at)
                .await?;
            tx.commit().await.map_err(db)?;
            Ok(request)
        })
        .await
    }

    async fn document_request(&self, id: RequestId) -> StoreResult<Option<DocumentRequest>> {
        let row = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM document_requests WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(request_row).transpose()
    }

    async fn employee_requests(&self, employee: EmployeeId) -> StoreResult<Vec<DocumentRequest>> {
        sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM document_requests WHERE employee_id = $1 ORDER BY id DESC"
        ))
        .bind(employee.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(request_row)
        .collect()
    }

    async fn open_requests(&self) -> StoreResult<Vec<DocumentRequest>> {
        sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM document_requests \
             WHERE status IN ('submitted', 'in_progress') ORDER BY due_on, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(request_row)
        .collect()
    }

    async fn request_events(&self, id: RequestId) -> StoreResult<Vec<RequestEvent>> {
        sqlx::query(
            "SELECT status, actor, reason, at FROM document_request_events WHERE request_id = $1 ORDER BY id",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            let s: String = r.try_get(0).map_err(db)?;
            Ok(RequestEvent {
                status: status(&s)?,
                actor: r.try_get(1).map_err(db)?,
                reason: r.try_get(2).map_err(db)?,
                at: r.try_get(3).map_err(db)?,
            })
        })
        .collect()
    }

    async fn move_document_request(&self, m: RequestMove) -> StoreResult<bool> {
        let pool = self.pool.clone();
        detached(async move {
            let (doc, pdf) = match &m.document {
                Some((d, pdf)) => (Some(d), Some(pdf.as_slice())),
                None => (None, None),
            };
            let mut tx = pool.begin().await.map_err(db)?;
            let changed = sqlx::query(
                "UPDATE document_requests SET status = $3, updated_at = $4, \
                 reject_reason = COALESCE($5, reject_reason), number = COALESCE($6, number), \
                 verify_code = COALESCE($7, verify_code), issued_on = COALESCE($8, issued_on), \
                 pdf = COALESCE($9, pdf) WHERE id = $1 AND status = $2",
            )
            .bind(m.id.get())
            .bind(m.from.as_str())
            .bind(m.to.as_str())
            .bind(m.at)
            .bind(
                m.reason
                    .as_deref()
                    .filter(|_| m.to == RequestStatus::Rejected),
            )
            .bind(doc.map(|d| d.number.as_str()))
            .bind(doc.map(|d| d.verify_code.as_str()))
            .bind(doc.map(|d| d.issued_on))
            .bind(pdf)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            insert_event(
                &mut tx,
                m.id.get(),
                m.to,
                &m.actor,
                m.reason.as_deref(),
                m.at,
            )
            .await?;
            if let Some(audit) = &m.audit {
                insert_audit(&mut tx, audit).await?;
            }
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn document_pdf(&self, id: RequestId) -> StoreResult<Option<Vec<u8>>> {
        let pdf: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT pdf FROM document_requests WHERE id = $1")
                .bind(id.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(pdf.flatten())
    }

    async fn document_by_code(&self, code: &str) -> StoreResult<Option<VerifiedDocument>> {
        let row = sqlx::query(
            "SELECT r.id, r.type, r.number, r.issued_on, e.full_name, r.revoked_at \
             FROM document_requests r JOIN employees e ON e.id = r.employee_id \
             WHERE r.verify_code = $1 AND r.number IS NOT NULL",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            let kind: String = r.try_get(1).map_err(db)?;
            Ok(VerifiedDocument {
                request_id: RequestId::new(r.try_get(0).map_err(db)?),
                kind: DocumentType::parse(&kind).ok_or_else(|| corrupt("document type", &kind))?,
                number: r.try_get(2).map_err(db)?,
                issued_on: r.try_get(3).map_err(db)?,
                employee_name: r.try_get(4).map_err(db)?,
                revoked_at: r.try_get(5).map_err(db)?,
            })
        })
        .transpose()
    }

    async fn revoke_document(
        &self,
        id: RequestId,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let changed = sqlx::query(
                "UPDATE document_requests SET revoked_at = $2, updated_at = $2 \
                 WHERE id = $1 AND number IS NOT NULL AND revoked_at IS NULL",
            )
            .bind(id.get())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
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
        sqlx::query("INSERT INTO document_checks (code, found, at) VALUES ($1, $2, $3)")
            .bind(code)
            .bind(found)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
