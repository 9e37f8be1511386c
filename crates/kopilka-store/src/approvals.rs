//! Manual adjustments above their author's limit, kept until a second staff member decides
//! (maker-checker). Approving one applies it: `Pos::adjust` with `approves` marks the request
//! approved in the same transaction as the ledger's transfer, so it is applied once or not at
//! all.

use crate::{NewAuditEntry, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::{AdjustmentId, ApprovalStatus, StaffId};
use kopilka_domain::Points;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentRequest {
    pub id: AdjustmentId,
    pub member_id: MemberId,
    /// Signed: positive credits, negative debits.
    pub points: Points,
    pub reason: String,
    pub requested_by: StaffId,
    pub requested_at: DateTime<Utc>,
    pub status: ApprovalStatus,
    pub decided_by: Option<StaffId>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub decision_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAdjustmentRequest {
    pub member_id: MemberId,
    pub points: Points,
    pub reason: String,
    pub requested_by: StaffId,
    pub at: DateTime<Utc>,
}

/// The approval that an adjustment carries out (`Adjustment::approves`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    pub request: AdjustmentId,
    pub by: StaffId,
}

#[async_trait]
pub trait Approvals: Send + Sync {
    /// Keeps the request, with its audit row (subject completed with the new id).
    async fn request_adjustment(
        &self,
        request: NewAdjustmentRequest,
        audit: NewAuditEntry,
    ) -> StoreResult<AdjustmentRequest>;
    async fn adjustment_request(&self, id: AdjustmentId) -> StoreResult<Option<AdjustmentRequest>>;
    /// Of one status or all, oldest first (the approver's queue), at most `limit`.
    async fn adjustment_requests(
        &self,
        status: Option<ApprovalStatus>,
        limit: u32,
    ) -> StoreResult<Vec<AdjustmentRequest>>;
    /// Rejects a pending request, with its audit row; false if it was no longer pending.
    async fn reject_adjustment(
        &self,
        id: AdjustmentId,
        by: StaffId,
        reason: &str,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool>;
}
