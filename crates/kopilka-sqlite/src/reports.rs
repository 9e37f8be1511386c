//! Daily aggregates for reports on SQLite (`kopilka_store::reports::Reports`).

use crate::{backend, micros, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::ledger::MovementKind;
use kopilka_domain::member::{MemberId, StoreId};
use kopilka_domain::reports::{DailyPoints, MovementFact, PurchaseFact};
use kopilka_store::reports::{Reports, RollupBatch, RollupState, Watermark};
use kopilka_store::{StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};

fn kind(s: &str) -> StoreResult<MovementKind> {
    MovementKind::from_db(s).ok_or_else(|| StoreError::Corrupt(format!("transfer kind {s:?}")))
}

fn day(s: &str) -> StoreResult<NaiveDate> {
    kopilka_store::convert::date(s)
}

fn newest(c: &Connection) -> StoreResult<Watermark> {
    c.query_row(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM transfers), (SELECT COALESCE(MAX(id), 0) FROM purchases)",
        [],
        |r| {
            Ok(Watermark {
                transfer_id: r.get(0)?,
                purchase_id: r.get(1)?,
            })
        },
    )
    .map_err(backend)
}

#[async_trait]
impl Reports for SqliteStore {
    async fn rollup_state(&self) -> StoreResult<RollupState> {
        self.read(|c| {
            let (done, seen, seen_at) = c
                .query_row(
                    "SELECT transfer_id, purchase_id, seen_transfer_id, seen_purchase_id, seen_at FROM report_watermark",
                    [],
                    |r| {
                        Ok((
                            Watermark {
                                transfer_id: r.get(0)?,
                                purchase_id: r.get(1)?,
                            },
                            Watermark {
                                transfer_id: r.get(2)?,
                                purchase_id: r.get(3)?,
                            },
                            r.get::<_, i64>(4)?,
                        ))
                    },
                )
                .map_err(backend)?;
            Ok(RollupState {
                done,
                seen,
                seen_at: time(seen_at),
                newest: newest(c)?,
            })
        })
        .await
    }

