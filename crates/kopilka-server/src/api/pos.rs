//! `/pos/*`: the till's calls (till keys only).

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::earning::{Basket, Line};
use kopilka_domain::{CardNumber, DomainError, Kopecks, Points, Validation};
use kopilka_service::pos::{parse_external_id, PurchaseInput, RefundInput};
use kopilka_store::Till;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(identify))
        .routes(routes!(quote))
        .routes(routes!(purchase))
        .routes(routes!(refund))
}

/// A till, by its key. Customer and staff tokens never match a till key.
pub struct TillAuth(pub Till);

impl FromRequestParts<AppState> for TillAuth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let crate::extract::BearerToken(key) =
            crate::extract::BearerToken::from_request_parts(parts, state).await?;
        let crate::extract::ClientIp(ip) =
            crate::extract::ClientIp::from_request_parts(parts, state).await?;
        Ok(TillAuth(state.kopilka.authenticate_till(&key, &ip).await?))
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct LineBody {
    #[serde(default)]
    line_id: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    category_id: i64,
    /// What the line costs before points, in kopecks.
    #[serde(default)]
    amount_kop: i64,
}

fn parse_barcode(v: &mut Validation, barcode: &str) -> Option<CardNumber> {
    v.check("barcode", CardNumber::parse(barcode))
}

fn parse_basket(v: &mut Validation, lines: Vec<LineBody>) -> Option<Basket> {
    let lines = lines
        .into_iter()
        .map(|l| Line {
            line_id: l.line_id,
            sku: l.sku,
            category_id: l.category_id,
            amount: Kopecks::new(l.amount_kop),
        })
        .collect();
    match Basket::parse(lines) {
        Ok(b) => Some(b),
        Err(DomainError::Validation(errors)) => {
            for e in errors {
                v.add(&e.field, e.message);
            }
            None
        }
        Err(_) => None,
    }
}

