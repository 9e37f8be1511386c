//! The customer's personal-data controls (152-FZ): what their export reads besides the
//! other traits' answers, and the deletion of their account.

use crate::catalog::insert_audit;
use crate::members::log_consents;
use crate::posting::{member_account, system_account};
use crate::receipts::{line_row, purchase_row, LINE_COLUMNS, PURCHASE_COLUMNS};
use crate::{backend, micros, time, SqliteStore};
use kopilka_domain::ledger::{MovementKind, SystemAccount};
use kopilka_domain::member::MemberId;
use kopilka_domain::Points;
use kopilka_store::{
    erased_phone, ConsentRecord, Erased, Erasure, MemberRecords, PurchaseLineRecord,
    PurchaseRecord, StoreError, StoreResult,
};
use rusqlite::{params, Connection};
use std::collections::HashMap;

pub(crate) async fn member_records(
    store: &SqliteStore,
    member: MemberId,
) -> StoreResult<MemberRecords> {
    store
        .read(move |c| {
            Ok(MemberRecords {
                consents: consent_log(c, member)?,
                purchases: purchases(c, member)?,
            })
        })
        .await
}

fn consent_log(c: &Connection, member: MemberId) -> StoreResult<Vec<ConsentRecord>> {
    c.prepare_cached(
        "SELECT personal_data, newsletters, version, at FROM consent_log WHERE member_id = ?1 ORDER BY id",
    )
    .and_then(|mut s| {
        s.query_map([member.get()], |r| {
            Ok(ConsentRecord {
                personal_data: r.get(0)?,
                newsletters: r.get(1)?,
                version: r.get(2)?,
                at: time(r.get(3)?),
            })
        })?
        .collect()
    })
    .map_err(backend)
}

fn purchases(c: &Connection, member: MemberId) -> StoreResult<Vec<PurchaseRecord>> {
    let mut purchases: Vec<PurchaseRecord> = c
        .prepare_cached(&format!(
            "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE member_id = ?1 ORDER BY purchased_at, id"
        ))
        .and_then(|mut s| s.query_map([member.get()], purchase_row)?.collect())
        .map_err(backend)?;
    let at: HashMap<i64, usize> = purchases
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.get(), i))
        .collect();
    let lines: Vec<(i64, PurchaseLineRecord)> = c
        .prepare_cached(&format!(
            "SELECT l.purchase_id, {LINE_COLUMNS} \
             FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id \
             LEFT JOIN products pr ON pr.sku = l.sku \
             WHERE p.member_id = ?1 ORDER BY l.purchase_id, l.line_no"
        ))
        .and_then(|mut s| {
            s.query_map([member.get()], |r| Ok((r.get(0)?, line_row(r, 1)?)))?
                .collect()
        })
        .map_err(backend)?;
    for (purchase, line) in lines {
        if let Some(&i) = at.get(&purchase) {
            purchases[i].lines.push(line);
        }
    }
    Ok(purchases)
}

pub(crate) async fn erase_member(store: &SqliteStore, erasure: Erasure) -> StoreResult<Erased> {
    // The holder cache forgets the member through the writer's triggers on `members` and
    // `cards` (`holders.rs`), after this commit and before the caller hears back.
    store.write(move |tx| erase(tx, erasure)).await
}

fn erase(tx: &Connection, mut e: Erasure) -> StoreResult<Erased> {
    let id = e.member;
    let at = micros(e.at);
    let c = &e.consents;
    // The favourite category is kept: it is no fact about the person, and the purchases that
    // stay explain their points by it.
    let erased = tx
        .prepare_cached(
            "UPDATE members SET phone = ?2, password_hash = NULL, last_name = NULL, first_name = NULL, name_key = NULL, city_key = NULL, gender = NULL, \
             birth_date = NULL, city = NULL, email = NULL, favourite_store_id = NULL, consent_personal_data = ?3, \
             consent_newsletters = ?4, consent_version = ?5, consent_at = ?6, deleted_at = ?7 \
             WHERE id = ?1 AND deleted_at IS NULL",
        )
        .and_then(|mut s| {
            s.execute(params![
                id.get(),
                erased_phone(id),
                c.personal_data,
                c.newsletters,
                c.version,
                micros(c.recorded_at),
                at
            ])
        })
        .map_err(backend)?;
    if erased != 1 {
        return Err(StoreError::NotFound);
    }
    log_consents(tx, id, c)?;
    tx.prepare_cached(
        "UPDATE sessions SET revoked_at = ?2 WHERE kind = 'customer' AND subject = ?1 AND revoked_at IS NULL",
    )
    .and_then(|mut s| s.execute(params![id.get(), at]))
    .map_err(backend)?;
    tx.prepare_cached(
        "UPDATE cards SET status = 'blocked', blocked_at = ?2 WHERE member_id = ?1 AND status <> 'blocked'",
    )
    .and_then(|mut s| s.execute(params![id.get(), at]))
    .map_err(backend)?;
    // The account's own tickets carry the phone and e-mail they were opened with.
    tx.prepare_cached(
        "UPDATE tickets SET name = NULL, phone = NULL, email = NULL WHERE member_id = ?1",
    )
    .and_then(|mut s| s.execute([id.get()]))
    .map_err(backend)?;
    let result = forfeit(tx, id, &e.description, e.at)?;
    e.audit.details = result.audit_details();
    insert_audit(tx, &e.audit)?;
    Ok(result)
}

/// Moves what the member's live lots hold to `system:forfeit`, one transfer a lot, as the
/// expiry job does (`Pos::expire_lots`), and zeroes the lots. Lots add up to a positive
/// balance (`ledger::lot_after_debt`), so the account ends at zero; a debt has no lots and
/// stays.
fn forfeit(
    tx: &Connection,
    member: MemberId,
    description: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Erased> {
    let (account, balance) = member_account(tx, member)?;
    if balance <= 0 {
        return Ok(Erased {
            forfeited: Points::ZERO,
            debt: Points::new(-balance),
        });
    }
    let sink = system_account(tx, SystemAccount::Forfeit)?;
    // An expiry before its time, as the history tells it: the public list of kinds has no
    // other for points that leave without a purchase; the account credited says why.
    tx.prepare_cached(
        "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, lot_id, description, at) \
         SELECT ?1, ?2, remaining, ?3, member_id, id, ?4, ?5 FROM lots \
         WHERE member_id = ?6 AND remaining > 0 ORDER BY expires_at, id",
    )
    .and_then(|mut s| {
        s.execute(params![
            account,
            sink,
            MovementKind::Expiry.as_str(),
            description,
            micros(at),
            member.get()
        ])
    })
    .map_err(backend)?;
    let total: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?1 AND remaining > 0",
        )
        .and_then(|mut s| s.query_row([member.get()], |r| r.get(0)))
        .map_err(backend)?;
    // Lots that do not add up to the balance are a broken ledger: change nothing.
    if total != balance {
        return Err(StoreError::Corrupt(format!(
            "member {member}: lots hold {total} points, the balance is {balance}"
        )));
    }
    tx.prepare_cached("UPDATE lots SET remaining = 0 WHERE member_id = ?1 AND remaining > 0")
        .and_then(|mut s| s.execute([member.get()]))
        .map_err(backend)?;
    tx.prepare_cached("UPDATE accounts SET debits_posted = debits_posted + ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![account, total]))
        .map_err(backend)?;
    tx.prepare_cached("UPDATE accounts SET credits_posted = credits_posted + ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![sink, total]))
        .map_err(backend)?;
    Ok(Erased {
        forfeited: Points::new(total),
        debt: Points::ZERO,
    })
}
