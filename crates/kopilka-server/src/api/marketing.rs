//! `/admin/offers`, `/admin/reach` and `/admin/promotions`: marketing writes personal offers
//! with their targeting and schedule, sees how many customers a targeting reaches now, and
//! schedules promotions and events.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::member::StoreId;
use kopilka_domain::offers::{Offer, OfferId, OfferReward, OfferTarget, Schedule};
use kopilka_store::{Promotion, PromotionKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(offers, create_offer))
        .routes(routes!(offer, update_offer))
        .routes(routes!(reach))
        .routes(routes!(promotions, create_promotion))
        .routes(routes!(update_promotion))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarketingOfferView {
    id: i64,
    title: String,
    description: String,
    /// `{kind: "category_points", category_id, extra_multiplier}`, `{kind: "product_points",
    /// sku, extra_multiplier}` or `{kind: "receipt_bonus", min_paid_kop, points}`.
    #[schema(value_type = Object)]
    reward: OfferReward,
    /// `{kind: "everyone"}`, `{kind: "favourite_category", category_id}`, `{kind: "city",
    /// city}`, `{kind: "birthday_month"}` or `{kind: "inactive", days}`.
    #[schema(value_type = Object)]
    target: OfferTarget,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    per_customer_limit: u32,
    /// `scheduled`, `running` or `ended`.
    status: &'static str,
}

