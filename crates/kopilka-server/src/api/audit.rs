//! `/admin/audit`: every staff change, narrowed by who, what and when, as JSON or CSV.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_store::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(audit_csv))
}

/// Rows one answer holds when no `limit` is given.
const AUDIT_DEFAULT_LIMIT: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// 1 to 1000, default 100.
    limit: Option<u32>,
    /// Whose changes: a staff member's id, `cli` or `system`.
    staff: Option<String>,
    /// What about: a kind (`member`, `adjustment`, `till`, `employee`…) or one thing
    /// (`member:12`).
    entity: Option<String>,
    /// From this date (`YYYY-MM-DD`, UTC) or time (RFC 3339) on.
    from: Option<String>,
    /// Before this date or time.
    to: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> ApiResult<AuditFilter> {
        Ok(kopilka_service::staff::audit_filter(
            self.staff.as_deref(),
            self.entity.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
        )?)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    id: i64,
    /// `staff:<id>`, `cli` or `system`.
    actor: String,
    action: String,
    subject: String,
    details: serde_json::Value,
    at: DateTime<Utc>,
}

async fn entries(
    state: &AppState,
    auth: &StaffAuth,
    query: &AuditQuery,
) -> ApiResult<Vec<AuditEntry>> {
    let filter = query.filter()?;
    Ok(state
        .kopilka
        .audit_log(
            &auth.staff,
            &filter,
            query.limit.unwrap_or(AUDIT_DEFAULT_LIMIT),
        )
        .await?)
}

/// The audit log, newest first (administrators): every staff change, who, when, what, and
/// its details (before and after where a change has them).
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditQuery), security(("staff" = [])),
    responses((status = 200, body = [AuditView]), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn audit(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditView>>> {
    let entries = entries(&state, &auth, &query).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                actor: e.actor,
                action: e.action,
                subject: e.subject,
                details: serde_json::from_str(&e.details)
                    .unwrap_or(serde_json::Value::String(e.details)),
                at: e.at,
            })
            .collect(),
    ))
}

/// The same rows as CSV, to open in a spreadsheet: `id,at,actor,action,subject,details`.
#[utoipa::path(get, path = "/admin/audit.csv", tag = "admin", params(AuditQuery), security(("staff" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn audit_csv(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let entries = entries(&state, &auth, &query).await?;
    let body = kopilka_service::staff::audit_csv(&entries)?;
    Ok(kopilka_web::csv_attachment("audit.csv", body))
}
