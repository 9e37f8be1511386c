//! `/admin/catalog/*`: products, categories and stores as CSV. An export streams a page of
//! rows at a time; an import is read as it arrives and written all at once, or refused with
//! every wrong row by line.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, StaffAuth};
use crate::AppState;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use futures_util::StreamExt;
use kopilka_service::catalog_files::CatalogFile;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use kopilka_web::CATALOG_UPLOAD_MAX_BYTES;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(CATALOG_UPLOAD_MAX_BYTES))
}

fn file_of(name: &str) -> ApiResult<CatalogFile> {
    CatalogFile::parse(name).ok_or_else(|| kopilka_domain::DomainError::NotFound("file").into())
}

/// Export a catalogue file as CSV (store managers, marketing, administrators):
/// `products.csv` (`sku,name,category_id,price_kop,unit`, streamed in sku order),
/// `categories.csv` (`id,name,parent_id`) or `stores.csv` (`id,name,city,address,lat,lon,hours`).
#[utoipa::path(get, path = "/admin/catalog/{file}", tag = "admin", security(("staff" = [])),
    params(("file" = String, Path, description = "`products.csv`, `categories.csv` or `stores.csv`")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn export(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(file): ApiPath<String>,
) -> ApiResult<Response> {
    let file = file_of(file.strip_suffix(".csv").unwrap_or(""))?;
    Ok(kopilka_web::catalog_export(state.kopilka.clone(), auth.staff, file).await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogImported {
    rows: u64,
}

/// Import a catalogue file (`text/csv`, the export's columns; store managers, marketing,
/// administrators): rows are added or replaced by sku or id, all in one transaction; any
/// wrong row refuses the file with every wrong row by line, and nothing changes.
#[utoipa::path(post, path = "/admin/catalog/{file}", tag = "admin", security(("staff" = [])),
    params(("file" = String, Path, description = "`products`, `categories` or `stores`")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = CatalogImported), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem, description = "validation_failed with errors [{line, message}]; nothing imported")))]
async fn import(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(file): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<CatalogImported>)> {
    let file = file_of(&file)?;
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv") || v.starts_with("text/plain"));
    if !csv {
        return Err(ApiError::unsupported_media_type());
    }
    // Read as it arrives, on the importing thread; a body over the limit ends in an error.
    let stream = body
        .into_data_stream()
        .map(|chunk| chunk.map_err(std::io::Error::other));
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let rows = state
        .kopilka
        .import_catalog(&auth.staff, file, reader)
        .await?;
    Ok((StatusCode::CREATED, Json(CatalogImported { rows })))
}
