//! The customer's purchases read back as receipts (`kopilka_store::Receipts`), and the row
//! readers the export shares.

use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::member::StoreId;
use kopilka_domain::receipt::PurchaseId;
use kopilka_store::{
    CategorySpend, PurchaseCursor, PurchaseLineRecord, PurchaseRecord, Receipt, Receipts,
    RefundRecord, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::Row;

/// The columns `purchase_row` reads, in its order.
pub(crate) const PURCHASE_COLUMNS: &str = "id, store_id, receipt_id, card_number, purchased_at, \
     total_kop, discount_kop, payable_kop, earned, redeemed";

/// The columns `line_row` reads, in its order, over `purchase_lines l` joined to `products pr`.
pub(crate) const LINE_COLUMNS: &str = "l.line_id, l.sku, pr.name, l.category_id, l.amount_kop, \
     l.discount_kop, l.earned, l.redeemed, l.rule, l.refunded_kop";

pub(crate) fn purchase_row(r: &PgRow) -> StoreResult<PurchaseRecord> {
    Ok(PurchaseRecord {
        id: PurchaseId::new(r.try_get(0).map_err(db)?),
        store_id: StoreId::new(r.try_get(1).map_err(db)?),
        receipt_id: r.try_get(2).map_err(db)?,
        card_number: r.try_get(3).map_err(db)?,
        purchased_at: r.try_get(4).map_err(db)?,
        total_kop: r.try_get(5).map_err(db)?,
        discount_kop: r.try_get(6).map_err(db)?,
        payable_kop: r.try_get(7).map_err(db)?,
        earned: r.try_get(8).map_err(db)?,
        redeemed: r.try_get(9).map_err(db)?,
        lines: Vec::new(),
    })
}

/// A line whose columns (`LINE_COLUMNS`) start at `first`.
pub(crate) fn line_row(r: &PgRow, first: usize) -> StoreResult<PurchaseLineRecord> {
    Ok(PurchaseLineRecord {
        line_id: r.try_get(first).map_err(db)?,
        sku: r.try_get(first + 1).map_err(db)?,
        name: r.try_get(first + 2).map_err(db)?,
        category_id: r.try_get(first + 3).map_err(db)?,
        amount_kop: r.try_get(first + 4).map_err(db)?,
        discount_kop: r.try_get(first + 5).map_err(db)?,
        earned: r.try_get(first + 6).map_err(db)?,
        redeemed: r.try_get(first + 7).map_err(db)?,
        rule: r.try_get(first + 8).map_err(db)?,
        refunded_kop: r.try_get(first + 9).map_err(db)?,
    })
}

#[async_trait]
impl Receipts for PostgresStore {
    async fn purchases_of(
        &self,
        member: MemberId,
        before: Option<PurchaseCursor>,
        limit: u32,
    ) -> StoreResult<Vec<PurchaseRecord>> {
        let pool = self.pool.clone();
        detached(async move {
            sqlx::query(&format!(
                "SELECT {PURCHASE_COLUMNS} FROM purchases \
                 WHERE member_id = $1 AND ($2::timestamptz IS NULL OR (purchased_at, id) < ($2, $3)) \
                 ORDER BY purchased_at DESC, id DESC LIMIT $4"
            ))
            .bind(member.get())
            .bind(before.map(|c| c.at))
            .bind(before.map_or(0, |c| c.id.get()))
            .bind(i64::from(limit))
            .fetch_all(&pool)
            .await
            .map_err(db)?
            .iter()
            .map(purchase_row)
            .collect()
        })
        .await
    }

    async fn receipt(&self, member: MemberId, id: PurchaseId) -> StoreResult<Option<Receipt>> {
        let pool = self.pool.clone();
        detached(async move {
            // One snapshot for the purchase, its lines and its returns.
            let mut tx = pool.begin_snapshot().await.map_err(db)?;
            let Some(row) = sqlx::query(&format!(
                "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE id = $1 AND member_id = $2"
            ))
            .bind(id.get())
            .bind(member.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            else {
                return Ok(None);
            };
            let mut purchase = purchase_row(&row)?;
            purchase.lines = sqlx::query(&format!(
                "SELECT {LINE_COLUMNS} FROM purchase_lines l \
                 LEFT JOIN products pr ON pr.sku = l.sku \
                 WHERE l.purchase_id = $1 ORDER BY l.line_no"
            ))
            .bind(id.get())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(|r| line_row(r, 0))
            .collect::<StoreResult<_>>()?;
            let refunds = sqlx::query(
                "SELECT refund_id, at, taken_back, returned FROM refunds \
                 WHERE purchase_id = $1 ORDER BY at, id",
            )
            .bind(id.get())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(RefundRecord {
                    refund_id: r.try_get(0).map_err(db)?,
                    at: r.try_get(1).map_err(db)?,
                    taken_back: r.try_get(2).map_err(db)?,
                    returned: r.try_get(3).map_err(db)?,
                })
            })
            .collect::<StoreResult<_>>()?;
            tx.commit().await.map_err(db)?;
            Ok(Some(Receipt { purchase, refunds }))
        })
        .await
    }

    async fn spending_by_category(
        &self,
        member: MemberId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<CategorySpend>> {
        let pool = self.pool.clone();
        detached(async move {
            sqlx::query(
                "SELECT l.category_id, l.rule, SUM(l.amount_kop)::bigint, SUM(l.discount_kop)::bigint, \
                 SUM(l.refunded_kop)::bigint \
                 FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id \
                 WHERE p.member_id = $1 AND p.purchased_at >= $2 \
                 GROUP BY l.category_id, l.rule ORDER BY l.category_id, l.rule",
            )
            .bind(member.get())
            .bind(since)
            .fetch_all(&pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(CategorySpend {
                    category_id: r.try_get(0).map_err(db)?,
                    rule: r.try_get(1).map_err(db)?,
                    amount_kop: r.try_get(2).map_err(db)?,
                    discount_kop: r.try_get(3).map_err(db)?,
                    refunded_kop: r.try_get(4).map_err(db)?,
                })
            })
            .collect()
        })
        .await
    }
}
