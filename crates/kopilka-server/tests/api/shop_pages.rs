//! The pages of what a customer buys and asks, over plain HTTP on both stores: purchases and
//! receipts, the favourite category's chooser, personal offers, support questions, stores,
//! the catalogue, promotions and the data export; and an incomplete profile led to the form.

use crate::browser::Browser;
use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::receipts::mixed;
use crate::till::{pos, till};
use kopilka_domain::earning::TillKind;
use serde_json::json;

on_both_stores!(
    receipts_and_the_favourite_category_on_the_pages,
    offers_and_support_questions_on_the_pages,
    stores_catalogue_and_promotions_for_anyone,
    an_incomplete_profile_is_led_to_the_form,
);

/// The `href` of the first link whose path starts with `prefix`.
fn link(body: &str, prefix: &str) -> String {
    let at = body
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix} in {body}"));
    let rest = &body[at + "href=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn receipts_and_the_favourite_category_on_the_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (_, card, _) = app.register("89997790001").await;
    let (_, other_card, _) = app.register("89997790002").await;
    pos(&app, &key, "/purchases", mixed("W-1", &card))
        .await
        .expect(201);
    let mut browser = Browser::new(&app);
    browser.sign_in(&card, "Firefox").await;

    let list = browser.get("/account/purchases").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("Гипермаркет «Ленинградский»"),
        "{}",
        list.body
    );
    assert!(list.body.contains("1\u{a0}000,00\u{a0}₽"));
    assert!(list.body.contains("+130"));
    let receipt_path = link(&list.body, "/account/purchases/");
    let receipt = browser.get(&receipt_path).await;
    assert_eq!(receipt.status, 200);
    for text in [
        "Чек W-1",
        "Молоко пастеризованное 3,2% 930 мл",
        "×2 — любимая категория",
        "1 балл за 10 ₽",
        "на эту категорию баллы не начисляются",
        "+100",
        "+30",
    ] {
        assert!(receipt.body.contains(text), "{text}: {}", receipt.body);
    }
    // English, the same receipt.
    let english = browser.get(&format!("{receipt_path}?lang=en")).await;
    assert!(english.body.contains("×2 — favourite category"));
    assert!(english.body.contains("₽1,000.00"));
    browser.get("/account?lang=ru").await;

    // Someone else's receipt is not there for them.
    let mut other = Browser::new(&app);
    other.sign_in(&other_card, "Chrome").await;
    let theirs = other.get(&receipt_path).await;
    assert_eq!(theirs.status, 404);
    assert!(theirs.body.contains("Такого чека нет"));
    assert!(!theirs.body.contains("Молоко"));

    // The chooser: dairy is the favourite and earned most; it was chosen at registration
    // this month, so it waits for the next one.
    let chooser = browser.get("/account/favourite").await;
    assert_eq!(chooser.status, 200);
    assert!(
        chooser
            .body
            .contains("Молочные продукты <strong>(сейчас)</strong>"),
        "{}",
        chooser.body
    );
    assert!(chooser.body.contains("+130"));
    assert!(chooser.body.contains("Следующая смена"));
    let csrf = chooser.csrf();
    let locked = browser
        .post("/account/favourite", &[("csrf", &csrf), ("category", "14")])
        .await;
    assert_eq!(locked.status, 422);
    assert!(locked.body.contains("role=\"alert\""));
    // Next month it may change (signed in again: the session has been idle too long).
    app.clock.advance(chrono::Duration::days(35));
    browser.sign_in(&card, "Firefox").await;
    let chooser = browser.get("/account/favourite").await;
    let csrf = chooser.csrf();
    assert!(
        !chooser.body.contains("Следующая смена"),
        "{}",
        chooser.body
    );
    let chosen = browser
        .post("/account/favourite", &[("csrf", &csrf), ("category", "14")])
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    assert_eq!(chosen.location(), "/account/favourite?saved=1");
    let after = browser.get("/account/favourite?saved=1").await;
    assert!(after
        .body
        .contains("Хлеб и выпечка <strong>(сейчас)</strong>"));
    let unchosen = browser
        .post("/account/favourite", &[("csrf", &csrf), ("category", "")])
        .await;
    assert_eq!(unchosen.status, 422);

    // The data export downloads the API's document.
    let export = browser.get("/account/export").await;
    assert_eq!(export.status, 200);
    assert!(export.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("kopilka-export.json"));
    let document: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(document["purchases"][0]["receipt_id"], "W-1");
    assert_eq!(document["profile"]["favourite_category_id"], 14);
}

