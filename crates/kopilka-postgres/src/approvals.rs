use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::{AdjustmentId, ApprovalStatus, StaffId};
use kopilka_domain::Points;
use kopilka_store::approvals::{AdjustmentRequest, Approval, Approvals, NewAdjustmentRequest};
use kopilka_store::{NewAuditEntry, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const COLUMNS: &str = "id, member_id, points, reason, requested_by, requested_at, status, \
     decided_by, decided_at, decision_reason";

fn request_row(r: &PgRow) -> StoreResult<AdjustmentRequest> {
    let status: String = r.try_get(6).map_err(db)?;
    Ok(AdjustmentRequest {
        id: AdjustmentId::new(r.try_get(0).map_err(db)?),
        member_id: MemberId::new(r.try_get(1).map_err(db)?),
        points: Points::new(r.try_get(2).map_err(db)?),
        reason: r.try_get(3).map_err(db)?,
        requested_by: StaffId::new(r.try_get(4).map_err(db)?),
        requested_at: r.try_get(5).map_err(db)?,
        status: ApprovalStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown approval status {status:?}")))?,
        decided_by: r
            .try_get::<Option<i64>, _>(7)
            .map_err(db)?
            .map(StaffId::new),
        decided_at: r.try_get(8).map_err(db)?,
        decision_reason: r.try_get(9).map_err(db)?,
    })
}

/// Marks `approval`'s request approved inside the adjustment's transaction; `StateConflict`
/// if another decision came first.
pub(crate) async fn mark_approved(
    tx: &mut PgConnection,
    approval: Approval,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE adjustment_requests SET status = 'approved', decided_by = $2, decided_at = $3 \
         WHERE id = $1 AND status = 'pending_approval'",
    )
    .bind(approval.request.get())
    .bind(approval.by.get())
    .bind(at)
    .execute(tx)
    .await
    .map_err(db)?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::Rule(kopilka_domain::DomainError::StateConflict));
    }
    Ok(())
}

#[async_trait]
impl Approvals for PostgresStore {
    async fn request_adjustment(
        &self,
        r: NewAdjustmentRequest,
        mut audit: NewAuditEntry,
    ) -> StoreResult<AdjustmentRequest> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let row = sqlx::query(&format!(
                "INSERT INTO adjustment_requests (member_id, points, reason, requested_by, requested_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
            ))
            .bind(r.member_id.get())
            .bind(r.points.get())
            .bind(&r.reason)
            .bind(r.requested_by.get())
            .bind(r.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let request = request_row(&row)?;
            audit.subject.push_str(&request.id.to_string());
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(request)
        })
        .await
    }

    async fn adjustment_request(&self, id: AdjustmentId) -> StoreResult<Option<AdjustmentRequest>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM adjustment_requests WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .as_ref()
        .map(request_row)
        .transpose()
    }

    async fn adjustment_requests(
        &self,
        status: Option<ApprovalStatus>,
        limit: u32,
    ) -> StoreResult<Vec<AdjustmentRequest>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM adjustment_requests WHERE $1::text IS NULL OR status = $1 \
             ORDER BY id LIMIT $2"
        ))
        .bind(status.map(ApprovalStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(request_row)
        .collect()
    }

    async fn reject_adjustment(
        &self,
        id: AdjustmentId,
        by: StaffId,
        reason: &str,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        let pool = self.pool.clone();
        let reason = reason.to_owned();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let changed = sqlx::query(
                "UPDATE adjustment_requests SET status = 'rejected', decided_by = $2, decided_at = $3, \
                 decision_reason = $4 WHERE id = $1 AND status = 'pending_approval'",
            )
            .bind(id.get())
            .bind(by.get())
            .bind(at)
            .bind(&reason)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
        .await
    }
}
