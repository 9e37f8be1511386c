use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::staff::Role;
use serde_json::json;

on_both_stores!(
    a_customer_writes_to_support_and_follows_the_answers,
    feedback_forms_need_no_account_and_cannot_be_flooded,
);

async fn a_customer_writes_to_support_and_follows_the_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (token, _, _) = app.register("89998880001").await;
    let (other, _, _) = app.register("89998880002").await;

    let opened = app
        .request("POST", "/api/v1/me/tickets", Some(&token), Some(json!({ "subject": "Не начислились баллы", "body": "Чек 123 от вчера, баллов нет." })))
        .await
        .expect(201);
    let id = opened["id"].as_i64().unwrap();
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["messages"].as_array().unwrap().len(), 1);
    assert_eq!(opened["messages"][0]["author"], "customer");
    let bad = app
        .request(
            "POST",
            "/api/v1/me/tickets",
            Some(&token),
            Some(json!({ "subject": " ", "body": "" })),
        )
        .await;
    bad.expect_problem(422, "validation_failed");
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, ["body", "subject"]);

    // Nobody else sees it.
    app.get(&format!("/me/tickets/{id}"), &other)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.get("/me/tickets", &other).await.expect(200), json!([]));

    // Support answers with a staff token of the right role only.
    let marketing = app.staff_token("marketer", &[Role::Marketing]).await;
    app.get("/admin/tickets", &marketing)
        .await
        .expect_problem(403, "forbidden");
    app.get("/admin/tickets", &token)
        .await
        .expect_problem(401, "unauthorized");
    let support = app.staff_token("operator", &[Role::Support]).await;
    let queue = app
        .get("/admin/tickets?status=open", &support)
        .await
        .expect(200);
    assert_eq!(queue[0]["id"], id);
    assert_eq!(queue[0]["phone"], "+79998880001");
    app.get("/admin/tickets?status=lost", &support)
        .await
        .expect_invalid();
    let answer = app
        .request(
            "POST",
            &format!("/api/v1/admin/tickets/{id}/messages"),
            Some(&support),
            Some(json!({ "body": "Баллы начислены, проверьте баланс." })),
        )
        .await
        .expect(201);
    assert_eq!(answer["author"], "staff");
    app.request(
        "POST",
        "/api/v1/admin/tickets/9999/messages",
        Some(&support),
        Some(json!({ "body": "?" })),
    )
    .await
    .expect_problem(404, "not_found");

    let thread = app
        .get(&format!("/me/tickets/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(thread["status"], "answered");
    let authors: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["customer", "staff"]);
    assert!(
        thread["messages"][1].get("staff_id").is_none(),
        "staff stay anonymous to customers"
    );

    // Closed, then the customer writes again: it goes back to support.
    let closed = app
        .request(
            "POST",
            &format!("/api/v1/admin/tickets/{id}/close"),
            Some(&support),
            None,
        )
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    app.request(
        "POST",
        &format!("/api/v1/me/tickets/{id}/messages"),
        Some(&token),
        Some(json!({ "body": "Спасибо, но не все." })),
    )
    .await
    .expect(201);
    let mine = app.get("/me/tickets", &token).await.expect(200);
    assert_eq!(mine[0]["status"], "open");
    let audit = app
        .get(
            "/admin/audit?limit=10",
            &app.staff_token("boss", &[Role::Admin]).await,
        )
        .await
        .expect(200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"ticket.answer") && actions.contains(&"ticket.close"),
        "{actions:?}"
    );
}

async fn feedback_forms_need_no_account_and_cannot_be_flooded(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.trust_forwarded_for = true).await;
    let form = |n: usize, phone: &str| {
        json!({
            "channel": "employee_contractor",
            "name": "Пётр Поставщиков",
            "phone": phone,
            "subject": format!("Поставка №{n}"),
            "body": "Прошу связаться по поводу графика поставок.",
        })
    };
    let created = app
        .post("/feedback", form(1, "8 (999) 111-22-33"))
        .await
        .expect(201);
    let ticket = created["ticket_id"].as_i64().unwrap();
    let support = app.staff_token("operator", &[Role::Support]).await;
    let seen = app
        .get(&format!("/admin/tickets/{ticket}"), &support)
        .await
        .expect(200);
    assert_eq!(seen["channel"], "employee_contractor");
    assert_eq!(seen["phone"], "+79991112233");
    assert_eq!(seen["name"], "Пётр Поставщиков");
    assert!(seen["member_id"].is_null());

    // Invalid forms change nothing and do not count.
    let bad = app.post("/feedback", json!({ "channel": "press", "name": "", "phone": "123", "email": "nope", "subject": "", "body": "" })).await;
    bad.expect_problem(422, "validation_failed");
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        ["body", "channel", "email", "name", "phone", "subject"]
    );

    // Five an hour from one contact, whatever the address (a proxy in front names it)...
    let from = |ip: String, body: serde_json::Value| {
        let (client, url) = (app.client.clone(), format!("{}/api/v1/feedback", app.base));
        async move {
            let res = client
                .post(url)
                .header("x-forwarded-for", ip)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                res.status().as_u16(),
                res.headers().get("retry-after").is_some(),
            )
        }
    };
    for n in 2..=5 {
        assert_eq!(
            from(format!("10.0.0.{n}"), form(n, "89991112233")).await.0,
            201
        );
    }
    assert_eq!(
        from("10.0.0.6".into(), form(6, "+79991112233")).await,
        (429, true)
    );
    // ...and five from one address, whatever the contact.
    let anna = |n: usize| json!({ "channel": "customer", "name": "Анна", "email": format!("anna{n}@example.ru"), "subject": "Касса", "body": "Долго ждали." });
    for n in 1..=5 {
        assert_eq!(from("10.0.1.1".into(), anna(n)).await.0, 201);
    }
    assert_eq!(from("10.0.1.1".into(), anna(6)).await, (429, true));
    // An hour later it is open again.
    app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(from("10.0.1.1".into(), anna(6)).await.0, 201);
    assert_eq!(
        from("10.0.0.6".into(), form(6, "+79991112233")).await.0,
        201
    );
}
