//! `/admin/*`: the back office's calls (staff tokens only).

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use kopilka_domain::staff::Role;
use kopilka_domain::Validation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(liability))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StaffLoginBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    /// The current six-digit code of the second factor, once enrolled.
    #[serde(default)]
    totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffSignedIn {
    token: String,
    #[schema(value_type = Vec<String>)]
    roles: Vec<Role>,
}

/// Staff sign-in: password, then the second factor once enrolled. Throttled per account,
/// per address and overall, like a customer's.
#[utoipa::path(post, path = "/admin/auth/login", tag = "admin", request_body = StaffLoginBody,
    responses((status = 200, body = StaffSignedIn),
              (status = 401, body = Problem, description = "invalid_credentials (a wrong password or code, or a disabled account)"),
              (status = 403, body = Problem, description = "forbidden: the role requires a second factor and none is enrolled"),
              (status = 429, body = Problem, description = "rate_limited, with Retry-After")))]
async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<StaffLoginBody>,
) -> ApiResult<Json<StaffSignedIn>> {
    let mut v = Validation::default();
    let login = v.check("login", kopilka_domain::staff::parse_login(&body.login));
    if body.password.is_empty() {
        v.add("password", "field_required");
    }
    let (Some(login), true) = (login, v.is_ok()) else {
        return Err(v.into_error().into());
    };
    let (token, staff) = state
        .kopilka
        .staff_sign_in(&login, body.password, body.totp.as_deref(), &client)
        .await?;
    Ok(Json(StaffSignedIn {
        token,
        roles: staff.roles,
    }))
}

/// Staff sign-out: the token stops working.
#[utoipa::path(post, path = "/admin/auth/logout", tag = "admin", security(("staff" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<axum::http::StatusCode> {
    state
        .kopilka
        .sign_out(kopilka_store::TokenKind::Staff, &auth.token)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiabilityView {
    /// Points the chain owes its members: the sum of their balances.
    liability_points: i64,
    /// Points deleted accounts left behind, forfeited (no longer owed).
    forfeited_points: i64,
    /// Sum of debits and of credits over every account; equal in a healthy ledger.
    debits: i64,
    credits: i64,
    balanced: bool,
}

/// The points liability, and a check that the ledger balances (administrators, accounting).
#[utoipa::path(get, path = "/admin/reports/liability", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = LiabilityView), (status = 403, body = Problem)))]
async fn liability(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<Json<LiabilityView>> {
    let t = state.kopilka.liability(&auth.staff).await?;
    Ok(Json(LiabilityView {
        liability_points: t.member_balances,
        forfeited_points: t.forfeited,
        debits: t.debits,
        credits: t.credits,
        balanced: t.debits == t.credits && t.debits == t.transfers,
    }))
}
