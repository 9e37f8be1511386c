//! The till's side of storage: till keys, purchases, refunds, expiry and adjustments (the
//! card lifecycle is `Cards`). Every method is one transaction.

use crate::{Activation, Card, NewAuditEntry, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::earning::{Priced, TillId, TillKind};
use kopilka_domain::member::{Member, MemberId, StoreId};
use kopilka_domain::offers::OfferId;
use kopilka_domain::receipt::PurchaseId;
use kopilka_domain::{CardNumber, DomainError, Kopecks, Points};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Till {
    pub id: TillId,
    pub store_id: StoreId,
    pub kind: TillKind,
}

/// A till as `kopilka till list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillListing {
    pub till: Till,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whom a scanned card stands for: the member, the card and the member's offer activations.
#[derive(Debug, Clone)]
pub struct CardHolder {
    pub member: Member,
    pub card: Card,
    pub activations: Vec<Activation>,
}

/// A card's holder with the points they can spend now: what the till shows and prices a
/// quote against.
#[derive(Debug, Clone)]
pub struct TillCustomer {
    pub holder: CardHolder,
    pub available: Points,
    /// The holder's earning receipts on the day asked for (the daily limit counts them);
    /// zero when no day was asked for.
    pub earning_receipts: u32,
}

/// What the pricing rules need that only the store knows, read inside the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseState {
    pub available: Points,
    pub earning_receipts_today: u32,
    /// How often the member used each of the request's `offer_ids` so far.
    pub offer_uses: Vec<(OfferId, u32)>,
}

/// Prices the purchase against the state read under lock; may refuse it. A store that reads
/// the state optimistically may price again when the state changed before its write.
pub type Pricer = Box<dyn Fn(&PurchaseState) -> Result<Priced, DomainError> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct PurchaseRequest {
    pub store_id: StoreId,
    pub till_id: TillId,
    pub receipt_id: String,
    /// A digest of the request body: the same receipt id with another body is a conflict.
    pub request_hash: String,
    pub member_id: MemberId,
    pub card_number: CardNumber,
    /// A one-time code used in place of the card, spent by this purchase.
    pub card_token: Option<String>,
    /// The till's time of sale: earlier than `committed_at` for receipts uploaded later.
    pub purchased_at: DateTime<Utc>,
    pub committed_at: DateTime<Utc>,
    /// The chain's calendar day of `purchased_at`, for the earning receipts per day.
    pub day_start: DateTime<Utc>,
    pub day_end: DateTime<Utc>,
    pub lot_expires_at: DateTime<Utc>,
    /// When the earned points become spendable (after the optional pending period).
    pub lot_available_at: DateTime<Utc>,
    pub accrual_description: String,
    pub redemption_description: String,
    /// The member's activated offers that may apply: the store reads their uses under the
    /// purchase's lock, and counts one use for each offer the priced purchase awards.
    pub offer_ids: Vec<OfferId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// `balance` is the member's available points after the purchase.
pub struct PurchaseOutcome {
    pub purchase_id: PurchaseId,
    pub receipt_id: String,
    pub earned: Points,
    pub redeemed: Points,
    pub discount: Kopecks,
    pub payable: Kopecks,
    pub balance: Points,
    /// True when this is the stored answer to an earlier identical request.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub store_id: StoreId,
    pub receipt_id: String,
    pub refund_id: String,
    pub request_hash: String,
    /// (line id, amount); `None` refunds whatever is left of the receipt.
    pub lines: Option<Vec<(String, Kopecks)>>,
    pub at: DateTime<Utc>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund_id: String,
    pub points_taken_back: Points,
    pub points_returned: Points,
    pub balance: Points,
    pub replayed: bool,
}

/// A sale already recorded under a receipt id, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPurchase {
    pub purchase_id: PurchaseId,
    pub request_hash: String,
    pub earned: i64,
    pub redeemed: i64,
    pub discount_kop: i64,
    pub payable_kop: i64,
    pub balance: i64,
}

impl RecordedPurchase {
    /// The answer to `req` when its receipt id is already recorded: the recorded result again,
    /// or an idempotency conflict when the request is not the one recorded.
    pub fn replay(self, req: &PurchaseRequest) -> StoreResult<PurchaseOutcome> {
        if self.request_hash != req.request_hash {
            return Err(DomainError::IdempotencyConflict.into());
        }
        Ok(PurchaseOutcome {
            purchase_id: self.purchase_id,
            receipt_id: req.receipt_id.clone(),
            earned: Points::new(self.earned),
            redeemed: Points::new(self.redeemed),
            discount: Kopecks::new(self.discount_kop),
            payable: Kopecks::new(self.payable_kop),
            balance: Points::new(self.balance),
            replayed: true,
        })
    }
}

/// A return already recorded under a refund id, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRefund {
    pub request_hash: String,
    pub taken_back: i64,
    pub returned: i64,
    pub balance: i64,
}

