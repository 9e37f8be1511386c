//! `/admin/tills`: store managers open a store's till keys, list them and revoke them.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::earning::{TillId, TillKind};
use kopilka_domain::member::StoreId;
use kopilka_domain::Validation;
use kopilka_service::staff::Caller;
use kopilka_store::TillListing;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tills, create_till))
        .routes(routes!(revoke_till))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TillView {
    id: i64,
    store_id: i64,
    /// `staffed` or `self_checkout`.
    kind: &'static str,
    /// `active` or `revoked`.
    status: &'static str,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<&TillListing> for TillView {
    fn from(t: &TillListing) -> Self {
        Self {
            id: t.till.id.get(),
            store_id: t.till.store_id.get(),
            kind: t.till.kind.as_str(),
            status: if t.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            },
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TillsView {
    items: Vec<TillView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TillsQuery {
    /// Only this store's tills.
    store_id: Option<i64>,
}

/// The tills, oldest first (store managers, administrators).
#[utoipa::path(get, path = "/admin/tills", tag = "admin", params(TillsQuery), security(("staff" = [])),
    responses((status = 200, body = TillsView), (status = 403, body = Problem)))]
async fn list_tills(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<TillsQuery>,
) -> ApiResult<Json<TillsView>> {
    let tills = state
        .kopilka
        .tills(Caller::Staff(&auth.staff), query.store_id.map(StoreId::new))
        .await?;
    Ok(Json(TillsView {
        items: tills.iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct NewTillBody {
    store_id: i64,
    /// `staffed` (default) or `self_checkout`: self-checkout earns at its own rate (SPEC 3.1).
    kind: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewTillView {
    #[serde(flatten)]
    till: TillView,
    /// The till's key, shown only now: the till sends it as `Authorization: Bearer`.
    key: String,
}

/// Open a till for a store (store managers, administrators); the key is shown only in this
/// answer, and only its hash is kept.
#[utoipa::path(post, path = "/admin/tills", tag = "admin", security(("staff" = [])), request_body = NewTillBody,
    responses((status = 201, body = NewTillView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: an unknown store or kind")))]
async fn create_till(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<NewTillBody>,
) -> ApiResult<(StatusCode, Json<NewTillView>)> {
    let mut v = Validation::default();
    let kind = v.check(
        "kind",
        body.kind
            .as_deref()
            .map_or(Ok(TillKind::Staffed), TillKind::parse),
    );
    v.finish()?;
    let Some(kind) = kind else {
        return Err(Validation::default().into_error().into());
    };
    let (listing, key) = state
        .kopilka
        .create_till(
            Caller::Staff(&auth.staff),
            StoreId::new(body.store_id),
            kind,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTillView {
            till: (&listing).into(),
            key,
        }),
    ))
}

/// Revoke a till's key (store managers, administrators): every node refuses it within the key
/// cache's lifetime (a second by default).
#[utoipa::path(post, path = "/admin/tills/{id}/revoke", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Till id")),
    responses((status = 204), (status = 403, body = Problem),
              (status = 404, body = Problem, description = "no such live till")))]
async fn revoke_till(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .kopilka
        .revoke_till(Caller::Staff(&auth.staff), TillId::new(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
