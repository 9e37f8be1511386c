use crate::helpers::{eventually, Answer, Backend, TestApp};
use crate::on_both_stores;
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use kopilka_domain::member::StoreId;
use serde_json::{json, Value};

on_both_stores!(
    a_purchase_earns_spends_and_is_recorded_once,
    returns_take_back_and_give_back_in_proportion,
    self_checkout_excluded_categories_and_the_daily_limit,
    concurrent_tills_never_spend_more_than_the_balance,
    concurrent_tills_never_earn_on_more_receipts_a_day_than_the_limit,
    the_same_receipt_sent_many_times_at_once_counts_once,
    concurrent_returns_of_one_receipt_never_return_more_than_it_had,
    offline_receipts_earn_as_of_their_own_time,
    every_node_hears_of_a_new_card_and_an_activated_offer,
    the_node_that_made_a_change_serves_it_at_once,
    a_card_blocked_on_another_node_is_refused_at_the_purchase,
);

pub async fn till(app: &TestApp, store: i64, kind: TillKind) -> String {
    app.kopilka
        .create_till(
            kopilka_service::staff::Caller::Cli,
            StoreId::new(store),
            kind,
        )
        .await
        .unwrap()
        .1
}

pub async fn pos(app: &TestApp, key: &str, path: &str, body: Value) -> Answer {
    app.request("POST", &format!("/api/v1/pos{path}"), Some(key), Some(body))
        .await
}

pub fn basket() -> Value {
    json!([
        { "line_id": "1", "sku": "4607001771234", "category_id": 10, "amount_kop": 25000 },
        { "line_id": "2", "sku": "4600000000017", "category_id": 14, "amount_kop": 15050 },
        { "line_id": "3", "sku": "4601234567890", "category_id": 8, "amount_kop": 30000 },
    ])
}

pub async fn balance(app: &TestApp, token: &str) -> i64 {
    app.get("/me/balance", token).await.expect(200)["available"]
        .as_i64()
        .unwrap()
}

async fn a_purchase_earns_spends_and_is_recorded_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550001").await;

    let who = pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(
        who,
        json!({ "card_number": card, "member_name": "Мария И.", "available_points": 300, "offers": [] })
    );

    let quote = pos(
        &app,
        &key,
        "/quote",
        json!({ "barcode": card, "lines": basket(), "redeem_points": 100 }),
    )
    .await
    .expect(200);
    // 700.50 ₽ minus 100 ₽ of points; the milk (favourite) earns double, the tobacco nothing.
    assert_eq!(
        quote,
        json!({ "earn_points": 55, "max_redeem_points": 300, "redeem_points": 100, "discount_kop": 10000, "payable_kop": 60050, "offers": [] })
    );
    let greedy = pos(
        &app,
        &key,
        "/quote",
        json!({ "barcode": card, "lines": basket(), "redeem_points": 5000 }),
    )
    .await
    .expect(200);
    assert_eq!(greedy["redeem_points"], 300);
    assert_eq!(balance(&app, &token).await, 300, "a quote changes nothing");

    let body =
        json!({ "receipt_id": "R-0001", "barcode": card, "lines": basket(), "redeem_points": 100 });
    let first = pos(&app, &key, "/purchases", body.clone())
        .await
        .expect(201);
    assert_eq!(first["earned_points"], 55);
    assert_eq!(first["redeemed_points"], 100);
    assert_eq!(first["balance"], 255);
    let again = pos(&app, &key, "/purchases", body.clone())
        .await
        .expect(200);
    assert_eq!(again, first);
    let mut other = body.clone();
    other["redeem_points"] = json!(10);
    pos(&app, &key, "/purchases", other)
        .await
        .expect_problem(409, "idempotency_conflict");
    // Receipt ids are per store: the same id in another store is another purchase.
    let key2 = till(&app, 2, TillKind::Staffed).await;
    let elsewhere = pos(
        &app,
        &key2,
        "/purchases",
        json!({ "receipt_id": "R-0001", "barcode": card, "lines": basket(), "redeem_points": 0 }),
    )
    .await
    .expect(201);
    assert_ne!(elsewhere["purchase_id"], first["purchase_id"]);
    assert_eq!(balance(&app, &token).await, 255 + 65);

    // More than the balance is refused and changes nothing.
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "R-0002", "barcode": card, "lines": basket(), "redeem_points": 500 }),
    )
    .await
    .expect_problem(409, "insufficient_points");
    // More than 99% of a receipt is a validation error.
    let small = json!([{ "line_id": "1", "sku": "x", "category_id": 11, "amount_kop": 5000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "R-0003", "barcode": card, "lines": small, "redeem_points": 50 }),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(balance(&app, &token).await, 320);

    let history = app.get("/me/history", &token).await.expect(200);
    let kinds: Vec<(&str, i64)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("accrual", 65),
            ("accrual", 55),
            ("redemption", -100),
            ("welcome", 300)
        ]
    );
    assert_eq!(history["items"][1]["receipt_id"], "R-0001");
    assert_eq!(history["items"][1]["store_id"], 1);
    assert_eq!(history["items"][0]["store_id"], 2);

    // Malformed baskets name their fields.
    let answer = pos(&app, &key, "/purchases", json!({ "receipt_id": "", "barcode": "123", "lines": [{ "line_id": "1", "sku": "x", "category_id": 1, "amount_kop": -5 }] })).await;
    answer.expect_problem(422, "validation_failed");
    let mut fields = answer.fields();
    fields.sort();
    assert_eq!(fields, ["barcode", "lines[0].amount_kop", "receipt_id"]);
    app.assert_ledger_balanced().await;
}

