use crate::members::{card_from_row, member_from_row, CARD_COLUMNS, MEMBER_COLUMNS};
use crate::posting::{add_lot, live_lots, lock_member_account, post, take_from_lots, Movement};
use crate::purchases::{purchase, refund};
use crate::sale_state::{
    live_lots_from_row, SaleState, LIVE_LOTS, LIVE_LOT_COLUMNS, RECEIPTS_LOOKBACK,
};
use crate::{db, detached, Pool, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::earning::TillId;
use kopilka_domain::earning::TillKind;
use kopilka_domain::ledger::{decide_adjustment, AdjustmentPlan, MovementKind, SystemAccount};
use kopilka_domain::member::{MemberId, StoreId};
use kopilka_domain::offers::OfferId;
use kopilka_domain::{CardNumber, DomainError, Points};
use kopilka_store::{
    Activation, Adjustment, CardHolder, LotKey, MemberShare, Pos, Pricer, PurchaseOutcome,
    PurchaseRequest, RefundOutcome, RefundRequest, StoreError, StoreResult, Till, TillCustomer,
};
use sqlx::postgres::PgRow;
use sqlx::Row;

fn till_kind(s: &str) -> StoreResult<TillKind> {
    TillKind::parse(s).map_err(|_| StoreError::Corrupt(format!("bad till kind {s:?}")))
}

/// A sale's state (`SaleState`) for the member of the account `a`, with the earning receipts
/// since `$2`; from `accounts a` and its live lots (`LIVE_LOTS`). The offer uses come with the
/// activations (`activations_of`).
const SALE_STATE_COLUMNS: &str = "a.credits_posted - a.debits_posted AS balance, \
     kopilka_account_version(a.xmin) AS version, \
     ARRAY(SELECT purchased_at FROM purchases \
           WHERE member_id = a.member_id AND earned > 0 AND purchased_at >= $2) AS earning_receipts";

/// The offer activations of the member `member` (an SQL expression), aggregated as `o`.
fn activations_of(member: &str) -> String {
    format!(
        "CROSS JOIN LATERAL (SELECT COALESCE(array_agg(offer_id), '{{}}') AS offers, \
                                    COALESCE(array_agg(activated_at), '{{}}') AS activated, \
                                    COALESCE(array_agg(uses), '{{}}') AS uses \
                             FROM offer_activations WHERE member_id = {member}) o"
    )
}

/// A bound card with its holder and the holder's offer activations, in one statement; with
/// `now`, also the holder's sale state then (`SALE_STATE_COLUMNS`).
async fn holder_row(
    pool: &Pool,
    number: &CardNumber,
    now: Option<DateTime<Utc>>,
) -> StoreResult<Option<PgRow>> {
    let (state, accounts) = match now {
        Some(_) => (
            format!(", {SALE_STATE_COLUMNS}, {LIVE_LOT_COLUMNS}"),
            format!("JOIN accounts a ON a.member_id = m.id {LIVE_LOTS}"),
        ),
        None => (String::new(), String::new()),
    };
    let activations = activations_of("m.id");
    let sql = format!(
        "SELECT {MEMBER_COLUMNS}, {CARD_COLUMNS}, o.offers, o.activated, o.uses{state} \
         FROM cards c JOIN members m ON m.id = c.member_id {accounts} {activations} \
         WHERE c.number = $1"
    );
    let query = sqlx::query(&sql).bind(number.as_str());
    match now {
        Some(now) => query.bind(now - RECEIPTS_LOOKBACK),
        None => query,
    }
    .fetch_optional(pool)
    .await
    .map_err(db)
}

/// A member's sale state at `now`, for a holder already known.
async fn sale_state(pool: &Pool, member: MemberId, now: DateTime<Utc>) -> StoreResult<SaleState> {
    let activations = activations_of("a.member_id");
    let sql = format!(
        "SELECT o.offers, o.uses, {SALE_STATE_COLUMNS}, {LIVE_LOT_COLUMNS} \
         FROM accounts a {activations} {LIVE_LOTS} WHERE a.member_id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(member.get())
        .bind(now - RECEIPTS_LOOKBACK)
        .fetch_optional(pool)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
    sale_state_from_row(&row, now)
}

fn sale_state_from_row(row: &PgRow, now: DateTime<Utc>) -> StoreResult<SaleState> {
    let offers: Vec<i64> = row.try_get("offers").map_err(db)?;
    let uses: Vec<i64> = row.try_get("uses").map_err(db)?;
    Ok(SaleState {
        read_at: now,
        version: row.try_get("version").map_err(db)?,
        balance: row.try_get("balance").map_err(db)?,
        lots: live_lots_from_row(row)?,
        earning_receipts: row.try_get("earning_receipts").map_err(db)?,
        offer_uses: offers.into_iter().zip(uses).collect(),
    })
}

fn holder_from_row(row: &PgRow) -> StoreResult<CardHolder> {
    let offers: Vec<i64> = row.try_get("offers").map_err(db)?;
    let activated: Vec<DateTime<Utc>> = row.try_get("activated").map_err(db)?;
    let uses: Vec<i64> = row.try_get("uses").map_err(db)?;
    // Aligned (one scan feeds the three arrays), sorted here: an ordered aggregate would set
    // up a sort of its own for each array on every call.
    let mut activations: Vec<Activation> = offers
        .into_iter()
        .zip(activated)
        .zip(uses)
        .map(|((offer_id, activated_at), uses)| Activation {
            offer_id: OfferId::new(offer_id),
            activated_at,
            uses: u32::try_from(uses).unwrap_or(u32::MAX),
        })
        .collect();
    activations.sort_by_key(|a| a.offer_id);
    Ok(CardHolder {
        member: member_from_row(row)?,
        card: card_from_row(row)?,
        activations,
    })
}

#[async_trait]
impl Pos for PostgresStore {
    async fn create_till(
        &self,
        store: StoreId,
        kind: TillKind,
        key_hash: &str,
        at: DateTime<Utc>,
        mut audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<Till> {
        let pool = self.pool.clone();
        let key_hash = key_hash.to_owned();
        crate::detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1)")
                    .bind(store.get())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tills (store_id, kind, key_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(store.get())
            .bind(kind.as_str())
            .bind(&key_hash)
            .bind(at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            audit.subject.push_str(&id.to_string());
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(Till {
                id: TillId::new(id),
                store_id: store,
                kind,
            })
        })
        .await
    }

    async fn tills(&self) -> StoreResult<Vec<kopilka_store::TillListing>> {
        let rows: Vec<(i64, i64, String, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT id, store_id, kind, created_at, revoked_at FROM tills ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(id, store_id, kind, created_at, revoked_at)| {
                Ok(kopilka_store::TillListing {
                    till: Till {
                        id: TillId::new(id),
                        store_id: StoreId::new(store_id),
                        kind: till_kind(&kind)?,
                    },
                    created_at,
                    revoked_at,
                })
            })
            .collect()
    }

    async fn revoke_till(
        &self,
        id: TillId,
        at: DateTime<Utc>,
        audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<bool> {
        let pool = self.pool.clone();
        crate::detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let n = sqlx::query(
                "UPDATE tills SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id.get())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn till_by_key(&self, key_hash: &str) -> StoreResult<Option<Till>> {
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, store_id, kind FROM tills WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|(id, store_id, kind)| {
            Ok(Till {
                id: TillId::new(id),
                store_id: StoreId::new(store_id),
                kind: till_kind(&kind)?,
            })
        })
        .transpose()
    }

    async fn till_customer(
        &self,
        number: &CardNumber,
        now: DateTime<Utc>,
        earning_day: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> StoreResult<Option<TillCustomer>> {
        let (holder, state) = match self.caches.cards.get(number.as_str()) {
            Some(holder) => {
                let state = sale_state(&self.pool, holder.member.id, now).await?;
                (holder, state)
            }
            None => {
                let ticket = self.caches.cards.ticket();
                let Some(row) = holder_row(&self.pool, number, Some(now)).await? else {
                    return Ok(None);
                };
                let (holder, state) = (holder_from_row(&row)?, sale_state_from_row(&row, now)?);
                if let Some(ticket) = ticket {
                    self.caches
                        .cards
                        .put(ticket, number.as_str(), holder.member.id, &holder);
                }
                (holder, state)
            }
        };
        let earning_receipts = match earning_day {
            None => 0,
            Some((start, end)) => match state.earning_receipts_between(start, end) {
                Some(count) => u32::try_from(count).unwrap_or(u32::MAX),
                None => self.earning_receipts(holder.member.id, start, end).await?,
            },
        };
        // Kept for the purchase that follows (`sale_state`).
        let available = state.available();
        self.sale_states.keep(holder.member.id, state);
        Ok(Some(TillCustomer {
            holder,
            available,
            earning_receipts,
        }))
    }

    async fn purchase_member(
        &self,
        store: StoreId,
        receipt_id: &str,
    ) -> StoreResult<Option<MemberId>> {
        let member: Option<i64> = sqlx::query_scalar(
            "SELECT member_id FROM purchases WHERE store_id = $1 AND receipt_id = $2",
        )
        .bind(store.get())
        .bind(receipt_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(member.map(MemberId::new))
    }

    async fn earning_receipts(
        &self,
        member: MemberId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM purchases WHERE member_id = $1 AND earned > 0 \
             AND purchased_at >= $2 AND purchased_at < $3",
        )
        .bind(member.get())
        .bind(start)
        .bind(end)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn card_holder(&self, number: &CardNumber) -> StoreResult<Option<CardHolder>> {
        if let Some(holder) = self.caches.cards.get(number.as_str()) {
            return Ok(Some(holder));
        }
        let ticket = self.caches.cards.ticket();
        let Some(row) = holder_row(&self.pool, number, None).await? else {
            return Ok(None);
        };
        let holder = holder_from_row(&row)?;
        if let Some(ticket) = ticket {
            self.caches
                .cards
                .put(ticket, number.as_str(), holder.member.id, &holder);
        }
        Ok(Some(holder))
    }

    async fn commit_purchase(
        &self,
        req: PurchaseRequest,
        price: Pricer,
    ) -> StoreResult<PurchaseOutcome> {
        let (pool, system) = (self.pool.clone(), self.system.clone());
        let (member, offers_in_play) = (req.member_id, !req.offer_ids.is_empty());
        let kept = self.sale_states.take(member);
        let outcome =
            detached(async move { purchase(&pool, &system, req, price, kept).await }).await;
        // A use it counted changed the holder's activations: forgotten here at once, on
        // other nodes when the trigger's notice comes. A card found blocked was blocked by
        // another node whose notice is still on its way.
        let blocked = matches!(outcome, Err(StoreError::Rule(DomainError::CardBlocked)));
        if offers_in_play || blocked {
            self.caches.forget_member(member);
        }
        outcome
    }

    async fn refund_purchase(&self, req: RefundRequest) -> StoreResult<RefundOutcome> {
        let (pool, system) = (self.pool.clone(), self.system.clone());
        detached(async move { refund(&pool, &system, req).await }).await
    }

    async fn expire_lots(
        &self,
        now: DateTime<Utc>,
        batch: u32,
        after: Option<LotKey>,
        share: MemberShare,
        description: &str,
    ) -> StoreResult<(u64, Option<LotKey>)> {
        let expiry = self.system.of(SystemAccount::Expiry)?;
        let (after_at, after_id) = after.map_or((DateTime::<Utc>::UNIX_EPOCH, i64::MIN), |k| {
            (k.expires_at, k.id)
        });
        let pool = self.pool.clone();
        let description = description.to_owned();
        detached(async move {
            // One statement a batch. It walks `batch` due lots in the order of the `live_lots_due`
            // index and expires those of this worker's members: with the share in the index
            // scan's filter instead, the planner cannot tell how selective it is and sorts every
            // due lot on each batch. Only the members' accounts are locked: every writer of a
            // member's lots holds the account (migration 17), so with it held no one else
            // changes the lots. An account that a purchase holds right now is skipped and its
            // lots are left for the next run. A lot is deleted from `live_lots` by the address
            // of the version the scan saw (`ctid`), not by its key: no new version, no index
            // entry, no descent of an index. A lot that a purchase changed between the scan
            // and the account's lock has its newest version at another address: PostgreSQL 15
            // skips it (tried by hand: an update committed while the batch waited), and the
            // next run expires it; one that spent it to nothing deleted it. What is expired is
            // what the row deleted held, never what the snapshot saw.
            let mut tx = pool.begin().await.map_err(db)?;
            let row: Option<(i64, i64, i64, DateTime<Utc>, i64)> = sqlx::query_as(
                "WITH scanned AS (SELECT ctid AS seen, lot_id, member_id, expires_at FROM live_lots \
                                  WHERE expires_at <= $1 AND (expires_at, lot_id) > ($3, $4) \
                                  ORDER BY expires_at, lot_id LIMIT $2), \
                 due AS (SELECT s.seen, a.id AS account \
                         FROM scanned s JOIN accounts a ON a.member_id = s.member_id \
                         WHERE s.member_id % $5 = $6 FOR UPDATE OF a SKIP LOCKED), \
                 zeroed AS (DELETE FROM live_lots l USING due d WHERE l.ctid = d.seen \
                            RETURNING l.lot_id, l.member_id, d.account, l.remaining, l.expires_at), \
                 debited AS (UPDATE accounts a SET debits_posted = a.debits_posted + z.total \
                             FROM (SELECT account, SUM(remaining) AS total FROM zeroed GROUP BY account) z \
                             WHERE a.id = z.account), \
                 posted AS (INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, lot_id, description, at) \
                            SELECT account, $7, remaining, $9, member_id, lot_id, $8, $1 FROM zeroed ORDER BY expires_at, lot_id \
                            RETURNING amount), \
                 credited AS (UPDATE accounts SET credits_posted = credits_posted + (SELECT SUM(amount) FROM posted) \
                              WHERE id = $7 AND EXISTS (SELECT 1 FROM posted) RETURNING id), \
                 last AS (SELECT expires_at, lot_id FROM scanned ORDER BY expires_at DESC, lot_id DESC LIMIT 1) \
                 SELECT (SELECT COUNT(*) FROM zeroed), (SELECT COUNT(*) FROM posted), (SELECT COUNT(*) FROM credited), \
                        last.expires_at, last.lot_id FROM last",
            )
            .bind(now)
            .bind(i64::from(batch))
            .bind(after_at)
            .bind(after_id)
            .bind(i64::from(share.count))
            .bind(i64::from(share.index))
            .bind(expiry)
            .bind(&description)
            .bind(MovementKind::Expiry.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some((zeroed, posted, credited, last_at, last_id)) = row else {
                return Ok((0, None));
            };
            // Every zeroed lot has its transfer and the expiry account took them all, or the
            // batch is rolled back.
            if posted != zeroed || credited != i64::from(zeroed > 0) {
                return Err(StoreError::Corrupt(format!(
                    "expiry posted {posted} transfers for {zeroed} lots, credited {credited}"
                )));
            }
            tx.commit().await.map_err(db)?;
            Ok((zeroed as u64, Some(LotKey { expires_at: last_at, id: last_id })))
        })
        .await
    }

    async fn adjust(&self, a: Adjustment) -> StoreResult<Points> {
        let system = self.system.of(SystemAccount::Adjustment)?;
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            if let Some(approval) = a.approves {
                crate::approvals::mark_approved(&mut tx, approval, a.at).await?;
            }
            let (account, balance) = lock_member_account(&mut tx, a.member_id).await?;
            let movement = |debit, credit, amount| Movement {
                debit,
                credit,
                amount,
                kind: MovementKind::Adjustment,
                member: a.member_id,
                store_id: None,
                receipt_id: None,
                lot_id: None,
                description: &a.description,
                at: a.at,
            };
            let lots = live_lots(&mut tx, a.member_id).await?;
            let decision = decide_adjustment(balance, &lots, a.points.get(), a.at)?;
            match decision.plan {
                AdjustmentPlan::Credit { points, lot } => {
                    let transfer = post(&mut tx, &movement(system, account, points)).await?;
                    add_lot(&mut tx, a.member_id, transfer, lot, a.at, a.lot_expires_at, a.at).await?;
                }
                AdjustmentPlan::Debit { points, draws } => {
                    post(&mut tx, &movement(account, system, points)).await?;
                    take_from_lots(&mut tx, a.member_id, &draws).await?;
                }
            }
            sqlx::query("INSERT INTO audit_log (actor, action, subject, details, at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&a.audit.actor)
                .bind(&a.audit.action)
                .bind(&a.audit.subject)
                .bind(&a.audit.details)
                .bind(a.audit.at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(Points::new(decision.available_after))
        })
        .await
    }
}
