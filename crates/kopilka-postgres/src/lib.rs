//! The production store: PostgreSQL through sqlx. Write transactions run in their own task,
//! so a client that disconnects cannot drop one half-way and return its connection to the
//! pool inside an open transaction.

mod approvals;
mod auth;
mod cards;
mod catalog;
pub mod codes;
mod employee_messages;
mod employees;
pub mod functions;
mod ledger;
mod marketing;
mod member_cache;
mod members;
mod pool;
mod pos;
mod posting;
mod privacy;
mod purchases;
mod receipts;
mod reports;
mod sale_state;
mod support;

use kopilka_store::{StoreError, StoreResult};
pub use pool::Pool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// The system accounts' ids, made by the migrations and fixed thereafter: a purchase
    /// need not look them up.
    system: posting::SystemIds,
    caches: Arc<member_cache::MemberCaches>,
    /// What the till's identify and quote read for the purchase that follows them.
    sale_states: Arc<sale_state::SaleStates>,
}

impl PostgresStore {
    /// Connects, migrates and applies the functions. Customer sessions are cached for `session_cache` at most, and
    /// scanned cards with their holder for `card_cache` (zero: not cached), coherently
    /// across nodes (`member_cache` module); the state a till's quote read is kept as long
    /// for its purchase (`sale_state` module).
    pub async fn connect(
        url: &str,
        max_connections: u32,
        session_cache: Duration,
        card_cache: Duration,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::unavailable_while("reading the PostgreSQL URL", e))?
            .application_name("kopilka");
        let pool = Pool::new(options.clone(), max_connections, Duration::from_secs(10));
        let mut conn = pool.acquire().await.map_err(db)?;
        sqlx::migrate!("./migrations")
            .run(&mut *conn)
            .await
            .map_err(|e| StoreError::unavailable_while("migrating", e))?;
        functions::apply(&mut conn).await?;
        let filled = members::fill_search_keys(&mut conn).await?;
        if filled > 0 {
            tracing::info!(filled, "search keys (names, cities) filled in");
        }
        drop(conn);
        let system = posting::SystemIds::load(&pool).await?;
        let caches = Arc::new(member_cache::MemberCaches::new(session_cache, card_cache));
        // The listener's own connection, outside the pool (sqlx's listener reconnects itself).
        let listener = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options);
        member_cache::spawn_listener(listener, &caches);
        Ok(Self {
            pool,
            system,
            caches,
            sale_states: Arc::new(sale_state::SaleStates::new(card_cache)),
        })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Four pool connections per core of this machine, sized for a PostgreSQL on cores like these
/// (on the same host, as on one machine, or a server of the same size). More backends than
/// that only take turns on the cores: on two cores shared with the server, 8 connections did
/// 7% more till sales than 16, 7% more app screens, 10–16% more of both at once, and 4 did
/// fewer (docs/PERFORMANCE.md). A database server with more cores than
/// a node wants `KOPILKA_PG_MAX_CONNECTIONS` raised.
pub fn default_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    4 * u32::try_from(cores).unwrap_or(u32::MAX / 4)
}

/// Runs a write to its end in its own task, whatever happens to the request that asked.
pub(crate) async fn detached<R: Send + 'static>(
    work: impl Future<Output = StoreResult<R>> + Send + 'static,
) -> StoreResult<R> {
    tokio::spawn(work)
        .await
        .map_err(|e| StoreError::backend_while("a write task", e))?
}

pub(crate) fn db(e: sqlx::Error) -> StoreError {
    pool::note_error(&e);
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(match d.constraint() {
                Some("members_phone_key") => "phone",
                Some("cards_number_key") => "card_number",
                Some("staff_login_key" | "employees_login_key") => "login",
                Some("document_requests_verify_code_key") => "verify_code",
                Some("sessions_token_hash_key") => "token",
                _ => "unique",
            })
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::unavailable(e)
        }
        _ => StoreError::backend(e),
    }
}

#[cfg(test)]
mod applied_migrations {
    #[test]
    fn no_applied_migration_changed() {
        kopilka_store::migrations::assert_unchanged(std::path::Path::new(env!(
            "CARGO_MANIFEST_DIR"
        )));
    }
}
