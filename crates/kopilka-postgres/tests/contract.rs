//! The store contract (`kopilka_store::contract`) on a fresh PostgreSQL database.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use kopilka_postgres::PostgresStore;
use kopilka_store::test_database::{Backend, TestDatabase};
use std::time::Duration;

#[tokio::test]
async fn postgres_keeps_the_store_contract() {
    let database = TestDatabase::fresh(Backend::Postgres).await;
    let store = PostgresStore::connect(&database.url, 4, Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    kopilka_store::contract::run_all(&store).await;
}
