//! The customer's personal-data controls (SPEC §1.7): the export, and the deletion of the
//! account, asked for directly or by withdrawing the consent to process personal data.

use crate::helpers::{Answer, Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use crate::till::{basket, pos, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use kopilka_domain::ledger::MovementKind;
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::Role;
use serde_json::{json, Value};

on_both_stores!(
    the_export_holds_everything_kept_about_the_customer,
    a_deleted_account_is_gone_and_its_phone_may_join_again,
    a_debt_stays_on_the_books_when_the_account_is_deleted,
    withdrawing_the_personal_data_consent_deletes_only_once_confirmed,
);

async fn liability(app: &TestApp, accounting: &str) -> i64 {
    let report = app
        .get("/admin/reports/liability", accounting)
        .await
        .expect(200);
    assert_eq!(report["balanced"], true, "{report}");
    report["liability_points"].as_i64().unwrap()
}

async fn login(app: &TestApp, login: &str) -> Answer {
    app.post(
        "/auth/login",
        json!({ "login": login, "password": PASSWORD }),
    )
    .await
}

/// The `member.delete` audit row of the member: its details.
async fn deletion_audited(app: &TestApp, member: i64) -> Value {
    let entries = app
        .kopilka
        .store_for_tests()
        .audit_log(&kopilka_store::AuditFilter::default(), 100)
        .await
        .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "member.delete" && e.subject == format!("member:{member}"))
        .expect("a member.delete audit row");
    assert_eq!(entry.actor, format!("member:{member}"));
    serde_json::from_str(&entry.details).unwrap()
}

/// What a deleted member leaves behind: nobody signs in as them, their cards are refused at
/// the till, the ledger still balances.
async fn assert_deleted(app: &TestApp, token: &str, phone: &str, card: &str, key: &str) {
    app.get("/me", token)
        .await
        .expect_problem(401, "unauthorized");
    app.request("DELETE", "/api/v1/me", Some(token), None)
        .await
        .expect_problem(401, "unauthorized");
    login(app, phone)
        .await
        .expect_problem(401, "invalid_credentials");
    login(app, card)
        .await
        .expect_problem(401, "invalid_credentials");
    pos(app, key, "/identify", json!({ "barcode": card }))
        .await
        .expect_problem(409, "card_blocked");
    pos(
        app,
        key,
        "/purchases",
        json!({ "receipt_id": format!("after-{card}"), "barcode": card, "lines": basket() }),
    )
    .await
    .expect_problem(409, "card_blocked");
    app.assert_ledger_balanced().await;
}

async fn the_export_holds_everything_kept_about_the_customer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, id) = app.register("89996660001").await;
    let bought = pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "R1", "barcode": card, "lines": basket(), "redeem_points": 100 }),
    )
    .await
    .expect(201);
    app.request("POST", "/api/v1/me/offers/2/activate", Some(&token), None)
        .await
        .expect(200);
    let ticket = app
        .request(
            "POST",
            "/api/v1/me/tickets",
            Some(&token),
            Some(json!({ "subject": "Баллы", "body": "Где мои баллы за чек R1?" })),
        )
        .await
        .expect(201);
    let physical = app
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 1)
        .await
        .unwrap()
        .numbers[0]
        .to_string();
    app.request(
        "POST",
        "/api/v1/me/cards",
        Some(&token),
        Some(json!({ "number": physical })),
    )
    .await
    .expect(201);
    app.request(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(json!({ "consents": { "newsletters": true } })),
    )
    .await
    .expect(200);

    app.request("GET", "/api/v1/me/export", None, None)
        .await
        .expect_problem(401, "unauthorized");
    let answer = app
        .request("GET", "/api/v1/me/export", Some(&token), None)
        .await;
    assert_eq!(
        answer.headers["content-disposition"],
        "attachment; filename=\"kopilka-export.json\""
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
    let export = answer.expect(200);

    assert_eq!(export["profile"], app.get("/me", &token).await.expect(200));
    assert_eq!(export["profile"]["id"], id);
    // Given at registration, then the newsletters: each with its version and time.
    let consents = export["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2, "{export}");
    assert_eq!(consents[0]["personal_data"], true);
    assert_eq!(consents[0]["newsletters"], false);
    assert_eq!(consents[1]["newsletters"], true);
    for c in consents {
        assert!(c["version"].is_string() && c["at"].is_string(), "{c}");
    }
    assert_eq!(
        export["cards"],
        app.get("/me/cards", &token).await.expect(200)
    );
    assert_eq!(export["cards"].as_array().unwrap().len(), 2);
    assert_eq!(
        export["balance"],
        app.get("/me/balance", &token).await.expect(200)
    );
    // The whole history, as its pages list it one after another.
    let mut pages = Vec::new();
    let mut path = "/me/history?limit=1".to_owned();
    loop {
        let page = app.get(&path, &token).await.expect(200);
        pages.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/me/history?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert!(pages.len() >= 3, "welcome, redemption, accrual: {pages:?}");
    assert_eq!(export["history"], Value::Array(pages));
    let purchase = &export["purchases"][0];
    assert_eq!(purchase["id"], bought["purchase_id"]);
    assert_eq!(purchase["receipt_id"], "R1");
    assert_eq!(purchase["store_id"], 1);
    assert_eq!(purchase["card_number"], card.as_str());
    assert_eq!(purchase["paid_points"], 100);
    assert_eq!(purchase["earned_points"], bought["earned_points"]);
    assert_eq!(purchase["total_kop"], 70050);
    let lines = purchase["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["line_id"], "1");
    assert_eq!(lines[0]["sku"], "4607001771234");
    assert_eq!(lines[0]["reason"], "favourite");
    assert_eq!(lines[2]["reason"], "excluded_category");
    assert_eq!(export["offers"][0]["offer_id"], 2);
    assert!(export["offers"][0]["title"].is_string(), "{export}");
    assert!(export["offers"][0]["activated_at"].is_string(), "{export}");
    assert_eq!(export["tickets"][0]["id"], ticket["id"]);
    assert_eq!(export["tickets"][0]["subject"], "Баллы");
    assert_eq!(
        export["tickets"][0]["messages"][0]["body"],
        "Где мои баллы за чек R1?"
    );
    assert!(export["exported_at"].is_string());

    // Both calls are documented, `DELETE /me` beside the profile's own methods.
    let spec = app
        .request("GET", "/api/v1/openapi.json", None, None)
        .await
        .expect(200);
    for method in ["get", "patch", "delete"] {
        assert!(spec["paths"]["/me"][method].is_object(), "{method} /me");
    }
    assert!(spec["paths"]["/me/export"]["get"].is_object());
}

async fn a_deleted_account_is_gone_and_its_phone_may_join_again(backend: Backend) {
    // Earned points wait out a pending period: those go as well as the available ones.
    let app = TestApp::spawn_with(backend, |s| s.accrual_pending_days = 14).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let accounting = app.staff_token("acc", &[Role::Accounting]).await;
    let (token, card, id) = app.register("89996660002").await;
    let (other, other_card, _) = app.register("89996660003").await;
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "D1", "barcode": card, "lines": basket(), "redeem_points": 100 }),
    )
    .await
    .expect(201);
    let balance = app.get("/me/balance", &token).await.expect(200);
    let (available, pending) = (
        balance["available"].as_i64().unwrap(),
        balance["pending"].as_i64().unwrap(),
    );
    assert!(available > 0 && pending > 0, "{balance}");
    let before = liability(&app, &accounting).await;
    // As a request that authenticated a moment before the deletion holds it.
    let stale = app
        .kopilka
        .store_for_tests()
        .member(MemberId::new(id))
        .await
        .unwrap()
        .unwrap();

    app.request("DELETE", "/api/v1/me", Some(&token), None)
        .await
        .expect(204);

    assert_deleted(&app, &token, "89996660002", &card, &key).await;
    let report = app
        .get("/admin/reports/liability", &accounting)
        .await
        .expect(200);
    assert_eq!(
        report["forfeited_points"].as_i64().unwrap(),
        available + pending,
        "the liability report shows what was forfeited: {report}"
    );
    // Such a request gets no new card for the deleted account, virtual or printed.
    assert!(app.kopilka.new_virtual_card(&stale).await.is_err());
    let printed = app
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 1)
        .await
        .unwrap()
        .numbers
        .remove(0);
    assert!(app
        .kopilka
        .bind_card(&stale, &printed, "127.0.0.1")
        .await
        .is_err());
    let forfeited = available + pending;
    assert_eq!(liability(&app, &accounting).await, before - forfeited);
    assert_eq!(
        deletion_audited(&app, id).await,
        json!({ "forfeited": forfeited, "debt": 0 })
    );
    // The anonymised ledger explains where the points went: one expiry a lot, to the forfeit
    // account, newest last.
    let history = app
        .kopilka
        .store_for_tests()
        .history(MemberId::new(id), 100, None)
        .await
        .unwrap();
    let gone: Vec<_> = history
        .iter()
        .take_while(|e| e.kind == MovementKind::Expiry)
        .collect();
    assert_eq!(
        gone.len(),
        2,
        "the welcome lot and the purchase's: {history:?}"
    );
    assert_eq!(gone.iter().map(|e| e.points.get()).sum::<i64>(), -forfeited);
    let ru = kopilka_text::Lang::Ru.texts();
    assert!(gone
        .iter()
        .all(|e| ru.render_stored(&e.description).contains("удалена")));
    assert!(app
        .kopilka
        .store_for_tests()
        .member(MemberId::new(id))
        .await
        .unwrap()
        .is_none());
    // Nobody can put points on it again.
    let support = app.staff_token("olga", &[Role::Support]).await;
    app.request(
        "POST",
        &format!("/api/v1/admin/members/{id}/adjustments"),
        Some(&support),
        Some(json!({ "points": 10, "reason": "Компенсация" })),
    )
    .await
    .expect_problem(404, "not_found");
    // A return of their old receipt moves no points on the dead account: the till refunds
    // the money without the card.
    pos(
        &app,
        &key,
        "/purchases/D1/refunds",
        json!({ "refund_id": "D1-R" }),
    )
    .await
    .expect_problem(409, "card_blocked");
    assert_eq!(liability(&app, &accounting).await, before - forfeited);
    app.assert_ledger_balanced().await;
    // Nobody else lost anything.
    assert_eq!(
        app.get("/me/balance", &other).await.expect(200)["available"],
        300
    );
    pos(&app, &key, "/identify", json!({ "barcode": other_card }))
        .await
        .expect(200);

    // The phone is free: the SMS code now leads to a registration, a new customer's.
    app.clock.advance(Duration::minutes(2));
    let (again, again_card, again_id) = app.register("89996660002").await;
    assert_ne!(again_id, id);
    assert_ne!(again_card, card);
    let me = app.get("/me", &again).await.expect(200);
    assert_eq!(me["phone"], "+79996660002");
    assert_eq!(
        app.get("/me/balance", &again).await.expect(200)["available"],
        300
    );
    assert_eq!(
        app.get("/me/history", &again).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing of the deleted account's history"
    );
    assert_eq!(liability(&app, &accounting).await, before - forfeited + 300);
    login(&app, "89996660002").await.expect(200);
    login(&app, &card)
        .await
        .expect_problem(401, "invalid_credentials");
    app.assert_ledger_balanced().await;
}

