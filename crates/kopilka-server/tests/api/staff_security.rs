//! Staff accounts under attack and in their lifecycle, tills revoked, operators' limits,
//! security events, and the audit log that nothing rewrites.

use crate::helpers::{Backend, TestApp, STAFF_PASSWORD};
use crate::on_both_stores;
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::Role;
use serde_json::json;
use std::time::{Duration, Instant};

on_both_stores!(
    staff_sign_in_is_throttled_and_sessions_end,
    staff_accounts_are_disabled_and_repassworded_from_the_command_line,
    a_second_factor_is_asked_once_enrolled_and_never_twice,
    some_roles_must_enrol_a_second_factor,
    a_revoked_till_key_is_refused_on_every_node_within_two_seconds,
    support_operators_adjust_within_their_limits,
    refusals_are_logged_and_counted_on_a_metrics_address_of_their_own,
    audit_rows_are_written_with_their_change_and_never_rewritten,
    a_slow_request_is_a_problem_document_and_logs_name_routes,
);

async fn sign_in(app: &TestApp, login: &str, password: &str) -> crate::helpers::Answer {
    app.post(
        "/admin/auth/login",
        json!({ "login": login, "password": password }),
    )
    .await
}

async fn staff_sign_in_is_throttled_and_sessions_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("anna", &[Role::Admin]).await;
    let mut wrong = Vec::new();
    for i in 0..12 {
        wrong.push(
            sign_in(&app, "anna", &format!("не-тот-пароль-{i}"))
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(wrong[..5], [401; 5]);
    assert_eq!(wrong[5..], [429; 7]);
    sign_in(&app, "anna", STAFF_PASSWORD)
        .await
        .expect_problem(429, "rate_limited");
    // Signed in before, still working; signed out, refused.
    app.get("/admin/audit", &token).await.expect(200);
    app.request("POST", "/api/v1/admin/auth/logout", Some(&token), None)
        .await
        .expect(204);
    app.get("/admin/audit", &token)
        .await
        .expect_problem(401, "unauthorized");

    // After 30 idle minutes a staff session has ended…
    app.clock.advance(chrono::Duration::minutes(15));
    let idle = app.staff_token("oleg", &[Role::Admin]).await;
    app.clock.advance(chrono::Duration::minutes(31));
    app.get("/admin/audit", &idle)
        .await
        .expect_problem(401, "unauthorized");
    // …and after 12 hours however busy it was.
    let busy = app.staff_token("vera", &[Role::Admin]).await;
    // Requests every 25 minutes up to 11 h 40 min; the clock then stands at 12 h 05 min.
    for _ in 0..29 {
        app.get("/admin/audit", &busy).await.expect(200);
        app.clock.advance(chrono::Duration::minutes(25));
    }
    app.get("/admin/audit", &busy)
        .await
        .expect_problem(401, "unauthorized");
}

async fn staff_accounts_are_disabled_and_repassworded_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Eleven characters are too few for staff.
    let short = NewPassword::parse("короткий-11", 6, &[]).unwrap();
    assert!(app
        .kopilka
        .create_staff("petr", &short, &[Role::Support])
        .await
        .is_err());

    let token = app.staff_token("petr", &[Role::Support]).await;
    let out = app.cli(
        &["staff", "password", "--login", "petr"],
        "новый-служебный-пароль\n",
    );
    assert!(out.contains("petr"), "{out}");
    app.get("/admin/tickets", &token)
        .await
        .expect_problem(401, "unauthorized");
    sign_in(&app, "petr", STAFF_PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    let again = sign_in(&app, "petr", "новый-служебный-пароль")
        .await
        .expect(200);
    let again = again["token"].as_str().unwrap().to_owned();

    app.cli(&["staff", "disable", "--login", "petr"], "");
    app.get("/admin/tickets", &again)
        .await
        .expect_problem(401, "unauthorized");
    sign_in(&app, "petr", "новый-служебный-пароль")
        .await
        .expect_problem(401, "invalid_credentials");

    let admin = app.staff_token("anna", &[Role::Admin]).await;
    let actions = audit_actions(&app, &admin).await;
    for action in ["staff.password", "staff.disable"] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }
}

