//! What anyone may look at, signed in or not (SPEC §5): stores by distance (the browser's
//! location when allowed, else the city), the catalogue with Russian search and categories,
//! and the promotions and events of a city.

use crate::format::{date, distance, money};
use crate::guard::Audience;
use crate::pages::{failure, respond};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopilka_domain::geo::Point;
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::catalog::{ProductSearch, StoreSearch};
use kopilka_service::ServiceError;
use kopilka_store::{city_key, PromotionKind};
use serde::Deserialize;

/// Stores the list shows at most.
const STORES_SHOWN: u32 = 20;
/// Products a page of the catalogue shows.
const PRODUCTS_PAGE: u32 = 24;

/// The city a page starts from: the one asked for, else the signed-in customer's own.
async fn city_of(state: &WebState, visitor: &Visitor, asked: Option<String>) -> (String, bool) {
    let session = CustomerSession::find(state, visitor).await;
    let signed = session.is_some();
    let city = match asked {
        Some(city) => city.trim().to_owned(),
        None => session
            .and_then(|s| s.member.profile.city)
            .unwrap_or_default(),
    };
    (city, signed)
}

struct StoreLine {
    name: String,
    address: String,
    hours: String,
    distance: Option<String>,
}

#[derive(Template)]
#[template(path = "stores.html")]
struct StoresPage {
    page: Chrome,
    cities: Vec<String>,
    city: String,
    near_me: bool,
    stores: Vec<StoreLine>,
}

#[derive(Deserialize)]
pub struct StoresQuery {
    city: Option<String>,
    lat: Option<String>,
    lon: Option<String>,
}

pub async fn stores(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(q): Query<StoresQuery>,
) -> Response {
    let point = match (q.lat.as_deref(), q.lon.as_deref()) {
        (Some(lat), Some(lon)) => match (lat.trim().parse(), lon.trim().parse()) {
            (Ok(lat), Ok(lon)) => Point::new(lat, lon),
            _ => None,
        },
        _ => None,
    };
    let (city, signed) = city_of(&state, &visitor, q.city).await;
    let all = match state.kopilka.store_locations().await {
        Ok(all) => all,
        Err(e) => return failure(&state, visitor, &e, signed),
    };
    let mut cities: Vec<String> = all.iter().map(|s| s.city.clone()).collect();
    cities.sort();
    cities.dedup();
    // A city with no store of ours shows them all rather than nothing.
    // A profile's city as its owner typed it ("москва") is the stores' "Москва".
    let key = city_key(&city);
    let known = cities.iter().any(|c| city_key(c) == key);
    let search = StoreSearch {
        point,
        radius_m: None,
        city: (point.is_none() && known).then_some(city.as_str()),
        limit: STORES_SHOWN,
    };
    let found = match state.kopilka.stores_nearby(search).await {
        Ok(found) => found,
        Err(e) => return failure(&state, visitor, &e, signed),
    };
    let t = visitor.texts;
    // The city as the select spells it, so that it shows as chosen.
    let selected = if point.is_some() || !known {
        String::new()
    } else {
        cities
            .iter()
            .find(|c| city_key(c) == key)
            .cloned()
            .unwrap_or(city.clone())
    };
    let page = StoresPage {
        page: Chrome::new(&state, &visitor, signed),
        cities,
        city: selected,
        near_me: point.is_some(),
        stores: found
            .into_iter()
            .map(|n| StoreLine {
                distance: n
                    .distance_m
                    .map(|m| distance(m, t.get("unit_m"), t.get("unit_km"), visitor.lang)),
                name: n.store.name,
                address: format!("{}, {}", n.store.city, n.store.address),
                hours: n.store.hours,
            })
            .collect(),
    };
    respond(visitor, &page, StatusCode::OK)
}

struct ProductLine {
    name: String,
    price: String,
    unit: String,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    page: Chrome,
    q: String,
    category: i64,
    /// (id, name, is a top-level group)
    categories: Vec<(i64, String, bool)>,
    products: Vec<ProductLine>,
    next: Option<String>,
    /// `q` as a link carries it, for the next page.
    q_encoded: String,
    searched: bool,
}

