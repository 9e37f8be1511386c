//! The embedded store: one SQLite file in WAL mode. All writes go through one thread that owns
//! the only writing connection (SQLite admits one writer at a time anyway, and a queue is
//! cheaper than lock retries); reads go to a few reader threads with their own connections.
//! Jobs run on those threads, not on the async workers, and a client that disconnects cannot
//! cancel a transaction half-way: the job runs to its end whatever happens to the caller.

mod approvals;
mod auth;
mod cards;
mod catalog;
mod employee_messages;
mod employees;
mod holders;
mod ledger;
mod marketing;
mod members;
mod pos;
mod posting;
mod privacy;
mod purchases;
mod receipts;
mod reports;
mod support;
mod writer;

use chrono::{DateTime, Utc};
use kopilka_store::member_cache::{MemberCache, MAX_CARDS};
use kopilka_store::{CardHolder, StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use tokio::sync::oneshot;
use writer::{Queued, Reply, WriteJob};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// `PRAGMA synchronous`: `full` survives power loss, `normal` only a crash of the process.
    pub synchronous: String,
    /// Reader threads, each with its own connection (`default_readers()` by default).
    pub readers: usize,
    /// Page cache of each connection, MiB. SQLite's own 2 MiB stays the default: 64 MiB
    /// gained nothing at 10 M members, nor 32 or 128 MiB for the writer alone, which cut its
    /// reads but not the till's time (docs/PERFORMANCE.md), and a cache costs memory.
    pub cache_mib: u32,
    /// How long a scanned card is cached with its holder (zero: not cached); see `holders`.
    pub card_cache: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: "full".to_owned(),
            readers: default_readers(),
            cache_mib: 2,
            card_cache: Duration::from_secs(30),
        }
    }
}

/// Two reader threads per core. Reads on warm pages are all CPU, so the number of readers
/// sets how the cores are shared between the app's reads and the writer every sale waits
/// for. On two cores, with tills and the app at once (the bench's mixed run), four readers
/// served 10% more app screens than two and as many sales; two served 15% more sales with
/// tills alone (docs/PERFORMANCE.md). A chain's peak has both.
pub fn default_readers() -> usize {
    2 * thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(Clone)]
pub struct SqliteStore {
    writer: crossbeam_channel::Sender<Queued>,
    readers: crossbeam_channel::Sender<Job>,
    /// Held only to be dropped: the checkpointer stops when the last clone is gone.
    _checkpointer: crossbeam_channel::Sender<()>,
    /// Bound cards by number, with their holder and the holder's offer activations.
    holders: Arc<MemberCache<CardHolder>>,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../migrations/0001_identity.sql")),
        M::up(include_str!("../migrations/0002_pos.sql")),
        M::up(include_str!("../migrations/0003_marketing.sql")),
        M::up(include_str!("../migrations/0004_expiry_order.sql")),
        M::up(include_str!("../migrations/0005_one_purchase_index.sql")),
        M::up(include_str!("../migrations/0006_live_lots_covered.sql")),
        M::up(include_str!("../migrations/0007_security.sql")),
        M::up(include_str!("../migrations/0008_personal_data.sql")),
        M::up(include_str!("../migrations/0009_employees.sql")),
        M::up(include_str!("../migrations/0010_employee_messages.sql")),
        M::up(include_str!("../migrations/0011_adjustment_requests.sql")),
        M::up(include_str!("../migrations/0012_member_search.sql")),
        M::up(include_str!("../migrations/0013_name_keys_to_fill.sql")),
        M::up(include_str!("../migrations/0014_card_batches.sql")),
        M::up(include_str!("../migrations/0015_targeting.sql")),
        M::up(include_str!("../migrations/0016_reports.sql")),
        M::up(include_str!(
            "../migrations/0017_product_index_by_rowid.sql"
        )),
    ])
}

/// `sqlite://kopilka.db`, `sqlite:kopilka.db` or `sqlite:///var/lib/kopilka.db` to a path.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn open_connection(
    path: &Path,
    options: &SqliteOptions,
    write: bool,
) -> rusqlite::Result<Connection> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let cache_kib = i64::from(options.cache_mib) * 1024;
    // Negative: a size in KiB rather than in pages.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    if write {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", &options.synchronous)?;
    }
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Starts one of the store's own threads (the writer, a reader, the checkpointer).
fn spawn_thread(name: String, body: impl FnOnce() + Send + 'static) -> StoreResult<()> {
    thread::Builder::new()
        .name(name)
        .spawn(body)
        .map(|_| ())
        .map_err(|e| StoreError::unavailable_while("starting a database thread", e))
}

