//! The database's functions, one file each in `functions/`, applied with `CREATE OR REPLACE`
//! after the migrations on every start. What the database runs is what the files say; a change
//! to a function is a change to its file, never another copy of it in a migration (the copies
//! in migrations before this module are history, replaced at every start).

use crate::db;
use kopilka_store::{StoreError, StoreResult};
use sqlx::{Connection, PgConnection};

/// Each function's name and its file, in the order they are applied.
pub const FUNCTIONS: &[(&str, &str)] = &[
    (
        "kopilka_account_version",
        include_str!("../functions/kopilka_account_version.sql"),
    ),
    (
        "kopilka_audit_log_append_only",
        include_str!("../functions/kopilka_audit_log_append_only.sql"),
    ),
    (
        "kopilka_draw_lots",
        include_str!("../functions/kopilka_draw_lots.sql"),
    ),
    (
        "kopilka_notify_member_changed",
        include_str!("../functions/kopilka_notify_member_changed.sql"),
    ),
    (
        "kopilka_notify_member_rows_changed",
        include_str!("../functions/kopilka_notify_member_rows_changed.sql"),
    ),
    (
        "kopilka_post",
        include_str!("../functions/kopilka_post.sql"),
    ),
    (
        "kopilka_record_return",
        include_str!("../functions/kopilka_record_return.sql"),
    ),
    (
        "kopilka_record_sale",
        include_str!("../functions/kopilka_record_sale.sql"),
    ),
];

/// An advisory lock of our own: nodes starting together apply the functions one at a time
/// (two concurrent `CREATE OR REPLACE` of one function fail with "tuple concurrently
/// updated").
const APPLY_LOCK: i64 = 0x6b6f_7069_6c6b_6166;

pub(crate) async fn apply(conn: &mut PgConnection) -> StoreResult<()> {
    let mut tx = conn.begin().await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPLY_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    for (name, sql) in FUNCTIONS {
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unavailable_while(format!("applying {name}"), e))?;
    }
    tx.commit().await.map_err(db)
}

/// The body of a function's file between its `$$` quotes: what PostgreSQL keeps as the
/// function's source (`pg_proc.prosrc`).
pub fn body(sql: &str) -> Option<&str> {
    let start = sql.find("$$")? + 2;
    let end = start + sql[start..].find("$$")?;
    Some(&sql[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_listed_once_and_defines_its_function() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("functions");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let listed: Vec<String> = FUNCTIONS.iter().map(|(n, _)| format!("{n}.sql")).collect();
        assert_eq!(files, listed);
        for (name, sql) in FUNCTIONS {
            assert!(
                sql.contains(&format!("CREATE OR REPLACE FUNCTION {name}(")),
                "{name}.sql must define {name} with CREATE OR REPLACE"
            );
            assert!(body(sql).is_some(), "{name}.sql has a $$ body");
        }
    }
}
