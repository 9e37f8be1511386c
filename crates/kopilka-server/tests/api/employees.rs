//! The employee's account (SPEC §6): an account HR issues, payroll accounting imports, and
//! documents made as PDFs that a bank can check.

use crate::helpers::{Answer, Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::staff::Role;
use serde_json::{json, Value};

on_both_stores!(
    an_employee_changes_the_temporary_password_before_anything_else,
    payroll_is_imported_all_or_nothing,
    a_payslip_is_made_at_once_and_a_bank_checks_it,
    hr_works_the_queue_by_deadline,
    employees_and_departments_write_to_each_other,
    hr_works_a_request_in_the_back_office_pages,
);

const NEW_PASSWORD: &str = "моя-новая-зарплата-2026";

/// `kopilka employee create`: the temporary password from the last line.
fn create_employee(app: &TestApp, login: &str, name: &str) -> String {
    let out = app.cli(
        &[
            "employee",
            "create",
            "--login",
            login,
            "--name",
            name,
            "--position",
            "Старший кассир",
            "--store",
            "1",
            "--hired",
            "2024-03-01",
        ],
        "",
    );
    out.lines().last().unwrap().trim().to_owned()
}

async fn sign_in(app: &TestApp, login: &str, password: &str) -> Answer {
    app.post(
        "/employee/auth/login",
        json!({ "login": login, "password": password }),
    )
    .await
}

/// An employee with their own password, signed in: the token.
async fn employee(app: &TestApp, login: &str, name: &str) -> String {
    let temporary = create_employee(app, login, name);
    let token = sign_in(app, login, &temporary).await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request(
        "POST",
        "/api/v1/employee/auth/password",
        Some(&token),
        Some(json!({ "old_password": temporary, "new_password": NEW_PASSWORD })),
    )
    .await
    .expect(204);
    token
}

async fn upload_payroll(app: &TestApp, token: &str, csv: &str) -> Answer {
    let res = app
        .client
        .post(format!("{}/api/v1/admin/payroll", app.base))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

async fn download(app: &TestApp, path: &str, token: &str) -> (u16, Vec<u8>) {
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 200 {
        assert_eq!(res.headers()["content-type"], "application/pdf");
    }
    (status, res.bytes().await.unwrap().to_vec())
}

fn tool(name: &str, package: &str) -> std::process::Command {
    let found = std::process::Command::new("which")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{name} is missing: apt-get install {package}");
    std::process::Command::new(name)
}

/// The PDF's text, as `pdftotext` reads it.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = tool("pdftotext", "poppler-utils")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Sums are grouped with no-break spaces: read them as spaces.
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(['\u{a0}', '\u{202f}'], " ")
}

/// What a phone's camera reads from the first page's QR code.
fn scan_first_page(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let prefix = dir.path().join("page");
    let ok = tool("pdftoppm", "poppler-utils")
        .args(["-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&path)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = tool("zbarimg", "zbar-tools")
        .args(["-q", "--raw"])
        .arg(dir.path().join("page.png"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn an_employee_changes_the_temporary_password_before_anything_else(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let temporary = create_employee(&app, "ivanova", "Иванова Анна Петровна");
    assert_eq!(temporary.len(), 12, "{temporary}");

    sign_in(&app, "ivanova", "not-it")
        .await
        .expect_problem(401, "invalid_credentials");
    let signed = sign_in(&app, "IVANOVA", &temporary).await.expect(200);
    assert_eq!(signed["must_change_password"], true);
    let token = signed["token"].as_str().unwrap().to_owned();

    // Until the temporary password is replaced, nothing else.
    app.get("/employee/me", &token)
        .await
        .expect_problem(403, "forbidden");
    app.get("/employee/document-requests", &token)
        .await
        .expect_problem(403, "forbidden");
    // An employee token is not a customer's, nor a staff member's.
    app.get("/me", &token)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/admin/audit", &token)
        .await
        .expect_problem(401, "unauthorized");
    let (customer, _, _) = app.register("89991110001").await;
    app.get("/employee/me", &customer)
        .await
        .expect_problem(401, "unauthorized");

    let change = |old: &str, new: &str| {
        app.request(
            "POST",
            "/api/v1/employee/auth/password",
            Some(&token),
            Some(json!({ "old_password": old, "new_password": new })),
        )
    };
    let wrong = change("guess", NEW_PASSWORD).await;
    wrong.expect_problem(422, "validation_failed");
    assert_eq!(wrong.fields(), ["old_password"]);
    let weak = change(&temporary, "123456").await;
    assert_eq!(weak.fields(), ["new_password"]);
    change(&temporary, NEW_PASSWORD).await.expect(204);

    let me = app.get("/employee/me", &token).await.expect(200);
    assert_eq!(me["full_name"], "Иванова Анна Петровна");
    assert_eq!(me["position"], "Старший кассир");
    assert_eq!(me["hired_on"], "2024-03-01");
    assert_eq!(me["must_change_password"], false);
    sign_in(&app, "ivanova", &temporary)
        .await
        .expect_problem(401, "invalid_credentials");
    let again = sign_in(&app, "ivanova", NEW_PASSWORD).await.expect(200);
    assert_eq!(again["must_change_password"], false);

    // Guessing is throttled like every other sign-in: after five failures even the right
    // password waits, and the budget is the employee's own, not a customer's or staff's.
    // (A fresh window: the two failures above count in the one before.)
    app.clock.advance(chrono::Duration::minutes(16));
    let mut wrong = Vec::new();
    for i in 0..7 {
        wrong.push(
            sign_in(&app, "ivanova", &format!("угадаю-{i}"))
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(wrong, [401, 401, 401, 401, 401, 429, 429]);
    sign_in(&app, "ivanova", NEW_PASSWORD)
        .await
        .expect_problem(429, "rate_limited");
    app.clock.advance(chrono::Duration::minutes(16));

    // HR closes the account: the sessions end, sign-in is refused.
    let hr = app.staff_token("hr.petrova", &[Role::Hr]).await;
    let list = app.get("/admin/employees", &hr).await.expect(200);
    let id = list[0]["id"].as_i64().unwrap();
    app.request(
        "POST",
        &format!("/api/v1/admin/employees/{id}/deactivate"),
        Some(&hr),
        None,
    )
    .await
    .expect(204);
    app.get("/employee/me", &token)
        .await
        .expect_problem(401, "unauthorized");
    sign_in(&app, "ivanova", NEW_PASSWORD)
        .await
        .expect_problem(401, "invalid_credentials");
    let audit = app
        .kopilka
        .store_for_tests()
        .audit_log(&kopilka_store::AuditFilter::default(), 100)
        .await
        .unwrap();
    for action in [
        "employee.create",
        "employee.password",
        "employee.deactivate",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
}

const PAYROLL: &str = "employee;month;gross;tax;net;accruals;deductions\n\
    ivanova;2026-09;85000,00;11050,00;73100,00;\"salary:80000; bonus:5000\";union:850\n\
    ivanova;2026-10;80000;10400;69600;salary:80000;\n";

async fn payroll_is_imported_all_or_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_employee(&app, "ivanova", "Иванова Анна Петровна");
    let accounting = app.staff_token("buh", &[Role::Accounting]).await;
    let hr = app.staff_token("hr", &[Role::Hr]).await;

    upload_payroll(&app, &hr, PAYROLL)
        .await
        .expect_problem(403, "forbidden");
    let bad = format!("{PAYROLL}petrov;2026-10;100;13;87;\nivanova;2026-10;1;0;2;\n");
    let refused = upload_payroll(&app, &accounting, &bad).await;
    refused.expect_problem(422, "validation_failed");
    let lines: Vec<i64> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [4, 5], "{}", refused.body);
    let refused = upload_payroll(
        &app,
        &accounting,
        &format!("{PAYROLL}petrov;2026-10;100;13;87;\n"),
    )
    .await;
    assert_eq!(refused.body["errors"][0]["line"], 4, "{}", refused.body);
    assert!(refused.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("petrov"));
    let json_body = app
        .request(
            "POST",
            "/api/v1/admin/payroll",
            Some(&accounting),
            Some(json!({})),
        )
        .await;
    json_body.expect_problem(415, "unsupported_media_type");

    let imported = upload_payroll(&app, &accounting, PAYROLL).await.expect(201);
    assert_eq!(imported["rows"], 2);
    // A month again replaces it.
    let october = "employee,month,gross,tax,net\nivanova,2026-10,90000,11700,78300\n";
    assert_eq!(
        upload_payroll(&app, &accounting, october).await.expect(201)["rows"],
        1
    );
    let audit = app
        .kopilka
        .store_for_tests()
        .audit_log(&kopilka_store::AuditFilter::default(), 100)
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "payroll.import")
            .count(),
        2
    );
}

async fn a_payslip_is_made_at_once_and_a_bank_checks_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = employee(&app, "ivanova", "Иванова Анна Петровна").await;
    let accounting = app.staff_token("buh", &[Role::Accounting]).await;
    upload_payroll(&app, &accounting, PAYROLL).await.expect(201);

    let made = app
        .request(
            "POST",
            "/api/v1/employee/document-requests",
            Some(&token),
            Some(json!({ "type": "payslip", "purpose": "Для себя", "month": "2026-09" })),
        )
        .await
        .expect(201);
    assert_eq!(made["status"], "ready", "{made}");
    let url = made["document_url"].as_str().unwrap().to_owned();
    let (status, pdf) = download(&app, &url, &token).await;
    assert_eq!(status, 200);
    let text = pdf_text(&pdf);
    for expected in [
        "Иванова Анна Петровна",
        "Старший кассир",
        "85 000,00",
        "11 050,00",
        "73 100,00",
        made["number"].as_str().unwrap(),
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    // The first download handed it over.
    let list = app
        .get("/employee/document-requests", &token)
        .await
        .expect(200);
    assert_eq!(list["items"][0]["status"], "issued");

    // The QR code leads to the public page, which a bank opens without an account.
    let scanned = scan_first_page(&pdf);
    let code = scanned.rsplit('/').next().unwrap().to_owned();
    assert!(scanned.ends_with(&format!("/verify/{code}")), "{scanned}");
    let grouped: String = code
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("-");
    assert!(text.contains(&grouped), "{grouped} not in:\n{text}");
    let check = app
        .request_with(
            "GET",
            &format!("/verify/{code}"),
            None,
            None,
            &[("accept", "application/json")],
        )
        .await
        .expect(200);
    assert_eq!(check["status"], "valid");
    assert_eq!(check["type"], "payslip");
    assert_eq!(check["number"], made["number"]);
    assert_eq!(check["employee"], "Ива**** А. П.");
    let page = app
        .request(
            "GET",
            &format!("/verify/{}", grouped.to_lowercase()),
            None,
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .as_str()
        .unwrap()
        .contains("Документ действителен"));
    app.request_with(
        "GET",
        "/verify/AAAA-BBBB-CCCC-DDDD",
        None,
        None,
        &[("accept", "application/json")],
    )
    .await
    .expect_problem(404, "not_found");

    // Another employee sees none of it.
    let other = employee(&app, "petrov", "Петров Пётр Петрович").await;
    assert_eq!(download(&app, &url, &other).await.0, 404);

    // HR revokes it: the bank sees it revoked.
    let hr = app.staff_token("hr", &[Role::Hr]).await;
    let id = made["id"].as_i64().unwrap();
    let revoked = app
        .request(
            "POST",
            &format!("/api/v1/admin/document-requests/{id}/revoke"),
            Some(&hr),
            None,
        )
        .await
        .expect(200);
    assert_eq!(revoked["revoked"], true);
    let check = app
        .request_with(
            "GET",
            &format!("/verify/{code}"),
            None,
            None,
            &[("accept", "application/json")],
        )
        .await
        .expect(200);
    assert_eq!(check["status"], "revoked");
    app.request(
        "POST",
        &format!("/api/v1/admin/document-requests/{id}/revoke"),
        Some(&hr),
        None,
    )
    .await
    .expect_problem(409, "state_conflict");

    // A payslip for a month without payroll waits for HR instead.
    let waiting = app
        .request(
            "POST",
            "/api/v1/employee/document-requests",
            Some(&token),
            Some(json!({ "type": "payslip", "purpose": "Для себя", "month": "2026-08" })),
        )
        .await
        .expect(201);
    assert_eq!(waiting["status"], "submitted");
    let id = waiting["id"].as_i64().unwrap();
    let missing = app
        .request(
            "POST",
            &format!("/api/v1/admin/document-requests/{id}/ready"),
            Some(&hr),
            None,
        )
        .await;
    missing.expect_problem(422, "validation_failed");
    assert!(missing.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("2026-08"));
}

async fn hr_works_the_queue_by_deadline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = employee(&app, "ivanova", "Иванова Анна Петровна").await;
    let accounting = app.staff_token("buh", &[Role::Accounting]).await;
    upload_payroll(&app, &accounting, PAYROLL).await.expect(201);
    let hr = app.staff_token("hr", &[Role::Hr]).await;
    let support = app.staff_token("support", &[Role::Support]).await;
    let order = |body: Value| {
        app.request(
            "POST",
            "/api/v1/employee/document-requests",
            Some(&token),
            Some(body),
        )
    };

    let invalid = order(json!({ "type": "income_certificate", "purpose": "Ипотека", "period_from": "2026-10", "period_to": "2026-09" })).await;
    assert_eq!(invalid.fields(), ["period_to"]);
    let confirmation = order(json!({ "type": "employment_confirmation", "purpose": "Кредит", "include_salary": true, "addressee": "ПАО Сбербанк" })).await.expect(201);
    assert_eq!(confirmation["status"], "submitted");
    // Asked on Sunday 15 November: Monday, Tuesday, Wednesday.
    assert_eq!(confirmation["due_date"], "2026-11-18");
    let income = order(json!({ "type": "income_certificate", "purpose": "Ипотека", "period_from": "2026-09", "period_to": "2026-10" })).await.expect(201);
    let visa = order(json!({ "type": "visa_letter", "purpose": "Отпуск в Италии", "leave_from": "2027-01-10", "leave_to": "2027-01-24" })).await.expect(201);
    let other = order(json!({ "type": "other", "purpose": "Копия трудовой книжки" }))
        .await
        .expect(201);

    app.get("/admin/document-requests", &support)
        .await
        .expect_problem(403, "forbidden");
    let queue = app.get("/admin/document-requests", &hr).await.expect(200);
    assert_eq!(queue["items"].as_array().unwrap().len(), 4);
    assert_eq!(queue["items"][0]["employee"]["login"], "ivanova");

    // The clock passes the deadline: the queue says so.
    app.clock.advance(chrono::Duration::days(5));
    // Staff sessions end when idle: HR signs in again.
    let hr = app
        .post(
            "/admin/auth/login",
            json!({ "login": "hr", "password": crate::helpers::STAFF_PASSWORD }),
        )
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let queue = app.get("/admin/document-requests", &hr).await.expect(200);
    assert!(queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["overdue"] == true));

    let post = |path: String, body: Option<Value>| {
        let (app, hr) = (&app, hr.clone());
        async move { app.request("POST", &path, Some(&hr), body).await }
    };
    let id = |v: &Value| v["id"].as_i64().unwrap();
    let started = post(
        format!(
            "/api/v1/admin/document-requests/{}/start",
            id(&confirmation)
        ),
        None,
    )
    .await
    .expect(200);
    assert_eq!(started["status"], "in_progress");
    let ready = post(
        format!(
            "/api/v1/admin/document-requests/{}/ready",
            id(&confirmation)
        ),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ready["status"], "ready");
    let statuses: Vec<&str> = ready["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["submitted", "in_progress", "ready"]);
    assert!(ready["events"][2]["actor"]
        .as_str()
        .unwrap()
        .starts_with("staff:"));
    let (status, pdf) = download(
        &app,
        &format!(
            "/api/v1/employee/document-requests/{}/document.pdf",
            id(&confirmation)
        ),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let text = pdf_text(&pdf);
    for expected in [
        "Иванова Анна Петровна",
        "Старший кассир",
        "80 000,00",
        "ПАО Сбербанк",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }

    let income_ready = post(
        format!("/api/v1/admin/document-requests/{}/ready", id(&income)),
        None,
    )
    .await
    .expect(200);
    let (_, pdf) = download(&app, income_ready["document_url"].as_str().unwrap(), &hr).await;
    let text = pdf_text(&pdf);
    for expected in ["85 000,00", "80 000,00", "165 000,00", "142 700,00"] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }

    post(
        format!("/api/v1/admin/document-requests/{}/reject", id(&visa)),
        Some(json!({ "reason": " " })),
    )
    .await
    .expect_problem(422, "validation_failed");
    let rejected = post(
        format!("/api/v1/admin/document-requests/{}/reject", id(&visa)),
        Some(json!({ "reason": "Отпуск не согласован" })),
    )
    .await
    .expect(200);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reject_reason"], "Отпуск не согласован");
    post(
        format!("/api/v1/admin/document-requests/{}/ready", id(&visa)),
        None,
    )
    .await
    .expect_problem(409, "state_conflict");
    let (status, _) = download(
        &app,
        &format!(
            "/api/v1/employee/document-requests/{}/document.pdf",
            id(&visa)
        ),
        &token,
    )
    .await;
    assert_eq!(status, 409);

    // `other`: HR attaches the PDF it made elsewhere.
    post(
        format!("/api/v1/admin/document-requests/{}/ready", id(&other)),
        None,
    )
    .await
    .expect_problem(422, "validation_failed");
    let attached = app
        .client
        .post(format!(
            "{}/api/v1/admin/document-requests/{}/ready",
            app.base,
            id(&other)
        ))
        .bearer_auth(&hr)
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 200);
    let (status, copy) = download(
        &app,
        &format!(
            "/api/v1/employee/document-requests/{}/document.pdf",
            id(&other)
        ),
        &token,
    )
    .await;
    assert_eq!((status, copy == pdf), (200, true));

    let queue = app.get("/admin/document-requests", &hr).await.expect(200);
    assert!(queue["items"].as_array().unwrap().is_empty(), "{queue}");
}

async fn employees_and_departments_write_to_each_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = employee(&app, "ivanova", "Иванова Анна Петровна").await;
    let other = employee(&app, "petrov", "Петров Пётр Петрович").await;
    let hr = app.staff_token("hr", &[Role::Hr]).await;
    let accounting = app.staff_token("buh", &[Role::Accounting]).await;
    let support = app.staff_token("support", &[Role::Support]).await;
    let write = |token: &str, body: Value| {
        let (app, token) = (&app, token.to_owned());
        async move {
            app.request(
                "POST",
                "/api/v1/employee/messages",
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    let invalid = write(
        &token,
        json!({ "department": "canteen", "subject": "", "body": "x" }),
    )
    .await;
    assert_eq!(invalid.fields(), ["department", "subject"]);
    let foreign = write(
        &other,
        json!({ "department": "hr", "subject": "Справка", "body": "Где?", "request_id": 999 }),
    )
    .await;
    assert_eq!(foreign.fields(), ["request_id"]);
    let thread = write(&token, json!({ "department": "hr", "subject": "Справка для визы", "body": "Нужна ли подпись директора?" }))
        .await
        .expect(201);
    let id = thread["id"].as_i64().unwrap();
    write(
        &token,
        json!({ "department": "accounting", "subject": "Отпускные", "body": "Когда придут?" }),
    )
    .await
    .expect(201);

    // HR sees its department's thread, unread; accounting sees its own; support sees none.
    let queue = app.get("/admin/employee-messages", &hr).await.expect(200);
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
    assert_eq!(queue["unread"], 1);
    let theirs = app
        .get("/admin/employee-messages", &accounting)
        .await
        .expect(200);
    assert_eq!(theirs["items"][0]["department"], "accounting");
    app.get("/admin/employee-messages", &support)
        .await
        .expect_problem(403, "forbidden");
    app.get(&format!("/admin/employee-messages/{id}"), &accounting)
        .await
        .expect_problem(403, "forbidden");

    let opened = app
        .get(&format!("/admin/employee-messages/{id}"), &hr)
        .await
        .expect(200);
    assert_eq!(opened["messages"][0]["body"], "Нужна ли подпись директора?");
    assert_eq!(
        app.get("/admin/employee-messages", &hr).await.expect(200)["unread"],
        0
    );
    app.request(
        "POST",
        &format!("/api/v1/admin/employee-messages/{id}/replies"),
        Some(&hr),
        Some(json!({ "body": "Да, подпишем к четвергу." })),
    )
    .await
    .expect(201);

    // The employee sees one unread answer until they open the thread.
    let mine = app.get("/employee/messages", &token).await.expect(200);
    assert_eq!(mine["unread"], 1);
    let read = app
        .get(&format!("/employee/messages/{id}"), &token)
        .await
        .expect(200);
    let authors: Vec<&str> = read["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["employee", "staff"]);
    assert_eq!(
        app.get("/employee/messages", &token).await.expect(200)["unread"],
        0
    );
    app.request(
        "POST",
        &format!("/api/v1/employee/messages/{id}/replies"),
        Some(&token),
        Some(json!({ "body": "Спасибо!" })),
    )
    .await
    .expect(201);
    assert_eq!(
        app.get("/admin/employee-messages", &hr).await.expect(200)["unread"],
        1
    );

    // Another employee reads none of it.
    app.get(&format!("/employee/messages/{id}"), &other)
        .await
        .expect_problem(404, "not_found");
    app.request(
        "POST",
        &format!("/api/v1/employee/messages/{id}/replies"),
        Some(&other),
        Some(json!({ "body": "?" })),
    )
    .await
    .expect_problem(404, "not_found");
}

async fn hr_works_a_request_in_the_back_office_pages(backend: Backend) {
    use crate::browser::Browser;
    let app = TestApp::spawn(backend).await;
    let token = employee(&app, "ivanova", "Иванова Анна Петровна").await;
    let accounting = app.staff_token("buh", &[Role::Accounting]).await;
    upload_payroll(&app, &accounting, PAYROLL).await.expect(201);
    app.staff_token("hr", &[Role::Hr]).await;
    let asked = app
        .request(
            "POST",
            "/api/v1/employee/document-requests",
            Some(&token),
            Some(json!({ "type": "employment_confirmation", "purpose": "Для банка", "include_salary": true, "addressee": "ПАО Сбербанк" })),
        )
        .await
        .expect(201);
    let id = asked["id"].as_i64().unwrap();

    let mut hr = Browser::new(&app);
    let page = hr.get("/admin").await;
    assert_eq!(
        (page.status.as_u16(), page.location()),
        (303, "/admin/login")
    );
    let csrf = hr.get("/admin/login").await.csrf();
    let wrong = hr
        .post(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("login", "hr"),
                ("password", "не-тот"),
                ("totp", ""),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("id=\"password-error\""));
    let signed = hr
        .post(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("login", "hr"),
                ("password", crate::helpers::STAFF_PASSWORD),
                ("totp", ""),
            ],
        )
        .await;
    assert_eq!(
        (signed.status.as_u16(), signed.location()),
        (303, "/admin/documents")
    );

    let queue = hr.get("/admin/documents").await;
    assert_eq!(queue.status, 200);
    assert!(
        queue.body.contains("Иванова Анна Петровна"),
        "{}",
        queue.body
    );
    assert!(queue.body.contains(&format!("/admin/documents/{id}")));
    let detail = hr.get(&format!("/admin/documents/{id}")).await;
    assert!(detail.body.contains("ПАО Сбербанк"));
    let csrf = detail.csrf();
    // Rejecting without a reason is refused beside the field; nothing changes.
    let refused = hr
        .post(
            &format!("/admin/documents/{id}/reject"),
            &[("csrf", &csrf), ("reason", " ")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"reason-error\""));
    let ready = hr
        .post(&format!("/admin/documents/{id}/ready"), &[("csrf", &csrf)])
        .await;
    assert_eq!(ready.status, 200);
    assert!(ready.body.contains("Документ готов"), "{}", ready.body);
    // The history names who did what: the employee who asked, HR by login.
    assert!(ready.body.contains("Иванова Анна Петровна"));
    assert!(
        ready.body.contains(" · hr") && !ready.body.contains("staff:"),
        "{}",
        ready.body
    );
    let (status, pdf) = download(
        &app,
        &format!("/api/v1/employee/document-requests/{id}/document.pdf"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(pdf_text(&pdf).contains("ПАО Сбербанк"));
    // A second click on a stale page says where the request stands instead of failing.
    let again = hr
        .post(&format!("/admin/documents/{id}/ready"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("Заявку уже изменили"));
    let revoked = hr
        .post(&format!("/admin/documents/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert!(revoked.body.contains("Документ отозван"));
    assert!(hr
        .get("/admin/documents")
        .await
        .body
        .contains("Открытых заявок нет"));

    // A question about the request links it for the department.
    let asked = app
        .request(
            "POST",
            "/api/v1/employee/messages",
            Some(&token),
            Some(json!({ "department": "hr", "subject": "Про справку", "body": "Когда будет?", "request_id": id })),
        )
        .await
        .expect(201);
    let question = hr
        .get(&format!(
            "/admin/messages/{}",
            asked["id"].as_i64().unwrap()
        ))
        .await;
    assert!(
        question
            .body
            .contains(&format!("href=\"/admin/documents/{id}\"")),
        "{}",
        question.body
    );

    // Closing access asks first, then ends the employee's sessions.
    let people = hr.get("/admin/employees").await;
    let start = people.body.find("/deactivate\"").unwrap();
    let href_start = people.body[..start].rfind("href=\"").unwrap() + 6;
    let confirm_path = format!("{}/deactivate", &people.body[href_start..start]);
    let confirm = hr.get(&confirm_path).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm
        .body
        .contains("Закрыть доступ сотруднику Иванова Анна Петровна?"));
    let closed = hr.post(&confirm_path, &[("csrf", &confirm.csrf())]).await;
    assert!(closed.body.contains("Доступ закрыт"), "{}", closed.body);
    app.request("GET", "/api/v1/employee/me", Some(&token), None)
        .await
        .expect_problem(401, "unauthorized");

    // A customer's or an employee's session opens none of it.
    let mut stranger = Browser::new(&app);
    let page = stranger.get(&format!("/admin/documents/{id}")).await;
    assert_eq!(
        (page.status.as_u16(), page.location()),
        (303, "/admin/login")
    );
}
