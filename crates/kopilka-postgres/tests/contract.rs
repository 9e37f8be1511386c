//! The store contract (`kopilka_store::contract`) on a fresh PostgreSQL database.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use kopilka_postgres::PostgresStore;
use std::time::Duration;

#[tokio::test]
async fn postgres_keeps_the_store_contract() {
    let name = format!("kopilka_contract_{}", std::process::id());
    let (url, _dropped) = common::fresh_database(&name).await;
    let store = PostgresStore::connect(&url, 4, Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    kopilka_store::contract::run_all(&store).await;
}
