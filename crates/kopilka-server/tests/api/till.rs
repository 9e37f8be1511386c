use crate::helpers::{Answer, Backend, TestApp};
use crate::on_both_stores;
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use serde_json::{json, Value};

on_both_stores!(
    a_purchase_earns_spends_and_is_recorded_once,
    returns_take_back_and_give_back_in_proportion,
    self_checkout_excluded_categories_and_the_daily_limit,
    credentials_and_cards_are_checked,
    concurrent_tills_never_spend_more_than_the_balance,
    the_same_receipt_sent_many_times_at_once_counts_once,
    points_expire_oldest_first_and_show_in_history,
    a_refund_may_leave_a_debt_that_later_points_pay,
    offline_receipts_earn_as_of_their_own_time,
    staff_adjust_points_with_a_reason,
);

pub async fn till(app: &TestApp, store: i64, kind: TillKind) -> String {
    app.kopilka.create_till(store, kind).await.unwrap().1
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

async fn balance(app: &TestApp, token: &str) -> i64 {
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
        json!({ "earn_points": 55, "max_redeem_points": 300, "redeem_points": 100, "discount_kop": 10000, "payable_kop": 60050 })
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

async fn credentials_and_cards_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550004").await;
    // A customer token is not a till key, and a till key is not a customer token.
    pos(&app, &token, "/identify", json!({ "barcode": card }))
        .await
        .expect_problem(401, "unauthorized");
    app.get("/me", &key)
        .await
        .expect_problem(401, "unauthorized");
    pos(
        &app,
        &key,
        "/identify",
        json!({ "barcode": "4006381333931" }),
    )
    .await
    .expect_problem(404, "not_found");
    pos(
        &app,
        &key,
        "/identify",
        json!({ "barcode": "4006381333932" }),
    )
    .await
    .expect_problem(422, "validation_failed");

    // A physical card from a printed batch replaces the virtual one; the balance stays.
    let printed = app.kopilka.issue_cards(2).await.unwrap();
    let physical = printed[0].to_string();
    pos(&app, &key, "/identify", json!({ "barcode": physical }))
        .await
        .expect_problem(404, "not_found");
    let bound = app
        .request(
            "POST",
            "/api/v1/me/cards",
            Some(&token),
            Some(json!({ "number": physical })),
        )
        .await
        .expect(201);
    assert_eq!(
        bound,
        json!({ "number": physical, "kind": "physical", "status": "active" })
    );
    pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect_problem(409, "card_blocked");
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "B1", "barcode": card, "lines": basket() }),
    )
    .await
    .expect_problem(409, "card_blocked");
    assert_eq!(
        pos(&app, &key, "/identify", json!({ "barcode": physical }))
            .await
            .expect(200)["available_points"],
        300
    );
    let cards = app.get("/me/cards", &token).await.expect(200);
    assert_eq!(cards[0]["number"], physical.as_str());
    assert_eq!(cards[1]["status"], "blocked");
    // Someone else cannot take a bound card.
    let (other, _, _) = app.register("89995550005").await;
    app.request(
        "POST",
        "/api/v1/me/cards",
        Some(&other),
        Some(json!({ "number": physical })),
    )
    .await
    .expect_problem(409, "card_already_bound");
    app.request(
        "POST",
        "/api/v1/me/cards",
        Some(&other),
        Some(json!({ "number": "4006381333931" })),
    )
    .await
    .expect_problem(404, "not_found");
    // The new card signs in like the old one did.
    app.post(
        "/auth/login",
        json!({ "login": physical, "password": crate::helpers::PASSWORD }),
    )
    .await
    .expect(200);
    app.post(
        "/auth/login",
        json!({ "login": card, "password": crate::helpers::PASSWORD }),
    )
    .await
    .expect_problem(401, "invalid_credentials");

    // Lost: block it, then a new virtual card.
    let blocked = app
        .request(
            "POST",
            &format!("/api/v1/me/cards/{physical}/block"),
            Some(&token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(blocked["status"], "blocked");
    app.request(
        "POST",
        &format!("/api/v1/me/cards/{physical}/block"),
        Some(&other),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    let fresh = app
        .request(
            "POST",
            "/api/v1/me/cards",
            Some(&token),
            Some(json!({ "kind": "virtual" })),
        )
        .await
        .expect(201);
    assert_eq!(fresh["kind"], "virtual");
    let fresh = fresh["number"].as_str().unwrap().to_owned();
    assert_eq!(
        pos(&app, &key, "/identify", json!({ "barcode": fresh }))
            .await
            .expect(200)["available_points"],
        300
    );

    // One-time codes: valid EAN-13 in prefix 29, work until spent by a purchase.
    let t = app
        .request("POST", "/api/v1/me/card-token", Some(&token), None)
        .await
        .expect(200);
    let code = t["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("29") && kopilka_domain::CardNumber::parse(&code).is_ok());
    assert_eq!(
        pos(&app, &key, "/identify", json!({ "barcode": code }))
            .await
            .expect(200)["card_number"],
        fresh.as_str()
    );
    let body =
        json!({ "receipt_id": "T1", "barcode": code, "lines": basket(), "redeem_points": 10 });
    let paid = pos(&app, &key, "/purchases", body.clone())
        .await
        .expect(201);
    assert_eq!(pos(&app, &key, "/purchases", body).await.expect(200), paid);
    pos(&app, &key, "/identify", json!({ "barcode": code }))
        .await
        .expect_problem(404, "not_found");
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "T2", "barcode": code, "lines": basket() }),
    )
    .await
    .expect_problem(404, "not_found");
    let t = app
        .request("POST", "/api/v1/me/card-token", Some(&token), None)
        .await
        .expect(200);
    app.clock.advance(Duration::seconds(121));
    pos(&app, &key, "/identify", json!({ "barcode": t["code"] }))
        .await
        .expect_problem(404, "not_found");
    app.assert_ledger_balanced().await;
}