/// A reader: each job runs in one read transaction, so all its statements see one snapshot
/// (a balance and the history beside it agree), and the page cache, which SQLite empties
/// when it finds another connection committed since, is refilled once per job rather than
/// once per statement.
fn spawn_reader(
    name: String,
    mut conn: Connection,
    jobs: crossbeam_channel::Receiver<Job>,
) -> StoreResult<()> {
    spawn_thread(name, move || {
        for job in jobs {
            if let Err(e) = control(&conn, "BEGIN") {
                tracing::error!(error = %e, "cannot begin a read transaction");
            }
            job(&mut conn);
            // Whatever the job did, the next one starts outside any transaction: a reader
            // left inside one would serve that old snapshot for good and keep the WAL from
            // being reused. A read changes nothing, so a rollback loses nothing.
            if !conn.is_autocommit() && control(&conn, "COMMIT").is_err() {
                let _ = control(&conn, "ROLLBACK");
            }
        }
    })
}

/// How often the checkpointer copies committed pages from the WAL into the database file:
/// every `CHECKPOINT_EVERY` at the longest and every `CHECKPOINT_EVERY_MIN` at the shortest,
/// more often while checkpoints are slow (see `next_checkpoint_in`).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
const CHECKPOINT_EVERY_MIN: std::time::Duration = std::time::Duration::from_millis(20);
/// A checkpoint slower than this halves the interval; one quicker than `CHECKPOINT_QUICK`
/// doubles it again.
const CHECKPOINT_SLOW: std::time::Duration = std::time::Duration::from_millis(4);
const CHECKPOINT_QUICK: std::time::Duration = std::time::Duration::from_millis(2);
/// WAL pages past which the writer checkpoints itself after a commit (SQLite's
/// `wal_autocheckpoint`, 1,000 by default).
const WRITER_CHECKPOINT_PAGES: i64 = 16_384;

/// Checkpoints on a thread of its own, so the writer (the one thread every write waits for)
/// spends no time copying pages and syncing the database file (5% of its time in the till).
/// A passive checkpoint never waits for, nor holds up, the writer or a reader; but while
/// writes follow each other without a pause it never catches up with them, and the WAL,
/// which SQLite only starts afresh once every frame is copied, would grow without end. So
/// past `WRITER_CHECKPOINT_PAGES` the writer still checkpoints itself, between two groups,
/// copying only what this thread has not copied yet.
fn spawn_checkpointer(conn: Connection, stop: crossbeam_channel::Receiver<()>) -> StoreResult<()> {
    spawn_thread("sqlite-checkpointer".into(), move || {
        let mut every = CHECKPOINT_EVERY;
        while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
            let started = std::time::Instant::now();
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "checkpoint");
            }
            every = next_checkpoint_in(every, started.elapsed());
        }
    })
}

/// The interval until the next checkpoint, given the last one's and how long that checkpoint
/// took. A slow checkpoint has many scattered pages to write and sync (a large database,
/// where each sale dirties pages of its own); the writer's next commit syncs the WAL behind
/// them on the same disk, and every sale in that commit waits. Checkpointing more often
/// keeps each one small: at 1 M members the till's p99 fell from 66–68 to 23–25 ms. A small
/// database's few hot pages are rewritten by every commit, so copying them less often spares
/// the disk: at 10 k members a fixed 20 ms interval cost 5% of the till's throughput, this
/// rule nothing measurable.
fn next_checkpoint_in(
    every: std::time::Duration,
    took: std::time::Duration,
) -> std::time::Duration {
    if took > CHECKPOINT_SLOW {
        (every / 2).max(CHECKPOINT_EVERY_MIN)
    } else if took < CHECKPOINT_QUICK {
        (every * 2).min(CHECKPOINT_EVERY)
    } else {
        every
    }
}

