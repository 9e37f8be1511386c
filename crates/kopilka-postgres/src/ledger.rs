use crate::{db, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{
    Balance, Expiring, HistoryEntry, LedgerTotals, MovementKind, TransferId,
};
use kopilka_domain::member::MemberId;
use kopilka_domain::Points;
use kopilka_store::{Ledger, StoreError, StoreResult};
use sqlx::Row;

#[async_trait]
impl Ledger for PostgresStore {
    async fn ledger_balance(
        &self,
        member: MemberId,
        now: DateTime<Utc>,
        expiring_before: Option<DateTime<Utc>>,
    ) -> StoreResult<Balance> {
        // One statement: the balance, the pending points and what expires by the horizon
        // (none without one: `expires_at <= NULL` holds for no lot). The two arrays come from
        // the same rows in the same order; sorted here, as an ordered aggregate sets up a
        // sort of its own on every call.
        let row = sqlx::query(
            "SELECT a.credits_posted - a.debits_posted, \
             (SELECT COALESCE(SUM(remaining), 0)::BIGINT FROM live_lots WHERE member_id = $1 AND available_at > $2), \
             e.points, e.dates \
             FROM accounts a CROSS JOIN LATERAL ( \
               SELECT COALESCE(array_agg(points), '{}') AS points, \
                      COALESCE(array_agg(expires_at), '{}') AS dates \
               FROM (SELECT SUM(remaining)::BIGINT AS points, expires_at FROM live_lots \
                     WHERE member_id = $1 AND expires_at <= $3 GROUP BY expires_at) d) e \
             WHERE a.member_id = $1",
        )
        .bind(member.get())
        .bind(now)
        .bind(expiring_before)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        let (balance, pending): (i64, i64) =
            (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?);
        let points: Vec<i64> = row.try_get(2).map_err(db)?;
        let dates: Vec<DateTime<Utc>> = row.try_get(3).map_err(db)?;
        let mut expiring: Vec<Expiring> = points
            .into_iter()
            .zip(dates)
            .map(|(points, expires_at)| Expiring {
                points: Points::new(points),
                expires_at,
            })
            .collect();
        expiring.sort_by_key(|e| e.expires_at);
        Ok(Balance {
            available: Points::new(balance - pending),
            pending: Points::new(pending),
            expiring,
        })
    }

    async fn history(
        &self,
        member: MemberId,
        limit: u32,
        before: Option<TransferId>,
    ) -> StoreResult<Vec<HistoryEntry>> {
        sqlx::query(
            "SELECT t.id, t.kind, CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END AS points, \
             t.at, t.store_id, t.receipt_id, t.description \
             FROM transfers t JOIN accounts a ON a.member_id = t.member_id \
             WHERE t.member_id = $1 AND t.id < $2 ORDER BY t.id DESC LIMIT $3",
        )
        .bind(member.get())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            let kind: String = r.try_get(1).map_err(db)?;
            Ok(HistoryEntry {
                id: r.try_get(0).map_err(db)?,
                kind: MovementKind::from_db(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("bad transfer kind {kind:?}")))?,
                points: Points::new(r.try_get(2).map_err(db)?),
                at: r.try_get(3).map_err(db)?,
                store_id: r.try_get(4).map_err(db)?,
                receipt_id: r.try_get(5).map_err(db)?,
                description: r.try_get(6).map_err(db)?,
            })
        })
        .collect()
    }

    async fn totals(&self) -> StoreResult<LedgerTotals> {
        let r = sqlx::query(
            "SELECT (SELECT COALESCE(SUM(debits_posted), 0)::BIGINT FROM accounts), \
             (SELECT COALESCE(SUM(credits_posted), 0)::BIGINT FROM accounts), \
             (SELECT COALESCE(SUM(amount), 0)::BIGINT FROM transfers), \
             (SELECT COALESCE(SUM(credits_posted - debits_posted), 0)::BIGINT FROM accounts WHERE member_id IS NOT NULL), \
             (SELECT COALESCE(SUM(credits_posted - debits_posted), 0)::BIGINT FROM accounts WHERE code = 'system:forfeit')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(LedgerTotals {
            debits: r.try_get(0).map_err(db)?,
            credits: r.try_get(1).map_err(db)?,
            transfers: r.try_get(2).map_err(db)?,
            member_balances: r.try_get(3).map_err(db)?,
            forfeited: r.try_get(4).map_err(db)?,
        })
    }
}
