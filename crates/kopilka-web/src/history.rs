//! `/account/history`: every movement of points, newest first, filtered by kind, a page at a
//! time (the cursor is the service's own).

use crate::guard::Signed;
use crate::pages::{failure, respond, HistoryLine};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopilka_domain::ledger::MovementKind;
use kopilka_service::auth::CustomerSession;
use serde::Deserialize;

/// Lines a page of history shows.
const PAGE: u32 = 20;
/// Pages of the service's history read at most to fill one filtered page.
const READS_PER_PAGE: usize = 10;

/// The kinds a person can filter by, with their catalogue keys.
const KINDS: [(&str, &str); 7] = [
    ("accrual", "kind_accrual"),
    ("redemption", "kind_redemption"),
    ("welcome", "kind_welcome"),
    ("refund", "kind_refund"),
    ("expiry", "kind_expiry"),
    ("adjustment", "kind_adjustment"),
    ("offer", "kind_offer"),
];

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    page: Chrome,
    kinds: Vec<(&'static str, &'static str)>,
    kind: String,
    history: Vec<HistoryLine>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    kind: String,
    cursor: Option<String>,
}

pub async fn history(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    // An unknown kind shows everything rather than nothing.
    let kind = MovementKind::from_db(&query.kind).filter(|k| *k != MovementKind::Transfer);
    let tz = state.kopilka.rules().timezone;
    let mut lines = Vec::new();
    let mut cursor = query.cursor.filter(|c| !c.is_empty());
    for _ in 0..READS_PER_PAGE {
        let page = match state
            .kopilka
            .history(session.member.id, Some(PAGE), cursor.as_deref())
            .await
        {
            Ok(page) => page,
            Err(e) => return failure(&state, visitor, &e, true),
        };
        lines.extend(
            page.items
                .iter()
                .filter(|h| kind.is_none_or(|k| h.kind == k))
                .map(|h| HistoryLine::new(h, tz, &visitor.texts)),
        );
        cursor = page.next_cursor;
        if cursor.is_none() || lines.len() >= PAGE as usize {
            break;
        }
    }
    let page = HistoryPage {
        page: Chrome::new(&state, &visitor, true),
        kinds: KINDS.to_vec(),
        kind: kind.map_or(String::new(), |k| k.as_str().to_owned()),
        history: lines,
        next: cursor,
    };
    respond(visitor, &page, StatusCode::OK)
}
