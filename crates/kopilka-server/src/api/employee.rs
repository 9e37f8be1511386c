//! `/employee/*`: the employee's own account (employee tokens only): sign-in, the password,
//! document requests and their PDFs.

use crate::error::{ApiResult, Problem};
use crate::extract::{AnyEmployeeAuth, ApiJson, ApiPath, ClientInfo, EmployeeAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::employee::{OrderDetails, OrderInput, RequestId};
use kopilka_store::employees::{DocumentRequest, Employee};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(order, requests))
        .routes(routes!(document))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmployeeLoginBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeSignedIn {
    token: String,
    /// The password is a temporary one: change it before anything else.
    must_change_password: bool,
}

/// Employee sign-in with the login and password HR issued. Throttled per account, per
/// address and overall.
#[utoipa::path(post, path = "/employee/auth/login", tag = "employee", request_body = EmployeeLoginBody,
    responses((status = 200, body = EmployeeSignedIn),
              (status = 401, body = Problem, description = "invalid_credentials (also a closed account)"),
              (status = 422, body = Problem), (status = 429, body = Problem, description = "rate_limited, with Retry-After")))]
async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<EmployeeLoginBody>,
) -> ApiResult<Json<EmployeeSignedIn>> {
    let mut v = kopilka_domain::Validation::default();
    if body.login.trim().is_empty() {
        v.add("login", "field_required");
    }
    if body.password.is_empty() {
        v.add("password", "field_required");
    }
    v.finish()?;
    let (token, employee) = state
        .kopilka
        .employee_sign_in(&body.login, body.password, &client)
        .await?;
    Ok(Json(EmployeeSignedIn {
        token,
        must_change_password: employee.must_change_password,
    }))
}

