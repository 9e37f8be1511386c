//! The customer's personal-data controls (152-FZ): what their export reads besides the
//! other traits' answers, and the deletion of their account.

use crate::catalog::insert_audit;
use crate::members::log_consents;
use crate::posting::lock_member_account;
use crate::receipts::{line_row, purchase_row, LINE_COLUMNS, PURCHASE_COLUMNS};
use crate::{db, detached, PostgresStore};
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{MovementKind, SystemAccount};
use kopilka_domain::member::MemberId;
use kopilka_domain::Points;
use kopilka_store::{
    erased_phone, ConsentRecord, Erased, Erasure, MemberRecords, PurchaseRecord, StoreError,
    StoreResult,
};
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

pub(crate) async fn member_records(
    store: &PostgresStore,
    member: MemberId,
) -> StoreResult<MemberRecords> {
    let pool = store.pool.clone();
    detached(async move {
        // One snapshot for both reads.
        let mut tx = pool.begin_snapshot().await.map_err(db)?;
        let consents = consent_log(&mut tx, member).await?;
        let purchases = purchases(&mut tx, member).await?;
        tx.commit().await.map_err(db)?;
        Ok(MemberRecords {
            consents,
            purchases,
        })
    })
    .await
}

async fn consent_log(conn: &mut PgConnection, member: MemberId) -> StoreResult<Vec<ConsentRecord>> {
    sqlx::query(
        "SELECT personal_data, newsletters, version, at FROM consent_log WHERE member_id = $1 ORDER BY id",
    )
    .bind(member.get())
    .fetch_all(conn)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(ConsentRecord {
            personal_data: r.try_get(0).map_err(db)?,
            newsletters: r.try_get(1).map_err(db)?,
            version: r.try_get(2).map_err(db)?,
            at: r.try_get(3).map_err(db)?,
        })
    })
    .collect()
}

async fn purchases(conn: &mut PgConnection, member: MemberId) -> StoreResult<Vec<PurchaseRecord>> {
    let mut purchases: Vec<PurchaseRecord> = sqlx::query(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE member_id = $1 ORDER BY purchased_at, id"
    ))
    .bind(member.get())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?
    .iter()
    .map(purchase_row)
    .collect::<StoreResult<_>>()?;
    let at: HashMap<i64, usize> = purchases
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.get(), i))
        .collect();
    let lines = sqlx::query(&format!(
        "SELECT l.purchase_id, {LINE_COLUMNS} \
         FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id \
         LEFT JOIN products pr ON pr.sku = l.sku \
         WHERE p.member_id = $1 ORDER BY l.purchase_id, l.line_no"
    ))
    .bind(member.get())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for r in &lines {
        let purchase: i64 = r.try_get(0).map_err(db)?;
        if let Some(&i) = at.get(&purchase) {
            purchases[i].lines.push(line_row(r, 1)?);
        }
    }
    Ok(purchases)
}

pub(crate) async fn erase_member(store: &PostgresStore, erasure: Erasure) -> StoreResult<Erased> {
    let sink = store.system.of(SystemAccount::Forfeit)?;
    let (pool, caches) = (store.pool.clone(), store.caches.clone());
    let id = erasure.member;
    let erased = detached(async move {
        let mut tx = pool.begin().await.map_err(db)?;
        let erased = erase(&mut tx, erasure, sink).await?;
        tx.commit().await.map_err(db)?;
        Ok(erased)
    })
    .await?;
    // Other nodes forget the member on the triggers' notices (migrations 7 and 12: the
    // member's row, their cards and sessions changed); this one forgets at once.
    caches.forget_member(id);
    Ok(erased)
}

