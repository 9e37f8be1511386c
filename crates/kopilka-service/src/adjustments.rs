//! Manual adjustments of a member's points by staff, with a mandatory reason (SPEC §3.7), and
//! the second pair of eyes on large ones (maker-checker, SPEC §8): an adjustment above its
//! author's limit is kept as a request and applied only when another administrator approves
//! it. Every step is in the audit log.

use crate::staff::authorize;
use crate::{Kopilka, ServiceResult};
use chrono::{DateTime, Months, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::{AdjustmentId, ApprovalStatus, Permission, Role, StaffId};
use kopilka_domain::{DomainError, Points};
use kopilka_store::approvals::{AdjustmentRequest, Approval, NewAdjustmentRequest};
use kopilka_store::{Adjustment, NewAuditEntry, StaffMember};
use kopilka_text::Message;

/// What became of an adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdjustOutcome {
    /// Applied: the member's available balance after it.
    Applied(Points),
    /// Above the author's limit: waiting for another administrator.
    Pending(AdjustmentRequest),
}

/// Whether an adjustment is within its author's limit, and what of their day it spends.
enum Limit {
    Within(Option<DayBudget>),
    Above,
}

/// Points claimed from a support operator's daily allowance, given back if nothing is applied.
struct DayBudget {
    key: String,
    day: DateTime<Utc>,
    amount: u32,
}

impl Kopilka {
    /// Adjusts a member's points (support and administrators). Support operators may move at
    /// most `support_adjustment_max` points a call and `support_adjustment_daily` a day (both
    /// directions added up), administrators `admin_adjustment_max` a call; beyond that the
    /// adjustment waits for another administrator's approval.
    pub async fn adjust_points(
        &self,
        staff: &StaffMember,
        member: MemberId,
        points: Points,
        reason: &str,
    ) -> ServiceResult<AdjustOutcome> {
        authorize(staff, Permission::AdjustPoints)?;
        let now = self.now();
        if self.store().member(member).await?.is_none() {
            return Err(DomainError::NotFound("member").into());
        }
        let budget = match self.limit(staff, points, now).await? {
            Limit::Within(budget) => budget,
            Limit::Above => {
                let request = self
                    .store()
                    .request_adjustment(
                        NewAdjustmentRequest {
                            member_id: member,
                            points,
                            reason: reason.to_owned(),
                            requested_by: staff.id,
                            at: now,
                        },
                        NewAuditEntry {
                            actor: actor(staff.id),
                            action: "points.adjust.request".into(),
                            subject: "adjustment:".into(),
                            details: serde_json::json!({
                                "member_id": member.get(), "points": points.get(), "reason": reason,
                            })
                            .to_string(),
                            at: now,
                        },
                    )
                    .await?;
                tracing::info!(
                    staff_id = staff.id.get(),
                    points = points.get(),
                    "adjustment above the author's limit waits for approval"
                );
                return Ok(AdjustOutcome::Pending(request));
            }
        };
        let applied = self
            .apply(
                member,
                points,
                reason,
                None,
                NewAuditEntry {
                    actor: actor(staff.id),
                    action: "points.adjust".into(),
                    subject: format!("member:{member}"),
                    details: serde_json::json!({ "points": points.get(), "reason": reason })
                        .to_string(),
                    at: now,
                },
            )
            .await;
        if let (Err(_), Some(b)) = (&applied, &budget) {
            // Not applied: it spent none of the operator's day.
            self.store().release(&b.key, b.day, b.amount).await?;
        }
        Ok(AdjustOutcome::Applied(applied?))
    }

    /// Approves and applies a waiting adjustment: administrators, never its own author. A
    /// debit the balance no longer covers is refused (`insufficient_points`) and stays
    /// pending.
    pub async fn approve_adjustment(
        &self,
        staff: &StaffMember,
        id: AdjustmentId,
    ) -> ServiceResult<(AdjustmentRequest, Points)> {
        authorize(staff, Permission::ApproveAdjustments)?;
        let request = self.pending(id).await?;
        if request.requested_by == staff.id {
            return Err(DomainError::Forbidden.into());
        }
        let now = self.now();
        let balance = self
            .apply(
                request.member_id,
                request.points,
                &request.reason,
                Some(Approval {
                    request: id,
                    by: staff.id,
                }),
                NewAuditEntry {
                    actor: actor(staff.id),
                    action: "points.adjust.approve".into(),
                    subject: format!("adjustment:{id}"),
                    details: serde_json::json!({
                        "member_id": request.member_id.get(),
                        "points": request.points.get(),
                        "reason": request.reason,
                        "requested_by": request.requested_by.get(),
                    })
                    .to_string(),
                    at: now,
                },
            )
            .await?;
        let decided = self.decided(id).await?;
        Ok((decided, balance))
    }

