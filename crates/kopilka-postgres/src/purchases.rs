//! A purchase and a refund, each one transaction on a connection the caller owns.

use crate::codes;
use crate::functions::{RECORD_RETURN, RECORD_SALE};
use kopilka_domain::offers::OfferId;
use kopilka_domain::receipt::PurchaseId;
use std::sync::LazyLock;

/// The card states a sale may be recorded on, as the domain decides them.
static PURCHASABLE: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    kopilka_domain::CardStatus::purchasable()
        .map(kopilka_domain::CardStatus::as_str)
        .collect()
});

/// The sale's and the return's one statement each, calling their function by its parameters'
/// names.
static RECORD_SALE_CALL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT stale, new_purchase FROM {}", RECORD_SALE.call()));
static RECORD_RETURN_CALL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT stale, recorded FROM {}", RECORD_RETURN.call()));
use crate::db;
use crate::posting::SystemIds;
use crate::sale_state::{live_lots_from_row, SaleState, LIVE_LOTS, LIVE_LOT_COLUMNS};
use crate::Pool;
use kopilka_domain::earning::{plan_refund, Priced, RefundableLine};
use kopilka_domain::ledger::{sale_outcome, MovementKind, SaleOutcome, SystemAccount};
use kopilka_domain::lots::{self, return_outcome, LiveLot, OpenUsage};
use kopilka_domain::member::{MemberId, StoreId};
use kopilka_domain::{DomainError, Kopecks, Points};
use kopilka_store::{
    Pricer, PurchaseOutcome, PurchaseRequest, PurchaseState, RecordedPurchase, RecordedRefund,
    RefundOutcome, RefundRequest, StoreError, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::Row;

/// The columns of a recorded purchase (`purchases p`), in the order `recorded_purchase_from` reads
/// them; a macro so the statements that use it stay static strings.
macro_rules! recorded_purchase_columns {
    () => {
        "p.id, p.request_hash, p.earned, p.redeemed, p.discount_kop, p.payable_kop, p.balance_after"
    };
}

/// The recorded purchase in `row` from column `first` on (`recorded_purchase_columns!`); none when
/// its id is NULL (no receipt recorded under that id).
fn recorded_purchase_from(row: &PgRow, first: usize) -> StoreResult<Option<RecordedPurchase>> {
    let Some(purchase_id) = row.try_get::<Option<i64>, _>(first).map_err(db)? else {
        return Ok(None);
    };
    let column = |n: usize| first + n;
    Ok(Some(RecordedPurchase {
        purchase_id: PurchaseId::new(purchase_id),
        request_hash: row.try_get(column(1)).map_err(db)?,
        earned: row.try_get(column(2)).map_err(db)?,
        redeemed: row.try_get(column(3)).map_err(db)?,
        discount_kop: row.try_get(column(4)).map_err(db)?,
        payable_kop: row.try_get(column(5)).map_err(db)?,
        balance: row.try_get(column(6)).map_err(db)?,
    }))
}

/// Finds a recorded sale by store and receipt id (`recorded`).
const RECORDED_PURCHASE: &str = concat!(
    "SELECT ",
    recorded_purchase_columns!(),
    " FROM purchases p WHERE p.store_id = $1 AND p.receipt_id = $2"
);

/// The columns of a recorded return (`refunds r`), in the order `recorded_refund_from` reads
/// them.
macro_rules! recorded_refund_columns {
    () => {
        "r.request_hash, r.taken_back, r.returned, r.balance_after"
    };
}

/// The recorded return in `row` from column `first` on (`recorded_refund_columns!`); none
/// when its request hash is NULL (no return recorded under that refund id).
fn recorded_refund_from(row: &PgRow, first: usize) -> StoreResult<Option<RecordedRefund>> {
    let Some(request_hash) = row.try_get::<Option<String>, _>(first).map_err(db)? else {
        return Ok(None);
    };
    Ok(Some(RecordedRefund {
        request_hash,
        taken_back: row.try_get(first + 1).map_err(db)?,
        returned: row.try_get(first + 2).map_err(db)?,
        balance: row.try_get(first + 3).map_err(db)?,
    }))
}

/// Finds a recorded return by store and refund id (`recorded`).
const RECORDED_REFUND: &str = concat!(
    "SELECT ",
    recorded_refund_columns!(),
    " FROM refunds r WHERE r.store_id = $1 AND r.refund_id = $2"
);

/// The sale or return that `sql` (`RECORDED_PURCHASE`, `RECORDED_REFUND`) finds under a store
/// and an id, decoded by `decode`; none when nothing is recorded under that id.
async fn recorded<T>(
    conn: impl sqlx::PgExecutor<'_>,
    sql: &'static str,
    store: StoreId,
    id: &str,
    decode: fn(&PgRow, usize) -> StoreResult<Option<T>>,
) -> StoreResult<Option<T>> {
    match sqlx::query(sql)
        .bind(store.get())
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db)?
    {
        Some(row) => decode(&row, 0),
        None => Ok(None),
    }
}

