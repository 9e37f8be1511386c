//! `kopilka-bench`: drives a real `kopilka serve` on SQLite and on PostgreSQL with the
//! scenarios of the performance issue, measures this machine's ceilings in the same run, and
//! writes a table, a JSON file and an SVG chart.

mod ceilings;
mod chart;
mod growth;
mod http;
mod load;
mod machine;
mod results;
mod scenarios;
mod server;

use anyhow::{Context, Result};
use clap::Parser;
use results::{row, Row};
use scenarios::Ctx;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The load generator shares the machine with the server: the allocator the server uses
/// leaves it more of the CPU (malloc was 5% of the machine in a till run's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "kopilka-bench")]
struct Args {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    store: String,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients in closed-loop runs.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Members seeded before the run.
    #[arg(long, default_value_t = 10_000)]
    members: usize,
    /// Offered purchase rates (per second) for the open-loop sweep of the till.
    #[arg(long, value_delimiter = ',', default_value = "250,500,1000,2000")]
    rates: Vec<f64>,
    /// Seconds each open-loop rate runs before it is measured, unrecorded: a step up in the
    /// offered rate first opens connections (new PostgreSQL backends plan their statements and
    /// compile the purchase function once), which is start-up, not the steady state.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// A smoke run: one second each, few members, one rate (for CI: checks the bench works).
    #[arg(long)]
    quick: bool,
    /// Where the JSON results and the SVG chart go.
    #[arg(long, default_value = "docs/bench")]
    out: PathBuf,
    /// Redraw the chart from an earlier run's results.json instead of measuring.
    #[arg(long)]
    replot: Option<PathBuf>,
    /// Instead of the scenarios: till throughput (closed loop) as the members grow to each of
    /// these counts on one database, with the time each seeding step took.
    #[arg(long, value_delimiter = ',')]
    scale: Vec<usize>,
    /// Keep the SQLite scale run's database and each step's cards in this folder, and reuse
    /// the steps an earlier run seeded there: seeding 10 M members takes minutes, and an A/B
    /// run of the till at 10 M should not pay them twice (copy the folder for each side).
    #[arg(long)]
    scale_dir: Option<PathBuf>,
    /// Instead of the scenarios: seed this many members who joined 91 days ago (so each has
    /// a due welcome lot) and time `kopilka expire` over them.
    #[arg(long)]
    expiry: Option<usize>,
    /// Only these parts of the main run (till, home, account, sign-in, public, mixed, open), for A/B
    /// runs of one change; all of them by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// PostgreSQL server to create the benchmark databases on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
}

/// Connections of the raw PostgreSQL ceiling: more than the server's pool on two cores (8),
/// since the bare transaction runs fastest with 16 there (10,678–11,314/s with 8,
/// 11,838–12,394/s with 16, measured on one machine), and a ceiling is the best the database can do.
const RAW_POSTGRES_CONNECTIONS: u32 = 16;

/// Operation numbers of the mixed run's till, above every closed loop's (client × 10^9 +
/// attempt) and below every open loop's (10^12 × (1 + rate)), so that no receipt id repeats.
const MIXED_TILL_BASE: u64 = 500_000_000_000;