fn offer_view(o: Offer, now: DateTime<Utc>) -> MarketingOfferView {
    MarketingOfferView {
        status: Schedule::at(o.starts_at, o.ends_at, now).as_str(),
        id: o.id.get(),
        title: o.title,
        description: o.description,
        reward: o.reward,
        target: o.target,
        starts_at: o.starts_at,
        ends_at: o.ends_at,
        per_customer_limit: o.per_customer_limit,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarketingOffersView {
    items: Vec<MarketingOfferView>,
}

/// Every personal offer, the newest first, with where its schedule stands (marketing,
/// administrators).
#[utoipa::path(get, path = "/admin/offers", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = MarketingOffersView), (status = 403, body = Problem)))]
async fn offers(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<Json<MarketingOffersView>> {
    let now = state.kopilka.now();
    let offers = state.kopilka.marketing_offers(&auth.staff).await?;
    Ok(Json(MarketingOffersView {
        items: offers.into_iter().map(|o| offer_view(o, now)).collect(),
    }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct OfferBody {
    title: String,
    #[serde(default)]
    description: String,
    #[schema(value_type = Object)]
    reward: OfferReward,
    #[schema(value_type = Object)]
    target: OfferTarget,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// How many purchases of one customer it may add to: 1 to 100.
    per_customer_limit: u32,
}

impl OfferBody {
    fn offer(self) -> Offer {
        Offer {
            id: OfferId::new(0),
            title: self.title,
            description: self.description,
            reward: self.reward,
            target: self.target,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            per_customer_limit: self.per_customer_limit,
        }
    }
}

/// Add a personal offer (marketing, administrators); audited.
#[utoipa::path(post, path = "/admin/offers", tag = "admin", security(("staff" = [])), request_body = OfferBody,
    responses((status = 201, body = MarketingOfferView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "validation_failed, every wrong field named")))]
async fn create_offer(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<OfferBody>,
) -> ApiResult<(StatusCode, Json<MarketingOfferView>)> {
    let saved = state
        .kopilka
        .save_offer(&auth.staff, None, body.offer())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(offer_view(saved, state.kopilka.now())),
    ))
}

/// One offer (marketing, administrators).
#[utoipa::path(get, path = "/admin/offers/{id}", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Offer id")),
    responses((status = 200, body = MarketingOfferView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn offer(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MarketingOfferView>> {
    let offer = state
        .kopilka
        .marketing_offer(&auth.staff, OfferId::new(id))
        .await?;
    Ok(Json(offer_view(offer, state.kopilka.now())))
}

/// Change an offer: its text, reward, targeting or schedule (marketing, administrators);
/// audited with what it was before.
#[utoipa::path(put, path = "/admin/offers/{id}", tag = "admin", security(("staff" = [])), request_body = OfferBody,
    params(("id" = i64, Path, description = "Offer id")),
    responses((status = 200, body = MarketingOfferView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn update_offer(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<OfferBody>,
) -> ApiResult<Json<MarketingOfferView>> {
    let saved = state
        .kopilka
        .save_offer(&auth.staff, Some(OfferId::new(id)), body.offer())
        .await?;
    Ok(Json(offer_view(saved, state.kopilka.now())))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ReachBody {
    /// A targeting, as in an offer.
    #[schema(value_type = Object)]
    target: OfferTarget,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReachView {
    /// Customers the targeting reaches now (deleted accounts aside).
    customers: u64,
}

/// How many customers a targeting reaches now, by the rule that shows them the offer
/// (marketing, administrators).
#[utoipa::path(post, path = "/admin/reach", tag = "admin", security(("staff" = [])), request_body = ReachBody,
    responses((status = 200, body = ReachView), (status = 403, body = Problem), (status = 400, body = Problem)))]
async fn reach(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<ReachBody>,
) -> ApiResult<Json<ReachView>> {
    let customers = state.kopilka.reach(&auth.staff, &body.target).await?;
    Ok(Json(ReachView { customers }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarketingPromotionView {
    id: i64,
    /// `promotion` or `event`.
    kind: &'static str,
    title: String,
    description: String,
    /// None: the whole chain.
    city: Option<String>,
    store_id: Option<i64>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// `scheduled`, `running` or `ended`.
    status: &'static str,
}

fn promotion_view(p: Promotion, now: DateTime<Utc>) -> MarketingPromotionView {
    MarketingPromotionView {
        status: Schedule::at(p.starts_at, p.ends_at, now).as_str(),
        id: p.id,
        kind: p.kind.as_str(),
        title: p.title,
        description: p.description,
        city: p.city,
        store_id: p.store_id.map(StoreId::get),
        starts_at: p.starts_at,
        ends_at: p.ends_at,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarketingPromotionsView {
    items: Vec<MarketingPromotionView>,
}

/// Promotions and events of every city and time, the newest first (marketing,
/// administrators).
#[utoipa::path(get, path = "/admin/promotions", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = MarketingPromotionsView), (status = 403, body = Problem)))]
async fn promotions(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<Json<MarketingPromotionsView>> {
    let now = state.kopilka.now();
    let items = state.kopilka.marketing_promotions(&auth.staff).await?;
    Ok(Json(MarketingPromotionsView {
        items: items.into_iter().map(|p| promotion_view(p, now)).collect(),
    }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PromotionBody {
    /// `promotion` or `event`.
    kind: String,
    title: String,
    #[serde(default)]
    description: String,
    /// None: the whole chain.
    city: Option<String>,
    store_id: Option<i64>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

impl PromotionBody {
    fn promotion(self) -> Result<Promotion, kopilka_domain::DomainError> {
        let kind = PromotionKind::parse(&self.kind)
            .ok_or_else(|| kopilka_domain::DomainError::field("kind", "promotion_kind_invalid"))?;
        Ok(Promotion {
            id: 0,
            kind,
            title: self.title,
            description: self.description,
            city: self.city,
            store_id: self.store_id.map(StoreId::new),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        })
    }
}

/// Schedule a promotion or an event, for the chain, a city or a store (marketing,
/// administrators); audited.
#[utoipa::path(post, path = "/admin/promotions", tag = "admin", security(("staff" = [])), request_body = PromotionBody,
    responses((status = 201, body = MarketingPromotionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_promotion(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<PromotionBody>,
) -> ApiResult<(StatusCode, Json<MarketingPromotionView>)> {
    let saved = state
        .kopilka
        .save_promotion(&auth.staff, None, body.promotion()?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(promotion_view(saved, state.kopilka.now())),
    ))
}

/// Change a promotion or event (marketing, administrators); audited with what it was.
#[utoipa::path(put, path = "/admin/promotions/{id}", tag = "admin", security(("staff" = [])), request_body = PromotionBody,
    params(("id" = i64, Path, description = "Promotion id")),
    responses((status = 200, body = MarketingPromotionView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn update_promotion(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PromotionBody>,
) -> ApiResult<Json<MarketingPromotionView>> {
    let saved = state
        .kopilka
        .save_promotion(&auth.staff, Some(id), body.promotion()?)
        .await?;
    Ok(Json(promotion_view(saved, state.kopilka.now())))
}
