//! Daily aggregates for reports (`kopilka_domain::reports`): the roll-up reads the ledger's
//! transfers and the purchases past a watermark, the service adds them up by the chain's
//! days, and the store applies the sums and moves the watermark in one transaction.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::reports::{DailyPoints, MovementFact, PurchaseFact};

/// How far the roll-up has read, and the newest ids it saw on its last look (read only once
/// every writer that could still hold an older id has finished: see `Reports::rollup_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watermark {
    pub transfer_id: i64,
    pub purchase_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupState {
    /// Everything up to here is in the aggregates.
    pub done: Watermark,
    /// The newest ids seen at `seen_at`.
    pub seen: Watermark,
    pub seen_at: DateTime<Utc>,
    /// The newest ids now.
    pub newest: Watermark,
}

/// One batch of the roll-up, as the service added it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupBatch {
    /// The watermark it was read from; the batch is refused if another node moved it.
    pub from: Watermark,
    pub to: Watermark,
    pub points: Vec<DailyPoints>,
    /// Customers who bought, by day, in day order.
    pub buyers: Vec<(NaiveDate, Vec<MemberId>)>,
}

#[async_trait]
pub trait Reports: Send + Sync {
    async fn rollup_state(&self) -> StoreResult<RollupState>;
    /// Notes the newest ids seen now, for a later roll-up to read up to.
    async fn note_seen(&self, seen: Watermark, at: DateTime<Utc>) -> StoreResult<()>;
    /// Transfers and purchases after `after` up to `upto`, at most `limit` of each, in id
    /// order.
    async fn rollup_input(
        &self,
        after: Watermark,
        upto: Watermark,
        limit: u32,
    ) -> StoreResult<(Vec<MovementFact>, Vec<PurchaseFact>)>;
    /// Adds the batch to the aggregates and moves the watermark to `to`, if it still stands
    /// at `from`; false (and nothing changed) if another node got there first. A customer
    /// counts among a day's active customers once, on the first purchase the roll-up reads
    /// of theirs that day (receipts uploaded later for a day before their last are not
    /// counted again).
    async fn apply_rollup(&self, batch: RollupBatch) -> StoreResult<bool>;
    /// The aggregates of the days `from` to `to`, both included.
    async fn daily_points(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<DailyPoints>>;
    async fn daily_active(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, u64)>>;
    /// What the chain owed its members as of the watermark: the members' balances less what
    /// the transfers after it moved, read in one snapshot.
    async fn liability_at_watermark(&self) -> StoreResult<i64>;
}
