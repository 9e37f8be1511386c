//! `/me/cards*` and `/me/card-token`: the customer's cards.

use super::views::CardView;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ClientIp, Customer};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::{CardNumber, DomainError, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_card))
        .routes(routes!(block_card))
        .routes(routes!(barcode_svg))
        .routes(routes!(barcode_png))
        .routes(routes!(card_token))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddCardBody {
    /// An unbound physical card's number.
    number: Option<String>,
    /// `virtual` with no number: a new virtual card.
    kind: Option<String>,
}

/// Bind a physical card (or get a new virtual one): it becomes the active card, the old one
/// is blocked, the balance stays with the customer.
#[utoipa::path(post, path = "/me/cards", tag = "me", security(("customer" = [])), request_body = AddCardBody,
    responses((status = 201, body = CardView),
              (status = 404, body = Problem, description = "not_found: no unbound card has this number (unknown and someone else's answer alike)"),
              (status = 409, body = Problem, description = "card_already_bound: the card is already yours"),
              (status = 422, body = Problem),
              (status = 429, body = Problem, description = "rate_limited: too many binding attempts today")))]
async fn add_card(
    State(state): State<AppState>,
    Customer(member): Customer,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AddCardBody>,
) -> ApiResult<(StatusCode, Json<CardView>)> {
    let card = match (body.number, body.kind.as_deref()) {
        (Some(number), None | Some("physical")) => {
            let mut v = Validation::default();
            let Some(number) = v.check("number", CardNumber::parse(&number)) else {
                return Err(v.into_error().into());
            };
            state.kopilka.bind_card(&member, &number, &ip).await?
        }
        (None, Some("virtual")) => state.kopilka.new_virtual_card(&member).await?,
        _ => return Err(DomainError::field("number", "card_number_or_virtual").into()),
    };
    Ok((StatusCode::CREATED, Json((&card).into())))
}

fn path_card(number: &str) -> Result<CardNumber, ApiError> {
    CardNumber::parse(number).map_err(|_| ApiError::not_found())
}

/// Block a lost card: it earns and spends nothing from now on.
#[utoipa::path(post, path = "/me/cards/{number}/block", tag = "me", security(("customer" = [])),
    params(("number" = String, Path)), responses((status = 200, body = CardView), (status = 404, body = Problem)))]
async fn block_card(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiPath(number): ApiPath<String>,
) -> ApiResult<Json<CardView>> {
    let card = state
        .kopilka
        .block_card(&member, &path_card(&number)?)
        .await?;
    Ok(Json((&card).into()))
}

async fn own_card(
    state: &AppState,
    member: &kopilka_domain::member::Member,
    number: &str,
) -> Result<CardNumber, ApiError> {
    let number = path_card(number)?;
    let cards = state.kopilka.cards(member.id).await?;
    cards
        .into_iter()
        .find(|c| c.number == number)
        .map(|c| c.number)
        .ok_or_else(ApiError::not_found)
}

fn picture(content_type: &'static str, body: Result<Vec<u8>, String>) -> Response {
    match body {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "barcode");
            ApiError::new(crate::error::ProblemCode::Internal).into_response()
        }
    }
}

/// The card's EAN-13 barcode as SVG, for the till to scan off the screen.
#[utoipa::path(get, path = "/me/cards/{number}/barcode.svg", tag = "me", security(("customer" = [])),
    params(("number" = String, Path)), responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = Problem)))]
async fn barcode_svg(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiPath(number): ApiPath<String>,
) -> ApiResult<Response> {
    let number = own_card(&state, &member, &number).await?;
    Ok(picture(
        "image/svg+xml",
        crate::barcode::svg(&number).map(String::into_bytes),
    ))
}

/// The card's EAN-13 barcode as PNG.
#[utoipa::path(get, path = "/me/cards/{number}/barcode.png", tag = "me", security(("customer" = [])),
    params(("number" = String, Path)), responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = Problem)))]
async fn barcode_png(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiPath(number): ApiPath<String>,
) -> ApiResult<Response> {
    let number = own_card(&state, &member, &number).await?;
    Ok(picture("image/png", crate::barcode::png(&number)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardTokenView {
    /// 13 digits, a valid EAN-13: the till scans it like a card, once.
    code: String,
    expires_at: DateTime<Utc>,
}

/// A one-time code that stands in for the card at the till for a short while.
#[utoipa::path(post, path = "/me/card-token", tag = "me", security(("customer" = [])),
    responses((status = 200, body = CardTokenView), (status = 403, body = Problem, description = "profile_incomplete"),
              (status = 409, body = Problem, description = "card_blocked: no active card")))]
async fn card_token(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<Json<CardTokenView>> {
    let (code, expires_at) = state.kopilka.card_token(&member).await?;
    Ok(Json(CardTokenView {
        code: code.to_string(),
        expires_at,
    }))
}
