//! The double-entry primitives every write path shares: post a transfer, add a lot, draw
//! lots down oldest first, give points back to the lots they came from.

use crate::{backend, micros};
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{MovementKind, SystemAccount};
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
        s.query_row([member], |r| Ok((r.get(0)?, r.get(1)?)))
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
                params![m.debit, m.credit, m.amount, m.kind.as_str(), m.member, m.store_id, m.receipt_id, m.lot_id, m.description, micros(m.at)],
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
        s.execute(params![member, transfer, points, micros(earned_at), micros(expires_at), micros(available_at)])
    })
    .map_err(backend)?;
    Ok(())
}

/// Points in the member's lots that are not yet available at `now` (the pending period).
pub(crate) fn pending_points(
    conn: &Connection,
    member: MemberId,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    conn.prepare_cached(
        "SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?1 AND remaining > 0 AND available_at > ?2",
    )
    .and_then(|mut s| s.query_row(params![member, micros(now)], |r| r.get(0)))
    .map_err(backend)
}

/// Draws up to `amount` from the member's live lots: first the lot that the transfer `prefer`
/// credited (a return takes back the purchase's own points), then lots available at `now`
/// before pending ones, soonest expiry first.
/// Records each draw against `transfer` (and `purchase`, so a return can give it back).
/// Returns what it drew.
pub(crate) fn draw_lots(
    conn: &Connection,
    member: MemberId,
    amount: i64,
    transfer: i64,
    purchase: Option<i64>,
    prefer: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let lots: Vec<(i64, i64)> = conn
        .prepare_cached(
            "SELECT id, remaining FROM lots WHERE member_id = ?1 AND remaining > 0 \
             ORDER BY transfer_id IS ?2 DESC, available_at > ?3, expires_at, id",
        )
        .and_then(|mut s| {
            s.query_map(params![member, prefer, micros(now)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })
        .map_err(backend)?;
    let mut left = amount;
    for (lot, remaining) in lots {
        if left == 0 {
            break;
        }
        let take = remaining.min(left);
        conn.prepare_cached("UPDATE lots SET remaining = remaining - ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![lot, take]))
            .map_err(backend)?;
        if purchase.is_some() {
            conn.prepare_cached("INSERT INTO lot_usages (lot_id, transfer_id, purchase_id, points) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute(params![lot, transfer, purchase, take]))
                .map_err(backend)?;
        }
        left -= take;
    }
    Ok(amount - left)
}

/// Gives up to `amount` back to the lots a purchase drew on, latest expiry first.
pub(crate) fn restore_lots(conn: &Connection, purchase: i64, amount: i64) -> StoreResult<()> {
    let usages: Vec<(i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT u.id, u.lot_id, u.points - u.restored FROM lot_usages u JOIN lots l ON l.id = u.lot_id \
             WHERE u.purchase_id = ?1 AND u.points > u.restored ORDER BY l.expires_at DESC, u.id DESC",
        )
        .and_then(|mut s| s.query_map([purchase], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
        .map_err(backend)?;
    let mut left = amount;
    for (usage, lot, open) in usages {
        if left == 0 {
            break;
        }
        let give = open.min(left);
        conn.prepare_cached("UPDATE lot_usages SET restored = restored + ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![usage, give]))
            .map_err(backend)?;
        conn.prepare_cached("UPDATE lots SET remaining = remaining + ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![lot, give]))
            .map_err(backend)?;
        left -= give;
    }
    Ok(())
}