/// How often a sale is priced again because a concurrent one changed its member's state
/// between the read and the write. Every round lets at least one of them through, so this only
/// bounds a pathological pile-up on one card.
const MAX_PRICINGS: usize = 64;

/// What a sale is priced against, read without a lock. `kopilka_record_sale` checks under the
/// lock that the member's account is still at `version` and otherwise answers `stale`, having
/// written nothing (migration 15). Every change to this state moves points and so rewrites
/// the account row (migration 11).
pub(crate) struct Snapshot {
    pub(crate) version: i64,
    pub(crate) balance: i64,
    pub(crate) lots: Vec<LiveLot>,
    pub(crate) receipts_today: i64,
    pub(crate) offers: Vec<i64>,
    pub(crate) uses: Vec<i64>,
    pub(crate) recorded: Option<RecordedPurchase>,
}

impl Snapshot {
    /// The points of the lots not yet available at `at`.
    pub(crate) fn pending(&self, at: chrono::DateTime<chrono::Utc>) -> i64 {
        lots::pending(&self.lots, at)
    }
}

/// Plain subqueries in one statement: each PL/pgSQL statement would start an executor of its
/// own. The offers come in the primary key's order, so their arrays need no sort.
static SNAPSHOT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT a.credits_posted - a.debits_posted, \
         (SELECT COUNT(*) FROM purchases \
          WHERE member_id = $1 AND earned > 0 AND purchased_at >= $2 AND purchased_at < $3), \
         ARRAY(SELECT offer_id FROM offer_activations WHERE member_id = $1 AND offer_id = ANY ($6) ORDER BY offer_id), \
         ARRAY(SELECT uses FROM offer_activations WHERE member_id = $1 AND offer_id = ANY ($6) ORDER BY offer_id), \
         kopilka_account_version(a.xmin), {}, {LIVE_LOT_COLUMNS} \
         FROM accounts a {LIVE_LOTS} \
         LEFT JOIN purchases p ON p.store_id = $4 AND p.receipt_id = $5 \
         WHERE a.member_id = $1",
        recorded_purchase_columns!()
    )
});

async fn snapshot(pool: &Pool, req: &PurchaseRequest) -> StoreResult<Snapshot> {
    let row = sqlx::query(&SNAPSHOT)
        .bind(req.member_id.get())
        .bind(req.day_start)
        .bind(req.day_end)
        .bind(req.store_id.get())
        .bind(&req.receipt_id)
        .bind(
            req.offer_ids
                .iter()
                .map(|id| id.get())
                .collect::<Vec<i64>>(),
        )
        .fetch_optional(pool)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
    let recorded = recorded_purchase_from(&row, 5)?;
    Ok(Snapshot {
        version: row.try_get(4).map_err(db)?,
        balance: row.try_get(0).map_err(db)?,
        lots: live_lots_from_row(&row)?,
        receipts_today: row.try_get(1).map_err(db)?,
        offers: row.try_get(2).map_err(db)?,
        uses: row.try_get(3).map_err(db)?,
        recorded,
    })
}

