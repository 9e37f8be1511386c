//! `/admin/members`: customer care finds a customer by what they were told.

use super::views::CardView;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use kopilka_service::care::{FoundMember, FOUND_PAGE_MAX};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(find_members))
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