    async fn note_seen(&self, seen: Watermark, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE report_watermark SET seen_transfer_id = ?1, seen_purchase_id = ?2, seen_at = ?3",
                params![seen.transfer_id, seen.purchase_id, micros(at)],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn rollup_input(
        &self,
        after: Watermark,
        upto: Watermark,
        limit: u32,
    ) -> StoreResult<(Vec<MovementFact>, Vec<PurchaseFact>)> {
        self.read(move |c| {
            let rows: Vec<(i64, i64, String, Option<i64>, i64, i64, bool)> = c
                .prepare_cached(
                    "SELECT t.id, t.at, t.kind, t.store_id, t.member_id, t.amount, a.member_id IS NOT NULL \
                     FROM transfers t JOIN accounts a ON a.id = t.credit_account_id \
                     WHERE t.id > ?1 AND t.id <= ?2 ORDER BY t.id LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![after.transfer_id, upto.transfer_id, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            let movements = rows
                .into_iter()
                .map(|(id, at, k, store, member, amount, to_member)| {
                    Ok(MovementFact {
                        id,
                        at: time(at),
                        kind: kind(&k)?,
                        store_id: store.map(StoreId::new),
                        member_id: MemberId::new(member),
                        amount,
                        to_member,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let purchases: Vec<PurchaseFact> = c
                .prepare_cached(
                    "SELECT id, purchased_at, store_id, member_id FROM purchases \
                     WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![after.purchase_id, upto.purchase_id, limit], |r| {
                        Ok(PurchaseFact {
                            id: r.get(0)?,
                            at: time(r.get(1)?),
                            store_id: StoreId::new(r.get(2)?),
                            member_id: MemberId::new(r.get(3)?),
                        })
                    })?
                    .collect()
                })
                .map_err(backend)?;
            Ok((movements, purchases))
        })
        .await
    }

    async fn apply_rollup(&self, batch: RollupBatch) -> StoreResult<bool> {
        self.write(move |tx| {
            let moved = tx
                .execute(
                    "UPDATE report_watermark SET transfer_id = ?3, purchase_id = ?4 \
                     WHERE transfer_id = ?1 AND purchase_id = ?2",
                    params![
                        batch.from.transfer_id,
                        batch.from.purchase_id,
                        batch.to.transfer_id,
                        batch.to.purchase_id
                    ],
                )
                .map_err(backend)?;
            if moved == 0 {
                return Ok(false);
            }
            let mut add = tx
                .prepare_cached(
                    "INSERT INTO daily_points (day, store_id, kind, credited, debited) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (day, store_id, kind) DO UPDATE SET credited = credited + excluded.credited, \
                     debited = debited + excluded.debited",
                )
                .map_err(backend)?;
            for p in &batch.points {
                add.execute(params![
                    p.day.to_string(),
                    p.store_id.map_or(0, StoreId::get),
                    p.kind.as_str(),
                    p.credited,
                    p.debited
                ])
                .map_err(backend)?;
            }
            let mut last = tx
                .prepare_cached(
                    "INSERT INTO member_last_purchase_day (member_id, day) VALUES (?1, ?2) \
                     ON CONFLICT (member_id) DO UPDATE SET day = excluded.day WHERE excluded.day > day",
                )
                .map_err(backend)?;
            let mut count = tx
                .prepare_cached(
                    "INSERT INTO daily_active (day, customers) VALUES (?1, ?2) \
                     ON CONFLICT (day) DO UPDATE SET customers = customers + excluded.customers",
                )
                .map_err(backend)?;
            for (day, members) in &batch.buyers {
                let day = day.to_string();
                let mut first_today = 0;
                for m in members {
                    first_today += last.execute(params![m.get(), day]).map_err(backend)?;
                }
                if first_today > 0 {
                    count.execute(params![day, first_today]).map_err(backend)?;
                }
            }
            Ok(true)
        })
        .await
    }

    async fn daily_points(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<DailyPoints>> {
        self.read(move |c| {
            let rows: Vec<(String, i64, String, i64, i64)> = c
                .prepare_cached(
                    "SELECT day, store_id, kind, credited, debited FROM daily_points \
                     WHERE day >= ?1 AND day <= ?2 ORDER BY day, store_id, kind",
                )
                .and_then(|mut s| {
                    s.query_map(params![from.to_string(), to.to_string()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            rows.into_iter()
                .map(|(d, store, k, credited, debited)| {
                    Ok(DailyPoints {
                        day: day(&d)?,
                        store_id: (store != 0).then(|| StoreId::new(store)),
                        kind: kind(&k)?,
                        credited,
                        debited,
                    })
                })
                .collect()
        })
        .await
    }

    async fn daily_active(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, u64)>> {
        self.read(move |c| {
            let rows: Vec<(String, i64)> = c
                .prepare_cached(
                    "SELECT day, customers FROM daily_active WHERE day >= ?1 AND day <= ?2 ORDER BY day",
                )
                .and_then(|mut s| {
                    s.query_map(params![from.to_string(), to.to_string()], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            rows.into_iter()
                .map(|(d, n)| Ok((day(&d)?, n.unsigned_abs())))
                .collect()
        })
        .await
    }

    async fn liability_at_watermark(&self) -> StoreResult<i64> {
        self.read(|c| {
            let done: i64 = c
                .query_row("SELECT transfer_id FROM report_watermark", [], |r| r.get(0))
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            // Members owe what the system accounts are owed: the ledger sums to zero.
            c.query_row(
                "SELECT -(SELECT COALESCE(SUM(credits_posted - debits_posted), 0) FROM accounts WHERE code IS NOT NULL) \
                 - (SELECT COALESCE(SUM(CASE WHEN ca.member_id IS NOT NULL THEN t.amount ELSE 0 END \
                                       - CASE WHEN da.member_id IS NOT NULL THEN t.amount ELSE 0 END), 0) \
                    FROM transfers t JOIN accounts ca ON ca.id = t.credit_account_id \
                    JOIN accounts da ON da.id = t.debit_account_id WHERE t.id > ?1)",
                [done],
                |r| r.get(0),
            )
            .map_err(backend)
        })
        .await
    }
}
