//! What the PostgreSQL crate's test files share.

use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;

/// The test server: `KOPILKA_TEST_POSTGRES_URL`, or the local one CI starts.
pub fn server_options() -> PgConnectOptions {
    let url = std::env::var("KOPILKA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    PgConnectOptions::from_str(&url).unwrap()
}
