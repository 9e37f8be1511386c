//! Marketing writes a personal offer with its targeting and schedule, sees how many customers
//! it reaches now (by the same rule that shows them the offer), and schedules promotions.

use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::till::{basket, pos, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use kopilka_domain::staff::Role;
use serde_json::{json, Value};

on_both_stores!(
    marketing_targets_an_offer_and_sees_its_reach,
    marketing_schedules_promotions_and_events
);

async fn customer_in(app: &TestApp, phone: &str, city: &str) -> String {
    let token = app.registration_token(phone).await;
    let mut form = TestApp::registration_form(&token);
    form["city"] = city.into();
    app.post("/auth/register", form).await.expect(201)["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn reach(app: &TestApp, token: &str, target: Value) -> u64 {
    app.request(
        "POST",
        "/api/v1/admin/reach",
        Some(token),
        Some(json!({ "target": target })),
    )
    .await
    .expect(200)["customers"]
        .as_u64()
        .unwrap()
}

async fn marketing_targets_an_offer_and_sees_its_reach(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let marketing = app.staff_token("marketing", &[Role::Marketing]).await;
    let support = app.staff_token("support", &[Role::Support]).await;
    let tver = json!({ "kind": "city", "city": "Тверь" });
    assert_eq!(reach(&app, &marketing, tver.clone()).await, 0);
    let first = customer_in(&app, "+79995558001", "Тверь").await;
    let _second = customer_in(&app, "+79995558002", "тверь ").await;
    let moscow = customer_in(&app, "+79995558003", "Москва").await;
    assert_eq!(reach(&app, &marketing, tver.clone()).await, 2);
    assert_eq!(
        reach(&app, &marketing, json!({ "kind": "everyone" })).await,
        3
    );
    // Мария's registration form picks dairy (10) as the favourite category.
    let dairy = json!({ "kind": "favourite_category", "category_id": 10 });
    assert_eq!(reach(&app, &marketing, dairy).await, 3);

    // Support may not; a wrong offer is refused field by field, and nothing is made.
    let now = app.clock_now();
    let body = json!({
        "title": "Двойные баллы в Твери",
        "description": "На молочные продукты",
        "reward": { "kind": "category_points", "category_id": 10, "extra_multiplier": 1 },
        "target": tver,
        "starts_at": now - Duration::hours(1),
        "ends_at": now + Duration::days(14),
        "per_customer_limit": 3,
    });
    app.request(
        "POST",
        "/api/v1/admin/offers",
        Some(&support),
        Some(body.clone()),
    )
    .await
    .expect_problem(403, "forbidden");
    let mut wrong = body.clone();
    wrong["title"] = "".into();
    wrong["ends_at"] = json!(now - Duration::days(1));
    wrong["reward"]["category_id"] = 999_999.into();
    let refused = app
        .request(
            "POST",
            "/api/v1/admin/offers",
            Some(&marketing),
            Some(wrong),
        )
        .await;
    let mut fields = refused.fields();
    fields.sort();
    assert_eq!(fields, ["ends_at", "reward", "title"], "{:?}", refused.body);
    assert!(
        app.get("/admin/offers", &marketing).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["title"] != "Двойные баллы в Твери")
    );

    let made = app
        .request(
            "POST",
            "/api/v1/admin/offers",
            Some(&marketing),
            Some(body.clone()),
        )
        .await
        .expect(201);
    let id = made["id"].as_i64().unwrap();
    assert_eq!(made["status"], "running");
    // The customers it reaches see it; the one in Moscow does not.
    let sees = |token: String| {
        let app = &app;
        async move {
            app.get("/me/offers", &token)
                .await
                .expect(200)
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == id)
        }
    };
    assert!(sees(first.clone()).await);
    assert!(!sees(moscow.clone()).await);

    // Moved to Moscow, scheduled for next week: nobody sees it yet; the change is audited
    // with what it was.
    let mut changed = body.clone();
    changed["target"] = json!({ "kind": "city", "city": "Москва" });
    changed["starts_at"] = json!(now + Duration::days(7));
    let updated = app
        .request(
            "PUT",
            &format!("/api/v1/admin/offers/{id}"),
            Some(&marketing),
            Some(changed),
        )
        .await
        .expect(200);
    assert_eq!(updated["status"], "scheduled");
    assert!(!sees(moscow.clone()).await);
    app.clock.advance(Duration::days(8));
    assert!(sees(moscow.clone()).await);
    assert!(!sees(first.clone()).await);
    let admin = app.staff_token("admin", &[Role::Admin]).await;
    let audit = app
        .get(&format!("/admin/audit?entity=offer:{id}"), &admin)
        .await
        .expect(200);
    let update = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "offer.update")
        .expect("the change is audited");
    let details = &update["details"];
    assert_eq!(details["before"]["target"]["city"], "Тверь");
    assert_eq!(details["after"]["target"]["city"], "Москва");

    // Purchase history: a customer who buys leaves the win-back audience. (A week on, the
    // morning's staff session has long ended.)
    let marketing = app.staff_token("marketing-later", &[Role::Marketing]).await;
    let inactive = json!({ "kind": "inactive", "days": 7 });
    assert_eq!(reach(&app, &marketing, inactive.clone()).await, 3);
    let key = till(&app, 1, TillKind::Staffed).await;
    let card = app.get("/me/cards", &first).await.expect(200)[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "mkt-1", "barcode": card, "lines": basket(), "redeem_points": 0 }),
    )
    .await
    .expect(201);
    assert_eq!(reach(&app, &marketing, inactive).await, 2);
}

