use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use chrono::{DateTime, Utc};
use serde_json::json;

on_both_stores!(
    profile_changes_and_required_fields,
    favourite_category_once_a_calendar_month,
    history_paging_is_validated
);

async fn profile_changes_and_required_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89993330001").await;
    let patch = |body| app.request("PATCH", "/api/v1/me", Some(&token), Some(body));

    let me = patch(json!({ "city": "Казань", "email": null, "first_name": "Мари", "consents": { "newsletters": true } }))
        .await
        .expect(200);
    assert_eq!(me["city"], "Казань");
    assert_eq!(me["email"], serde_json::Value::Null);
    assert_eq!(me["first_name"], "Мари");
    assert_eq!(me["last_name"], "Иванова");
    assert_eq!(me["consents"]["newsletters"], true);
    assert_eq!(me["profile_complete"], true);

    let answer =
        patch(json!({ "last_name": null, "birth_date": "31.12.1990", "favourite_store_id": 9999 }))
            .await;
    answer.expect_problem(422, "validation_failed");
    let mut fields = answer.fields();
    fields.sort();
    assert_eq!(fields, ["birth_date", "last_name"]);
    let answer = patch(json!({ "favourite_store_id": 9999 })).await;
    answer.expect_problem(422, "validation_failed");
    assert_eq!(answer.fields(), ["favourite_store_id"]);
    patch(json!({ "consents": { "personal_data": false } }))
        .await
        .expect_problem(422, "validation_failed");
    // Nothing of the refused patches was written.
    let me = app.get("/me", &token).await.expect(200);
    assert_eq!(me["last_name"], "Иванова");
    assert_eq!(me["favourite_store_id"], 1);
    // The phone is not changed through the profile.
    let me = patch(json!({ "phone": "+79990000000" })).await.expect(200);
    assert_eq!(me["phone"], "+79993330001");
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn favourite_category_once_a_calendar_month(backend: Backend) {
    // Sessions outlive the two months this story spans.
    let app = TestApp::spawn_with(backend, |s| s.customer_session_days = 90).await;
    let (token, _, _) = app.register("89993330002").await;
    let put = |category: i64| {
        app.request(
            "PUT",
            "/api/v1/me/favourite-category",
            Some(&token),
            Some(json!({ "category_id": category })),
        )
    };

    // Chosen at registration on 15 November: locked until 1 December, Moscow time.
    let answer = put(11).await;
    answer.expect_problem(409, "favourite_category_locked");
    assert_eq!(answer.body["next_change_at"], "2026-11-30T21:00:00Z");
    app.request(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(json!({ "favourite_category_id": 11 })),
    )
    .await
    .expect_problem(409, "favourite_category_locked");

    // 23:59 on 30 November in Moscow is still November.
    app.clock.set(utc("2026-11-30T20:59:00Z"));
    put(11)
        .await
        .expect_problem(409, "favourite_category_locked");
    // 00:00 on 1 December in Moscow (21:00 UTC) is a new month.
    app.clock.set(utc("2026-11-30T21:00:00Z"));
    let me = put(11).await.expect(200);
    assert_eq!(me["favourite_category_id"], 11);
    put(12)
        .await
        .expect_problem(409, "favourite_category_locked");
    assert_eq!(
        app.get("/me", &token).await.expect(200)["favourite_category_id"],
        11
    );

    app.clock.set(utc("2026-12-10T10:00:00Z"));
    let answer = put(424242).await;
    answer.expect_problem(422, "validation_failed");
    assert_eq!(answer.fields(), ["category_id"]);
    // The same category again is not a change.
    let me = app
        .request(
            "PATCH",
            "/api/v1/me",
            Some(&token),
            Some(json!({ "favourite_category_id": 11, "city": "Тверь" })),
        )
        .await
        .expect(200);
    assert_eq!(me["city"], "Тверь");
    put(12)
        .await
        .expect_problem(409, "favourite_category_locked");
    app.clock.set(utc("2026-12-31T21:00:00Z"));
    put(12).await.expect(200);
}

async fn history_paging_is_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89993330003").await;
    let page = app.get("/me/history?limit=1", &token).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], serde_json::Value::Null);
    app.get("/me/history?limit=0", &token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/me/history?limit=101", &token)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/me/history?limit=ten", &token)
        .await
        .expect_problem(400, "validation_failed");
    app.get("/me/history?cursor=abc", &token)
        .await
        .expect_problem(422, "validation_failed");
    let empty = app.get("/me/history?cursor=1", &token).await.expect(200);
    assert_eq!(empty["items"], json!([]));
}
