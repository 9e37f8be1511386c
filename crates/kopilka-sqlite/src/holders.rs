//! Scanned cards cached with their holder, so that a till's quote and purchase do not each
//! find the card, the member and the member's offer activations again seconds after its
//! identify did: on SQLite every read starts from an empty page cache (a reader's cache is
//! emptied whenever the writer has committed since its last read), so each is a descent of
//! three B-trees, page by page from the operating system, and a purchase's card lookup was a
//! trip to a reader thread of its own.
//!
//! The cache stays coherent through the one writer. Temporary triggers on the writer's
//! connection (they exist on that connection only) call `kopilka_holder_changed` with the
//! member's id for each row of `members`, `cards` or `offer_activations` that a write updates
//! or deletes, or each activation it adds; after the group's commit, and before any of its
//! writers hears back, the writer forgets those members (`HolderWatch::after_commit`). A new
//! member or card is in no cache, and what a new card changes about the holder's other cards
//! (`make_active`) is an update. Another process writing to the same file is noticed by
//! `PRAGMA data_version` on the writer's connection (it counts other connections' commits
//! only), checked before each group and at least every second; the cache then starts
//! afresh.

use kopilka_domain::member::MemberId;
use kopilka_store::member_cache::MemberCache;
use kopilka_store::CardHolder;
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often an idle writer looks for another process's writes.
pub(crate) const OUTSIDE_CHECK: Duration = Duration::from_secs(1);

const TRIGGERS: &str = "
CREATE TEMP TRIGGER holder_member_updated AFTER UPDATE ON main.members
    BEGIN SELECT kopilka_holder_changed(NEW.id); END;
CREATE TEMP TRIGGER holder_member_deleted AFTER DELETE ON main.members
    BEGIN SELECT kopilka_holder_changed(OLD.id); END;
CREATE TEMP TRIGGER holder_card_updated AFTER UPDATE ON main.cards
    BEGIN SELECT kopilka_holder_changed(OLD.member_id), kopilka_holder_changed(NEW.member_id); END;
CREATE TEMP TRIGGER holder_card_deleted AFTER DELETE ON main.cards
    BEGIN SELECT kopilka_holder_changed(OLD.member_id); END;
CREATE TEMP TRIGGER holder_activation_added AFTER INSERT ON main.offer_activations
    BEGIN SELECT kopilka_holder_changed(NEW.member_id); END;
CREATE TEMP TRIGGER holder_activation_updated AFTER UPDATE ON main.offer_activations
    BEGIN SELECT kopilka_holder_changed(OLD.member_id), kopilka_holder_changed(NEW.member_id); END;
CREATE TEMP TRIGGER holder_activation_deleted AFTER DELETE ON main.offer_activations
    BEGIN SELECT kopilka_holder_changed(OLD.member_id); END;
";

/// The writer's side of the cache: which members its open transaction changed.
pub(crate) struct HolderWatch {
    changed: Arc<Mutex<Vec<MemberId>>>,
    holders: Arc<MemberCache<CardHolder>>,
    /// `None` while it cannot be read: the cache is off until it can.
    data_version: Option<i64>,
}

impl HolderWatch {
    /// Installs the triggers on the writer's connection and turns the cache on.
    pub(crate) fn install(
        conn: &Connection,
        holders: Arc<MemberCache<CardHolder>>,
    ) -> rusqlite::Result<Self> {
        let changed = Arc::new(Mutex::new(Vec::new()));
        let heard = Arc::clone(&changed);
        // Not deterministic, not direct-only: the triggers call it.
        conn.create_scalar_function(
            "kopilka_holder_changed",
            1,
            FunctionFlags::SQLITE_UTF8,
            move |ctx| {
                if let Some(member) = ctx.get::<Option<i64>>(0)?.map(MemberId::new) {
                    heard.lock().unwrap_or_else(|e| e.into_inner()).push(member);
                }
                Ok(rusqlite::types::Null)
            },
        )?;
        conn.execute_batch(TRIGGERS)?;
        let data_version = Some(data_version(conn)?);
        holders.reset(true);
        Ok(Self {
            changed,
            holders,
            data_version,
        })
    }

    /// After a group's transaction ended (committed or not): forgets the members it changed.
    pub(crate) fn after_commit(&self) {
        let changed = std::mem::take(&mut *self.changed.lock().unwrap_or_else(|e| e.into_inner()));
        for member in changed {
            self.holders.forget_member(member);
        }
    }

