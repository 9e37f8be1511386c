//! The one writer thread and its group commits.

use super::{control, spawn_thread};
use crate::holders::{HolderWatch, OUTSIDE_CHECK};
use crossbeam_channel::RecvTimeoutError;
use kopilka_store::StoreResult;
use rusqlite::Connection;

/// A write: runs inside the writer's transaction (under a savepoint of its own) and says
/// whether it succeeded; the reply it returns is sent only once the transaction committed.
pub(crate) type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
pub(crate) type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Writes committed together at most: enough to share one fsync among a burst of tills,
/// few enough that no write waits long for the others.
const GROUP_COMMIT_MAX: usize = 64;

/// A write waiting for the writer, and whether SQLite should check its foreign keys.
pub(crate) struct Queued {
    pub(crate) job: WriteJob,
    pub(crate) foreign_keys: bool,
}

/// The one writer: takes every write queued at the moment (up to a bound), runs them in one
/// transaction (each under a savepoint of its own when there are several), commits once, then
/// answers them all. Writes that skip the foreign-key checks (bulk writes) are committed one
/// at a time. After each group it tells the cache of card holders which members changed
/// (before anyone hears back), and before each, or after a second idle, whether another
/// process wrote to the file.
pub(crate) fn spawn_writer(
    mut conn: Connection,
    jobs: crossbeam_channel::Receiver<Queued>,
    mut watch: HolderWatch,
) -> StoreResult<()> {
    spawn_thread("sqlite-writer".into(), move || loop {
        let first = match jobs.recv_timeout(OUTSIDE_CHECK) {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => {
                watch.check_outside(&conn);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut next = Some(first);
        while let Some(head) = next.take() {
            watch.check_outside(&conn);
            let foreign_keys = head.foreign_keys;
            let mut batch = vec![head.job];
            // A bulk write (seeding, expiry) is a transaction's worth by itself, and in a
            // group it would run under a savepoint: an in-memory journal of every page it
            // changes, which SQLite walks chunk by chunk to truncate (a seed took twice as
            // long). So it commits alone.
            while foreign_keys && batch.len() < GROUP_COMMIT_MAX {
                match jobs.try_recv() {
                    Ok(q) if q.foreign_keys == foreign_keys => batch.push(q.job),
                    Ok(q) => {
                        next = Some(q);
                        break;
                    }
                    Err(_) => break,
                }
            }
            commit_group(&mut conn, batch, foreign_keys, &watch);
        }
    })
}

fn commit_group(
    conn: &mut Connection,
    batch: Vec<WriteJob>,
    foreign_keys: bool,
    watch: &HolderWatch,
) {
    // The pragma cannot change inside a transaction; between groups none is open.
    if !foreign_keys {
        if let Err(e) = conn.pragma_update(None, "foreign_keys", "OFF") {
            tracing::error!(error = %e, "turning foreign-key checks off");
        }
    }
    let (replies, ending) = run_batch(conn, batch);
    let committed = match ending {
        Ending::Commit => {
            let committed = control(conn, "COMMIT").map_err(|e| e.to_string());
            if committed.is_err() {
                let _ = control(conn, "ROLLBACK");
            }
            committed
        }
        // A lone job failed: undone whole. Its reply carries its own error.
        Ending::RollBack => control(conn, "ROLLBACK").map_err(|e| e.to_string()),
        Ending::Abandon(why) => {
            let _ = control(conn, "ROLLBACK");
            Err(why)
        }
    };
    if !foreign_keys {
        if let Err(e) = conn.pragma_update(None, "foreign_keys", "ON") {
            tracing::error!(error = %e, "turning foreign-key checks back on");
        }
    }
    watch.after_commit();
    for reply in replies {
        reply(committed.clone());
    }
}

/// What becomes of a group's transaction once its jobs have run.
enum Ending {
    /// Every job's writes stand; a failed job's were rolled back to its savepoint.
    Commit,
    /// The group's one job failed (or none could begin): all of it is undone, and the job's
    /// reply carries its own error.
    RollBack,
    /// The transaction could not be kept whole: a savepoint could not be taken, released or
    /// rolled back to, or SQLite ended the transaction itself (a full disk, an I/O error).
    /// All of it is undone and every job hears so, whatever its own result: committing what
    /// is left would keep some of a job's writes (a sale's transfers without its purchase).
    Abandon(String),
}

/// Runs the jobs in one open transaction, each under its own savepoint when there are several
/// (a job alone needs none: if it fails, the whole transaction goes). Returns the replies of
/// the jobs that ran and how the transaction is to end; the jobs not run are dropped, and
/// dropping a job drops its reply channel: its caller hears the write failed.
fn run_batch(conn: &mut Connection, mut batch: Vec<WriteJob>) -> (Vec<Reply>, Ending) {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        return (Vec::new(), Ending::RollBack);
    }
    if batch.len() == 1 {
        if let Some(job) = batch.pop() {
            // A savepoint costs a statement journal of every page it changes; none needed.
            let (ok, reply) = job(conn);
            let ending = if ok { Ending::Commit } else { Ending::RollBack };
            return (vec![reply], ending);
        }
    }
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = control(conn, "SAVEPOINT job") {
            tracing::error!(error = %e, "savepoint");
            return (replies, Ending::Abandon(format!("savepoint: {e}")));
        }
        let (ok, reply) = job(conn);
        replies.push(reply);
        let undone = if ok {
            Ok(())
        } else {
            control(conn, "ROLLBACK TO job")
        };
        if let Err(e) = undone.and_then(|()| control(conn, "RELEASE job")) {
            tracing::error!(error = %e, "ending a savepoint");
            return (replies, Ending::Abandon(format!("ending a savepoint: {e}")));
        }
        if conn.is_autocommit() {
            tracing::error!("the write transaction ended inside a job");
            return (
                replies,
                Ending::Abandon("the write transaction ended".into()),
            );
        }
    }
    (replies, Ending::Commit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A group whose transaction SQLite ended inside a job (as on a full disk) commits
    /// nothing of it, and no job of it hears it was written: committing the rest would keep
    /// part of a job's writes.
    #[test]
    fn a_group_that_loses_its_transaction_commits_none_of_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (x INTEGER); CREATE TABLE members (id INTEGER PRIMARY KEY);
             CREATE TABLE cards (number TEXT PRIMARY KEY, member_id INTEGER);
             CREATE TABLE offer_activations (member_id INTEGER, offer_id INTEGER);",
        )
        .unwrap();
        let cache = kopilka_store::member_cache::MemberCache::new(Duration::from_secs(1), 10);
        let watch = HolderWatch::install(&conn, std::sync::Arc::new(cache)).unwrap();
        let (results, heard) = std::sync::mpsc::channel();
        let job = |sql: &'static str| -> WriteJob {
            let results = results.clone();
            Box::new(move |conn: &Connection| {
                let ok = conn.execute_batch(sql).is_ok();
                let reply: Reply = Box::new(move |committed| {
                    let _ = results.send(committed);
                });
                (ok, reply)
            })
        };
        let batch = vec![
            job("INSERT INTO t VALUES (1)"),
            // What SQLite does on its own after some errors: the transaction is gone.
            job("ROLLBACK"),
            job("INSERT INTO t VALUES (3)"),
        ];
        commit_group(&mut conn, batch, true, &watch);
        drop(results);
        let heard: Vec<_> = heard.iter().collect();
        assert!(
            !heard.is_empty() && heard.iter().all(Result::is_err),
            "{heard:?}"
        );
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "nothing of the group was committed");
        assert!(conn.is_autocommit(), "no transaction left open");
    }
}
