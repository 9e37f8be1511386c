//! `/me/purchases`: the customer's receipts, each line explained; `GET /me/favourite-category`:
//! the chooser, with what the customer's own purchases would have earned with each category.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Customer};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_service::purchases::{ExplainedReceipt, FavouriteChooser};
use kopilka_store::{PurchaseRecord, RefundRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(purchases))
        .routes(routes!(purchase))
        .routes(routes!(favourite_chooser))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseItemView {
    pub id: i64,
    pub receipt_id: String,
    pub store_id: i64,
    pub at: DateTime<Utc>,
    pub total_kop: i64,
    /// Points that paid part of it.
    pub paid_points: i64,
    pub earned_points: i64,
}

impl From<&PurchaseRecord> for PurchaseItemView {
    fn from(p: &PurchaseRecord) -> Self {
        Self {
            id: p.id.get(),
            receipt_id: p.receipt_id.clone(),
            store_id: p.store_id.get(),
            at: p.purchased_at,
            total_kop: p.total_kop,
            paid_points: p.redeemed,
            earned_points: p.earned,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchasePageView {
    pub items: Vec<PurchaseItemView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLineView {
    pub line_id: String,
    pub sku: String,
    /// The product's name in the catalogue; null if the catalogue no longer has it.
    pub name: Option<String>,
    pub category_id: i64,
    pub amount_kop: i64,
    /// What points paid of this line, in kopecks.
    pub discount_kop: i64,
    pub earned_points: i64,
    /// Why: base, favourite (×2), offer (a personal offer added to it), excluded_category,
    /// self_checkout or daily_limit.
    #[schema(example = "favourite")]
    pub reason: &'static str,
    /// What personal offers added (included in `earned_points`).
    pub offer_points: i64,
    /// Returned of this line so far, at its price.
    pub refunded_kop: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub refund_id: String,
    pub at: DateTime<Utc>,
    /// Earned points taken back.
    pub points_taken_back: i64,
    /// Spent points given back.
    pub points_returned: i64,
}

impl From<&RefundRecord> for RefundView {
    fn from(r: &RefundRecord) -> Self {
        Self {
            refund_id: r.refund_id.clone(),
            at: r.at,
            points_taken_back: r.taken_back,
            points_returned: r.returned,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub id: i64,
    pub receipt_id: String,
    pub store_id: i64,
    pub at: DateTime<Utc>,
    pub total_kop: i64,
    pub discount_kop: i64,
    pub payable_kop: i64,
    pub lines: Vec<ReceiptLineView>,
    pub redeemed_points: i64,
    pub earned_points: i64,
    /// Oldest first.
    pub refunds: Vec<RefundView>,
}

impl From<&ExplainedReceipt> for ReceiptView {
    fn from(r: &ExplainedReceipt) -> Self {
        let p = &r.receipt.purchase;
        Self {
            id: p.id.get(),
            receipt_id: p.receipt_id.clone(),
            store_id: p.store_id.get(),
            at: p.purchased_at,
            total_kop: p.total_kop,
            discount_kop: p.discount_kop,
            payable_kop: p.payable_kop,
            lines: r
                .lines()
                .map(|(l, e)| ReceiptLineView {
                    line_id: l.line_id.clone(),
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    category_id: l.category_id,
                    amount_kop: l.amount_kop,
                    discount_kop: l.discount_kop,
                    earned_points: l.earned,
                    reason: e.reason.as_str(),
                    offer_points: e.offer_points.get(),
                    refunded_kop: l.refunded_kop,
                })
                .collect(),
            redeemed_points: p.redeemed,
            earned_points: p.earned,
            refunds: r.receipt.refunds.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PurchasesQuery {
    /// 1 to 100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The customer's purchases, newest first.
#[utoipa::path(get, path = "/me/purchases", tag = "me", security(("customer" = [])), params(PurchasesQuery),
    responses((status = 200, body = PurchasePageView), (status = 401, body = Problem),
              (status = 422, body = Problem, description = "validation_failed: limit or cursor")))]
async fn purchases(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiQuery(query): ApiQuery<PurchasesQuery>,
) -> ApiResult<Json<PurchasePageView>> {
    let page = state
        .kopilka
        .purchases(member.id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(PurchasePageView {
        items: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One receipt: its lines, what each earned and why, and its returns.
#[utoipa::path(get, path = "/me/purchases/{id}", tag = "me", security(("customer" = [])),
    params(("id" = i64, Path, description = "`id` from the purchase list")),
    responses((status = 200, body = ReceiptView), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "no such purchase of this customer")))]
async fn purchase(
    State(state): State<AppState>,
    Customer(member): Customer,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReceiptView>> {
    let receipt = state.kopilka.receipt(member.id, id).await?;
    Ok(Json((&receipt).into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FavouriteChoiceView {
    pub category_id: i64,
    pub name: String,
    /// What the customer's purchases since `since` would have earned with this favourite
    /// (the rules' rates; personal offers aside).
    pub would_have_earned: i64,
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FavouriteChooserView {
    /// Best first.
    pub choices: Vec<FavouriteChoiceView>,
    pub since: DateTime<Utc>,
    /// Null: it may change now.
    pub next_change_at: Option<DateTime<Utc>>,
}

impl From<&FavouriteChooser> for FavouriteChooserView {
    fn from(c: &FavouriteChooser) -> Self {
        Self {
            choices: c
                .choices
                .iter()
                .map(|choice| FavouriteChoiceView {
                    category_id: choice.category.id,
                    name: choice.category.name.clone(),
                    would_have_earned: choice.would_have_earned.get(),
                    current: choice.current,
                })
                .collect(),
            since: c.since,
            next_change_at: c.next_change_at,
        }
    }
}

/// The favourite category's chooser: each category with what the last months' purchases
/// would have earned with it, and when the choice may next change.
#[utoipa::path(get, path = "/me/favourite-category", tag = "me", security(("customer" = [])),
    responses((status = 200, body = FavouriteChooserView), (status = 401, body = Problem)))]
async fn favourite_chooser(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<Json<FavouriteChooserView>> {
    let chooser = state.kopilka.favourite_chooser(&member).await?;
    Ok(Json((&chooser).into()))
}
