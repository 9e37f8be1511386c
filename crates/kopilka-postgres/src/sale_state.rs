//! The state a sale is priced against, read by the till's identify and quote and kept on the
//! node for the purchase that follows seconds later, so that the purchase need not read it
//! again: on PostgreSQL that read is a statement and a round trip of its own, about a seventh
//! of what a sale at the till costs (docs/PERFORMANCE.md).
//!
//! Nothing kept here is trusted. `kopilka_record_sale` checks under the member's lock that the
//! account is still at the state's version, and every change to this state moves points and so
//! rewrites the account row (migration 11): a state that went stale costs a read, not a wrong
//! sale. (A new writer of lots, earning purchases or offer uses must keep that true: the
//! version check is all that stands between a kept state and a sale priced on it, for as long
//! as the state is kept.) What depends on the time is kept so that it can be worked out for the
//! purchase's own moment: the pending lots with when each becomes available, and the earning
//! receipts of the last days with when each was bought.

use crate::db;
use crate::purchases::Snapshot;
use chrono::{DateTime, Duration, Utc};
use kopilka_domain::lots::{self, LiveLot};
use kopilka_domain::member::MemberId;
use kopilka_domain::Points;
use kopilka_store::PurchaseRequest;
use kopilka_store::StoreResult;
use sqlx::postgres::PgRow;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// How far back the earning receipts are kept: a purchase's day (at most 25 hours, on a
/// clock change) starts within it for any purchase made up to a day after the read. An
/// offline receipt from further back reads its day afresh.
pub(crate) const RECEIPTS_LOOKBACK: Duration = Duration::days(2);

/// The live lots of the member of the account `a`, aggregated as `lots` in one scan of the
/// member's range of `live_lots`' key (the arrays aligned), read by `LIVE_LOT_COLUMNS`.
pub(crate) const LIVE_LOTS: &str = "CROSS JOIN LATERAL (\
    SELECT COALESCE(array_agg(lot_id), '{}') AS ids, COALESCE(array_agg(transfer_id), '{}') AS transfers, \
           COALESCE(array_agg(available_at), '{}') AS available, COALESCE(array_agg(expires_at), '{}') AS expires, \
           COALESCE(array_agg(remaining), '{}') AS remaining \
    FROM live_lots WHERE member_id = a.member_id) lots";
pub(crate) const LIVE_LOT_COLUMNS: &str = "lots.ids AS lot_ids, lots.transfers AS lot_transfers, \
    lots.available AS lot_available, lots.expires AS lot_expires, lots.remaining AS lot_remaining";

pub(crate) fn live_lots_from_row(row: &PgRow) -> StoreResult<Vec<LiveLot>> {
    let ids: Vec<i64> = row.try_get("lot_ids").map_err(db)?;
    let transfers: Vec<i64> = row.try_get("lot_transfers").map_err(db)?;
    let available: Vec<DateTime<Utc>> = row.try_get("lot_available").map_err(db)?;
    let expires: Vec<DateTime<Utc>> = row.try_get("lot_expires").map_err(db)?;
    let remaining: Vec<i64> = row.try_get("lot_remaining").map_err(db)?;
    Ok(ids
        .into_iter()
        .zip(transfers)
        .zip(available.into_iter().zip(expires))
        .zip(remaining)
        .map(
            |(((lot_id, transfer_id), (available_at, expires_at)), remaining)| LiveLot {
                lot_id,
                transfer_id,
                available_at,
                expires_at,
                remaining,
            },
        )
        .collect())
}

/// More members than one node's tills serve within a state's lifetime; past it the kept
/// states start afresh rather than grow.
const MAX_STATES: usize = 60_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SaleState {
    /// The moment the state was read for.
    pub(crate) read_at: DateTime<Utc>,
    pub(crate) version: i64,
    /// Credits less debits of the member's account.
    pub(crate) balance: i64,
    /// The member's live lots: what is pending at a moment, and what a redemption draws on.
    pub(crate) lots: Vec<LiveLot>,
    /// When each earning purchase bought since `read_at - RECEIPTS_LOOKBACK` was bought.
    pub(crate) earning_receipts: Vec<DateTime<Utc>>,
    /// Each activated offer with its uses, by offer id.
    pub(crate) offer_uses: Vec<(i64, i64)>,
}

impl SaleState {
    /// What the member can spend at `read_at`.
    pub(crate) fn available(&self) -> Points {
        Points::new(self.balance - lots::pending(&self.lots, self.read_at))
    }

    /// The earning receipts bought in `[start, end)`, if the state goes back that far.
    pub(crate) fn earning_receipts_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Option<usize> {
        (start >= self.read_at - RECEIPTS_LOOKBACK).then(|| {
            self.earning_receipts
                .iter()
                .filter(|at| (start..end).contains(*at))
                .count()
        })
    }

    /// What `req` would read as its state, if this state can tell; `None` sends it to the
    /// database. It cannot tell whether the receipt is recorded: the sale's function finds
    /// that out when it claims the receipt id.
    pub(crate) fn for_purchase(&self, req: &PurchaseRequest) -> Option<Snapshot> {
        if req.committed_at < self.read_at {
            return None;
        }
        let receipts_today = self.earning_receipts_between(req.day_start, req.day_end)?;
        let mut offers = req.offer_ids.clone();
        offers.sort_unstable();
        let uses = offers
            .iter()
            .map(|id| {
                let (_, uses) = self
                    .offer_uses
                    .iter()
                    .find(|(offer, _)| *offer == id.get())?;
                Some(*uses)
            })
            .collect::<Option<Vec<i64>>>()?;
        Some(Snapshot {
            version: self.version,
            balance: self.balance,
            lots: self.lots.clone(),
            receipts_today: i64::try_from(receipts_today).unwrap_or(i64::MAX),
            offers: offers.iter().map(|id| id.get()).collect(),
            uses,
            recorded: None,
        })
    }
}

