//! What the clients do. Each scenario is an operation `op(n)` over a shared context.

use crate::http::Http;
use hyper::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Ctx {
    pub http: Arc<Http>,
    pub cards: Arc<Vec<String>>,
    pub tills: Arc<Vec<String>>,
    pub tokens: Arc<Vec<String>>,
    /// Codes the SMS webhook received, by phone.
    pub codes: Arc<Mutex<HashMap<String, String>>>,
    /// Distinguishes this run's receipt and phone numbers from earlier runs'.
    pub run: u64,
}

/// Where the API's paths start on the server.
const API: &str = "/api/v1";

/// POSTs JSON to the API: the status and the answer as JSON (null when it is not), or `None`
/// when the connection failed.
pub async fn post(ctx: &Ctx, path: &str, auth: Option<&str>, body: Value) -> Option<(u16, Value)> {
    let body = serde_json::to_vec(&body).ok()?;
    let (status, answer) = ctx
        .http
        .send(Method::POST, &format!("{API}{path}"), auth, Some(body))
        .await?;
    Some((
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    ))
}

async fn get_ok(ctx: &Ctx, path: &str, auth: Option<&str>) -> bool {
    matches!(
        ctx.http
            .send(Method::GET, &format!("{API}{path}"), auth, None)
            .await,
        Some((200..=299, _))
    )
}

const CATEGORIES: [i64; 8] = [10, 11, 12, 14, 15, 16, 17, 8];

/// Identify, quote, purchase; a fifth of purchases spend points, 3% are returned.
pub async fn till(ctx: Ctx, n: u64) -> bool {
    let mut rng = StdRng::seed_from_u64(n ^ ctx.run);
    let card = &ctx.cards[rng.gen_range(0..ctx.cards.len())];
    let key = &ctx.tills[rng.gen_range(0..ctx.tills.len())];
    let Some((200, who)) = post(&ctx, "/pos/identify", Some(key), json!({ "barcode": card })).await
    else {
        return false;
    };
    let lines: Vec<Value> = (0..rng.gen_range(1..6))
        .map(|i| json!({ "line_id": i.to_string(), "sku": format!("46{:011}", rng.gen_range(0..500)), "category_id": CATEGORIES[rng.gen_range(0..CATEGORIES.len())], "amount_kop": rng.gen_range(3_000..150_000) }))
        .collect();
    let wants = if rng.gen_bool(0.2) {
        who["available_points"].as_i64().unwrap_or(0) / 2
    } else {
        0
    };
    let Some((200, quote)) = post(
        &ctx,
        "/pos/quote",
        Some(key),
        json!({ "barcode": card, "lines": lines, "redeem_points": wants }),
    )
    .await
    else {
        return false;
    };
    let receipt = format!("b{}-{n}", ctx.run);
    let body = json!({ "receipt_id": receipt, "barcode": card, "lines": lines, "redeem_points": quote["redeem_points"] });
    match post(&ctx, "/pos/purchases", Some(key), body).await {
        Some((201, _)) => {}
        // Another client spent the same card's points between quote and purchase.
        Some((409, _)) => return true,
        _ => return false,
    }
    if rng.gen_bool(0.03) {
        let refund = json!({ "refund_id": format!("r-{receipt}") });
        return matches!(
            post(
                &ctx,
                &format!("/pos/purchases/{receipt}/refunds"),
                Some(key),
                refund
            )
            .await,
            Some((201, _))
        );
    }
    true
}

/// Requests of one app home screen (`home`), one sign-in (`sign_in`), one public look-up
/// (`public`): the results give those scenarios' rates in operations and in requests.
pub const HOME_REQUESTS: u32 = 3;
pub const SIGN_IN_REQUESTS: u32 = 2;
pub const PUBLIC_REQUESTS: u32 = 2;

/// What the app shows on its first screen: profile, balance, the first page of history.
pub async fn home(ctx: Ctx, n: u64) -> bool {
    let token = &ctx.tokens[(n as usize) % ctx.tokens.len()];
    get_ok(&ctx, "/me", Some(token)).await
        && get_ok(&ctx, "/me/balance", Some(token)).await
        && get_ok(&ctx, "/me/history?limit=20", Some(token)).await
}

