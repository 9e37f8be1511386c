//! The database's functions, one file each in `functions/`, applied with `CREATE OR REPLACE`
//! after the migrations on every start. What the database runs is what the files say: a
//! function of ours with another body (a previous signature, or one no file defines any more)
//! is dropped. A change to a function is a change to its file, never another copy of it in a
//! migration (the copies in migrations before this module are history, replaced at every
//! start). A node of the previous release still running then finds its calls failing: a
//! change of signature is not for a rolling upgrade.

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
    (
        "kopilka_take_from_lots",
        include_str!("../functions/kopilka_take_from_lots.sql"),
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
    // A function whose parameters changed is another function to PostgreSQL: the previous
    // definition stays beside the file's as an overload until it is dropped here, as is a
    // function of ours that no file defines any more.
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT p.oid::regprocedure::text FROM pg_proc p \
         LEFT JOIN UNNEST($1::text[], $2::text[]) AS f(name, body) ON f.name = p.proname \
         WHERE p.proname LIKE 'kopilka\\_%' AND p.pronamespace = current_schema()::regnamespace \
           AND p.prosrc IS DISTINCT FROM f.body",
    )
    .bind(FUNCTIONS.iter().map(|(name, _)| *name).collect::<Vec<_>>())
    .bind(
        FUNCTIONS
            .iter()
            .map(|(_, sql)| body(sql).unwrap_or(""))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    for function in stale {
        sqlx::raw_sql(&format!("DROP FUNCTION {function}"))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unavailable_while(format!("dropping {function}"), e))?;
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

/// One of the functions' names and its parameters, in the order a call binds them.
pub struct Signature {
    pub name: &'static str,
    pub params: &'static [&'static str],
}

impl Signature {
    /// `name(p_a => $1, p_b => $2, …)`: a call by the parameters' names, so a value bound in
    /// the wrong place fails to match rather than landing in a neighbour of the same type.
    pub fn call(&self) -> String {
        let args: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{p} => ${}", i + 1))
            .collect();
        format!("{}({})", self.name, args.join(", "))
    }
}

pub const RECORD_SALE: Signature = Signature {
    name: "kopilka_record_sale",
    params: &[
        "p_store",
        "p_till",
        "p_receipt",
        "p_hash",
        "p_member",
        "p_card",
        "p_token",
        "p_purchased_at",
        "p_committed_at",
        "p_purchasable",
        "p_version",
        "p_total",
        "p_discount",
        "p_payable",
        "p_earned",
        "p_redeemed",
        "p_balance_after",
        "l_ids",
        "l_skus",
        "l_categories",
        "l_amounts",
        "l_discounts",
        "l_earned",
        "l_redeemed",
        "l_rules",
        "p_redemption_account",
        "p_redemption_kind",
        "p_redemption_description",
        "p_accrual_account",
        "m_kinds",
        "m_amounts",
        "m_descriptions",
        "p_awarded_offers",
        "d_lots",
        "d_points",
        "p_lot_points",
        "p_lot_expires_at",
        "p_lot_available_at",
    ],
};

pub const RECORD_RETURN: Signature = Signature {
    name: "kopilka_record_return",
    params: &[
        "p_store",
        "p_refund",
        "p_purchase",
        "p_hash",
        "p_at",
        "p_member",
        "p_receipt",
        "p_version",
        "p_refunded_kop",
        "l_nos",
        "l_amounts",
        "l_taken_back",
        "l_returned",
        "p_taken_back",
        "p_returned",
        "r_usages",
        "r_lots",
        "r_points",
        "d_lots",
        "d_points",
        "p_balance_after",
        "p_redemption_account",
        "p_accrual_account",
        "p_kind",
        "p_description",
    ],
};

pub const POST: Signature = Signature {
    name: "kopilka_post",
    params: &[
        "p_debit",
        "p_credit",
        "p_amount",
        "p_kind",
        "p_member",
        "p_store",
        "p_receipt",
        "p_lot",
        "p_description",
        "p_at",
    ],
};

pub const TAKE_FROM_LOTS: Signature = Signature {
    name: "kopilka_take_from_lots",
    params: &["p_member", "p_lots", "p_points"],
};

/// The parameter names a function's file declares, in order, without its OUT parameters.
pub fn parameters(sql: &str, name: &str) -> Vec<String> {
    let open = format!("FUNCTION {name}(");
    let Some(start) = sql.find(&open).map(|i| i + open.len()) else {
        return Vec::new();
    };
    let mut depth = 1;
    let mut end = start;
    for (i, c) in sql[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            end = start + i;
            break;
        }
    }
    let list: String = sql[start..end]
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with("OUT "))
        .filter_map(|p| p.split_whitespace().next().map(str::to_owned))
        .collect()
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

    #[test]
    fn calls_name_the_parameters_the_files_declare() {
        for signature in [RECORD_SALE, RECORD_RETURN, POST, TAKE_FROM_LOTS] {
            let (_, sql) = FUNCTIONS
                .iter()
                .find(|(n, _)| *n == signature.name)
                .unwrap();
            assert_eq!(
                parameters(sql, signature.name),
                signature.params,
                "{}",
                signature.name
            );
        }
        assert_eq!(
            TAKE_FROM_LOTS.call(),
            "kopilka_take_from_lots(p_member => $1, p_lots => $2, p_points => $3)"
        );
    }
}
