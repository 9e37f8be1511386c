//! What the PostgreSQL crate's test files share.

use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;

/// The test server (see `kopilka_store::test_postgres`: a configured one, the local one, or
/// one of the tests' own).
pub fn server_options() -> PgConnectOptions {
    PgConnectOptions::from_str(&kopilka_store::test_postgres::server_url()).unwrap()
}
