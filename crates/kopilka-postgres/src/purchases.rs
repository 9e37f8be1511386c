//! A purchase and a refund, each one transaction on a connection the caller owns.

use crate::db;
use crate::posting::{
    add_lot, draw_lots, lock_member_account, pending_points, post, restore_lots, Movement,
    SystemIds,
};
use kopilka_domain::earning::{plan_refund, RefundableLine};
use kopilka_domain::ledger::{lot_after_debt, MovementKind, SystemAccount};
use kopilka_domain::member::{MemberId, StoreId};
use kopilka_domain::{DomainError, Kopecks, Points};
use kopilka_store::{
    Pricer, PurchaseOutcome, PurchaseRequest, PurchaseState, RefundOutcome, RefundRequest,
    StoreError, StoreResult,
};
use sqlx::{PgConnection, Row};

type StoredPurchase = (i64, String, i64, i64, i64, i64, i64);

async fn stored_purchase(
    conn: &mut PgConnection,
    store: StoreId,
    receipt: &str,
) -> StoreResult<Option<StoredPurchase>> {
    sqlx::query_as(
        "SELECT id, request_hash, earned, redeemed, discount_kop, payable_kop, balance_after FROM purchases \
         WHERE store_id = $1 AND receipt_id = $2",
    )
    .bind(store)
    .bind(receipt)
    .fetch_optional(conn)
    .await
    .map_err(db)
}

fn replay(req: &PurchaseRequest, stored: StoredPurchase) -> StoreResult<PurchaseOutcome> {
    let (id, hash, earned, redeemed, discount, payable, balance) = stored;
    if hash != req.request_hash {
        return Err(DomainError::IdempotencyConflict.into());
    }
    Ok(PurchaseOutcome {
        purchase_id: id,
        receipt_id: req.receipt_id.clone(),
        earned: Points::new(earned),
        redeemed: Points::new(redeemed),
        discount: Kopecks::new(discount),
        payable: Kopecks::new(payable),
        balance: Points::new(balance),
        replayed: true,
    })
}

