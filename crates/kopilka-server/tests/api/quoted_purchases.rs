//! A till identifies the card and quotes the basket before the purchase, seconds apart. On
//! PostgreSQL the purchase is priced against the state the quote read, kept on the node; these
//! stories change that state between the quote and the purchase, in every way it can change,
//! and the purchase must come out as if nothing had been kept. On SQLite nothing is kept, and
//! the same stories hold.

use crate::helpers::{Answer, Backend, TestApp};
use crate::on_both_stores;
use crate::till::{balance, pos, purchases_at_once, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use kopilka_domain::staff::Role;
use serde_json::{json, Value};

on_both_stores!(
    a_purchase_sees_points_taken_after_its_quote,
    points_that_become_available_after_the_quote_can_be_spent,
    the_daily_limit_counts_the_purchases_own_day,
    a_retry_after_a_quote_gets_its_first_answer,
    quoted_sales_racing_on_one_card_never_spend_more_than_the_balance,
);

fn bread() -> Value {
    json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }])
}

async fn quote(app: &TestApp, key: &str, card: &str, redeem: i64) -> Value {
    pos(
        app,
        key,
        "/quote",
        json!({ "barcode": card, "lines": bread(), "redeem_points": redeem }),
    )
    .await
    .expect(200)
}

async fn buy(app: &TestApp, key: &str, card: &str, receipt: &str, redeem: i64) -> Answer {
    pos(
        app,
        key,
        "/purchases",
        json!({ "receipt_id": receipt, "barcode": card, "lines": bread(), "redeem_points": redeem }),
    )
    .await
}

async fn a_purchase_sees_points_taken_after_its_quote(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let olga = app.staff_token("olga", &[Role::Support]).await;
    let (token, card, member) = app.register("89995550101").await;
    pos(&app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);
    assert_eq!(quote(&app, &key, &card, 300).await["redeem_points"], 300);
    // Support takes 200 points back between the quote and the purchase.
    app.request(
        "POST",
        &format!("/api/v1/admin/members/{member}/adjustments"),
        Some(&olga),
        Some(json!({ "points": -200, "reason": "Ошибочное начисление" })),
    )
    .await
    .expect(201);
    buy(&app, &key, &card, "Q1", 300)
        .await
        .expect_problem(409, "insufficient_points");
    let bought = buy(&app, &key, &card, "Q2", 100).await.expect(201);
    assert_eq!(bought["redeemed_points"], 100);
    assert_eq!(bought["balance"], balance(&app, &token).await);
    app.assert_ledger_balanced().await;
}

async fn points_that_become_available_after_the_quote_can_be_spent(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.accrual_pending_days = 14).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550102").await;
    let earned = buy(&app, &key, &card, "P1", 0).await.expect(201);
    assert_eq!(earned["earned_points"], 100);
    app.clock.advance(Duration::days(14) - Duration::minutes(1));
    assert_eq!(
        quote(&app, &key, &card, 400).await["max_redeem_points"],
        300,
        "a minute before, the 100 points are still pending"
    );
    app.clock.advance(Duration::minutes(2));
    let spent = buy(&app, &key, &card, "P2", 400).await.expect(201);
    assert_eq!(spent["redeemed_points"], 400);
    assert_eq!(spent["balance"], 0, "what P2 earned is pending itself");
    assert_eq!(balance(&app, &token).await, 0);
    app.assert_ledger_balanced().await;
}

async fn the_daily_limit_counts_the_purchases_own_day(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (_, card, _) = app.register("89995550103").await;
    for receipt in ["D1", "D2", "D3", "D4", "D5"] {
        assert_eq!(
            buy(&app, &key, &card, receipt, 0).await.expect(201)["earned_points"],
            100
        );
    }
    // Quoted after the day's five earning receipts: the sixth of the day earns nothing, and
    // the quote says so.
    assert_eq!(quote(&app, &key, &card, 0).await["earn_points"], 0);
    assert_eq!(
        buy(&app, &key, &card, "D6", 0).await.expect(201)["earned_points"],
        0
    );
    // Quoted on that day, bought on the next: it earns again.
    assert_eq!(quote(&app, &key, &card, 0).await["earn_points"], 0);
    app.clock.advance(Duration::days(1));
    assert_eq!(
        buy(&app, &key, &card, "D7", 0).await.expect(201)["earned_points"],
        100
    );
    assert_eq!(quote(&app, &key, &card, 0).await["earn_points"], 100);
    app.assert_ledger_balanced().await;
}

async fn a_retry_after_a_quote_gets_its_first_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (_, card, _) = app.register("89995550104").await;
    let body =
        json!({ "receipt_id": "R1", "barcode": card, "lines": bread(), "redeem_points": 300 });
    let first = pos(&app, &key, "/purchases", body.clone())
        .await
        .expect(201);
    // The quote now sees the points spent; the till, having lost the first answer, sends the
    // purchase again, and must get it rather than "insufficient points".
    quote(&app, &key, &card, 0).await;
    let again = pos(&app, &key, "/purchases", body).await.expect(200);
    assert_eq!(again, first);
    app.assert_ledger_balanced().await;
}

async fn quoted_sales_racing_on_one_card_never_spend_more_than_the_balance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550105").await;
    let mut keys = Vec::new();
    for store in 1..=4 {
        keys.push(till(&app, store, TillKind::Staffed).await);
    }
    let tobacco = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 10000 }]);
    for round in 0..3 {
        // Each till quotes, then all of them buy at once.
        for key in &keys {
            pos(
                &app,
                key,
                "/quote",
                json!({ "barcode": card, "lines": tobacco, "redeem_points": 40 }),
            )
            .await
            .expect(200);
        }
        let sales = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let body = json!({ "receipt_id": format!("C{round}-{i}"), "barcode": card, "lines": tobacco, "redeem_points": 40 });
                (key.clone(), body)
            })
            .collect();
        let answers = purchases_at_once(&app, sales).await;
        assert!(
            answers.iter().all(|(s, _)| *s == 201 || *s == 409),
            "{answers:?}"
        );
    }
    // 7 of the 12 sales fit in 300 points; tobacco earns nothing.
    assert_eq!(balance(&app, &token).await, 20);
    app.assert_ledger_balanced().await;
    app.assert_nothing_rolled_back().await;
}