async fn sign_in_with_code(app: &TestApp, login: &str, code: &str) -> crate::helpers::Answer {
    app.post(
        "/admin/auth/login",
        json!({ "login": login, "password": STAFF_PASSWORD, "totp": code }),
    )
    .await
}

/// The actions of the newest audit rows, newest first.
async fn audit_actions(app: &TestApp, admin: &str) -> Vec<String> {
    app.get("/admin/audit?limit=50", admin)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn code_now(uri: &str, app: &TestApp) -> String {
    let totp = totp_rs::Totp::from_url(uri).unwrap();
    totp.generate(app.clock_now().timestamp() as u64)
        .to_string()
}

async fn a_second_factor_is_asked_once_enrolled_and_never_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.staff_token("anna", &[Role::Admin]).await;
    let out = app.cli(&["staff", "totp", "--login", "anna"], "");
    let uri = out.lines().last().unwrap().trim().to_owned();
    assert!(uri.starts_with("otpauth://totp/"), "{out}");
    // The CLI ran on the real clock; the app's clock is the test's.
    sign_in(&app, "anna", STAFF_PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    let code = code_now(&uri, &app);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    sign_in_with_code(&app, "anna", wrong)
        .await
        .expect_problem(401, "invalid_credentials");
    sign_in_with_code(&app, "anna", &code).await.expect(200);
    // The same code seen over a shoulder does not sign in a second time.
    sign_in_with_code(&app, "anna", &code)
        .await
        .expect_problem(401, "invalid_credentials");
    assert!(app.security_events("totp_failed").await >= 2);
    app.clock.advance(chrono::Duration::seconds(30));
    sign_in_with_code(&app, "anna", &code_now(&uri, &app))
        .await
        .expect(200);
}

async fn some_roles_must_enrol_a_second_factor(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.totp_required_roles = "support, hr".into()).await;
    let password = NewPassword::parse(STAFF_PASSWORD, 6, &[]).unwrap();
    app.kopilka
        .create_staff("oleg", &password, &[Role::Support])
        .await
        .unwrap();
    app.kopilka
        .create_staff("masha", &password, &[Role::Marketing])
        .await
        .unwrap();
    sign_in(&app, "oleg", STAFF_PASSWORD)
        .await
        .expect_problem(403, "forbidden");
    sign_in(&app, "masha", STAFF_PASSWORD).await.expect(200);
    let uri = app.kopilka.enrol_staff_totp("oleg").await.unwrap();
    sign_in_with_code(&app, "oleg", &code_now(&uri, &app))
        .await
        .expect(200);
}