async fn erase(conn: &mut PgConnection, mut e: Erasure, sink: i64) -> StoreResult<Erased> {
    let id = e.member;
    // The member's account first, as every writer of their lots and balance takes it
    // (migration 17): a sale in flight commits before, or after this finds the card blocked
    // (migration 18).
    let (account, balance) = lock_member_account(conn, id).await?;
    let c = &e.consents;
    // The favourite category is kept: it is no fact about the person, and the purchases that
    // stay explain their points by it.
    let erased = sqlx::query(
        "UPDATE members SET phone = $2, password_hash = NULL, last_name = NULL, first_name = NULL, name_key = NULL, city_key = NULL, gender = NULL, \
         birth_date = NULL, city = NULL, email = NULL, favourite_store_id = NULL, consent_personal_data = $3, \
         consent_newsletters = $4, consent_version = $5, consent_at = $6, deleted_at = $7 \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id.get())
    .bind(erased_phone(id))
    .bind(c.personal_data)
    .bind(c.newsletters)
    .bind(&c.version)
    .bind(c.recorded_at)
    .bind(e.at)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if erased != 1 {
        return Err(StoreError::NotFound);
    }
    log_consents(conn, id, c).await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE kind = 'customer' AND subject = $1 AND revoked_at IS NULL",
    )
    .bind(id.get())
    .bind(e.at)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "UPDATE cards SET status = 'blocked', blocked_at = $2 WHERE member_id = $1 AND status <> 'blocked'",
    )
    .bind(id.get())
    .bind(e.at)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    // The account's own tickets carry the phone and e-mail they were opened with.
    sqlx::query("UPDATE tickets SET name = NULL, phone = NULL, email = NULL WHERE member_id = $1")
        .bind(id.get())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let result = if balance > 0 {
        forfeit(conn, id, account, balance, sink, &e.description, e.at).await?
    } else {
        // A debt has no lots, and stays as it is.
        Erased {
            forfeited: Points::ZERO,
            debt: Points::new(-balance),
        }
    };
    e.audit.details = result.audit_details();
    insert_audit(conn, &e.audit).await?;
    Ok(result)
}

/// Moves what the member's live lots hold to `system:forfeit`, one transfer a lot, and deletes
/// them from `live_lots`, in one statement as the expiry job does (`Pos::expire_lots`). Lots
/// add up to a positive balance (`ledger::lot_after_debt`), so the account ends at zero.
async fn forfeit(
    conn: &mut PgConnection,
    member: MemberId,
    account: i64,
    balance: i64,
    sink: i64,
    description: &str,
    at: DateTime<Utc>,
) -> StoreResult<Erased> {
    // An expiry before its time, as the history tells it: the public list of kinds has no
    // other for points that leave without a purchase; the account credited says why.
    let (total, moved): (i64, i64) = sqlx::query_as(
        "WITH zeroed AS (DELETE FROM live_lots WHERE member_id = $1 \
                         RETURNING lot_id, remaining, expires_at), \
              posted AS (INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, lot_id, description, at) \
                         SELECT $2, $3, remaining, $4, $1, lot_id, $5, $6 FROM zeroed ORDER BY expires_at, lot_id \
                         RETURNING amount), \
              total AS (SELECT COALESCE(SUM(amount), 0)::BIGINT AS points FROM posted), \
              moved AS (UPDATE accounts a \
                        SET debits_posted = a.debits_posted + CASE WHEN a.id = $2 THEN t.points ELSE 0 END, \
                            credits_posted = a.credits_posted + CASE WHEN a.id = $3 THEN t.points ELSE 0 END \
                        FROM total t WHERE a.id IN ($2, $3) AND t.points > 0 RETURNING a.id) \
         SELECT t.points, (SELECT COUNT(*) FROM moved) FROM total t",
    )
    .bind(member.get())
    .bind(account)
    .bind(sink)
    .bind(MovementKind::Expiry.as_str())
    .bind(description)
    .bind(at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    // Lots that do not add up to the balance are a broken ledger: change nothing.
    if total != balance || moved != 2 {
        return Err(StoreError::Corrupt(format!(
            "member {member}: lots hold {total} points, the balance is {balance}; {moved} accounts moved"
        )));
    }
    Ok(Erased {
        forfeited: Points::new(total),
        debt: Points::ZERO,
    })
}
