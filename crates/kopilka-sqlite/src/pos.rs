use crate::ledger::balance_of;
use crate::marketing::activations_of;
use crate::members::card_holder;
use crate::posting::{
    add_lot, live_lots, member_account, post, system_account, take_from_lots, Movement,
};
use crate::purchases::{earning_receipts, purchase_tx, refund_tx};
use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::earning::TillId;
use kopilka_domain::earning::TillKind;
use kopilka_domain::ledger::{decide_adjustment, AdjustmentPlan, MovementKind, SystemAccount};
use kopilka_domain::member::{MemberId, StoreId};
use kopilka_domain::{CardNumber, Points};
use kopilka_store::{
    Adjustment, CardHolder, LotKey, MemberShare, Pos, Pricer, PurchaseOutcome, PurchaseRequest,
    RefundOutcome, RefundRequest, StoreError, StoreResult, Till, TillCustomer,
};
use rusqlite::{params, Connection};

fn till_kind(s: &str) -> StoreResult<TillKind> {
    TillKind::parse(s).map_err(|_| StoreError::Corrupt(format!("bad till kind {s:?}")))
}

/// A bound card's holder with their offer activations; `None` for an unknown or unbound card.
fn holder_of(c: &Connection, number: &str) -> StoreResult<Option<CardHolder>> {
    let Some((member, card)) = card_holder(c, number)? else {
        return Ok(None);
    };
    let activations = activations_of(c, member.id)?;
    Ok(Some(CardHolder {
        member,
        card,
        activations,
    }))
}

#[async_trait]
impl Pos for SqliteStore {
    /// One writer thread.
    fn concurrent_writes(&self) -> u32 {
        1
    }

    async fn create_till(
        &self,
        store: StoreId,
        kind: TillKind,
        key_hash: &str,
        at: DateTime<Utc>,
        mut audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<Till> {
        let key_hash = key_hash.to_owned();
        self.write(move |tx| {
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?1)",
                    [store.get()],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO tills (store_id, kind, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![store.get(), kind.as_str(), key_hash, micros(at)],
            )
            .map_err(backend)?;
            let id = tx.last_insert_rowid();
            audit.subject.push_str(&id.to_string());
            crate::catalog::insert_audit(tx, &audit)?;
            Ok(Till {
                id: TillId::new(id),
                store_id: store,
                kind,
            })
        })
        .await
    }

