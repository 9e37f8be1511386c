//! What anyone may look up (SPEC §5.1, §5.5, §5.6): products with Russian search, stores
//! nearest first, promotions and events.

use crate::{Kopilka, ServiceResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use kopilka_domain::geo::{Point, MAX_DISTANCE_M};
use kopilka_domain::member::CategoryId;
use kopilka_domain::search::SearchQuery;
use kopilka_domain::DomainError;
use kopilka_store::{
    city_key, Product, ProductKey, ProductQuery, Promotion, PromotionKind, StoreLocation,
    StoreQuery,
};

pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

pub struct ProductSearch<'a> {
    pub text: Option<&'a str>,
    pub category_id: Option<CategoryId>,
    pub limit: u32,
    pub cursor: Option<&'a str>,
}

/// A store and how far it is from the point asked about, if one was.
pub struct NearbyStore {
    pub store: StoreLocation,
    pub distance_m: Option<u64>,
}

pub struct StoreSearch<'a> {
    pub point: Option<Point>,
    pub radius_m: Option<f64>,
    pub city: Option<&'a str>,
    pub limit: u32,
}

/// The first radius tried when nearest stores are asked for without one; it grows eightfold
/// until enough stores are in reach, so a dense city answers from a small box and a sparse
/// region in a few steps (5, 40, 320, 2,560 km, then the whole Earth).
const FIRST_RING_M: f64 = 5_000.0;
const RING_GROWTH: f64 = 8.0;

fn encode_cursor(key: &ProductKey) -> String {
    let json = serde_json::json!([key.rank, key.name, key.sku]).to_string();
    URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(cursor: &str) -> Result<ProductKey, DomainError> {
    let bad = || DomainError::field("cursor", "cursor_invalid");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let (rank, name, sku): (i32, String, String) =
        serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(ProductKey { rank, name, sku })
}

impl Kopilka {
    /// Products by words (any Russian word form) and category (with everything below it),
    /// those named by the first word first, then by name.
    /// The category tree, as the catalogue keeps it.
    /// Every store, by id.
    pub async fn store_locations(&self) -> ServiceResult<Vec<StoreLocation>> {
        Ok(self.store().stores().await?)
    }

    pub async fn categories(&self) -> ServiceResult<Vec<kopilka_store::Category>> {
        Ok(self.store().categories().await?)
    }

    pub async fn products(&self, search: ProductSearch<'_>) -> ServiceResult<ProductPage> {
        let query = search.text.and_then(SearchQuery::parse);
        let categories = match search.category_id {
            Some(id) => {
                if !self.store().category_exists(id).await? {
                    return Err(DomainError::field("category_id", "category_unknown").into());
                }
                let tree = self.inner.categories.tree(self.store()).await?;
                let mut ids: Vec<CategoryId> = tree.with_descendants([id]).into_iter().collect();
                ids.sort_unstable();
                ids
            }
            None => Vec::new(),
        };
        let after = search.cursor.map(decode_cursor).transpose()?;
        let limit = search.limit;
        let mut found = self
            .store()
            .find_products(&ProductQuery {
                terms: query
                    .as_ref()
                    .map(|q| q.terms().to_vec())
                    .unwrap_or_default(),
                lead: query.as_ref().map(|q| q.lead().to_owned()),
                categories,
                after,
                limit: limit + 1,
            })
            .await?;
        let next_cursor = if found.len() > limit as usize {
            found.truncate(limit as usize);
            found.last().map(|(key, _)| encode_cursor(key))
        } else {
            None
        };
        Ok(ProductPage {
            items: found.into_iter().map(|(_, p)| p).collect(),
            next_cursor,
        })
    }

    /// Stores nearest first when a point is given (within the radius, if one is), else by id;
    /// only the city's when a city is given.
    pub async fn stores_nearby(&self, search: StoreSearch<'_>) -> ServiceResult<Vec<NearbyStore>> {
        let city = search.city.map(city_key).filter(|c| !c.is_empty());
        let Some(point) = search.point else {
            let stores = self
                .store()
                .find_stores(&StoreQuery {
                    city_key: city,
                    within: None,
                    limit: Some(search.limit),
                })
                .await?;
            return Ok(stores
                .into_iter()
                .map(|store| NearbyStore {
                    store,
                    distance_m: None,
                })
                .collect());
        };
        let limit = search.limit as usize;
        let mut radius = search.radius_m.unwrap_or(FIRST_RING_M).min(MAX_DISTANCE_M);
        loop {
            let mut found = Vec::new();
            let bbox = point.bounding_box(radius);
            for (min_lon, max_lon) in bbox.lon_ranges() {
                found.extend(
                    self.store()
                        .find_stores(&StoreQuery {
                            city_key: city.clone(),
                            within: Some((bbox.min_lat, bbox.max_lat, min_lon, max_lon)),
                            limit: None,
                        })
                        .await?,
                );
            }
            let mut near: Vec<(f64, StoreLocation)> = found
                .into_iter()
                .filter_map(|s| {
                    let d = Point::new(s.lat, s.lon).map(|p| point.distance_m(p))?;
                    (d <= radius).then_some((d, s))
                })
                .collect();
            // A box holds more than its circle: only stores inside the radius count, and the
            // ring grows until `limit` of them are found or the whole Earth was searched.
            let done = search.radius_m.is_some() || near.len() >= limit || radius >= MAX_DISTANCE_M;
            if done {
                near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
                near.truncate(limit);
                return Ok(near
                    .into_iter()
                    .map(|(d, store)| NearbyStore {
                        store,
                        distance_m: Some(d.round() as u64),
                    })
                    .collect());
            }
            radius = (radius * RING_GROWTH).min(MAX_DISTANCE_M);
        }
    }

    /// Promotions or events running or planned in [`from`, `to`): chain-wide ones and the
    /// city's, soonest first. `from` defaults to now, so finished ones are not shown.
    pub async fn promotions(
        &self,
        kind: PromotionKind,
        city: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> ServiceResult<Vec<Promotion>> {
        let from = from.unwrap_or_else(|| self.now());
        if to.is_some_and(|to| to <= from) {
            return Err(DomainError::field("to", "period_end_before_start").into());
        }
        let city = city.map(city_key).filter(|c| !c.is_empty());
        Ok(self
            .store()
            .promotions(kind, city.as_deref(), from, to)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = ProductKey {
            rank: 1,
            name: "Молоко «Зорька» 1 л".into(),
            sku: "10000001".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&key)).ok(), Some(key));
        assert!(decode_cursor("не курсор").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("[1]")).is_err());
    }
}
