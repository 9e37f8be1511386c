use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::till::{basket, pos, refused_as_blocked, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use serde_json::json;

on_both_stores!(
    credentials_and_cards_are_checked,
    barcodes_are_read_back_by_a_scanner,
    an_incomplete_profile_closes_card_codes_until_filled,
);

async fn credentials_and_cards_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550004").await;
    // A customer token is not a till key, and a till key is not a customer token.
    pos(&app, &token, "/identify", json!({ "barcode": card }))
        .await
        .expect_problem(401, "unauthorized");
    app.get("/me", &key)
        .await
        .expect_problem(401, "unauthorized");
    pos(
        &app,
        &key,
        "/identify",
        json!({ "barcode": "4006381333931" }),
    )
    .await
    .expect_problem(404, "not_found");
    pos(
        &app,
        &key,
        "/identify",
        json!({ "barcode": "4006381333932" }),
    )
    .await
    .expect_problem(422, "validation_failed");

    // A purchase with the virtual card, whose answer the till will ask for again later.
    let first = json!({ "receipt_id": "B0", "barcode": card, "lines": basket() });
    let answer = pos(&app, &key, "/purchases", first.clone())
        .await
        .expect(201);
    // A physical card from a printed batch replaces the virtual one; the balance stays.
    let printed = app
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 2)
        .await
        .unwrap()
        .numbers;
    let physical = printed[0].to_string();
    pos(&app, &key, "/identify", json!({ "barcode": physical }))
        .await
        .expect_problem(404, "not_found");
    let bound = app
        .request(
            "POST",
            "/api/v1/me/cards",
            Some(&token),
            Some(json!({ "number": physical })),
        )
        .await
        .expect(201);
    assert_eq!(
        bound,
        json!({ "number": physical, "kind": "physical", "status": "active" })
    );
    refused_as_blocked(&app, &key, &card, "B1").await;
    // A retry of a purchase recorded before the card was blocked still gets its first answer.
    assert_eq!(
        pos(&app, &key, "/purchases", first).await.expect(200),
        answer
    );
    assert_eq!(
        pos(&app, &key, "/identify", json!({ "barcode": physical }))
            .await
            .expect(200)["available_points"],
        answer["balance"]
    );
    let cards = app.get("/me/cards", &token).await.expect(200);
    assert_eq!(cards[0]["number"], physical.as_str());
    assert_eq!(cards[1]["status"], "blocked");
    // Someone else cannot take a bound card, and cannot tell it from an unknown number.
    let (other, _, _) = app.register("89995550005").await;
    app.request(
        "POST",
        "/api/v1/me/cards",
        Some(&other),
        Some(json!({ "number": physical })),
    )
    .await
    .expect_problem(404, "not_found");
    app.request(
        "POST",
        "/api/v1/me/cards",
        Some(&other),
        Some(json!({ "number": "4006381333931" })),
    )
    .await
    .expect_problem(404, "not_found");
    // The new card signs in like the old one did.
    app.post(
        "/auth/login",
        json!({ "login": physical, "password": crate::helpers::PASSWORD }),
    )
    .await
    .expect(200);
    app.post(
        "/auth/login",
        json!({ "login": card, "password": crate::helpers::PASSWORD }),
    )
    .await
    .expect_problem(401, "invalid_credentials");

    // Lost: block it, then a new virtual card.
    let blocked = app
        .request(
            "POST",
            &format!("/api/v1/me/cards/{physical}/block"),
            Some(&token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(blocked["status"], "blocked");
    app.request(
        "POST",
        &format!("/api/v1/me/cards/{physical}/block"),
        Some(&other),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    let fresh = app
        .request(
            "POST",
            "/api/v1/me/cards",
            Some(&token),
            Some(json!({ "kind": "virtual" })),
        )
        .await
        .expect(201);
    assert_eq!(fresh["kind"], "virtual");
    let fresh = fresh["number"].as_str().unwrap().to_owned();
    assert_eq!(
        pos(&app, &key, "/identify", json!({ "barcode": fresh }))
            .await
            .expect(200)["available_points"],
        answer["balance"]
    );

    // One-time codes: valid EAN-13 in prefix 29, work until spent by a purchase.
    let t = app
        .request("POST", "/api/v1/me/card-token", Some(&token), None)
        .await
        .expect(200);
    let code = t["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("29") && kopilka_domain::CardNumber::parse(&code).is_ok());
    assert_eq!(
        pos(&app, &key, "/identify", json!({ "barcode": code }))
            .await
            .expect(200)["card_number"],
        fresh.as_str()
    );
    let body =
        json!({ "receipt_id": "T1", "barcode": code, "lines": basket(), "redeem_points": 10 });
    let paid = pos(&app, &key, "/purchases", body.clone())
        .await
        .expect(201);
    assert_eq!(pos(&app, &key, "/purchases", body).await.expect(200), paid);
    pos(&app, &key, "/identify", json!({ "barcode": code }))
        .await
        .expect_problem(404, "not_found");
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "T2", "barcode": code, "lines": basket() }),
    )
    .await
    .expect_problem(404, "not_found");
    let t = app
        .request("POST", "/api/v1/me/card-token", Some(&token), None)
        .await
        .expect(200);
    app.clock.advance(Duration::seconds(121));
    pos(&app, &key, "/identify", json!({ "barcode": t["code"] }))
        .await
        .expect_problem(404, "not_found");
    app.assert_ledger_balanced().await;
}