/// Two round trips in the common case: read the state, price, write it all in one statement;
/// one when the till's quote or identify read the state on this node (`sale_state`).
pub(crate) async fn purchase(
    pool: &Pool,
    system: &SystemIds,
    req: PurchaseRequest,
    price: Pricer,
    kept: Option<SaleState>,
) -> StoreResult<PurchaseOutcome> {
    let mut kept = kept.and_then(|state| state.for_purchase(&req));
    for _ in 0..MAX_PRICINGS {
        let from_kept = kept.is_some();
        let snap = match kept.take() {
            Some(snap) => snap,
            None => snapshot(pool, &req).await?,
        };
        if let Some(recorded) = snap.recorded {
            return recorded.replay(&req);
        }
        let offer_uses = snap
            .offers
            .iter()
            .zip(&snap.uses)
            .map(|(&o, &u)| (OfferId::new(o), u32::try_from(u).unwrap_or(u32::MAX)))
            .collect();
        let priced = match price(&PurchaseState {
            available: Points::new(snap.balance - snap.pending(req.committed_at)),
            earning_receipts_today: u32::try_from(snap.receipts_today).unwrap_or(u32::MAX),
            offer_uses,
        }) {
            Ok(priced) => priced,
            // A kept state cannot see the receipt: a retried purchase that the state since
            // refuses (its points spent, its card blocked) gets its first answer instead.
            Err(_) if from_kept => continue,
            Err(e) => return Err(e.into()),
        };
        let decided = outcome(&req, &snap, &priced);
        match write(pool, system, &req, &snap, &priced, decided).await {
            Ok(Written::Done(id)) => {
                return Ok(PurchaseOutcome {
                    purchase_id: PurchaseId::new(id),
                    receipt_id: req.receipt_id,
                    earned: priced.earn,
                    redeemed: priced.redeem,
                    discount: priced.discount,
                    payable: priced.payable,
                    balance: Points::new(decided.available_after),
                    replayed: false,
                });
            }
            // Recorded by a concurrent conflicting request meanwhile.
            Ok(Written::Recorded) => {
                return recorded(
                    pool,
                    RECORDED_PURCHASE,
                    req.store_id,
                    &req.receipt_id,
                    recorded_purchase_from,
                )
                .await?
                .ok_or(StoreError::NotFound)?
                .replay(&req);
            }
            Ok(Written::Stale) => continue,
            Err(e) => match sql_state(&e).as_deref() {
                Some(codes::DEADLOCK) => continue,
                Some(codes::CARD_CODE_SPENT) => return Err(DomainError::NotFound("card").into()),
                Some(codes::CARD_BLOCKED) => return Err(DomainError::CardBlocked.into()),
                Some(codes::NO_ACCOUNT) => return Err(StoreError::NotFound),
                _ => return Err(db(e)),
            },
        }
    }
    Err(StoreError::unavailable(
        "too many concurrent purchases on one card",
    ))
}

/// What one call of `kopilka_record_sale` or `kopilka_record_return` did.
enum Written<T> {
    /// Wrote it, with this result.
    Done(T),
    /// Wrote nothing: the id is already recorded, and the caller replays it.
    Recorded,
    /// Wrote nothing: the state changed since it was read, and the caller reads it again.
    Stale,
}

impl<T> From<(bool, Option<T>)> for Written<T> {
    fn from((stale, result): (bool, Option<T>)) -> Self {
        match (stale, result) {
            (true, _) => Written::Stale,
            (false, Some(result)) => Written::Done(result),
            (false, None) => Written::Recorded,
        }
    }
}

// A sale or return is one statement, undone whole when PostgreSQL breaks a deadlock by
// failing it (`codes::DEADLOCK`), so it is simply tried again. Between the functions in
// `functions/` there is none (account, then the id, then lots, then shards); one can arise
// during a rolling upgrade, against the previous release's functions.