fn parse_redeem(v: &mut Validation, points: i64) -> Option<Points> {
    if points < 0 {
        v.add("redeem_points", "points_not_negative");
        None
    } else {
        Some(Points::new(points))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IdentifyBody {
    /// A card number or a one-time code from the app, as scanned.
    #[serde(default)]
    barcode: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentifyView {
    card_number: String,
    /// Enough for the cashier to greet, not more: "Мария И.".
    member_name: String,
    available_points: i64,
    /// Activated personal offers this purchase would get.
    offers: Vec<TillOfferView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TillOfferView {
    id: i64,
    title: String,
    ends_at: chrono::DateTime<chrono::Utc>,
}

/// Identify a scanned card or one-time code.
#[utoipa::path(post, path = "/pos/identify", tag = "pos", security(("till" = [])), request_body = IdentifyBody,
    responses((status = 200, body = IdentifyView), (status = 404, body = Problem, description = "not_found"),
              (status = 409, body = Problem, description = "card_blocked")))]
async fn identify(
    State(state): State<AppState>,
    TillAuth(_till): TillAuth,
    ApiJson(body): ApiJson<IdentifyBody>,
) -> ApiResult<Json<IdentifyView>> {
    let mut v = Validation::default();
    let Some(barcode) = parse_barcode(&mut v, &body.barcode) else {
        return Err(v.into_error().into());
    };
    let found = state.kopilka.identify(&barcode).await?;
    Ok(Json(IdentifyView {
        card_number: found.card.number.to_string(),
        member_name: found.member.profile.masked_name(&found.member.phone),
        available_points: found.available.get(),
        offers: found
            .offers
            .into_iter()
            .map(|o| TillOfferView {
                id: o.offer.id.get(),
                title: o.offer.title,
                ends_at: o.offer.ends_at,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QuoteBody {
    #[serde(default)]
    barcode: String,
    #[serde(default)]
    lines: Vec<LineBody>,
    #[serde(default)]
    redeem_points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    /// What the basket would earn if bought now: nothing at a self-checkout till, and nothing
    /// once the card has had the day's earning receipts (five by default).
    earn_points: i64,
    max_redeem_points: i64,
    /// The points that would be spent: the request, at most `max_redeem_points`.
    redeem_points: i64,
    discount_kop: i64,
    payable_kop: i64,
    /// What activated personal offers add, already counted in `earn_points`.
    offers: Vec<AppliedOfferView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedOfferView {
    id: i64,
    title: String,
    points: i64,
}

/// What a basket earns and costs with the requested points. Changes nothing.
#[utoipa::path(post, path = "/pos/quote", tag = "pos", security(("till" = [])), request_body = QuoteBody,
    responses((status = 200, body = QuoteView), (status = 422, body = Problem)))]
async fn quote(
    State(state): State<AppState>,
    TillAuth(till): TillAuth,
    ApiJson(body): ApiJson<QuoteBody>,
) -> ApiResult<Json<QuoteView>> {
    let mut v = Validation::default();
    let barcode = parse_barcode(&mut v, &body.barcode);
    let basket = parse_basket(&mut v, body.lines);
    let redeem = parse_redeem(&mut v, body.redeem_points);
    let (Some(barcode), Some(basket), Some(redeem)) = (barcode, basket, redeem) else {
        return Err(v.into_error().into());
    };
    let p = state
        .kopilka
        .quote(&till, &barcode, &basket, redeem)
        .await?;
    Ok(Json(QuoteView {
        earn_points: p.earn.get(),
        max_redeem_points: p.max_redeem.get(),
        redeem_points: p.redeem.get(),
        discount_kop: p.discount.get(),
        payable_kop: p.payable.get(),
        offers: p
            .offers
            .iter()
            .map(|o| AppliedOfferView {
                id: o.offer_id.get(),
                title: o.title.clone(),
                points: o.points.get(),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseBody {
    /// Unique per store: the idempotency key.
    #[serde(default)]
    receipt_id: String,
    #[serde(default)]
    barcode: String,
    #[serde(default)]
    lines: Vec<LineBody>,
    #[serde(default)]
    redeem_points: i64,
    /// The till's time of sale, for a receipt uploaded after the till was offline.
    purchased_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseView {
    purchase_id: i64,
    receipt_id: String,
    earned_points: i64,
    redeemed_points: i64,
    discount_kop: i64,
    payable_kop: i64,
    /// The member's balance after this purchase.
    balance: i64,
}

/// Record a purchase. The same body again answers 200 with the first answer; another body
/// under the same receipt id is 409 `idempotency_conflict`.
#[utoipa::path(post, path = "/pos/purchases", tag = "pos", security(("till" = [])), request_body = PurchaseBody,
    responses((status = 201, body = PurchaseView), (status = 200, body = PurchaseView, description = "a repeat of a recorded purchase"),
              (status = 409, body = Problem, description = "insufficient_points, idempotency_conflict or card_blocked"),
              (status = 422, body = Problem)))]
async fn purchase(
    State(state): State<AppState>,
    TillAuth(till): TillAuth,
    ApiJson(body): ApiJson<PurchaseBody>,
) -> ApiResult<(StatusCode, Json<PurchaseView>)> {
    let mut v = Validation::default();
    let receipt_id = v.check("receipt_id", parse_external_id(&body.receipt_id));
    let barcode = parse_barcode(&mut v, &body.barcode);
    let basket = parse_basket(&mut v, body.lines);
    let redeem = parse_redeem(&mut v, body.redeem_points);
    let (Some(receipt_id), Some(barcode), Some(basket), Some(redeem)) =
        (receipt_id, barcode, basket, redeem)
    else {
        return Err(v.into_error().into());
    };
    let input = PurchaseInput {
        receipt_id,
        barcode,
        basket,
        redeem,
        purchased_at: body.purchased_at,
    };
    let o = state.kopilka.purchase(&till, input).await?;
    let status = if o.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(PurchaseView {
            purchase_id: o.purchase_id.get(),
            receipt_id: o.receipt_id,
            earned_points: o.earned.get(),
            redeemed_points: o.redeemed.get(),
            discount_kop: o.discount.get(),
            payable_kop: o.payable.get(),
            balance: o.balance.get(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundLineBody {
    #[serde(default)]
    line_id: String,
    #[serde(default)]
    amount_kop: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundBody {
    /// Unique per store: the idempotency key of the refund.
    #[serde(default)]
    refund_id: String,
    /// Lines and amounts returned; absent: the whole receipt (what is left of it).
    lines: Option<Vec<RefundLineBody>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    refund_id: String,
    points_taken_back: i64,
    points_returned: i64,
    balance: i64,
}

/// Return goods of a receipt of this store: takes back what they earned and gives back the
/// points spent on them, in proportion.
#[utoipa::path(post, path = "/pos/purchases/{receipt_id}/refunds", tag = "pos", security(("till" = [])), request_body = RefundBody,
    params(("receipt_id" = String, Path, description = "The purchase's receipt id")),
    responses((status = 201, body = RefundView), (status = 200, body = RefundView, description = "a repeat of a recorded refund"),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "idempotency_conflict; card_blocked: the customer deleted their account, so no points move (refund the money without the card)"), (status = 422, body = Problem)))]
async fn refund(
    State(state): State<AppState>,
    TillAuth(till): TillAuth,
    ApiPath(receipt_id): ApiPath<String>,
    ApiJson(body): ApiJson<RefundBody>,
) -> ApiResult<(StatusCode, Json<RefundView>)> {
    let mut v = Validation::default();
    let receipt_id = v.check("receipt_id", parse_external_id(&receipt_id));
    let refund_id = v.check("refund_id", parse_external_id(&body.refund_id));
    let (Some(receipt_id), Some(refund_id)) = (receipt_id, refund_id) else {
        return Err(v.into_error().into());
    };
    let lines = body.lines.map(|ls| {
        ls.into_iter()
            .map(|l| (l.line_id, Kopecks::new(l.amount_kop)))
            .collect()
    });
    let o = state
        .kopilka
        .refund(
            &till,
            RefundInput {
                receipt_id,
                refund_id,
                lines,
            },
        )
        .await?;
    let status = if o.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(RefundView {
            refund_id: o.refund_id,
            points_taken_back: o.points_taken_back.get(),
            points_returned: o.points_returned.get(),
            balance: o.balance.get(),
        }),
    ))
}