    async fn tills(&self) -> StoreResult<Vec<kopilka_store::TillListing>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT id, store_id, kind, created_at, revoked_at FROM tills ORDER BY id")
                .map_err(backend)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (id, store_id, kind, created_at, revoked_at) = r.map_err(backend)?;
                Ok(kopilka_store::TillListing {
                    till: Till {
                        id: TillId::new(id),
                        store_id: StoreId::new(store_id),
                        kind: till_kind(&kind)?,
                    },
                    created_at: time(created_at),
                    revoked_at: revoked_at.map(time),
                })
            })
            .collect()
        })
        .await
    }

    async fn revoke_till(
        &self,
        id: TillId,
        at: DateTime<Utc>,
        audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE tills SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id.get(), micros(at)],
                )
                .map_err(backend)?;
            if n == 0 {
                return Ok(false);
            }
            crate::catalog::insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn till_by_key(&self, key_hash: &str) -> StoreResult<Option<Till>> {
        let key_hash = key_hash.to_owned();
        self.read(move |c| {
            let row: Option<(i64, i64, String)> = optional(
                c.prepare_cached("SELECT id, store_id, kind FROM tills WHERE key_hash = ?1 AND revoked_at IS NULL")
                    .and_then(|mut s| s.query_row([key_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))),
            )?;
            row.map(|(id, store_id, kind)| Ok(Till { id: TillId::new(id), store_id: StoreId::new(store_id), kind: till_kind(&kind)? })).transpose()
        })
        .await
    }

    async fn commit_purchase(
        &self,
        req: PurchaseRequest,
        price: Pricer,
    ) -> StoreResult<PurchaseOutcome> {
        self.write(move |tx| purchase_tx(tx, req, price)).await
    }

    async fn refund_purchase(&self, req: RefundRequest) -> StoreResult<RefundOutcome> {
        self.write(move |tx| refund_tx(tx, req)).await
    }

    async fn expire_lots(
        &self,
        now: DateTime<Utc>,
        batch: u32,
        after: Option<LotKey>,
        share: MemberShare,
        description: &str,
    ) -> StoreResult<(u64, Option<LotKey>)> {
        let description = description.to_owned();
        self.write_with_references_read(move |tx| {
            let expiry = system_account(tx, SystemAccount::Expiry)?;
            let (after_at, after_id) = after.map_or((i64::MIN, i64::MIN), |k| (micros(k.expires_at), k.id));
            // Set-based, as on PostgreSQL: the batch's due lots into a scratch table, then one
            // statement each for their transfers, the members' accounts and the lots.
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS due_lots (lot INTEGER PRIMARY KEY, member INTEGER, remaining INTEGER, \
                 account INTEGER, expires_at INTEGER); DELETE FROM temp.due_lots;",
            )
            .map_err(backend)?;
            let count = tx
                .prepare_cached(
                    "INSERT INTO temp.due_lots SELECT l.id, l.member_id, l.remaining, a.id, l.expires_at \
                     FROM lots l JOIN accounts a ON a.member_id = l.member_id \
                     WHERE l.remaining > 0 AND l.expires_at <= ?1 AND (l.expires_at, l.id) > (?3, ?4) \
                     AND l.member_id % ?5 = ?6 ORDER BY l.expires_at, l.id LIMIT ?2",
                )
                .and_then(|mut st| {
                    st.execute(params![micros(now), batch, after_at, after_id, share.count, share.index])
                })
                .map_err(backend)?;
            if count == 0 {
                return Ok((0, None));
            }
            // The same double entry as `post`, with the expiry account credited once a batch.
            tx.prepare_cached(
                "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, lot_id, description, at) \
                 SELECT account, ?1, remaining, ?2, member, lot, ?3, ?4 FROM temp.due_lots",
            )
            .and_then(|mut st| st.execute(params![expiry, MovementKind::Expiry.as_str(), description, micros(now)]))
            .map_err(backend)?;
            tx.prepare_cached(
                "UPDATE accounts SET debits_posted = debits_posted + d.total \
                 FROM (SELECT account, SUM(remaining) AS total FROM temp.due_lots GROUP BY account) d WHERE accounts.id = d.account",
            )
            .and_then(|mut st| st.execute([]))
            .map_err(backend)?;
            tx.prepare_cached("UPDATE lots SET remaining = 0 WHERE id IN (SELECT lot FROM temp.due_lots)")
                .and_then(|mut st| st.execute([]))
                .map_err(backend)?;
            let (total, last_at, last_id): (i64, i64, i64) = tx
                .prepare_cached(
                    "SELECT (SELECT SUM(remaining) FROM temp.due_lots), expires_at, lot FROM temp.due_lots \
                     ORDER BY expires_at DESC, lot DESC LIMIT 1",
                )
                .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
                .map_err(backend)?;
            tx.prepare_cached("UPDATE accounts SET credits_posted = credits_posted + ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![expiry, total]))
                .map_err(backend)?;
            Ok((count as u64, Some(LotKey { expires_at: time(last_at), id: last_id })))
        })
        .await
    }

    async fn adjust(&self, a: Adjustment) -> StoreResult<Points> {
        self.write(move |tx| {
            if let Some(approval) = a.approves {
                crate::approvals::mark_approved(tx, approval, a.at)?;
            }
            let (account, balance) = member_account(tx, a.member_id)?;
            let system = system_account(tx, SystemAccount::Adjustment)?;
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
            let lots = live_lots(tx, a.member_id)?;
            let decision = decide_adjustment(balance, &lots, a.points.get(), a.at)?;
            match decision.plan {
                AdjustmentPlan::Credit { points, lot } => {
                    let transfer = post(tx, &movement(system, account, points))?;
                    add_lot(tx, a.member_id, transfer, lot, a.at, a.lot_expires_at, a.at)?;
                }
                AdjustmentPlan::Debit { points, draws } => {
                    post(tx, &movement(account, system, points))?;
                    take_from_lots(tx, &draws, None)?;
                }
            }
            tx.execute(
                "INSERT INTO audit_log (actor, action, subject, details, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.audit.actor, a.audit.action, a.audit.subject, a.audit.details, micros(a.audit.at)],
            )
            .map_err(backend)?;
            Ok(Points::new(decision.available_after))
        })
        .await
    }
    async fn till_customer(
        &self,
        number: &CardNumber,
        now: DateTime<Utc>,
        earning_day: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> StoreResult<Option<TillCustomer>> {
        let points = move |c: &Connection, member: MemberId| -> StoreResult<(Points, u32)> {
            let available = balance_of(c, member, now, None)?.available;
            let receipts = match earning_day {
                Some((start, end)) => earning_receipts(c, member, start, end)?,
                None => 0,
            };
            Ok((available, receipts))
        };
        if let Some(holder) = self.holders.get(number.as_str()) {
            let member = holder.member.id;
            let (available, earning_receipts) = self.read(move |c| points(c, member)).await?;
            return Ok(Some(TillCustomer {
                holder,
                available,
                earning_receipts,
            }));
        }
        let ticket = self.holders.ticket();
        let key = number.as_str().to_owned();
        let found = self
            .read(move |c| {
                let Some(holder) = holder_of(c, &key)? else {
                    return Ok(None);
                };
                let (available, receipts) = points(c, holder.member.id)?;
                Ok(Some((holder, available, receipts)))
            })
            .await?;
        Ok(found.map(|(holder, available, earning_receipts)| {
            if let Some(ticket) = ticket {
                self.holders
                    .put(ticket, number.as_str(), holder.member.id, &holder);
            }
            TillCustomer {
                holder,
                available,
                earning_receipts,
            }
        }))
    }

    async fn card_holder(&self, number: &CardNumber) -> StoreResult<Option<CardHolder>> {
        if let Some(holder) = self.holders.get(number.as_str()) {
            return Ok(Some(holder));
        }
        let ticket = self.holders.ticket();
        let key = number.as_str().to_owned();
        let holder = self.read(move |c| holder_of(c, &key)).await?;
        if let (Some(ticket), Some(holder)) = (ticket, &holder) {
            self.holders
                .put(ticket, number.as_str(), holder.member.id, holder);
        }
        Ok(holder)
    }

    async fn earning_receipts(
        &self,
        member: MemberId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> StoreResult<u32> {
        self.read(move |c| earning_receipts(c, member, start, end))
            .await
    }

    async fn purchase_member(
        &self,
        store: StoreId,
        receipt_id: &str,
    ) -> StoreResult<Option<MemberId>> {
        let receipt_id = receipt_id.to_owned();
        self.read(move |c| {
            optional(
                c.prepare_cached(
                    "SELECT member_id FROM purchases WHERE store_id = ?1 AND receipt_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![store.get(), receipt_id], |r| {
                        r.get(0).map(MemberId::new)
                    })
                }),
            )
        })
        .await
    }
}
