use crate::helpers::{eventually, Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use chrono::Duration;
use serde_json::json;

on_both_stores!(
    codes_are_sent_alike_and_resent_after_the_cooldown,
    five_wrong_codes_kill_a_code,
    codes_expire_and_work_once,
    a_new_code_retires_the_old_one,
    sms_limits_per_phone_and_per_ip,
    failed_logins_are_throttled,
    password_recovery_by_phone_and_by_card,
    recovery_answers_alike_for_unknown_logins,
    logout_ends_the_session,
    every_node_hears_of_a_sign_out_and_a_profile_change,
);

async fn codes_are_sent_alike_and_resent_after_the_cooldown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("89991110001").await;
    app.clock.advance(Duration::seconds(60));
    // A known and an unknown phone get the same answer.
    let known = app
        .post("/auth/otp", json!({ "phone": "89991110001" }))
        .await;
    let unknown = app
        .post("/auth/otp", json!({ "phone": "89991110002" }))
        .await;
    assert_eq!(known.status, 202);
    assert_eq!(known.body, unknown.body);
    assert_eq!(
        known.body,
        json!({ "resend_after_s": 60, "expires_in_s": 300 })
    );

    let again = app
        .post("/auth/otp", json!({ "phone": "89991110002" }))
        .await;
    again.expect_problem(429, "rate_limited");
    assert_eq!(again.headers["retry-after"], "60");
    app.clock.advance(Duration::seconds(45));
    let again = app
        .post("/auth/otp", json!({ "phone": "89991110002" }))
        .await;
    again.expect_problem(429, "rate_limited");
    assert_eq!(again.headers["retry-after"], "15");
    assert_eq!(app.sms_count("+79991110002").await, 1);
    app.clock.advance(Duration::seconds(15));
    app.post("/auth/otp", json!({ "phone": "89991110002" }))
        .await
        .expect(202);
    assert_eq!(app.sms_count("+79991110002").await, 2);
}

async fn five_wrong_codes_kill_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post("/auth/otp", json!({ "phone": "89991110003" }))
        .await
        .expect(202);
    let code = app.last_code("+79991110003").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..4 {
        app.post(
            "/auth/otp/verify",
            json!({ "phone": "89991110003", "code": wrong }),
        )
        .await
        .expect_problem(400, "otp_invalid");
    }
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110003", "code": wrong }),
    )
    .await
    .expect_problem(400, "otp_attempts_exceeded");
    // Dead: even the right code no longer works.
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110003", "code": code }),
    )
    .await
    .expect_problem(400, "otp_attempts_exceeded");
    // A code that is not six digits is a validation error and costs no try.
    let answer = app
        .post(
            "/auth/otp/verify",
            json!({ "phone": "89991110003", "code": "12a" }),
        )
        .await;
    answer.expect_problem(422, "validation_failed");
    assert_eq!(answer.fields(), ["code"]);
}

async fn codes_expire_and_work_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post("/auth/otp", json!({ "phone": "89991110004" }))
        .await
        .expect(202);
    let code = app.last_code("+79991110004").await;
    app.clock.advance(Duration::seconds(301));
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110004", "code": code }),
    )
    .await
    .expect_problem(400, "otp_expired");

    app.post("/auth/otp", json!({ "phone": "89991110004" }))
        .await
        .expect(202);
    let code = app.last_code("+79991110004").await;
    app.clock.advance(Duration::seconds(299));
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110004", "code": code }),
    )
    .await
    .expect(200);
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110004", "code": code }),
    )
    .await
    .expect_problem(400, "otp_invalid");
    // No code was ever asked for this phone.
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110005", "code": "123456" }),
    )
    .await
    .expect_problem(400, "otp_invalid");
}

async fn a_new_code_retires_the_old_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post("/auth/otp", json!({ "phone": "89991110006" }))
        .await
        .expect(202);
    let first = app.last_code("+79991110006").await;
    app.clock.advance(Duration::seconds(61));
    app.post("/auth/otp", json!({ "phone": "89991110006" }))
        .await
        .expect(202);
    let second = app.last_code("+79991110006").await;
    if first != second {
        app.post(
            "/auth/otp/verify",
            json!({ "phone": "89991110006", "code": first }),
        )
        .await
        .expect_problem(400, "otp_invalid");
    }
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110006", "code": second }),
    )
    .await
    .expect(200);
}

