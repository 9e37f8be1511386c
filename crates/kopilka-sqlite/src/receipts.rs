//! The customer's purchases read back as receipts (`kopilka_store::Receipts`), and the row
//! readers the export shares.

use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::member::StoreId;
use kopilka_domain::receipt::PurchaseId;
use kopilka_store::{
    CategorySpend, PurchaseCursor, PurchaseLineRecord, PurchaseRecord, Receipt, Receipts,
    RefundRecord, StoreResult,
};
use rusqlite::{params, Row};

/// The columns `purchase_row` reads, in its order.
pub(crate) const PURCHASE_COLUMNS: &str = "id, store_id, receipt_id, card_number, purchased_at, \
     total_kop, discount_kop, payable_kop, earned, redeemed";

/// The columns `line_row` reads, in its order, over `purchase_lines l` joined to `products pr`.
pub(crate) const LINE_COLUMNS: &str = "l.line_id, l.sku, pr.name, l.category_id, l.amount_kop, \
     l.discount_kop, l.earned, l.redeemed, l.rule, l.refunded_kop";

pub(crate) fn purchase_row(r: &Row) -> rusqlite::Result<PurchaseRecord> {
    Ok(PurchaseRecord {
        id: PurchaseId::new(r.get(0)?),
        store_id: StoreId::new(r.get(1)?),
        receipt_id: r.get(2)?,
        card_number: r.get(3)?,
        purchased_at: time(r.get(4)?),
        total_kop: r.get(5)?,
        discount_kop: r.get(6)?,
        payable_kop: r.get(7)?,
        earned: r.get(8)?,
        redeemed: r.get(9)?,
        lines: Vec::new(),
    })
}

/// A line whose columns (`LINE_COLUMNS`) start at `first`.
pub(crate) fn line_row(r: &Row, first: usize) -> rusqlite::Result<PurchaseLineRecord> {
    Ok(PurchaseLineRecord {
        line_id: r.get(first)?,
        sku: r.get(first + 1)?,
        name: r.get(first + 2)?,
        category_id: r.get(first + 3)?,
        amount_kop: r.get(first + 4)?,
        discount_kop: r.get(first + 5)?,
        earned: r.get(first + 6)?,
        redeemed: r.get(first + 7)?,
        rule: r.get(first + 8)?,
        refunded_kop: r.get(first + 9)?,
    })
}

#[async_trait]
impl Receipts for SqliteStore {
    async fn purchases_of(
        &self,
        member: MemberId,
        before: Option<PurchaseCursor>,
        limit: u32,
    ) -> StoreResult<Vec<PurchaseRecord>> {
        let (at, id) = before.map_or((i64::MAX, i64::MAX), |c| (micros(c.at), c.id.get()));
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {PURCHASE_COLUMNS} FROM purchases \
                 WHERE member_id = ?1 AND (purchased_at, id) < (?2, ?3) \
                 ORDER BY purchased_at DESC, id DESC LIMIT ?4"
            ))
            .and_then(|mut s| {
                s.query_map(params![member.get(), at, id, limit], purchase_row)?
                    .collect()
            })
            .map_err(backend)
        })
        .await
    }

    async fn receipt(&self, member: MemberId, id: PurchaseId) -> StoreResult<Option<Receipt>> {
        self.read(move |c| {
            let Some(mut purchase) = optional(c.query_row(
                &format!(
                    "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE id = ?1 AND member_id = ?2"
                ),
                params![id.get(), member.get()],
                purchase_row,
            ))?
            else {
                return Ok(None);
            };
            purchase.lines = c
                .prepare_cached(&format!(
                    "SELECT {LINE_COLUMNS} FROM purchase_lines l \
                     LEFT JOIN products pr ON pr.sku = l.sku \
                     WHERE l.purchase_id = ?1 ORDER BY l.line_no"
                ))
                .and_then(|mut s| s.query_map([id.get()], |r| line_row(r, 0))?.collect())
                .map_err(backend)?;
            let refunds = c
                .prepare_cached(
                    "SELECT refund_id, at, taken_back, returned FROM refunds \
                     WHERE purchase_id = ?1 ORDER BY at, id",
                )
                .and_then(|mut s| {
                    s.query_map([id.get()], |r| {
                        Ok(RefundRecord {
                            refund_id: r.get(0)?,
                            at: time(r.get(1)?),
                            taken_back: r.get(2)?,
                            returned: r.get(3)?,
                        })
                    })?
                    .collect()
                })
                .map_err(backend)?;
            Ok(Some(Receipt { purchase, refunds }))
        })
        .await
    }

    async fn spending_by_category(
        &self,
        member: MemberId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<CategorySpend>> {
        let since = micros(since);
        self.read(move |c| {
            c.prepare_cached(
                "SELECT l.category_id, l.rule, SUM(l.amount_kop), SUM(l.discount_kop), SUM(l.refunded_kop) \
                 FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id \
                 WHERE p.member_id = ?1 AND p.purchased_at >= ?2 \
                 GROUP BY l.category_id, l.rule ORDER BY l.category_id, l.rule",
            )
            .and_then(|mut s| {
                s.query_map(params![member.get(), since], |r| {
                    Ok(CategorySpend {
                        category_id: r.get(0)?,
                        rule: r.get(1)?,
                        amount_kop: r.get(2)?,
                        discount_kop: r.get(3)?,
                        refunded_kop: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)
        })
        .await
    }
}
