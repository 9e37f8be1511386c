//! `/account/purchases`: the customer's receipts, and each one opened with what every line
//! earned and why (SPEC §3.1); `/account/favourite`: the favourite category's chooser with
//! what their own purchases would have earned with each (SPEC §1.6).

use crate::format::{date, date_time, money};
use crate::guard::Signed;
use crate::pages::{failure, message_for, not_found, respond};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::member::StoreId;
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::purchases::ExplainedReceipt;
use kopilka_service::ServiceError;
use serde::Deserialize;

/// Receipts a page of the list shows.
const PAGE: u32 = 20;

struct PurchaseLine {
    id: i64,
    when: String,
    store: String,
    total: String,
    earned: i64,
    paid_points: i64,
}

#[derive(Template)]
#[template(path = "purchases.html")]
struct PurchasesPage {
    page: Chrome,
    purchases: Vec<PurchaseLine>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
}

/// Store names by id, for receipts ("Гипермаркет «Ленинградский»" rather than "1").
async fn store_names(state: &WebState) -> Result<Vec<(StoreId, String)>, ServiceError> {
    Ok(state
        .kopilka
        .store_locations()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

fn store_name(names: &[(StoreId, String)], id: StoreId) -> String {
    names
        .iter()
        .find(|(s, _)| *s == id)
        .map_or_else(|| id.to_string(), |(_, name)| name.clone())
}

pub async fn list(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Query(query): Query<PageQuery>,
) -> Response {
    let cursor = query.cursor.filter(|c| !c.is_empty());
    let found = state
        .kopilka
        .purchases(session.member.id, Some(PAGE), cursor.as_deref())
        .await;
    let page = match found {
        Ok(page) => page,
        // A cursor spoilt by hand shows the first page rather than an error.
        Err(ServiceError::Domain(DomainError::Validation(_))) => {
            return visitor.finish(Redirect::to("/account/purchases").into_response())
        }
        Err(e) => return failure(&state, visitor, &e, true),
    };
    let names = match store_names(&state).await {
        Ok(names) => names,
        Err(e) => return failure(&state, visitor, &e, true),
    };
    let tz = state.kopilka.rules().timezone;
    let purchases = page
        .items
        .iter()
        .map(|p| PurchaseLine {
            id: p.id.get(),
            when: date_time(p.purchased_at, tz),
            store: store_name(&names, p.store_id),
            total: money(p.total_kop, visitor.lang),
            earned: p.earned,
            paid_points: p.redeemed,
        })
        .collect();
    let page = PurchasesPage {
        page: Chrome::new(&state, &visitor, true),
        purchases,
        next: page.next_cursor,
    };
    respond(visitor, &page, StatusCode::OK)
}

struct ReceiptLine {
    name: String,
    amount: String,
    earned: i64,
    /// Catalogue key of the reason.
    reason: &'static str,
    offer_points: i64,
    refunded: Option<String>,
}

struct RefundLine {
    when: String,
    taken_back: i64,
    returned: i64,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    page: Chrome,
    receipt_id: String,
    when: String,
    store: String,
    total: String,
    discount: String,
    payable: String,
    redeemed: i64,
    earned: i64,
    lines: Vec<ReceiptLine>,
    refunds: Vec<RefundLine>,
}

fn reason_key(reason: kopilka_domain::receipt::LineReason) -> &'static str {
    use kopilka_domain::receipt::LineReason as R;
    match reason {
        R::Base => "reason_base",
        R::Favourite => "reason_favourite",
        R::Offer => "reason_offer",
        R::ExcludedCategory => "reason_excluded_category",
        R::SelfCheckout => "reason_self_checkout",
        R::DailyLimit => "reason_daily_limit",
    }
}

fn receipt_page(
    state: &WebState,
    visitor: &Visitor,
    receipt: &ExplainedReceipt,
    names: &[(StoreId, String)],
) -> ReceiptPage {
    let tz = state.kopilka.rules().timezone;
    let lang = visitor.lang;
    let p = &receipt.receipt.purchase;
    ReceiptPage {
        page: Chrome::new(state, visitor, true),
        receipt_id: p.receipt_id.clone(),
        when: date_time(p.purchased_at, tz),
        store: store_name(names, p.store_id),
        total: money(p.total_kop, lang),
        discount: money(p.discount_kop, lang),
        payable: money(p.payable_kop, lang),
        redeemed: p.redeemed,
        earned: p.earned,
        lines: receipt
            .lines()
            .map(|(l, e)| ReceiptLine {
                name: l.name.clone().unwrap_or_else(|| l.sku.clone()),
                amount: money(l.amount_kop, lang),
                earned: l.earned,
                reason: reason_key(e.reason),
                offer_points: e.offer_points.get(),
                refunded: (l.refunded_kop > 0).then(|| money(l.refunded_kop, lang)),
            })
            .collect(),
        refunds: receipt
            .receipt
            .refunds
            .iter()
            .map(|r| RefundLine {
                when: date(r.at, tz),
                taken_back: r.taken_back,
                returned: r.returned,
            })
            .collect(),
    }
}

pub async fn receipt(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Path(id): Path<String>,
) -> Response {
    let found = match id.parse::<i64>() {
        Ok(id) => state.kopilka.receipt(session.member.id, id).await,
        Err(_) => Err(DomainError::NotFound("purchase").into()),
    };
    let receipt = match found {
        Ok(receipt) => receipt,
        Err(ServiceError::Domain(DomainError::NotFound(_))) => {
            return not_found(&state, visitor, "receipt_not_found", None, true)
        }
        Err(e) => return failure(&state, visitor, &e, true),
    };
    match store_names(&state).await {
        Ok(names) => {
            let page = receipt_page(&state, &visitor, &receipt, &names);
            respond(visitor, &page, StatusCode::OK)
        }
        Err(e) => failure(&state, visitor, &e, true),
    }
}

struct Choice {
    id: i64,
    name: String,
    points: i64,
    current: bool,
}

#[derive(Template)]
#[template(path = "favourite.html")]
struct FavouritePage {
    page: Chrome,
    saved: bool,
    error: Option<String>,
    choices: Vec<Choice>,
    since: String,
    /// When it may change next; `None`: now.
    next_change: Option<String>,
}

async fn favourite_page(
    state: &WebState,
    visitor: &Visitor,
    member: &kopilka_domain::member::Member,
    error: Option<String>,
) -> Result<FavouritePage, ServiceError> {
    let chooser = state.kopilka.favourite_chooser(member).await?;
    let tz = state.kopilka.rules().timezone;
    Ok(FavouritePage {
        page: Chrome::new(state, visitor, true),
        saved: false,
        error,
        choices: chooser
            .choices
            .into_iter()
            .map(|c| Choice {
                id: c.category.id,
                name: c.category.name,
                points: c.would_have_earned.get(),
                current: c.current,
            })
            .collect(),
        since: date(chooser.since, tz),
        next_change: chooser.next_change_at.map(|at| date(at, tz)),
    })
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn favourite(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Query(q): Query<Saved>,
) -> Response {
    match favourite_page(&state, &visitor, &session.member, None).await {
        Ok(mut page) => {
            page.saved = q.saved.is_some();
            respond(visitor, &page, StatusCode::OK)
        }
        Err(e) => failure(&state, visitor, &e, true),
    }
}

#[derive(Deserialize)]
pub struct FavouriteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
}

pub async fn choose_favourite(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<FavouriteForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let tz = state.kopilka.rules().timezone;
    let result = match form.category.parse::<i64>() {
        Ok(category) => state
            .kopilka
            .change_favourite_category(&session.member, category)
            .await
            .map_err(|e| match e {
                ServiceError::Domain(DomainError::FavouriteCategoryLocked { next_change_at }) => {
                    format!(
                        "{} {}",
                        visitor.texts.get("favourite_locked"),
                        date(next_change_at, tz)
                    )
                }
                other => message_for(&visitor, &other),
            }),
        Err(_) => Err(visitor.texts.get("favourite_choose_one").to_owned()),
    };
    match result {
        Ok(()) => visitor.finish(Redirect::to("/account/favourite?saved=1").into_response()),
        Err(message) => {
            match favourite_page(&state, &visitor, &session.member, Some(message)).await {
                Ok(page) => respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => failure(&state, visitor, &e, true),
            }
        }
    }
}