/// The SQLSTATE a statement failed with, such as the KP codes `kopilka_record_sale` raises.
fn sql_state(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The lot the purchase earns: a debt left by a return is paid first.
fn outcome(req: &PurchaseRequest, snap: &Snapshot, priced: &Priced) -> SaleOutcome {
    sale_outcome(
        snap.balance,
        snap.pending(req.committed_at),
        priced.redeem.get(),
        priced.earn.get(),
        req.lot_available_at > req.committed_at,
    )
}

async fn write(
    pool: &Pool,
    system: &SystemIds,
    req: &PurchaseRequest,
    snap: &Snapshot,
    priced: &Priced,
    decided: SaleOutcome,
) -> Result<Written<i64>, sqlx::Error> {
    let lines = &priced.lines;
    let (earn, redeem) = (priced.earn.get(), priced.redeem.get());
    let accruals = priced.accruals(&req.accrual_description, &req.receipt_id);
    let awarded: Vec<i64> = priced.offers.iter().map(|o| o.offer_id.get()).collect();
    let draws = lots::draw(&snap.lots, redeem, None, req.committed_at);
    let account = |kind| {
        system
            .for_member(kind, req.member_id)
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))
    };
    sqlx::query_as::<_, (bool, Option<i64>)>(&RECORD_SALE_CALL)
        .bind(req.store_id.get())
        .bind(req.till_id.get())
        .bind(&req.receipt_id)
        .bind(&req.request_hash)
        .bind(req.member_id.get())
        .bind(req.card_number.as_str())
        .bind(req.card_token.as_deref())
        .bind(req.purchased_at)
        .bind(req.committed_at)
        .bind(&*PURCHASABLE)
        .bind(snap.version)
        .bind((priced.payable + priced.discount).get())
        .bind(priced.discount.get())
        .bind(priced.payable.get())
        .bind(earn)
        .bind(redeem)
        .bind(decided.available_after)
        .bind(lines.iter().map(|l| l.line_id.as_str()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.category_id).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.amount.get()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.discount.get()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.earned.get()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.redeemed.get()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.rule.as_str()).collect::<Vec<_>>())
        .bind(account(SystemAccount::Redemption)?)
        .bind(MovementKind::Redemption.as_str())
        .bind(&req.redemption_description)
        .bind(account(SystemAccount::Accrual)?)
        .bind(accruals.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>())
        .bind(accruals.iter().map(|a| a.points).collect::<Vec<_>>())
        .bind(
            accruals
                .iter()
                .map(|a| a.description.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(&awarded)
        .bind(draws.iter().map(|d| d.lot_id).collect::<Vec<_>>())
        .bind(draws.iter().map(|d| d.points).collect::<Vec<_>>())
        .bind(decided.new_lot)
        .bind(req.lot_expires_at)
        .bind(req.lot_available_at)
        .fetch_one(pool)
        .await
        .map(Written::from)
}

/// What a return is planned against, read without a lock; `kopilka_record_return` checks it
/// under the lock.
struct RefundSnapshot {
    purchase: i64,
    member: MemberId,
    accrual: Option<i64>,
    balance: i64,
    version: i64,
    /// (line number, the line as it stands)
    lines: Vec<(i32, RefundableLine)>,
    lots: Vec<LiveLot>,
    /// What the purchase drew from lots and has not had back.
    usages: Vec<OpenUsage>,
    /// The refund id's return, when it is already recorded.
    recorded: Option<RecordedRefund>,
}

/// One row per line, the purchase's, the account's and the refund id's columns on each, with
/// the member's live lots (`LIVE_LOTS`) and the purchase's open lot usages.
static REFUND_SNAPSHOT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT p.id, p.member_id, p.accrual_transfer_id, a.credits_posted - a.debits_posted, \
         kopilka_account_version(a.xmin), {}, \
         l.line_no, l.line_id, l.amount_kop, l.earned, l.redeemed, l.refunded_kop, l.taken_back, l.returned, \
         {LIVE_LOT_COLUMNS}, u.ids AS usage_ids, u.open AS usage_open, u.lots AS usage_lots, \
         u.transfers AS usage_transfers, u.available AS usage_available, u.expires AS usage_expires, \
         u.points AS usage_points \
         FROM purchases p JOIN accounts a ON a.member_id = p.member_id {LIVE_LOTS} \
         CROSS JOIN LATERAL ( \
             SELECT COALESCE(array_agg(u.id), '{{}}') AS ids, COALESCE(array_agg(u.points - u.restored), '{{}}') AS open, \
                    COALESCE(array_agg(o.id), '{{}}') AS lots, COALESCE(array_agg(o.transfer_id), '{{}}') AS transfers, \
                    COALESCE(array_agg(o.available_at), '{{}}') AS available, \
                    COALESCE(array_agg(o.expires_at), '{{}}') AS expires, COALESCE(array_agg(o.points), '{{}}') AS points \
             FROM lot_usages u JOIN lots o ON o.id = u.lot_id \
             WHERE u.purchase_id = p.id AND u.points > u.restored) u \
         LEFT JOIN refunds r ON r.store_id = $1 AND r.refund_id = $3 \
         JOIN purchase_lines l ON l.purchase_id = p.id \
         WHERE p.store_id = $1 AND p.receipt_id = $2 ORDER BY l.line_no",
        recorded_refund_columns!()
    )
});

