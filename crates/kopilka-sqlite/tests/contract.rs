//! The store contract (`kopilka_store::contract`) on a fresh SQLite file.

use kopilka_sqlite::{SqliteOptions, SqliteStore};
use kopilka_store::test_database::{Backend, TestDatabase};

#[tokio::test]
async fn sqlite_keeps_the_store_contract() {
    let database = TestDatabase::fresh(Backend::Sqlite).await;
    let path = database.sqlite_path().expect("a file");
    let store = SqliteStore::open(&path, &SqliteOptions::default()).expect("a fresh database");
    kopilka_store::contract::run_all(&store).await;
}
