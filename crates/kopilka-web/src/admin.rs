//! `/admin`: the back office's screens, desktop first. Staff sign in with their password (and
//! second factor); HR and accounting work employees' document requests here, overdue first.

use crate::format::day;
use crate::guard::{Audience, Signed};
use crate::pages::{error_for, message_for, refused, respond, to, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::employee::{OrderDetails, RequestId, RequestStatus};
use kopilka_domain::DomainError;
use kopilka_service::auth::Client;
use kopilka_service::ServiceError;
use kopilka_store::StaffMember;
use serde::Deserialize;

pub(crate) const SIGN_IN: &str = "/admin/login";
const QUEUE: &str = "/admin/documents";

#[derive(Template)]
#[template(path = "admin_login.html")]
struct SignInPage {
    page: Chrome,
    login: String,
    errors: Vec<FieldMessage>,
}

impl SignInPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

pub async fn home(State(state): State<WebState>, visitor: Visitor) -> Response {
    match StaffMember::find(&state, &visitor).await {
        Some(staff) => to(crate::admin_nav::home(&staff.roles), visitor),
        None => to(SIGN_IN, visitor),
    }
}

pub async fn sign_in_form(State(state): State<WebState>, visitor: Visitor) -> Response {
    let page = SignInPage {
        page: Chrome::new(&state, &visitor, false),
        login: String::new(),
        errors: Vec::new(),
    };
    respond(visitor, &page, StatusCode::OK)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    login: String,
    password: String,
    totp: String,
}

pub async fn sign_in(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    let login = form.login.trim().to_lowercase();
    let client = Client::new(visitor.ip.clone(), visitor.user_agent.clone());
    let totp = Some(form.totp.trim()).filter(|t| !t.is_empty());
    match state
        .kopilka
        .staff_sign_in(&login, form.password, totp, &client)
        .await
    {
        Ok((token, staff)) => {
            visitor.start_staff_session(&token);
            to(crate::admin_nav::home(&staff.roles), visitor)
        }
        Err(e) => {
            let page = SignInPage {
                page: Chrome::new(&state, &visitor, false),
                login: form.login,
                errors: vec![FieldMessage {
                    field: "password",
                    message: message_for(&visitor, &e),
                    label: None,
                }],
            };
            respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn sign_out(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    if let Some(token) = visitor.staff_session.clone() {
        if let Err(e) = state
            .kopilka
            .sign_out(kopilka_store::TokenKind::Staff, &token)
            .await
        {
            tracing::warn!(error = %e, "staff sign-out failed");
        }
    }
    visitor.end_staff_session();
    to(SIGN_IN, visitor)
}

#[derive(Template)]
#[template(path = "admin_message.html")]
struct AdminMessage {
    page: Chrome,
    heading: String,
}

struct QueueRow {
    id: i64,
    employee: String,
    position: String,
    kind: String,
    purpose: String,
    status: String,
    asked: String,
    due: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "admin_documents.html")]
struct QueuePage {
    page: Chrome,
    rows: Vec<QueueRow>,
}

/// A refusal of the service as the page shows it: sign in again, or a failure.
pub(crate) fn failed(state: &WebState, visitor: Visitor, e: &ServiceError) -> Response {
    match e {
        ServiceError::Domain(DomainError::Unauthorized) => to(SIGN_IN, visitor),
        ServiceError::Domain(DomainError::Forbidden) => {
            let page = AdminMessage {
                page: Chrome::new(state, &visitor, true),
                heading: visitor.texts.get("admin_forbidden").to_owned(),
            };
            respond(visitor, &page, StatusCode::FORBIDDEN)
        }
        _ => crate::pages::failure(state, visitor, e, true),
    }
}

pub async fn queue(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
) -> Response {
    let today = state.kopilka.today();
    let t = visitor.texts;
    match state.kopilka.document_queue(&staff).await {
        Ok(items) => {
            let rows = items
                .into_iter()
                .map(|(r, e)| QueueRow {
                    id: r.id.get(),
                    employee: e.full_name,
                    position: e.position,
                    kind: t
                        .get(&format!("document_type_{}", r.order.kind.as_str()))
                        .to_owned(),
                    purpose: r.order.purpose,
                    status: t
                        .get(&format!("request_status_{}", r.status.as_str()))
                        .to_owned(),
                    asked: day(r.created_at.date_naive()),
                    due: day(r.due_on),
                    overdue: today > r.due_on,
                })
                .collect();
            let page = QueuePage {
                page: Chrome::for_staff(&state, &visitor, &staff),
                rows,
            };
            respond(visitor, &page, StatusCode::OK)
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

#[derive(Template)]
#[template(path = "admin_document.html")]
struct RequestPage {
    page: Chrome,
    id: i64,
    kind: String,
    employee: String,
    position: String,
    purpose: String,
    details: String,
    status: String,
    due: String,
    overdue: bool,
    number: Option<String>,
    revoked: bool,
    reject_reason: Option<String>,
    has_document: bool,
    can_start: bool,
    can_ready: bool,
    can_revoke: bool,
    made_from_data: bool,
    /// When, what, who, why.
    events: Vec<(String, String, String, Option<String>)>,
    errors: Vec<FieldMessage>,
    notice: Option<String>,
}

impl RequestPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn request_page(
    state: &WebState,
    visitor: Visitor,
    staff: &StaffMember,
    id: i64,
    errors: Vec<FieldMessage>,
    notice: Option<String>,
) -> Response {
    let (request, employee, events) = match state
        .kopilka
        .document_request_for_staff(staff, RequestId::new(id))
        .await
    {
        Ok(found) => found,
        Err(ServiceError::Domain(DomainError::NotFound(_))) => return to(QUEUE, visitor),
        Err(e) => return failed(state, visitor, &e),
    };
    let t = visitor.texts;
    let tz = state.kopilka.rules().timezone;
    let names = match state
        .kopilka
        .actor_names(&events.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>())
        .await
    {
        Ok(names) => names,
        Err(e) => return failed(state, visitor, &e),
    };
    let named: Vec<String> = events
        .iter()
        .map(|e| {
            names
                .get(&e.actor)
                .cloned()
                .unwrap_or_else(|| t.get("admin_actor_system").to_owned())
        })
        .collect();
    let details = match &request.order.details {
        OrderDetails::EmploymentConfirmation {
            include_salary,
            addressee,
        } => [
            addressee.clone().unwrap_or_default(),
            if *include_salary {
                t.get("employee_include_salary").to_owned()
            } else {
                String::new()
            },
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · "),
        OrderDetails::IncomeCertificate {
            from,
            to,
            addressee,
        } => {
            format!(
                "{from} — {to}{}",
                addressee
                    .as_ref()
                    .map(|a| format!(" · {a}"))
                    .unwrap_or_default()
            )
        }
        OrderDetails::Payslip { month } => month.to_string(),
        OrderDetails::VisaLetter {
            leave_from,
            leave_to,
            addressee,
        } => format!(
            "{} — {}{}",
            day(*leave_from),
            day(*leave_to),
            addressee
                .as_ref()
                .map(|a| format!(" · {a}"))
                .unwrap_or_default()
        ),
        OrderDetails::Other => String::new(),
    };
    let revoked = request
        .document
        .as_ref()
        .is_some_and(|d| d.revoked_at.is_some());
    let page = RequestPage {
        page: Chrome::for_staff(state, &visitor, staff),
        id,
        kind: t
            .get(&format!("document_type_{}", request.order.kind.as_str()))
            .to_owned(),
        employee: employee.full_name,
        position: employee.position,
        purpose: request.order.purpose.clone(),
        details,
        status: t
            .get(&format!("request_status_{}", request.status.as_str()))
            .to_owned(),
        due: day(request.due_on),
        overdue: request.status.is_open() && state.kopilka.today() > request.due_on,
        number: request.document.as_ref().map(|d| d.number.clone()),
        revoked,
        reject_reason: request.reject_reason.clone(),
        has_document: request.status.has_document(),
        can_start: request.status.may_become(RequestStatus::InProgress),
        can_ready: request.status.may_become(RequestStatus::Ready),
        can_revoke: request.document.is_some() && !revoked,
        made_from_data: request.order.kind.made_from_data(),
        events: events
            .into_iter()
            .zip(named)
            .map(|(e, who)| {
                (
                    crate::format::date_time(e.at, tz),
                    t.get(&format!("request_status_{}", e.status.as_str()))
                        .to_owned(),
                    who,
                    e.reason,
                )
            })
            .collect(),
        errors,
        notice,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    respond(visitor, &page, status)
}

/// What an action on a request came to: the request's page again, with the outcome.
async fn after_action(
    state: &WebState,
    visitor: Visitor,
    staff: &StaffMember,
    id: i64,
    outcome: Result<(), ServiceError>,
    done: &str,
) -> Response {
    match outcome {
        Ok(()) => {
            let notice = Some(visitor.texts.get(done).to_owned());
            request_page(state, visitor, staff, id, Vec::new(), notice).await
        }
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: match f.field.as_str() {
                        "reason" => "reason",
                        "file" => "file",
                        _ => "form",
                    },
                    message: visitor.texts.render(&f.message),
                    label: None,
                })
                .collect();
            request_page(state, visitor, staff, id, errors, None).await
        }
        Err(ServiceError::Domain(DomainError::StateConflict)) => {
            let notice = Some(visitor.texts.get("admin_state_changed").to_owned());
            request_page(state, visitor, staff, id, Vec::new(), notice).await
        }
        Err(e) => failed(state, visitor, &e),
    }
}

pub async fn request(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
) -> Response {
    request_page(&state, visitor, &staff, id, Vec::new(), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    csrf: String,
    reason: String,
}

/// `start`, `ready`, `reject` or `revoke`, from a form.
pub async fn act(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let k = &state.kopilka;
    let rid = RequestId::new(id);
    let (outcome, done) = match action.as_str() {
        "start" => (
            k.start_document_request(&staff, rid).await.map(drop),
            "admin_started",
        ),
        "ready" => (
            k.make_document_ready(&staff, rid, None).await.map(drop),
            "admin_made_ready",
        ),
        "reject" => (
            k.reject_document_request(&staff, rid, &form.reason)
                .await
                .map(drop),
            "admin_rejected",
        ),
        "revoke" => (k.revoke_document(&staff, rid).await, "admin_revoked"),
        _ => return to(QUEUE, visitor),
    };
    after_action(&state, visitor, &staff, id, outcome, done).await
}

/// HR attaches the PDF it made elsewhere (an `other` request).
pub async fn attach(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Response {
    let (mut csrf, mut file) = (String::new(), None);
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                file = field
                    .bytes()
                    .await
                    .ok()
                    .filter(|b| !b.is_empty())
                    .map(|b| b.to_vec())
            }
            _ => {}
        }
    }
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let outcome = state
        .kopilka
        .make_document_ready(&staff, RequestId::new(id), file)
        .await
        .map(drop);
    after_action(&state, visitor, &staff, id, outcome, "admin_made_ready").await
}

pub async fn document(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
) -> Response {
    match state
        .kopilka
        .staff_document(&staff, RequestId::new(id))
        .await
    {
        Ok(bytes) => visitor.finish(crate::pdf_attachment(bytes, &format!("document-{id}"))),
        Err(e) => failed(&state, visitor, &e),
    }
}
