//! The double-entry primitives every write path shares: post a transfer, add a lot, read the
//! lots, and carry out the draws and restores that `kopilka_domain::lots` decides.

use crate::{backend, micros, time};
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{MovementKind, SystemAccount};
use kopilka_domain::lots::{Draw, LiveLot, OpenUsage, Restore};
use kopilka_domain::member::MemberId;
use kopilka_store::{StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) fn system_account(conn: &Connection, account: SystemAccount) -> StoreResult<i64> {
    conn.prepare_cached("SELECT id FROM accounts WHERE code = ?1")
        .and_then(|mut s| s.query_row([account.code()], |r| r.get(0)))
        .map_err(backend)
}

/// The member's account and balance (posted credits minus debits).
pub(crate) fn member_account(conn: &Connection, member: MemberId) -> StoreResult<(i64, i64)> {
    conn.prepare_cached(
        "SELECT id, credits_posted - debits_posted FROM accounts WHERE member_id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([member.get()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    })
    .map_err(backend)?
    .ok_or(StoreError::NotFound)
}

pub(crate) struct Movement<'a> {
    pub debit: i64,
    pub credit: i64,
    pub amount: i64,
    pub kind: MovementKind,
    pub member: MemberId,
    pub store_id: Option<i64>,
    pub receipt_id: Option<&'a str>,
    pub lot_id: Option<i64>,
    pub description: &'a str,
    pub at: DateTime<Utc>,
}

/// Writes one transfer and moves both accounts by its amount.
pub(crate) fn post(conn: &Connection, m: &Movement) -> StoreResult<i64> {
    let transfer: i64 = conn
        .prepare_cached(
            "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, store_id, receipt_id, lot_id, description, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        )
        .and_then(|mut s| {
            s.query_row(
                params![m.debit, m.credit, m.amount, m.kind.as_str(), m.member.get(), m.store_id, m.receipt_id, m.lot_id, m.description, micros(m.at)],
                |r| r.get(0),
            )
        })
        .map_err(backend)?;
    conn.prepare_cached("UPDATE accounts SET debits_posted = debits_posted + ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![m.debit, m.amount]))
        .map_err(backend)?;
    conn.prepare_cached("UPDATE accounts SET credits_posted = credits_posted + ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![m.credit, m.amount]))
        .map_err(backend)?;
    Ok(transfer)
}

pub(crate) fn add_lot(
    conn: &Connection,
    member: MemberId,
    transfer: i64,
    points: i64,
    earned_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    available_at: DateTime<Utc>,
) -> StoreResult<()> {
    if points <= 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO lots (member_id, transfer_id, points, remaining, earned_at, expires_at, available_at) \
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![member.get(), transfer, points, micros(earned_at), micros(expires_at), micros(available_at)])
    })
    .map_err(backend)?;
    Ok(())
}

/// The member's lots that still hold points.
pub(crate) fn live_lots(conn: &Connection, member: MemberId) -> StoreResult<Vec<LiveLot>> {
    conn.prepare_cached(
        "SELECT id, transfer_id, available_at, expires_at, remaining FROM lots \
         WHERE member_id = ?1 AND remaining > 0",
    )
    .and_then(|mut s| s.query_map([member.get()], lot_from_row)?.collect())
    .map_err(backend)
}

fn lot_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LiveLot> {
    Ok(LiveLot {
        lot_id: r.get(0)?,
        transfer_id: r.get(1)?,
        available_at: time(r.get(2)?),
        expires_at: time(r.get(3)?),
        remaining: r.get(4)?,
    })
}

/// What `purchase` drew from each lot and has not yet had back.
pub(crate) fn open_usages(conn: &Connection, purchase: i64) -> StoreResult<Vec<OpenUsage>> {
    conn.prepare_cached(
        "SELECT l.id, l.transfer_id, l.available_at, l.expires_at, l.remaining, u.id, u.points - u.restored \
         FROM lot_usages u JOIN lots l ON l.id = u.lot_id \
         WHERE u.purchase_id = ?1 AND u.points > u.restored",
    )
    .and_then(|mut s| {
        s.query_map([purchase], |r| {
            Ok(OpenUsage {
                lot: lot_from_row(r)?,
                usage_id: r.get(5)?,
                open: r.get(6)?,
            })
        })?
        .collect()
    })
    .map_err(backend)
}

/// Carries out draws decided by `kopilka_domain::lots`, recording each against the transfer
/// and purchase of a sale, so that its return can give it back.
pub(crate) fn take_from_lots(
    conn: &Connection,
    draws: &[Draw],
    sale: Option<(i64, i64)>,
) -> StoreResult<()> {
    for d in draws {
        let drawn = conn
            .prepare_cached(
                "UPDATE lots SET remaining = remaining - ?2 WHERE id = ?1 AND remaining >= ?2",
            )
            .and_then(|mut s| s.execute(params![d.lot_id, d.points]))
            .map_err(backend)?;
        if drawn != 1 {
            return Err(StoreError::Corrupt(format!(
                "lot {} does not hold the {} points drawn",
                d.lot_id, d.points
            )));
        }
        if let Some((transfer, purchase)) = sale {
            conn.prepare_cached("INSERT INTO lot_usages (lot_id, transfer_id, purchase_id, points) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute(params![d.lot_id, transfer, purchase, d.points]))
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// Carries out restores decided by `kopilka_domain::lots::return_outcome`.
pub(crate) fn give_back_to_lots(conn: &Connection, restores: &[Restore]) -> StoreResult<()> {
    for r in restores {
        conn.prepare_cached("UPDATE lot_usages SET restored = restored + ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![r.usage_id, r.points]))
            .map_err(backend)?;
        conn.prepare_cached("UPDATE lots SET remaining = remaining + ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![r.lot_id, r.points]))
            .map_err(backend)?;
    }
    Ok(())
}
