//! What the figures were measured on, written beside them: runs on machines of one kind
//! still differ by a third, so a result without its machine cannot be compared.

use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cpus: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub sqlite: String,
    /// PostgreSQL's version and the settings that bear on the figures, when it was used.
    pub postgres: Option<Postgres>,
}

#[derive(Debug, Serialize)]
pub struct Postgres {
    pub version: String,
    pub shared_buffers: String,
    pub synchronous_commit: String,
    pub max_wal_size: String,
}

/// A value of `/proc/cpuinfo` or `/proc/meminfo`: the text after `key` and its colon.
fn proc_value(file: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
}

async fn show(conn: &mut sqlx::PgConnection, setting: &str) -> Result<String> {
    Ok(sqlx::query_scalar(&format!("SHOW {setting}"))
        .fetch_one(conn)
        .await?)
}

pub async fn describe(postgres_url: Option<&str>) -> Result<Machine> {
    let memory_kib: f64 = proc_value("/proc/meminfo", "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let postgres = match postgres_url {
        Some(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await?;
            Some(Postgres {
                version: show(&mut conn, "server_version").await?,
                shared_buffers: show(&mut conn, "shared_buffers").await?,
                synchronous_commit: show(&mut conn, "synchronous_commit").await?,
                max_wal_size: show(&mut conn, "max_wal_size").await?,
            })
        }
        None => None,
    };
    Ok(Machine {
        cpu: proc_value("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib: (memory_kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned()),
        sqlite: rusqlite::version().to_owned(),
        postgres,
    })
}
