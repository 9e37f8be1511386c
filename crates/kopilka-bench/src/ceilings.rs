//! What this machine can do at best, measured in the same run: an HTTP handler that does
//! nothing, and the database doing the ledger's transaction (insert a transfer, update a
//! balance) with no HTTP and no logic.

use crate::http::Http;
use crate::load::{self, Outcome};
use hyper::Method;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Closed loop against an axum handler that answers "ok".
pub async fn bare_http(clients: usize, duration: Duration) -> anyhow::Result<Outcome> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http = Arc::new(Http::new(&format!("http://{}", listener.local_addr()?))?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The same client as the scenarios', so the ratios compare like with like.
    Ok(load::closed(clients, duration, move |_| {
        let http = http.clone();
        async move {
            matches!(
                http.send(Method::GET, "/", None, None).await,
                Some((200, _))
            )
        }
    })
    .await)
}

/// Ledger transactions per second through rusqlite on one thread, WAL, `synchronous`.
pub fn raw_sqlite(duration: Duration, synchronous: &str) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let conn = rusqlite::Connection::open(dir.path().join("raw.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.execute_batch(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
         CREATE TABLE transfers (id INTEGER PRIMARY KEY, debit INTEGER NOT NULL, credit INTEGER NOT NULL, amount INTEGER NOT NULL, at INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) INSERT INTO accounts SELECT i, 0 FROM n;",
    )?;
    let mut rng = rand::thread_rng();
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < duration {
        let account: i64 = rng.gen_range(1..=10_000);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached(
            "INSERT INTO transfers (debit, credit, amount, at) VALUES (1, ?1, 10, 0)",
        )?
        .execute([account])?;
        conn.prepare_cached("UPDATE accounts SET balance = balance + 10 WHERE id = ?1")?
            .execute([account])?;
        conn.execute_batch("COMMIT")?;
        done += 1;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// Ledger transactions per second through sqlx on `clients` connections.
pub async fn raw_postgres(url: &str, clients: u32, duration: Duration) -> anyhow::Result<f64> {
    // Pooled as the server pools its connections (no round trip of the pool's own).
    let options = std::str::FromStr::from_str(url)?;
    let pool = kopilka_postgres::Pool::new(options, clients, Duration::from_secs(10));
    sqlx::query("DROP TABLE IF EXISTS bench_transfers, bench_accounts")
        .execute(&pool)
        .await?;
    sqlx::query("CREATE TABLE bench_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)")
        .execute(&pool)
        .await?;
    sqlx::query("CREATE TABLE bench_transfers (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, debit BIGINT, credit BIGINT, amount BIGINT, at TIMESTAMPTZ)")
        .execute(&pool)
        .await?;
    sqlx::query("INSERT INTO bench_accounts SELECT i, 0 FROM generate_series(1, 10000) i")
        .execute(&pool)
        .await?;
    let outcome = load::closed(clients as usize, duration, move |n| {
        let pool = pool.clone();
        async move {
            let account = (n.wrapping_mul(2654435761) % 10_000 + 1) as i64;
            let work = async {
                let mut tx = pool.begin().await?;
                sqlx::query("INSERT INTO bench_transfers (debit, credit, amount, at) VALUES (1, $1, 10, now())").bind(account).execute(&mut *tx).await?;
                sqlx::query("UPDATE bench_accounts SET balance = balance + 10 WHERE id = $1").bind(account).execute(&mut *tx).await?;
                tx.commit().await
            };
            work.await.is_ok()
        }
    })
    .await;
    Ok(outcome.rate())
}
