//! `/employee`: the employee's own pages (SPEC §6), mobile first like the customer's: sign-in,
//! the first password change, ordering documents, following them and downloading them.

use crate::format::day;
use crate::guard::{ActiveEmployee, Audience, Signed};
use crate::pages::{error_for, message_for, refused, respond, to, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::employee::{DocumentType, OrderDetails, OrderInput, RequestId, RequestStatus};
use kopilka_domain::DomainError;
use kopilka_service::auth::Client;
use kopilka_service::employees::EmployeeSession;
use kopilka_service::ServiceError;
use kopilka_store::employees::DocumentRequest;
use serde::Deserialize;

pub(crate) const HOME: &str = "/employee";

/// What the page shows: the sign-in form, the password change, or the account.
enum Mode {
    SignIn,
    Password,
    Account,
}

struct RequestLine {
    id: i64,
    kind: String,
    details: String,
    status: String,
    status_class: &'static str,
    created: String,
    due: String,
    overdue: bool,
    reject_reason: Option<String>,
    download: Option<String>,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "employee.html")]
struct EmployeePage {
    page: Chrome,
    mode: Mode,
    name: String,
    position: String,
    login: String,
    errors: Vec<FieldMessage>,
    notice: Option<String>,
    requests: Vec<RequestLine>,
    /// The order form as typed, kept when it comes back with errors.
    form: OrderForm,
    types: Vec<(&'static str, String)>,
    /// Answers from the departments not read yet.
    unread: u32,
}

impl EmployeePage {
    fn new(state: &WebState, visitor: &Visitor, mode: Mode) -> Self {
        let t = visitor.texts;
        Self {
            page: Chrome::new(state, visitor, false),
            mode,
            name: String::new(),
            position: String::new(),
            login: String::new(),
            errors: Vec::new(),
            notice: None,
            requests: Vec::new(),
            form: OrderForm::default(),
            types: DocumentType::ALL
                .iter()
                .map(|k| {
                    (
                        k.as_str(),
                        t.get(&format!("document_type_{}", k.as_str())).to_owned(),
                    )
                })
                .collect(),
            unread: 0,
        }
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn with_error(mut self, field: &'static str, message: String) -> Self {
        self.errors.push(FieldMessage {
            field,
            message,
            label: None,
        });
        self
    }

    fn is_sign_in(&self) -> bool {
        matches!(self.mode, Mode::SignIn)
    }

    fn is_password(&self) -> bool {
        matches!(self.mode, Mode::Password)
    }
}

/// The form fields a service error names, as `'static` names the template knows.
const ORDER_FIELDS: [&str; 9] = [
    "type",
    "purpose",
    "period_from",
    "period_to",
    "month",
    "leave_from",
    "leave_to",
    "addressee",
    "payroll",
];
const PASSWORD_FIELDS: [&str; 2] = ["old_password", "new_password"];

fn field_errors(
    visitor: &Visitor,
    error: &ServiceError,
    known: &[&'static str],
) -> Vec<FieldMessage> {
    match error {
        ServiceError::Domain(DomainError::Validation(fields)) => fields
            .iter()
            .map(|f| FieldMessage {
                field: known
                    .iter()
                    .find(|k| **k == f.field)
                    .copied()
                    .unwrap_or("form"),
                message: visitor.texts.render(&f.message),
                label: None,
            })
            .collect(),
        other => vec![FieldMessage {
            field: "form",
            message: message_for(visitor, other),
            label: None,
        }],
    }
}

fn line(visitor: &Visitor, r: DocumentRequest, today: chrono::NaiveDate) -> RequestLine {
    let t = visitor.texts;
    let details = match &r.order.details {
        OrderDetails::IncomeCertificate { from, to, .. } => format!("{from} — {to}"),
        OrderDetails::Payslip { month } => month.to_string(),
        OrderDetails::VisaLetter {
            leave_from,
            leave_to,
            ..
        } => format!("{} — {}", day(*leave_from), day(*leave_to)),
        OrderDetails::EmploymentConfirmation { .. } | OrderDetails::Other => String::new(),
    };
    let revoked = r.document.as_ref().is_some_and(|d| d.revoked_at.is_some());
    RequestLine {
        id: r.id.get(),
        kind: t
            .get(&format!("document_type_{}", r.order.kind.as_str()))
            .to_owned(),
        details: if details.is_empty() {
            r.order.purpose.clone()
        } else {
            format!("{details} · {}", r.order.purpose)
        },
        status: t
            .get(&format!("request_status_{}", r.status.as_str()))
            .to_owned(),
        status_class: match r.status {
            RequestStatus::Ready | RequestStatus::Issued => "status-done",
            RequestStatus::Rejected => "status-refused",
            RequestStatus::Submitted | RequestStatus::InProgress => "status-waiting",
        },
        created: day(r.created_at.date_naive()),
        due: day(r.due_on),
        overdue: r.status.is_open() && today > r.due_on,
        reject_reason: r.reject_reason.clone(),
        download: (r.status.has_document() && !revoked)
            .then(|| format!("/employee/requests/{}/document.pdf", r.id)),
        revoked,
    }
}

/// The account page for a signed-in employee, with what a form left on it.
async fn account(
    state: &WebState,
    visitor: Visitor,
    session: &EmployeeSession,
    mut page: EmployeePage,
    status: StatusCode,
) -> Response {
    let e = &session.employee;
    page.name = e.full_name.clone();
    page.position = e.position.clone();
    let today = state.kopilka.today();
    match state.kopilka.employee_requests(session).await {
        Ok(requests) => {
            page.requests = requests
                .into_iter()
                .map(|r| line(&visitor, r, today))
                .collect();
        }
        Err(e) => return crate::pages::failure(state, visitor, &e, false),
    }
    page.unread = match state.kopilka.employee_threads(session).await {
        Ok(threads) => threads.iter().map(|t| t.unread_by_employee).sum(),
        Err(e) => return crate::pages::failure(state, visitor, &e, false),
    };
    respond(visitor, &page, status)
}

pub async fn show(State(state): State<WebState>, visitor: Visitor) -> Response {
    let Some(session) = EmployeeSession::find(&state, &visitor).await else {
        let page = EmployeePage::new(&state, &visitor, Mode::SignIn);
        return respond(visitor, &page, StatusCode::OK);
    };
    if session.employee.must_change_password {
        let page = EmployeePage::new(&state, &visitor, Mode::Password);
        return respond(visitor, &page, StatusCode::OK);
    }
    let page = EmployeePage::new(&state, &visitor, Mode::Account);
    account(&state, visitor, &session, page, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    login: String,
    password: String,
}

pub async fn sign_in(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    let mut page = EmployeePage::new(&state, &visitor, Mode::SignIn);
    page.login = form.login.clone();
    let t = visitor.texts;
    if form.login.trim().is_empty() {
        page = page.with_error("login", t.get("error_required").to_owned());
    }
    if form.password.is_empty() {
        page = page.with_error("password", t.get("error_required").to_owned());
    }
    if !page.errors.is_empty() {
        return respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let client = Client::new(visitor.ip.clone(), visitor.user_agent.clone());
    match state
        .kopilka
        .employee_sign_in(&form.login, form.password, &client)
        .await
    {
        Ok((token, _)) => {
            visitor.start_employee_session(&token);
            to(HOME, visitor)
        }
        Err(e) => {
            let page = page.with_error("password", message_for(&visitor, &e));
            respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    old_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<PasswordForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<EmployeeSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state
        .kopilka
        .change_employee_password(&session, form.old_password, &form.new_password)
        .await
    {
        Ok(()) => to(HOME, visitor),
        Err(e) => {
            let mut page = EmployeePage::new(&state, &visitor, Mode::Password);
            page.errors = field_errors(&visitor, &e, &PASSWORD_FIELDS);
            respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct OrderForm {
    csrf: String,
    #[serde(rename = "type")]
    kind: String,
    purpose: String,
    month: String,
    period_from: String,
    period_to: String,
    leave_from: String,
    leave_to: String,
    addressee: String,
    include_salary: Option<String>,
}

fn present(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.trim().is_empty())
}

pub async fn order(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<OrderForm>,
) -> Response {
    let Signed {
        visitor,
        who: ActiveEmployee(session),
    } = match Signed::<ActiveEmployee>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let input = OrderInput {
        kind: &form.kind,
        purpose: &form.purpose,
        period_from: present(&form.period_from),
        period_to: present(&form.period_to),
        month: present(&form.month),
        leave_from: present(&form.leave_from),
        leave_to: present(&form.leave_to),
        addressee: present(&form.addressee),
        include_salary: form.include_salary.is_some(),
    };
    let mut page = EmployeePage::new(&state, &visitor, Mode::Account);
    match state.kopilka.order_document(&session, &input).await {
        Ok(request) => {
            let key = if request.status == RequestStatus::Ready {
                "employee_ordered_ready"
            } else {
                "employee_ordered"
            };
            page.notice = Some(visitor.texts.get(key).to_owned());
            account(&state, visitor, &session, page, StatusCode::OK).await
        }
        Err(e) => {
            page.errors = field_errors(&visitor, &e, &ORDER_FIELDS);
            page.form = form;
            account(
                &state,
                visitor,
                &session,
                page,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn download(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<EmployeeSession>,
    Path(id): Path<i64>,
) -> Response {
    match state
        .kopilka
        .employee_document(&session, RequestId::new(id))
        .await
    {
        Ok(bytes) => visitor.finish(crate::pdf_attachment(bytes, &format!("document-{id}"))),
        Err(ServiceError::Domain(
            DomainError::NotFound(_) | DomainError::StateConflict | DomainError::Forbidden,
        )) => to(HOME, visitor),
        Err(e) => crate::pages::failure(&state, visitor, &e, false),
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
    if let Some(session) = EmployeeSession::find(&state, &visitor).await {
        if let Err(e) = state.kopilka.employee_sign_out(&session).await {
            tracing::warn!(error = %e, "employee sign-out failed");
        }
    }
    visitor.end_employee_session();
    to(HOME, visitor)
}
