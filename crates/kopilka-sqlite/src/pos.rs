use crate::ledger::balance_of;
use crate::marketing::activations_of;
use crate::members::{card_from_row, card_holder, member_where};
use crate::posting::{
    add_lot, draw_lots, member_account, pending_points, post, restore_lots, system_account,
    Movement,
};
use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::earning::{plan_refund, RefundableLine, TillKind};
use kopilka_domain::ledger::{lot_after_debt, MovementKind, SystemAccount};
use kopilka_domain::member::{Member, MemberId, StoreId};
use kopilka_domain::{CardNumber, CardStatus, DomainError, Kopecks, Points};
use kopilka_store::{
    Adjustment, Card, CardHolder, LotKey, MemberShare, Pos, Pricer, PurchaseOutcome,
    PurchaseRequest, PurchaseState, RefundOutcome, RefundRequest, StoreError, StoreResult, Till,
    TillCustomer,
};
use rusqlite::{params, Connection, OptionalExtension};

fn till_kind(s: &str) -> StoreResult<TillKind> {
    TillKind::parse(s).map_err(|_| StoreError::Backend(format!("bad till kind {s:?}")))
}

fn card_row(conn: &Connection, number: &str) -> StoreResult<Option<Card>> {
    conn.prepare_cached(
        "SELECT number, kind, status, member_id, bound_at FROM cards WHERE number = ?1",
    )
    .and_then(|mut s| s.query_row([number], |r| card_from_row(r, 0)).optional())
    .map_err(backend)?
    .transpose()
}

