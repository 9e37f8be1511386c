//! Sign-in under races and abuse, sessions the customer controls, and input that must never
//! become a 5xx: each story attacks the running server as an outsider would.

use crate::helpers::{Answer, Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use futures_util::future::join_all;
use serde_json::{json, Value};

on_both_stores!(
    concurrent_wrong_passwords_are_checked_at_most_the_limit,
    spraying_meets_the_address_and_the_overall_budgets,
    concurrent_wrong_codes_are_compared_at_most_five_times,
    forwarded_for_counts_only_from_the_right,
    customers_list_and_end_their_sessions,
    idle_sessions_end_and_a_password_change_ends_the_others,
    answers_with_tokens_or_personal_data_are_not_stored,
    passwords_are_eight_characters_and_not_the_chains_name,
    control_characters_are_refused_never_stored,
    card_binding_tells_nothing_and_is_limited,
    codes_are_hashed_with_the_configured_key,
);

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status.as_u16()).collect()
}

fn count(answers: &[Answer], status: u16, code: &str) -> usize {
    answers
        .iter()
        .filter(|a| a.status.as_u16() == status && a.code() == code)
        .count()
}

/// 48 wrong passwords for one account at once, by phone and by card number alike: the
/// account's budget of 5 is claimed before any hash, so 5 are checked and 43 are refused
/// without one, each with `Retry-After`.
async fn concurrent_wrong_passwords_are_checked_at_most_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89993330001").await;
    let tries = (0..48).map(|i| {
        let login = if i % 2 == 0 {
            "89993330001"
        } else {
            card.as_str()
        };
        app.post(
            "/auth/login",
            json!({ "login": login, "password": format!("неверный-пароль-{i}") }),
        )
    });
    let answers = join_all(tries).await;
    assert_eq!(
        count(&answers, 401, "invalid_credentials"),
        5,
        "{:?}",
        statuses(&answers)
    );
    assert_eq!(count(&answers, 429, "rate_limited"), 43);
    for a in answers.iter().filter(|a| a.status == 429) {
        let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(wait > 0 && wait <= 900, "{wait}");
    }
    assert_eq!(app.security_events("login_failed").await, 5);
    assert_eq!(app.security_events("login_throttled").await, 43);
    // The right password too waits out the window, by phone or by card.
    app.post(
        "/auth/login",
        json!({ "login": card, "password": PASSWORD }),
    )
    .await
    .expect_problem(429, "rate_limited");
    app.clock.advance(chrono::Duration::minutes(15));
    app.post(
        "/auth/login",
        json!({ "login": card, "password": PASSWORD }),
    )
    .await
    .expect(200);
}

/// One address trying one password on many accounts meets its own budget; many addresses
/// meet the overall one.
async fn spraying_meets_the_address_and_the_overall_budgets(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login_ip_max_failures = 3;
        s.login_global_max_failures = 5;
        s.trust_forwarded_for = true;
    })
    .await;
    let attempt = |phone: String, ip: &'static str| {
        let app = &app;
        async move {
            app.request_with(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({ "login": phone, "password": "весна-2026" })),
                &[("x-forwarded-for", ip)],
            )
            .await
        }
    };
    for i in 0..3 {
        attempt(format!("8999444000{i}"), "198.51.100.1")
            .await
            .expect_problem(401, "invalid_credentials");
    }
    attempt("89994440009".into(), "198.51.100.1")
        .await
        .expect_problem(429, "rate_limited");
    // Other addresses go on until everyone's budget of failures is spent.
    attempt("89994440010".into(), "198.51.100.2")
        .await
        .expect_problem(401, "invalid_credentials");
    attempt("89994440011".into(), "198.51.100.3")
        .await
        .expect_problem(401, "invalid_credentials");
    attempt("89994440012".into(), "198.51.100.4")
        .await
        .expect_problem(429, "rate_limited");
}

