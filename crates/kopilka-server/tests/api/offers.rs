use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::till::{pos, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use serde_json::{json, Value};

on_both_stores!(
    offers_are_targeted_and_activated_once,
    an_activated_offer_adds_points_once_per_purchase_up_to_its_limit,
    a_receipt_bonus_needs_the_amount_and_a_return_takes_it_back,
);

fn ids(offers: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = offers
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn activate(app: &TestApp, token: &str, id: i64) -> crate::helpers::Answer {
    app.request(
        "POST",
        &format!("/api/v1/me/offers/{id}/activate"),
        Some(token),
        None,
    )
    .await
}

fn vegetables(receipt: &str, card: &str, amount_kop: i64) -> Value {
    json!({
        "receipt_id": receipt,
        "barcode": card,
        "lines": [{ "line_id": "1", "sku": "11000001", "category_id": 11, "amount_kop": amount_kop }],
        "redeem_points": 0,
    })
}

async fn offers_are_targeted_and_activated_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Мария: Moscow, favourite category 10 (dairy), born in May; the clock is in November.
    let (token, _, _) = app.register("89997770001").await;
    let offers = app.get("/me/offers", &token).await.expect(200);
    // Not the birthday offer (4), not the win-back one (5): she has just joined.
    assert_eq!(ids(&offers), [1, 2, 3, 6]);
    let first = &offers[0];
    for field in [
        "title",
        "description",
        "reward",
        "target",
        "starts_at",
        "ends_at",
    ] {
        assert!(!first[field].is_null(), "{first}");
    }
    assert!(offers
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["activated"] == false));

    activate(&app, &token, 4)
        .await
        .expect_problem(404, "not_found");
    activate(&app, &token, 999)
        .await
        .expect_problem(404, "not_found");
    let on = activate(&app, &token, 2).await.expect(200);
    assert_eq!(on["activated"], true);
    assert_eq!(on["uses_left"], 3);
    let again = activate(&app, &token, 2).await.expect(200);
    assert_eq!(again, on, "activating twice changes nothing");
    let listed = app.get("/me/offers", &token).await.expect(200);
    let two = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == 2)
        .unwrap();
    assert_eq!(two["activated"], true);

    // A month without purchases makes her a win-back target.
    app.clock.advance(Duration::days(31));
    let signed = app
        .post(
            "/auth/login",
            json!({ "login": "89997770001", "password": crate::helpers::PASSWORD }),
        )
        .await
        .expect(200);
    let token = signed["token"].as_str().unwrap();
    let later = app.get("/me/offers", token).await.expect(200);
    assert!(ids(&later).contains(&5), "{later}");
}

