//! Card management: physical cards issued in bulk and bound to members, virtual cards,
//! blocking, and the one-time codes a card is shown by. Every method is one transaction.

use crate::{Card, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::card::CardBatchId;
use kopilka_domain::member::{Member, MemberId};
use kopilka_domain::{CardNumber, CardStatus};

/// A batch of printed cards and how far it has gone out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardBatch {
    pub id: CardBatchId,
    pub issued_at: DateTime<Utc>,
    /// The audit actor who issued it (`staff:7`, `cli`).
    pub issued_by: String,
    pub cards: u64,
    /// Cards handed out: bound to a customer, whether still active or blocked since.
    pub bound: u64,
}

#[async_trait]
pub trait Cards: Send + Sync {
    /// Adds unbound physical cards to a batch, a new one (issued by the audit row's actor)
    /// when `batch` is `None`; returns the batch and the numbers that were new. Writes the
    /// audit row in the same transaction, its `details` set to `{"count": N}` of the cards
    /// added.
    async fn issue_cards(
        &self,
        batch: Option<CardBatchId>,
        numbers: &[CardNumber],
        at: DateTime<Utc>,
        audit: crate::NewAuditEntry,
    ) -> StoreResult<(CardBatchId, Vec<CardNumber>)>;
    /// The newest batches first, at most `limit`, with how many of their cards are bound.
    async fn card_batches(&self, limit: u32) -> StoreResult<Vec<CardBatch>>;
    /// A batch's cards in number order with their status; `None` for an unknown batch.
    async fn batch_cards(
        &self,
        batch: CardBatchId,
    ) -> StoreResult<Option<Vec<(CardNumber, CardStatus)>>>;
    /// Binds an unbound card to the member as their active card, blocking the old one.
    async fn bind_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card>;
    /// Gives the member a new virtual card as their active card, blocking the old one.
    async fn add_virtual_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card>;
    /// Blocks one of the member's cards.
    async fn block_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card>;
    /// Staff block one of the member's cards (`blocked`), or give a blocked one back as the
    /// member's active card, blocking the one active now; the audit row in the same
    /// transaction. `StateConflict` for giving back a card that is not blocked.
    async fn set_card_blocked(
        &self,
        member: MemberId,
        number: &CardNumber,
        blocked: bool,
        at: DateTime<Utc>,
        audit: crate::NewAuditEntry,
    ) -> StoreResult<Card>;
    async fn create_card_token(
        &self,
        card: &CardNumber,
        code: &CardNumber,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The member and card a one-time code stands for: with `now`, only if the code is
    /// unspent and unexpired then; without, whatever became of it.
    async fn resolve_card_token(
        &self,
        code: &CardNumber,
        now: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<(Member, Card)>>;
}