async fn returns_take_back_and_give_back_in_proportion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550002").await;
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "R1", "barcode": card, "lines": basket(), "redeem_points": 100 }),
    )
    .await
    .expect(201);

    // Half the milk.
    let half = pos(
        &app,
        &key,
        "/purchases/R1/refunds",
        json!({ "refund_id": "F1", "lines": [{ "line_id": "1", "amount_kop": 12500 }] }),
    )
    .await
    .expect(201);
    assert_eq!(
        half,
        json!({ "refund_id": "F1", "points_taken_back": 21, "points_returned": 18, "balance": 252 })
    );
    assert_eq!(
        pos(
            &app,
            &key,
            "/purchases/R1/refunds",
            json!({ "refund_id": "F1", "lines": [{ "line_id": "1", "amount_kop": 12500 }] })
        )
        .await
        .expect(200),
        half
    );
    pos(
        &app,
        &key,
        "/purchases/R1/refunds",
        json!({ "refund_id": "F1" }),
    )
    .await
    .expect_problem(409, "idempotency_conflict");
    // More than is left of a line is refused.
    pos(
        &app,
        &key,
        "/purchases/R1/refunds",
        json!({ "refund_id": "F2", "lines": [{ "line_id": "1", "amount_kop": 12501 }] }),
    )
    .await
    .expect_problem(422, "validation_failed");
    // The rest of the receipt: in total exactly what the purchase earned and spent.
    let rest = pos(
        &app,
        &key,
        "/purchases/R1/refunds",
        json!({ "refund_id": "F3" }),
    )
    .await
    .expect(201);
    assert_eq!(rest["points_taken_back"].as_i64().unwrap() + 21, 55);
    assert_eq!(rest["points_returned"].as_i64().unwrap() + 18, 100);
    assert_eq!(balance(&app, &token).await, 300);
    pos(
        &app,
        &key,
        "/purchases/R1/refunds",
        json!({ "refund_id": "F4" }),
    )
    .await
    .expect_problem(422, "validation_failed");
    pos(
        &app,
        &key,
        "/purchases/NOPE/refunds",
        json!({ "refund_id": "F5" }),
    )
    .await
    .expect_problem(404, "not_found");
    // Another store's till cannot refund this store's receipt.
    let key2 = till(&app, 2, TillKind::Staffed).await;
    pos(
        &app,
        &key2,
        "/purchases/R1/refunds",
        json!({ "refund_id": "F6" }),
    )
    .await
    .expect_problem(404, "not_found");
    // The welcome lot has its 300 again, with its own expiry.
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        b["expiring"],
        json!([{ "points": 300, "expires_at": "2027-02-13T09:00:00Z" }])
    );
    app.assert_ledger_balanced().await;
}

