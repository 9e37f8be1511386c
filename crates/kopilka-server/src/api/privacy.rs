//! `GET /me/export` and `DELETE /me`: the customer's personal-data controls (152-FZ).

use super::support::ThreadView;
use super::views::{BalanceView, CardView, HistoryItemView, MemberView};
use crate::error::{ApiResult, Problem};
use crate::extract::Customer;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_service::privacy::PersonalData;
use kopilka_store::{ConsentRecord, PurchaseLineRecord, PurchaseRecord};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(delete_me))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordView {
    pub personal_data: bool,
    pub newsletters: bool,
    /// Version of the consent texts.
    pub version: String,
    pub at: DateTime<Utc>,
}

impl From<ConsentRecord> for ConsentRecordView {
    fn from(c: ConsentRecord) -> Self {
        Self {
            personal_data: c.personal_data,
            newsletters: c.newsletters,
            version: c.version,
            at: c.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportLineView {
    pub line_id: String,
    pub sku: String,
    pub category_id: i64,
    pub amount_kop: i64,
    /// What points paid of the line.
    pub discount_kop: i64,
    pub earned_points: i64,
    pub redeemed_points: i64,
    /// Why the line earned what it did: base, favourite, excluded_category, self_checkout,
    /// daily_limit.
    pub reason: String,
    /// What of the line was returned.
    pub refunded_kop: i64,
}

impl From<PurchaseLineRecord> for ExportLineView {
    fn from(l: PurchaseLineRecord) -> Self {
        Self {
            line_id: l.line_id,
            sku: l.sku,
            category_id: l.category_id,
            amount_kop: l.amount_kop,
            discount_kop: l.discount_kop,
            earned_points: l.earned,
            redeemed_points: l.redeemed,
            reason: l.rule,
            refunded_kop: l.refunded_kop,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportPurchaseView {
    pub id: i64,
    pub receipt_id: String,
    pub store_id: i64,
    pub card_number: String,
    pub at: DateTime<Utc>,
    pub total_kop: i64,
    pub discount_kop: i64,
    pub payable_kop: i64,
    pub paid_points: i64,
    pub earned_points: i64,
    pub lines: Vec<ExportLineView>,
}

impl From<PurchaseRecord> for ExportPurchaseView {
    fn from(p: PurchaseRecord) -> Self {
        Self {
            id: p.id.get(),
            receipt_id: p.receipt_id,
            store_id: p.store_id.get(),
            card_number: p.card_number,
            at: p.purchased_at,
            total_kop: p.total_kop,
            discount_kop: p.discount_kop,
            payable_kop: p.payable_kop,
            paid_points: p.redeemed,
            earned_points: p.earned,
            lines: p.lines.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportOfferView {
    pub offer_id: i64,
    /// Null when the offer itself is no longer kept.
    pub title: Option<String>,
    pub activated_at: DateTime<Utc>,
    /// Purchases it added points to.
    pub uses: u32,
}

/// Everything the chain keeps about the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    pub exported_at: DateTime<Utc>,
    pub profile: MemberView,
    /// Every consent given or withdrawn, oldest first.
    pub consents: Vec<ConsentRecordView>,
    pub balance: BalanceView,
    pub cards: Vec<CardView>,
    /// Every movement of points, newest first.
    pub history: Vec<HistoryItemView>,
    /// Oldest first, with their lines.
    pub purchases: Vec<ExportPurchaseView>,
    /// The personal offers activated.
    pub offers: Vec<ExportOfferView>,
    /// Support tickets, newest first, with their messages.
    pub tickets: Vec<ThreadView>,
}

impl From<PersonalData> for ExportView {
    fn from(d: PersonalData) -> Self {
        Self {
            exported_at: d.exported_at,
            profile: (&d.member).into(),
            consents: d.consents.into_iter().map(Into::into).collect(),
            balance: (&d.balance).into(),
            cards: d.cards.iter().map(Into::into).collect(),
            history: d.history.iter().map(Into::into).collect(),
            purchases: d.purchases.into_iter().map(Into::into).collect(),
            offers: d
                .offers
                .into_iter()
                .map(|(a, offer)| ExportOfferView {
                    offer_id: a.offer_id.get(),
                    title: offer.map(|o| o.title),
                    activated_at: a.activated_at,
                    uses: a.uses,
                })
                .collect(),
            tickets: d.tickets.into_iter().map(Into::into).collect(),
        }
    }
}

/// A copy of everything kept about the customer, as one JSON file to save.
#[utoipa::path(get, path = "/me/export", tag = "me", security(("customer" = [])),
    responses((status = 200, body = ExportView,
               headers(("Content-Disposition" = String, description = "attachment; filename=\"kopilka-export.json\""))),
              (status = 401, body = Problem)))]
async fn export(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<([(header::HeaderName, &'static str); 1], Json<ExportView>)> {
    let data = state.kopilka.export_personal_data(&member).await?;
    // `Cache-Control: no-store` comes from the middleware, as for every `/me` answer.
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"kopilka-export.json\"",
        )],
        Json(data.into()),
    ))
}

/// Deletes the account: every session ends, the cards are blocked, the personal data is
/// erased, the points are forfeited; the phone may join again as a new customer.
#[utoipa::path(delete, path = "/me", tag = "me", security(("customer" = [])),
    responses((status = 204, description = "deleted"), (status = 401, body = Problem)))]
async fn delete_me(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<StatusCode> {
    state.kopilka.delete_account(&member).await?;
    Ok(StatusCode::NO_CONTENT)
}
