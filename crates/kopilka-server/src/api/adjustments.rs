//! `/admin/members/{id}/adjustments` and `/admin/adjustments/*`: manual adjustments of points,
//! and the approval of those above their author's limit (maker-checker).

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::{parse_adjustment_points, parse_reason, AdjustmentId, ApprovalStatus};
use kopilka_domain::Validation;
use kopilka_service::adjustments::AdjustOutcome;
use kopilka_store::approvals::AdjustmentRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(adjust))
        .routes(routes!(requests))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdjustmentBody {
    /// Signed: positive credits, negative debits (never below zero).
    #[serde(default)]
    #[schema(value_type = i64)]
    points: Option<serde_json::Number>,
    /// Why: mandatory, kept in the history and the audit log.
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustedView {
    member_id: i64,
    points: i64,
    balance: i64,
}

/// An adjustment above its author's limit, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentRequestView {
    id: i64,
    /// pending_approval, approved or rejected.
    #[schema(value_type = String, example = "pending_approval")]
    status: ApprovalStatus,
    member_id: i64,
    points: i64,
    reason: String,
    requested_by: i64,
    requested_at: DateTime<Utc>,
    decided_by: Option<i64>,
    decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    decision_reason: Option<String>,
}

impl From<AdjustmentRequest> for AdjustmentRequestView {
    fn from(r: AdjustmentRequest) -> Self {
        Self {
            id: r.id.get(),
            status: r.status,
            member_id: r.member_id.get(),
            points: r.points.get(),
            reason: r.reason,
            requested_by: r.requested_by.get(),
            requested_at: r.requested_at,
            decided_by: r.decided_by.map(|s| s.get()),
            decided_at: r.decided_at,
            decision_reason: r.decision_reason,
        }
    }
}

/// Adjust a member's points by hand (support and administrators), with a reason; audited.
/// Above the author's limit (a support operator's per call or per day, an administrator's
/// per call) it is not applied but waits for another administrator: 202.
#[utoipa::path(post, path = "/admin/members/{id}/adjustments", tag = "admin", security(("staff" = [])), request_body = AdjustmentBody,
    params(("id" = i64, Path, description = "Member id")),
    responses((status = 201, body = AdjustedView, description = "Applied"),
              (status = 202, body = AdjustmentRequestView, description = "Above the author's limit: `status` is `pending_approval` until another administrator approves it"),
              (status = 403, body = Problem, description = "forbidden: not support or admin"),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "insufficient_points"), (status = 422, body = Problem)))]
async fn adjust(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> ApiResult<Response> {
    let mut v = Validation::default();
    // Any JSON number is read, so that one out of range is named as such (422), not a 400.
    let points = v.check(
        "points",
        parse_adjustment_points(body.points.as_ref().and_then(serde_json::Number::as_i64)),
    );
    let reason = v.check("reason", parse_reason(&body.reason));
    v.finish()?;
    // Both are there once the validation passed.
    let (points, reason) = (points.unwrap_or_default(), reason.unwrap_or_default());
    let outcome = state
        .kopilka
        .adjust_points(&auth.staff, MemberId::new(id), points, &reason)
        .await?;
    let points = points.get();
    Ok(match outcome {
        AdjustOutcome::Applied(balance) => (
            StatusCode::CREATED,
            Json(AdjustedView {
                member_id: id,
                points,
                balance: balance.get(),
            }),
        )
            .into_response(),
        AdjustOutcome::Pending(request) => (
            StatusCode::ACCEPTED,
            Json(AdjustmentRequestView::from(request)),
        )
            .into_response(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RequestsQuery {
    /// pending_approval (the default), approved, rejected or all.
    status: Option<String>,
    /// At most this many, oldest first (default 100).
    limit: Option<u32>,
}

/// Adjustments above their author's limit, oldest first: the approvers' queue (support and
/// administrators).
#[utoipa::path(get, path = "/admin/adjustments", tag = "admin", params(RequestsQuery), security(("staff" = [])),
    responses((status = 200, body = [AdjustmentRequestView]), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn requests(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<RequestsQuery>,
) -> ApiResult<Json<Vec<AdjustmentRequestView>>> {
    let status = match query.status.as_deref().unwrap_or("pending_approval") {
        "all" => None,
        s => match ApprovalStatus::parse(s) {
            Some(status) => Some(status),
            None => {
                let mut v = Validation::default();
                v.add("status", "adjustment_status_unknown");
                v.finish()?;
                None
            }
        },
    };
    let requests = state
        .kopilka
        .adjustment_requests(&auth.staff, status, query.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(Json(requests.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovedView {
    #[serde(flatten)]
    request: AdjustmentRequestView,
    /// The member's available points after it.
    balance: i64,
}

/// Approve and apply an adjustment waiting for a second person (administrators; never its
/// own author).
#[utoipa::path(post, path = "/admin/adjustments/{id}/approve", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Adjustment request id")),
    responses((status = 200, body = ApprovedView),
              (status = 403, body = Problem, description = "forbidden: not an administrator, or the request's own author"),
              (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: already decided; insufficient_points: a debit the balance no longer covers (it stays pending)")))]
async fn approve(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ApprovedView>> {
    let (request, balance) = state
        .kopilka
        .approve_adjustment(&auth.staff, AdjustmentId::new(id))
        .await?;
    Ok(Json(ApprovedView {
        request: request.into(),
        balance: balance.get(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectBody {
    /// Why: 3 to 500 characters, kept with the request and in the audit log.
    #[serde(default)]
    reason: String,
}

/// Reject an adjustment waiting for a second person (administrators, or its author taking
/// it back).
#[utoipa::path(post, path = "/admin/adjustments/{id}/reject", tag = "admin", security(("staff" = [])), request_body = RejectBody,
    params(("id" = i64, Path, description = "Adjustment request id")),
    responses((status = 200, body = AdjustmentRequestView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: already decided"),
              (status = 422, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<Json<AdjustmentRequestView>> {
    let mut v = Validation::default();
    let reason = v
        .check("reason", parse_reason(&body.reason))
        .unwrap_or_default();
    v.finish()?;
    let request = state
        .kopilka
        .reject_adjustment(&auth.staff, AdjustmentId::new(id), &reason)
        .await?;
    Ok(Json(request.into()))
}