/// Makes `number` the member's only active card.
fn make_active(conn: &Connection, member: MemberId, number: &str, at: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE cards SET status = 'blocked', blocked_at = ?3 WHERE member_id = ?1 AND status = 'active' AND number <> ?2",
        params![member, number, at],
    )
    .map_err(backend)?;
    Ok(())
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
    ) -> StoreResult<Till> {
        let key_hash = key_hash.to_owned();
        self.write(move |tx| {
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?1)",
                    [store],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO tills (store_id, kind, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![store, kind.as_str(), key_hash, micros(at)],
            )
            .map_err(backend)?;
            Ok(Till {
                id: tx.last_insert_rowid(),
                store_id: store,
                kind,
            })
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
            row.map(|(id, store_id, kind)| Ok(Till { id, store_id, kind: till_kind(&kind)? })).transpose()
        })
        .await
    }

    async fn commit_purchase(
        &self,
        req: PurchaseRequest,
        price: Pricer,
    ) -> StoreResult<PurchaseOutcome> {
        self.write(move |tx| {
            let existing: Option<(i64, String, i64, i64, i64, i64, i64)> = tx
                .prepare_cached(
                    "SELECT id, request_hash, earned, redeemed, discount_kop, payable_kop, balance_after FROM purchases \
                     WHERE store_id = ?1 AND receipt_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![req.store_id, req.receipt_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                    })
                    .optional()
                })
                .map_err(backend)?;
            if let Some((id, hash, earned, redeemed, discount, payable, balance)) = existing {
                if hash != req.request_hash {
                    return Err(DomainError::IdempotencyConflict.into());
                }
                return Ok(PurchaseOutcome {
                    purchase_id: id,
                    receipt_id: req.receipt_id,
                    earned: Points::new(earned),
                    redeemed: Points::new(redeemed),
                    discount: Kopecks::new(discount),
                    payable: Kopecks::new(payable),
                    balance: Points::new(balance),
                    replayed: true,
                });
            }
            if let Some(code) = &req.card_token {
                let spent = tx
                    .execute(
                        "UPDATE card_tokens SET used_at = ?2 WHERE code = ?1 AND used_at IS NULL AND expires_at > ?2",
                        params![code, micros(req.committed_at)],
                    )
                    .map_err(backend)?;
                if spent != 1 {
                    return Err(DomainError::NotFound("card").into());
                }
            }
            let (account, balance) = member_account(tx, req.member_id)?;
            let earning_receipts_today: u32 = tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM purchases WHERE member_id = ?1 AND earned > 0 AND purchased_at >= ?2 AND purchased_at < ?3",
                )
                .and_then(|mut s| s.query_row(params![req.member_id, micros(req.day_start), micros(req.day_end)], |r| r.get(0)))
                .map_err(backend)?;
            let pending = pending_points(tx, req.member_id, req.committed_at)?;
            let mut offer_uses = Vec::with_capacity(req.offer_ids.len());
            for &offer in &req.offer_ids {
                let uses: Option<u32> = optional(
                    tx.prepare_cached("SELECT uses FROM offer_activations WHERE member_id = ?1 AND offer_id = ?2")
                        .and_then(|mut s| s.query_row(params![req.member_id, offer], |r| r.get(0))),
                )?;
                offer_uses.extend(uses.map(|u| (offer, u)));
            }
            let priced = price(&PurchaseState { available: Points::new(balance - pending), earning_receipts_today, offer_uses })?;
            let (earn, redeem) = (priced.earn.get(), priced.redeem.get());
            let new_lot = lot_after_debt(balance - redeem, earn);
            let new_pending = if req.lot_available_at > req.committed_at { new_lot } else { 0 };
            // What the customer can spend afterwards: spending drew only on available lots.
            let balance_after = balance - redeem + earn - pending - new_pending;
            let purchase: i64 = tx
                .prepare_cached(
                    "INSERT INTO purchases (store_id, till_id, receipt_id, request_hash, member_id, card_number, total_kop, \
                     discount_kop, payable_kop, earned, redeemed, balance_after, purchased_at, committed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id",
                )
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            req.store_id,
                            req.till_id,
                            req.receipt_id,
                            req.request_hash,
                            req.member_id,
                            req.card_number.as_str(),
                            (priced.payable + priced.discount).get(),
                            priced.discount.get(),
                            priced.payable.get(),
                            earn,
                            redeem,
                            balance_after,
                            micros(req.purchased_at),
                            micros(req.committed_at)
                        ],
                        |r| r.get(0),
                    )
                })
                .map_err(backend)?;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO purchase_lines (purchase_id, line_no, line_id, sku, category_id, amount_kop, discount_kop, earned, redeemed, rule) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )
                    .map_err(backend)?;
                for (no, l) in priced.lines.iter().enumerate() {
                    let rule = l.rule.as_str();
                    stmt.execute(params![
                        purchase,
                        no as i64,
                        l.line_id,
                        l.sku,
                        l.category_id,
                        l.amount.get(),
                        l.discount.get(),
                        l.earned.get(),
                        l.redeemed.get(),
                        rule
                    ])
                    .map_err(backend)?;
                }
            }
            if redeem > 0 {
                let transfer = post(
                    tx,
                    &Movement {
                        debit: account,
                        credit: system_account(tx, SystemAccount::Redemption)?,
                        amount: redeem,
                        kind: MovementKind::Redemption,
                        member: req.member_id,
                        store_id: Some(req.store_id),
                        receipt_id: Some(&req.receipt_id),
                        lot_id: None,
                        description: &req.redemption_description,
                        at: req.committed_at,
                    },
                )?;
                draw_lots(tx, req.member_id, redeem, transfer, Some(purchase), None, req.committed_at)?;
            }
            if earn > 0 {
                // What the rules earned, then what each offer added: separate lines in the
                // history, one lot, so a return takes them back together.
                let from_offers: i64 = priced.offers.iter().map(|o| o.points.get()).sum();
                let accrual = system_account(tx, SystemAccount::Accrual)?;
                let mut movements = Vec::with_capacity(1 + priced.offers.len());
                let accrual_description = priced.describe(&req.accrual_description);
                if earn > from_offers {
                    movements.push((MovementKind::Accrual, earn - from_offers, accrual_description));
                }
                for award in &priced.offers {
                    movements.push((MovementKind::Offer, award.points.get(), award.description(&req.receipt_id)));
                    tx.prepare_cached("UPDATE offer_activations SET uses = uses + 1 WHERE member_id = ?1 AND offer_id = ?2")
                        .and_then(|mut s| s.execute(params![req.member_id, award.offer_id]))
                        .map_err(backend)?;
                }
                let mut first = None;
                for (kind, amount, description) in &movements {
                    let transfer = post(
                        tx,
                        &Movement {
                            debit: accrual,
                            credit: account,
                            amount: *amount,
                            kind: *kind,
                            member: req.member_id,
                            store_id: Some(req.store_id),
                            receipt_id: Some(&req.receipt_id),
                            lot_id: None,
                            description,
                            at: req.committed_at,
                        },
                    )?;
                    first.get_or_insert(transfer);
                }
                let transfer = first.ok_or_else(|| StoreError::Backend("an accrual without a transfer".into()))?;
                add_lot(tx, req.member_id, transfer, new_lot, req.purchased_at, req.lot_expires_at, req.lot_available_at)?;
                tx.prepare_cached("UPDATE purchases SET accrual_transfer_id = ?2 WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![purchase, transfer]))
                    .map_err(backend)?;
            }
            Ok(PurchaseOutcome {
                purchase_id: purchase,
                receipt_id: req.receipt_id,
                earned: priced.earn,
                redeemed: priced.redeem,
                discount: priced.discount,
                payable: priced.payable,
                balance: Points::new(balance_after),
                replayed: false,
            })
        })
        .await
    }

    async fn refund_purchase(&self, req: RefundRequest) -> StoreResult<RefundOutcome> {
        self.write(move |tx| {
            let existing: Option<(String, i64, i64, i64)> = tx
                .prepare_cached("SELECT request_hash, taken_back, returned, balance_after FROM refunds WHERE store_id = ?1 AND refund_id = ?2")
                .and_then(|mut s| s.query_row(params![req.store_id, req.refund_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).optional())
                .map_err(backend)?;
            if let Some((hash, taken_back, returned, balance)) = existing {
                if hash != req.request_hash {
                    return Err(DomainError::IdempotencyConflict.into());
                }
                return Ok(RefundOutcome {
                    refund_id: req.refund_id,
                    points_taken_back: Points::new(taken_back),
                    points_returned: Points::new(returned),
                    balance: Points::new(balance),
                    replayed: true,
                });
            }
            let (purchase, member, accrual): (i64, MemberId, Option<i64>) = tx
                .prepare_cached("SELECT id, member_id, accrual_transfer_id FROM purchases WHERE store_id = ?1 AND receipt_id = ?2")
                .and_then(|mut s| s.query_row(params![req.store_id, req.receipt_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
                .map_err(backend)?
                .ok_or(DomainError::NotFound("purchase"))?;
            let lines: Vec<(i64, RefundableLine)> = tx
                .prepare_cached(
                    "SELECT line_no, line_id, amount_kop, earned, redeemed, refunded_kop, taken_back, returned \
                     FROM purchase_lines WHERE purchase_id = ?1 ORDER BY line_no",
                )
                .and_then(|mut s| {
                    s.query_map([purchase], |r| {
                        Ok((
                            r.get(0)?,
                            RefundableLine {
                                line_id: r.get(1)?,
                                amount: Kopecks::new(r.get(2)?),
                                earned: Points::new(r.get(3)?),
                                redeemed: Points::new(r.get(4)?),
                                refunded: Kopecks::new(r.get(5)?),
                                taken_back: Points::new(r.get(6)?),
                                returned: Points::new(r.get(7)?),
                            },
                        ))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            let state: Vec<RefundableLine> = lines.iter().map(|(_, l)| l.clone()).collect();
            let plan = plan_refund(&state, req.lines.as_deref())?;
            for step in &plan {
                let line_no = lines.iter().find(|(_, l)| l.line_id == step.line_id).map(|(no, _)| *no).unwrap_or(-1);
                tx.prepare_cached(
                    "UPDATE purchase_lines SET refunded_kop = refunded_kop + ?3, taken_back = taken_back + ?4, returned = returned + ?5 \
                     WHERE purchase_id = ?1 AND line_no = ?2",
                )
                .and_then(|mut s| s.execute(params![purchase, line_no, step.amount.get(), step.taken_back.get(), step.returned.get()]))
                .map_err(backend)?;
            }
            let taken_back: i64 = plan.iter().map(|s| s.taken_back.get()).sum();
            let returned: i64 = plan.iter().map(|s| s.returned.get()).sum();
            let (account, balance) = member_account(tx, member)?;
            let movement = |debit, credit, amount| Movement {
                debit,
                credit,
                amount,
                kind: MovementKind::Refund,
                member,
                store_id: Some(req.store_id),
                receipt_id: Some(&req.receipt_id),
                lot_id: None,
                description: &req.description,
                at: req.at,
            };
            if returned > 0 {
                post(tx, &movement(system_account(tx, SystemAccount::Redemption)?, account, returned))?;
                restore_lots(tx, purchase, lot_after_debt(balance, returned))?;
            }
            if taken_back > 0 {
                let transfer = post(tx, &movement(account, system_account(tx, SystemAccount::Accrual)?, taken_back))?;
                draw_lots(tx, member, taken_back, transfer, None, accrual, req.at)?;
            }
            let balance_after = balance + returned - taken_back - pending_points(tx, member, req.at)?;
            tx.prepare_cached(
                "INSERT INTO refunds (store_id, refund_id, purchase_id, request_hash, taken_back, returned, balance_after, at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| s.execute(params![req.store_id, req.refund_id, purchase, req.request_hash, taken_back, returned, balance_after, micros(req.at)]))
            .map_err(backend)?;
            Ok(RefundOutcome {
                refund_id: req.refund_id,
                points_taken_back: Points::new(taken_back),
                points_returned: Points::new(returned),
                balance: Points::new(balance_after),
                replayed: false,
            })
        })
        .await
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
            let (account, balance) = member_account(tx, a.member_id)?;
            let system = system_account(tx, SystemAccount::Adjustment)?;
            let points = a.points.get();
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
            if points > 0 {
                let transfer = post(tx, &movement(system, account, points))?;
                add_lot(tx, a.member_id, transfer, lot_after_debt(balance, points), a.at, a.lot_expires_at, a.at)?;
            } else if points < 0 {
                if balance - pending_points(tx, a.member_id, a.at)? < -points {
                    return Err(DomainError::InsufficientPoints.into());
                }
                let transfer = post(tx, &movement(account, system, -points))?;
                draw_lots(tx, a.member_id, -points, transfer, None, None, a.at)?;
            }
            tx.execute(
                "INSERT INTO audit_log (actor, action, subject, details, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.audit.actor, a.audit.action, a.audit.subject, a.audit.details, micros(a.audit.at)],
            )
            .map_err(backend)?;
            Ok(Points::new(balance + points - pending_points(tx, a.member_id, a.at)?))
        })
        .await
    }

    async fn issue_cards(
        &self,
        numbers: &[CardNumber],
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<CardNumber>> {
        let numbers = numbers.to_vec();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("INSERT INTO cards (number, kind, status, created_at) VALUES (?1, 'physical', 'unbound', ?2) ON CONFLICT DO NOTHING")
                .map_err(backend)?;
            let mut added = Vec::with_capacity(numbers.len());
            for n in numbers {
                if stmt.execute(params![n.as_str(), micros(at)]).map_err(backend)? == 1 {
                    added.push(n);
                }
            }
            Ok(added)
        })
        .await
    }

    async fn bind_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            let card = card_row(tx, &number)?.ok_or(DomainError::NotFound("card"))?;
            if card.status != CardStatus::Unbound || card.member_id.is_some() {
                return Err(DomainError::CardAlreadyBound.into());
            }
            make_active(tx, member, &number, micros(at))?;
            tx.execute(
                "UPDATE cards SET status = 'active', member_id = ?2, bound_at = ?3 WHERE number = ?1",
                params![number, member, micros(at)],
            )
            .map_err(backend)?;
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn add_virtual_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) VALUES (?1, 'virtual', 'active', ?2, ?3, ?3)",
                params![number, member, micros(at)],
            )
            .map_err(backend)?;
            make_active(tx, member, &number, micros(at))?;
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn block_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            let card = card_row(tx, &number)?
                .filter(|c| c.member_id == Some(member))
                .ok_or(DomainError::NotFound("card"))?;
            if card.status == CardStatus::Active {
                tx.execute(
                    "UPDATE cards SET status = 'blocked', blocked_at = ?2 WHERE number = ?1",
                    params![number, micros(at)],
                )
                .map_err(backend)?;
            }
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn create_card_token(
        &self,
        card: &CardNumber,
        code: &CardNumber,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (card, code) = (card.as_str().to_owned(), code.as_str().to_owned());
        self.write(move |tx| {
            // Spent and expired codes are kept for a day, for support, then forgotten.
            tx.prepare_cached("DELETE FROM card_tokens WHERE expires_at < ?1")
                .and_then(|mut s| s.execute([micros(created_at) - 86_400_000_000]))
                .map_err(backend)?;
            tx.prepare_cached("INSERT INTO card_tokens (code, card_number, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute(params![code, card, micros(created_at), micros(expires_at)]))
                .map_err(|e| match backend(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("card_number"),
                    other => other,
                })?;
            Ok(())
        })
        .await
    }

    async fn till_customer(
        &self,
        number: &CardNumber,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TillCustomer>> {
        let number = number.as_str().to_owned();
        self.read(move |c| {
            let Some((member, card)) = card_holder(c, &number)? else {
                return Ok(None);
            };
            let available = balance_of(c, member.id, now, None)?.available;
            let activations = activations_of(c, member.id)?;
            Ok(Some(TillCustomer {
                holder: CardHolder {
                    member,
                    card,
                    activations,
                },
                available,
            }))
        })
        .await
    }

    async fn card_holder(&self, number: &CardNumber) -> StoreResult<Option<CardHolder>> {
        let number = number.as_str().to_owned();
        self.read(move |c| {
            let Some((member, card)) = card_holder(c, &number)? else {
                return Ok(None);
            };
            let activations = activations_of(c, member.id)?;
            Ok(Some(CardHolder {
                member,
                card,
                activations,
            }))
        })
        .await
    }

    async fn resolve_card_token(
        &self,
        code: &CardNumber,
        now: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<(Member, Card)>> {
        let code = code.as_str().to_owned();
        self.read(move |c| {
            let number: Option<String> = optional(
                c.prepare_cached(
                    "SELECT card_number FROM card_tokens WHERE code = ?1 AND (?2 IS NULL OR (used_at IS NULL AND expires_at > ?2))",
                )
                .and_then(|mut s| s.query_row(params![code, now.map(micros)], |r| r.get(0))),
            )?;
            let Some(number) = number else { return Ok(None) };
            let Some(card) = card_row(c, &number)? else { return Ok(None) };
            let Some(member_id) = card.member_id else { return Ok(None) };
            Ok(member_where(c, "m.id = ?1", [&member_id])?.map(|m| (m, card)))
        })
        .await
    }
}