async fn offers_and_support_questions_on_the_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89997790003").await;
    let (_, other_card, _) = app.register("89997790004").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&card, "Firefox").await;

    let offers = browser.get("/account/offers").await;
    assert_eq!(offers.status, 200);
    let activate = link(
        &offers.body.replace("action=\"", "href=\""),
        "/account/offers/",
    );
    let csrf = offers.csrf();
    // Masked afresh on every page (the pages are compressed: BREACH), and each one works.
    let again = browser.get("/account/offers").await.csrf();
    assert_ne!(csrf, again);
    let done = browser.post(&activate, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), "/account/offers?activated=1");
    let offers = browser.get("/account/offers?activated=1").await;
    assert!(offers.body.contains("Предложение активировано"));
    assert!(offers.body.contains("✓ Активировано"));
    // An offer that does not exist changes nothing.
    let missing = browser
        .post("/account/offers/999/activate", &[("csrf", &csrf)])
        .await;
    assert_eq!(missing.location(), "/account/offers");

    // A question: blank fields are named beside themselves and at the top.
    let support = browser.get("/account/support").await;
    assert!(support.body.contains("Вы ещё не писали в поддержку"));
    let blank = browser
        .post(
            "/account/support",
            &[("csrf", &csrf), ("subject", " "), ("body", "")],
        )
        .await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("id=\"subject-error\""));
    assert!(blank.body.contains("id=\"body-error\""));
    assert!(blank.body.contains("class=\"error-summary\""));
    let opened = browser
        .post(
            "/account/support",
            &[
                ("csrf", &csrf),
                ("subject", "Не начислились баллы"),
                ("body", "Чек от 5 декабря, баллов нет."),
            ],
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let thread_path = opened.location().to_owned();
    let id: i64 = thread_path.rsplit('/').next().unwrap().parse().unwrap();
    // Support answers through the API; the thread shows it.
    let staff = app
        .staff_token("olga", &[kopilka_domain::staff::Role::Support])
        .await;
    app.request(
        "POST",
        &format!("/api/v1/admin/tickets/{id}/messages"),
        Some(&staff),
        Some(json!({ "body": "Баллы начислены вручную." })),
    )
    .await
    .expect(201);
    let thread = browser.get(&thread_path).await;
    assert!(thread.body.contains("Чек от 5 декабря, баллов нет."));
    assert!(thread.body.contains("Баллы начислены вручную."));
    assert!(thread.body.contains("есть ответ"));
    let replied = browser
        .post(&thread_path, &[("csrf", &csrf), ("body", "Спасибо!")])
        .await;
    assert_eq!(replied.status, 303);
    assert!(browser.get(&thread_path).await.body.contains("Спасибо!"));
    let empty = browser
        .post(&thread_path, &[("csrf", &csrf), ("body", "")])
        .await;
    assert_eq!(empty.status, 422);
    // Another customer cannot read or answer it.
    let mut other = Browser::new(&app);
    other.sign_in(&other_card, "Chrome").await;
    assert_eq!(other.get(&thread_path).await.status, 404);
    let other_csrf = other.get("/account/support").await.csrf();
    let forged = other
        .post(&thread_path, &[("csrf", &other_csrf), ("body", "чужой")])
        .await;
    assert_eq!(forged.status, 404);
    assert!(!browser.get(&thread_path).await.body.contains("чужой"));
}

