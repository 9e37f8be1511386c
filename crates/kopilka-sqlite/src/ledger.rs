use crate::{backend, micros, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{
    Balance, Expiring, HistoryEntry, LedgerTotals, MovementKind, TransferId,
};
use kopilka_domain::member::MemberId;
use kopilka_domain::Points;
use kopilka_store::{Ledger, StoreError, StoreResult};
use rusqlite::params;

#[async_trait]
impl Ledger for SqliteStore {
    async fn ledger_balance(
        &self,
        member: MemberId,
        now: DateTime<Utc>,
        expiring_before: Option<DateTime<Utc>>,
    ) -> StoreResult<Balance> {
        self.read(move |c| balance_of(c, member, now, expiring_before))
            .await
    }

    async fn history(
        &self,
        member: MemberId,
        limit: u32,
        before: Option<TransferId>,
    ) -> StoreResult<Vec<HistoryEntry>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT t.id, t.kind, CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END, \
                     t.at, t.store_id, t.receipt_id, t.description \
                     FROM transfers t JOIN accounts a ON a.member_id = t.member_id \
                     WHERE t.member_id = ?1 AND t.id < ?2 ORDER BY t.id DESC LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![member.get(), before.unwrap_or(i64::MAX), limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|row| {
                let (id, kind, points, at, store_id, receipt_id, description) = row.map_err(backend)?;
                Ok(HistoryEntry {
                    id,
                    kind: MovementKind::from_db(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("bad transfer kind {kind:?}")))?,
                    points: Points::new(points),
                    at: time(at),
                    store_id,
                    receipt_id,
                    description,
                })
            })
            .collect()
        })
        .await
    }

    async fn totals(&self) -> StoreResult<LedgerTotals> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT COALESCE(SUM(debits_posted), 0) FROM accounts), \
                 (SELECT COALESCE(SUM(credits_posted), 0) FROM accounts), \
                 (SELECT COALESCE(SUM(amount), 0) FROM transfers), \
                 (SELECT COALESCE(SUM(credits_posted - debits_posted), 0) FROM accounts WHERE member_id IS NOT NULL), \
                 (SELECT COALESCE(SUM(credits_posted - debits_posted), 0) FROM accounts WHERE code = 'system:forfeit')",
                [],
                |r| {
                    Ok(LedgerTotals {
                        debits: r.get(0)?,
                        credits: r.get(1)?,
                        transfers: r.get(2)?,
                        member_balances: r.get(3)?,
                        forfeited: r.get(4)?,
                    })
                },
            )
            .map_err(backend)
        })
        .await
    }
}

/// The member's balance as of `now`, with the lots expiring by `expiring_before` if asked.
pub(crate) fn balance_of(
    c: &rusqlite::Connection,
    member: MemberId,
    now: DateTime<Utc>,
    expiring_before: Option<DateTime<Utc>>,
) -> StoreResult<Balance> {
    let (balance, pending): (i64, i64) = c
        .prepare_cached(
            "SELECT credits_posted - debits_posted, \
             (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?1 AND remaining > 0 AND available_at > ?2) \
             FROM accounts WHERE member_id = ?1",
        )
        .and_then(|mut s| s.query_row(params![member.get(), micros(now)], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            e => backend(e),
        })?;
    let expiring = match expiring_before {
        None => Vec::new(),
        Some(before) => c
            .prepare_cached(
                "SELECT SUM(remaining), expires_at FROM lots WHERE member_id = ?1 AND remaining > 0 AND expires_at <= ?2 \
                 GROUP BY expires_at ORDER BY expires_at",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![member.get(), micros(before)], |r| {
                    Ok(Expiring {
                        points: Points::new(r.get(0)?),
                        expires_at: time(r.get(1)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(backend)?,
    };
    Ok(Balance {
        available: Points::new(balance - pending),
        pending: Points::new(pending),
        expiring,
    })
}
