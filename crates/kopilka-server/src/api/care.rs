//! `/admin/members`: customer care finds a customer by what they were told.

use super::auth::{ConsentsBody, PersonBody};
use super::views::CardView;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kopilka_domain::{member, CardNumber, Phone, Validation};
use kopilka_service::care::{FoundMember, FOUND_PAGE_MAX};
use kopilka_service::paper_forms::PaperForm;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(find_members))
        .routes(routes!(paper_form))
        .routes(routes!(card_status))
}

/// Members a search shows when no `limit` is given.
const FOUND_PAGE_DEFAULT: u32 = 20;

#[derive(Debug, Deserialize, IntoParams)]
pub struct FindQuery {
    /// A phone as typed (`8 999 555-00-11`), a card number, an e-mail, or the start of a
    /// last name (and first name).
    #[serde(default)]
    q: String,
    /// At most this many (1 to 50, default 20).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FoundMemberView {
    id: i64,
    #[schema(example = "+79995550011")]
    phone: String,
    last_name: Option<String>,
    first_name: Option<String>,
    city: Option<String>,
    cards: Vec<CardView>,
    /// Points available now.
    available: i64,
}

impl From<&FoundMember> for FoundMemberView {
    fn from(f: &FoundMember) -> Self {
        let p = &f.member.profile;
        Self {
            id: f.member.id.get(),
            phone: f.member.phone.as_str().to_owned(),
            last_name: p.last_name.clone(),
            first_name: p.first_name.clone(),
            city: p.city.clone(),
            cards: f.cards.iter().map(Into::into).collect(),
            available: f.available.get(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FoundPageView {
    items: Vec<FoundMemberView>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// Find customers (support, store managers, administrators): a phone or a card finds its
/// one holder, an e-mail its owner, a name every customer whose name starts so, in
/// alphabetical order.
#[utoipa::path(get, path = "/admin/members", tag = "admin", params(FindQuery), security(("staff" = [])),
    responses((status = 200, body = FoundPageView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "`q` is none of these, or the cursor is not one of ours")))]
async fn find_members(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<FindQuery>,
) -> ApiResult<Json<FoundPageView>> {
    let page = state
        .kopilka
        .find_members(
            &auth.staff,
            &query.q,
            query
                .limit
                .unwrap_or(FOUND_PAGE_DEFAULT)
                .min(FOUND_PAGE_MAX),
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(FoundPageView {
        items: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Default, Deserialize, serde::Serialize, ToSchema)]
#[serde(default)]
pub struct PaperFormBody {
    /// The plastic card handed out with the form: from an issued batch, not yet bound.
    card_number: String,
    /// As written on the form.
    phone: String,
    #[serde(flatten)]
    person: PersonBody,
    email: Option<String>,
    consents: ConsentsBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaperFormKeyed {
    member_id: i64,
}

/// Key in a customer's paper form (support, store managers, administrators; SPEC 1.3): makes
/// the customer with the welcome points and binds the form's card, which then signs in once
/// the customer sets a password through recovery.
#[utoipa::path(post, path = "/admin/paper-forms", tag = "admin", security(("staff" = [])), request_body = PaperFormBody,
    responses((status = 201, body = PaperFormKeyed), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "phone_taken, or card_already_bound"),
              (status = 422, body = Problem, description = "validation_failed: a field, or a card no issued batch holds")))]
async fn paper_form(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiJson(body): ApiJson<PaperFormBody>,
) -> ApiResult<(StatusCode, Json<PaperFormKeyed>)> {
    let mut v = Validation::default();
    let card = v.check("card_number", CardNumber::parse(&body.card_number));
    let phone = v.check("phone", Phone::parse(&body.phone));
    let person = body.person.parse(&mut v, &state);
    let email = v.check_opt(
        "email",
        body.email
            .filter(|s| !s.trim().is_empty())
            .map(|s| member::parse_email(&s)),
    );
    if !body.consents.personal_data {
        v.add("consents.personal_data", "consent_required");
    }
    v.finish()?;
    let (Some(card), Some(phone), Some(person), Some(email)) = (card, phone, person, email) else {
        return Err(Validation::default().into_error().into());
    };
    let member = state
        .kopilka
        .key_in_paper_form(
            &auth.staff,
            PaperForm {
                card,
                phone,
                profile: member::Profile { email, ..person },
                newsletters: body.consents.newsletters,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PaperFormKeyed {
            member_id: member.id.get(),
        }),
    ))
}

/// Block one of a customer's cards (`block`), or give a blocked one back as their active card,
/// blocking the one active now (`unblock`): support, store managers, administrators; audited.
#[utoipa::path(post, path = "/admin/members/{id}/cards/{number}/{action}", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path, description = "Member id"), ("number" = String, Path, description = "Card number"),
           ("action" = String, Path, description = "`block` or `unblock`")),
    responses((status = 200, body = CardView), (status = 403, body = Problem),
              (status = 404, body = Problem, description = "no such member, card of theirs, or action"),
              (status = 409, body = Problem, description = "state_conflict: unblocking a card that is not blocked")))]
async fn card_status(
    State(state): State<AppState>,
    auth: StaffAuth,
    crate::extract::ApiPath((id, number, action)): crate::extract::ApiPath<(i64, String, String)>,
) -> ApiResult<Json<CardView>> {
    let blocked = match action.as_str() {
        "block" => true,
        "unblock" => false,
        _ => return Err(kopilka_domain::DomainError::NotFound("action").into()),
    };
    let number =
        CardNumber::parse(&number).map_err(|_| kopilka_domain::DomainError::NotFound("card"))?;
    let card = state
        .kopilka
        .set_card_blocked(
            &auth.staff,
            kopilka_domain::member::MemberId::new(id),
            &number,
            blocked,
        )
        .await?;
    Ok(Json((&card).into()))
}