/// The same first screen as a page (`/account`: balance, card, the last history lines), for
/// a browser that has been here before: its session and CSRF cookies.
pub async fn account_page(ctx: Ctx, n: u64) -> bool {
    let token = &ctx.tokens[(n as usize) % ctx.tokens.len()];
    // A seed the page accepts as it is, so no new one is set: a repeat visit.
    let cookies = format!("kp_session={token}; kp_csrf=bench-csrf-seed-of-a-returning-browser");
    matches!(
        ctx.http.get_page("/account", &cookies).await,
        // Gzipped: its magic number.
        Some((200, body)) if body.starts_with(&[0x1f, 0x8b])
    )
}

/// How long a code may take to reach the webhook: the server sends SMS after it answers.
const SMS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The code the webhook received for `phone`, waiting for it to arrive.
pub async fn sms_code(ctx: &Ctx, phone: &str) -> Option<String> {
    let started = std::time::Instant::now();
    loop {
        if let Some(code) = ctx
            .codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(phone)
        {
            return Some(code);
        }
        if started.elapsed() > SMS_WAIT {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Request a code and verify it.
pub async fn sign_in(ctx: Ctx, n: u64) -> bool {
    // n is client * 10^9 + attempt: two digits of client, six of attempt, never shared.
    let phone = format!("+795{:02}{:06}", (n / 1_000_000_000) % 100, n % 1_000_000);
    if !matches!(
        post(&ctx, "/auth/otp", None, json!({ "phone": phone })).await,
        Some((202, _))
    ) {
        return false;
    }
    let Some(code) = sms_code(&ctx, &phone).await else {
        return false;
    };
    matches!(
        post(
            &ctx,
            "/auth/otp/verify",
            None,
            json!({ "phone": phone, "code": code })
        )
        .await,
        Some((200, _))
    )
}

/// Anonymous look-ups (the scenario 4): the stores nearest a point somewhere in the
/// chain's cities, and a catalogue search in an inflected Russian word form.
pub async fn public(ctx: Ctx, n: u64) -> bool {
    // Points near the demo stores, a little apart so answers differ.
    const PLACES: [(f64, f64); 4] = [
        (55.7539, 37.6208),
        (59.9386, 30.3141),
        (55.7961, 49.1064),
        (56.8389, 60.6057),
    ];
    const WORDS: [&str; 6] = ["молока", "яблоки", "сыры", "хлеба", "кофе", "шоколадом"];
    let (lat, lon) = PLACES[(n % 4) as usize];
    let jitter = (n % 100) as f64 / 1000.0;
    let word = WORDS[(n % 6) as usize];
    get_ok(
        &ctx,
        &format!(
            "/stores?lat={:.4}&lon={:.4}&limit=5",
            lat + jitter,
            lon - jitter
        ),
        None,
    )
    .await
        && get_ok(&ctx, &format!("/products?q={word}&limit=20"), None).await
}

/// Names staff type to find a customer: a last name, or a last name and the start of a
/// first name, as the seeded members are called.
const SEARCHED_NAMES: [&str; 6] = [
    "Иванова",
    "Смирнов Ив",
    "Кузнецова Анна",
    "Попов",
    "Соколова Е",
    "Петров Алексей",
];

/// Customer care's search (`GET /admin/members?q`) with the staff token in `ctx.tokens[0]`:
/// by card number, by a phone as typed, by the start of a name, in turn.
pub async fn member_search(ctx: Ctx, n: u64) -> bool {
    let mut rng = StdRng::seed_from_u64(n ^ ctx.run);
    let q = match n % 3 {
        0 => ctx.cards[rng.gen_range(0..ctx.cards.len())].clone(),
        // The seed numbers phones from +79000000001 up.
        1 => {
            let number: u64 = rng.gen_range(1..=ctx.cards.len() as u64);
            format!(
                "8 9{:02} {:03}-{:02}-{:02}",
                number / 10_000_000 % 100,
                number / 10_000 % 1000,
                number / 100 % 100,
                number % 100
            )
        }
        _ => SEARCHED_NAMES[rng.gen_range(0..SEARCHED_NAMES.len())].to_owned(),
    };
    let query: String = url_encode(&q);
    let answer = ctx
        .http
        .send(
            Method::GET,
            &format!("{API}/admin/members?q={query}"),
            ctx.tokens.first().map(String::as_str),
            None,
        )
        .await;
    match answer {
        Some((200..=299, _)) => true,
        other => {
            // The first refusal says why the rest failed.
            static TOLD: std::sync::Once = std::sync::Once::new();
            TOLD.call_once(|| {
                eprintln!(
                    "member search {q:?} failed: {:?}",
                    other.map(|(status, body)| (
                        status,
                        String::from_utf8_lossy(&body).into_owned()
                    ))
                );
            });
            false
        }
    }
}

/// Percent-encodes a query value.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