fn usages_from_row(row: &PgRow) -> StoreResult<Vec<OpenUsage>> {
    let ids: Vec<i64> = row.try_get("usage_ids").map_err(db)?;
    let open: Vec<i64> = row.try_get("usage_open").map_err(db)?;
    let lot_ids: Vec<i64> = row.try_get("usage_lots").map_err(db)?;
    let transfers: Vec<i64> = row.try_get("usage_transfers").map_err(db)?;
    let available: Vec<chrono::DateTime<chrono::Utc>> =
        row.try_get("usage_available").map_err(db)?;
    let expires: Vec<chrono::DateTime<chrono::Utc>> = row.try_get("usage_expires").map_err(db)?;
    let points: Vec<i64> = row.try_get("usage_points").map_err(db)?;
    Ok((0..ids.len())
        .map(|i| OpenUsage {
            usage_id: ids[i],
            open: open[i],
            lot: LiveLot {
                lot_id: lot_ids[i],
                transfer_id: transfers[i],
                available_at: available[i],
                expires_at: expires[i],
                remaining: points[i],
            },
        })
        .collect())
}

async fn refund_snapshot(pool: &Pool, req: &RefundRequest) -> StoreResult<RefundSnapshot> {
    let rows = sqlx::query(&REFUND_SNAPSHOT)
        .bind(req.store_id.get())
        .bind(&req.receipt_id)
        .bind(&req.refund_id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let first = rows.first().ok_or(DomainError::NotFound("purchase"))?;
    let recorded = recorded_refund_from(first, 5)?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        lines.push((
            r.try_get::<i32, _>(9).map_err(db)?,
            RefundableLine {
                line_id: r.try_get(10).map_err(db)?,
                amount: Kopecks::new(r.try_get(11).map_err(db)?),
                earned: Points::new(r.try_get(12).map_err(db)?),
                redeemed: Points::new(r.try_get(13).map_err(db)?),
                refunded: Kopecks::new(r.try_get(14).map_err(db)?),
                taken_back: Points::new(r.try_get(15).map_err(db)?),
                returned: Points::new(r.try_get(16).map_err(db)?),
            },
        ));
    }
    Ok(RefundSnapshot {
        purchase: first.try_get(0).map_err(db)?,
        member: MemberId::new(first.try_get(1).map_err(db)?),
        accrual: first.try_get(2).map_err(db)?,
        balance: first.try_get(3).map_err(db)?,
        version: first.try_get(4).map_err(db)?,
        lines,
        lots: live_lots_from_row(first)?,
        usages: usages_from_row(first)?,
        recorded,
    })
}