async fn self_checkout_excluded_categories_and_the_daily_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let staffed = till(&app, 1, TillKind::Staffed).await;
    let self_checkout = till(&app, 1, TillKind::SelfCheckout).await;
    let (token, card, _) = app.register("89995550003").await;
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    let p = pos(
        &app,
        &self_checkout,
        "/purchases",
        json!({ "receipt_id": "S1", "barcode": card, "lines": bread, "redeem_points": 30 }),
    )
    .await
    .expect(201);
    assert_eq!(
        (p["earned_points"].as_i64(), p["redeemed_points"].as_i64()),
        (Some(0), Some(30))
    );
    let tobacco = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 100000 }]);
    let p = pos(
        &app,
        &staffed,
        "/purchases",
        json!({ "receipt_id": "S2", "barcode": card, "lines": tobacco }),
    )
    .await
    .expect(201);
    assert_eq!(p["earned_points"], 0);
    // Five earning receipts a day; the sixth earns nothing, the next day earns again.
    for i in 0..5 {
        let p = pos(
            &app,
            &staffed,
            "/purchases",
            json!({ "receipt_id": format!("D{i}"), "barcode": card, "lines": bread }),
        )
        .await
        .expect(201);
        assert_eq!(p["earned_points"], 100);
    }
    // The quote says so before the sixth, whether the till scanned the card or a one-time
    // code from the app.
    let code = app
        .request("POST", "/api/v1/me/card-token", Some(&token), None)
        .await
        .expect(200)["code"]
        .clone();
    for barcode in [json!(card), code] {
        let quoted = pos(
            &app,
            &staffed,
            "/quote",
            json!({ "barcode": barcode, "lines": bread, "redeem_points": 0 }),
        )
        .await
        .expect(200);
        assert_eq!(quoted["earn_points"], 0, "quoted with {barcode}");
    }
    let sixth = pos(
        &app,
        &staffed,
        "/purchases",
        json!({ "receipt_id": "D5", "barcode": card, "lines": bread }),
    )
    .await
    .expect(201);
    assert_eq!(sixth["earned_points"], 0);
    app.clock.advance(Duration::days(1));
    let quoted = pos(
        &app,
        &staffed,
        "/quote",
        json!({ "barcode": card, "lines": bread, "redeem_points": 0 }),
    )
    .await
    .expect(200);
    assert_eq!(quoted["earn_points"], 100, "a new day");
    let next_day = pos(
        &app,
        &staffed,
        "/purchases",
        json!({ "receipt_id": "D6", "barcode": card, "lines": bread }),
    )
    .await
    .expect(201);
    assert_eq!(next_day["earned_points"], 100);
    assert_eq!(balance(&app, &token).await, 300 - 30 + 600);
    app.assert_ledger_balanced().await;
}

/// Sends every purchase at once, each with its till key; the answers in the order given.
pub async fn purchases_at_once(app: &TestApp, sales: Vec<(String, Value)>) -> Vec<(u16, Value)> {
    at_once(app, "/purchases", sales).await
}

/// Sends every request to the till's `path` at once, each with its till key; the answers in
/// the order given.
async fn at_once(app: &TestApp, path: &str, requests: Vec<(String, Value)>) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(key, body)| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/pos{path}", app.base);
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Exactly one of `answers` created the record and every other one replayed it: 200 with the
/// same `key` of the answer.
fn created_once(answers: &[(u16, Value)], key: impl Fn(&Value) -> &Value) {
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, b)| (*s == 201 || *s == 200) && key(b) == key(&answers[0].1)),
        "{answers:?}"
    );
}

