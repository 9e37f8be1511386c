//! Runs over a growing database: the till as the members grow (`--scale`), and the expiry
//! job over many due lots (`--expiry`).

use crate::results::{row, Row};
use crate::scenarios::{self, Ctx};
use crate::{http, load, on_fresh_database, server, server_env, sms_receiver, till_keys, Args};
use anyhow::Result;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Reads an SQLite database file (and its WAL) once, so that the till's step measures a
/// server whose database is in the OS page cache, as it is after any while in service. Right
/// after a bulk seed it need not be: on the VMs these figures come from, the host reclaims
/// the guest's page cache (a 6 GB file was 4.5 GB cached with 19 GB free, and the till at
/// 10 M members ran at a third of its speed, waiting for the disk).
fn warm_page_cache(db: &std::path::Path) -> Result<f64> {
    let started = std::time::Instant::now();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let mut buffer = vec![0u8; 1 << 20];
    for path in [db.to_owned(), PathBuf::from(wal)] {
        let Ok(mut file) = std::fs::File::open(&path) else {
            continue;
        };
        while std::io::Read::read(&mut file, &mut buffer)? > 0 {}
    }
    Ok(started.elapsed().as_secs_f64())
}

/// PostgreSQL's counterpart of `warm_page_cache`: a checkpoint first, so that the seed's
/// dirty pages are not written out during the till's run (after seeding 10 M members the
/// checkpointer wrote at up to 1 GB/s into the measurement), then every table and index
/// read once into the OS page cache (`pg_prewarm`, PostgreSQL's contrib). Where the
/// extension is missing the tables stay as they are, and the bench says so.
async fn warm_postgres(url: &str) -> Result<f64> {
    use sqlx::Connection;
    let started = std::time::Instant::now();
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("CHECKPOINT").execute(&mut conn).await?;
    match sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        .execute(&mut conn)
        .await
    {
        Ok(_) => {
            sqlx::query(
                "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')",
            )
            .execute(&mut conn)
            .await?;
        }
        Err(e) => eprintln!("postgres: tables not read into the page cache ({e})"),
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The support operator whose searches the scale run measures.
const SEARCH_STAFF: &str = "bench-support";
const SEARCH_PASSWORD: &str = "поиск-клиентов-2026";
/// Searches a second offered: five hundred operators each finding a customer every ten
/// seconds.
const SEARCH_RATE: f64 = 50.0;

/// Till throughput as the members grow: one database, seeded up to each count in turn, a
/// closed-loop till run after each step over cards sampled from every step.
pub async fn run_scale(
    args: &Args,
    store: &str,
    seconds: Duration,
    rows: &mut Vec<Row>,
) -> Result<()> {
    const SAMPLE_PER_STEP: usize = 20_000;
    let binary = server::kopilka_binary()?;
    let temporary = tempfile::tempdir()?;
    let dir = match &args.scale_dir {
        Some(kept) if store == "sqlite" => {
            std::fs::create_dir_all(kept)?;
            kept.clone()
        }
        Some(_) => anyhow::bail!("--scale-dir keeps SQLite databases only"),
        None => temporary.path().to_owned(),
    };
    on_fresh_database(args, store, &dir, async |url: String| {
        let codes = Arc::new(Mutex::new(HashMap::new()));
        let sms = sms_receiver(codes.clone()).await?;
        let server = server::Server::start(&binary, server_env(&url, &sms)).await?;
        let tills = till_keys(&server)?;
        server.command(
            &["staff", "create", "--login", SEARCH_STAFF, "--role", "support"],
            Some(&format!("{SEARCH_PASSWORD}\n")),
        )?;
        let mut cards: Vec<String> = Vec::new();
        let mut seeded = 0usize;
        for &target in &args.scale {
            let file = dir.join(format!("cards-{target}.txt"));
            if target > seeded && file.exists() {
                eprintln!(
                    "{store}: reusing the members seeded up to {target} in {}",
                    dir.display()
                );
                cards.extend(sample(&file, SAMPLE_PER_STEP)?);
                seeded = target;
            }
            if target > seeded {
                let started = std::time::Instant::now();
                server.command(
                    &[
                        "seed",
                        "--members",
                        &(target - seeded).to_string(),
                        "--cards-out",
                        &file.to_string_lossy(),
                    ],
                    None,
                )?;
                let took = started.elapsed().as_secs_f64();
                cards.extend(sample(&file, SAMPLE_PER_STEP)?);
                eprintln!(
                    "{store} seeded {} members up to {target} in {took:.1} s",
                    target - seeded
                );
                rows.push(Row {
                    store: store.into(),
                    what: "seed".into(),
                    mode: "scale".into(),
                    offered: None,
                    rate: (target - seeded) as f64 / took,
                    p50_ms: 0.0,
                    p99_ms: 0.0,
                    failed: 0,
                    members: Some(target as u64),
                    requests_each: None,
                });
                seeded = target;
            }
            let ctx = Ctx {
                http: Arc::new(http::Http::new(&server.base)?),
                cards: Arc::new(cards.clone()),
                tills: Arc::new(tills.clone()),
                tokens: Arc::new(Vec::new()),
                codes: codes.clone(),
                run: std::process::id() as u64 + target as u64,
            };
            if store == "sqlite" {
                let took = warm_page_cache(&dir.join("bench.db"))?;
                eprintln!("{store}: database file read into the OS page cache in {took:.1} s");
            } else {
                let took = warm_postgres(&url).await?;
                eprintln!("{store}: checkpoint, tables read into the OS page cache in {took:.1} s");
            }
            let ctx_search = ctx.clone();
            eprintln!("{store} till at {target:>9} members: load started");
            let o = load::closed(args.clients, seconds, move |n| {
                scenarios::till(ctx.clone(), n)
            })
            .await;
            eprintln!(
                "{store} till at {target:>9} members: {:>8.0}/s p50 {:>6.2} ms p99 {:>7.2} ms ({} failed), server peak RSS {:.0} MiB",
                o.rate(),
                o.ms(0.5),
                o.ms(0.99),
                o.failed,
                server.rss_mib()
            );
            let mut r = row(store, "till", "scale", None, &o);
            r.members = Some(target as u64);
            rows.push(r);

            // Customer care's search at this size, signed in afresh (seeding outlasts a
            // staff session's idle time).
            let signed = scenarios::post(
                &ctx_search,
                "/admin/auth/login",
                None,
                serde_json::json!({ "login": SEARCH_STAFF, "password": SEARCH_PASSWORD }),
            )
            .await;
            let Some((200, answer)) = signed else {
                anyhow::bail!("the search's staff member could not sign in: {signed:?}");
            };
            let token = answer["token"].as_str().unwrap_or_default().to_owned();
            let search = Ctx {
                tokens: Arc::new(vec![token]),
                ..ctx_search.clone()
            };
            // Offered at a call centre's pace, not as fast as it goes: its latency is the
            // figure, at a rate far above what people typing can ask.
            let o = load::open(SEARCH_RATE, seconds, move |n| {
                scenarios::member_search(search.clone(), n)
            })
            .await;
            eprintln!(
                "{store} member search at {target:>9} members: {:>8.0}/s p50 {:>6.2} ms p99 {:>7.2} ms ({} failed)",
                o.rate(),
                o.ms(0.5),
                o.ms(0.99),
                o.failed,
            );
            let mut r = row(store, "member search", "scale", Some(SEARCH_RATE), &o);
            r.members = Some(target as u64);
            rows.push(r);
        }
        Ok(())
    })
    .await
}

/// About `count` of the card numbers in `file`, evenly spread over it.
fn sample(file: &std::path::Path, count: usize) -> Result<Vec<String>> {
    let all: Vec<String> = std::fs::read_to_string(file)?
        .lines()
        .map(String::from)
        .collect();
    let step = (all.len() / count).max(1);
    Ok(all.into_iter().step_by(step).collect())
}

/// The expiry job over `count` due lots: members seeded as having joined 91 days ago (their
/// welcome points last 90), then `kopilka expire` timed.
pub async fn run_expiry(args: &Args, store: &str, count: usize, rows: &mut Vec<Row>) -> Result<()> {
    let binary = server::kopilka_binary()?;
    let dir = tempfile::tempdir()?;
    on_fresh_database(args, store, dir.path(), async |url: String| {
        let env = server_env(&url, "http://127.0.0.1:9/unused");
        let run = |what: &[&str]| -> Result<f64> {
            let started = std::time::Instant::now();
            let status = std::process::Command::new(&binary)
                .args(what)
                .envs(env.iter().cloned())
                .stdout(std::process::Stdio::null())
                .status()?;
            anyhow::ensure!(status.success(), "kopilka {what:?} failed");
            Ok(started.elapsed().as_secs_f64())
        };
        let seeded = run(&[
            "seed",
            "--members",
            &count.to_string(),
            "--joined-days-ago",
            "91",
        ])?;
        eprintln!("{store} seeded {count} members in {seeded:.1} s");
        eprintln!("{store} expiry job over {count} lots: load started");
        let expired = run(&["expire"])?;
        eprintln!("{store} expired {count} lots in {expired:.1} s");
        for (what, secs) in [("seed", seeded), ("expiry job", expired)] {
            rows.push(Row {
                store: store.into(),
                what: what.into(),
                mode: "expiry".into(),
                offered: None,
                rate: count as f64 / secs,
                p50_ms: secs * 1000.0,
                p99_ms: 0.0,
                failed: 0,
                members: Some(count as u64),
                requests_each: None,
            });
        }
        Ok(())
    })
    .await
}
