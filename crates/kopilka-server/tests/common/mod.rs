//! What the server's test binaries share.

/// The PostgreSQL server the tests create their databases on: `KOPILKA_TEST_POSTGRES_URL`,
/// or the local one CI starts.
pub fn postgres_admin_url() -> String {
    std::env::var("KOPILKA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}
