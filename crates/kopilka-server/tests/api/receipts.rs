//! `/me/purchases`: receipts with each line explained, paged; the favourite category's
//! chooser with what the customer's own purchases would have earned.

use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::till::{pos, till};
use kopilka_domain::earning::TillKind;
use serde_json::{json, Value};

on_both_stores!(
    a_receipt_says_why_each_line_earned_what_it_did,
    purchases_are_paged_newest_first_and_private,
    the_chooser_shows_what_each_category_would_have_earned,
);

/// Milk (dairy, the favourite), bread (base rate), cigarettes (excluded).
pub(crate) fn mixed(receipt: &str, card: &str) -> Value {
    json!({
        "receipt_id": receipt,
        "barcode": card,
        "lines": [
            { "line_id": "1", "sku": "10000001", "category_id": 10, "amount_kop": 50_000 },
            { "line_id": "2", "sku": "14000001", "category_id": 14, "amount_kop": 30_000 },
            { "line_id": "3", "sku": "99999999", "category_id": 8, "amount_kop": 20_000 },
        ],
        "redeem_points": 0,
    })
}

fn reasons(receipt: &Value) -> Vec<&str> {
    receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect()
}

async fn a_receipt_says_why_each_line_earned_what_it_did(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let staffed = till(&app, 1, TillKind::Staffed).await;
    let self_checkout = till(&app, 1, TillKind::SelfCheckout).await;
    let (token, card, _) = app.register("89997780001").await;

    let sale = pos(&app, &staffed, "/purchases", mixed("R-1", &card))
        .await
        .expect(201);
    // 500 ₽ ×2 + 300 ₽ = 130 points; nothing on tobacco.
    assert_eq!(sale["earned_points"], 130);
    let list = app.get("/me/purchases", &token).await.expect(200);
    let id = list["items"][0]["id"].as_i64().unwrap();
    let receipt = app
        .get(&format!("/me/purchases/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(receipt["receipt_id"], "R-1");
    assert_eq!(receipt["store_id"], 1);
    assert_eq!(receipt["earned_points"], 130);
    assert_eq!(receipt["redeemed_points"], 0);
    assert_eq!(
        reasons(&receipt),
        ["favourite", "base", "excluded_category"]
    );
    let lines = receipt["lines"].as_array().unwrap();
    assert_eq!(lines[0]["earned_points"], 100);
    assert_eq!(lines[1]["earned_points"], 30);
    assert_eq!(lines[2]["earned_points"], 0);
    // Named from the catalogue where it knows the product.
    assert_eq!(lines[0]["name"], "Молоко пастеризованное 3,2% 930 мл");
    assert_eq!(lines[2]["name"], Value::Null);
    assert_eq!(receipt["refunds"], json!([]));

    // Self-checkout earns nothing, and the receipt says so.
    pos(&app, &self_checkout, "/purchases", mixed("R-2", &card))
        .await
        .expect(201);
    let list = app.get("/me/purchases", &token).await.expect(200);
    let id2 = list["items"][0]["id"].as_i64().unwrap();
    let receipt = app
        .get(&format!("/me/purchases/{id2}"), &token)
        .await
        .expect(200);
    assert_eq!(
        reasons(&receipt),
        ["self_checkout", "self_checkout", "self_checkout"]
    );

    // A personal offer's points are told apart from the rate's: a 500-point bonus on a
    // receipt of 3 000 ₽ or more.
    app.request("POST", "/api/v1/me/offers/3/activate", Some(&token), None)
        .await
        .expect(200);
    let big = json!({
        "receipt_id": "R-3",
        "barcode": card,
        "lines": [
            { "line_id": "1", "sku": "14000001", "category_id": 14, "amount_kop": 400_000 },
            { "line_id": "2", "sku": "99999999", "category_id": 8, "amount_kop": 20_000 },
        ],
        "redeem_points": 0,
    });
    let sale = pos(&app, &staffed, "/purchases", big).await.expect(201);
    assert_eq!(sale["earned_points"], 400 + 500);
    let list = app.get("/me/purchases", &token).await.expect(200);
    let id3 = list["items"][0]["id"].as_i64().unwrap();
    let receipt = app
        .get(&format!("/me/purchases/{id3}"), &token)
        .await
        .expect(200);
    assert_eq!(reasons(&receipt), ["offer", "excluded_category"]);
    assert_eq!(receipt["lines"][0]["earned_points"], 900);
    assert_eq!(receipt["lines"][0]["offer_points"], 500);

    // A return shows on the receipt, line and refund both.
    pos(
        &app,
        &staffed,
        "/purchases/R-1/refunds",
        json!({ "refund_id": "RF-1", "lines": [{ "line_id": "2", "amount_kop": 30_000 }] }),
    )
    .await
    .expect(201);
    let receipt = app
        .get(&format!("/me/purchases/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(receipt["lines"][1]["refunded_kop"], 30_000);
    assert_eq!(receipt["refunds"][0]["refund_id"], "RF-1");
    assert_eq!(receipt["refunds"][0]["points_taken_back"], 30);
}

async fn purchases_are_paged_newest_first_and_private(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89997780002").await;
    let (other, _, _) = app.register("89997780003").await;
    for n in 1..=5 {
        pos(&app, &key, "/purchases", mixed(&format!("P-{n}"), &card))
            .await
            .expect(201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/me/purchases?limit=2&cursor={c}"),
            None => "/me/purchases?limit=2".to_owned(),
        };
        let page = app.get(&path, &token).await.expect(200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            assert_eq!(item["total_kop"], 100_000);
            assert_eq!(item["paid_points"], 0);
            assert_eq!(item["earned_points"], 130);
            seen.push(item["receipt_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["P-5", "P-4", "P-3", "P-2", "P-1"]);

    let id = app.get("/me/purchases", &token).await.expect(200)["items"][0]["id"]
        .as_i64()
        .unwrap();
    // Another customer's receipt is as unknown as a missing one.
    app.get(&format!("/me/purchases/{id}"), &other)
        .await
        .expect_problem(404, "not_found");
    app.get("/me/purchases/999999", &token)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(
        app.get("/me/purchases", &other).await.expect(200)["items"],
        json!([])
    );
    for bad in ["limit=0", "limit=101", "cursor=garbage", "cursor=1.0"] {
        app.get(&format!("/me/purchases?{bad}"), &token)
            .await
            .expect_problem(422, "validation_failed");
    }
    app.request("GET", "/api/v1/me/purchases", None, None)
        .await
        .expect_problem(401, "unauthorized");
}

async fn the_chooser_shows_what_each_category_would_have_earned(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89997780004").await;
    pos(&app, &key, "/purchases", mixed("C-1", &card))
        .await
        .expect(201);
    let chooser = app.get("/me/favourite-category", &token).await.expect(200);
    let choices = chooser["choices"].as_array().unwrap();
    let of = |id: i64| {
        choices
            .iter()
            .find(|c| c["category_id"] == id)
            .unwrap_or_else(|| panic!("no category {id} in {chooser}"))
    };
    // Dairy (the favourite now): 500 ₽ ×2 + 300 ₽; bread: 500 ₽ + 300 ₽ ×2; toys: no
    // purchases, the base rate only.
    assert_eq!(of(10)["would_have_earned"], 130);
    assert_eq!(of(10)["current"], true);
    assert_eq!(of(14)["would_have_earned"], 110);
    assert_eq!(of(14)["current"], false);
    assert_eq!(of(41)["would_have_earned"], 80);
    assert_eq!(choices[0]["category_id"], 10, "best first");
    // Not the excluded tobacco, not "food" as a whole.
    assert!(choices
        .iter()
        .all(|c| c["category_id"] != 8 && c["category_id"] != 1));
    // Chosen at registration this month: it may change next month.
    assert!(chooser["next_change_at"].is_string(), "{chooser}");
    assert!(chooser["since"].is_string());
}