#[derive(Deserialize)]
pub struct CatalogQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    cursor: Option<String>,
}

pub async fn catalog(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let signed = CustomerSession::find(&state, &visitor).await.is_some();
    let all = match state.kopilka.categories().await {
        Ok(all) => all,
        Err(e) => return failure(&state, visitor, &e, signed),
    };
    // Groups, each followed by what is in it.
    let mut categories = Vec::new();
    for top in all.iter().filter(|c| c.parent_id.is_none()) {
        categories.push((top.id, top.name.clone(), true));
        categories.extend(
            all.iter()
                .filter(|c| c.parent_id == Some(top.id))
                .map(|c| (c.id, c.name.clone(), false)),
        );
    }
    let category = query.category.trim().parse::<i64>().ok();
    let text = query.q.trim();
    let search = ProductSearch {
        text: (!text.is_empty()).then_some(text),
        category_id: category,
        limit: PRODUCTS_PAGE,
        cursor: query.cursor.as_deref().filter(|c| !c.is_empty()),
    };
    let found = match state.kopilka.products(search).await {
        Ok(found) => found,
        // An unknown category or a spoilt cursor: nothing found, the form stays as typed.
        Err(ServiceError::Domain(DomainError::Validation(_))) => {
            kopilka_service::catalog::ProductPage {
                items: Vec::new(),
                next_cursor: None,
            }
        }
        Err(e) => return failure(&state, visitor, &e, signed),
    };
    // Only `q` needs encoding; the pairs are joined in the template, which escapes `&`.
    let q_encoded = serde_urlencoded::to_string([("q", text)])
        .unwrap_or_default()
        .trim_start_matches("q=")
        .to_owned();
    let page = CatalogPage {
        page: Chrome::new(&state, &visitor, signed),
        q: text.to_owned(),
        category: category.unwrap_or(0),
        categories,
        products: found
            .items
            .into_iter()
            .map(|p| ProductLine {
                price: money(p.price_kop, visitor.lang),
                name: p.name,
                unit: p.unit,
            })
            .collect(),
        next: found.next_cursor,
        q_encoded,
        searched: !text.is_empty() || category.is_some(),
    };
    respond(visitor, &page, StatusCode::OK)
}

struct PromotionLine {
    title: String,
    description: String,
    dates: String,
    city: Option<String>,
}

#[derive(Template)]
#[template(path = "promotions.html")]
struct PromotionsPage {
    page: Chrome,
    cities: Vec<String>,
    city: String,
    promotions: Vec<PromotionLine>,
    events: Vec<PromotionLine>,
}

#[derive(Deserialize)]
pub struct CityQuery {
    city: Option<String>,
}

pub async fn promotions(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(q): Query<CityQuery>,
) -> Response {
    let (city, signed) = city_of(&state, &visitor, q.city).await;
    let tz = state.kopilka.rules().timezone;
    let kopilka = &state.kopilka;
    let city_filter = (!city.is_empty()).then_some(city.as_str());
    let read = async {
        let stores = kopilka.store_locations().await?;
        let promotions = kopilka
            .promotions(PromotionKind::Promotion, city_filter, None, None)
            .await?;
        let events = kopilka
            .promotions(PromotionKind::Event, city_filter, None, None)
            .await?;
        Ok::<_, ServiceError>((stores, promotions, events))
    };
    let (stores, promotions, events) = match read.await {
        Ok(found) => found,
        Err(e) => return failure(&state, visitor, &e, signed),
    };
    let mut cities: Vec<String> = stores.into_iter().map(|s| s.city).collect();
    cities.sort();
    cities.dedup();
    let line = |p: kopilka_store::Promotion| PromotionLine {
        dates: format!("{} – {}", date(p.starts_at, tz), date(p.ends_at, tz)),
        title: p.title,
        description: p.description,
        city: p.city,
    };
    let page = PromotionsPage {
        page: Chrome::new(&state, &visitor, signed),
        cities,
        city,
        promotions: promotions.into_iter().map(line).collect(),
        events: events.into_iter().map(line).collect(),
    };
    respond(visitor, &page, StatusCode::OK)
}