async fn an_activated_offer_adds_points_once_per_purchase_up_to_its_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let self_checkout = till(&app, 1, TillKind::SelfCheckout).await;
    let (token, card, _) = app.register("89997770002").await;

    // Not activated: nothing extra, and the till lists nothing.
    let who = pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(who["offers"], json!([]));
    let plain = pos(&app, &key, "/quote", json!({ "barcode": card, "lines": vegetables("q", &card, 100_000)["lines"], "redeem_points": 0 }))
        .await
        .expect(200);
    assert_eq!(plain["earn_points"], 100);

    activate(&app, &token, 2).await.expect(200);
    let who = pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(ids(&who["offers"]), [2]);
    let quote = pos(&app, &key, "/quote", json!({ "barcode": card, "lines": vegetables("q", &card, 100_000)["lines"], "redeem_points": 0 }))
        .await
        .expect(200);
    assert_eq!(quote["earn_points"], 200, "{quote}");
    assert_eq!(quote["offers"][0]["points"], 100);

    // Self-checkout earns nothing, offers included, and does not use the offer up.
    let sc = pos(
        &app,
        &self_checkout,
        "/purchases",
        vegetables("sc-1", &card, 100_000),
    )
    .await
    .expect(201);
    assert_eq!(sc["earned_points"], 0);

    let first = pos(&app, &key, "/purchases", vegetables("r-1", &card, 100_000))
        .await
        .expect(201);
    assert_eq!(first["earned_points"], 200);
    // A retried receipt is the same purchase: the offer counts once.
    let replay = pos(&app, &key, "/purchases", vegetables("r-1", &card, 100_000))
        .await
        .expect(200);
    assert_eq!(replay, first);
    let history = app.get("/me/history?limit=10", &token).await.expect(200);
    let items = history["items"].as_array().unwrap();
    let offer_lines: Vec<&Value> = items.iter().filter(|i| i["kind"] == "offer").collect();
    assert_eq!(offer_lines.len(), 1, "{history}");
    assert_eq!(offer_lines[0]["points"], 100);
    assert_eq!(offer_lines[0]["receipt_id"], "r-1");
    assert!(offer_lines[0]["description"]
        .as_str()
        .unwrap()
        .contains("овощи и фрукты"));
    let accrual = items
        .iter()
        .find(|i| i["kind"] == "accrual" && i["receipt_id"] == "r-1")
        .unwrap();
    assert_eq!(accrual["points"], 100);
    // The history is written once and read in each reader's language.
    assert!(accrual["description"]
        .as_str()
        .unwrap()
        .starts_with("Начисление за покупку, чек r-1"));
    let english = app
        .request_with(
            "GET",
            "/api/v1/me/history?limit=10",
            Some(&token),
            None,
            &[("Accept-Language", "en-GB,en;q=0.9")],
        )
        .await
        .expect(200);
    let english: Vec<&str> = english["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["receipt_id"] == "r-1")
        .map(|i| i["description"].as_str().unwrap())
        .collect();
    assert!(
        english.iter().any(|d| d.starts_with("Personal offer “"))
            && english
                .iter()
                .any(|d| d.starts_with("Points for a purchase, receipt r-1")),
        "{english:?}"
    );

    for receipt in ["r-2", "r-3"] {
        let p = pos(
            &app,
            &key,
            "/purchases",
            vegetables(receipt, &card, 100_000),
        )
        .await
        .expect(201);
        assert_eq!(p["earned_points"], 200);
    }
    // The limit is three purchases.
    let used = app.get("/me/offers", &token).await.expect(200);
    let two = used
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == 2)
        .unwrap();
    assert_eq!(two["uses_left"], 0);
    let fourth = pos(&app, &key, "/purchases", vegetables("r-4", &card, 100_000))
        .await
        .expect(201);
    assert_eq!(fourth["earned_points"], 100);
    let who = pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(who["offers"], json!([]));
    // 300 welcome + 3 × 200 + 100.
    assert_eq!(
        app.get("/me/balance", &token).await.expect(200)["available"],
        1000
    );
    app.assert_ledger_balanced().await;
}

async fn a_receipt_bonus_needs_the_amount_and_a_return_takes_it_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89997770003").await;
    activate(&app, &token, 3).await.expect(200);

    // 2 900 ₽ is under the 3 000 ₽ threshold: no bonus, and the offer stays.
    let small = pos(&app, &key, "/purchases", vegetables("b-1", &card, 290_000))
        .await
        .expect(201);
    assert_eq!(small["earned_points"], 290);
    let big = pos(&app, &key, "/purchases", vegetables("b-2", &card, 350_000))
        .await
        .expect(201);
    assert_eq!(big["earned_points"], 350 + 500);
    let again = pos(&app, &key, "/purchases", vegetables("b-3", &card, 350_000))
        .await
        .expect(201);
    assert_eq!(again["earned_points"], 350, "one use per customer");
    let before = app.get("/me/balance", &token).await.expect(200)["available"]
        .as_i64()
        .unwrap();
    assert_eq!(before, 300 + 290 + 850 + 350);

    // Returning the whole receipt takes back what it earned, the bonus included.
    let refund = pos(
        &app,
        &key,
        "/purchases/b-2/refunds",
        json!({ "refund_id": "rf-1" }),
    )
    .await
    .expect(201);
    assert_eq!(refund["points_taken_back"], 850);
    assert_eq!(refund["balance"], before - 850);
    app.assert_ledger_balanced().await;
}
