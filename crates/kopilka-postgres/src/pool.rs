//! The store's connections to PostgreSQL.
//!
//! sqlx's own pool pings every connection as it takes it back (a `Sync` and its answer), so
//! that a rollback an abandoned transaction left queued is sent at once. That doubled the
//! round trips of every statement: the app home screen went from 4,400 to 6,200 screens/s
//! without it (docs/PERFORMANCE.md). Here a connection goes straight back to the idle list,
//! unless it may not be clean: a transaction left open, bytes not yet sent (a request
//! cancelled half-way), or a connection-level error seen anywhere while it was out. Such a
//! connection is settled in a task of its own (rolled back or pinged) and dropped if that
//! fails, so a broken or busy connection never reaches the next caller.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgConnectOptions, PgQueryResult, PgRow};
use sqlx::{Connection, Describe, Either, Execute, Executor, PgConnection, Postgres};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long settling a suspect connection may take before it is given up.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections are replaced after this long, so server-side caches do not grow unbounded.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Connection-level errors seen by this process: a connection that was out while one happened
/// is checked before it is reused (the error may have been its own).
static CONNECTION_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Notes an error that may mean a connection is broken (I/O, protocol), as opposed to an error
/// the server answered with, after which the connection is fine.
pub(crate) fn note_error(e: &sqlx::Error) {
    let connection_fine = match e {
        // The server closing the connection (shut down, backend terminated) says so first.
        sqlx::Error::Database(d) => !d
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_) => true,
        _ => false,
    };
    if !connection_fine {
        CONNECTION_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

struct Idle {
    conn: PgConnection,
    opened: Instant,
}

struct Shared {
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl Shared {
    fn put_back(&self, conn: PgConnection, opened: Instant) {
        if opened.elapsed() < MAX_LIFETIME {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Idle { conn, opened });
        }
    }
}

/// At most `max_connections` connections, opened when first needed and reused newest first.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("available", &self.shared.permits.available_permits())
            .finish()
    }
}

impl Pool {
    pub fn new(options: PgConnectOptions, max_connections: u32, acquire_timeout: Duration) -> Self {
        let permits = usize::try_from(max_connections.max(1)).unwrap_or(1);
        Self {
            shared: Arc::new(Shared {
                options,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(permits)),
                acquire_timeout,
            }),
        }
    }

    /// A connection of one's own until the returned handle is dropped.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let shared = &self.shared;
        let deadline = tokio::time::Instant::now() + shared.acquire_timeout;
        let permit = tokio::time::timeout_at(deadline, shared.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let errors_before = CONNECTION_ERRORS.load(Ordering::Relaxed);
        let idle = shared.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (conn, opened) = match idle {
            Some(idle) => (idle.conn, idle.opened),
            None => {
                let conn =
                    tokio::time::timeout_at(deadline, PgConnection::connect_with(&shared.options))
                        .await
                        .map_err(|_| sqlx::Error::PoolTimedOut)??;
                (conn, Instant::now())
            }
        };
        Ok(Conn {
            conn: Some(conn),
            opened,
            permit: Some(permit),
            shared: Arc::clone(shared),
            in_transaction: false,
            errors_before,
        })
    }

    /// A transaction on a connection of its own: rolled back unless committed.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let mut conn = self.acquire().await?;
        // Marked first: if BEGIN is cancelled half-way, the connection is rolled back.
        conn.in_transaction = true;
        conn.execute("BEGIN").await?;
        Ok(Tx { conn })
    }

    /// A read-only transaction whose statements all see one snapshot.
    pub async fn begin_snapshot(&self) -> Result<Tx, sqlx::Error> {
        let mut tx = self.begin().await?;
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        Ok(tx)
    }
}

/// A connection taken from the pool; it goes back when dropped.
pub struct Conn {
    conn: Option<PgConnection>,
    opened: Instant,
    permit: Option<OwnedSemaphorePermit>,
    shared: Arc<Shared>,
    in_transaction: bool,
    errors_before: u64,
}

impl Deref for Conn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a connection until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let (Some(mut conn), Some(permit)) = (self.conn.take(), self.permit.take()) else {
            return;
        };
        let rollback = self.in_transaction;
        let suspect = rollback
            || conn.should_flush()
            || CONNECTION_ERRORS.load(Ordering::Relaxed) != self.errors_before;
        if !suspect {
            self.shared.put_back(conn, self.opened);
            drop(permit);
            return;
        }
        // Without a runtime (shutting down) the connection is simply closed.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (shared, opened) = (Arc::clone(&self.shared), self.opened);
        runtime.spawn(async move {
            let settle = async {
                if rollback {
                    conn.execute("ROLLBACK").await.map(drop)
                } else {
                    conn.ping().await
                }
            };
            if let Ok(Ok(())) = tokio::time::timeout(SETTLE_TIMEOUT, settle).await {
                shared.put_back(conn, opened);
            }
            drop(permit);
        });
    }
}

/// An open transaction; dropped without `commit`, it is rolled back before its connection
/// is used again.
pub struct Tx {
    conn: Conn,
}

impl Tx {
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("COMMIT").await?;
        self.conn.in_transaction = false;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// A statement run on the pool takes a connection for itself alone, as with sqlx's pool.
impl<'p> Executor<'p> for &'_ Pool {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let pool = self.clone();
        // Collected while the connection is held: every caller here reads all of it anyway.
        let all = async move {
            let mut conn = pool.acquire().await?;
            let rows: Result<Vec<_>, _> = conn.fetch_many(query).try_collect().await;
            if let Err(e) = &rows {
                note_error(e);
            }
            rows
        };
        futures_util::stream::once(all)
            .map_ok(|rows| futures_util::stream::iter(rows.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let row = conn.fetch_optional(query).await;
            if let Err(e) = &row {
                note_error(e);
            }
            row
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::postgres::PgTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::postgres::PgStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.describe(sql).await })
    }
}
