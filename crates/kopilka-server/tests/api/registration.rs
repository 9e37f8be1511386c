use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use kopilka_domain::CardNumber;
use serde_json::json;

on_both_stores!(
    registers_with_a_virtual_card_and_welcome_points,
    registration_names_every_invalid_field,
    registration_token_works_once,
    concurrent_registrations_with_one_token_make_one_member,
    phone_formats_are_one_phone,
);

async fn registers_with_a_virtual_card_and_welcome_points(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.registration_token("+7 (999) 123-45-67").await;
    let body = app
        .post("/auth/register", TestApp::registration_form(&token))
        .await
        .expect(201);

    let card = body["card"]["number"].as_str().unwrap();
    assert!(CardNumber::parse(card).is_ok(), "{card} is a valid EAN-13");
    assert_eq!(body["card"]["kind"], "virtual");
    assert_eq!(body["card"]["status"], "active");
    assert_eq!(body["balance"]["available"], 300);
    assert_eq!(body["balance"]["expiring"][0]["points"], 300);
    let member = &body["member"];
    assert_eq!(member["phone"], "+79991234567");
    assert_eq!(member["profile_complete"], true);
    assert_eq!(member["consents"]["personal_data"], true);
    assert_eq!(member["consents"]["newsletters"], false);
    assert_eq!(member["consents"]["version"], "2026-11");

    // Welcome points expire after 90 days.
    let expires = body["balance"]["expiring"][0]["expires_at"]
        .as_str()
        .unwrap();
    assert_eq!(expires, "2027-02-13T09:00:00Z");

    let token = body["token"].as_str().unwrap();
    let me = app.get("/me", token).await.expect(200);
    assert_eq!(&me, member);
    let history = app.get("/me/history", token).await.expect(200);
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    assert_eq!(history["items"][0]["kind"], "welcome");
    assert_eq!(history["items"][0]["points"], 300);
    assert_eq!(history["next_cursor"], serde_json::Value::Null);
    let cards = app.get("/me/cards", token).await.expect(200);
    assert_eq!(
        cards,
        json!([{ "number": card, "kind": "virtual", "status": "active" }])
    );

    // The card number and the phone both sign in, with the password.
    for login in [card, "89991234567"] {
        let signed = app
            .post(
                "/auth/login",
                json!({ "login": login, "password": PASSWORD }),
            )
            .await
            .expect(200);
        assert_eq!(signed["member"]["id"], member["id"]);
        let balance = app
            .get("/me/balance", signed["token"].as_str().unwrap())
            .await
            .expect(200);
        assert_eq!(balance["available"], 300);
    }
    app.assert_ledger_balanced().await;
}

async fn registration_names_every_invalid_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.registration_token("89990000001").await;
    let answer = app
        .post(
            "/auth/register",
            json!({
                "registration_token": token,
                "last_name": "R2D2",
                "gender": "robot",
                "birth_date": "2020-01-01",
                "email": "not-an-email",
                "favourite_category_id": 99999,
                "consents": { "personal_data": false },
                "password": "qwerty123",
            }),
        )
        .await;
    answer.expect_problem(422, "validation_failed");
    let mut fields = answer.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "birth_date",
            "city",
            "consents.personal_data",
            "email",
            "gender",
            "last_name",
            "password"
        ]
    );

    // Field by field valid, but the category does not exist.
    let mut form = TestApp::registration_form(&token);
    form["favourite_category_id"] = json!(99999);
    let answer = app.post("/auth/register", form).await;
    answer.expect_problem(422, "validation_failed");
    assert_eq!(answer.fields(), ["favourite_category_id"]);

    // Short password; the phone itself as a password.
    for (password, field) in [("abc12", "password"), ("89990000001", "password")] {
        let mut form = TestApp::registration_form(&token);
        form["password"] = json!(password);
        let answer = app.post("/auth/register", form).await;
        answer.expect_problem(422, "validation_failed");
        assert_eq!(answer.fields(), [field]);
    }

    // A body that is not JSON, or has the wrong types, is a 400.
    app.post("/auth/register", json!({ "favourite_category_id": "ten" }))
        .await
        .expect_problem(400, "validation_failed");

    // Nothing was created by any of that.
    assert!(app
        .kopilka
        .store_for_tests()
        .member_by_phone(&kopilka_domain::Phone::parse("89990000001").unwrap())
        .await
        .unwrap()
        .is_none());
    app.assert_ledger_balanced().await;
}

async fn registration_token_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.registration_token("89990000002").await;
    app.post("/auth/register", TestApp::registration_form(&token))
        .await
        .expect(201);
    app.post("/auth/register", TestApp::registration_form(&token))
        .await
        .expect_problem(401, "unauthorized");
    app.post("/auth/register", TestApp::registration_form("kpr_made_up"))
        .await
        .expect_problem(401, "unauthorized");

    // Expired: the form must be finished within 30 minutes of the code.
    let token = app.registration_token("89990000003").await;
    app.clock.advance(chrono::Duration::minutes(31));
    app.post("/auth/register", TestApp::registration_form(&token))
        .await
        .expect_problem(401, "unauthorized");

    // A registered phone signs in instead of registering again.
    app.clock.advance(chrono::Duration::minutes(2));
    app.post("/auth/otp", json!({ "phone": "89990000002" }))
        .await
        .expect(202);
    let code = app.last_code("+79990000002").await;
    let body = app
        .post(
            "/auth/otp/verify",
            json!({ "phone": "89990000002", "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(body["status"], "signed_in");
    assert!(body["token"].as_str().unwrap().starts_with("kpc_"));
}

async fn concurrent_registrations_with_one_token_make_one_member(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.registration_token("89990000004").await;
    let form = TestApp::registration_form(&token);
    let answers = futures_join(&app, &form, 6).await;
    let created = answers.iter().filter(|s| **s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().all(|s| *s == 201 || *s == 401 || *s == 409),
        "{answers:?}"
    );
    let totals = app.kopilka.store_for_tests().totals().await.unwrap();
    assert_eq!(totals.transfers, 300);
}

async fn futures_join(app: &TestApp, form: &serde_json::Value, n: usize) -> Vec<u16> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = app.client.clone();
        let url = format!("{}/api/v1/auth/register", app.base);
        let form = form.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn phone_formats_are_one_phone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post("/auth/otp", json!({ "phone": "+7 (999) 555-44-33" }))
        .await
        .expect(202);
    let code = app.last_code("+79995554433").await;
    // Verified with the same number typed another way.
    let body = app
        .post(
            "/auth/otp/verify",
            json!({ "phone": "79995554433", "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(body["status"], "registration_required");
    for bad in [
        "",
        "12345",
        "+1 202 555 0100",
        "+7 495 123-45-67",
        "8999abc4433",
    ] {
        let answer = app.post("/auth/otp", json!({ "phone": bad })).await;
        answer.expect_problem(422, "validation_failed");
        assert_eq!(answer.fields(), ["phone"]);
    }
}
