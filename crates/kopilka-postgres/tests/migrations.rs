//! Upgrades of a database that holds data: a migration that moves rows is checked on rows the
//! schema before it wrote, not only on the empty databases every other test starts from.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::{DateTime, Utc};
use kopilka_store::test_database::{Backend, TestDatabase};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};
use std::path::Path;

/// A database of its own (dropped with the guard), migrated up to `last` (inclusive) from a copy of those migrations:
/// sqlx then finds them applied, with the same checksums, when the whole set runs.
async fn database_at(last: i64) -> (PgConnection, TestDatabase) {
    let database = TestDatabase::fresh(Backend::Postgres).await;
    let mut conn = PgConnection::connect(&database.url).await.unwrap();
    let earlier = tempfile::tempdir().unwrap();
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap();
        let version: i64 = file.split('_').next().unwrap().parse().unwrap();
        if version <= last {
            std::fs::copy(&path, earlier.path().join(file)).unwrap();
        }
    }
    Migrator::new(earlier.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    (conn, database)
}

/// A live lot as migration 17 keeps it: member, lot, transfer, expiry, when available,
/// what it holds.
type LiveLot = (i64, i64, i64, DateTime<Utc>, DateTime<Utc>, i64);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Migration 17 moves what each lot still holds into `live_lots`: a lot with points left
/// keeps them there, with the columns it is drawn and expired by; a spent or expired one
/// (nothing left) has no live row; and `lots.remaining` is gone.
#[tokio::test]
async fn the_points_lots_still_hold_move_to_live_lots() {
    let (mut conn, _database) = database_at(16).await;
    // The ledger's tables declare no foreign keys since migration 9: lots alone will do.
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO lots (member_id, transfer_id, points, remaining, earned_at, expires_at, available_at) \
         VALUES (1, 10, 300, 300, '2026-01-01Z', '2026-04-01Z', 'epoch'), \
                (1, 11, 100, 0, '2026-02-01Z', '2027-02-01Z', 'epoch'), \
                (2, 12, 50, 20, '2026-03-01Z', '2027-03-01Z', '2026-03-15Z') \
         RETURNING id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();

    sqlx::migrate!("./migrations").run(&mut conn).await.unwrap();

    let live: Vec<LiveLot> = sqlx::query_as(
        "SELECT member_id, lot_id, transfer_id, expires_at, available_at, remaining \
         FROM live_lots ORDER BY lot_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        live,
        vec![
            (
                1,
                ids[0],
                10,
                at("2026-04-01T00:00:00Z"),
                DateTime::<Utc>::UNIX_EPOCH,
                300
            ),
            (
                2,
                ids[2],
                12,
                at("2027-03-01T00:00:00Z"),
                at("2026-03-15T00:00:00Z"),
                20
            ),
        ]
    );
    let lots: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lots")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(lots, 3, "what each lot was stays");
    let remaining: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns \
         WHERE table_name = 'lots' AND column_name = 'remaining'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(remaining, 0, "lots.remaining is dropped");
}