async fn sms_limits_per_phone_and_per_ip(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.otp_per_phone_daily = 3;
        s.sms_per_ip_hourly = 5;
    })
    .await;
    for _ in 0..3 {
        app.post("/auth/otp", json!({ "phone": "89991110007" }))
            .await
            .expect(202);
        app.clock.advance(Duration::seconds(61));
    }
    let answer = app
        .post("/auth/otp", json!({ "phone": "89991110007" }))
        .await;
    answer.expect_problem(429, "rate_limited");
    assert!(answer.body["retry_after_s"].as_u64().unwrap() > 3600);
    assert_eq!(app.sms_count("+79991110007").await, 3);

    // Same IP, other phones: the hourly IP limit (5, of which 3 were used above... in this
    // hour window) stops the pumping.
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(
            app.post("/auth/otp", json!({ "phone": format!("8999222000{i}") }))
                .await
                .status
                .as_u16(),
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let mut sent = 0;
    for i in 0..4 {
        sent += app.sms_count(&format!("+7999222000{i}")).await;
    }
    assert_eq!(sent, statuses.iter().filter(|s| **s == 202).count());
}

async fn failed_logins_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, card, _) = app.register("89991110008").await;
    for _ in 0..5 {
        app.post(
            "/auth/login",
            json!({ "login": card, "password": "wrong-password" }),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    }
    let answer = app
        .post(
            "/auth/login",
            json!({ "login": card, "password": PASSWORD }),
        )
        .await;
    answer.expect_problem(429, "rate_limited");
    assert!(answer.headers.contains_key("retry-after"));
    // After the window the right password works again.
    app.clock.advance(Duration::minutes(15));
    app.post(
        "/auth/login",
        json!({ "login": card, "password": PASSWORD }),
    )
    .await
    .expect(200);
    // Unknown logins fail the same way as wrong passwords.
    app.post(
        "/auth/login",
        json!({ "login": "89990009999", "password": PASSWORD }),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    app.post(
        "/auth/login",
        json!({ "login": "ivan", "password": PASSWORD }),
    )
    .await
    .expect_problem(422, "validation_failed");
}

async fn password_recovery_by_phone_and_by_card(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (old_token, card, _) = app.register("89991110009").await;

    app.post("/auth/password-reset", json!({ "login": card }))
        .await
        .expect(202);
    let code = app.last_code("+79991110009").await;
    app.kopilka.sms_flushed().await;
    assert!(app.sms.sent().last().unwrap().1.contains("смены пароля"));
    // The new password is checked before the code is spent.
    let weak = app
        .post(
            "/auth/password-reset/confirm",
            json!({ "login": card, "code": code, "password": "123456" }),
        )
        .await;
    weak.expect_problem(422, "validation_failed");
    let body = app
        .post(
            "/auth/password-reset/confirm",
            json!({ "login": card, "code": code, "password": "новый-пароль-1" }),
        )
        .await
        .expect(200);
    let new_token = body["token"].as_str().unwrap();
    app.get("/me", new_token).await.expect(200);
    // Every earlier session is signed out, and the old password no longer works.
    app.get("/me", &old_token)
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
        json!({ "login": "89991110009", "password": "новый-пароль-1" }),
    )
    .await
    .expect(200);

    // And by phone.
    app.clock.advance(Duration::seconds(61));
    app.post(
        "/auth/password-reset",
        json!({ "login": "+7 999 111-00-09" }),
    )
    .await
    .expect(202);
    let code = app.last_code("+79991110009").await;
    app.post(
        "/auth/password-reset/confirm",
        json!({ "login": "89991110009", "code": code, "password": "третий-пароль-3" }),
    )
    .await
    .expect(200);
    // A sign-in code is not a recovery code.
    app.clock.advance(Duration::seconds(61));
    app.post("/auth/otp", json!({ "phone": "89991110009" }))
        .await
        .expect(202);
    let code = app.last_code("+79991110009").await;
    app.post(
        "/auth/password-reset/confirm",
        json!({ "login": "89991110009", "code": code, "password": "четвёртый-4" }),
    )
    .await
    .expect_problem(400, "otp_invalid");
}

