//! The database runs the functions in `functions/`, exactly as the files say, however many
//! nodes start at once.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use kopilka_postgres::functions::{body, FUNCTIONS};
use kopilka_postgres::PostgresStore;
use kopilka_store::test_database::{Backend, TestDatabase};
use std::time::Duration;

#[tokio::test]
async fn the_database_runs_the_functions_in_the_files() {
    let database = TestDatabase::fresh(Backend::Postgres).await;
    // Four nodes starting together: each migrates and applies the functions.
    let connect = || PostgresStore::connect(&database.url, 2, Duration::ZERO, Duration::ZERO);
    let (a, b, c, d) = tokio::join!(connect(), connect(), connect(), connect());
    for store in [a, b, c, d] {
        store.unwrap();
    }
    let store = connect().await.unwrap();
    for (function, sql) in FUNCTIONS {
        let running: Vec<String> =
            sqlx::query_scalar("SELECT prosrc FROM pg_proc WHERE proname = $1")
                .bind(function)
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(running.len(), 1, "{function}: one definition, no overloads");
        assert_eq!(running[0], body(sql).unwrap(), "{function}");
    }
    // And no function of ours that no file defines.
    let ours: Vec<String> = sqlx::query_scalar(
        "SELECT proname::text FROM pg_proc WHERE proname LIKE 'kopilka\\_%' ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut files: Vec<String> = FUNCTIONS.iter().map(|(n, _)| (*n).to_owned()).collect();
    files.sort();
    assert_eq!(ours, files);
}
