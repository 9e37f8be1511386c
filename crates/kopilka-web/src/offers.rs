//! `/account/offers`: the personal offers meant for the customer, each activated with one
//! button (SPEC §5.2). An incomplete profile is led to the form first.

use crate::format::date;
use crate::guard::Signed;
use crate::pages::{respond, unless_incomplete};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::offers::OfferId;
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::ServiceError;
use serde::Deserialize;

struct OfferLine {
    id: i64,
    title: String,
    description: String,
    until: String,
    activated: bool,
    uses_left: u32,
}

#[derive(Template)]
#[template(path = "offers.html")]
struct OffersPage {
    page: Chrome,
    activated: bool,
    offers: Vec<OfferLine>,
}

#[derive(Deserialize)]
pub struct Done {
    activated: Option<String>,
}

pub async fn list(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Query(q): Query<Done>,
) -> Response {
    let offers = match state.kopilka.member_offers(&session.member).await {
        Ok(offers) => offers,
        Err(e) => return unless_incomplete(&state, visitor, &e),
    };
    let tz = state.kopilka.rules().timezone;
    let page = OffersPage {
        page: Chrome::new(&state, &visitor, true),
        activated: q.activated.is_some(),
        offers: offers
            .into_iter()
            .map(|o| OfferLine {
                id: o.offer.id.get(),
                until: date(o.offer.ends_at, tz),
                title: o.offer.title,
                description: o.offer.description,
                activated: o.activated_at.is_some(),
                uses_left: o.uses_left,
            })
            .collect(),
    };
    respond(visitor, &page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
}

pub async fn activate(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<ActivateForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let result = match id.parse::<OfferId>() {
        Ok(id) => state
            .kopilka
            .activate_offer(&session.member, id)
            .await
            .map(|_| ()),
        Err(_) => Err(ServiceError::Domain(DomainError::NotFound("offer"))),
    };
    match result {
        Ok(()) => visitor.finish(Redirect::to("/account/offers?activated=1").into_response()),
        // An offer that ended (or was never theirs) meanwhile: the list shows what is left.
        Err(ServiceError::Domain(DomainError::NotFound(_))) => {
            visitor.finish(Redirect::to("/account/offers").into_response())
        }
        Err(e) => unless_incomplete(&state, visitor, &e),
    }
}