impl RecordedRefund {
    /// The answer to `req` when its refund id is already recorded: the recorded result again,
    /// or an idempotency conflict when the request is not the one recorded.
    pub fn replay(self, req: &RefundRequest) -> StoreResult<RefundOutcome> {
        if self.request_hash != req.request_hash {
            return Err(DomainError::IdempotencyConflict.into());
        }
        Ok(RefundOutcome {
            refund_id: req.refund_id.clone(),
            points_taken_back: Points::new(self.taken_back),
            points_returned: Points::new(self.returned),
            balance: Points::new(self.balance),
            replayed: true,
        })
    }
}

/// One of `count` disjoint shares of the members (`member_id % count == index`). Expiry
/// workers each take one, so that no two ever lock the same member's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberShare {
    pub index: u32,
    pub count: u32,
}

/// A lot's place in the expiry order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotKey {
    pub expires_at: DateTime<Utc>,
    pub id: i64,
}

#[derive(Debug, Clone)]
pub struct Adjustment {
    pub member_id: MemberId,
    /// Signed: positive credits, negative debits (never below zero).
    pub points: Points,
    pub description: String,
    pub lot_expires_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub audit: NewAuditEntry,
    /// The pending request this adjustment carries out: marked approved in the same
    /// transaction, or `StateConflict` (and nothing applied) if it is no longer pending.
    pub approves: Option<crate::approvals::Approval>,
}

#[async_trait]
pub trait Pos: Send + Sync {
    /// Writes the store runs at once: parallel batch jobs gain nothing beyond this.
    fn concurrent_writes(&self) -> u32 {
        u32::MAX
    }
    /// `NotFound` for an unknown store. The audit row is written in the same transaction,
    /// its subject completed with the new id.
    async fn create_till(
        &self,
        store: StoreId,
        kind: TillKind,
        key_hash: &str,
        at: DateTime<Utc>,
        audit: crate::NewAuditEntry,
    ) -> StoreResult<Till>;
    /// Every till, oldest first.
    async fn tills(&self) -> StoreResult<Vec<TillListing>>;
    /// Revokes the till's key, with its audit row; false if there is no such live till.
    async fn revoke_till(
        &self,
        id: TillId,
        at: DateTime<Utc>,
        audit: crate::NewAuditEntry,
    ) -> StoreResult<bool>;
    async fn till_by_key(&self, key_hash: &str) -> StoreResult<Option<Till>>;
    /// The member a bound card belongs to, the card, the points available at `now` and the
    /// member's offer activations, with their earning receipts on `earning_day` (`[start,
    /// end)`) when one is given; `None` for an unknown or unbound card.
    async fn till_customer(
        &self,
        number: &CardNumber,
        now: DateTime<Utc>,
        earning_day: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> StoreResult<Option<TillCustomer>>;
    /// How many of the member's purchases in `[start, end)` earned points: what the daily
    /// earning limit counts.
    async fn earning_receipts(
        &self,
        member: MemberId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> StoreResult<u32>;
    /// The member a recorded sale belongs to, by the store and receipt id it was recorded
    /// under; `None` if there is no such sale.
    async fn purchase_member(
        &self,
        store: StoreId,
        receipt_id: &str,
    ) -> StoreResult<Option<MemberId>>;
    /// The same without the points, for a purchase, which reads them with the rest of its
    /// state.
    async fn card_holder(&self, number: &CardNumber) -> StoreResult<Option<CardHolder>>;

    /// Records a purchase once per (store, receipt id): spends points FIFO from the lots,
    /// credits what it earned as a new lot (paying any debt first). A repeat of the same
    /// request returns the first outcome with `replayed`; another body is
    /// `Rule(IdempotencyConflict)`.
    async fn commit_purchase(
        &self,
        request: PurchaseRequest,
        price: Pricer,
    ) -> StoreResult<PurchaseOutcome>;
    /// Returns goods of a purchase once per (store, refund id). `NotFound` without the purchase.
    async fn refund_purchase(&self, request: RefundRequest) -> StoreResult<RefundOutcome>;
    /// Looks at up to `batch` lots whose time has come, in (expiry, id) order after `after`,
    /// and expires those of the members in `share`; returns how many it expired and the key of
    /// the last lot it looked at, to continue from (none once no due lot is left). The key
    /// keeps a run from walking again over the lots it just expired (PostgreSQL's index still
    /// lists them until vacuum).
    async fn expire_lots(
        &self,
        now: DateTime<Utc>,
        batch: u32,
        after: Option<LotKey>,
        share: MemberShare,
        description: &str,
    ) -> StoreResult<(u64, Option<LotKey>)>;
    /// A manual adjustment with its audit entry; the balance after it.
    async fn adjust(&self, adjustment: Adjustment) -> StoreResult<Points>;
}
