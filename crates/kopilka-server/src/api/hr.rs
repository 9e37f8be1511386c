//! `/admin/*` for HR and accounting: employees' accounts, payroll, and the document queue.

use crate::api::employee::{DocumentRequestView, EmployeeView};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, StaffAuth};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::employee::{EmployeeId, RequestId};
use kopilka_domain::member::StoreId;
use kopilka_service::employees::EmployeeInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use kopilka_web::UPLOAD_LIMIT_BYTES;

const QUEUE_URLS: &str = "/api/v1/admin/document-requests";

pub fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(import_payroll))
        .routes(routes!(make_ready))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES));
    OpenApiRouter::new()
        .routes(routes!(create_employee, employees))
        .routes(routes!(reset_password))
        .routes(routes!(deactivate))
        .routes(routes!(queue))
        .routes(routes!(request_detail))
        .routes(routes!(start))
        .routes(routes!(reject))
        .routes(routes!(revoke))
        .routes(routes!(staff_document))
        .merge(uploads)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewEmployeeBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    store_id: i64,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    hired: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedAccount {
    employee: EmployeeView,
    /// Shown once: hand it to the employee, who must change it at first sign-in.
    temporary_password: String,
}

/// HR opens an employee's account; the temporary password is in the answer, once.
#[utoipa::path(post, path = "/admin/employees", tag = "admin", security(("staff" = [])), request_body = NewEmployeeBody,
    responses((status = 201, body = IssuedAccount), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_employee(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<NewEmployeeBody>,
) -> ApiResult<(StatusCode, Json<IssuedAccount>)> {
    let (employee, password) = state
        .kopilka
        .create_employee(
            &auth.staff,
            &EmployeeInput {
                login: &body.login,
                full_name: &body.full_name,
                position: &body.position,
                store_id: StoreId::new(body.store_id),
                hired_on: &body.hired,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedAccount {
            employee: employee.into(),
            temporary_password: password,
        }),
    ))
}

