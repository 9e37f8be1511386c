//! The double-entry primitives every write path shares: post a transfer, add a lot, read the
//! lots, and carry out the draws that `kopilka_domain::lots` decides.

use crate::db;
use crate::functions::{POST, TAKE_FROM_LOTS};
use crate::Pool;
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{MovementKind, SystemAccount};
use kopilka_domain::lots::{Draw, LiveLot};
use kopilka_domain::member::MemberId;
use kopilka_store::{StoreError, StoreResult};
use sqlx::{PgConnection, Row};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::LazyLock;

/// System account ids by code.
#[derive(Debug, Clone)]
pub(crate) struct SystemIds(Arc<HashMap<String, i64>>);

impl SystemIds {
    pub(crate) async fn load(pool: &Pool) -> StoreResult<Self> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT code, id FROM accounts WHERE code IS NOT NULL")
                .fetch_all(pool)
                .await
                .map_err(db)?;
        Ok(Self(Arc::new(rows.into_iter().collect())))
    }

    /// A system account's own id (not a shard's).
    pub(crate) fn of(&self, account: SystemAccount) -> StoreResult<i64> {
        self.by_code(account.code())
    }

    fn by_code(&self, code: &str) -> StoreResult<i64> {
        self.0
            .get(code)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("no system account {code}")))
    }

    /// The shard of a busy system account that carries this member's transfers: purchases
    /// of different members then lock different rows.
    pub(crate) fn for_member(&self, account: SystemAccount, member: MemberId) -> StoreResult<i64> {
        let shard = member.get().rem_euclid(SHARDS);
        if shard == 0 || !matches!(account, SystemAccount::Accrual | SystemAccount::Redemption) {
            return self.of(account);
        }
        self.by_code(&format!("{}:{shard}", account.code()))
    }
}

/// Shards of the accrual and redemption accounts (migrations 3 and 16 create 1..127; 0 is the
/// account itself).
const SHARDS: i64 = 128;

/// The member's account and balance, locked until the transaction ends: concurrent spends of
/// one balance queue here.
pub(crate) async fn lock_member_account(
    conn: &mut PgConnection,
    member: MemberId,
) -> StoreResult<(i64, i64)> {
    sqlx::query_as(
        "SELECT id, credits_posted - debits_posted FROM accounts WHERE member_id = $1 FOR UPDATE",
    )
    .bind(member.get())
    .fetch_optional(conn)
    .await
    .map_err(db)?
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

static POST_CALL: LazyLock<String> = LazyLock::new(|| format!("SELECT {}", POST.call()));
static TAKE_FROM_LOTS_CALL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {}", TAKE_FROM_LOTS.call()));

/// Writes one transfer and moves both accounts by its amount (`kopilka_post`).
pub(crate) async fn post(conn: &mut PgConnection, m: &Movement<'_>) -> StoreResult<i64> {
    sqlx::query_scalar(&POST_CALL)
        .bind(m.debit)
        .bind(m.credit)
        .bind(m.amount)
        .bind(m.kind.as_str())
        .bind(m.member.get())
        .bind(m.store_id)
        .bind(m.receipt_id)
        .bind(m.lot_id)
        .bind(m.description)
        .bind(m.at)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}

pub(crate) async fn add_lot(
    conn: &mut PgConnection,
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
    sqlx::query(
        "WITH lot AS (INSERT INTO lots (member_id, transfer_id, points, earned_at, expires_at, available_at) \
                      VALUES ($1, $2, $3, $4, $5, $6) RETURNING id) \
         INSERT INTO live_lots (member_id, expires_at, lot_id, transfer_id, available_at, remaining) \
         SELECT $1, $5, id, $2, $6, $3 FROM lot",
    )
    .bind(member.get())
    .bind(transfer)
    .bind(points)
    .bind(earned_at)
    .bind(expires_at)
    .bind(available_at)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The member's lots that still hold points.
pub(crate) async fn live_lots(
    conn: &mut PgConnection,
    member: MemberId,
) -> StoreResult<Vec<LiveLot>> {
    let rows = sqlx::query(
        "SELECT lot_id, transfer_id, available_at, expires_at, remaining FROM live_lots WHERE member_id = $1",
    )
    .bind(member.get())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(LiveLot {
                lot_id: r.try_get(0).map_err(db)?,
                transfer_id: r.try_get(1).map_err(db)?,
                available_at: r.try_get(2).map_err(db)?,
                expires_at: r.try_get(3).map_err(db)?,
                remaining: r.try_get(4).map_err(db)?,
            })
        })
        .collect()
}

/// Carries out draws decided by `kopilka_domain::lots` (`kopilka_take_from_lots`).
pub(crate) async fn take_from_lots(
    conn: &mut PgConnection,
    member: MemberId,
    draws: &[Draw],
) -> StoreResult<()> {
    sqlx::query(&TAKE_FROM_LOTS_CALL)
        .bind(member.get())
        .bind(draws.iter().map(|d| d.lot_id).collect::<Vec<_>>())
        .bind(draws.iter().map(|d| d.points).collect::<Vec<_>>())
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}