async fn a_debt_stays_on_the_books_when_the_account_is_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let accounting = app.staff_token("acc", &[Role::Accounting]).await;
    let (token, card, id) = app.register("89996660004").await;
    // 500 points earned, everything spent, the purchase that earned them returned.
    let tv = json!([{ "line_id": "1", "sku": "tv", "category_id": 6, "amount_kop": 500000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "TV", "barcode": card, "lines": tv }),
    )
    .await
    .expect(201);
    let tobacco = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 100000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "F", "barcode": card, "lines": tobacco, "redeem_points": 800 }),
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
    let before = liability(&app, &accounting).await;

    app.request("DELETE", "/api/v1/me", Some(&token), None)
        .await
        .expect(204);

    assert_deleted(&app, &token, "89996660004", &card, &key).await;
    assert_eq!(liability(&app, &accounting).await, before, "the debt stays");
    assert_eq!(
        deletion_audited(&app, id).await,
        json!({ "forfeited": 0, "debt": 500 })
    );
    let balance = app
        .kopilka
        .store_for_tests()
        .ledger_balance(MemberId::new(id), app.clock_now(), None)
        .await
        .unwrap();
    assert_eq!(balance.available.get(), -500);
}

async fn withdrawing_the_personal_data_consent_deletes_only_once_confirmed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let accounting = app.staff_token("acc", &[Role::Accounting]).await;
    let (token, card, id) = app.register("89996660005").await;
    let patch = |body| app.request("PATCH", "/api/v1/me", Some(&token), Some(body));
    app.request(
        "POST",
        "/api/v1/me/tickets",
        Some(&token),
        Some(json!({ "subject": "Вопрос", "body": "Как удалить аккаунт?" })),
    )
    .await
    .expect(201);
    let profile = app.get("/me", &token).await.expect(200);

    let answer = patch(json!({ "consents": { "personal_data": false }, "city": "Тверь" })).await;
    answer.expect_problem(422, "validation_failed");
    assert_eq!(answer.fields(), ["consents.personal_data"]);
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("удалит учётную запись") && message.contains("confirm_deletion"),
        "{message}"
    );
    // A confirmation without a withdrawal confirms nothing.
    let answer = patch(json!({ "confirm_deletion": true })).await;
    answer.expect_problem(422, "validation_failed");
    assert_eq!(answer.fields(), ["confirm_deletion"]);
    // Nothing changed.
    assert_eq!(app.get("/me", &token).await.expect(200), profile);
    assert!(app
        .kopilka
        .store_for_tests()
        .audit_log(&kopilka_store::AuditFilter::default(), 100)
        .await
        .unwrap()
        .iter()
        .all(|e| e.action != "member.delete"));
    let before = liability(&app, &accounting).await;

    patch(json!({ "consents": { "personal_data": false }, "confirm_deletion": true }))
        .await
        .expect(204);

    assert_deleted(&app, &token, "89996660005", &card, &key).await;
    assert_eq!(liability(&app, &accounting).await, before - 300);
    assert_eq!(
        deletion_audited(&app, id).await,
        json!({ "forfeited": 300, "debt": 0 })
    );
    // The ticket stays for support's records, without the contacts it was opened with.
    let tickets = app
        .kopilka
        .store_for_tests()
        .member_tickets(MemberId::new(id))
        .await
        .unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!((&tickets[0].phone, &tickets[0].email), (&None, &None));
}