async fn concurrent_tills_never_spend_more_than_the_balance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550006").await;
    let mut keys = Vec::new();
    for store in 1..=4 {
        keys.push(till(&app, store, TillKind::Staffed).await);
    }
    let tobacco = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 10000 }]);
    let sales = (0..24)
        .map(|i| {
            let body = json!({ "receipt_id": format!("C{i}"), "barcode": card, "lines": tobacco, "redeem_points": 40 });
            (keys[i % keys.len()].clone(), body)
        })
        .collect();
    let statuses: Vec<u16> = purchases_at_once(&app, sales)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    let spent = statuses.iter().filter(|s| **s == 201).count() as i64 * 40;
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(spent, 280, "7 of 24 fit in 300 points: {statuses:?}");
    assert_eq!(balance(&app, &token).await, 20);
    app.assert_ledger_balanced().await;
    app.assert_nothing_rolled_back().await;
}

/// The day's earning receipts are part of the state a sale is priced against: sales racing on
/// one card must not all see four receipts and all earn.
async fn concurrent_tills_never_earn_on_more_receipts_a_day_than_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550008").await;
    let mut keys = Vec::new();
    for store in 1..=4 {
        keys.push(till(&app, store, TillKind::Staffed).await);
    }
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    let sales = (0..16)
        .map(|i| {
            let body = json!({ "receipt_id": format!("E{i}"), "barcode": card, "lines": bread });
            (keys[i % keys.len()].clone(), body)
        })
        .collect();
    let mut earned = Vec::new();
    for (status, body) in purchases_at_once(&app, sales).await {
        assert_eq!(status, 201, "{body}");
        earned.push(body["earned_points"].as_i64().unwrap());
    }
    earned.sort_unstable();
    assert_eq!(earned, [vec![0; 11], vec![100; 5]].concat());
    assert_eq!(balance(&app, &token).await, 300 + 500);
    app.assert_ledger_balanced().await;
}

async fn the_same_receipt_sent_many_times_at_once_counts_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550007").await;
    let body =
        json!({ "receipt_id": "SAME", "barcode": card, "lines": basket(), "redeem_points": 100 });
    let answers = purchases_at_once(&app, vec![(key, body); 12]).await;
    created_once(&answers, |b| &b["purchase_id"]);
    assert_eq!(balance(&app, &token).await, 255);
    app.assert_ledger_balanced().await;
}