async fn recovery_answers_alike_for_unknown_logins(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.otp_per_phone_daily = 3).await;
    app.register("89991110010").await;
    let known = app
        .post("/auth/password-reset", json!({ "login": "89991110010" }))
        .await;
    let unknown_phone = app
        .post("/auth/password-reset", json!({ "login": "89991110011" }))
        .await;
    let unknown_card = app
        .post("/auth/password-reset", json!({ "login": "4006381333931" }))
        .await;
    assert_eq!(known.status, 202);
    assert_eq!(known.body, unknown_phone.body);
    assert_eq!(known.body, unknown_card.body);
    assert_eq!(app.sms_count("+79991110011").await, 0);
    // The cooldown applies alike too.
    let again_known = app
        .post("/auth/password-reset", json!({ "login": "89991110010" }))
        .await;
    let again_unknown = app
        .post("/auth/password-reset", json!({ "login": "89991110011" }))
        .await;
    again_known.expect_problem(429, "rate_limited");
    again_unknown.expect_problem(429, "rate_limited");
    // The daily limit answers alike too: three a day for any login, known or not.
    app.clock.advance(Duration::seconds(61));
    for _ in 0..2 {
        app.post("/auth/password-reset", json!({ "login": "89991110010" }))
            .await
            .expect(202);
        app.post("/auth/password-reset", json!({ "login": "89991110011" }))
            .await
            .expect(202);
        app.clock.advance(Duration::seconds(61));
    }
    app.post("/auth/password-reset", json!({ "login": "89991110010" }))
        .await
        .expect_problem(429, "rate_limited");
    app.post("/auth/password-reset", json!({ "login": "89991110011" }))
        .await
        .expect_problem(429, "rate_limited");
    app.post(
        "/auth/password-reset/confirm",
        json!({ "login": "89991110011", "code": "123456", "password": "какой-то-пароль" }),
    )
    .await
    .expect_problem(400, "otp_invalid");
}

async fn logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89991110012").await;
    let other = app
        .post(
            "/auth/login",
            json!({ "login": "89991110012", "password": PASSWORD }),
        )
        .await
        .expect(200);
    let answer = app
        .request("POST", "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(answer.status, 204);
    app.get("/me", &token)
        .await
        .expect_problem(401, "unauthorized");
    app.request("POST", "/api/v1/auth/logout", Some(&token), None)
        .await
        .expect_problem(401, "unauthorized");
    // Only that session ended.
    app.get("/me", other["token"].as_str().unwrap())
        .await
        .expect(200);
    // Sessions expire after 30 days.
    app.clock.advance(Duration::days(30));
    app.get("/me", other["token"].as_str().unwrap())
        .await
        .expect_problem(401, "unauthorized");
    app.get("/me", "garbage")
        .await
        .expect_problem(401, "unauthorized");
    assert_eq!(
        app.request("GET", "/api/v1/me", None, None).await.headers["www-authenticate"],
        "Bearer"
    );
}

on_both_stores!(stale_codes_sessions_and_counters_are_forgotten);

async fn stale_codes_sessions_and_counters_are_forgotten(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89991110030").await;
    app.clock.advance(Duration::seconds(61));
    app.post("/auth/otp", json!({ "phone": "89991110030" }))
        .await
        .expect(202);
    let code = app.last_code("89991110030").await;
    app.clock.advance(Duration::days(31));
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110030", "code": code }),
    )
    .await
    .expect_problem(400, "otp_expired");
    let now = app.clock_now();
    let forgotten = app
        .kopilka
        .store_for_tests()
        .purge_expired(now - Duration::days(1))
        .await
        .unwrap();
    // The registration and sign-in codes, the registration and customer sessions, the
    // day's SMS counters and the resend cooldowns.
    assert!(forgotten >= 4, "{forgotten}");
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110030", "code": code }),
    )
    .await
    .expect_problem(400, "otp_invalid");
    app.get("/me", &token)
        .await
        .expect_problem(401, "unauthorized");
    // What is still live stays: a fresh code works after a purge.
    app.post("/auth/otp", json!({ "phone": "89991110030" }))
        .await
        .expect(202);
    app.kopilka
        .store_for_tests()
        .purge_expired(app.clock_now() - Duration::days(1))
        .await
        .unwrap();
    let code = app.last_code("89991110030").await;
    app.post(
        "/auth/otp/verify",
        json!({ "phone": "89991110030", "code": code }),
    )
    .await
    .expect(200);
}

/// Nodes may cache sessions (PostgreSQL does); a sign-out or a profile change on one node must
/// still reach the others, well before any cache lifetime.
async fn every_node_hears_of_a_sign_out_and_a_profile_change(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let b = a.another_node().await;
    let (token, _, _) = a.register("+79161230077").await;
    // Read twice on the second node, so the session is in its cache if it has one.
    for _ in 0..2 {
        b.get("/me", &token).await.expect(200);
    }
    a.request(
        "PATCH",
        "/api/v1/me",
        Some(&token),
        Some(json!({ "first_name": "Майя" })),
    )
    .await
    .expect(200);
    eventually(|| async { b.get("/me", &token).await.body["first_name"] == "Майя" }).await;
    a.request("POST", "/api/v1/auth/logout", Some(&token), None)
        .await
        .expect(204);
    eventually(|| async { b.get("/me", &token).await.status == 401 }).await;
    b.get("/me/balance", &token)
        .await
        .expect_problem(401, "unauthorized");
}
