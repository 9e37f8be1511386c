//! `/admin/audit`: every staff change, narrowed by who, what and when, as JSON or CSV.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::Validation;
use kopilka_store::{AuditEntry, AuditFilter, AuditSubject};
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
        let mut v = Validation::default();
        let actor = self.staff.as_deref().map(str::trim).and_then(|s| match s {
            "cli" | "system" => Some(s.to_owned()),
            id => match id.parse::<i64>() {
                Ok(id) if id > 0 => Some(format!("staff:{id}")),
                _ => {
                    v.add("staff", "audit_staff_invalid");
                    None
                }
            },
        });
        let subject = self.entity.as_deref().map(str::trim).and_then(|e| {
            let (kind, one) = match e.split_once(':') {
                Some((kind, one)) => (kind, Some(one)),
                None => (e, None),
            };
            let kind_ok =
                !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            match (kind_ok, one) {
                (true, None) => Some(AuditSubject::Kind(kind.to_owned())),
                (true, Some(one)) if !one.is_empty() && !one.contains(char::is_whitespace) => {
                    Some(AuditSubject::Exact(e.to_owned()))
                }
                _ => {
                    v.add("entity", "audit_entity_invalid");
                    None
                }
            }
        });
        let mut time = |field: &str, value: Option<&str>| {
            let value = value?.trim();
            let parsed = DateTime::parse_from_rfc3339(value)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t.and_utc())
                });
            if parsed.is_none() {
                v.add(field, "audit_time_invalid");
            }
            parsed
        };
        let from = time("from", self.from.as_deref());
        let to = time("to", self.to.as_deref());
        v.finish()?;
        Ok(AuditFilter {
            actor,
            subject,
            from,
            to,
        })
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
    let mut out = csv::Writer::from_writer(Vec::new());
    let rows =
        std::iter::once(["id", "at", "actor", "action", "subject", "details"].map(String::from))
            .chain(entries.into_iter().map(|e| {
                [
                    e.id.to_string(),
                    e.at.to_rfc3339(),
                    e.actor,
                    e.action,
                    e.subject,
                    e.details,
                ]
            }));
    for row in rows {
        out.write_record(&row).map_err(|e| {
            crate::error::ApiError::from(kopilka_service::ServiceError::Internal(e.to_string()))
        })?;
    }
    let body = out.into_inner().map_err(|e| {
        crate::error::ApiError::from(kopilka_service::ServiceError::Internal(e.to_string()))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