async fn concurrent_tills_never_spend_more_than_the_balance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550006").await;
    let mut keys = Vec::new();
    for store in 1..=4 {
        keys.push(till(&app, store, TillKind::Staffed).await);
    }
    let tobacco = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 10000 }]);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/pos/purchases", app.base);
        let key = keys[i % keys.len()].clone();
        let body = json!({ "receipt_id": format!("C{i}"), "barcode": card, "lines": tobacco, "redeem_points": 40 });
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let spent = statuses.iter().filter(|s| **s == 201).count() as i64 * 40;
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(spent, 280, "7 of 24 fit in 300 points: {statuses:?}");
    assert_eq!(balance(&app, &token).await, 20);
    app.assert_ledger_balanced().await;
}

async fn the_same_receipt_sent_many_times_at_once_counts_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550007").await;
    let body =
        json!({ "receipt_id": "SAME", "barcode": card, "lines": basket(), "redeem_points": 100 });
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/pos/purchases", app.base);
        let (key, body) = (key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, b)| (*s == 201 || *s == 200)
                && b["purchase_id"] == answers[0].1["purchase_id"]),
        "{answers:?}"
    );
    assert_eq!(balance(&app, &token).await, 255);
    app.assert_ledger_balanced().await;
}

async fn points_expire_oldest_first_and_show_in_history(backend: Backend) {
    // The customer's session outlives the year this story spans.
    let app = TestApp::spawn_with(backend, |s| s.customer_session_days = 3650).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550008").await;
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    app.clock.advance(Duration::days(30));
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "E1", "barcode": card, "lines": bread, "redeem_points": 50 }),
    )
    .await
    .expect(201);
    // 250 welcome points left (spent oldest first) expire on day 90; the 95 earned on the
    // 950 ₽ paid in money stay.
    app.clock.advance(Duration::days(59));
    assert_eq!(app.kopilka.expire_points().await.unwrap(), 0);
    app.clock.advance(Duration::days(2));
    assert_eq!(app.kopilka.expire_points().await.unwrap(), 1);
    assert_eq!(
        app.kopilka.expire_points().await.unwrap(),
        0,
        "each lot expires once"
    );
    assert_eq!(balance(&app, &token).await, 95);
    let history = app.get("/me/history?limit=1", &token).await.expect(200);
    assert_eq!(history["items"][0]["kind"], "expiry");
    assert_eq!(history["items"][0]["points"], -250);
    // The earned lot lives 12 months from its purchase.
    app.clock.advance(Duration::days(365 - 61));
    app.kopilka.expire_points().await.unwrap();
    assert_eq!(balance(&app, &token).await, 0);
    app.assert_ledger_balanced().await;
}

