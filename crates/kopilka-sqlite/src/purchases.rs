//! A purchase and a return, each one transaction on the writer's connection.

use crate::posting::{
    add_lot, give_back_to_lots, live_lots, member_account, open_usages, post, system_account,
    take_from_lots, Movement,
};
use crate::{backend, micros, optional};
use chrono::{DateTime, Utc};
use kopilka_domain::earning::{plan_refund, RefundableLine};
use kopilka_domain::ledger::{sale_outcome, MovementKind, SaleOutcome, SystemAccount};
use kopilka_domain::lots::{self, return_outcome};
use kopilka_domain::member::MemberId;
use kopilka_domain::receipt::PurchaseId;
use kopilka_domain::{DomainError, Kopecks, Points};
use kopilka_store::{
    Pricer, PurchaseOutcome, PurchaseRequest, PurchaseState, RecordedPurchase, RecordedRefund,
    RefundOutcome, RefundRequest, StoreResult,
};
use rusqlite::{params, Connection, OptionalExtension};

/// Records a priced purchase once per (store, receipt id); see `Pos::commit_purchase`.
pub(crate) fn purchase_tx(
    tx: &Connection,
    req: PurchaseRequest,
    price: Pricer,
) -> StoreResult<PurchaseOutcome> {
    let existing: Option<RecordedPurchase> = tx
        .prepare_cached(
            "SELECT id, request_hash, earned, redeemed, discount_kop, payable_kop, balance_after FROM purchases \
             WHERE store_id = ?1 AND receipt_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![req.store_id.get(), req.receipt_id], |r| {
                Ok(RecordedPurchase {
                    purchase_id: PurchaseId::new(r.get(0)?),
                    request_hash: r.get(1)?,
                    earned: r.get(2)?,
                    redeemed: r.get(3)?,
                    discount_kop: r.get(4)?,
                    payable_kop: r.get(5)?,
                    balance: r.get(6)?,
                })
            })
            .optional()
        })
        .map_err(backend)?;
    if let Some(recorded) = existing {
        return recorded.replay(&req);
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
    // The holder may have come from the card cache, which hears of another process's writes
    // to the file only within a second (`holders`): the card's status is read again here,
    // under the write lock, so that no sale goes through on a card blocked meanwhile.
    let status: Option<String> = optional(
        tx.prepare_cached("SELECT status FROM cards WHERE number = ?1")
            .and_then(|mut s| s.query_row([req.card_number.as_str()], |r| r.get(0))),
    )?;
    if let Some(status) = status {
        kopilka_store::convert::card_status(&status)?.check_purchase()?;
    }
    let (account, balance) = member_account(tx, req.member_id)?;
    let earning_receipts_today = earning_receipts(tx, req.member_id, req.day_start, req.day_end)?;
    let lots = live_lots(tx, req.member_id)?;
    let pending = lots::pending(&lots, req.committed_at);
    let mut offer_uses = Vec::with_capacity(req.offer_ids.len());
    for &offer in &req.offer_ids {
        let uses: Option<u32> = optional(
            tx.prepare_cached(
                "SELECT uses FROM offer_activations WHERE member_id = ?1 AND offer_id = ?2",
            )
            .and_then(|mut s| s.query_row(params![req.member_id.get(), offer.get()], |r| r.get(0))),
        )?;
        offer_uses.extend(uses.map(|u| (offer, u)));
    }
    let priced = price(&PurchaseState {
        available: Points::new(balance - pending),
        earning_receipts_today,
        offer_uses,
    })?;
    let (earn, redeem) = (priced.earn.get(), priced.redeem.get());
    let SaleOutcome {
        new_lot,
        available_after: balance_after,
    } = sale_outcome(
        balance,
        pending,
        redeem,
        earn,
        req.lot_available_at > req.committed_at,
    );
    // The transfers first, redemption before accrual (the history lists them in id order),
    // so the purchase row is written once, with its accrual transfer. The lot draws record
    // the purchase and come after it; the new lot comes after the draws, which must not
    // take from it.
    let redemption = if redeem > 0 {
        Some(post(
            tx,
            &Movement {
                debit: account,
                credit: system_account(tx, SystemAccount::Redemption)?,
                amount: redeem,
                kind: MovementKind::Redemption,
                member: req.member_id,
                store_id: Some(req.store_id.get()),
                receipt_id: Some(&req.receipt_id),
                lot_id: None,
                description: &req.redemption_description,
                at: req.committed_at,
            },
        )?)
    } else {
        None
    };
    let accruals = priced.accruals(&req.accrual_description, &req.receipt_id);
    let accrual = if accruals.is_empty() {
        None
    } else {
        for award in &priced.offers {
            tx.prepare_cached("UPDATE offer_activations SET uses = uses + 1 WHERE member_id = ?1 AND offer_id = ?2")
                .and_then(|mut s| s.execute(params![req.member_id.get(), award.offer_id.get()]))
                .map_err(backend)?;
        }
        let accrual_account = system_account(tx, SystemAccount::Accrual)?;
        let mut first = None;
        for a in &accruals {
            let transfer = post(
                tx,
                &Movement {
                    debit: accrual_account,
                    credit: account,
                    amount: a.points,
                    kind: a.kind,
                    member: req.member_id,
                    store_id: Some(req.store_id.get()),
                    receipt_id: Some(&req.receipt_id),
                    lot_id: None,
                    description: &a.description,
                    at: req.committed_at,
                },
            )?;
            first.get_or_insert(transfer);
        }
        first
    };
    let purchase: i64 = tx
        .prepare_cached(
            "INSERT INTO purchases (store_id, till_id, receipt_id, request_hash, member_id, card_number, total_kop, \
             discount_kop, payable_kop, earned, redeemed, balance_after, purchased_at, committed_at, accrual_transfer_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) RETURNING id",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    req.store_id.get(),
                    req.till_id.get(),
                    req.receipt_id,
                    req.request_hash,
                    req.member_id.get(),
                    req.card_number.as_str(),
                    (priced.payable + priced.discount).get(),
                    priced.discount.get(),
                    priced.payable.get(),
                    earn,
                    redeem,
                    balance_after,
                    micros(req.purchased_at),
                    micros(req.committed_at),
                    accrual
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
    if let Some(transfer) = redemption {
        let draws = lots::draw(&lots, redeem, None, req.committed_at);
        take_from_lots(tx, &draws, Some((transfer, purchase)))?;
    }
    if let Some(transfer) = accrual {
        add_lot(
            tx,
            req.member_id,
            transfer,
            new_lot,
            req.purchased_at,
            req.lot_expires_at,
            req.lot_available_at,
        )?;
    }
    Ok(PurchaseOutcome {
        purchase_id: PurchaseId::new(purchase),
        receipt_id: req.receipt_id,
        earned: priced.earn,
        redeemed: priced.redeem,
        discount: priced.discount,
        payable: priced.payable,
        balance: Points::new(balance_after),
        replayed: false,
    })
}

/// Returns goods of a purchase once per (store, refund id); see `Pos::refund_purchase`.
pub(crate) fn refund_tx(tx: &Connection, req: RefundRequest) -> StoreResult<RefundOutcome> {
    let existing: Option<RecordedRefund> = tx
        .prepare_cached("SELECT request_hash, taken_back, returned, balance_after FROM refunds WHERE store_id = ?1 AND refund_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![req.store_id.get(), req.refund_id], |r| {
                Ok(RecordedRefund {
                    request_hash: r.get(0)?,
                    taken_back: r.get(1)?,
                    returned: r.get(2)?,
                    balance: r.get(3)?,
                })
            })
            .optional()
        })
        .map_err(backend)?;
    if let Some(stored) = existing {
        return stored.replay(&req);
    }
    let (purchase, member, accrual): (i64, MemberId, Option<i64>) = tx
        .prepare_cached("SELECT id, member_id, accrual_transfer_id FROM purchases WHERE store_id = ?1 AND receipt_id = ?2")
        .and_then(|mut s| s.query_row(params![req.store_id.get(), req.receipt_id], |r| Ok((r.get(0)?, MemberId::new(r.get(1)?), r.get(2)?))).optional())
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
        let line_no = lines
            .iter()
            .find(|(_, l)| l.line_id == step.line_id)
            .map(|(no, _)| *no)
            .unwrap_or(-1);
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
    let decided = return_outcome(
        balance,
        &live_lots(tx, member)?,
        &open_usages(tx, purchase)?,
        returned,
        taken_back,
        accrual,
        req.at,
    );
    let balance_after = decided.available_after;
    let movement = |debit, credit, amount| Movement {
        debit,
        credit,
        amount,
        kind: MovementKind::Refund,
        member,
        store_id: Some(req.store_id.get()),
        receipt_id: Some(&req.receipt_id),
        lot_id: None,
        description: &req.description,
        at: req.at,
    };
    if returned > 0 {
        post(
            tx,
            &movement(
                system_account(tx, SystemAccount::Redemption)?,
                account,
                returned,
            ),
        )?;
    }
    give_back_to_lots(tx, &decided.restores)?;
    if taken_back > 0 {
        post(
            tx,
            &movement(
                account,
                system_account(tx, SystemAccount::Accrual)?,
                taken_back,
            ),
        )?;
    }
    take_from_lots(tx, &decided.draws, None)?;
    tx.prepare_cached(
        "INSERT INTO refunds (store_id, refund_id, purchase_id, request_hash, taken_back, returned, balance_after, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| s.execute(params![req.store_id.get(), req.refund_id, purchase, req.request_hash, taken_back, returned, balance_after, micros(req.at)]))
    .map_err(backend)?;
    Ok(RefundOutcome {
        refund_id: req.refund_id,
        points_taken_back: Points::new(taken_back),
        points_returned: Points::new(returned),
        balance: Points::new(balance_after),
        replayed: false,
    })
}

/// How many of the member's purchases in `[start, end)` earned points (the daily limit).
pub(crate) fn earning_receipts(
    conn: &Connection,
    member: MemberId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> StoreResult<u32> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM purchases WHERE member_id = ?1 AND earned > 0 AND purchased_at >= ?2 AND purchased_at < ?3",
    )
    .and_then(|mut s| s.query_row(params![member.get(), micros(start), micros(end)], |r| r.get(0)))
    .map_err(backend)
}