/// Decodes a picture with `zbarimg` (Debian's zbar-tools; `.ci/run` installs it).
fn scan(bytes: &[u8], suffix: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("code.{suffix}"));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg("--raw")
        .arg(&path)
        .output()
        .expect("zbarimg (apt-get install zbar-tools)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn barcodes_are_read_back_by_a_scanner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, card, _) = app.register("89995550012").await;
    let png = app
        .client
        .get(format!("{}/api/v1/me/cards/{card}/barcode.png", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(scan(&png.bytes().await.unwrap(), "png"), card);

    let svg = app
        .client
        .get(format!("{}/api/v1/me/cards/{card}/barcode.svg", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    // The SVG's bars are the PNG's bars: rasterise it and scan that too.
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("c.svg"), dir.path().join("c.png"));
    std::fs::write(&src, &svg).unwrap();
    let rasterised = std::process::Command::new("rsvg-convert")
        .arg(&src)
        .arg("-o")
        .arg(&dst)
        .status()
        .expect("rsvg-convert (apt-get install librsvg2-bin; scripts/test-env.sh installs it)");
    assert!(rasterised.success());
    assert_eq!(scan(&std::fs::read(&dst).unwrap(), "png"), card);
    // Someone else's card, or no card: 404.
    let (other, _, _) = app.register("89995550013").await;
    let answer = app
        .request(
            "GET",
            &format!("/api/v1/me/cards/{card}/barcode.png"),
            Some(&other),
            None,
        )
        .await;
    answer.expect_problem(404, "not_found");
    app.request(
        "GET",
        "/api/v1/me/cards/123/barcode.svg",
        Some(&token),
        None,
    )
    .await
    .expect_problem(404, "not_found");
}

/// A member keyed in from a paper form may have only a phone and a card.
async fn an_incomplete_profile_closes_card_codes_until_filled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.import_incomplete_member("89996660001").await;
    app.post("/auth/otp", json!({ "phone": "89996660001" }))
        .await
        .expect(202);
    let code = app.last_code("89996660001").await;
    let signed = app
        .post(
            "/auth/otp/verify",
            json!({ "phone": "89996660001", "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(signed["status"], "signed_in");
    assert_eq!(signed["member"]["profile_complete"], false);
    let token = signed["token"].as_str().unwrap();

    let closed = app
        .request("POST", "/api/v1/me/card-token", Some(token), None)
        .await;
    closed.expect_problem(403, "profile_incomplete");
    assert_eq!(
        closed.body["missing_fields"],
        json!(["last_name", "gender", "birth_date", "city"])
    );
    // Offers and support are closed too, with the same answer.
    for path in ["/me/offers", "/me/tickets", "/me/tickets/1"] {
        app.get(path, token)
            .await
            .expect_problem(403, "profile_incomplete");
    }
    for (path, body) in [
        ("/api/v1/me/offers/2/activate", None),
        (
            "/api/v1/me/tickets",
            Some(json!({ "subject": "Вопрос", "body": "Где моя карта?" })),
        ),
    ] {
        app.request("POST", path, Some(token), body)
            .await
            .expect_problem(403, "profile_incomplete");
    }
    // The balance and the card still work: only the extras are closed.
    assert_eq!(
        app.get("/me/balance", token).await.expect(200)["available"],
        300
    );
    let me = app
        .request("PATCH", "/api/v1/me", Some(token), Some(json!({ "last_name": "Сидорова", "gender": "female", "birth_date": "1975-03-08", "city": "Казань" })))
        .await
        .expect(200);
    assert_eq!(me["profile_complete"], true);
    app.request("POST", "/api/v1/me/card-token", Some(token), None)
        .await
        .expect(200);
}