/// 200 wrong codes at once for one code, for sign-in and for password recovery: the tries are
/// claimed before the code is compared, so 5 are compared (4 answered `otp_invalid`, the
/// fifth `otp_attempts_exceeded`) and the right code is dead afterwards.
async fn concurrent_wrong_codes_are_compared_at_most_five_times(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phone = "89993330002";
    app.post("/auth/otp", json!({ "phone": phone }))
        .await
        .expect(202);
    let right = app.last_code(phone).await;
    let wrong = wrong_code(&right);
    let answers = join_all(
        (0..200).map(|_| app.post("/auth/otp/verify", json!({ "phone": phone, "code": wrong }))),
    )
    .await;
    assert_eq!(
        count(&answers, 400, "otp_invalid"),
        4,
        "{:?}",
        statuses(&answers)
    );
    assert_eq!(count(&answers, 400, "otp_attempts_exceeded"), 196);
    assert_eq!(app.security_events("otp_wrong").await, 5);
    app.post("/auth/otp/verify", json!({ "phone": phone, "code": right }))
        .await
        .expect_problem(400, "otp_attempts_exceeded");

    let (_, card, _) = app.register("89993330003").await;
    app.post("/auth/password-reset", json!({ "login": card }))
        .await
        .expect(202);
    let right = app.last_code("89993330003").await;
    let wrong = wrong_code(&right);
    let confirm =
        |code: &str| json!({ "login": card, "code": code, "password": "новый-пароль-2026" });
    let answers =
        join_all((0..200).map(|_| app.post("/auth/password-reset/confirm", confirm(&wrong)))).await;
    assert_eq!(
        count(&answers, 400, "otp_invalid"),
        4,
        "{:?}",
        statuses(&answers)
    );
    assert_eq!(count(&answers, 400, "otp_attempts_exceeded"), 196);
    assert_eq!(app.security_events("otp_wrong").await, 10);
    app.post("/auth/password-reset/confirm", confirm(&right))
        .await
        .expect_problem(400, "otp_attempts_exceeded");
    // Nothing changed: the old password still signs in.
    app.post(
        "/auth/login",
        json!({ "login": card, "password": PASSWORD }),
    )
    .await
    .expect(200);
}

fn wrong_code(right: &str) -> String {
    if right == "000000" {
        "000001"
    } else {
        "000000"
    }
    .to_owned()
}

/// The client's address is the rightmost `X-Forwarded-For` hop that is not a trusted proxy:
/// what a client writes on the left of the header buys it nothing.
async fn forwarded_for_counts_only_from_the_right(backend: Backend) {
    let one_hop = TestApp::spawn_with(backend, |s| {
        s.trust_forwarded_for = true;
        s.sms_per_ip_hourly = 3;
    })
    .await;
    let mut answers = Vec::new();
    for i in 0..6 {
        let forwarded = format!("10.9.9.{i}, 198.51.100.7");
        answers.push(
            one_hop
                .request_with(
                    "POST",
                    "/api/v1/auth/otp",
                    None,
                    Some(json!({ "phone": format!("8999555000{i}") })),
                    &[("x-forwarded-for", forwarded.as_str())],
                )
                .await,
        );
    }
    assert_eq!(statuses(&answers), [202, 202, 202, 429, 429, 429]);

    // Behind a listed proxy, two clients have budgets of their own.
    let proxied = TestApp::spawn_with(backend, |s| {
        s.trusted_proxies = "127.0.0.0/8".into();
        s.sms_per_ip_hourly = 3;
    })
    .await;
    let send = |i: usize, client: &'static str| {
        let proxied = &proxied;
        async move {
            let forwarded = format!("203.0.113.9, {client}");
            proxied
                .request_with(
                    "POST",
                    "/api/v1/auth/otp",
                    None,
                    Some(json!({ "phone": format!("899955510{i:02}") })),
                    &[("x-forwarded-for", forwarded.as_str())],
                )
                .await
                .status
                .as_u16()
        }
    };
    let mut first = Vec::new();
    let mut second = Vec::new();
    for i in 0..3 {
        first.push(send(i, "198.51.100.1").await);
        second.push(send(10 + i, "198.51.100.2").await);
    }
    assert_eq!(first, [202, 202, 202]);
    assert_eq!(second, [202, 202, 202]);
    assert_eq!(send(20, "198.51.100.1").await, 429);
}

