//! Employees' messages to HR, accounting and administration, from both sides: the employee's
//! (`/employee/messages`, employee tokens) and the department's (`/admin/employee-messages`).

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, EmployeeAuth, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_service::employee_messages::MessageInput;
use kopilka_store::employee_messages::{Thread, ThreadMessage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(write, own_threads))
        .routes(routes!(own_thread))
        .routes(routes!(own_reply))
        .routes(routes!(department_threads))
        .routes(routes!(department_thread))
        .routes(routes!(department_reply))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewMessageBody {
    /// `hr`, `accounting` or `administration`.
    #[serde(default)]
    department: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    /// The document request it is about.
    request_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    id: i64,
    employee_id: i64,
    department: &'static str,
    subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<i64>,
    /// Messages the reader's side has not opened yet.
    unread: u32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ThreadView {
    fn new(t: Thread, unread: u32) -> Self {
        Self {
            id: t.id,
            employee_id: t.employee_id.get(),
            department: t.department.as_str(),
            subject: t.subject,
            request_id: t.request_id.map(|r| r.get()),
            unread,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
    fn for_employee(t: Thread) -> Self {
        let unread = t.unread_by_employee;
        Self::new(t, unread)
    }
    fn for_staff(t: Thread) -> Self {
        let unread = t.unread_by_staff;
        Self::new(t, unread)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    id: i64,
    /// `employee` or `staff`.
    author: &'static str,
    body: String,
    at: DateTime<Utc>,
}

impl From<ThreadMessage> for MessageView {
    fn from(m: ThreadMessage) -> Self {
        Self {
            id: m.id,
            author: m.author.as_str(),
            body: m.body,
            at: m.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadList {
    items: Vec<ThreadView>,
    /// Unread messages over all the threads.
    unread: u32,
}

impl ThreadList {
    fn new(items: Vec<ThreadView>) -> Self {
        let unread = items.iter().map(|t| t.unread).sum();
        Self { items, unread }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadDetail {
    #[serde(flatten)]
    thread: ThreadView,
    messages: Vec<MessageView>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReplyBody {
    #[serde(default)]
    body: String,
}

/// Writes to a department: a new thread with its first message.
#[utoipa::path(post, path = "/employee/messages", tag = "employee", security(("employee" = [])),
    request_body = NewMessageBody,
    responses((status = 201, body = ThreadView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn write(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
    ApiJson(body): ApiJson<NewMessageBody>,
) -> ApiResult<(StatusCode, Json<ThreadView>)> {
    let input = MessageInput {
        department: &body.department,
        subject: &body.subject,
        body: &body.body,
        request_id: body.request_id,
    };
    let thread = state.kopilka.write_to_department(&session, &input).await?;
    Ok((StatusCode::CREATED, Json(ThreadView::for_employee(thread))))
}

/// The employee's threads, latest activity first, with the answers not yet read.
#[utoipa::path(get, path = "/employee/messages", tag = "employee", security(("employee" = [])),
    responses((status = 200, body = ThreadList), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn own_threads(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
) -> ApiResult<Json<ThreadList>> {
    let threads = state.kopilka.employee_threads(&session).await?;
    Ok(Json(ThreadList::new(
        threads.into_iter().map(ThreadView::for_employee).collect(),
    )))
}

/// One thread with its messages; opening it reads the answers.
#[utoipa::path(get, path = "/employee/messages/{id}", tag = "employee", security(("employee" = [])),
    params(("id" = i64, Path, description = "Thread id")),
    responses((status = 200, body = ThreadDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn own_thread(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ThreadDetail>> {
    let (thread, messages) = state.kopilka.employee_thread(&session, id).await?;
    Ok(Json(ThreadDetail {
        thread: ThreadView::for_employee(thread),
        messages: messages.into_iter().map(Into::into).collect(),
    }))
}

/// Answers in one's own thread.
#[utoipa::path(post, path = "/employee/messages/{id}/replies", tag = "employee", security(("employee" = [])),
    params(("id" = i64, Path, description = "Thread id")), request_body = ReplyBody,
    responses((status = 201, body = MessageView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn own_reply(
    State(state): State<AppState>,
    EmployeeAuth(session): EmployeeAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let message = state
        .kopilka
        .employee_reply(&session, id, &body.body)
        .await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

/// The threads of the departments the staff member answers (HR, accounting; administration
/// for administrators and store managers), latest activity first.
#[utoipa::path(get, path = "/admin/employee-messages", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = ThreadList), (status = 403, body = Problem)))]
async fn department_threads(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<Json<ThreadList>> {
    let threads = state.kopilka.department_threads(&auth.staff).await?;
    Ok(Json(ThreadList::new(
        threads.into_iter().map(ThreadView::for_staff).collect(),
    )))
}

/// One thread for its department; opening it reads the employee's messages.
#[utoipa::path(get, path = "/admin/employee-messages/{id}", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Thread id")),
    responses((status = 200, body = ThreadDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn department_thread(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ThreadDetail>> {
    let (thread, messages) = state.kopilka.department_thread(&auth.staff, id).await?;
    Ok(Json(ThreadDetail {
        thread: ThreadView::for_staff(thread),
        messages: messages.into_iter().map(Into::into).collect(),
    }))
}

/// The department answers.
#[utoipa::path(post, path = "/admin/employee-messages/{id}/replies", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Thread id")), request_body = ReplyBody,
    responses((status = 201, body = MessageView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn department_reply(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let message = state
        .kopilka
        .department_reply(&auth.staff, id, &body.body)
        .await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}