    /// Starts the cache afresh if another connection (another process) committed since the
    /// last look; if that cannot be told, stops it until it can.
    pub(crate) fn check_outside(&mut self, conn: &Connection) {
        match data_version(conn) {
            Ok(version) if Some(version) == self.data_version => {}
            Ok(version) => {
                if self.data_version.is_some() {
                    tracing::info!("another process wrote to the database: card cache emptied");
                }
                self.data_version = Some(version);
                self.holders.reset(true);
            }
            Err(e) => {
                if self.data_version.take().is_some() {
                    tracing::warn!(error = %e, "cannot read data_version: card cache off");
                }
                self.holders.reset(false);
            }
        }
    }
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holders() -> Arc<MemberCache<CardHolder>> {
        Arc::new(MemberCache::new(Duration::from_secs(60), 100))
    }

    #[test]
    fn the_writer_hears_which_members_its_writes_changed() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("k.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE members (id INTEGER PRIMARY KEY, city TEXT);
             CREATE TABLE cards (number TEXT PRIMARY KEY, member_id INTEGER, status TEXT);
             CREATE TABLE offer_activations (member_id INTEGER, offer_id INTEGER, uses INTEGER,
                 PRIMARY KEY (member_id, offer_id)) WITHOUT ROWID;
             INSERT INTO members VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd');
             INSERT INTO cards VALUES ('c1', 1, 'active'), ('c2', NULL, 'unbound');",
        )
        .unwrap();
        let watch = HolderWatch::install(&conn, holders()).unwrap();
        let heard = |sql: &str| {
            conn.execute_batch(sql).unwrap();
            let mut changed = std::mem::take(&mut *watch.changed.lock().unwrap());
            changed.sort_unstable();
            changed.into_iter().map(MemberId::get).collect::<Vec<_>>()
        };
        assert_eq!(heard("UPDATE members SET city = 'x' WHERE id = 2"), [2]);
        assert_eq!(
            heard("UPDATE cards SET status = 'blocked' WHERE number = 'c1'"),
            [1, 1]
        );
        assert_eq!(
            heard("UPDATE cards SET member_id = 3 WHERE number = 'c2'"),
            [3]
        );
        assert_eq!(heard("INSERT INTO offer_activations VALUES (4, 7, 0)"), [4]);
        assert_eq!(heard("UPDATE offer_activations SET uses = 1"), [4, 4]);
        assert_eq!(heard("DELETE FROM offer_activations"), [4]);
        assert_eq!(heard("DELETE FROM cards WHERE number = 'c1'"), [1]);
        assert!(
            heard("INSERT INTO members VALUES (5, 'e')").is_empty(),
            "in no cache"
        );
    }

    #[test]
    fn another_connections_commit_empties_the_cache() {
        use kopilka_domain::CardNumber;
        use kopilka_store::member_cache::fixtures::holder;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE members (id INTEGER PRIMARY KEY);
                 CREATE TABLE cards (number TEXT PRIMARY KEY, member_id INTEGER);
                 CREATE TABLE offer_activations (member_id INTEGER, offer_id INTEGER);",
            )
            .unwrap();
        let cache = holders();
        let mut watch = HolderWatch::install(&writer, Arc::clone(&cache)).unwrap();
        let number = CardNumber::parse("2600000000017").unwrap();
        let holder = holder(MemberId::new(1), &number);
        let put = || {
            cache.put(
                cache.ticket().unwrap(),
                number.as_str(),
                MemberId::new(1),
                &holder,
            )
        };
        put();
        // The writer's own commits, and the checkpointer's passive checkpoints, are not
        // another process's writes. (A checkpoint that truncates the log would count as one:
        // the cache would only start afresh.)
        writer
            .execute_batch("INSERT INTO members VALUES (1)")
            .unwrap();
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
            .unwrap();
        watch.check_outside(&writer);
        assert!(cache.get(number.as_str()).is_some());
        other
            .execute_batch("INSERT INTO members VALUES (2)")
            .unwrap();
        watch.check_outside(&writer);
        assert!(cache.get(number.as_str()).is_none());
        put();
        assert!(cache.get(number.as_str()).is_some(), "and caches again");
    }
}
