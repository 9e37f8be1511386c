//! `/account/cards`: the customer's cards; binding a plastic card, a new virtual card, and
//! blocking a lost one, each confirmed.

use crate::guard::Signed;
use crate::pages::{failure, message_for, respond, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::{CardKind, CardNumber, CardStatus, DomainError};
use kopilka_service::auth::CustomerSession;
use kopilka_service::ServiceError;
use serde::Deserialize;

struct CardLine {
    number: String,
    physical: bool,
    active: bool,
}

#[derive(Template)]
#[template(path = "cards.html")]
struct CardsPage {
    page: Chrome,
    done: bool,
    errors: Vec<FieldMessage>,
    cards: Vec<CardLine>,
    number: String,
}

async fn cards_page(
    state: &WebState,
    visitor: &Visitor,
    session: &CustomerSession,
    errors: Vec<FieldMessage>,
    number: String,
) -> Result<CardsPage, kopilka_service::ServiceError> {
    let cards = state.kopilka.cards(session.member.id).await?;
    Ok(CardsPage {
        page: Chrome::new(state, visitor, true),
        done: false,
        errors,
        cards: cards
            .iter()
            .map(|c| CardLine {
                number: c.number.as_str().to_owned(),
                physical: c.kind == CardKind::Physical,
                active: c.status == CardStatus::Active,
            })
            .collect(),
        number,
    })
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

pub async fn list(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Query(q): Query<Done>,
) -> Response {
    match cards_page(&state, &visitor, &session, Vec::new(), String::new()).await {
        Ok(mut page) => {
            page.done = q.done.is_some();
            respond(visitor, &page, StatusCode::OK)
        }
        Err(e) => failure(&state, visitor, &e, true),
    }
}

#[derive(Deserialize)]
pub struct BindForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
}

pub async fn bind(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<BindForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let result = match CardNumber::parse(&form.number) {
        Ok(number) => state
            .kopilka
            .bind_card(&session.member, &number, &visitor.ip)
            .await
            .map_err(|e| match e {
                ServiceError::Domain(DomainError::NotFound(_)) => {
                    visitor.texts.get("error_card_unavailable").to_owned()
                }
                ServiceError::Domain(DomainError::CardAlreadyBound) => {
                    visitor.texts.get("error_card_yours").to_owned()
                }
                other => message_for(&visitor, &other),
            }),
        Err(e) => Err(visitor.texts.render(&e.into())),
    };
    match result {
        Ok(_) => visitor.finish(Redirect::to("/account/cards?done=1").into_response()),
        Err(message) => {
            let errors = vec![FieldMessage {
                field: "number",
                message,
                label: None,
            }];
            match cards_page(&state, &visitor, &session, errors, form.number).await {
                Ok(page) => respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => failure(&state, visitor, &e, true),
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn new_virtual(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state.kopilka.new_virtual_card(&session.member).await {
        Ok(_) => visitor.finish(Redirect::to("/account/cards?done=1").into_response()),
        Err(e) => failure(&state, visitor, &e, true),
    }
}

pub async fn block(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    // Unconfirmed, nothing happens: the list shows the card still active.
    if form.confirm != "yes" {
        return visitor.finish(Redirect::to("/account/cards").into_response());
    }
    let Ok(number) = CardNumber::parse(&number) else {
        return visitor.finish(StatusCode::NOT_FOUND.into_response());
    };
    match state.kopilka.block_card(&session.member, &number).await {
        Ok(_) => visitor.finish(Redirect::to("/account/cards?done=1").into_response()),
        Err(e) => failure(&state, visitor, &e, true),
    }
}

/// `POST /account/card-token` (from the account page's script): a one-time code the till
/// accepts as the card, with its barcode. The CSRF token comes in a header, as a script sends it.
pub async fn card_token(
    State(state): State<WebState>,
    visitor: Visitor,
    headers: axum::http::HeaderMap,
) -> Response {
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state.kopilka.card_token(&session.member).await {
        Ok((code, expires_at)) => {
            let svg = crate::barcode::ean13_svg(code.as_str()).unwrap_or_default();
            let body = serde_json::json!({
                "code": code.as_str(),
                "expires_at": expires_at,
                "svg": svg,
            });
            visitor.finish(axum::Json(body).into_response())
        }
        // An incomplete profile or no active card: the page keeps the card's own barcode.
        Err(_) => visitor.finish(StatusCode::CONFLICT.into_response()),
    }
}
