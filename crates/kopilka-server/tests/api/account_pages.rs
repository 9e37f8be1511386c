//! The account's own pages over plain HTTP: history, profile, cards, the one-time code,
//! sessions and deletion, contacts and feedback, on both stores.

use crate::browser::Browser;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use kopilka_domain::member::StoreId;

on_both_stores!(
    a_customer_ends_sessions_and_deletes_the_account_from_the_pages,
    the_history_page_filters_by_kind,
    the_profile_page_edits_the_profile,
    the_cards_page_binds_issues_and_blocks,
    the_account_page_gets_one_time_codes_the_till_accepts,
    contacts_and_feedback_pages_reach_support,
);

async fn a_customer_ends_sessions_and_deletes_the_account_from_the_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89997770105").await;
    let mut here = Browser::new(&app);
    here.sign_in(&card, "Firefox на ноутбуке").await;
    let mut there = Browser::new(&app);
    there.sign_in(&card, "Chrome на телефоне").await;

    let list = here.get("/account/sessions").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body
            .contains("Firefox на ноутбуке</strong> — это устройство"),
        "{}",
        list.body
    );
    assert!(list.body.contains("Chrome на телефоне"));
    assert!(list.body.contains("127.0.0.*"));
    // End the phone's session from the laptop: the form of the one that is not current.
    let at = list.body.find("Chrome на телефоне").unwrap();
    let form = &list.body[at..];
    let action = form.split("action=\"").nth(1).unwrap();
    let action = &action[..action.find('"').unwrap()];
    let csrf = list.csrf();
    assert_eq!(here.post(action, &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(there.get("/account").await.status, 303);
    assert_eq!(here.get("/account").await.status, 200);

    // Deleting asks for the confirmation first.
    let form = here.get("/account/delete").await;
    let csrf = form.csrf();
    let unconfirmed = here.post("/account/delete", &[("csrf", &csrf)]).await;
    assert_eq!(unconfirmed.status, 422);
    assert!(unconfirmed.body.contains("aria-invalid=\"true\""));
    assert_eq!(here.get("/account").await.status, 200);
    let done = here
        .post("/account/delete", &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Учётная запись удалена"));
    assert!(!here.cookies.contains_key("kp_session"));
    app.post(
        "/auth/login",
        serde_json::json!({ "login": card, "password": PASSWORD }),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    app.assert_ledger_balanced().await;
}

async fn the_history_page_filters_by_kind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, member) = app.register("89997770106").await;
    let support = app
        .staff_token("oleg", &[kopilka_domain::staff::Role::Support])
        .await;
    app.request(
        "POST",
        &format!("/api/v1/admin/members/{member}/adjustments"),
        Some(&support),
        Some(serde_json::json!({ "points": 50, "reason": "компенсация за очередь" })),
    )
    .await
    .expect(201);
    let mut browser = Browser::new(&app);
    browser.sign_in(&card, "test").await;
    let all = browser.get("/account/history").await;
    assert_eq!(all.status, 200);
    assert!(
        all.body.contains("+300") && all.body.contains("+50"),
        "{}",
        all.body
    );
    let adjustments = browser.get("/account/history?kind=adjustment").await;
    assert!(adjustments.body.contains("+50") && !adjustments.body.contains("+300"));
    assert!(adjustments.body.contains("value=\"adjustment\" selected"));
    let welcome = browser.get("/account/history?kind=welcome").await;
    assert!(welcome.body.contains("+300") && !welcome.body.contains("+50"));
    // A kind that does not exist shows everything rather than nothing.
    let unknown = browser.get("/account/history?kind=nonsense").await;
    assert!(unknown.body.contains("+300") && unknown.body.contains("+50"));
}

async fn the_profile_page_edits_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89997770108").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&card, "test").await;
    let page = browser.get("/account/profile").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"Иванова\""), "{}", page.body);
    assert!(page.body.contains("value=\"female\" checked"));
    let csrf = page.csrf();
    let form = |city: &'static str, email: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("last_name", "Иванова".to_owned()),
            ("first_name", "Мария".to_owned()),
            ("gender", "female".to_owned()),
            ("birth_date", "1990-05-17".to_owned()),
            ("city", city.to_owned()),
            ("email", email.to_owned()),
        ]
    };
    let request = browser
        .client
        .post(format!("{}/account/profile", app.base))
        .form(&form("Казань", "не-почта"));
    let wrong = browser.send(request).await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("id=\"email-error\""), "{}", wrong.body);
    assert_eq!(app.get("/me", &token).await.expect(200)["city"], "Москва");
    let request = browser
        .client
        .post(format!("{}/account/profile", app.base))
        .form(&form("Казань", "maria@example.ru"));
    let saved = browser.send(request).await;
    assert_eq!(saved.status, 303);
    let page = browser.get(saved.location()).await;
    assert!(page.body.contains("Изменения сохранены"));
    assert!(page.body.contains("value=\"Казань\""));
    let me = app.get("/me", &token).await.expect(200);
    assert_eq!(me["city"], "Казань");
    assert_eq!(me["email"], "maria@example.ru");
}

