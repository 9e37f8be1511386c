//! The web pages over plain HTTP, as a browser without script would use them: cookies, forms,
//! redirects, on both stores.

use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::BTreeMap;

on_both_stores!(
    pages_speak_russian_first_and_english_when_asked,
    a_customer_signs_in_with_a_password_and_sees_the_account,
    a_customer_signs_in_with_an_sms_code,
    forms_without_their_token_change_nothing,
    a_customer_ends_sessions_and_deletes_the_account_from_the_pages,
    the_history_page_filters_by_kind,
    a_new_phone_joins_through_the_wizard,
    the_profile_page_edits_the_profile,
    the_cards_page_binds_issues_and_blocks,
    the_account_page_gets_one_time_codes_the_till_accepts,
    contacts_and_feedback_pages_reach_support,
);

/// A browser: its cookies, and no redirects followed, so each step can be checked.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    /// The value of the hidden `csrf` input.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf token");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    fn location(&self) -> &str {
        self.headers[LOCATION].to_str().unwrap()
    }
}

impl<'a> Browser<'a> {
    /// Signs in at `/login` with a password.
    async fn sign_in(&mut self, login: &str, agent: &str) {
        let csrf = self.get("/login").await.csrf();
        let request = self
            .client
            .post(format!("{}/login/password", self.app.base))
            .header("user-agent", agent)
            .form(&[
                ("csrf", csrf.as_str()),
                ("login", login),
                ("password", PASSWORD),
            ]);
        let page = self.send(request).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }

    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(COOKIE, cookie.join("; "))
        };
        let res = request.send().await.unwrap();
        for set in res.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax"),
                "{set}"
            );
            let (pair, _) = set.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.app.base));
        self.send(request).await
    }

    async fn get_with(&mut self, path: &str, name: &str, value: &str) -> Page {
        let request = self
            .client
            .get(format!("{}{path}", self.app.base))
            .header(name, value);
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.app.base))
            .form(form);
        self.send(request).await
    }
}

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
    let printed = app.kopilka.issue_cards(1).await.unwrap()[0].to_string();
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
        .create_till(1, kopilka_domain::earning::TillKind::Staffed)
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
