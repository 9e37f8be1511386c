//! Daily aggregates for reports on PostgreSQL (`kopilka_store::reports::Reports`).

use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::ledger::MovementKind;
use kopilka_domain::member::{MemberId, StoreId};
use kopilka_domain::reports::{DailyPoints, MovementFact, PurchaseFact};
use kopilka_store::reports::{Reports, RollupBatch, RollupState, Watermark};
use kopilka_store::{StoreError, StoreResult};

fn kind(s: &str) -> StoreResult<MovementKind> {
    MovementKind::from_db(s).ok_or_else(|| StoreError::Corrupt(format!("transfer kind {s:?}")))
}

#[async_trait]
impl Reports for PostgresStore {
    async fn rollup_state(&self) -> StoreResult<RollupState> {
        let (t, p, st, sp, seen_at, nt, np): (i64, i64, i64, i64, DateTime<Utc>, i64, i64) =
            sqlx::query_as(
                "SELECT transfer_id, purchase_id, seen_transfer_id, seen_purchase_id, seen_at, \
                 (SELECT COALESCE(MAX(id), 0) FROM transfers), (SELECT COALESCE(MAX(id), 0) FROM purchases) \
                 FROM report_watermark",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(RollupState {
            done: Watermark {
                transfer_id: t,
                purchase_id: p,
            },
            seen: Watermark {
                transfer_id: st,
                purchase_id: sp,
            },
            seen_at,
            newest: Watermark {
                transfer_id: nt,
                purchase_id: np,
            },
        })
    }

    async fn note_seen(&self, seen: Watermark, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE report_watermark SET seen_transfer_id = $1, seen_purchase_id = $2, seen_at = $3",
        )
        .bind(seen.transfer_id)
        .bind(seen.purchase_id)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn rollup_input(
        &self,
        after: Watermark,
        upto: Watermark,
        limit: u32,
    ) -> StoreResult<(Vec<MovementFact>, Vec<PurchaseFact>)> {
        type Row = (i64, DateTime<Utc>, String, Option<i64>, i64, i64, bool);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.id, t.at, t.kind, t.store_id, t.member_id, t.amount, a.member_id IS NOT NULL \
             FROM transfers t JOIN accounts a ON a.id = t.credit_account_id \
             WHERE t.id > $1 AND t.id <= $2 ORDER BY t.id LIMIT $3",
        )
        .bind(after.transfer_id)
        .bind(upto.transfer_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let movements = rows
            .into_iter()
            .map(|(id, at, k, store, member, amount, to_member)| {
                Ok(MovementFact {
                    id,
                    at,
                    kind: kind(&k)?,
                    store_id: store.map(StoreId::new),
                    member_id: MemberId::new(member),
                    amount,
                    to_member,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let purchases: Vec<(i64, DateTime<Utc>, i64, i64)> = sqlx::query_as(
            "SELECT id, purchased_at, store_id, member_id FROM purchases \
             WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
        )
        .bind(after.purchase_id)
        .bind(upto.purchase_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok((
            movements,
            purchases
                .into_iter()
                .map(|(id, at, store, member)| PurchaseFact {
                    id,
                    at,
                    store_id: StoreId::new(store),
                    member_id: MemberId::new(member),
                })
                .collect(),
        ))
    }

    async fn apply_rollup(&self, batch: RollupBatch) -> StoreResult<bool> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let moved = sqlx::query(
                "UPDATE report_watermark SET transfer_id = $3, purchase_id = $4 \
                 WHERE transfer_id = $1 AND purchase_id = $2",
            )
            .bind(batch.from.transfer_id)
            .bind(batch.from.purchase_id)
            .bind(batch.to.transfer_id)
            .bind(batch.to.purchase_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if moved == 0 {
                return Ok(false);
            }
            let days: Vec<NaiveDate> = batch.points.iter().map(|p| p.day).collect();
            let stores: Vec<i64> = batch
                .points
                .iter()
                .map(|p| p.store_id.map_or(0, StoreId::get))
                .collect();
            let kinds: Vec<&str> = batch.points.iter().map(|p| p.kind.as_str()).collect();
            let credited: Vec<i64> = batch.points.iter().map(|p| p.credited).collect();
            let debited: Vec<i64> = batch.points.iter().map(|p| p.debited).collect();
            sqlx::query(
                "INSERT INTO daily_points (day, store_id, kind, credited, debited) \
                 SELECT * FROM UNNEST($1::date[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) \
                 ON CONFLICT (day, store_id, kind) DO UPDATE SET credited = daily_points.credited + excluded.credited, \
                 debited = daily_points.debited + excluded.debited",
            )
            .bind(&days)
            .bind(&stores)
            .bind(&kinds)
            .bind(&credited)
            .bind(&debited)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for (day, members) in &batch.buyers {
                let ids: Vec<i64> = members.iter().map(|m| m.get()).collect();
                // A row comes back for each customer whose first purchase of the day this is.
                let first_today: i64 = sqlx::query_scalar(
                    "WITH moved AS (INSERT INTO member_last_purchase_day (member_id, day) \
                     SELECT m, $2 FROM UNNEST($1::bigint[]) AS m \
                     ON CONFLICT (member_id) DO UPDATE SET day = excluded.day \
                     WHERE member_last_purchase_day.day < excluded.day RETURNING 1) \
                     SELECT count(*) FROM moved",
                )
                .bind(&ids)
                .bind(day)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                if first_today > 0 {
                    sqlx::query(
                        "INSERT INTO daily_active (day, customers) VALUES ($1, $2) \
                         ON CONFLICT (day) DO UPDATE SET customers = daily_active.customers + excluded.customers",
                    )
                    .bind(day)
                    .bind(first_today)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
            }
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn daily_points(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<DailyPoints>> {
        let rows: Vec<(NaiveDate, i64, String, i64, i64)> = sqlx::query_as(
            "SELECT day, store_id, kind, credited, debited FROM daily_points \
             WHERE day >= $1 AND day <= $2 ORDER BY day, store_id, kind",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(day, store, k, credited, debited)| {
                Ok(DailyPoints {
                    day,
                    store_id: (store != 0).then(|| StoreId::new(store)),
                    kind: kind(&k)?,
                    credited,
                    debited,
                })
            })
            .collect()
    }

    async fn daily_active(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, u64)>> {
        let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
            "SELECT day, customers FROM daily_active WHERE day >= $1 AND day <= $2 ORDER BY day",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(d, n)| (d, n.unsigned_abs()))
            .collect())
    }

    async fn liability_at_watermark(&self) -> StoreResult<i64> {
        let pool = self.pool.clone();
        detached(async move {
            // One snapshot for the balances and the transfers after the watermark.
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            // Members owe what the system accounts are owed: the ledger sums to zero.
            let owed: i64 = sqlx::query_scalar(
                "SELECT (-(SELECT COALESCE(SUM(credits_posted - debits_posted), 0) FROM accounts WHERE code IS NOT NULL) \
                 - (SELECT COALESCE(SUM(CASE WHEN ca.member_id IS NOT NULL THEN t.amount ELSE 0 END \
                                       - CASE WHEN da.member_id IS NOT NULL THEN t.amount ELSE 0 END), 0) \
                    FROM transfers t JOIN accounts ca ON ca.id = t.credit_account_id \
                    JOIN accounts da ON da.id = t.debit_account_id \
                    WHERE t.id > (SELECT transfer_id FROM report_watermark)))::BIGINT",
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(owed)
        })
        .await
    }
}