async fn a_refund_may_leave_a_debt_that_later_points_pay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550009").await;
    // 5,000 ₽ earn 500 points.
    let tv = json!([{ "line_id": "1", "sku": "tv", "category_id": 6, "amount_kop": 500000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "TV", "barcode": card, "lines": tv }),
    )
    .await
    .expect(201);
    assert_eq!(balance(&app, &token).await, 800);
    // Spend it all, then return the TV: the 500 it earned are taken back.
    let food = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 100000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "F", "barcode": card, "lines": food, "redeem_points": 800 }),
    )
    .await
    .expect(201);
    let refund = pos(
        &app,
        &key,
        "/purchases/TV/refunds",
        json!({ "refund_id": "X" }),
    )
    .await
    .expect(201);
    assert_eq!(refund["balance"], -500);
    // A negative balance spends nothing, and the next points pay the debt first.
    let q = pos(
        &app,
        &key,
        "/quote",
        json!({ "barcode": card, "lines": food, "redeem_points": 10 }),
    )
    .await
    .expect(200);
    assert_eq!(q["max_redeem_points"], 0);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "TV2", "barcode": card, "lines": tv }),
    )
    .await
    .expect(201);
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(b["available"], 0);
    assert_eq!(
        b["expiring"],
        json!([]),
        "no lot holds points that paid a debt"
    );
    app.assert_ledger_balanced().await;
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

async fn staff_adjust_points_with_a_reason(backend: Backend) {
    use kopilka_domain::password::NewPassword;
    use kopilka_domain::staff::Role;
    let app = TestApp::spawn(backend).await;
    let password = NewPassword::parse("служебный-пароль", 6, &[]).unwrap();
    app.kopilka
        .create_staff("olga", &password, &[Role::Support])
        .await
        .unwrap();
    app.kopilka
        .create_staff("mark", &password, &[Role::Marketing])
        .await
        .unwrap();
    let olga = app
        .post(
            "/admin/auth/login",
            json!({ "login": "olga", "password": "служебный-пароль" }),
        )
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mark = app
        .post(
            "/admin/auth/login",
            json!({ "login": "mark", "password": "служебный-пароль" }),
        )
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (token, _, member) = app.register("89995550011").await;
    let path = format!("/api/v1/admin/members/{member}/adjustments");
    let done = app
        .request(
            "POST",
            &path,
            Some(&olga),
            Some(json!({ "points": 50, "reason": "Компенсация по обращению 123" })),
        )
        .await
        .expect(201);
    assert_eq!(done["balance"], 350);
    app.request(
        "POST",
        &path,
        Some(&olga),
        Some(json!({ "points": -1000, "reason": "Ошибка" })),
    )
    .await
    .expect_problem(409, "insufficient_points");
    app.request(
        "POST",
        &path,
        Some(&olga),
        Some(json!({ "points": 10, "reason": "" })),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.request(
        "POST",
        &path,
        Some(&mark),
        Some(json!({ "points": 10, "reason": "Просто так" })),
    )
    .await
    .expect_problem(403, "forbidden");
    app.request(
        "POST",
        "/api/v1/admin/members/999999/adjustments",
        Some(&olga),
        Some(json!({ "points": 10, "reason": "Нет такого" })),
    )
    .await
    .expect_problem(404, "not_found");
    app.request(
        "POST",
        &path,
        Some(&olga),
        Some(json!({ "points": -30, "reason": "Ошибочное начисление" })),
    )
    .await
    .expect(201);
    assert_eq!(balance(&app, &token).await, 320);
    let history = app.get("/me/history?limit=2", &token).await.expect(200);
    assert_eq!(history["items"][0]["kind"], "adjustment");
    assert_eq!(
        history["items"][0]["description"],
        "Корректировка: Ошибочное начисление"
    );
    let admin_password = NewPassword::parse("служебный-пароль", 6, &[]).unwrap();
    app.kopilka
        .create_staff("root", &admin_password, &[Role::Admin])
        .await
        .unwrap();
    let root = app
        .post(
            "/admin/auth/login",
            json!({ "login": "root", "password": "служебный-пароль" }),
        )
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let audit = app.get("/admin/audit?limit=5", &root).await.expect(200);
    let adjustments: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "points.adjust")
        .collect();
    assert_eq!(adjustments.len(), 2);
    assert_eq!(adjustments[0]["details"]["reason"], "Ошибочное начисление");
    app.assert_ledger_balanced().await;
}

