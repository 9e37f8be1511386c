//! What the server's test binaries share.

/// The PostgreSQL server the tests create their databases on (see
/// `kopilka_store::test_postgres`: a configured one, the local one, or one of their own).
pub fn postgres_admin_url() -> String {
    kopilka_store::test_postgres::server_url()
}
