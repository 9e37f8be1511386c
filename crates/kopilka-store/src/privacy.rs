//! Records for the customer's personal-data controls (152-FZ): what the export reads that no
//! other trait method does, and the erasure of an account.

use crate::NewAuditEntry;
use chrono::{DateTime, Utc};
use kopilka_domain::member::{Consents, MemberId, StoreId};
use kopilka_domain::receipt::PurchaseId;
use kopilka_domain::Points;

/// One consent given or withdrawn, as `consent_log` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub personal_data: bool,
    pub newsletters: bool,
    /// Version of the consent texts.
    pub version: String,
    pub at: DateTime<Utc>,
}

/// One line of a recorded purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseLineRecord {
    pub line_id: String,
    pub sku: String,
    /// The product's name in the catalogue, if it is there.
    pub name: Option<String>,
    pub category_id: i64,
    pub amount_kop: i64,
    pub discount_kop: i64,
    pub earned: i64,
    pub redeemed: i64,
    /// Why the line earned what it did (`earning::EarnRule` as stored).
    pub rule: String,
    pub refunded_kop: i64,
}

/// A purchase with its lines, as the member's export shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRecord {
    pub id: PurchaseId,
    pub store_id: StoreId,
    pub receipt_id: String,
    pub card_number: String,
    pub purchased_at: DateTime<Utc>,
    pub total_kop: i64,
    pub discount_kop: i64,
    pub payable_kop: i64,
    pub earned: i64,
    pub redeemed: i64,
    /// In receipt order.
    pub lines: Vec<PurchaseLineRecord>,
}

/// What only the member export reads: the consent history and every purchase with its lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberRecords {
    /// Oldest first.
    pub consents: Vec<ConsentRecord>,
    /// Oldest first.
    pub purchases: Vec<PurchaseRecord>,
}

/// Deleting an account (the customer's own request, or their withdrawal of the consent to
/// process personal data).
#[derive(Debug, Clone)]
pub struct Erasure {
    pub member: MemberId,
    pub at: DateTime<Utc>,
    /// The consents as they stand once withdrawn; logged like any other change of consent.
    pub consents: Consents,
    /// The history line of each forfeit transfer.
    pub description: String,
    /// `member.delete`; the store sets its `details` to `{"forfeited": N, "debt": D}`.
    pub audit: NewAuditEntry,
}

/// What an erasure did to the member's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// Available and pending points moved to `system:forfeit`.
    pub forfeited: Points,
    /// A debt left by a refund, kept as it was (as a positive number; zero without one).
    pub debt: Points,
}

impl Erased {
    /// The `details` of the `member.delete` audit row.
    pub fn audit_details(&self) -> String {
        format!(
            "{{\"forfeited\":{},\"debt\":{}}}",
            self.forfeited.get(),
            self.debt.get()
        )
    }
}

/// What `members.phone` holds once the account is deleted.
///
/// A tombstone rather than NULL: the column is NOT NULL UNIQUE on both stores, and SQLite
/// drops a NOT NULL only by rebuilding the table, which the foreign keys of the ledger's
/// tables into `members` refuse inside a migration's transaction (where they cannot be
/// switched off). `erased:<id>` is unique by construction, frees the number for a new
/// registration, and is no E.164 number, so no lookup by phone can ever find it.
pub fn erased_phone(member: MemberId) -> String {
    format!("{ERASED_PREFIX}{member}")
}

const ERASED_PREFIX: &str = "erased:";

/// The number a deleted member's `Member.phone` holds: the till still reads the row behind a
/// scanned card to refuse it as blocked, and a `Member` needs some `Phone`. Never written,
/// never compared with the column (lookups by phone go to the column), and never texted: a
/// deleted member has no session and no active card, which every path to an SMS needs.
const ERASED_PLACEHOLDER: &str = "+79000000000";

/// Reads `members.phone`: the number, or the placeholder for a deleted member's tombstone.
pub fn member_phone(stored: &str) -> crate::StoreResult<kopilka_domain::Phone> {
    if stored.starts_with(ERASED_PREFIX) {
        return crate::convert::phone(ERASED_PLACEHOLDER);
    }
    crate::convert::phone(stored)
}
