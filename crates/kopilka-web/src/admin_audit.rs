//! The audit log in the back office: every staff change, who, when, what, before and after,
//! narrowed by staff member, entity and period, and its CSV.

use crate::admin::failed;
use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{error_for, form_status, respond, FieldMessage};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use kopilka_domain::DomainError;
use kopilka_service::ServiceError;
use kopilka_store::StaffMember;
use serde::Deserialize;

/// Rows the page shows; the CSV holds up to the API's most.
const ROWS_SHOWN: u32 = 200;
const CSV_ROWS: u32 = 1000;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AuditQuery {
    staff: String,
    entity: String,
    from: String,
    to: String,
}

struct AuditLine {
    at: String,
    actor: String,
    action: String,
    subject: String,
    details: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    page: Chrome,
    query: AuditQuery,
    lines: Vec<AuditLine>,
    errors: Vec<FieldMessage>,
    csv_query: String,
}

impl AuditPage {
    /// The filter's inputs: (name, label, type, value).
    fn fields(&self) -> [(&'static str, &'static str, &'static str, &str); 4] {
        let q = &self.query;
        [
            ("staff", "audit_staff", "text", q.staff.as_str()),
            ("entity", "audit_entity", "text", q.entity.as_str()),
            ("from", "reports_from", "date", q.from.as_str()),
            ("to", "reports_to", "date", q.to.as_str()),
        ]
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

pub async fn audit(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let t = visitor.texts;
    let mut page = AuditPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        csv_query: serde_urlencoded::to_string([
            ("staff", query.staff.as_str()),
            ("entity", query.entity.as_str()),
            ("from", query.from.as_str()),
            ("to", query.to.as_str()),
        ])
        .unwrap_or_default(),
        query,
        lines: Vec::new(),
        errors: Vec::new(),
    };
    let q = &page.query;
    let filter = kopilka_service::staff::audit_filter(
        Some(&q.staff),
        Some(&q.entity),
        Some(&q.from),
        Some(&q.to),
    );
    let entries = match filter {
        Ok(filter) => state.kopilka.audit_log(&staff, &filter, ROWS_SHOWN).await,
        Err(e) => Err(e.into()),
    };
    match entries {
        Ok(entries) => {
            let tz = state.kopilka.rules().timezone;
            let names = match state
                .kopilka
                .actor_names(&entries.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>())
                .await
            {
                Ok(names) => names,
                Err(err) => return failed(&state, visitor, &err),
            };
            for e in entries {
                let actor = names.get(&e.actor).cloned().unwrap_or(e.actor);
                page.lines.push(AuditLine {
                    at: date_time(e.at, tz),
                    actor,
                    action: e.action,
                    subject: e.subject,
                    details: e.details,
                });
            }
        }
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            page.errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: ["staff", "entity", "from", "to"]
                        .into_iter()
                        .find(|k| *k == f.field)
                        .unwrap_or("from"),
                    message: t.render(&f.message),
                    label: None,
                })
                .collect();
        }
        Err(e) => return failed(&state, visitor, &e),
    }
    let status = form_status(&page.errors);
    respond(visitor, &page, status)
}

/// `GET /admin/audit.csv`: the same rows, as many as the API gives at once.
pub async fn csv(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let filter = kopilka_service::staff::audit_filter(
        Some(&q.staff),
        Some(&q.entity),
        Some(&q.from),
        Some(&q.to),
    );
    let entries = match filter {
        Ok(filter) => state.kopilka.audit_log(&staff, &filter, CSV_ROWS).await,
        Err(e) => Err(e.into()),
    };
    match entries.and_then(|e| kopilka_service::staff::audit_csv(&e)) {
        Ok(body) => crate::csv_attachment("audit.csv", body),
        Err(e) => failed(&state, visitor, &e),
    }
}