async fn marketing_schedules_promotions_and_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let marketing = app.staff_token("marketing", &[Role::Marketing]).await;
    let now = app.clock_now();
    let body = json!({
        "kind": "event",
        "title": "Дегустация сыров",
        "description": "В субботу в зале у касс",
        "city": "Тверь",
        "starts_at": now + Duration::days(2),
        "ends_at": now + Duration::days(2) + Duration::hours(4),
    });
    let made = app
        .request(
            "POST",
            "/api/v1/admin/promotions",
            Some(&marketing),
            Some(body.clone()),
        )
        .await
        .expect(201);
    assert_eq!(made["status"], "scheduled");
    let id = made["id"].as_i64().unwrap();
    // Customers in Tver see it among the events; the public list is the one marketing wrote.
    let events = app
        .request("GET", "/api/v1/events?city=Тверь", None, None)
        .await
        .expect(200);
    assert!(
        events.as_array().unwrap().iter().any(|e| e["id"] == id),
        "{events}"
    );
    let mut wrong = body.clone();
    wrong["kind"] = "sale".into();
    app.request(
        "POST",
        "/api/v1/admin/promotions",
        Some(&marketing),
        Some(wrong),
    )
    .await
    .expect_invalid();
    let mut unknown_store = body.clone();
    unknown_store["store_id"] = 999_999.into();
    let refused = app
        .request(
            "POST",
            "/api/v1/admin/promotions",
            Some(&marketing),
            Some(unknown_store),
        )
        .await;
    assert_eq!(refused.fields(), ["store_id"]);
    let mut moved = body.clone();
    moved["city"] = Value::Null;
    let updated = app
        .request(
            "PUT",
            &format!("/api/v1/admin/promotions/{id}"),
            Some(&marketing),
            Some(moved),
        )
        .await
        .expect(200);
    assert_eq!(updated["city"], Value::Null);
    let listed = app.get("/admin/promotions", &marketing).await.expect(200);
    assert_eq!(listed["items"][0]["id"], id);
    app.request(
        "PUT",
        "/api/v1/admin/promotions/999999",
        Some(&marketing),
        Some(body),
    )
    .await
    .expect_problem(404, "not_found");
}
