//! `/me/sessions` and `/me/password`: the customer's own control over where they are signed in.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ClientInfo, SignedIn};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::password::NewPassword;
use kopilka_domain::Validation;
use kopilka_service::security::masked_ip;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sessions))
        .routes(routes!(end_session))
        .routes(routes!(change_password))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    id: i64,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    user_agent: String,
    /// The network it was opened from; the host part is hidden.
    #[schema(example = "203.0.113.*")]
    ip: String,
    /// The session this request came in.
    current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsView {
    items: Vec<SessionView>,
}

/// Where the customer is signed in, newest first.
#[utoipa::path(get, path = "/me/sessions", tag = "me", security(("customer" = [])),
    responses((status = 200, body = SessionsView), (status = 401, body = Problem)))]
async fn sessions(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> ApiResult<Json<SessionsView>> {
    let items = state
        .kopilka
        .customer_sessions(&session)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: s.id == session.session_id,
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            user_agent: s.user_agent,
            ip: masked_ip(&s.ip),
        })
        .collect();
    Ok(Json(SessionsView { items }))
}

/// End one session (this one too, if it is named).
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "me", security(("customer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "not_found: no such live session of yours")))]
async fn end_session(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.kopilka.end_customer_session(&session, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordBody {
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
}

/// Change the password; every other session ends. The old password is checked against the
/// same budget as a sign-in.
#[utoipa::path(post, path = "/me/password", tag = "me", security(("customer" = [])), request_body = PasswordBody,
    responses((status = 204), (status = 401, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: a wrong old password or a weak new one"),
              (status = 429, body = Problem, description = "rate_limited")))]
async fn change_password(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let mut v = Validation::default();
    if body.old_password.is_empty() {
        v.add("old_password", "field_required");
    }
    let card_numbers: Vec<String> = state
        .kopilka
        .cards(session.member.id)
        .await?
        .iter()
        .map(|c| c.number.as_str().to_owned())
        .collect();
    let mut logins: Vec<&str> = card_numbers.iter().map(String::as_str).collect();
    logins.push(session.member.phone.as_str());
    let new_password = v.check(
        "new_password",
        NewPassword::parse(
            &body.new_password,
            state.kopilka.rules().password_min_chars,
            &logins,
        ),
    );
    let (Some(new_password), true) = (new_password, v.is_ok()) else {
        return Err(v.into_error().into());
    };
    state
        .kopilka
        .change_password(&session, body.old_password, &new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
