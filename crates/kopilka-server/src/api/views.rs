//! The JSON shapes of answers, as API.md names them.

use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::ledger::{Balance, HistoryEntry, MovementKind};
use kopilka_domain::member::Member;
use kopilka_store::Card;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentsView {
    pub personal_data: bool,
    pub newsletters: bool,
    /// Version of the consent texts agreed to.
    pub version: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub id: i64,
    /// E.164.
    #[schema(example = "+79991234567")]
    pub phone: String,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    #[schema(example = "female")]
    pub gender: Option<&'static str>,
    pub birth_date: Option<NaiveDate>,
    pub city: Option<String>,
    pub email: Option<String>,
    pub favourite_store_id: Option<i64>,
    pub favourite_category_id: Option<i64>,
    /// False while a required field is empty; most features stay closed until it is true.
    pub profile_complete: bool,
    pub consents: ConsentsView,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        let p = &m.profile;
        Self {
            id: m.id.get(),
            phone: m.phone.to_string(),
            last_name: p.last_name.clone(),
            first_name: p.first_name.clone(),
            gender: p.gender.map(|g| g.as_str()),
            birth_date: p.birth_date,
            city: p.city.clone(),
            email: p.email.clone(),
            favourite_store_id: p.favourite_store_id.map(|id| id.get()),
            favourite_category_id: p.favourite_category_id,
            profile_complete: p.is_complete(),
            consents: ConsentsView {
                personal_data: m.consents.personal_data,
                newsletters: m.consents.newsletters,
                version: m.consents.version.clone(),
                recorded_at: m.consents.recorded_at,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    #[schema(example = "2600000000007")]
    pub number: String,
    /// `physical` or `virtual`.
    pub kind: &'static str,
    /// `active` or `blocked`.
    pub status: &'static str,
}

impl From<&Card> for CardView {
    fn from(c: &Card) -> Self {
        Self {
            number: c.number.to_string(),
            kind: c.kind.as_str(),
            status: c.status.as_str(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringView {
    pub points: i64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// Points that can be spent now.
    pub available: i64,
    /// Points earned but not yet available.
    pub pending: i64,
    /// Points that expire soon, soonest first.
    pub expiring: Vec<ExpiringView>,
}

impl From<&Balance> for BalanceView {
    fn from(b: &Balance) -> Self {
        Self {
            available: b.available.get(),
            pending: b.pending.get(),
            expiring: b
                .expiring
                .iter()
                .map(|e| ExpiringView {
                    points: e.points.get(),
                    expires_at: e.expires_at,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryItemView {
    pub id: i64,
    /// welcome, accrual, redemption, refund, expiry, adjustment, offer or transfer.
    #[schema(value_type = String, example = "welcome")]
    pub kind: MovementKind,
    /// Signed: positive in, negative out.
    pub points: i64,
    pub at: DateTime<Utc>,
    pub store_id: Option<i64>,
    pub receipt_id: Option<String>,
    /// In the language of `Accept-Language` (Russian by default).
    pub description: String,
}

impl From<&HistoryEntry> for HistoryItemView {
    fn from(e: &HistoryEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            points: e.points.get(),
            at: e.at,
            store_id: e.store_id,
            receipt_id: e.receipt_id.clone(),
            description: crate::error::language()
                .texts()
                .render_stored(&e.description),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPageView {
    pub items: Vec<HistoryItemView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedInView {
    pub token: String,
    pub member: MemberView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSentView {
    /// Seconds before another code may be requested.
    pub resend_after_s: u64,
    /// Seconds the code stays valid.
    pub expires_in_s: u64,
}

impl From<kopilka_service::auth::CodeSent> for CodeSentView {
    fn from(c: kopilka_service::auth::CodeSent) -> Self {
        Self {
            resend_after_s: c.resend_after_s,
            expires_in_s: c.expires_in_s,
        }
    }
}

/// `signed_in` with `token` and `member`, or `registration_required` with `registration_token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeVerifiedView {
    #[schema(example = "signed_in")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredView {
    pub token: String,
    pub member: MemberView,
    pub card: CardView,
    pub balance: BalanceView,
}
