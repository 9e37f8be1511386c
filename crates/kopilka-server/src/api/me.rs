//! `/me/*`: the signed-in customer's profile, points and cards.

use super::views::*;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Customer};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kopilka_domain::member::{self, Gender};
use kopilka_domain::Validation;
use kopilka_service::profile::ProfilePatch;
use kopilka_text::Message;
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, patch_me))
        .routes(routes!(favourite_category))
        .routes(routes!(balance))
        .routes(routes!(history))
        .routes(routes!(cards))
}

/// The signed-in customer's profile.
#[utoipa::path(get, path = "/me", tag = "me", security(("customer" = [])),
    responses((status = 200, body = MemberView), (status = 401, body = Problem)))]
async fn me(Customer(member): Customer) -> Json<MemberView> {
    Json((&member).into())
}

/// Absent: unchanged; `null`: cleared (optional fields only).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize, serde::Serialize, ToSchema)]
#[serde(default)]
pub struct PatchConsents {
    newsletters: Option<bool>,
    personal_data: Option<bool>,
}

/// Any profile fields; absent ones stay as they are, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchMeBody {
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    last_name: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    first_name: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    gender: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    birth_date: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    city: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    favourite_store_id: Option<Option<i64>>,
    /// Subject to the once-a-month rule.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    favourite_category_id: Option<Option<i64>>,
    /// `personal_data: false` withdraws the consent, which deletes the account (as
    /// `DELETE /me` does): only with `confirm_deletion: true`.
    consents: PatchConsents,
    /// Confirms that withdrawing the personal-data consent deletes the account.
    confirm_deletion: bool,
}

/// A required field may be changed but not cleared.
fn required_change<T>(
    v: &mut Validation,
    field: &str,
    value: Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, Message>,
) -> Option<T> {
    match value {
        None => None,
        Some(None) => {
            v.add(field, "required_not_cleared");
            None
        }
        Some(Some(s)) => v.check(field, parse(&s)),
    }
}

impl PatchMeBody {
    fn parse(self, state: &AppState) -> Result<ProfilePatch, kopilka_domain::DomainError> {
        let rules = state.kopilka.rules();
        let today = state.kopilka.today();
        let mut v = Validation::default();
        let patch = ProfilePatch {
            last_name: required_change(&mut v, "last_name", self.last_name, |s| {
                member::parse_name(s).map_err(Message::from)
            }),
            gender: required_change(&mut v, "gender", self.gender, |s| {
                Gender::parse(s).map_err(Message::from)
            }),
            birth_date: required_change(&mut v, "birth_date", self.birth_date, |s| {
                member::parse_birth_date(s, today, rules.min_age_years)
            }),
            city: required_change(&mut v, "city", self.city, |s| {
                member::parse_city(s).map_err(Message::from)
            }),
            first_name: match self.first_name {
                Some(Some(s)) if !s.trim().is_empty() => {
                    v.check("first_name", member::parse_name(&s)).map(Some)
                }
                Some(_) => Some(None),
                None => None,
            },
            email: match self.email {
                Some(Some(s)) if !s.trim().is_empty() => {
                    v.check("email", member::parse_email(&s)).map(Some)
                }
                Some(_) => Some(None),
                None => None,
            },
            favourite_store_id: self.favourite_store_id,
            favourite_category_id: match self.favourite_category_id {
                Some(None) => {
                    v.add("favourite_category_id", "required_not_cleared");
                    None
                }
                Some(Some(id)) => Some(id),
                None => None,
            },
            newsletters: self.consents.newsletters,
        };
        // A withdrawal never gets here (see `patch_me`): a confirmation alone confirms nothing.
        if self.confirm_deletion {
            v.add("confirm_deletion", "confirm_deletion_only_withdrawal");
        }
        v.finish()?;
        Ok(patch)
    }
}

/// Change profile fields. Withdrawing the personal-data consent deletes the account: with
/// `confirm_deletion: true` it is deleted (204), without it nothing changes (422).
#[utoipa::path(patch, path = "/me", tag = "me", security(("customer" = [])), request_body = PatchMeBody,
    responses((status = 200, body = MemberView),
              (status = 204, description = "the consent withdrawn, the account deleted"),
              (status = 409, body = Problem, description = "favourite_category_locked"),
              (status = 422, body = Problem, description = "validation_failed")))]
async fn patch_me(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiJson(body): ApiJson<PatchMeBody>,
) -> ApiResult<Response> {
    // The other fields do not matter then: the account is going, or nothing changes.
    if body.consents.personal_data == Some(false) {
        state
            .kopilka
            .withdraw_personal_data_consent(&member, body.confirm_deletion)
            .await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let patch = body.parse(&state)?;
    let updated = state.kopilka.update_profile(&member, patch).await?;
    Ok(Json(MemberView::from(&updated)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FavouriteBody {
    category_id: Option<i64>,
}

/// Choose the favourite category: once per calendar month (the choice at registration counts).
#[utoipa::path(put, path = "/me/favourite-category", tag = "me", security(("customer" = [])), request_body = FavouriteBody,
    responses((status = 200, body = MemberView),
              (status = 409, body = Problem, description = "favourite_category_locked, with next_change_at"),
              (status = 422, body = Problem, description = "validation_failed")))]
async fn favourite_category(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiJson(body): ApiJson<FavouriteBody>,
) -> ApiResult<Json<MemberView>> {
    let Some(category) = body.category_id else {
        return Err(kopilka_domain::DomainError::field("category_id", "field_required").into());
    };
    state
        .kopilka
        .change_favourite_category(&member, category)
        .await?;
    let member = state.kopilka.member(member.id).await?;
    Ok(Json((&member).into()))
}

/// Available, pending and soon-expiring points.
#[utoipa::path(get, path = "/me/balance", tag = "me", security(("customer" = [])),
    responses((status = 200, body = BalanceView), (status = 401, body = Problem)))]
async fn balance(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<Json<BalanceView>> {
    let balance = state.kopilka.balance(member.id).await?;
    Ok(Json((&balance).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// 1 to 100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Every movement of points, newest first.
#[utoipa::path(get, path = "/me/history", tag = "me", security(("customer" = [])), params(HistoryQuery),
    responses((status = 200, body = HistoryPageView), (status = 422, body = Problem)))]
async fn history(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryPageView>> {
    let page = state
        .kopilka
        .history(member.id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(HistoryPageView {
        items: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The customer's cards, the active one first.
#[utoipa::path(get, path = "/me/cards", tag = "me", security(("customer" = [])),
    responses((status = 200, body = [CardView])))]
async fn cards(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<Json<Vec<CardView>>> {
    let cards = state.kopilka.cards(member.id).await?;
    Ok(Json(cards.iter().map(Into::into).collect()))
}
