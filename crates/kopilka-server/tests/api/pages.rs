//! The web pages over plain HTTP, as a browser without script would use them: cookies, forms,
//! redirects, on both stores.

use crate::browser::{Browser, Page};
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::on_both_stores;

on_both_stores!(
    pages_speak_russian_first_and_english_when_asked,
    a_customer_signs_in_with_a_password_and_sees_the_account,
    a_customer_signs_in_with_an_sms_code,
    forms_without_their_token_change_nothing,
    a_new_phone_joins_through_the_wizard,
);

async fn pages_speak_russian_first_and_english_when_asked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut browser = Browser::new(&app);
    let home = browser.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<html lang=\"ru\""));
    assert!(home.body.contains("Копилка"));
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    // The stylesheet is this host's, under a name that changes with its content.
    let css = home.body.split("href=\"/assets/").nth(1).unwrap();
    let css = format!("/assets/{}", &css[..css.find('"').unwrap()]);
    let sheet = browser.get(&css).await;
    assert_eq!(sheet.status, 200);
    assert!(sheet.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));

    let english = browser.get("/login?lang=en").await;
    assert!(
        english.body.contains("<html lang=\"en\""),
        "{}",
        english.body
    );
    assert!(english.body.contains("Sign in"));
    // Remembered on the next page.
    assert!(browser.get("/").await.body.contains("<html lang=\"en\""));
    // A new visitor whose browser prefers English.
    let mut other = Browser::new(&app);
    let page = other
        .get_with("/", "accept-language", "en-GB,en;q=0.9,ru;q=0.3")
        .await;
    assert!(page.body.contains("<html lang=\"en\""));
}

