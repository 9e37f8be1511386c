//! Customer care finds a customer by what they were told: a phone as typed, a card number,
//! an e-mail, or the start of a name, a page at a time.

use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::staff::Role;
use kopilka_domain::Clock;
use serde_json::Value;

on_both_stores!(
    support_finds_a_customer_by_phone_card_email_or_name,
    a_support_operators_day_in_the_back_office_pages,
    a_paper_form_keyed_in_binds_its_card_which_then_signs_in,
);

/// Registers a customer with this name and e-mail: their card number and id.
async fn customer(
    app: &TestApp,
    phone: &str,
    last: &str,
    first: &str,
    email: &str,
) -> (String, i64) {
    let token = app.registration_token(phone).await;
    let mut form = TestApp::registration_form(&token);
    form["last_name"] = last.into();
    form["first_name"] = first.into();
    form["email"] = email.into();
    let body = app.post("/auth/register", form).await.expect(201);
    (
        body["card"]["number"].as_str().unwrap().to_owned(),
        body["member"]["id"].as_i64().unwrap(),
    )
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

async fn support_finds_a_customer_by_phone_card_email_or_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (card, semenova) =
        customer(&app, "89995551001", "Семёнова", "Анна", "anna@example.ru").await;
    let (_, semenov) = customer(&app, "89995551002", "Семенов", "Пётр", "petr@example.ru").await;
    let (_, sergeeva) = customer(&app, "89995551003", "Сергеева", "Анна", "Serg@Example.ru").await;
    let (_, smirnova) = customer(&app, "89995551004", "Смирнова", "Ольга", "olga@example.ru").await;
    let support = app.staff_token("olga", &[Role::Support]).await;
    let find = |q: &str| {
        let path = format!("/admin/members?q={}", urlencoding(q));
        let (app, support) = (&app, support.clone());
        async move { app.get(&path, &support).await }
    };

    // A phone as typed finds its holder, with cards and points.
    let found = find("8 (999) 555-10-01").await.expect(200);
    assert_eq!(ids(&found), [semenova]);
    let one = &found["items"][0];
    assert_eq!(one["phone"], "+79995551001");
    assert_eq!(
        (
            one["last_name"].as_str(),
            one["first_name"].as_str(),
            one["city"].as_str()
        ),
        (Some("Семёнова"), Some("Анна"), Some("Москва"))
    );
    assert_eq!(one["cards"][0]["number"], card);
    assert_eq!(one["cards"][0]["status"], "active");
    assert_eq!(one["available"], 300);
    assert!(found["next_cursor"].is_null());
    // A card number, an e-mail whatever its case.
    assert_eq!(ids(&find(&card).await.expect(200)), [semenova]);
    assert_eq!(ids(&find("serg@example.RU").await.expect(200)), [sergeeva]);
    // A name: ё as е, any case, last name first, alphabetical.
    assert_eq!(ids(&find("семен").await.expect(200)), [semenov, semenova]);
    assert_eq!(ids(&find("СЕМЁНОВА АН").await.expect(200)), [semenova]);
    assert_eq!(ids(&find("Смирнова").await.expect(200)), [smirnova]);
    assert_eq!(ids(&find("Зайцев").await.expect(200)), Vec::<i64>::new());
    // A page at a time.
    let page = app
        .get(
            &format!("/admin/members?q={}&limit=2", urlencoding("се")),
            &support,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), [semenov, semenova]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get(
            &format!(
                "/admin/members?q={}&limit=2&cursor={cursor}",
                urlencoding("се")
            ),
            &support,
        )
        .await
        .expect(200);
    assert_eq!(ids(&rest), [sergeeva]);
    assert!(rest["next_cursor"].is_null());

    // Support blocks a card and gives it back; each step audited.
    let block = format!("/api/v1/admin/members/{semenova}/cards/{card}/block");
    let unblock = format!("/api/v1/admin/members/{semenova}/cards/{card}/unblock");
    let blocked = app
        .request("POST", &block, Some(&support), None)
        .await
        .expect(200);
    assert_eq!(blocked["status"], "blocked");
    assert_eq!(
        find(&card).await.expect(200)["items"][0]["cards"][0]["status"],
        "blocked"
    );
    let back = app
        .request("POST", &unblock, Some(&support), None)
        .await
        .expect(200);
    assert_eq!(back["status"], "active");
    app.request("POST", &unblock, Some(&support), None)
        .await
        .expect_problem(409, "state_conflict");
    app.request(
        "POST",
        &format!("/api/v1/admin/members/{semenov}/cards/{card}/block"),
        Some(&support),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    let root = app.staff_token("root", &[Role::Admin]).await;
    let audit = app
        .get(&format!("/admin/audit?entity=member:{semenova}"), &root)
        .await
        .expect(200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["card.unblock", "card.block"]);

    // Nothing searchable, a forged cursor, a role without customers.
    for q in ["", "я", "12345", "0000000000001"] {
        find(q).await.expect_problem(422, "validation_failed");
    }
    app.get("/admin/members?q=se&cursor=%21%21", &support)
        .await
        .expect_problem(422, "validation_failed");
    let hr = app.staff_token("hr", &[Role::Hr]).await;
    app.get("/admin/members?q=se", &hr)
        .await
        .expect_problem(403, "forbidden");
    // A deleted account is not found by its name any more.
    let token = app.registration_token("89995551005").await;
    let mut form = TestApp::registration_form(&token);
    form["last_name"] = "Семечкина".into();
    let body = app.post("/auth/register", form).await.expect(201);
    let customer_token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(ids(&find("семечк").await.expect(200)).len(), 1);
    app.request("DELETE", "/api/v1/me", Some(&customer_token), None)
        .await
        .expect(204);
    assert!(ids(&find("семечк").await.expect(200)).is_empty());
}

/// `q` as a URL's query value.
fn urlencoding(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs a staff member in on the pages; the page they land on.
async fn staff_pages<'a>(
    app: &'a TestApp,
    login: &str,
) -> (crate::browser::Browser<'a>, crate::browser::Page) {
    let mut browser = crate::browser::Browser::new(app);
    let csrf = browser.get("/admin/login").await.csrf();
    let signed = browser
        .post(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("login", login),
                ("password", crate::helpers::STAFF_PASSWORD),
                ("totp", ""),
            ],
        )
        .await;
    assert_eq!(signed.status, 303);
    let home = signed.location().to_owned();
    let landed = browser.get(&home).await;
    (browser, landed)
}

