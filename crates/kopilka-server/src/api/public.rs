//! Public reference data: no credentials needed.

use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(categories))
        .routes(routes!(stores))
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
    let all = state
        .kopilka
        .store()
        .categories()
        .await
        .map_err(kopilka_service::ServiceError::from)?;
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

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub hours: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoresQuery {
    /// Only stores in this city.
    city: Option<String>,
}

/// The chain's stores.
#[utoipa::path(get, path = "/stores", tag = "public", params(StoresQuery), responses((status = 200, body = [StoreView])))]
async fn stores(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StoresQuery>,
) -> ApiResult<Json<Vec<StoreView>>> {
    let all = state
        .kopilka
        .store()
        .stores()
        .await
        .map_err(kopilka_service::ServiceError::from)?;
    let city = query.city.map(|c| c.trim().to_lowercase());
    Ok(Json(
        all.into_iter()
            .filter(|s| city.as_ref().is_none_or(|c| s.city.to_lowercase() == *c))
            .map(|s| StoreView {
                id: s.id,
                name: s.name,
                city: s.city,
                address: s.address,
                lat: s.lat,
                lon: s.lon,
                hours: s.hours,
            })
            .collect(),
    ))
}