on_both_stores!(barcodes_are_read_back_by_a_scanner);

/// Decodes a picture with `zbarimg` (Debian's zbar-tools; `.ci/run` installs it).
fn scan(bytes: &[u8], suffix: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("code.{suffix}"));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg("--raw")
        .arg(&path)
        .output()
        .expect("zbarimg (apt-get install zbar-tools)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn barcodes_are_read_back_by_a_scanner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550012").await;
    let png = app
        .client
        .get(format!("{}/api/v1/me/cards/{card}/barcode.png", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(scan(&png.bytes().await.unwrap(), "png"), card);

    let svg = app
        .client
        .get(format!("{}/api/v1/me/cards/{card}/barcode.svg", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    // The SVG's bars are the PNG's bars: rasterise it and scan that too, where a rasteriser is installed.
    if std::process::Command::new("rsvg-convert")
        .arg("--version")
        .output()
        .is_ok()
    {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("c.svg"), dir.path().join("c.png"));
        std::fs::write(&src, &svg).unwrap();
        std::process::Command::new("rsvg-convert")
            .arg(&src)
            .arg("-o")
            .arg(&dst)
            .status()
            .unwrap();
        assert_eq!(scan(&std::fs::read(&dst).unwrap(), "png"), card);
    }
    // Someone else's card, or no card: 404.
    let (other, _, _) = app.register("89995550013").await;
    let answer = app
        .request(
            "GET",
            &format!("/api/v1/me/cards/{card}/barcode.png"),
            Some(&other),
            None,
        )
        .await;
    answer.expect_problem(404, "not_found");
    app.request(
        "GET",
        "/api/v1/me/cards/123/barcode.svg",
        Some(&token),
        None,
    )
    .await
    .expect_problem(404, "not_found");
}

on_both_stores!(seeded_members_shop_and_the_liability_report_adds_up);

async fn seeded_members_shop_and_the_liability_report_adds_up(backend: Backend) {
    use kopilka_domain::password::NewPassword;
    use kopilka_domain::staff::Role;
    let app = TestApp::spawn(backend).await;
    let cards = app.kopilka.seed_members(120).await.unwrap();
    assert_eq!(cards.len(), 120);
    assert_eq!(
        app.kopilka.seed_members(5).await.unwrap().len(),
        5,
        "a second run adds more, skipping taken phones"
    );
    let key = till(&app, 3, TillKind::Staffed).await;
    let who = pos(
        &app,
        &key,
        "/identify",
        json!({ "barcode": cards[7].to_string() }),
    )
    .await
    .expect(200);
    assert_eq!(who["available_points"], 300);
    let bought = pos(&app, &key, "/purchases", json!({ "receipt_id": "S1", "barcode": cards[7].to_string(), "lines": basket(), "redeem_points": 100 }))
        .await
        .expect(201);
    // Seeded members have a random favourite category: what the milk earned depends on it.
    let earned = bought["earned_points"].as_i64().unwrap();

    let password = NewPassword::parse("служебный-пароль", 6, &[]).unwrap();
    app.kopilka
        .create_staff("buh", &password, &[Role::Accounting])
        .await
        .unwrap();
    let buh = app
        .post(
            "/admin/auth/login",
            json!({ "login": "buh", "password": "служебный-пароль" }),
        )
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = app.get("/admin/reports/liability", &buh).await.expect(200);
    assert_eq!(report["liability_points"], 125 * 300 - 100 + earned);
    assert_eq!(report["balanced"], true);
}

on_both_stores!(an_incomplete_profile_closes_card_codes_until_filled);

/// A member keyed in from a paper form may have only a phone and a card.
async fn an_incomplete_profile_closes_card_codes_until_filled(backend: Backend) {
    use kopilka_domain::card::CardRange;
    use kopilka_domain::ledger::{welcome_lot, Credit, MovementKind, SystemAccount};
    use kopilka_domain::member::{Consents, Profile};
    use kopilka_domain::{CardKind, CardNumber, Phone, Points};
    let app = TestApp::spawn(backend).await;
    let now = app.clock_now();
    let card = CardNumber::generate(CardRange::Physical, &mut rand::thread_rng());
    app.kopilka
        .store()
        .import_members(vec![kopilka_store::ImportedMember {
            phone: Phone::parse("89996660001").unwrap(),
            profile: Profile::default(),
            consents: Consents {
                personal_data: true,
                newsletters: false,
                version: "2026-11".into(),
                recorded_at: now,
            },
            card: card.clone(),
            card_kind: CardKind::Physical,
            welcome: Credit {
                from: SystemAccount::Welcome,
                kind: MovementKind::Welcome,
                lot: welcome_lot(Points::new(300), 90, now),
                description: "Приветственные баллы".into(),
            },
            at: now,
        }])
        .await
        .unwrap();
    app.post("/auth/otp", json!({ "phone": "89996660001" }))
        .await
        .expect(202);
    let code = app.last_code("89996660001");
    let signed = app
        .post(
            "/auth/otp/verify",
            json!({ "phone": "89996660001", "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(signed["status"], "signed_in");
    assert_eq!(signed["member"]["profile_complete"], false);
    let token = signed["token"].as_str().unwrap();

    let closed = app
        .request("POST", "/api/v1/me/card-token", Some(token), None)
        .await;
    closed.expect_problem(403, "profile_incomplete");
    assert_eq!(
        closed.body["missing_fields"],
        json!(["last_name", "gender", "birth_date", "city"])
    );
    // The balance and the card still work: only the extras are closed.
    assert_eq!(
        app.get("/me/balance", token).await.expect(200)["available"],
        300
    );
    let me = app
        .request("PATCH", "/api/v1/me", Some(token), Some(json!({ "last_name": "Сидорова", "gender": "female", "birth_date": "1975-03-08", "city": "Казань" })))
        .await
        .expect(200);
    assert_eq!(me["profile_complete"], true);
    app.request("POST", "/api/v1/me/card-token", Some(token), None)
        .await
        .expect(200);
}

on_both_stores!(earned_points_may_wait_out_a_pending_period);

async fn earned_points_may_wait_out_a_pending_period(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.accrual_pending_days = 14).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550020").await;
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    let bought = pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "P1", "barcode": card, "lines": bread }),
    )
    .await
    .expect(201);
    assert_eq!(bought["earned_points"], 100);
    assert_eq!(
        bought["balance"], 300,
        "what was earned is pending, not spendable"
    );
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(300), Some(100))
    );
    let history = app.get("/me/history?limit=1", &token).await.expect(200);
    assert_eq!(
        history["items"][0]["points"], 100,
        "the history shows the accrual at once"
    );
    // Pending points cannot be spent.
    let q = pos(
        &app,
        &key,
        "/quote",
        json!({ "barcode": card, "lines": bread, "redeem_points": 400 }),
    )
    .await
    .expect(200);
    assert_eq!(q["max_redeem_points"], 300);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "P2", "barcode": card, "lines": bread, "redeem_points": 301 }),
    )
    .await
    .expect_problem(409, "insufficient_points");
    // A return within the period takes back the pending points themselves.
    let back = pos(
        &app,
        &key,
        "/purchases/P1/refunds",
        json!({ "refund_id": "F1", "lines": [{ "line_id": "1", "amount_kop": 50000 }] }),
    )
    .await
    .expect(201);
    assert_eq!(
        (back["points_taken_back"].as_i64(), back["balance"].as_i64()),
        (Some(50), Some(300))
    );
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(300), Some(50))
    );
    // After the period they are available.
    app.clock.advance(Duration::days(14));
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(350), Some(0))
    );
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "P3", "barcode": card, "lines": bread, "redeem_points": 350 }),
    )
    .await
    .expect(201);
    app.assert_ledger_balanced().await;
}