/// Every employee account, by name (HR).
#[utoipa::path(get, path = "/admin/employees", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = [EmployeeView]), (status = 403, body = Problem)))]
async fn employees(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<Json<Vec<EmployeeView>>> {
    let all = state.kopilka.employees(&auth.staff).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemporaryPassword {
    temporary_password: String,
}

/// A new temporary password for a forgotten one (HR); every session of theirs ends.
#[utoipa::path(post, path = "/admin/employees/{id}/password", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Employee id")),
    responses((status = 200, body = TemporaryPassword), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: the account is closed")))]
async fn reset_password(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TemporaryPassword>> {
    let temporary_password = state
        .kopilka
        .reset_employee_password(&auth.staff, EmployeeId::new(id))
        .await?;
    Ok(Json(TemporaryPassword { temporary_password }))
}

/// Closes an employee's account (HR): no more sign-ins, every session ends.
#[utoipa::path(post, path = "/admin/employees/{id}/deactivate", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Employee id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: already closed")))]
async fn deactivate(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .kopilka
        .deactivate_employee(&auth.staff, EmployeeId::new(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayrollImported {
    rows: u64,
}

/// Imports payroll from CSV (accounting), all or nothing; the months in the file are
/// replaced. Columns: `employee` (login), `month` (YYYY-MM), `gross`, `tax`, `net` (roubles),
/// optional `accruals` and `deductions` (`salary:80000; bonus:5000`).
#[utoipa::path(post, path = "/admin/payroll", tag = "admin", security(("staff" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = PayrollImported), (status = 403, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem, description = "validation_failed with errors [{line, message}]; nothing imported")))]
async fn import_payroll(
    State(state): State<AppState>,
    auth: StaffAuth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<PayrollImported>)> {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv") || v.starts_with("text/plain"));
    if !csv {
        return Err(ApiError::unsupported_media_type());
    }
    let rows = state.kopilka.import_payroll(&auth.staff, &body).await?;
    Ok((StatusCode::CREATED, Json(PayrollImported { rows })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    request: DocumentRequestView,
    employee: EmployeeView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    items: Vec<QueueItem>,
}

/// HR's queue: open requests, the earliest deadline first (so the overdue lead).
#[utoipa::path(get, path = "/admin/document-requests", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = Queue), (status = 403, body = Problem)))]
async fn queue(State(state): State<AppState>, auth: StaffAuth) -> ApiResult<Json<Queue>> {
    let today = state.kopilka.today();
    let items = state
        .kopilka
        .document_queue(&auth.staff)
        .await?
        .into_iter()
        .map(|(r, e)| QueueItem {
            request: DocumentRequestView::new(r, today, QUEUE_URLS),
            employee: e.into(),
        })
        .collect();
    Ok(Json(Queue { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    status: &'static str,
    /// `employee:<id>`, `staff:<id>` or `system`.
    actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    request: DocumentRequestView,
    employee: EmployeeView,
    /// Every change of status, with who and when, oldest first.
    events: Vec<EventView>,
}

async fn detail(state: &AppState, auth: &StaffAuth, id: i64) -> ApiResult<Json<RequestDetail>> {
    let (request, employee, events) = state
        .kopilka
        .document_request_for_staff(&auth.staff, RequestId::new(id))
        .await?;
    Ok(Json(RequestDetail {
        request: DocumentRequestView::new(request, state.kopilka.today(), QUEUE_URLS),
        employee: employee.into(),
        events: events
            .into_iter()
            .map(|e| EventView {
                status: e.status.as_str(),
                actor: e.actor,
                reason: e.reason,
                at: e.at,
            })
            .collect(),
    }))
}

/// One request with its employee and history (HR, accounting).
#[utoipa::path(get, path = "/admin/document-requests/{id}", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn request_detail(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RequestDetail>> {
    detail(&state, &auth, id).await
}

/// Takes a request into work (`submitted` → `in_progress`).
#[utoipa::path(post, path = "/admin/document-requests/{id}/start", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict")))]
async fn start(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RequestDetail>> {
    state
        .kopilka
        .start_document_request(&auth.staff, RequestId::new(id))
        .await?;
    detail(&state, &auth, id).await
}

/// Makes the document: from the employee's and payroll data for the standard types; for
/// `other`, the body is the PDF HR made elsewhere (`application/pdf`).
#[utoipa::path(post, path = "/admin/document-requests/{id}/ready", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "Only for `other`"),
    responses((status = 200, body = RequestDetail), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: already made, rejected or issued"),
              (status = 413, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: payroll missing for the period, or no PDF attached")))]
async fn make_ready(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> ApiResult<Json<RequestDetail>> {
    let attachment = (!body.is_empty()).then(|| body.to_vec());
    state
        .kopilka
        .make_document_ready(&auth.staff, RequestId::new(id), attachment)
        .await?;
    detail(&state, &auth, id).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RejectBody {
    #[serde(default)]
    reason: String,
}

/// Refuses a request, saying why; the employee sees the reason.
#[utoipa::path(post, path = "/admin/document-requests/{id}/reject", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Request id")), request_body = RejectBody,
    responses((status = 200, body = RequestDetail), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict"), (status = 422, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<Json<RequestDetail>> {
    state
        .kopilka
        .reject_document_request(&auth.staff, RequestId::new(id), &body.reason)
        .await?;
    detail(&state, &auth, id).await
}

/// Withdraws a document: its verification page shows it revoked from now on.
#[utoipa::path(post, path = "/admin/document-requests/{id}/revoke", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "state_conflict: no document, or revoked already")))]
async fn revoke(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RequestDetail>> {
    state
        .kopilka
        .revoke_document(&auth.staff, RequestId::new(id))
        .await?;
    detail(&state, &auth, id).await
}

/// The document's PDF as made, for HR to check or print.
#[utoipa::path(get, path = "/admin/document-requests/{id}/document.pdf", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, content_type = "application/pdf", description = "The document"),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_document(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let bytes = state
        .kopilka
        .staff_document(&auth.staff, RequestId::new(id))
        .await?;
    Ok(kopilka_web::pdf_attachment(
        bytes,
        &format!("document-{id}"),
    ))
}