async fn a_revoked_till_key_is_refused_on_every_node_within_two_seconds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_node().await;
    let (_, card, _) = app.register("89993340001").await;
    let out = app.cli(&["till", "create", "--store", "1", "--kind", "staffed"], "");
    let key = out.lines().last().unwrap().trim().to_owned();
    let identify = |node: &TestApp| {
        let (key, card) = (key.clone(), card.clone());
        let node_base = node.base.clone();
        let client = node.client.clone();
        async move {
            client
                .post(format!("{node_base}/api/v1/pos/identify"))
                .bearer_auth(key)
                .json(&json!({ "barcode": card }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(identify(&app).await, 200);
    assert_eq!(identify(&other).await, 200);

    let listed = app.cli(&["till", "list"], "");
    let row: Vec<&str> = listed.lines().last().unwrap().split('\t').collect();
    assert_eq!(row[1..4], ["1", "staffed", "active"], "{listed}");
    let id = row[0].to_owned();
    app.cli(&["till", "revoke", &id], "");
    // Committed when the command has exited; from then on every node has two seconds.
    let revoked_at = Instant::now();
    for node in [&app, &other] {
        while identify(node).await != 401 {
            assert!(
                revoked_at.elapsed() < Duration::from_secs(2),
                "the key still works"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let listed = app.cli(&["till", "list"], "");
    assert!(
        listed.lines().last().unwrap().contains("\trevoked\t"),
        "{listed}"
    );
    assert!(app.security_events("till_key_refused").await >= 1);

    let admin = app.staff_token("anna", &[Role::Admin]).await;
    let audit = app.get("/admin/audit?limit=10", &admin).await.expect(200);
    let entries: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for action in ["till.create", "till.revoke"] {
        assert!(
            entries.contains(&(action.to_owned(), format!("till:{id}"))),
            "{entries:?}"
        );
    }
}

async fn support_operators_adjust_within_their_limits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, member) = app.register("89993340002").await;
    let support = app.staff_token("oleg", &[Role::Support]).await;
    let admin = app.staff_token("anna", &[Role::Admin]).await;
    let adjust = |token: &str, points: serde_json::Value| {
        let (path, token) = (
            format!("/api/v1/admin/members/{member}/adjustments"),
            token.to_owned(),
        );
        let app = &app;
        async move {
            app.request(
                "POST",
                &path,
                Some(&token),
                Some(json!({ "points": points, "reason": "компенсация" })),
            )
            .await
        }
    };
    // Above the call's limit it waits for an administrator, and spends none of the day.
    for points in [5001, -5001] {
        let waiting = adjust(&support, json!(points)).await.expect(202);
        assert_eq!(waiting["status"], "pending_approval");
    }
    for _ in 0..4 {
        adjust(&support, json!(5000)).await.expect(201);
    }
    // 20,000 moved today: not one point more without approval, in either direction.
    adjust(&support, json!(-1)).await.expect(202);
    adjust(&admin, json!(100_000)).await.expect(201);
    adjust(&admin, json!(100_001)).await.expect(202);
    // An adjustment that was not applied spent nothing of the operator's day.
    let (_, _, poor) = app.register("89993340005").await;
    let fresh = app.staff_token("vera", &[Role::Support]).await;
    app.request(
        "POST",
        &format!("/api/v1/admin/members/{poor}/adjustments"),
        Some(&fresh),
        Some(json!({ "points": -5000, "reason": "ошибка" })),
    )
    .await
    .expect_problem(409, "insufficient_points");
    for _ in 0..4 {
        adjust(&fresh, json!(5000)).await.expect(201);
    }
    // Out of range is a validation error, never a 5xx.
    for points in [json!(i64::MIN), json!(1e30), json!(0), json!(1.5)] {
        let answer = adjust(&admin, points.clone()).await;
        assert_eq!(answer.status, 422, "{points}: {}", answer.body);
        assert_eq!(answer.fields(), ["points"]);
    }
    // Tomorrow the operator's day starts afresh (and so does their session).
    app.clock.advance(chrono::Duration::days(1));
    let support = sign_in(&app, "oleg", STAFF_PASSWORD).await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    adjust(&support, json!(-5000)).await.expect(201);
    app.assert_ledger_balanced().await;
}

async fn refusals_are_logged_and_counted_on_a_metrics_address_of_their_own(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    assert!(app.metrics_port.is_some());
    app.request("GET", "/metrics", None, None)
        .await
        .expect_problem(404, "not_found");
    let support = app.staff_token("oleg", &[Role::Support]).await;
    app.get("/admin/reports/liability", &support)
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(app.security_events("forbidden").await, 1);
    app.post(
        "/auth/login",
        json!({ "login": "89993340077", "password": "не-тот-пароль" }),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    assert_eq!(app.security_events("login_failed").await, 1);
    let logs = crate::logs::logged();
    let line = logs
        .lines()
        .find(|l| l.contains("security event") && l.contains("+7 999 ***-**-77"))
        .expect("the failed sign-in logged with its masked phone");
    assert!(
        line.contains("login_failed") && line.contains("127.0.0.1"),
        "{line}"
    );
    assert!(line.contains("request_id="), "{line}");
    assert!(
        !line.contains("89993340077") && !line.contains("9993340077"),
        "{line}"
    );
    assert!(logs
        .lines()
        .any(|l| l.contains("event=\"forbidden\"") || l.contains("event=forbidden")));
}

async fn audit_rows_are_written_with_their_change_and_never_rewritten(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89993340003").await;
    let ticket = app
        .request(
            "POST",
            "/api/v1/me/tickets",
            Some(&token),
            Some(json!({ "subject": "Чек", "body": "Где баллы?" })),
        )
        .await
        .expect(201);
    let id = ticket["id"].as_i64().unwrap();
    let support = app.staff_token("oleg", &[Role::Support]).await;
    app.request(
        "POST",
        &format!("/api/v1/admin/tickets/{id}/messages"),
        Some(&support),
        Some(json!({ "body": "Начислены." })),
    )
    .await
    .expect(201);
    app.kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 3)
        .await
        .unwrap();
    let admin = app.staff_token("anna", &[Role::Admin]).await;
    let actions = audit_actions(&app, &admin).await;
    assert!(actions.iter().any(|a| a == "ticket.answer"), "{actions:?}");
    let audit = app.get("/admin/audit?limit=20", &admin).await.expect(200);
    let issued = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "cards.issue")
        .expect("cards.issue audited");
    assert_eq!(issued["details"]["count"], 3);

    // The database itself refuses to change the log.
    let url = app.database_url().to_owned();
    if let Some(path) = kopilka_sqlite::path_from_url(&url) {
        let db = rusqlite::Connection::open(path).unwrap();
        for sql in [
            "UPDATE audit_log SET actor = 'nobody'",
            "DELETE FROM audit_log",
        ] {
            let err = db.execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
    } else {
        let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        for sql in [
            "UPDATE audit_log SET actor = 'nobody'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ] {
            let err = sqlx::query(sql).execute(&mut db).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
    }
    let after = app.get("/admin/audit?limit=20", &admin).await.expect(200);
    assert_eq!(after, audit);
}

async fn a_slow_request_is_a_problem_document_and_logs_name_routes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89993340004").await;
    app.request(
        "POST",
        &format!("/api/v1/me/cards/{card}/block"),
        Some(&token),
        None,
    )
    .await
    .expect(200);
    let logs = crate::logs::logged();
    assert!(
        logs.contains("route=/api/v1/me/cards/{number}/block"),
        "the request's span names its route"
    );
    assert!(
        !logs.lines().any(|l| l.contains(&card)),
        "a card number reached the log"
    );

    // A store that does not answer in time: another connection holds the lock the request's
    // first write needs, for longer than the request may take.
    let slow = TestApp::spawn_with(backend, |s| s.request_timeout_s = 1).await;
    let url = slow.database_url().to_owned();
    let answer = if let Some(path) = kopilka_sqlite::path_from_url(&url) {
        let db = rusqlite::Connection::open(path).unwrap();
        db.execute_batch("BEGIN IMMEDIATE").unwrap();
        let answer = slow
            .post("/auth/otp", json!({ "phone": "89993340006" }))
            .await;
        db.execute_batch("ROLLBACK").unwrap();
        answer
    } else {
        let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut db).await.unwrap();
        sqlx::query("LOCK TABLE cooldowns IN ACCESS EXCLUSIVE MODE")
            .execute(&mut db)
            .await
            .unwrap();
        let answer = slow
            .post("/auth/otp", json!({ "phone": "89993340006" }))
            .await;
        sqlx::query("ROLLBACK").execute(&mut db).await.unwrap();
        answer
    };
    answer.expect_problem(503, "timeout");
    assert!(answer.headers.contains_key("retry-after"));
}