/// Receives the server's SMS as its webhook provider, keeping the codes for the sign-in runs.
async fn sms_receiver(codes: Arc<Mutex<HashMap<String, String>>>) -> Result<String> {
    use axum::{extract::State, routing::post, Json, Router};
    let app = Router::new()
        .route(
            "/sms",
            post(
                |State(codes): State<Arc<Mutex<HashMap<String, String>>>>,
                 Json(sms): Json<serde_json::Value>| async move {
                    let phone = sms["phone"].as_str().unwrap_or_default().to_owned();
                    let text = sms["text"].as_str().unwrap_or_default();
                    if let Some(code) = text
                        .split(|c: char| !c.is_ascii_digit())
                        .find(|w| w.len() == 6)
                    {
                        codes
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(phone, code.to_owned());
                    }
                    "ok"
                },
            ),
        )
        .with_state(codes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/sms", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

async fn run_store(
    args: &Args,
    store: &str,
    seconds: Duration,
    members: usize,
    rates: &[f64],
    rows: &mut Vec<Row>,
) -> Result<f64> {
    let binary = server::kopilka_binary()?;
    let dir = tempfile::tempdir()?;
    on_fresh_database(args, store, dir.path(), async |url: String| {
        let codes = Arc::new(Mutex::new(HashMap::new()));
        let sms = sms_receiver(codes.clone()).await?;
        let env = server_env(&url, &sms);
        let server = server::Server::start(&binary, env).await?;
        let cards_file = dir.path().join("cards.txt");
        server.command(
            &[
                "seed",
                "--members",
                &members.to_string(),
                "--cards-out",
                &cards_file.to_string_lossy(),
            ],
            None,
        )?;
        let cards: Vec<String> = std::fs::read_to_string(&cards_file)?
            .lines()
            .map(String::from)
            .collect();
        let tills = till_keys(&server)?;
        let mut ctx = Ctx {
            http: Arc::new(http::Http::new(&server.base)?),
            cards: Arc::new(cards),
            tills: Arc::new(tills),
            tokens: Arc::new(Vec::new()),
            codes,
            run: std::process::id() as u64,
        };
        // Customer tokens for the app scenario: sign in some of the seeded members by SMS code.
        let mut tokens = Vec::new();
        for i in 1..=members.min(200) {
            let phone = format!("+79{i:09}");
            scenarios::post(
                &ctx,
                "/auth/otp",
                None,
                serde_json::json!({ "phone": phone }),
            )
            .await
            .context("requesting an SMS code")?;
            let code = scenarios::sms_code(&ctx, &phone)
                .await
                .context("an SMS code")?;
            let (_, answer) = scenarios::post(
                &ctx,
                "/auth/otp/verify",
                None,
                serde_json::json!({ "phone": phone, "code": code }),
            )
            .await
            .context("verifying an SMS code")?;
            tokens.push(
                answer["token"]
                    .as_str()
                    .context("a customer token")?
                    .to_owned(),
            );
        }
        ctx.tokens = Arc::new(tokens);

        let c = args.clients;
        let wanted = |part: &str| args.only.is_empty() || args.only.iter().any(|o| o == part);
        macro_rules! closed {
            ($part:literal, $name:literal, $f:path, $requests_each:expr) => {{
                if wanted($part) {
                    let ctx = ctx.clone();
                    // Announced, so a profiler (scripts/flamegraph.sh) can join the load itself.
                    eprintln!("{store} {:<9} closed {c:>3}: load started", $name);
                    let o = load::closed(c, seconds, move |n| $f(ctx.clone(), n)).await;
                    let r = Row {
                        requests_each: $requests_each,
                        ..row(store, $name, &format!("closed, {c} clients"), None, &o)
                    };
                    eprintln!("{store} {:<9} closed {c:>3}: {}", $name, r.summary());
                    rows.push(r);
                }
            }};
        }
        closed!("till", "till", scenarios::till, None);
        closed!(
            "home",
            "app home",
            scenarios::home,
            Some(scenarios::HOME_REQUESTS)
        );
        closed!("account", "account page", scenarios::account_page, Some(1));
        closed!(
            "sign-in",
            "sign-in",
            scenarios::sign_in,
            Some(scenarios::SIGN_IN_REQUESTS)
        );
        closed!(
            "public",
            "public",
            scenarios::public,
            Some(scenarios::PUBLIC_REQUESTS)
        );
        if wanted("mixed") {
            // A chain's peak has tills and the app at once: half the clients on each, so how
            // the store shares the cores between its writer and its readers shows (the SQLite
            // readers' default was chosen with this run).
            let (tills, apps) = (c.div_ceil(2), c / 2);
            let mode = format!("closed, {tills} till + {apps} app clients");
            eprintln!("{store} mixed     {mode}: load started");
            let (ctx_till, ctx_app) = (ctx.clone(), ctx.clone());
            let (till, home) = tokio::join!(
                load::closed(tills, seconds, move |n| {
                    scenarios::till(ctx_till.clone(), n + MIXED_TILL_BASE)
                }),
                load::closed(apps, seconds, move |n| scenarios::home(ctx_app.clone(), n)),
            );
            for (name, o, requests_each) in [
                ("till, with the app", till, None),
                ("app home, with tills", home, Some(scenarios::HOME_REQUESTS)),
            ] {
                let r = Row {
                    requests_each,
                    ..row(store, name, &mode, None, &o)
                };
                eprintln!("{store} {name:<20}: {}", r.summary());
                rows.push(r);
            }
        }
        for &rate in rates.iter().filter(|_| wanted("open")) {
            // Operation numbers far above the closed loop's, so no receipt id repeats; the
            // warm-up's half way to the next rate's.
            let base = 1_000_000_000_000 * (1 + rate as u64);
            if args.warmup > 0 && !args.quick {
                let ctx2 = ctx.clone();
                load::open(rate, Duration::from_secs(args.warmup), move |n| {
                    scenarios::till(ctx2.clone(), n + base + 500_000_000_000)
                })
                .await;
            }
            let ctx2 = ctx.clone();
            let o = load::open(rate, seconds, move |n| {
                scenarios::till(ctx2.clone(), n + base)
            })
            .await;
            let r = row(store, "till", "open", Some(rate), &o);
            eprintln!("{store} till      open {rate:>6.0}/s: {}", r.summary());
            rows.push(r);
        }
        let rss = server.rss_mib();
        drop(server);
        let raw = match store {
            "sqlite" => ceilings::raw_sqlite(seconds, "full")?,
            _ => ceilings::raw_postgres(&url, RAW_POSTGRES_CONNECTIONS, seconds).await?,
        };
        eprintln!("{store} raw ledger transaction: {raw:.0}/s; server peak RSS {rss:.0} MiB");
        rows.push(Row {
            store: store.into(),
            what: "raw ledger transaction".into(),
            mode: "ceiling".into(),
            offered: None,
            rate: raw,
            p50_ms: 0.0,
            p99_ms: 0.0,
            failed: 0,
            members: None,
            requests_each: None,
        });
        Ok(rss)
    })
    .await
}

/// Keys of staffed tills in eight of the demo stores.
fn till_keys(server: &server::Server) -> Result<Vec<String>> {
    (1..=8)
        .map(|store_id| {
            let out = server.command(
                &[
                    "till",
                    "create",
                    "--store",
                    &store_id.to_string(),
                    "--kind",
                    "staffed",
                ],
                None,
            )?;
            Ok(out.lines().last().context("a till key")?.to_owned())
        })
        .collect()
}

/// A new empty database for `store`: a file in `dir`, or a PostgreSQL database named after
/// this process (returned, to drop afterwards).
async fn fresh_database(
    args: &Args,
    store: &str,
    dir: &std::path::Path,
) -> Result<(String, Option<String>)> {
    if store == "sqlite" {
        return Ok((format!("sqlite://{}", dir.join("bench.db").display()), None));
    }
    use sqlx::Connection;
    let name = format!("kopilka_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&args.postgres).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    // The same server and options (a socket directory in `?host=`, say), another database.
    let mut url = reqwest::Url::parse(&args.postgres)?;
    url.set_path(&name);
    Ok((url.to_string(), Some(name)))
}

/// Runs `body` on a fresh database of `store` (given its URL), then drops a PostgreSQL one
/// whether `body` succeeded or not: a run that fails half-way must not leave a database of
/// millions of members behind on the server.
async fn on_fresh_database<T>(
    args: &Args,
    store: &str,
    dir: &std::path::Path,
    body: impl AsyncFnOnce(String) -> Result<T>,
) -> Result<T> {
    let (url, pg_name) = fresh_database(args, store, dir).await?;
    let result = body(url).await;
    drop_database(args, pg_name).await?;
    result
}

async fn drop_database(args: &Args, name: Option<String>) -> Result<()> {
    if let Some(name) = name {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&args.postgres).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

/// The server's settings for a run: limits raised so the load is not refused, no expiry job
/// in the background.
fn server_env(url: &str, sms: &str) -> Vec<(String, String)> {
    [
        ("KOPILKA_DATABASE_URL", url),
        ("KOPILKA_SMS_WEBHOOK_URL", sms),
        ("KOPILKA_OTP_PER_PHONE_DAILY", "1000000000"),
        ("KOPILKA_SMS_PER_IP_HOURLY", "1000000000"),
        ("KOPILKA_OTP_RESEND_COOLDOWN_S", "0"),
        ("KOPILKA_EARNING_RECEIPTS_PER_DAY", "1000000"),
        ("KOPILKA_EXPIRY_INTERVAL_S", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.replot {
        let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let rows: Vec<Row> = serde_json::from_value(results["rows"].clone())?;
        if rows.iter().any(|r| r.mode == "open") {
            std::fs::write(args.out.join("till-open-loop.svg"), chart::open_loop(&rows))?;
        }
        if rows.iter().any(|r| r.mode == "scale") {
            std::fs::write(
                args.out.join("till-by-members.svg"),
                chart::by_members(&rows),
            )?;
        }
        return Ok(());
    }
    let (seconds, members, rates) = if args.quick {
        (Duration::from_secs(1), 200, vec![100.0])
    } else {
        (
            Duration::from_secs(args.seconds),
            args.members,
            args.rates.clone(),
        )
    };
    let mut rows = Vec::new();
    let stores: Vec<&str> = match args.store.as_str() {
        "both" => vec!["sqlite", "postgres"],
        s => vec![s],
    };
    let machine = machine::describe(
        stores
            .contains(&"postgres")
            .then_some(args.postgres.as_str()),
    )
    .await?;
    eprintln!("machine: {}", serde_json::to_string(&machine)?);
    if !args.scale.is_empty() || args.expiry.is_some() {
        for store in &stores {
            if !args.scale.is_empty() {
                growth::run_scale(&args, store, seconds, &mut rows).await?;
            }
            if let Some(count) = args.expiry {
                growth::run_expiry(&args, store, count, &mut rows).await?;
            }
        }
        std::fs::create_dir_all(&args.out)?;
        let json = serde_json::json!({ "machine": machine, "seconds": seconds.as_secs(), "clients": args.clients, "rows": rows });
        std::fs::write(
            args.out.join("results-scale.json"),
            serde_json::to_string_pretty(&json)?,
        )?;
        if !args.scale.is_empty() {
            std::fs::write(
                args.out.join("till-by-members.svg"),
                chart::by_members(&rows),
            )?;
        }
        return Ok(());
    }
    let bare = ceilings::bare_http(args.clients, seconds).await?;
    eprintln!(
        "bare HTTP handler: {:.0}/s p50 {:.2} ms p99 {:.2} ms",
        bare.rate(),
        bare.ms(0.5),
        bare.ms(0.99)
    );
    rows.push(row(
        "-",
        "bare HTTP handler",
        &format!("ceiling, {} clients", args.clients),
        None,
        &bare,
    ));
    let mut rss = Vec::new();
    for store in stores {
        rss.push((
            store.to_owned(),
            run_store(&args, store, seconds, members, &rates, &mut rows).await?,
        ));
    }
    std::fs::create_dir_all(&args.out)?;
    let json = serde_json::json!({ "machine": machine, "seconds": seconds.as_secs(), "clients": args.clients, "members": members, "rss_mib": rss, "rows": rows });
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    std::fs::write(args.out.join("till-open-loop.svg"), chart::open_loop(&rows))?;
    println!("| store | scenario | mode | offered/s | done | p50 ms | p99 ms | failed |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let offered = r.offered.map(|o| format!("{o:.0}")).unwrap_or_default();
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {} |",
            r.store,
            r.what,
            r.mode,
            offered,
            r.rate_text(),
            r.p50_ms,
            r.p99_ms,
            r.failed
        );
    }
    for (store, mib) in rss {
        println!("\n{store}: server peak RSS {mib:.0} MiB");
    }
    Ok(())
}