async fn the_cards_page_binds_issues_and_blocks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89997770109").await;
    let printed = app
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 1)
        .await
        .unwrap()
        .numbers[0]
        .to_string();
    let mut browser = Browser::new(&app);
    browser.sign_in(&card, "test").await;
    let page = browser.get("/account/cards").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&card));
    let csrf = page.csrf();
    let unknown = browser
        .post(
            "/account/cards",
            &[("csrf", &csrf), ("number", "4006381333931")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body.contains("Такую карту привязать нельзя"),
        "{}",
        unknown.body
    );
    let bound = browser
        .post("/account/cards", &[("csrf", &csrf), ("number", &printed)])
        .await;
    assert_eq!(bound.status, 303);
    let cards = app.get("/me/cards", &token).await.expect(200);
    assert_eq!(cards[0]["number"], printed.as_str());
    assert_eq!(cards[0]["status"], "active");
    // Blocking needs the confirmation.
    let path = format!("/account/cards/{printed}/block");
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(
        app.get("/me/cards", &token).await.expect(200)[0]["status"],
        "active"
    );
    assert_eq!(
        browser
            .post(&path, &[("csrf", &csrf), ("confirm", "yes")])
            .await
            .status,
        303
    );
    let cards = app.get("/me/cards", &token).await.expect(200);
    assert!(cards
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "blocked"));
    assert_eq!(
        browser
            .post("/account/cards/virtual", &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    let cards = app.get("/me/cards", &token).await.expect(200);
    assert_eq!(cards[0]["kind"], "virtual");
    assert_eq!(cards[0]["status"], "active");
}

async fn the_account_page_gets_one_time_codes_the_till_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89997770110").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&card, "test").await;
    let account = browser.get("/account").await;
    let csrf = account.csrf();
    let url = format!("{}/account/card-token", app.base);
    let forged = browser.client.post(&url).header("x-csrf-token", "forged");
    assert_eq!(browser.send(forged).await.status, 403);
    let asked = browser
        .client
        .post(&url)
        .header("x-csrf-token", csrf.as_str());
    let token = browser.send(asked).await;
    assert_eq!(token.status, 200, "{}", token.body);
    let token: serde_json::Value = serde_json::from_str(&token.body).unwrap();
    let code = token["code"].as_str().unwrap();
    assert!(code.starts_with("29") && code.len() == 13, "{code}");
    assert!(token["svg"].as_str().unwrap().starts_with("<svg"));
    let (_, key) = app
        .kopilka
        .create_till(
            kopilka_service::staff::Caller::Cli,
            StoreId::new(1),
            kopilka_domain::earning::TillKind::Staffed,
        )
        .await
        .unwrap();
    let who = app
        .request(
            "POST",
            "/api/v1/pos/identify",
            Some(&key),
            Some(serde_json::json!({ "barcode": code })),
        )
        .await
        .expect(200);
    assert_eq!(who["card_number"], card.as_str());
}

async fn contacts_and_feedback_pages_reach_support(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut browser = Browser::new(&app);
    let contacts = browser.get("/contacts").await;
    assert_eq!(contacts.status, 200);
    assert!(contacts.body.contains("8 800 100-00-00"));
    assert!(
        contacts.body.contains("href=\"tel:88001000000\""),
        "{}",
        contacts.body
    );
    let form = browser.get("/feedback").await;
    let csrf = form.csrf();
    let wrong = browser
        .post(
            "/feedback",
            &[
                ("csrf", &csrf),
                ("channel", "customer"),
                ("name", ""),
                ("email", "не-почта"),
                ("subject", "Касса"),
                ("body", "Спасибо кассиру!"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("id=\"name-error\"") && wrong.body.contains("id=\"email-error\""),
        "{}",
        wrong.body
    );
    // What was typed stays in the form.
    assert!(wrong.body.contains("Спасибо кассиру!"));
    let sent = browser
        .post(
            "/feedback",
            &[
                ("csrf", &csrf),
                ("channel", "employee_contractor"),
                ("name", "Олег"),
                ("email", "oleg@example.ru"),
                ("subject", "Поставка"),
                ("body", "Когда приёмка?"),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("принято"));
    let support = app
        .staff_token("vera", &[kopilka_domain::staff::Role::Support])
        .await;
    let tickets = app.get("/admin/tickets", &support).await.expect(200);
    assert!(tickets.to_string().contains("Поставка"), "{tickets}");
}
