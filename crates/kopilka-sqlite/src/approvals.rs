use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::{AdjustmentId, ApprovalStatus, StaffId};
use kopilka_domain::Points;
use kopilka_store::approvals::{AdjustmentRequest, Approval, Approvals, NewAdjustmentRequest};
use kopilka_store::{NewAuditEntry, StoreError, StoreResult};
use rusqlite::{params, Connection, Row};

const COLUMNS: &str = "id, member_id, points, reason, requested_by, requested_at, status, \
     decided_by, decided_at, decision_reason";

fn request_row(r: &Row<'_>) -> rusqlite::Result<AdjustmentRequest> {
    let status: String = r.get(6)?;
    Ok(AdjustmentRequest {
        id: AdjustmentId::new(r.get(0)?),
        member_id: MemberId::new(r.get(1)?),
        points: Points::new(r.get(2)?),
        reason: r.get(3)?,
        requested_by: StaffId::new(r.get(4)?),
        requested_at: time(r.get(5)?),
        status: ApprovalStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("unknown approval status {status:?}").into(),
            )
        })?,
        decided_by: r.get::<_, Option<i64>>(7)?.map(StaffId::new),
        decided_at: r.get::<_, Option<i64>>(8)?.map(time),
        decision_reason: r.get(9)?,
    })
}

/// Marks `approval`'s request approved inside the adjustment's transaction; `StateConflict`
/// if another decision came first.
pub(crate) fn mark_approved(
    tx: &Connection,
    approval: Approval,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let changed = tx
        .prepare_cached(
            "UPDATE adjustment_requests SET status = 'approved', decided_by = ?2, decided_at = ?3 \
             WHERE id = ?1 AND status = 'pending_approval'",
        )
        .and_then(|mut s| {
            s.execute(params![
                approval.request.get(),
                approval.by.get(),
                micros(at)
            ])
        })
        .map_err(backend)?;
    if changed == 0 {
        return Err(StoreError::Rule(kopilka_domain::DomainError::StateConflict));
    }
    Ok(())
}

#[async_trait]
impl Approvals for SqliteStore {
    async fn request_adjustment(
        &self,
        r: NewAdjustmentRequest,
        mut audit: NewAuditEntry,
    ) -> StoreResult<AdjustmentRequest> {
        self.write(move |tx| {
            let request = tx
                .prepare_cached(&format!(
                    "INSERT INTO adjustment_requests (member_id, points, reason, requested_by, requested_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {COLUMNS}"
                ))
                .and_then(|mut s| {
                    s.query_row(
                        params![r.member_id.get(), r.points.get(), r.reason, r.requested_by.get(), micros(r.at)],
                        request_row,
                    )
                })
                .map_err(backend)?;
            audit.subject.push_str(&request.id.to_string());
            crate::catalog::insert_audit(tx, &audit)?;
            Ok(request)
        })
        .await
    }

    async fn adjustment_request(&self, id: AdjustmentId) -> StoreResult<Option<AdjustmentRequest>> {
        self.read(move |c| {
            optional(
                c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM adjustment_requests WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_row([id.get()], request_row)),
            )
        })
        .await
    }

    async fn adjustment_requests(
        &self,
        status: Option<ApprovalStatus>,
        limit: u32,
    ) -> StoreResult<Vec<AdjustmentRequest>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM adjustment_requests WHERE ?1 IS NULL OR status = ?1 \
                     ORDER BY id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![status.map(ApprovalStatus::as_str), limit],
                    request_row,
                )
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn reject_adjustment(
        &self,
        id: AdjustmentId,
        by: StaffId,
        reason: &str,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        let reason = reason.to_owned();
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE adjustment_requests SET status = 'rejected', decided_by = ?2, decided_at = ?3, \
                     decision_reason = ?4 WHERE id = ?1 AND status = 'pending_approval'",
                )
                .and_then(|mut s| s.execute(params![id.get(), by.get(), micros(at), reason]))
                .map_err(backend)?;
            if changed == 0 {
                return Ok(false);
            }
            crate::catalog::insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }
}
