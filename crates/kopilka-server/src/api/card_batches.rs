//! `/admin/card-batches`: plastic cards issued in batches for the printer, and how many of
//! each batch have been handed out.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::card::CardBatchId;
use kopilka_service::cards::batch_csv;
use kopilka_service::staff::Caller;
use kopilka_store::CardBatch;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(batches, issue))
        .routes(routes!(batch_cards))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardBatchView {
    id: i64,
    issued_at: DateTime<Utc>,
    /// Who issued it, as the audit log names them (`staff:7`, `cli`).
    issued_by: String,
    cards: u64,
    /// Cards handed out: bound to a customer, whether still active or blocked since.
    bound: u64,
}

impl From<&CardBatch> for CardBatchView {
    fn from(b: &CardBatch) -> Self {
        Self {
            id: b.id.get(),
            issued_at: b.issued_at,
            issued_by: b.issued_by.clone(),
            cards: b.cards,
            bound: b.bound,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardBatchesView {
    items: Vec<CardBatchView>,
}

/// The newest batches, with how many of their cards are bound (store managers,
/// administrators).
#[utoipa::path(get, path = "/admin/card-batches", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = CardBatchesView), (status = 403, body = Problem)))]
async fn batches(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> ApiResult<Json<CardBatchesView>> {
    let batches = state.kopilka.card_batches(&auth.staff).await?;
    Ok(Json(CardBatchesView {
        items: batches.iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct IssueBody {
    /// How many cards to print: 1 to 100000.
    count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedView {
    id: i64,
    cards: usize,
}

/// Issue a batch of unbound plastic cards (store managers, administrators); their numbers
/// for the printer are at `/admin/card-batches/{id}/cards.csv`.
#[utoipa::path(post, path = "/admin/card-batches", tag = "admin", security(("staff" = [])), request_body = IssueBody,
    responses((status = 201, body = IssuedView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: `count` out of range")))]
async fn issue(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<IssueBody>,
) -> ApiResult<(StatusCode, Json<IssuedView>)> {
    let batch = state
        .kopilka
        .issue_cards(Caller::Staff(&auth.staff), body.count)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedView {
            id: batch.id.get(),
            cards: batch.numbers.len(),
        }),
    ))
}

/// A batch's cards as CSV, `number,status` in number order: for the printer, and to see which
/// are bound (`active` or `blocked`) and which still wait (`unbound`).
#[utoipa::path(get, path = "/admin/card-batches/{id}/cards.csv", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn batch_cards(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let cards = state
        .kopilka
        .batch_cards(&auth.staff, CardBatchId::new(id))
        .await?;
    Ok(kopilka_web::csv_attachment(
        &format!("cards-{id}.csv"),
        batch_csv(&cards),
    ))
}
