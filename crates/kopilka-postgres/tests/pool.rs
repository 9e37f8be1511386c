//! The pool hands connections back without a round trip; these check that nothing an earlier
//! user left behind reaches the next one. Each test uses a pool of one connection, so the next
//! statement runs on the very connection the previous user had.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::server_options;
use kopilka_postgres::Pool;
use sqlx::{Executor, Row};
use std::time::Duration;

fn pool_of_one() -> Pool {
    Pool::new(server_options(), 1, Duration::from_secs(5))
}

async fn backend_pid(pool: &Pool) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_transaction_dropped_uncommitted_is_rolled_back_before_reuse() {
    let pool = pool_of_one();
    let pid = backend_pid(&pool).await;
    {
        let mut tx = pool.begin().await.unwrap();
        tx.execute("CREATE TEMPORARY TABLE t (x INT)")
            .await
            .unwrap();
        tx.execute("INSERT INTO t VALUES (1)").await.unwrap();
    }
    // The same connection (a temporary table lives as long as it), outside any transaction,
    // and without the table the abandoned transaction created.
    assert_eq!(backend_pid(&pool).await, pid);
    let in_transaction: bool =
        sqlx::query_scalar("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!in_transaction);
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('pg_temp.t')::TEXT")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(table, None);
}

#[tokio::test]
async fn a_committed_transaction_stays() {
    let pool = pool_of_one();
    let mut tx = pool.begin().await.unwrap();
    tx.execute("CREATE TEMPORARY TABLE t (x INT)")
        .await
        .unwrap();
    tx.execute("INSERT INTO t VALUES (7)").await.unwrap();
    tx.commit().await.unwrap();
    let x: i32 = sqlx::query_scalar("SELECT x FROM t")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(x, 7);
}

#[tokio::test]
async fn a_statement_cancelled_half_way_leaves_no_answer_for_the_next() {
    let pool = pool_of_one();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        sqlx::query("SELECT 1 AS n, pg_sleep(0.3)").fetch_one(&pool),
    )
    .await;
    assert!(cancelled.is_err(), "the slow statement should be cut off");
    let row = sqlx::query("SELECT 2 AS n").fetch_one(&pool).await.unwrap();
    assert_eq!(row.get::<i32, _>("n"), 2);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced() {
    let pool = pool_of_one();
    let pid = backend_pid(&pool).await;
    let other = Pool::new(server_options(), 1, Duration::from_secs(5));
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&other)
        .await
        .unwrap();
    // The first statement after fails with the connection; the next gets a new one.
    let _ = sqlx::query("SELECT 1").execute(&pool).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .expect("a fresh connection");
    assert_ne!(again, pid);
}

#[tokio::test]
async fn a_caller_waits_for_the_connection_in_use_and_times_out() {
    let pool = Pool::new(server_options(), 1, Duration::from_millis(200));
    let held = pool.acquire().await.unwrap();
    assert!(matches!(
        pool.acquire().await.err(),
        Some(sqlx::Error::PoolTimedOut)
    ));
    drop(held);
    assert!(pool.acquire().await.is_ok());
}