async fn sign_in_as(app: &TestApp, login: &str, agent: &str) -> String {
    app.request_with(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({ "login": login, "password": PASSWORD })),
        &[("user-agent", agent)],
    )
    .await
    .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn customers_list_and_end_their_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, card, _) = app.register("89993330004").await;
    let phone = sign_in_as(&app, "89993330004", "Kopilka/2.1 (Android 14)").await;
    let desktop = sign_in_as(&app, &card, "Mozilla/5.0 (X11; Linux x86_64)").await;
    let listed = app.get("/me/sessions", &phone).await.expect(200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{listed}");
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Kopilka/2.1 (Android 14)");
    assert!(items.iter().all(|s| s["ip"] == "127.0.0.*"), "{listed}");
    // Newest first: the desktop's.
    assert_eq!(items[0]["user_agent"], "Mozilla/5.0 (X11; Linux x86_64)");
    let desktop_id = items[0]["id"].as_i64().unwrap();

    app.request(
        "DELETE",
        &format!("/api/v1/me/sessions/{desktop_id}"),
        Some(&phone),
        None,
    )
    .await
    .expect(204);
    app.get("/me", &desktop)
        .await
        .expect_problem(401, "unauthorized");
    app.request(
        "DELETE",
        &format!("/api/v1/me/sessions/{desktop_id}"),
        Some(&phone),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    // Another customer cannot end this one's sessions.
    let (stranger, _, _) = app.register("89993330005").await;
    let first_id = items[2]["id"].as_i64().unwrap();
    app.request(
        "DELETE",
        &format!("/api/v1/me/sessions/{first_id}"),
        Some(&stranger),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    app.get("/me", &first).await.expect(200);

    app.request("POST", "/api/v1/auth/logout-all", Some(&phone), None)
        .await
        .expect(204);
    for token in [&first, &phone] {
        app.get("/me", token)
            .await
            .expect_problem(401, "unauthorized");
    }
    app.get("/me", &stranger).await.expect(200);
}

async fn idle_sessions_end_and_a_password_change_ends_the_others(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.customer_session_idle_days = 14).await;
    let (token, card, _) = app.register("89993330006").await;
    // Used every 13 days, it lives on (up to its 30 days)…
    for _ in 0..2 {
        app.clock.advance(chrono::Duration::days(13));
        app.get("/me", &token).await.expect(200);
    }
    // …left alone for 14 days, it ends.
    app.clock.advance(chrono::Duration::days(14));
    app.get("/me", &token)
        .await
        .expect_problem(401, "unauthorized");

    let here = sign_in_as(&app, &card, "here").await;
    let there = sign_in_as(&app, &card, "there").await;
    app.request(
        "POST",
        "/api/v1/me/password",
        Some(&here),
        Some(json!({ "old_password": "не-тот-пароль", "new_password": "другой-пароль-2026" })),
    )
    .await
    .expect_invalid();
    app.get("/me", &there).await.expect(200);
    app.request(
        "POST",
        "/api/v1/me/password",
        Some(&here),
        Some(json!({ "old_password": PASSWORD, "new_password": "другой-пароль-2026" })),
    )
    .await
    .expect(204);
    app.get("/me", &here).await.expect(200);
    app.get("/me", &there)
        .await
        .expect_problem(401, "unauthorized");
    app.post(
        "/auth/login",
        json!({ "login": card, "password": PASSWORD }),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    app.post(
        "/auth/login",
        json!({ "login": card, "password": "другой-пароль-2026" }),
    )
    .await
    .expect(200);
}

async fn answers_with_tokens_or_personal_data_are_not_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89993330007").await;
    let signed = app
        .post(
            "/auth/login",
            json!({ "login": card, "password": PASSWORD }),
        )
        .await;
    assert_eq!(signed.headers["cache-control"], "no-store");
    for path in ["/me", "/me/balance", "/me/sessions", "/me/cards"] {
        let answer = app.get(path, &token).await;
        assert_eq!(answer.headers["cache-control"], "no-store", "{path}");
    }
    let public = app.request("GET", "/api/v1/categories", None, None).await;
    assert!(public.headers.get("cache-control").is_none());
}

async fn passwords_are_eight_characters_and_not_the_chains_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.registration_token("89993330008").await;
    for weak in ["лес-7-к", "Karusel-2026", "копилка2026"] {
        let mut form = TestApp::registration_form(&token);
        form["password"] = json!(weak);
        let answer = app.post("/auth/register", form).await;
        answer.expect_invalid();
        assert_eq!(answer.fields(), ["password"], "{weak}");
    }
    let mut form = TestApp::registration_form(&token);
    form["password"] = json!("лес-7-ок!");
    app.post("/auth/register", form).await.expect(201);
}