/// The states this node read for its tills, by member, each taken by the purchase it was
/// read for. `lifetime` only bounds how long one is kept: staleness costs a read.
pub(crate) struct SaleStates {
    lifetime: std::time::Duration,
    kept: Mutex<HashMap<MemberId, (Instant, SaleState)>>,
}

impl SaleStates {
    pub(crate) fn new(lifetime: std::time::Duration) -> Self {
        Self {
            lifetime,
            kept: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn keep(&self, member: MemberId, state: SaleState) {
        if self.lifetime.is_zero() {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= MAX_STATES {
            kept.clear();
        }
        kept.insert(member, (Instant::now(), state));
    }

    pub(crate) fn take(&self, member: MemberId) -> Option<SaleState> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (at, state) = kept.remove(&member)?;
        (at.elapsed() < self.lifetime).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopilka_domain::CardNumber;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(hours)
    }

    fn lot(lot_id: i64, available_at: DateTime<Utc>, remaining: i64) -> LiveLot {
        LiveLot {
            lot_id,
            transfer_id: lot_id,
            available_at,
            expires_at: at(1_000),
            remaining,
        }
    }

    fn state() -> SaleState {
        SaleState {
            read_at: at(0),
            version: 7,
            balance: 500,
            lots: vec![
                lot(1, at(-100), 360),
                lot(2, at(1), 100),
                lot(3, at(48), 40),
            ],
            earning_receipts: vec![at(-30), at(-5), at(-1)],
            offer_uses: vec![(3, 1), (9, 0)],
        }
    }

    fn request(
        committed_at: DateTime<Utc>,
        day: (i64, i64),
        offer_ids: Vec<i64>,
    ) -> PurchaseRequest {
        PurchaseRequest {
            store_id: kopilka_domain::member::StoreId::new(1),
            till_id: kopilka_domain::earning::TillId::new(1),
            receipt_id: "R1".into(),
            request_hash: "h".into(),
            member_id: MemberId::new(42),
            card_number: CardNumber::parse("4006381333931").unwrap(),
            card_token: None,
            purchased_at: committed_at,
            committed_at,
            day_start: at(day.0),
            day_end: at(day.1),
            lot_expires_at: committed_at,
            lot_available_at: committed_at,
            accrual_description: String::new(),
            redemption_description: String::new(),
            offer_ids: offer_ids
                .into_iter()
                .map(kopilka_domain::offers::OfferId::new)
                .collect(),
        }
    }

    #[test]
    fn pending_lots_and_the_days_receipts_are_worked_out_for_the_purchase() {
        let s = state();
        assert_eq!(s.available(), Points::new(360));
        let soon = s.for_purchase(&request(at(0), (-10, 14), vec![])).unwrap();
        assert_eq!((soon.pending(at(0)), soon.receipts_today), (140, 2));
        // The first lot became available between the quote and the purchase.
        let later = s.for_purchase(&request(at(2), (-10, 14), vec![])).unwrap();
        assert_eq!(
            (later.version, later.balance, later.pending(at(2))),
            (7, 500, 40)
        );
        assert!(later.recorded.is_none());
    }

    #[test]
    fn a_quote_counts_the_days_receipts_when_it_goes_back_that_far() {
        let s = state();
        assert_eq!(s.earning_receipts_between(at(-10), at(14)), Some(2));
        assert_eq!(s.earning_receipts_between(at(-34), at(-10)), Some(1));
        assert_eq!(s.earning_receipts_between(at(-49), at(-25)), None);
    }

    #[test]
    fn offers_come_in_id_order_with_their_uses() {
        let snap = state()
            .for_purchase(&request(at(0), (-10, 14), vec![9, 3]))
            .unwrap();
        assert_eq!((snap.offers, snap.uses), (vec![3, 9], vec![1, 0]));
    }

    #[test]
    fn what_it_cannot_tell_is_read_afresh() {
        let s = state();
        // an offer activated since
        assert!(s
            .for_purchase(&request(at(0), (-10, 14), vec![5]))
            .is_none());
        // a day that starts before the receipts kept
        assert!(s
            .for_purchase(&request(at(0), (-49, -25), vec![]))
            .is_none());
        // a purchase timed before the read (another node's clock)
        assert!(s
            .for_purchase(&request(at(-1), (-10, 14), vec![]))
            .is_none());
    }

    #[test]
    fn a_state_is_taken_once_and_not_after_its_lifetime() {
        let states = SaleStates::new(std::time::Duration::from_secs(30));
        states.keep(MemberId::new(42), state());
        assert_eq!(states.take(MemberId::new(42)), Some(state()));
        assert_eq!(states.take(MemberId::new(42)), None);
        let off = SaleStates::new(std::time::Duration::ZERO);
        off.keep(MemberId::new(42), state());
        assert_eq!(off.take(MemberId::new(42)), None);
    }
}