pub(crate) async fn purchase_tx(
    conn: &mut PgConnection,
    system: &SystemIds,
    req: PurchaseRequest,
    price: Pricer,
) -> StoreResult<PurchaseOutcome> {
    // Claim the receipt id first: a concurrent identical request waits here for this one to
    // commit, then finds the row and replays it.
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO purchases (store_id, till_id, receipt_id, request_hash, member_id, card_number, total_kop, discount_kop, \
         payable_kop, earned, redeemed, balance_after, purchased_at, committed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, 0, 0, $7, $8) ON CONFLICT (store_id, receipt_id) DO NOTHING RETURNING id",
    )
    .bind(req.store_id)
    .bind(req.till_id)
    .bind(&req.receipt_id)
    .bind(&req.request_hash)
    .bind(req.member_id)
    .bind(req.card_number.as_str())
    .bind(req.purchased_at)
    .bind(req.committed_at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(purchase) = claimed else {
        let stored = stored_purchase(conn, req.store_id, &req.receipt_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        return replay(&req, stored);
    };
    if let Some(code) = &req.card_token {
        let spent = sqlx::query("UPDATE card_tokens SET used_at = $2 WHERE code = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(code)
            .bind(req.committed_at)
            .execute(&mut *conn)
            .await
            .map_err(db)?
            .rows_affected();
        if spent != 1 {
            return Err(DomainError::NotFound("card").into());
        }
    }
    let (account, balance) = lock_member_account(conn, req.member_id).await?;
    // Read after the lock, so a concurrent purchase of the same card is counted.
    let (earning_receipts_today, pending): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM purchases WHERE member_id = $1 AND earned > 0 AND purchased_at >= $2 AND purchased_at < $3), \
         (SELECT COALESCE(SUM(remaining), 0)::BIGINT FROM lots WHERE member_id = $1 AND remaining > 0 AND available_at > $4)",
    )
    .bind(req.member_id)
    .bind(req.day_start)
    .bind(req.day_end)
    .bind(req.committed_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    // Uses change only under the member's account lock, so they hold until the commit.
    let mut offer_uses = Vec::with_capacity(req.offer_ids.len());
    for &offer in &req.offer_ids {
        let uses: Option<i64> = sqlx::query_scalar(
            "SELECT uses FROM offer_activations WHERE member_id = $1 AND offer_id = $2",
        )
        .bind(req.member_id)
        .bind(offer)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        offer_uses.extend(uses.map(|u| (offer, u32::try_from(u).unwrap_or(u32::MAX))));
    }
    let priced = price(&PurchaseState {
        available: Points::new(balance - pending),
        earning_receipts_today: u32::try_from(earning_receipts_today).unwrap_or(u32::MAX),
        offer_uses,
    })?;
    let (earn, redeem) = (priced.earn.get(), priced.redeem.get());
    let new_lot = lot_after_debt(balance - redeem, earn);
    let new_pending = if req.lot_available_at > req.committed_at {
        new_lot
    } else {
        0
    };
    // What the customer can spend afterwards: spending drew only on available lots.
    let balance_after = balance - redeem + earn - pending - new_pending;
    let mut numbers = Vec::new();
    let (
        mut ids,
        mut skus,
        mut categories,
        mut amounts,
        mut discounts,
        mut earned,
        mut redeemed,
        mut rules,
    ) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (no, l) in priced.lines.iter().enumerate() {
        numbers.push(no as i32);
        ids.push(l.line_id.clone());
        skus.push(l.sku.clone());
        categories.push(l.category_id);
        amounts.push(l.amount.get());
        discounts.push(l.discount.get());
        earned.push(l.earned.get());
        redeemed.push(l.redeemed.get());
        rules.push(l.rule.as_str());
    }
    sqlx::query(
        "INSERT INTO purchase_lines (purchase_id, line_no, line_id, sku, category_id, amount_kop, discount_kop, earned, redeemed, rule) \
         SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])",
    )
    .bind(purchase)
    .bind(&numbers)
    .bind(&ids)
    .bind(&skus)
    .bind(&categories)
    .bind(&amounts)
    .bind(&discounts)
    .bind(&earned)
    .bind(&redeemed)
    .bind(&rules)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if redeem > 0 {
        let credit = system.for_member(SystemAccount::Redemption, req.member_id)?;
        let transfer = post(
            conn,
            &Movement {
                debit: account,
                credit,
                amount: redeem,
                kind: MovementKind::Redemption,
                member: req.member_id,
                store_id: Some(req.store_id),
                receipt_id: Some(&req.receipt_id),
                lot_id: None,
                description: &req.redemption_description,
                at: req.committed_at,
            },
        )
        .await?;
        draw_lots(
            conn,
            req.member_id,
            redeem,
            transfer,
            Some(purchase),
            None,
            req.committed_at,
        )
        .await?;
    }
    let mut accrual_transfer = None;
    if earn > 0 {
        // What the rules earned, then what each offer added: separate lines in the history,
        // one lot, so a return takes them back together.
        let from_offers: i64 = priced.offers.iter().map(|o| o.points.get()).sum();
        let debit = system.for_member(SystemAccount::Accrual, req.member_id)?;
        let mut movements = Vec::with_capacity(1 + priced.offers.len());
        if earn > from_offers {
            movements.push((
                MovementKind::Accrual,
                earn - from_offers,
                priced.describe(&req.accrual_description),
            ));
        }
        for award in &priced.offers {
            movements.push((
                MovementKind::Offer,
                award.points.get(),
                award.description(&req.receipt_id),
            ));
            sqlx::query("UPDATE offer_activations SET uses = uses + 1 WHERE member_id = $1 AND offer_id = $2")
                .bind(req.member_id)
                .bind(award.offer_id)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
        let mut first = None;
        for (kind, amount, description) in &movements {
            let transfer = post(
                conn,
                &Movement {
                    debit,
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
            )
            .await?;
            first.get_or_insert(transfer);
        }
        // The lot hangs on the first transfer: a return takes back from it first.
        let transfer =
            first.ok_or_else(|| StoreError::Backend("an accrual without a transfer".into()))?;
        add_lot(
            conn,
            req.member_id,
            transfer,
            new_lot,
            req.purchased_at,
            req.lot_expires_at,
            req.lot_available_at,
        )
        .await?;
        accrual_transfer = Some(transfer);
    }
    sqlx::query(
        "UPDATE purchases SET total_kop = $2, discount_kop = $3, payable_kop = $4, earned = $5, redeemed = $6, \
         balance_after = $7, accrual_transfer_id = $8 WHERE id = $1",
    )
    .bind(purchase)
    .bind((priced.payable + priced.discount).get())
    .bind(priced.discount.get())
    .bind(priced.payable.get())
    .bind(earn)
    .bind(redeem)
    .bind(balance_after)
    .bind(accrual_transfer)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
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
}

pub(crate) async fn refund_tx(
    conn: &mut PgConnection,
    system: &SystemIds,
    req: RefundRequest,
) -> StoreResult<RefundOutcome> {
    let (purchase, member, accrual): (i64, MemberId, Option<i64>) = sqlx::query_as(
        "SELECT id, member_id, accrual_transfer_id FROM purchases WHERE store_id = $1 AND receipt_id = $2",
    )
    .bind(req.store_id)
    .bind(&req.receipt_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?
    .ok_or(DomainError::NotFound("purchase"))?;
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO refunds (store_id, refund_id, purchase_id, request_hash, taken_back, returned, balance_after, at) \
         VALUES ($1, $2, $3, $4, 0, 0, 0, $5) ON CONFLICT (store_id, refund_id) DO NOTHING RETURNING id",
    )
    .bind(req.store_id)
    .bind(&req.refund_id)
    .bind(purchase)
    .bind(&req.request_hash)
    .bind(req.at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(refund) = claimed else {
        let (hash, taken_back, returned, balance): (String, i64, i64, i64) =
            sqlx::query_as("SELECT request_hash, taken_back, returned, balance_after FROM refunds WHERE store_id = $1 AND refund_id = $2")
                .bind(req.store_id)
                .bind(&req.refund_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
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
    };
    // The account lock also orders refunds of one receipt: the lines are read after it.
    let (account, balance) = lock_member_account(conn, member).await?;
    let rows = sqlx::query(
        "SELECT line_no, line_id, amount_kop, earned, redeemed, refunded_kop, taken_back, returned \
         FROM purchase_lines WHERE purchase_id = $1 ORDER BY line_no",
    )
    .bind(purchase)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        lines.push((
            r.try_get::<i32, _>(0).map_err(db)?,
            RefundableLine {
                line_id: r.try_get(1).map_err(db)?,
                amount: Kopecks::new(r.try_get(2).map_err(db)?),
                earned: Points::new(r.try_get(3).map_err(db)?),
                redeemed: Points::new(r.try_get(4).map_err(db)?),
                refunded: Kopecks::new(r.try_get(5).map_err(db)?),
                taken_back: Points::new(r.try_get(6).map_err(db)?),
                returned: Points::new(r.try_get(7).map_err(db)?),
            },
        ));
    }
    let state: Vec<RefundableLine> = lines.iter().map(|(_, l)| l.clone()).collect();
    let plan = plan_refund(&state, req.lines.as_deref())?;
    for step in &plan {
        let line_no = lines
            .iter()
            .find(|(_, l)| l.line_id == step.line_id)
            .map(|(no, _)| *no)
            .unwrap_or(-1);
        sqlx::query(
            "UPDATE purchase_lines SET refunded_kop = refunded_kop + $3, taken_back = taken_back + $4, returned = returned + $5 \
             WHERE purchase_id = $1 AND line_no = $2",
        )
        .bind(purchase)
        .bind(line_no)
        .bind(step.amount.get())
        .bind(step.taken_back.get())
        .bind(step.returned.get())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let taken_back: i64 = plan.iter().map(|s| s.taken_back.get()).sum();
    let returned: i64 = plan.iter().map(|s| s.returned.get()).sum();
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
        let from = system.for_member(SystemAccount::Redemption, member)?;
        post(conn, &movement(from, account, returned)).await?;
        restore_lots(conn, purchase, lot_after_debt(balance, returned)).await?;
    }
    if taken_back > 0 {
        let to = system.for_member(SystemAccount::Accrual, member)?;
        let transfer = post(conn, &movement(account, to, taken_back)).await?;
        draw_lots(conn, member, taken_back, transfer, None, accrual, req.at).await?;
    }
    let balance_after =
        balance + returned - taken_back - pending_points(conn, member, req.at).await?;
    sqlx::query(
        "UPDATE refunds SET taken_back = $2, returned = $3, balance_after = $4 WHERE id = $1",
    )
    .bind(refund)
    .bind(taken_back)
    .bind(returned)
    .bind(balance_after)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(RefundOutcome {
        refund_id: req.refund_id,
        points_taken_back: Points::new(taken_back),
        points_returned: Points::new(returned),
        balance: Points::new(balance_after),
        replayed: false,
    })
}