/// A NUL or an escape sequence in any text field is a 422 naming the field, on both stores
/// (PostgreSQL would refuse a NUL with an error of its own), and nothing is written.
async fn control_characters_are_refused_never_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89993330009").await;
    let ticket = app
        .request(
            "POST",
            "/api/v1/me/tickets",
            Some(&token),
            Some(json!({ "subject": "Чек", "body": "строка\u{0000}после" })),
        )
        .await;
    ticket.expect_invalid();
    assert_eq!(ticket.status, 422);
    assert_eq!(ticket.fields(), ["body"]);
    let patch = app
        .request(
            "PATCH",
            "/api/v1/me",
            Some(&token),
            Some(json!({ "last_name": "Иванова\u{001b}[31m" })),
        )
        .await;
    assert_eq!(patch.status, 422, "{}", patch.body);
    assert_eq!(patch.fields(), ["last_name"]);
    let feedback = app
        .post(
            "/feedback",
            json!({ "channel": "customer", "name": "Анна\u{0085}", "email": "a@example.ru",
                    "subject": "Касса", "body": "Спасибо" }),
        )
        .await;
    assert_eq!(feedback.status, 422, "{}", feedback.body);
    assert_eq!(feedback.fields(), ["name"]);
    let search = app
        .request("GET", "/api/v1/products?q=%00%D0%BC", None, None)
        .await;
    assert_eq!(search.status, 422, "{}", search.body);
    assert_eq!(search.fields(), ["q"]);
    // Line breaks in a message are text, not control.
    app.request(
        "POST",
        "/api/v1/me/tickets",
        Some(&token),
        Some(json!({ "subject": "Чек", "body": "первая строка\nвторая\tс табуляцией" })),
    )
    .await
    .expect(201);
    let tickets = app.get("/me/tickets", &token).await.expect(200);
    let listed = tickets
        .get("items")
        .and_then(Value::as_array)
        .or_else(|| tickets.as_array())
        .map_or(0, Vec::len);
    assert_eq!(listed, 1, "{tickets}");
}

/// Binding answers alike for an unknown number and a card bound to someone else, and a
/// customer gets five tries a day.
async fn card_binding_tells_nothing_and_is_limited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, taken, _) = app.register("89993330010").await;
    let (token, _, _) = app.register("89993330011").await;
    let printed = app
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 1)
        .await
        .unwrap()
        .numbers[0]
        .to_string();
    let bind = |number: String| {
        let (app, token) = (&app, &token);
        async move {
            app.request(
                "POST",
                "/api/v1/me/cards",
                Some(token),
                Some(json!({ "number": number })),
            )
            .await
        }
    };
    let someone_elses = bind(taken).await;
    let unknown = bind("4006381333931".into()).await;
    someone_elses.expect_problem(404, "not_found");
    unknown.expect_problem(404, "not_found");
    assert_eq!(someone_elses.body, unknown.body);
    bind("4006381333931".into())
        .await
        .expect_problem(404, "not_found");
    bind("4006381333931".into())
        .await
        .expect_problem(404, "not_found");
    bind(printed.clone()).await.expect(201);
    // The sixth try today, whatever the card, waits for tomorrow.
    bind(printed).await.expect_problem(429, "rate_limited");
    assert!(app.security_events("card_binding_refused").await >= 3);
}

/// With `KOPILKA_SECRET_KEY`, codes are hashed with it, not with the store's own key: a copy
/// of the database alone cannot try the million codes.
async fn codes_are_hashed_with_the_configured_key(backend: Backend) {
    let key = "a-key-from-the-vault-0123456789abcdef";
    let app = TestApp::spawn_with(backend, |s| s.secret_key = Some(key.parse().unwrap())).await;
    let phone = "+79993330013";
    app.post("/auth/otp", json!({ "phone": phone }))
        .await
        .expect(202);
    let code = app.last_code(phone).await;
    let expected =
        kopilka_service::crypto::SecretKey::from_setting(key).code_hash(&["sign_in", phone, &code]);
    let challenge = app
        .kopilka
        .store_for_tests()
        .latest_otp(
            &kopilka_domain::Phone::parse(phone).unwrap(),
            kopilka_store::OtpPurpose::SignIn,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(challenge.code_hash, expected);
    app.post("/auth/otp/verify", json!({ "phone": phone, "code": code }))
        .await
        .expect(200);
}
