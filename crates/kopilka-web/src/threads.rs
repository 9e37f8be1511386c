//! Employees' questions to HR, accounting and administration as pages: the employee's side at
//! `/employee/messages`, the department's at `/admin/messages`.

use crate::admin::{failed, SIGN_IN};
use crate::format::date_time;
use crate::guard::{ActiveEmployee, Audience, Signed};
use crate::pages::{error_for, message_for, respond, to, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::employee::{Department, MessageAuthor, RequestId};
use kopilka_domain::DomainError;
use kopilka_service::employee_messages::MessageInput;
use kopilka_service::ServiceError;
use kopilka_store::employee_messages::{Thread, ThreadMessage};
use kopilka_store::StaffMember;
use serde::Deserialize;

struct ThreadLine {
    href: String,
    subject: String,
    unread: u32,
    who: String,
    when: String,
}

fn department(visitor: &Visitor, d: Department) -> String {
    visitor
        .texts
        .get(&format!("department_{}", d.as_str()))
        .to_owned()
}

#[derive(Template)]
#[template(path = "employee_messages.html")]
struct EmployeeThreads {
    page: Chrome,
    threads: Vec<ThreadLine>,
    departments: Vec<(&'static str, String)>,
    department: String,
    subject: String,
    body: String,
    /// The request the question is about, as the form carries it.
    request_id: String,
    errors: Vec<FieldMessage>,
}

impl EmployeeThreads {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Template)]
#[template(path = "employee_thread.html")]
struct EmployeeThread {
    page: Chrome,
    back: &'static str,
    action: String,
    subject: String,
    department: String,
    /// From staff, who, when, what.
    messages: Vec<(bool, String, String, String)>,
    error: Option<String>,
    /// The document request a question is about, for the department: (link, label).
    about: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_thread.html")]
struct StaffThread {
    page: Chrome,
    back: &'static str,
    action: String,
    subject: String,
    department: String,
    messages: Vec<(bool, String, String, String)>,
    error: Option<String>,
    /// The document request a question is about, for the department: (link, label).
    about: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_messages.html")]
struct StaffThreads {
    page: Chrome,
    threads: Vec<ThreadLine>,
}

fn lines(
    visitor: &Visitor,
    messages: Vec<ThreadMessage>,
    theirs: &str,
    tz: chrono_tz::Tz,
) -> Vec<(bool, String, String, String)> {
    messages
        .into_iter()
        .map(|m| {
            let staff = m.author == MessageAuthor::Staff;
            let who = if staff {
                theirs.to_owned()
            } else {
                visitor.texts.get("messages_from_you").to_owned()
            };
            (staff, who, date_time(m.at, tz), m.body)
        })
        .collect()
}

async fn employee_list(
    state: &WebState,
    visitor: Visitor,
    session: &kopilka_service::employees::EmployeeSession,
    form: NewThreadForm,
    errors: Vec<FieldMessage>,
) -> Response {
    let threads = match state.kopilka.employee_threads(session).await {
        Ok(t) => t,
        Err(e) => return crate::pages::failure(state, visitor, &e, false),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EmployeeThreads {
        page: Chrome::new(state, &visitor, false),
        threads: threads
            .into_iter()
            .map(|t: Thread| ThreadLine {
                href: format!("/employee/messages/{}", t.id),
                subject: t.subject,
                unread: t.unread_by_employee,
                who: department(&visitor, t.department),
                when: date_time(t.updated_at, state.kopilka.rules().timezone),
            })
            .collect(),
        departments: Department::ALL
            .iter()
            .map(|d| (d.as_str(), department(&visitor, *d)))
            .collect(),
        department: form.department,
        subject: form.subject,
        body: form.body,
        request_id: form.request_id,
        errors,
    };
    respond(visitor, &page, status)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AboutQuery {
    /// A question about this request of the employee's.
    request: Option<i64>,
}

pub async fn employee_threads(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: ActiveEmployee(s),
    }: Signed<ActiveEmployee>,
    Query(about): Query<AboutQuery>,
) -> Response {
    let mut form = NewThreadForm::default();
    if let Some(id) = about.request {
        if let Ok(request) = state.kopilka.employee_request(&s, RequestId::new(id)).await {
            form.request_id = id.to_string();
            form.subject = visitor
                .texts
                .get(&format!("document_type_{}", request.order.kind.as_str()))
                .to_owned();
        }
    }
    employee_list(&state, visitor, &s, form, Vec::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewThreadForm {
    csrf: String,
    department: String,
    subject: String,
    body: String,
    request_id: String,
}

pub async fn employee_write(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<NewThreadForm>,
) -> Response {
    let Signed {
        visitor,
        who: ActiveEmployee(session),
    } = match Signed::<ActiveEmployee>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let input = MessageInput {
        department: &form.department,
        subject: &form.subject,
        body: &form.body,
        request_id: form.request_id.trim().parse().ok(),
    };
    match state.kopilka.write_to_department(&session, &input).await {
        Ok(thread) => to(&format!("/employee/messages/{}", thread.id), visitor),
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: ["department", "subject", "body"]
                        .into_iter()
                        .find(|k| *k == f.field)
                        .unwrap_or("body"),
                    message: visitor.texts.render(&f.message),
                    label: None,
                })
                .collect();
            employee_list(&state, visitor, &session, form, errors).await
        }
        Err(e) => crate::pages::failure(&state, visitor, &e, false),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    csrf: String,
    body: String,
}

async fn employee_thread_page(
    state: &WebState,
    visitor: Visitor,
    id: i64,
    error: Option<String>,
) -> Response {
    let Some(ActiveEmployee(session)) = ActiveEmployee::find(state, &visitor).await else {
        return to(ActiveEmployee::SIGN_IN, visitor);
    };
    match state.kopilka.employee_thread(&session, id).await {
        Ok((thread, messages)) => {
            let theirs = department(&visitor, thread.department);
            let status = if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let page = EmployeeThread {
                page: Chrome::new(state, &visitor, false),
                back: "/employee/messages",
                action: format!("/employee/messages/{id}"),
                subject: thread.subject,
                department: theirs.clone(),
                messages: lines(&visitor, messages, &theirs, state.kopilka.rules().timezone),
                error,
                about: None,
            };
            respond(visitor, &page, status)
        }
        Err(ServiceError::Domain(DomainError::NotFound(_))) => to("/employee/messages", visitor),
        Err(e) => crate::pages::failure(state, visitor, &e, false),
    }
}

pub async fn employee_thread(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Response {
    employee_thread_page(&state, visitor, id, None).await
}

pub async fn employee_reply(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let Signed {
        visitor,
        who: ActiveEmployee(session),
    } = match Signed::<ActiveEmployee>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state.kopilka.employee_reply(&session, id, &form.body).await {
        Ok(_) => to(&format!("/employee/messages/{id}"), visitor),
        Err(e) => {
            let error = Some(message_for(&visitor, &e));
            employee_thread_page(&state, visitor, id, error).await
        }
    }
}

pub async fn staff_threads(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
) -> Response {
    match state.kopilka.department_threads(&staff).await {
        Ok(threads) => {
            let page = StaffThreads {
                page: Chrome::for_staff(&state, &visitor, &staff),
                threads: threads
                    .into_iter()
                    .map(|t| ThreadLine {
                        href: format!("/admin/messages/{}", t.id),
                        subject: t.subject,
                        unread: t.unread_by_staff,
                        who: department(&visitor, t.department),
                        when: date_time(t.updated_at, state.kopilka.rules().timezone),
                    })
                    .collect(),
            };
            respond(visitor, &page, StatusCode::OK)
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

async fn staff_thread_page(
    state: &WebState,
    visitor: Visitor,
    id: i64,
    error: Option<String>,
) -> Response {
    let Some(staff) = StaffMember::find(state, &visitor).await else {
        return to(SIGN_IN, visitor);
    };
    match state.kopilka.department_thread(&staff, id).await {
        Ok((thread, messages)) => {
            let employee = match state
                .kopilka
                .employee_for_staff(&staff, thread.employee_id)
                .await
            {
                Ok(e) => e.full_name,
                Err(e) => return failed(state, visitor, &e),
            };
            let status = if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let mut lines = lines(
                &visitor,
                messages,
                &department(&visitor, thread.department),
                state.kopilka.rules().timezone,
            );
            // On the department's side, "you" is the department and the other is the employee.
            for line in &mut lines {
                line.1 = if line.0 {
                    department(&visitor, thread.department)
                } else {
                    employee.clone()
                };
            }
            let page = StaffThread {
                page: Chrome::for_staff(state, &visitor, &staff),
                back: "/admin/messages",
                action: format!("/admin/messages/{id}"),
                subject: thread.subject,
                department: format!("{employee} → {}", department(&visitor, thread.department)),
                messages: lines,
                error,
                about: thread.request_id.map(|r| {
                    (
                        format!("/admin/documents/{r}"),
                        visitor.texts.get("messages_request_link").to_owned(),
                    )
                }),
            };
            respond(visitor, &page, status)
        }
        Err(ServiceError::Domain(DomainError::NotFound(_))) => to("/admin/messages", visitor),
        Err(e) => failed(state, visitor, &e),
    }
}

pub async fn staff_thread(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> Response {
    staff_thread_page(&state, visitor, id, None).await
}

pub async fn staff_reply(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state.kopilka.department_reply(&staff, id, &form.body).await {
        Ok(_) => to(&format!("/admin/messages/{id}"), visitor),
        Err(e) => {
            let error = Some(message_for(&visitor, &e));
            staff_thread_page(&state, visitor, id, error).await
        }
    }
}