    /// Rejects a waiting adjustment with a reason: an administrator, or its author taking it
    /// back.
    pub async fn reject_adjustment(
        &self,
        staff: &StaffMember,
        id: AdjustmentId,
        reason: &str,
    ) -> ServiceResult<AdjustmentRequest> {
        authorize(staff, Permission::AdjustPoints)?;
        let request = self.pending(id).await?;
        if request.requested_by != staff.id {
            authorize(staff, Permission::ApproveAdjustments)?;
        }
        let now = self.now();
        let rejected = self
            .store()
            .reject_adjustment(
                id,
                staff.id,
                reason,
                now,
                NewAuditEntry {
                    actor: actor(staff.id),
                    action: "points.adjust.reject".into(),
                    subject: format!("adjustment:{id}"),
                    details: serde_json::json!({ "reason": reason }).to_string(),
                    at: now,
                },
            )
            .await?;
        if !rejected {
            return Err(DomainError::StateConflict.into());
        }
        self.decided(id).await
    }

    /// Adjustment requests of one status or all, oldest first: support and administrators.
    pub async fn adjustment_requests(
        &self,
        staff: &StaffMember,
        status: Option<ApprovalStatus>,
        limit: u32,
    ) -> ServiceResult<Vec<AdjustmentRequest>> {
        authorize(staff, Permission::AdjustPoints)?;
        Ok(self.store().adjustment_requests(status, limit).await?)
    }

    async fn limit(
        &self,
        staff: &StaffMember,
        points: Points,
        now: DateTime<Utc>,
    ) -> ServiceResult<Limit> {
        let rules = self.rules();
        let amount = points.get().unsigned_abs();
        if staff.roles.contains(&Role::Admin) {
            return Ok(if amount > rules.admin_adjustment_max.unsigned_abs() {
                Limit::Above
            } else {
                Limit::Within(None)
            });
        }
        if amount > rules.support_adjustment_max.unsigned_abs() {
            return Ok(Limit::Above);
        }
        let amount = u32::try_from(amount).unwrap_or(u32::MAX);
        let day = self.local_day(now).0;
        let key = format!("adjust:staff:{}", staff.id);
        let daily = u32::try_from(rules.support_adjustment_daily).unwrap_or(u32::MAX);
        Ok(match self.store().claim(&key, day, amount, daily).await? {
            Some(_) => Limit::Within(Some(DayBudget { key, day, amount })),
            None => Limit::Above,
        })
    }

    async fn apply(
        &self,
        member: MemberId,
        points: Points,
        reason: &str,
        approves: Option<Approval>,
        audit: NewAuditEntry,
    ) -> ServiceResult<Points> {
        let now = audit.at;
        let lot_expires_at = now
            .checked_add_months(Months::new(self.rules().points_lifetime_months))
            .unwrap_or(now);
        Ok(self
            .store()
            .adjust(Adjustment {
                member_id: member,
                points,
                description: Message::new("history_adjustment")
                    .with("reason", reason)
                    .to_stored(),
                lot_expires_at,
                at: now,
                audit,
                approves,
            })
            .await?)
    }

    async fn pending(&self, id: AdjustmentId) -> ServiceResult<AdjustmentRequest> {
        let request = self.decided(id).await?;
        if request.status != ApprovalStatus::Pending {
            return Err(DomainError::StateConflict.into());
        }
        Ok(request)
    }

    async fn decided(&self, id: AdjustmentId) -> ServiceResult<AdjustmentRequest> {
        self.store()
            .adjustment_request(id)
            .await?
            .ok_or_else(|| DomainError::NotFound("adjustment").into())
    }
}

fn actor(id: StaffId) -> String {
    format!("staff:{id}")
}