async fn a_support_operators_day_in_the_back_office_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (card, id) = customer(&app, "89995552001", "Белова", "Вера", "vera@example.ru").await;
    app.staff_token("olga", &[Role::Support]).await;
    app.staff_token("anna", &[Role::Admin]).await;

    // Support lands on customers and sees only its sections.
    let (mut olga, landed) = staff_pages(&app, "olga").await;
    assert!(landed.body.contains("<h1>Клиенты</h1>"), "{}", landed.body);
    assert!(landed.body.contains("href=\"/admin/adjustments\""));
    assert!(!landed.body.contains("href=\"/admin/payroll\""));
    let bad = olga.get("/admin/members?q=%D1%8F").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"q-error\""));
    let found = olga.get(&format!("/admin/members?q={card}")).await;
    assert!(
        found
            .body
            .contains(&format!("href=\"/admin/members/{id}\"")),
        "{}",
        found.body
    );
    let file = olga.get(&format!("/admin/members/{id}")).await;
    assert_eq!(file.status, 200);
    assert!(file.body.contains("Белова Вера") && file.body.contains("+79995552001"));
    let csrf = file.csrf();
    let path = format!("/admin/members/{id}/adjust");

    // A bad form keeps what was typed and says what is wrong beside the field.
    let refused = olga
        .post(
            &path,
            &[("csrf", &csrf), ("points", "сто"), ("reason", "ок")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("id=\"points-error\"")
            && refused.body.contains("id=\"reason-error\"")
    );
    // Within the limit: applied at once.
    let applied = olga
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("points", "+150"),
                ("reason", "Компенсация за очередь"),
            ],
        )
        .await;
    assert_eq!(applied.status, 303);
    let after = olga.get(applied.location()).await;
    assert!(
        after.body.contains("Корректировка проведена: доступно 450"),
        "{}",
        after.body
    );
    assert!(after.body.contains("Корректировка: Компенсация за очередь"));
    // Above it: waits for an administrator.
    let waiting = olga
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("points", "6000"),
                ("reason", "Компенсация по жалобе"),
            ],
        )
        .await;
    let after = olga.get(waiting.location()).await;
    assert!(after.body.contains("ждёт согласования"), "{}", after.body);
    assert!(after.body.contains("+6000"));
    // Support sees the queue but cannot approve.
    let queue = olga.get("/admin/adjustments").await;
    assert!(queue.body.contains("Компенсация по жалобе"));
    assert!(!queue.body.contains("/approve\""));

    // The administrator approves it on the queue.
    let (mut anna, _) = staff_pages(&app, "anna").await;
    let queue = anna.get("/admin/adjustments").await;
    let request = app
        .get(
            "/admin/adjustments",
            &app.staff_token("root", &[Role::Admin]).await,
        )
        .await
        .expect(200)[0]["id"]
        .as_i64()
        .unwrap();
    assert!(queue
        .body
        .contains(&format!("/admin/adjustments/{request}/approve")));
    let approved = anna
        .post(
            &format!("/admin/adjustments/{request}/approve"),
            &[("csrf", &queue.csrf())],
        )
        .await;
    let after = anna.get(approved.location()).await;
    assert!(after.body.contains("доступно 6450"), "{}", after.body);
    assert!(after.body.contains("Нечего согласовывать"));
    // A second click on a stale page changes nothing.
    let stale = anna
        .post(
            &format!("/admin/adjustments/{request}/approve"),
            &[("csrf", &queue.csrf())],
        )
        .await;
    assert!(anna.get(stale.location()).await.body.contains("уже решён"));
    let balance = app
        .kopilka
        .store_for_tests()
        .ledger_balance(
            kopilka_domain::member::MemberId::new(id),
            app.clock.now(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(balance.available.get(), 6450);

    // A lost card blocked from the file, then found and given back.
    let file = olga.get(&format!("/admin/members/{id}")).await;
    let blocked = olga
        .post(
            &format!("/admin/members/{id}/cards/{card}/block"),
            &[("csrf", &file.csrf())],
        )
        .await;
    let after = olga.get(blocked.location()).await;
    assert!(
        after.body.contains("Карта заблокирована."),
        "{}",
        after.body
    );
    assert!(after
        .body
        .contains(&format!("/admin/members/{id}/cards/{card}/unblock")));
    let back = olga
        .post(
            &format!("/admin/members/{id}/cards/{card}/unblock"),
            &[("csrf", &after.csrf())],
        )
        .await;
    assert!(olga
        .get(back.location())
        .await
        .body
        .contains("Карта снова действует"));

    // A question from the customer, answered and closed by support on the pages.
    let customer_token = app
        .post(
            "/auth/login",
            serde_json::json!({ "login": card, "password": crate::helpers::PASSWORD }),
        )
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = app
        .request(
            "POST",
            "/api/v1/me/tickets",
            Some(&customer_token),
            Some(serde_json::json!({ "subject": "Не пришли баллы", "body": "Чек от 5 декабря" })),
        )
        .await
        .expect(201);
    let ticket = asked["ticket"]["id"]
        .as_i64()
        .unwrap_or_else(|| asked["id"].as_i64().unwrap());
    let queue = olga.get("/admin/tickets").await;
    assert!(queue.body.contains("Не пришли баллы"), "{}", queue.body);
    let file = olga.get(&format!("/admin/members/{id}")).await;
    assert!(file
        .body
        .contains(&format!("href=\"/admin/tickets/{ticket}\"")));
    let thread = olga.get(&format!("/admin/tickets/{ticket}")).await;
    assert!(thread.body.contains("Чек от 5 декабря"));
    let csrf = thread.csrf();
    let empty = olga
        .post(
            &format!("/admin/tickets/{ticket}/answer"),
            &[("csrf", &csrf), ("body", " ")],
        )
        .await;
    assert_eq!(empty.status, 422);
    let answered = olga
        .post(
            &format!("/admin/tickets/{ticket}/answer"),
            &[
                ("csrf", &csrf),
                ("body", "Начислили вручную, проверьте историю."),
            ],
        )
        .await;
    assert_eq!(answered.status, 303);
    let closed = olga
        .post(
            &format!("/admin/tickets/{ticket}/close"),
            &[("csrf", &csrf)],
        )
        .await;
    let thread = olga.get(closed.location()).await;
    assert!(thread.body.contains("Начислили вручную") && thread.body.contains("закрыт"));
    let mine = app
        .get(&format!("/me/tickets/{ticket}"), &customer_token)
        .await
        .expect(200);
    assert!(mine.to_string().contains("Начислили вручную"));

    // HR has no customers.
    app.staff_token("kadry", &[Role::Hr]).await;
    let (mut hr, _) = staff_pages(&app, "kadry").await;
    assert_eq!(hr.get(&format!("/admin/members/{id}")).await.status, 403);
}

async fn a_paper_form_keyed_in_binds_its_card_which_then_signs_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let batch = app
        .kopilka
        .issue_cards(kopilka_service::staff::Caller::Cli, 2)
        .await
        .unwrap()
        .numbers;
    let (card, other) = (batch[0].as_str().to_owned(), batch[1].as_str().to_owned());
    let manager = app.staff_token("direktor", &[Role::StoreManager]).await;
    let form = |card: &str, phone: &str| {
        serde_json::json!({
            "card_number": card, "phone": phone, "last_name": "Кузнецова", "first_name": "Ольга",
            "gender": "female", "birth_date": "1978-02-03", "city": "Тверь",
            "consents": { "personal_data": true, "newsletters": true },
        })
    };
    let key = |body: Value| {
        let (app, manager) = (&app, manager.clone());
        async move {
            app.request(
                "POST",
                "/api/v1/admin/paper-forms",
                Some(&manager),
                Some(body),
            )
            .await
        }
    };
    // Bad fields are named, and nothing is made.
    let mut bad = form("123", "не телефон");
    bad["consents"]["personal_data"] = false.into();
    bad["birth_date"] = "вчера".into();
    let refused = key(bad).await;
    assert_eq!(refused.status, 422);
    let mut fields = refused.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "birth_date",
            "card_number",
            "consents.personal_data",
            "phone"
        ]
    );
    let (_, virtual_card, _) = app.register("89995554000").await;
    key(form(&virtual_card, "+79995554001"))
        .await
        .expect_invalid();
    let never_issued = kopilka_domain::CardNumber::generate(
        kopilka_domain::card::CardRange::Physical,
        &mut rand::thread_rng(),
    );
    key(form(never_issued.as_str(), "+79995554001"))
        .await
        .expect_invalid();

    let keyed = key(form(&card, "8 999 555-40-01")).await.expect(201);
    let member = keyed["member_id"].as_i64().unwrap();
    key(form(&other, "+79995554001"))
        .await
        .expect_problem(409, "phone_taken");
    key(form(&card, "+79995554002"))
        .await
        .expect_problem(409, "card_already_bound");
    let hr = app.staff_token("kadry", &[Role::Hr]).await;
    app.request(
        "POST",
        "/api/v1/admin/paper-forms",
        Some(&hr),
        Some(form(&other, "+79995554003")),
    )
    .await
    .expect_problem(403, "forbidden");

    // Found by the card, with the welcome points; audited without the card's number.
    let found = app
        .get(&format!("/admin/members?q={card}"), &manager)
        .await
        .expect(200);
    assert_eq!(found["items"][0]["id"], member);
    assert_eq!(found["items"][0]["cards"][0]["status"], "active");
    assert_eq!(found["items"][0]["available"], 300);
    let root = app.staff_token("root", &[Role::Admin]).await;
    let audit = app
        .get(&format!("/admin/audit?entity=member:{member}"), &root)
        .await
        .expect(200);
    assert_eq!(audit[0]["action"], "member.paper_form");
    assert!(!audit.to_string().contains(&card));

    // The customer sets a password through recovery, then the card signs in.
    app.post("/auth/password-reset", serde_json::json!({ "login": card }))
        .await
        .expect(202);
    let code = app.last_code("+79995554001").await;
    app.post(
        "/auth/password-reset/confirm",
        serde_json::json!({ "login": card, "code": code, "password": "Бумажная-анкета-1" }),
    )
    .await
    .expect(200);
    let signed = app
        .post(
            "/auth/login",
            serde_json::json!({ "login": card, "password": "Бумажная-анкета-1" }),
        )
        .await
        .expect(200);
    assert_eq!(signed["member"]["id"], member);
}