/// Two round trips in the common case, as a sale: read the state, plan the return with
/// `kopilka_domain::earning::plan_refund`, write it all in one statement.
pub(crate) async fn refund(
    pool: &Pool,
    system: &SystemIds,
    req: RefundRequest,
) -> StoreResult<RefundOutcome> {
    for _ in 0..MAX_PRICINGS {
        let snap = refund_snapshot(pool, &req).await?;
        if let Some(recorded) = snap.recorded {
            return recorded.replay(&req);
        }
        let state: Vec<RefundableLine> = snap.lines.iter().map(|(_, l)| l.clone()).collect();
        let plan = plan_refund(&state, req.lines.as_deref())?;
        let line_no = |id: &str| {
            snap.lines
                .iter()
                .find(|(_, l)| l.line_id == id)
                .map_or(-1, |(no, _)| *no)
        };
        let taken_back: i64 = plan.iter().map(|s| s.taken_back.get()).sum();
        let returned: i64 = plan.iter().map(|s| s.returned.get()).sum();
        let refunded: i64 = state.iter().map(|l| l.refunded.get()).sum();
        let decided = return_outcome(
            snap.balance,
            &snap.lots,
            &snap.usages,
            returned,
            taken_back,
            snap.accrual,
            req.at,
        );
        let (restores, draws) = (&decided.restores, &decided.draws);
        let written = sqlx::query_as::<_, (bool, Option<bool>)>(&RECORD_RETURN_CALL)
            .bind(req.store_id.get())
            .bind(&req.refund_id)
            .bind(snap.purchase)
            .bind(&req.request_hash)
            .bind(req.at)
            .bind(snap.member.get())
            .bind(&req.receipt_id)
            .bind(snap.version)
            .bind(refunded)
            .bind(plan.iter().map(|s| line_no(&s.line_id)).collect::<Vec<_>>())
            .bind(plan.iter().map(|s| s.amount.get()).collect::<Vec<_>>())
            .bind(plan.iter().map(|s| s.taken_back.get()).collect::<Vec<_>>())
            .bind(plan.iter().map(|s| s.returned.get()).collect::<Vec<_>>())
            .bind(taken_back)
            .bind(returned)
            .bind(restores.iter().map(|r| r.usage_id).collect::<Vec<_>>())
            .bind(restores.iter().map(|r| r.lot_id).collect::<Vec<_>>())
            .bind(restores.iter().map(|r| r.points).collect::<Vec<_>>())
            .bind(draws.iter().map(|d| d.lot_id).collect::<Vec<_>>())
            .bind(draws.iter().map(|d| d.points).collect::<Vec<_>>())
            .bind(decided.available_after)
            .bind(system.for_member(SystemAccount::Redemption, snap.member)?)
            .bind(system.for_member(SystemAccount::Accrual, snap.member)?)
            .bind(MovementKind::Refund.as_str())
            .bind(&req.description)
            .fetch_one(pool)
            .await
            .map(|(stale, recorded)| {
                let balance = recorded.filter(|r| *r).map(|_| decided.available_after);
                Written::from((stale, balance))
            });
        match written {
            Ok(Written::Done(balance)) => {
                return Ok(RefundOutcome {
                    refund_id: req.refund_id,
                    points_taken_back: Points::new(taken_back),
                    points_returned: Points::new(returned),
                    balance: Points::new(balance),
                    replayed: false,
                })
            }
            // Recorded by a concurrent conflicting request with the same refund id meanwhile.
            Ok(Written::Recorded) => {
                return recorded(
                    pool,
                    RECORDED_REFUND,
                    req.store_id,
                    &req.refund_id,
                    recorded_refund_from,
                )
                .await?
                .ok_or(StoreError::NotFound)?
                .replay(&req);
            }
            Ok(Written::Stale) => continue,
            Err(e) => match sql_state(&e).as_deref() {
                Some(codes::DEADLOCK) => continue,
                Some(codes::NO_ACCOUNT) => return Err(StoreError::NotFound),
                _ => return Err(db(e)),
            },
        }
    }
    Err(StoreError::unavailable(
        "too many concurrent returns on one account",
    ))
}