/// Runs a transaction-control statement (the writer's and the readers') from the
/// connection's statement cache: `execute_batch` would parse it again for every job.
pub(crate) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path, options: &SqliteOptions) -> StoreResult<Self> {
        let mut writer_conn = open_connection(path, options, true).map_err(unavailable)?;
        migrations().to_latest(&mut writer_conn).map_err(|e| {
            StoreError::unavailable_while(format!("migrating {}", path.display()), e)
        })?;
        let filled = members::fill_search_keys(&writer_conn)?;
        if filled > 0 {
            tracing::info!(filled, "search keys (names, cities) filled in");
        }
        // Mostly the checkpointer's job; the writer's only when writes follow each other
        // so closely that the checkpointer cannot catch up.
        writer_conn
            .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(unavailable)?;
        // Each job of a group commit runs under a savepoint, whose statement journal keeps
        // the first image of every page the job changes until it is released; one sale's
        // pages pass 64 KiB, past which SQLite spilled the journal to a temporary file (one
        // for each group), a `pwrite` a page. In memory it is a copy: the till did 17% more.
        // Bulk writes commit alone, without a savepoint, so their statements' journals stay
        // small (`kopilka expire` peaked at 27 MiB over 1 M lots). Set after the migrations:
        // it also keeps sorts in memory, and a migration may sort a whole table for an index.
        writer_conn
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(unavailable)?;
        let holders = Arc::new(MemberCache::new(options.card_cache, MAX_CARDS));
        let watch = holders::HolderWatch::install(&writer_conn, Arc::clone(&holders))
            .map_err(unavailable)?;
        let (writer, writer_jobs) = crossbeam_channel::unbounded::<Queued>();
        writer::spawn_writer(writer_conn, writer_jobs, watch)?;
        let (checkpointer, stop) = crossbeam_channel::bounded(0);
        spawn_checkpointer(
            open_connection(path, options, true).map_err(unavailable)?,
            stop,
        )?;
        let (readers, reader_jobs) = crossbeam_channel::unbounded::<Job>();
        for i in 0..options.readers.max(1) {
            let conn = open_connection(path, options, false).map_err(unavailable)?;
            spawn_reader(format!("sqlite-reader-{i}"), conn, reader_jobs.clone())?;
        }
        Ok(Self {
            writer,
            readers,
            _checkpointer: checkpointer,
            holders,
        })
    }

    async fn run<R: Send + 'static>(
        queue: &crossbeam_channel::Sender<Job>,
        f: impl FnOnce(&mut Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        queue
            .send(Box::new(move |conn| {
                let _ = reply.send(f(conn));
            }))
            .map_err(|_| StoreError::unavailable("database thread stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::unavailable("database thread stopped"))?
    }

    /// Runs `f` as one atomic write: its changes commit if it returns `Ok` and vanish if it
    /// returns `Err`. Writes queued together share one commit (group commit); the answer
    /// comes only after that commit is durable.
    pub(crate) async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.queue_write(f, true).await
    }

    /// `write` without SQLite's foreign-key checks, for bulk writes (expiry, seeding) where
    /// every id written was read from its parent row, or just inserted into it, in the same
    /// transaction, so no check can fail: SQLite checks each inserted row's references one
    /// lookup at a time, which is half the cost of such a statement. The integration suite
    /// runs `PRAGMA foreign_key_check`.
    pub(crate) async fn write_with_references_read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.queue_write(f, false).await
    }

    async fn queue_write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        foreign_keys: bool,
    ) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        let job: WriteJob = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let send: Reply = Box::new(move |committed| {
                let _ = reply.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::unavailable_while("committing", e)),
                });
            });
            (ok, send)
        });
        self.writer
            .send(Queued { job, foreign_keys })
            .map_err(|_| StoreError::unavailable("database thread stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::unavailable("database thread stopped"))?
    }

    /// Runs `f` on a reader connection, in one read transaction: one snapshot for all of it.
    pub(crate) async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        Self::run(&self.readers, move |conn| f(conn)).await
    }
}

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(err, Some(msg)) = &e {
        if err.code == rusqlite::ErrorCode::ConstraintViolation && msg.starts_with("UNIQUE") {
            return StoreError::Conflict(unique_name(msg));
        }
    }
    StoreError::backend(e)
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::unavailable(e)
}