async fn a_customer_signs_in_with_a_password_and_sees_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89997770101").await;
    let mut browser = Browser::new(&app);
    let away = browser.get("/account").await;
    assert_eq!(away.status, 303);
    assert_eq!(away.location(), "/login");

    let login = browser.get("/login").await;
    let csrf = login.csrf();
    let wrong = browser
        .post(
            "/login/password",
            &[
                ("csrf", &csrf),
                ("login", &card),
                ("password", "не-тот-пароль"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("error-summary"), "{}", wrong.body);
    assert!(wrong.body.contains("Неверный логин или пароль"));
    assert!(wrong.body.contains("aria-invalid=\"true\""));

    let signed = browser
        .post(
            "/login/password",
            &[
                ("csrf", &csrf),
                ("login", "+7 (999) 777-01-01"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location(), "/account");
    assert!(browser.cookies.contains_key("kp_session"));

    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert_eq!(account.headers["cache-control"], "no-store");
    assert!(
        account.body.contains("data-available>300<"),
        "{}",
        account.body
    );
    assert!(account.body.contains(&card));
    assert!(account.body.contains("Приветственные") || account.body.contains("300"));
    let barcode = browser.get(&format!("/account/card/{card}.svg")).await;
    assert_eq!(barcode.status, 200);
    assert!(barcode.body.starts_with("<svg"));
    // Someone else's number is not drawn for this customer.
    let (_, other_card, _) = app.register("89997770102").await;
    assert_eq!(
        browser
            .get(&format!("/account/card/{other_card}.svg"))
            .await
            .status,
        404
    );

    let csrf = account.csrf();
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!browser.cookies.contains_key("kp_session"));
    assert_eq!(browser.get("/account").await.status, 303);
}

async fn a_customer_signs_in_with_an_sms_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("89997770103").await;
    app.clock.advance(chrono::Duration::minutes(2));
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/login").await.csrf();
    let bad = browser
        .post("/login/phone", &[("csrf", &csrf), ("phone", "12345")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"phone-error\""), "{}", bad.body);
    let asked = browser
        .post(
            "/login/phone",
            &[("csrf", &csrf), ("phone", "8 999 777 01 03")],
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("name=\"code\""));
    assert!(asked.body.contains("+79997770103"));
    let code = app.last_code("+79997770103").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser
        .post(
            "/login/code",
            &[("csrf", &csrf), ("phone", "+79997770103"), ("code", wrong)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Неверный код"));
    let signed = browser
        .post(
            "/login/code",
            &[("csrf", &csrf), ("phone", "+79997770103"), ("code", &code)],
        )
        .await;
    assert_eq!(signed.status, 303);
    assert_eq!(browser.get("/account").await.status, 200);
}

async fn forms_without_their_token_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89997770104").await;
    let mut browser = Browser::new(&app);
    browser.get("/login").await;
    for token in ["", "forged"] {
        let page = browser
            .post(
                "/login/password",
                &[("csrf", token), ("login", &card), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(!browser.cookies.contains_key("kp_session"));
    }
    // Another visitor's token is not this one's.
    let mut other = Browser::new(&app);
    let theirs = other.get("/login").await.csrf();
    let page = browser
        .post(
            "/login/password",
            &[("csrf", &theirs), ("login", &card), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
}

/// The hidden fields a page carries, as the next step's form sends them back.
fn hidden_fields(body: &str) -> Vec<(String, String)> {
    body.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let name = &rest[..rest.find('"').unwrap()];
            let value = rest.split("value=\"").nth(1).unwrap();
            let value = &value[..value.find('"').unwrap()];
            (
                name.to_owned(),
                value.replace("&#43;", "+").replace("&#x2B;", "+"),
            )
        })
        .collect()
}

async fn a_new_phone_joins_through_the_wizard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/login").await.csrf();
    browser
        .post("/login/phone", &[("csrf", &csrf), ("phone", "89997770107")])
        .await;
    let code = app.last_code("+79997770107").await;
    let verified = browser
        .post(
            "/login/code",
            &[("csrf", &csrf), ("phone", "+79997770107"), ("code", &code)],
        )
        .await;
    assert_eq!(verified.status, 303);
    assert_eq!(verified.location(), "/register");
    assert!(browser.cookies.contains_key("kp_reg"));

    let profile = browser.get("/register").await;
    assert_eq!(profile.status, 200);
    assert!(profile.body.contains("Шаг 1 из 4"));
    let send = |page: &Page, fields: &[(&str, &str)]| {
        let mut form = hidden_fields(&page.body);
        form.retain(|(k, _)| !fields.iter().any(|(f, _)| f == k));
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        form
    };
    let missing = send(
        &profile,
        &[
            ("step", "profile"),
            ("gender", "female"),
            ("city", "Москва"),
        ],
    );
    let page = post_form(&mut browser, &missing).await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("id=\"last_name-error\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"birth_date-error\""));
    let consents = post_form(
        &mut browser,
        &send(
            &profile,
            &[
                ("step", "profile"),
                ("last_name", "Иванова"),
                ("gender", "female"),
                ("birth_date", "1990-05-17"),
                ("city", "Москва"),
            ],
        ),
    )
    .await;
    assert_eq!(consents.status, 200, "{}", consents.body);
    assert!(consents.body.contains("Шаг 2 из 4"));
    let refused = post_form(&mut browser, &send(&consents, &[("step", "consents")])).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Без согласия"));
    let password = post_form(
        &mut browser,
        &send(&consents, &[("step", "consents"), ("personal_data", "yes")]),
    )
    .await;
    assert!(password.body.contains("Шаг 3 из 4"));
    let mismatch = post_form(
        &mut browser,
        &send(
            &password,
            &[
                ("step", "password"),
                ("password", PASSWORD),
                ("password_again", "другой-пароль"),
            ],
        ),
    )
    .await;
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.body.contains("Пароли не совпадают"));
    let category = post_form(
        &mut browser,
        &send(
            &password,
            &[
                ("step", "password"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        ),
    )
    .await;
    assert!(category.body.contains("Шаг 4 из 4"), "{}", category.body);
    // The password itself is not on the page; its sealed hash is.
    assert!(!category.body.contains(PASSWORD));
    assert!(hidden_fields(&category.body)
        .iter()
        .any(|(k, v)| k == "sealed" && v.contains("$argon2id$")));
    // A hash sealed to another registration, or tampered with, is refused.
    let tampered = post_form(
        &mut browser,
        &send(
            &category,
            &[
                ("step", "category"),
                ("category", "10"),
                ("sealed", "0.$argon2id$x"),
            ],
        ),
    )
    .await;
    assert_eq!(tampered.status, 422);
    let done = post_form(
        &mut browser,
        &send(&category, &[("step", "category"), ("category", "10")]),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Начать работу"));
    assert!(!browser.cookies.contains_key("kp_reg"));
    let account = browser.get("/account").await;
    assert!(account.body.contains("data-available>300<"));
    app.post(
        "/auth/login",
        serde_json::json!({ "login": "89997770107", "password": PASSWORD }),
    )
    .await
    .expect(200);
}

async fn post_form(browser: &mut Browser<'_>, form: &[(String, String)]) -> Page {
    let request = browser
        .client
        .post(format!("{}/register", browser.app.base))
        .form(form);
    browser.send(request).await
}