/// Returns of one receipt racing at four tills: each is planned against what the receipt has
/// left, so exactly the ten that fit go through, and what they take back and give back adds
/// up to what the sale earned and spent. A refund id sent many times at once counts once.
async fn concurrent_returns_of_one_receipt_never_return_more_than_it_had(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550009").await;
    // A receipt is returned in the store that sold it: four tills of store 1.
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(till(&app, 1, TillKind::Staffed).await);
    }
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    let sale = pos(
        &app,
        &keys[0],
        "/purchases",
        json!({ "receipt_id": "RR", "barcode": card, "lines": bread, "redeem_points": 100 }),
    )
    .await
    .expect(201);
    let returns = (0..12)
        .map(|i| {
            let body = json!({ "refund_id": format!("P{i}"), "lines": [{ "line_id": "1", "amount_kop": 10000 }] });
            (keys[i % keys.len()].clone(), body)
        })
        .collect();
    let answers = at_once(&app, "/purchases/RR/refunds", returns).await;
    let done: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(done.len(), 10, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 422),
        "{answers:?}"
    );
    let sum = |field: &str| done.iter().map(|b| b[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!(
        sum("points_taken_back"),
        sale["earned_points"].as_i64().unwrap()
    );
    assert_eq!(
        sum("points_returned"),
        sale["redeemed_points"].as_i64().unwrap()
    );
    assert_eq!(balance(&app, &token).await, 300);

    // One refund id for the whole of another receipt, sent twelve times at once: one return.
    pos(
        &app,
        &keys[0],
        "/purchases",
        json!({ "receipt_id": "RS", "barcode": card, "lines": bread }),
    )
    .await
    .expect(201);
    let same = json!({ "refund_id": "ALL" });
    let answers = at_once(
        &app,
        "/purchases/RS/refunds",
        vec![(keys[1].clone(), same); 12],
    )
    .await;
    created_once(&answers, |b| b);
    assert_eq!(balance(&app, &token).await, 300);
    app.assert_ledger_balanced().await;
    app.assert_nothing_rolled_back().await;
}

async fn offline_receipts_earn_as_of_their_own_time(backend: Backend) {
    // The customer's session outlives the year this story spans.
    let app = TestApp::spawn_with(backend, |s| s.customer_session_days = 3650).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550010").await;
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    app.clock.advance(Duration::days(3));
    let sold_at = (app.clock_now() - Duration::days(2)).to_rfc3339();
    let body =
        json!({ "receipt_id": "OFF1", "barcode": card, "lines": bread, "purchased_at": sold_at });
    pos(&app, &key, "/purchases", body.clone())
        .await
        .expect(201);
    pos(&app, &key, "/purchases", body).await.expect(200);
    let too_old = (app.clock_now() - Duration::days(8)).to_rfc3339();
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "OFF2", "barcode": card, "lines": bread, "purchased_at": too_old }),
    )
    .await
    .expect_problem(422, "validation_failed");
    let future = (app.clock_now() + Duration::hours(1)).to_rfc3339();
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "OFF3", "barcode": card, "lines": bread, "purchased_at": future }),
    )
    .await
    .expect_problem(422, "validation_failed");
    // Its points expire 12 months after the sale, not after the upload.
    app.clock.advance(Duration::days(363));
    app.kopilka.expire_points().await.unwrap();
    assert_eq!(balance(&app, &token).await, 0);
    app.assert_ledger_balanced().await;
}

/// Nodes may cache scanned cards with their holder (PostgreSQL does); a card blocked or an
/// offer activated through one node must reach the tills served by the others.
async fn every_node_hears_of_a_new_card_and_an_activated_offer(backend: Backend) {
    let (a, b, key, token, card) = two_nodes_with_a_card_scanned(backend, "89995550020").await;
    let who = pos(&b, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(who["offers"], json!([]));
    a.request("POST", "/api/v1/me/offers/2/activate", Some(&token), None)
        .await
        .expect(200);
    eventually(|| async {
        let who = pos(&b, &key, "/identify", json!({ "barcode": card })).await;
        who.body["offers"][0]["id"] == 2
    })
    .await;
    replace_card_through(&a, &token).await;
    eventually(|| async {
        let who = pos(&b, &key, "/identify", json!({ "barcode": card })).await;
        who.status == 409
    })
    .await;
    pos(
        &b,
        &key,
        "/purchases",
        json!({ "receipt_id": "N1", "barcode": card, "lines": basket() }),
    )
    .await
    .expect_problem(409, "card_blocked");
}

/// Both stores cache scanned cards with their holder; the node that blocks a card or
/// activates an offer forgets the holder before it answers, so the next scan sees it.
async fn the_node_that_made_a_change_serves_it_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550022").await;
    let quote = || async {
        pos(
            &app,
            &key,
            "/quote",
            json!({ "barcode": card, "lines": basket(), "redeem_points": 0 }),
        )
        .await
        .expect(200)
    };
    for _ in 0..2 {
        let who = pos(&app, &key, "/identify", json!({ "barcode": card }))
            .await
            .expect(200);
        assert_eq!(who["offers"], json!([]));
        assert_eq!(quote().await["offers"], json!([]));
    }
    app.request("POST", "/api/v1/me/offers/2/activate", Some(&token), None)
        .await
        .expect(200);
    let who = pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(who["offers"][0]["id"], 2);
    replace_card_through(&app, &token).await;
    refused_as_blocked(&app, &key, &card, "M1").await;
}

