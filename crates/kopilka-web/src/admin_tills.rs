//! A store's tills in the back office: open one (its key shown once, on the answer to the
//! form, never in an address), see them all, revoke one.

use crate::admin::failed;
use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{respond, to};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::earning::{TillId, TillKind};
use kopilka_domain::member::StoreId;
use kopilka_service::staff::Caller;
use kopilka_service::ServiceError;
use kopilka_store::{StaffMember, StoreLocation, TillListing};
use serde::Deserialize;

struct TillLine {
    id: i64,
    store: String,
    kind: String,
    created_at: String,
    revoked_at: Option<String>,
}

struct StoreOption {
    id: i64,
    label: String,
    selected: bool,
}

/// A till just opened: its key, shown once.
struct Opened {
    id: i64,
    store: String,
    key: String,
}

#[derive(Template)]
#[template(path = "admin_tills.html")]
struct TillsPage {
    page: Chrome,
    stores: Vec<StoreOption>,
    lines: Vec<TillLine>,
    opened: Option<Opened>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TillsQuery {
    /// Empty: every store.
    store: String,
    done: String,
}

fn store_label(stores: &[StoreLocation], id: StoreId) -> String {
    stores
        .iter()
        .find(|s| s.id == id)
        .map_or_else(|| id.to_string(), |s| format!("{}, {}", s.name, s.city))
}

async fn page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    store: Option<StoreId>,
    opened: Option<(TillListing, String)>,
    notice: Option<String>,
) -> Response {
    let tills = match state.kopilka.tills(Caller::Staff(staff), store).await {
        Ok(tills) => tills,
        Err(e) => return failed(state, visitor, &e),
    };
    let stores = match state.kopilka.store_locations().await {
        Ok(stores) => stores,
        Err(e) => return failed(state, visitor, &e),
    };
    let t = &visitor.texts;
    let tz = state.kopilka.rules().timezone;
    let kind = |k: TillKind| t.get(&format!("till_kind_{}", k.as_str())).to_owned();
    let mut lines: Vec<TillLine> = tills
        .iter()
        .map(|l| TillLine {
            id: l.till.id.get(),
            store: store_label(&stores, l.till.store_id),
            kind: kind(l.till.kind),
            created_at: date_time(l.created_at, tz),
            revoked_at: l.revoked_at.map(|at| date_time(at, tz)),
        })
        .collect();
    // Newest first: the till just opened, or the one to revoke, is usually a recent one.
    lines.reverse();
    let page = TillsPage {
        page: Chrome::for_staff(state, &visitor, staff),
        stores: stores
            .iter()
            .map(|s| StoreOption {
                id: s.id.get(),
                label: format!("{}, {}", s.name, s.city),
                selected: Some(s.id) == store,
            })
            .collect(),
        lines,
        opened: opened.map(|(l, key)| Opened {
            id: l.till.id.get(),
            store: store_label(&stores, l.till.store_id),
            key,
        }),
        notice,
    };
    respond(visitor, &page, StatusCode::OK)
}

pub async fn tills(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<TillsQuery>,
) -> Response {
    let notice = match query.done.as_str() {
        "revoked" => Some(visitor.texts.get("tills_revoked").to_owned()),
        _ => None,
    };
    page(
        &state,
        visitor,
        &staff,
        query.store.trim().parse().ok().map(StoreId::new),
        None,
        notice,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OpenForm {
    csrf: String,
    store: i64,
    kind: String,
}

pub async fn open(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Form(form): Form<OpenForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let kind = TillKind::parse(&form.kind).unwrap_or(TillKind::Staffed);
    let store = StoreId::new(form.store);
    match state
        .kopilka
        .create_till(Caller::Staff(&staff), store, kind)
        .await
    {
        Ok(opened) => page(&state, visitor, &staff, Some(store), Some(opened), None).await,
        Err(ServiceError::Domain(kopilka_domain::DomainError::Validation(_))) => {
            let notice = Some(visitor.texts.get("store_unknown").to_owned());
            page(&state, visitor, &staff, None, None, notice).await
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

/// Asks before revoking: the till stops taking cards at once.
pub async fn confirm_revoke(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
) -> Response {
    let tills = match state.kopilka.tills(Caller::Staff(&staff), None).await {
        Ok(tills) => tills,
        Err(e) => return failed(&state, visitor, &e),
    };
    let Some(till) = tills
        .iter()
        .find(|t| t.till.id.get() == id && t.revoked_at.is_none())
    else {
        return to("/admin/tills", visitor);
    };
    let stores = match state.kopilka.store_locations().await {
        Ok(stores) => stores,
        Err(e) => return failed(&state, visitor, &e),
    };
    let t = visitor.texts;
    let page = crate::admin_people::ConfirmPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        heading: t.render(
            &kopilka_text::Message::new("tills_revoke_confirm")
                .with("id", id)
                .with("store", store_label(&stores, till.till.store_id)),
        ),
        explain: t.get("tills_revoke_explain").to_owned(),
        action: format!("/admin/tills/{id}/revoke"),
        confirm: t.get("tills_revoke").to_owned(),
        back: "/admin/tills",
    };
    respond(visitor, &page, StatusCode::OK)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    csrf: String,
}

pub async fn revoke(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state
        .kopilka
        .revoke_till(Caller::Staff(&staff), TillId::new(id))
        .await
    {
        Ok(()) => to("/admin/tills?done=revoked", visitor),
        Err(e) => failed(&state, visitor, &e),
    }
}