/// Maps SQLite's "UNIQUE constraint failed: table.column" to the names the service knows.
fn unique_name(msg: &str) -> &'static str {
    match msg.rsplit(": ").next().unwrap_or("") {
        "members.phone" => "phone",
        "cards.number" => "card_number",
        "staff.login" | "employees.login" => "login",
        "document_requests.verify_code" => "verify_code",
        "sessions.token_hash" => "token",
        _ => "unique",
    }
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// `query_row` that treats "no rows" as `None`.
pub(crate) fn optional<T>(r: rusqlite::Result<T>) -> StoreResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(backend(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            path_from_url("sqlite://kopilka.db"),
            Some(PathBuf::from("kopilka.db"))
        );
        assert_eq!(
            path_from_url("sqlite:///tmp/k.db?mode=rwc"),
            Some(PathBuf::from("/tmp/k.db"))
        );
        assert_eq!(path_from_url("sqlite::memory:"), None);
        assert_eq!(path_from_url("postgres://x"), None);
    }

    /// Writes that arrive together commit together, but one that fails takes only its own
    /// changes back.
    fn audit() -> kopilka_store::NewAuditEntry {
        kopilka_store::NewAuditEntry {
            actor: "cli".into(),
            action: "staff.create".into(),
            subject: "staff:".into(),
            details: "{}".into(),
            at: chrono::Utc::now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_in_a_group_commit_undoes_only_itself() {
        use kopilka_store::{Staff, StoreError};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), &SqliteOptions::default()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = store.clone();
            // Twenty logins, each twice: one of each pair must fail on the unique login.
            tasks.push(tokio::spawn(async move {
                store
                    .create_staff(
                        &format!("login{}", i % 20),
                        "hash",
                        &[],
                        chrono::Utc::now(),
                        audit(),
                    )
                    .await
            }));
        }
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => created += 1,
                Err(StoreError::Conflict("login")) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(created, 20);
        for i in 0..20 {
            assert!(store
                .staff_by_login(&format!("login{i}"))
                .await
                .unwrap()
                .is_some());
        }
        assert_eq!(staff_rows(&store).await, 20);
    }

    async fn staff_rows(store: &SqliteStore) -> i64 {
        store
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0))
                    .map_err(backend)
            })
            .await
            .unwrap()
    }

    /// Every statement of one read sees the same snapshot, even when a write commits between
    /// two of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_sees_one_snapshot_throughout() {
        use kopilka_store::Staff;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), &SqliteOptions::default()).unwrap();
        let (first_read, wait_for_first) = std::sync::mpsc::channel();
        let (written, wait_for_write) = std::sync::mpsc::channel();
        let reading = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .read(move |c| {
                        let count = |c: &Connection| {
                            c.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get::<_, i64>(0))
                                .map_err(backend)
                        };
                        let before = count(c)?;
                        first_read.send(()).unwrap();
                        wait_for_write.recv().unwrap();
                        Ok((before, count(c)?))
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || wait_for_first.recv().unwrap())
            .await
            .unwrap();
        store
            .create_staff("late", "hash", &[], chrono::Utc::now(), audit())
            .await
            .unwrap();
        written.send(()).unwrap();
        assert_eq!(reading.await.unwrap().unwrap(), (0, 0));
        assert_eq!(staff_rows(&store).await, 1, "the next read sees the write");
    }

    #[tokio::test]
    async fn a_failed_write_alone_leaves_nothing_behind() {
        use kopilka_store::StoreError;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), &SqliteOptions::default()).unwrap();
        let failed = store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO staff (login, password_hash, roles, created_at) VALUES ('a', 'h', '', 0)",
                    [],
                )
                .map_err(backend)?;
                Err::<(), _>(StoreError::Conflict("login"))
            })
            .await;
        assert!(matches!(failed, Err(StoreError::Conflict("login"))));
        assert_eq!(staff_rows(&store).await, 0);
    }

    /// The writer leaves checkpoints to the checkpointer: committed pages reach the database
    /// file from the WAL without the writer copying them.
    #[tokio::test]
    async fn committed_pages_reach_the_database_file_in_the_background() {
        use kopilka_store::Staff;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
        // Let the checkpointer copy what the migrations wrote, then write more.
        tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        let before = std::fs::metadata(&path).unwrap().len();
        let padding = "x".repeat(2000);
        for i in 0..200 {
            store
                .create_staff(
                    &format!("login{i}"),
                    &padding,
                    &[],
                    chrono::Utc::now(),
                    audit(),
                )
                .await
                .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("k.db-wal"))
            .unwrap()
            .len();
        assert!(wal > 400_000, "the writes are in the WAL: {wal} bytes");
        tokio::time::sleep(CHECKPOINT_EVERY * 5).await;
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(
            after >= before + 400_000,
            "the database file grew from {before} to {after} bytes only"
        );
    }

    #[test]
    fn slow_checkpoints_come_more_often_and_quick_ones_less() {
        let ms = std::time::Duration::from_millis;
        assert_eq!(next_checkpoint_in(ms(100), ms(11)), ms(50));
        assert_eq!(next_checkpoint_in(ms(25), ms(11)), CHECKPOINT_EVERY_MIN);
        assert_eq!(next_checkpoint_in(ms(50), ms(3)), ms(50));
        assert_eq!(next_checkpoint_in(ms(20), ms(1)), ms(40));
        assert_eq!(next_checkpoint_in(ms(80), ms(1)), CHECKPOINT_EVERY);
    }

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
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
