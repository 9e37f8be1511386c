//! The store contract (`kopilka_store::contract`) on a fresh SQLite file.

use kopilka_sqlite::{SqliteOptions, SqliteStore};

#[tokio::test]
async fn sqlite_keeps_the_store_contract() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = SqliteStore::open(&dir.path().join("contract.db"), &SqliteOptions::default())
        .expect("a fresh database");
    kopilka_store::contract::run_all(&store).await;
}
