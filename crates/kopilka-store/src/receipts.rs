//! The customer's own purchases read back as receipts: the list, one receipt with its lines
//! and returns, and what recent lines paid by category (the favourite category's chooser).

use crate::{PurchaseRecord, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::{CategoryId, MemberId};
use kopilka_domain::receipt::PurchaseId;

/// Where a page of purchases ends: the last one shown, in (time, id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseCursor {
    pub at: DateTime<Utc>,
    pub id: PurchaseId,
}

/// One return of goods from a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub refund_id: String,
    pub at: DateTime<Utc>,
    /// Earned points taken back.
    pub taken_back: i64,
    /// Spent points given back.
    pub returned: i64,
}

/// A purchase with its lines (named from the catalogue where it knows the product) and its
/// returns, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub purchase: PurchaseRecord,
    pub refunds: Vec<RefundRecord>,
}

/// The sums of a member's lines in one category under one earning rule, since some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySpend {
    pub category_id: CategoryId,
    /// `earning::EarnRule` as stored.
    pub rule: String,
    pub amount_kop: i64,
    pub discount_kop: i64,
    pub refunded_kop: i64,
}

#[async_trait]
pub trait Receipts: Send + Sync {
    /// The member's purchases, newest first (by purchase time, then id), after `before`;
    /// without their lines.
    async fn purchases_of(
        &self,
        member: MemberId,
        before: Option<PurchaseCursor>,
        limit: u32,
    ) -> StoreResult<Vec<PurchaseRecord>>;
    /// One of the member's purchases; `None` if there is no such purchase or it is another
    /// member's.
    async fn receipt(&self, member: MemberId, id: PurchaseId) -> StoreResult<Option<Receipt>>;
    /// The member's lines bought at or after `since`, summed by category and rule.
    async fn spending_by_category(
        &self,
        member: MemberId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<CategorySpend>>;
}