/// The till is told `card_blocked` when it scans `card`, and again when it buys with it.
pub async fn refused_as_blocked(app: &TestApp, key: &str, card: &str, receipt: &str) {
    pos(app, key, "/identify", json!({ "barcode": card }))
        .await
        .expect_problem(409, "card_blocked");
    pos(
        app,
        key,
        "/purchases",
        json!({ "receipt_id": receipt, "barcode": card, "lines": basket() }),
    )
    .await
    .expect_problem(409, "card_blocked");
}

/// A node that lost its connection to the notices may have missed one: when it listens again
/// its caches start empty, so a card blocked meanwhile is not served from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stopped_listening_forgets_its_cards_on_postgres() {
    use sqlx::Connection;
    let (a, b, key, token, card) =
        two_nodes_with_a_card_scanned(Backend::Postgres, "89995550021").await;
    // Every node's listening connection goes; a notice sent now reaches none of them.
    let mut db = sqlx::PgConnection::connect(a.database_url()).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(ended, [true, true], "both nodes were listening");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    replace_card_through(&a, &token).await;
    eventually(|| async {
        let who = pos(&b, &key, "/identify", json!({ "barcode": card })).await;
        who.status == 409
    })
    .await;
}

/// The purchase has the last word on a card. Another node blocks the card that this one holds
/// in its cache, and this one has not heard yet: on SQLite its writer looks for another
/// process's writes only before its next write or within a second; on PostgreSQL the notice
/// comes milliseconds after the commit, and is held back here (the trigger that sends it is
/// off) so the purchase meets the cache as it is in those milliseconds. The sale is refused
/// all the same: the purchase reads the card's status again where it writes (under SQLite's
/// write lock; in `kopilka_record_sale`, migration 18), and the node forgets the card, so the
/// next scan says so too.
async fn a_card_blocked_on_another_node_is_refused_at_the_purchase(backend: Backend) {
    let (a, b, key, token, card) = two_nodes_with_a_card_scanned(backend, "89995550023").await;
    if backend == Backend::Postgres {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(a.database_url()).await.unwrap();
        sqlx::query("ALTER TABLE cards DISABLE TRIGGER cards_changed")
            .execute(&mut db)
            .await
            .unwrap();
    }
    replace_card_through(&a, &token).await;
    if backend == Backend::Postgres {
        // Still served from the cache: the window the purchase has to close.
        pos(&b, &key, "/identify", json!({ "barcode": card }))
            .await
            .expect(200);
    }
    // The purchase first: a scan before it would be served from the cache on PostgreSQL.
    pos(
        &b,
        &key,
        "/purchases",
        json!({ "receipt_id": "X1", "barcode": card, "lines": basket() }),
    )
    .await
    .expect_problem(409, "card_blocked");
    pos(&b, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect_problem(409, "card_blocked");
    a.assert_ledger_balanced().await;
}

/// Two nodes on one database, a till key, and a customer registered through the first whose
/// card was scanned twice at the second, so that it is in the second's cache if it has one:
/// (first, second, till key, customer token, card number).
async fn two_nodes_with_a_card_scanned(
    backend: Backend,
    phone: &str,
) -> (TestApp, TestApp, String, String, String) {
    let a = TestApp::spawn(backend).await;
    let b = a.another_node().await;
    let key = till(&a, 1, TillKind::Staffed).await;
    let (token, card, _) = a.register(phone).await;
    for _ in 0..2 {
        pos(&b, &key, "/identify", json!({ "barcode": card }))
            .await
            .expect(200);
    }
    (a, b, key, token, card)
}

/// Binds a printed card through `node`, which blocks the customer's card before it.
async fn replace_card_through(node: &TestApp, token: &str) {
    let physical = node
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 1)
        .await
        .unwrap()
        .numbers[0]
        .to_string();
    node.request(
        "POST",
        "/api/v1/me/cards",
        Some(token),
        Some(json!({ "number": physical })),
    )
    .await
    .expect(201);
}