/// Sign-out: the token stops working.
#[utoipa::path(post, path = "/employee/auth/logout", tag = "employee", security(("employee" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    AnyEmployeeAuth(session): AnyEmployeeAuth,
) -> ApiResult<StatusCode> {
    state.kopilka.employee_sign_out(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
}

/// Replaces the password (the temporary one at first). Other sessions end; this one goes on.
#[utoipa::path(post, path = "/employee/auth/password", tag = "employee", security(("employee" = [])),
    request_body = PasswordChangeBody,
    responses((status = 204), (status = 401, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: a wrong old password, or a weak or unchanged new one")))]
async fn change_password(
    State(state): State<AppState>,
    AnyEmployeeAuth(session): AnyEmployeeAuth,
    ApiJson(body): ApiJson<PasswordChangeBody>,
) -> ApiResult<StatusCode> {
    state
        .kopilka
        .change_employee_password(&session, body.old_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeView {
    id: i64,
    login: String,
    full_name: String,
    position: String,
    store_id: i64,
    hired_on: NaiveDate,
    must_change_password: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    deactivated_at: Option<DateTime<Utc>>,
}

impl From<Employee> for EmployeeView {
    fn from(e: Employee) -> Self {
        Self {
            id: e.id.get(),
            login: e.login,
            full_name: e.full_name,
            position: e.position,
            store_id: e.store_id.get(),
            hired_on: e.hired_on,
            must_change_password: e.must_change_password,
            deactivated_at: e.deactivated_at,
        }
    }
}

/// The signed-in employee.
#[utoipa::path(get, path = "/employee/me", tag = "employee", security(("employee" = [])),
    responses((status = 200, body = EmployeeView), (status = 401, body = Problem),
              (status = 403, body = Problem, description = "forbidden: the temporary password must be changed first")))]
async fn me(EmployeeAuth(session): EmployeeAuth) -> Json<EmployeeView> {
    Json(session.employee.into())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OrderBody {
    /// `employment_confirmation`, `income_certificate`, `payslip`, `visa_letter` or `other`.
    #[serde(default, rename = "type")]
    kind: String,
    /// What it is for (a bank loan, a trip abroad…); for `other`, what is wanted.
    #[serde(default)]
    purpose: String,
    /// `YYYY-MM`, for `income_certificate`.
    period_from: Option<String>,
    period_to: Option<String>,
    /// `YYYY-MM`, for `payslip`.
    month: Option<String>,
    /// `YYYY-MM-DD`, for `visa_letter`.
    leave_from: Option<String>,
    leave_to: Option<String>,
    /// Whom it is for; «по месту требования» when absent.
    addressee: Option<String>,
    /// For `employment_confirmation`: state the salary.
    #[serde(default)]
    include_salary: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentRequestView {
    id: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    /// `submitted`, `in_progress`, `ready`, `rejected` or `issued`.
    status: &'static str,
    purpose: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The last day the law allows (3 working days, art. 62 of the Labour Code).
    due_date: NaiveDate,
    /// Still open after its due date.
    overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    period_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    leave_from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    leave_to: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    addressee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<String>,
    /// The document's number, once made.
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_on: Option<NaiveDate>,
    /// Where the PDF downloads from, once made.
    #[serde(skip_serializing_if = "Option::is_none")]
    document_url: Option<String>,
    /// The document was withdrawn: its code shows it revoked.
    revoked: bool,
}

impl DocumentRequestView {
    pub fn new(r: DocumentRequest, today: NaiveDate, url_base: &str) -> Self {
        let mut view = Self {
            id: r.id.get(),
            kind: r.order.kind.as_str(),
            status: r.status.as_str(),
            purpose: r.order.purpose,
            created_at: r.created_at,
            updated_at: r.updated_at,
            due_date: r.due_on,
            overdue: r.status.is_open() && today > r.due_on,
            period_from: None,
            period_to: None,
            month: None,
            leave_from: None,
            leave_to: None,
            addressee: None,
            reject_reason: r.reject_reason,
            number: r.document.as_ref().map(|d| d.number.clone()),
            issued_on: r.document.as_ref().map(|d| d.issued_on),
            document_url: r
                .status
                .has_document()
                .then(|| format!("{url_base}/{}/document.pdf", r.id)),
            revoked: r.document.as_ref().is_some_and(|d| d.revoked_at.is_some()),
        };
        match r.order.details {
            OrderDetails::EmploymentConfirmation { addressee, .. } => view.addressee = addressee,
            OrderDetails::IncomeCertificate {
                from,
                to,
                addressee,
            } => {
                view.period_from = Some(from.to_string());
                view.period_to = Some(to.to_string());
                view.addressee = addressee;
            }
            OrderDetails::Payslip { month } => view.month = Some(month.to_string()),
            OrderDetails::VisaLetter {
                leave_from,
                leave_to,
                addressee,
            } => {
                view.leave_from = Some(leave_from);
                view.leave_to = Some(leave_to);
                view.addressee = addressee;
            }
            OrderDetails::Other => {}
        }
        view
    }
}

const OWN_REQUESTS: &str = "/api/v1/employee/document-requests";

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentRequestList {
    items: Vec<DocumentRequestView>,
}

/// Orders a document. Types the settings make at once answer `ready` when the payroll is
/// there; the rest are `submitted` for HR, due in 3 working days.
#[utoipa::path(post, path = "/employee/document-requests", tag = "employee", security(("employee" = [])),
    request_body = OrderBody,
    responses((status = 201, body = DocumentRequestView), (status = 401, body = Problem),
              (status = 403, body = Problem, description = "forbidden: the temporary password must be changed first"),
              (status = 422, body = Problem)))]
async fn order(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<(StatusCode, Json<DocumentRequestView>)> {
    let input = OrderInput {
        kind: &body.kind,
        purpose: &body.purpose,
        period_from: body.period_from.as_deref(),
        period_to: body.period_to.as_deref(),
        month: body.month.as_deref(),
        leave_from: body.leave_from.as_deref(),
        leave_to: body.leave_to.as_deref(),
        addressee: body.addressee.as_deref(),
        include_salary: body.include_salary,
    };
    let request = state.kopilka.order_document(&session, &input).await?;
    let today = state.kopilka.today();
    Ok((
        StatusCode::CREATED,
        Json(DocumentRequestView::new(request, today, OWN_REQUESTS)),
    ))
}

/// The employee's requests, newest first.
#[utoipa::path(get, path = "/employee/document-requests", tag = "employee", security(("employee" = [])),
    responses((status = 200, body = DocumentRequestList), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn requests(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
) -> ApiResult<Json<DocumentRequestList>> {
    let today = state.kopilka.today();
    let items = state
        .kopilka
        .employee_requests(&session)
        .await?
        .into_iter()
        .map(|r| DocumentRequestView::new(r, today, OWN_REQUESTS))
        .collect();
    Ok(Json(DocumentRequestList { items }))
}

/// The document's PDF, once `ready` or `issued`; the first download hands it over (`issued`).
#[utoipa::path(get, path = "/employee/document-requests/{id}/document.pdf", tag = "employee", security(("employee" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, content_type = "application/pdf", description = "The document"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: not made yet, or rejected")))]
async fn document(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let bytes = state
        .kopilka
        .employee_document(&session, RequestId::new(id))
        .await?;
    Ok(kopilka_web::pdf_attachment(
        bytes,
        &format!("document-{id}"),
    ))
}
