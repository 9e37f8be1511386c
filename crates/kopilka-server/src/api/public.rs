//! Public reference data and forms: no credentials needed (API.md "Public").

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, ClientIp};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::geo::{Point, MAX_DISTANCE_M};
use kopilka_domain::Validation;
use kopilka_service::catalog::{ProductSearch, StoreSearch};
use kopilka_service::support::{Feedback, FeedbackInput};
use kopilka_store::{Promotion, PromotionKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Pages of products and lists of stores are at most this long.
const PAGE_MAX: u32 = 100;
const PRODUCTS_PAGE_DEFAULT: u32 = 20;
const STORES_DEFAULT: u32 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(categories))
        .routes(routes!(products))
        .routes(routes!(stores))
        .routes(routes!(promotions))
        .routes(routes!(events))
        .routes(routes!(contacts))
        .routes(routes!(feedback))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
}

/// The product category tree, as a flat list with parents.
#[utoipa::path(get, path = "/categories", tag = "public", responses((status = 200, body = [CategoryView])))]
async fn categories(State(state): State<AppState>) -> ApiResult<Json<Vec<CategoryView>>> {
    let all = state.kopilka.categories().await?;
    Ok(Json(
        all.into_iter()
            .map(|c| CategoryView {
                id: c.id,
                name: c.name,
                parent_id: c.parent_id,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductsQuery {
    /// Words to find, in any Russian word form («молока» finds «Молоко»).
    q: Option<String>,
    /// Only this category and the ones below it.
    category_id: Option<i64>,
    /// 1–100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub sku: String,
    pub name: String,
    pub category_id: i64,
    pub price_kop: i64,
    /// шт, кг, л or уп.
    pub unit: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPageView {
    pub items: Vec<ProductView>,
    pub next_cursor: Option<String>,
}

fn limit(v: &mut Validation, limit: Option<u32>, default: u32) -> u32 {
    match limit {
        None => default,
        Some(n) if (1..=PAGE_MAX).contains(&n) => n,
        Some(_) => {
            v.add(
                "limit",
                kopilka_text::Message::new("range_1_to").with("max", PAGE_MAX),
            );
            default
        }
    }
}

/// The catalogue: search by words and category; products named by the first word come
/// first, then by name. Pages by cursor.
#[utoipa::path(get, path = "/products", tag = "public", params(ProductsQuery),
    responses((status = 200, body = ProductPageView), (status = 400, body = Problem)))]
async fn products(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ProductsQuery>,
) -> ApiResult<Json<ProductPageView>> {
    let mut v = Validation::default();
    let limit = limit(&mut v, query.limit, PRODUCTS_PAGE_DEFAULT);
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        v.add("q", "text_at_most_200");
    }
    v.finish()?;
    let page = state
        .kopilka
        .products(ProductSearch {
            text: query.q.as_deref(),
            category_id: query.category_id,
            limit,
            cursor: query.cursor.as_deref().filter(|c| !c.is_empty()),
        })
        .await?;
    Ok(Json(ProductPageView {
        items: page
            .items
            .into_iter()
            .map(|p| ProductView {
                sku: p.sku,
                name: p.name,
                category_id: p.category_id,
                price_kop: p.price_kop,
                unit: p.unit,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    /// Great-circle metres from the point asked about; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<u64>,
    pub hours: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoresQuery {
    /// Latitude of the point to measure from (with `lon`).
    lat: Option<f64>,
    /// Longitude of the point to measure from (with `lat`).
    lon: Option<f64>,
    /// Only stores this close to the point, in metres.
    radius_m: Option<f64>,
    /// Only stores in this city.
    city: Option<String>,
    /// 1–100, default 20.
    limit: Option<u32>,
}

/// The chain's stores: nearest first when a point is given, with the distance in metres.
#[utoipa::path(get, path = "/stores", tag = "public", params(StoresQuery),
    responses((status = 200, body = [StoreView]), (status = 400, body = Problem)))]
async fn stores(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StoresQuery>,
) -> ApiResult<Json<Vec<StoreView>>> {
    let mut v = Validation::default();
    let limit = limit(&mut v, query.limit, STORES_DEFAULT);
    let point = match (query.lat, query.lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let p = Point::new(lat, lon);
            if p.is_none() {
                v.add("lat", "coordinates_range");
            }
            p
        }
        (None, Some(_)) => {
            v.add("lat", "lat_needs_lon");
            None
        }
        (Some(_), None) => {
            v.add("lon", "lon_needs_lat");
            None
        }
    };
    if let Some(r) = query.radius_m {
        if !(r > 0.0 && r <= MAX_DISTANCE_M) {
            v.add("radius_m", "radius_range");
        } else if query.lat.is_none() {
            v.add("radius_m", "radius_needs_point");
        }
    }
    v.finish()?;
    let found = state
        .kopilka
        .stores_nearby(StoreSearch {
            point,
            radius_m: query.radius_m,
            city: query.city.as_deref(),
            limit,
        })
        .await?;
    Ok(Json(
        found
            .into_iter()
            .map(|n| StoreView {
                id: n.store.id.get(),
                name: n.store.name,
                city: n.store.city,
                address: n.store.address,
                lat: n.store.lat,
                lon: n.store.lon,
                distance_m: n.distance_m,
                hours: n.store.hours,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PromotionsQuery {
    /// Chain-wide ones and this city's.
    city: Option<String>,
    /// Start of the period (a date, Moscow time, or an RFC 3339 time); default: now.
    from: Option<String>,
    /// End of the period, exclusive; default: open.
    to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionView {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// Absent: the whole chain.
    pub city: Option<String>,
    pub store_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `current` or `planned`.
    pub status: &'static str,
}

fn parse_instant(state: &AppState, input: &str) -> Result<DateTime<Utc>, &'static str> {
    if let Ok(t) = DateTime::parse_from_rfc3339(input) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(input, "%Y-%m-%d").map_err(|_| "instant_format")?;
    let tz = state.kopilka.rules().timezone;
    date.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or("instant_missing")
}

async fn list_promotions(
    state: &AppState,
    kind: PromotionKind,
    query: PromotionsQuery,
) -> ApiResult<Json<Vec<PromotionView>>> {
    let mut v = Validation::default();
    let from = v.check_opt(
        "from",
        query.from.as_deref().map(|s| parse_instant(state, s)),
    );
    let to = v.check_opt("to", query.to.as_deref().map(|s| parse_instant(state, s)));
    v.finish()?;
    let now = state.kopilka.now();
    let items = state
        .kopilka
        .promotions(kind, query.city.as_deref(), from.flatten(), to.flatten())
        .await?;
    Ok(Json(
        items
            .into_iter()
            .map(|p: Promotion| PromotionView {
                status: if p.starts_at <= now {
                    "current"
                } else {
                    "planned"
                },
                id: p.id,
                title: p.title,
                description: p.description,
                city: p.city,
                store_id: p.store_id.map(|id| id.get()),
                starts_at: p.starts_at,
                ends_at: p.ends_at,
            })
            .collect(),
    ))
}

/// Promotions running or planned in the period, chain-wide and in the city; soonest first.
#[utoipa::path(get, path = "/promotions", tag = "public", params(PromotionsQuery),
    responses((status = 200, body = [PromotionView]), (status = 400, body = Problem)))]
async fn promotions(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PromotionsQuery>,
) -> ApiResult<Json<Vec<PromotionView>>> {
    list_promotions(&state, PromotionKind::Promotion, query).await
}

/// Events in stores (tastings, master classes, fairs), like promotions.
#[utoipa::path(get, path = "/events", tag = "public", params(PromotionsQuery),
    responses((status = 200, body = [PromotionView]), (status = 400, body = Problem)))]
async fn events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PromotionsQuery>,
) -> ApiResult<Json<Vec<PromotionView>>> {
    list_promotions(&state, PromotionKind::Event, query).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactsView {
    /// The free hotline.
    pub hotline: String,
    /// The number to write to in messengers.
    pub messenger: String,
    /// Where written claims go.
    pub claims_email: String,
}

/// How to reach the chain; store addresses are at `/stores`.
#[utoipa::path(get, path = "/contacts", tag = "public", responses((status = 200, body = ContactsView)))]
async fn contacts(State(state): State<AppState>) -> Json<ContactsView> {
    Json(state.contacts.as_ref().clone())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FeedbackBody {
    /// `customer` or `employee_contractor`.
    #[serde(default)]
    channel: String,
    #[serde(default)]
    name: String,
    phone: Option<String>,
    email: Option<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackCreated {
    ticket_id: i64,
}

/// The public feedback forms: a ticket for support, no account needed. At most
/// `feedback_per_hour` (default 5) an hour from one IP address or one phone or e-mail.
#[utoipa::path(post, path = "/feedback", tag = "public", request_body = FeedbackBody,
    responses((status = 201, body = FeedbackCreated), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn feedback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> ApiResult<(StatusCode, Json<FeedbackCreated>)> {
    let form = Feedback::parse(&FeedbackInput {
        channel: &body.channel,
        name: &body.name,
        phone: body.phone.as_deref().unwrap_or(""),
        email: body.email.as_deref().unwrap_or(""),
        subject: &body.subject,
        body: &body.body,
    })?;
    let ticket = state.kopilka.feedback(form, &ip).await?;
    Ok((
        StatusCode::CREATED,
        Json(FeedbackCreated {
            ticket_id: ticket.id.get(),
        }),
    ))
}