async fn stores_catalogue_and_promotions_for_anyone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut browser = Browser::new(&app);
    let stores = browser.get("/stores").await;
    assert_eq!(stores.status, 200);
    assert!(stores.body.contains("Гипермаркет «Ленинградский»"));
    assert!(stores.body.contains("08:00–23:00"));
    // By city, and nearest first from a point (Pulkovo: St Petersburg's stores first).
    let spb = browser.get("/stores?city=Санкт-Петербург").await;
    assert!(!spb.body.contains("Ленинградское шоссе"), "{}", spb.body);
    // As a customer types it in a profile: the same city, and the select shows it chosen.
    let typed = browser.get("/stores?city=санкт-петербург").await;
    assert!(
        !typed.body.contains("Ленинградское шоссе"),
        "{}",
        typed.body
    );
    assert!(typed
        .body
        .contains("<option selected>Санкт-Петербург</option>"));
    let near = browser.get("/stores?lat=59.80&lon=30.27").await;
    assert!(near.body.contains("Ближайшие к вам магазины"));
    assert!(near.body.contains("\u{a0}км"));
    let first_store = near.body.find("<h2>").unwrap();
    assert!(
        !near.body[first_store..first_store + 200].contains("Ленинградский"),
        "{}",
        &near.body[first_store..]
    );
    let garbage = browser.get("/stores?lat=north&lon=999").await;
    assert_eq!(garbage.status, 200);

    // Russian search finds the word in any form, within a category or not.
    let milk = browser.get("/catalog?q=молоком").await;
    assert_eq!(milk.status, 200);
    assert!(
        milk.body.contains("Молоко пастеризованное"),
        "{}",
        milk.body
    );
    let bread = browser.get("/catalog?category=14").await;
    assert!(bread.body.contains("Хлеб"), "{}", bread.body);
    assert!(!bread.body.contains("Молоко"));
    let nothing = browser.get("/catalog?q=zzzzqqq").await;
    assert!(nothing.body.contains("Ничего не нашлось"));
    let odd = browser.get("/catalog?category=99999&cursor=garbage").await;
    assert_eq!(odd.status, 200);
    // Paged: the next page carries the query on.
    let all = browser.get("/catalog").await;
    let next = link(&all.body, "/catalog?q=&amp;category=&amp;cursor=").replace("&amp;", "&");
    assert_eq!(browser.get(&next).await.status, 200);

    // A mistyped address is a page in the visitor's language for a browser; the API's, and
    // anything asked for without HTML, stay problems.
    const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
    let missing = browser.get_with("/stroes", "accept", HTML).await;
    assert_eq!(missing.status, 404);
    assert!(missing.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(missing.body.contains("Такой страницы нет"));
    assert!(missing.headers.contains_key("content-security-policy"));
    let english = browser.get_with("/stroes?lang=en", "accept", HTML).await;
    assert!(english.body.contains("There is no such page"));
    browser.get("/?lang=ru").await;
    for (path, accept) in [("/api/v1/stroes", HTML), ("/stroes", "application/json")] {
        let problem = browser.get_with(path, "accept", accept).await;
        assert_eq!(problem.status, 404);
        assert!(problem.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json"));
    }

    // Pages are gzipped for browsers that ask; the API is not.
    let gzipped = |path: &'static str| {
        let client = browser.client.clone();
        let url = format!("{}{path}", app.base);
        async move {
            let res = client
                .get(url)
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            res.headers()
                .get("content-encoding")
                .is_some_and(|v| v == "gzip")
        }
    };
    assert!(gzipped("/catalog?q=молоко").await);
    assert!(!gzipped("/api/v1/products?q=молоко").await);

    let promotions = browser.get("/promotions?city=Москва").await;
    assert_eq!(promotions.status, 200);
    assert!(promotions.body.contains("<h2>Акции</h2>"));
    assert!(promotions.body.contains("<h2>События</h2>"));
    assert!(promotions.body.contains("<h3>"), "{}", promotions.body);
}

async fn an_incomplete_profile_is_led_to_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.import_incomplete_member("89997790005").await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/login").await.csrf();
    browser
        .post("/login/phone", &[("csrf", &csrf), ("phone", "89997790005")])
        .await;
    let code = app.last_code("+79997790005").await;
    let signed = browser
        .post(
            "/login/code",
            &[("csrf", &csrf), ("phone", "+79997790005"), ("code", &code)],
        )
        .await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location(), "/account/profile?incomplete=1");
    let form = browser.get(signed.location()).await;
    assert!(form.body.contains("Заполните анкету"), "{}", form.body);
    // The pages that need the profile lead there too; the card still shows.
    for path in ["/account/offers", "/account/support"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location(), "/account/profile?incomplete=1");
    }
    assert_eq!(browser.get("/account").await.status, 200);
}
